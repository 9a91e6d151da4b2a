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
  /** Keys accepted and not used (a pasted prometheus.yml's `global.scrape_interval`, ...). */
  warnings?: ConfigError[];
}

/**
 * Parses and validates a promspool YAML configuration, applying every default and reading the
 * `*_file` secrets and TLS files. `source` is the file the text came from: relative file paths
 * inside the config are resolved against its directory (as Prometheus does), else against the
 * working directory. `storage.path` is returned as written: relative to the working directory,
 * like Prometheus' `--storage.tsdb.path`.
 */
export function parseConfig(text: string, source?: string): ParseConfigResult {
  const tooDeep = nestingProblem(text);
  if (tooDeep !== undefined) return { errors: [tooDeep] };
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  const lines = new Map<string, number>();
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
    if (doc.errors.length === 0 && doc.warnings.length === 0) indexLines(doc.contents, '', lineCounter, lines);
  } catch (e) {
    // The pre-check keeps nesting shallow; anything the parser still throws is reported, never thrown.
    return { errors: [{ path: '', line: 1, message: `YAML could not be parsed: ${errorMessage(e)}` }] };
  }
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
  let value: unknown;
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { errors: [{ path: '', line: firstAliasLine(text), message: errorMessage(e) }] };
  }
  const reader = new FieldReader('snake', (path) => lines.get(path));
  const baseDir = source === undefined ? process.cwd() : dirname(resolve(source));
  const config = readConfig(reader, value, { baseDir });
  const warnings = sortByLine(reader.warnings);
  if (reader.errors.length > 0 || config === undefined) return { errors: sortByLine(reader.errors), warnings };
  return { config, errors: [], warnings };
}

/** Records the line of every key and list item under `path`, using the same path spelling as the schema. */
export function indexLines(node: unknown, path: string, lc: LineCounter, out: Map<string, number>): void {
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

/**
 * How deep a configuration may nest. promspool's schema is at most 6 levels deep; 64 leaves room
 * for any hand-written file while keeping the YAML parser far from the depths where it overflows
 * the stack (a few thousand levels) or aborts the whole process in its regex engine (deep flow
 * collections): a reload with such a file must fail, not kill the daemon.
 */
export const MAX_CONFIG_NESTING = 64;

/** Nesting beyond {@link MAX_CONFIG_NESTING}, with its line, found without parsing. */
function nestingProblem(text: string): ConfigError | undefined {
  let flowDepth = 0;
  let line = 1;
  let lineStart = true;
  let indent = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      lineStart = true;
      indent = 0;
      // Quoted scalars may span lines, but treating each line on its own keeps one stray quote from
      // hiding the rest of the file; brackets inside a multi-line quoted scalar only over-count.
      quote = '';
      continue;
    }
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (lineStart) {
      // Block nesting: indentation, where every "- " (a nested sequence entry) counts as a level too.
      if (c === ' ') {
        indent++;
        continue;
      }
      if (c === '-' && text[i + 1] === ' ') {
        indent += 2;
        i++;
        continue;
      }
      lineStart = false;
      if (indent > 4 * MAX_CONFIG_NESTING) {
        return {
          path: '',
          line,
          message: `nested too deeply (indentation ${indent}; at most ${MAX_CONFIG_NESTING} levels)`,
        };
      }
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ' '))) {
      const end = text.indexOf('\n', i);
      i = (end === -1 ? text.length : end) - 1;
    } else if ((c === '"' || c === "'") && /[\s[{,:]/.test(text[i - 1] ?? ' ')) {
      // Only at the start of a scalar: in `help: don't` the apostrophe is just a character.
      quote = c;
    } else if (c === '[' || c === '{') {
      if (++flowDepth > MAX_CONFIG_NESTING) {
        return { path: '', line, message: `nested too deeply (more than ${MAX_CONFIG_NESTING} levels of [ or {)` };
      }
    } else if ((c === ']' || c === '}') && flowDepth > 0) {
      flowDepth--;
    }
  }
  return undefined;
}

/** The line of the first alias (`*name`), where alias expansion errors come from; else 1. */
function firstAliasLine(text: string): number {
  const m = /(^|[\s,[{:-])\*[^\s,\]}]+/m.exec(text);
  if (m === null) return 1;
  return text.slice(0, m.index).split('\n').length;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
