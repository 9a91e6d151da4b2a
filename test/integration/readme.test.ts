// The README's library quick start must work when pasted. This test takes the snippet verbatim
// from README.md, changes only the receiver URL and data directory, runs it as a user would (an
// ESM file importing 'promspool', resolved through the package's self-reference) against a real
// Prometheus, and checks what arrived.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const root = new URL('../../../', import.meta.url).pathname;

/** The first ```js block after the heading `## Quick start: library`. */
function librarySnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start: library'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README.md has a ```js block under "## Quick start: library"');
  return m[1]!;
}

describe('README library quick start', { skip: receiversSkipReason('prometheus') }, () => {
  let prom: PrometheusInstance;
  const work = join(root, '.tmp', `readme-${process.pid}`);

  before(async () => {
    prom = await startPrometheus({});
    mkdirSync(work, { recursive: true });
  });
  after(async () => {
    await prom?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs as pasted and its samples arrive in Prometheus', async () => {
    const snippet = librarySnippet();
    assert.ok(snippet.includes("from 'promspool'"), 'the snippet imports the package by name');
    assert.ok(snippet.includes('http://127.0.0.1:9090/api/v1/write'));
    const script = snippet
      .replace('http://127.0.0.1:9090/api/v1/write', prom.writeUrl)
      .replace("'./promspool-data'", JSON.stringify(join(work, 'data')));
    // Inside the package directory so `import 'promspool'` resolves to this checkout.
    const file = join(work, 'quickstart.mjs');
    writeFileSync(file, script);
    const run = spawnSync(process.execPath, [file], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `the snippet failed:\n${run.stderr}`);
    assert.match(run.stdout, /samplesSent/, 'it printed queue.stats()');

    // stop() drained before the script exited, so both series are already in Prometheus.
    const got = await waitUntil(
      async () => {
        const r = await prom.query('{__name__=~"jobs_processed_total|temperature_celsius", cluster="dev"}');
        return r.length === 2 ? r : undefined;
      },
      { timeoutMs: 10_000, description: 'both README series in Prometheus' },
    );
    const byName = new Map((got ?? []).map((s) => [s.metric.__name__, s]));
    assert.deepEqual(byName.get('jobs_processed_total')?.metric, {
      __name__: 'jobs_processed_total',
      queue: 'emails',
      cluster: 'dev',
    });
    assert.equal(byName.get('jobs_processed_total')?.samples[0]?.value, 42);
    assert.equal(byName.get('temperature_celsius')?.samples[0]?.value, 21.5);
  });
});
