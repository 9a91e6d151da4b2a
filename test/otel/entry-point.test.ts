// The OTel exporter is a separate entry point: `promspool/otel` loads it, `promspool` never does
// (its peer dependencies are optional).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

test('no module outside src/otel imports @opentelemetry', async () => {
  const offenders: string[] = [];
  for await (const file of sourceFiles(join(root, 'src'))) {
    const rel = relative(root, file);
    if (rel.startsWith(join('src', 'otel'))) continue;
    if ((await readFile(file, 'utf8')).includes('@opentelemetry/')) offenders.push(rel);
  }
  assert.deepEqual(offenders, []);
});

test('promspool/otel resolves through package.json exports to the exporter', async () => {
  const otel = await import('promspool/otel');
  assert.equal(typeof otel.PromspoolMetricExporter, 'function');
  assert.deepEqual(otel.TRANSLATION_STRATEGIES, [
    'UnderscoreEscapingWithSuffixes',
    'UnderscoreEscapingWithoutSuffixes',
    'NoUTF8EscapingWithSuffixes',
    'NoTranslation',
  ]);
  const main = await import('promspool');
  assert.equal('PromspoolMetricExporter' in main, false);
});
