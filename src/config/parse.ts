/**
 * YAML text -> validated {@link PromspoolConfig}. `YAML.parseDocument` keeps each node's source
 * range, so every error can name the line of the key it is about.
 */
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ConfigError } from './config-error.js';
import { FieldReader, indexPath, joinPath } from './field-reader.js';
import { readConfig } from './schema.js';
import type { PromspoolConfig } from './types.js';

export interface ParseConfigResult {
  /** Present only when `errors` is empty. */
  config?: PromspoolConfig;
  /** Every problem found, in document order of discovery. */
  errors: ConfigError[];
}

/**
 * Parses and validates a promspool YAML configuration, applying every default and reading the
 * `*_file` secrets and TLS files. `source` is the file the text came from: relative file paths
 * inside the config are resolved against its directory (as Prometheus does), else against the
 * working directory. `storage.path` is returned as written: relative to the working directory,
 * like Prometheus' `--storage.tsdb.path`.
 */
export function parseConfig(text: string, source?: string): ParseConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    return {
      errors: syntax.map((e) => ({
        path: '',
        line: lineCounter.linePos(e.pos[0]).line,
        message: `YAML syntax error: ${e.message}`,
      })),
    };
  }
  const lines = new Map<string, number>();
  indexLines(doc.contents, '', lineCounter, lines);
  let value: unknown;
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { errors: [{ path: '', message: e instanceof Error ? e.message : String(e) }] };
  }
  const reader = new FieldReader('snake', (path) => lines.get(path));
  const baseDir = source === undefined ? process.cwd() : dirname(resolve(source));
  const config = readConfig(reader, value, { baseDir });
  if (reader.errors.length > 0 || config === undefined) return { errors: sortByLine(reader.errors) };
  return { config, errors: [] };
}

/** Records the line of every key and list item under `path`, using the same path spelling as the schema. */
function indexLines(node: unknown, path: string, lc: LineCounter, out: Map<string, number>): void {
  const start = (node as Node | null)?.range?.[0];
  if (start !== undefined && !out.has(path)) out.set(path, lc.linePos(start).line);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const keyPath = joinPath(path, String(pair.key.value));
      const keyStart = pair.key.range?.[0];
      // The key's line, not the value's: for a block value that is the line above it.
      if (keyStart !== undefined) out.set(keyPath, lc.linePos(keyStart).line);
      indexLines(pair.value, keyPath, lc, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      indexLines(item, indexPath(path, i), lc, out);
    });
  }
}

/** Document order: errors with a line by line (stable within one line), then those without. */
function sortByLine(errors: ConfigError[]): ConfigError[] {
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.line ?? Number.MAX_SAFE_INTEGER) - (b.e.line ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map(({ e }) => e);
}
