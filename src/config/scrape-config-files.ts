/**
 * `scrape_configs` and `scrape_config_files` of the root: the jobs of the main file, then those
 * of every file the globs match (Prometheus' `GetScrapeConfigs`), job names unique across all.
 * A problem in such a file is reported on the path `<file>: scrape_configs[i]...` with the line
 * in that file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { type CheckedMap, FieldReader, indexPath } from './field-reader.js';
import { describeFileError } from './file-error.js';
import { indexLines } from './parse.js';
import type { SchemaContext } from './schema.js';
import { type GlobalScrapeDefaults, readScrapeConfigList, SCRAPE_CONFIG_FILE_SPEC } from './scrape-config.js';
import type { ScrapeConfig } from './types.js';

/** Prometheus' `patRulePath`: at most one `*`, in the last path element. */
const GLOB_RE = /^[^*]*(\*[^/]*)?$/;

/** Reads `scrape_configs` and the files of `scrape_config_files` of `root`. */
export function readScrapeConfigSection(
  r: FieldReader,
  root: CheckedMap,
  ctx: SchemaContext,
  global: GlobalScrapeDefaults,
): ScrapeConfig[] | undefined {
  const before = r.errors.length;
  const seen = new Map<string, { where: string; path: string }>();
  const jobs = readScrapeConfigList(
    r,
    root.values.get('scrape_configs'),
    r.at(root.path, 'scrape_configs'),
    ctx,
    global,
    seen,
    '',
  );
  const out = jobs ?? [];
  if (r.has(root, 'scrape_config_files')) {
    const path = r.at(root.path, 'scrape_config_files');
    r.list(root.values.get('scrape_config_files'), path)?.forEach((pattern, i) => {
      const at = indexPath(path, i);
      if (typeof pattern !== 'string' || !GLOB_RE.test(pattern)) {
        r.error(
          at,
          `invalid scrape config file path ${JSON.stringify(pattern)}: at most one "*", in the last path element`,
        );
        return;
      }
      const files = expandGlob(resolve(ctx.baseDir, pattern));
      if ('error' in files) {
        r.error(at, files.error);
        return;
      }
      for (const file of files.matches) out.push(...readScrapeConfigFile(r, at, file, global, seen));
    });
  }
  return r.errors.length > before ? undefined : out;
}

/** The files `pattern` (absolute, at most one `*` in its last element) matches, sorted as Go's Glob sorts them. */
function expandGlob(pattern: string): { matches: string[] } | { error: string } {
  if (!pattern.includes('*')) {
    try {
      readFileSync(pattern);
      return { matches: [pattern] };
    } catch {
      // Go's Glob returns nothing for a missing file without a pattern character; so does Prometheus.
      return { matches: [] };
    }
  }
  const dir = dirname(pattern);
  const [prefix, suffix] = basename(pattern).split('*');
  try {
    const names = readdirSync(dir)
      .filter((n) => n.startsWith(prefix) && n.endsWith(suffix) && n.length >= prefix.length + suffix.length)
      .sort();
    return { matches: names.map((n) => resolve(dir, n)) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { matches: [] };
    return { error: `cannot list ${JSON.stringify(dir)}: ${describeFileError(e)}` };
  }
}

/** The jobs of one file; its problems are added to `r` on `<file>: <path>` with the file's lines. */
function readScrapeConfigFile(
  r: FieldReader,
  at: string,
  file: string,
  global: GlobalScrapeDefaults,
  seen: Map<string, { where: string; path: string }>,
): ScrapeConfig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    r.error(at, `cannot read ${JSON.stringify(file)}: ${describeFileError(e)}`);
    return [];
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lines = new Map<string, number>();
  const fileReader = new FieldReader(r.style, (p) => lines.get(p));
  const prefix = `${file}: `;
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    for (const e of syntax) {
      r.errors.push({
        path: file,
        line: lineCounter.linePos(e.pos[0]).line,
        message: `YAML syntax error: ${e.message}`,
      });
    }
    return [];
  }
  indexLines(doc.contents, '', lineCounter, lines);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    r.error(at, `${JSON.stringify(file)}: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
  if (value !== null && value !== undefined && !isMap(doc.contents)) {
    r.error(at, `${JSON.stringify(file)} must hold a mapping with ${r.name('scrape_configs')}`);
    return [];
  }
  const m = fileReader.map(value, '', SCRAPE_CONFIG_FILE_SPEC);
  const jobs =
    m === undefined
      ? undefined
      : readScrapeConfigList(
          fileReader,
          m.values.get('scrape_configs'),
          fileReader.at('', 'scrape_configs'),
          { baseDir: dirname(file), nameValidationScheme: global.nameValidationScheme },
          global,
          seen,
          prefix,
        );
  for (const e of fileReader.errors) r.errors.push({ ...e, path: `${prefix}${e.path}` });
  for (const w of fileReader.warnings) r.warnings.push({ ...w, path: `${prefix}${w.path}` });
  return jobs ?? [];
}
