/**
 * `file_sd_configs` (Prometheus' discovery/file): target group lists in JSON (`.json`) or YAML
 * (`.yml`, `.yaml`) files named by patterns with at most one `*` in the last path element. Read
 * at start, again when a watched directory changes (fs.watch) and every `refresh_interval`. Each
 * group is named `<file>:<index>` and labelled `__meta_filepath`. A file that cannot be read or
 * parsed keeps its last good groups; the failure is counted and logged with the file and line.
 * A file that is gone has its groups reported empty.
 */
import { type FSWatcher, watch } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { parentPath } from '../config/field-reader.js';
import { describeFileError } from '../config/file-error.js';
import { indexLines } from '../config/parse.js';
import { type Logger, silentLogger } from '../logger.js';
import { GroupSet } from './group-set.js';
import { readTargetGroupList } from './target-group-list.js';
import type { Discoverer, DiscoveryStats, TargetGroup } from './types.js';
import { untilAborted } from './until-aborted.js';

/** The label naming the file a target came from. */
export const FILE_PATH_LABEL = '__meta_filepath';

export interface FileSdConfig {
  /** Absolute patterns (the config reader resolved them against the config's directory). */
  files: readonly string[];
  refreshIntervalMs: number;
}

export interface FileDiscovererDeps {
  clock?: Clock;
  logger?: Logger;
}

export interface FileDiscoverer extends Discoverer {
  readonly stats: DiscoveryStats;
}

/** A file's problem, for the log line and tests. */
export class FileSdError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
    this.name = 'FileSdError';
  }
}

export function createFileDiscoverer(config: FileSdConfig, deps: FileDiscovererDeps = {}): FileDiscoverer {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const stats: DiscoveryStats = { failures: 0, updates: 0, targets: 0 };
  return {
    stats,
    async run(onUpdate, signal) {
      if (signal.aborted) return;
      const set = new GroupSet();
      const lastGood = new Map<string, TargetGroup[]>();
      let first = true;
      // Each change in a watched directory triggers a refresh (trigger is a function declaration below).
      const watches = new DirectoryWatches([...new Set(config.files.map((p) => dirname(p)))], () => trigger(), logger);

      const refresh = async (): Promise<void> => {
        watches.ensure();
        const files = await expandPatterns(config.files, logger);
        const groups: TargetGroup[] = [];
        for (const file of files) {
          try {
            const read = await readGroupsFile(file);
            lastGood.set(file, read);
            groups.push(...read);
          } catch (e) {
            stats.failures++;
            const err = e instanceof FileSdError ? e : new FileSdError(file, undefined, String(e));
            logger.error('file_sd: cannot read targets, keeping the last good ones', {
              file: err.file,
              ...(err.line === undefined ? {} : { line: err.line }),
              err: err.message,
            });
            groups.push(...(lastGood.get(file) ?? []));
          }
        }
        const present = new Set(files);
        for (const file of [...lastGood.keys()]) if (!present.has(file)) lastGood.delete(file);
        const changed = set.replace(groups);
        stats.updates++;
        stats.targets = set.targets;
        if (signal.aborted) return;
        if (first) onUpdate(set.all());
        else if (changed.length > 0) onUpdate(changed);
        first = false;
      };

      // One refresh at a time; events during one ask for exactly one more.
      let running: Promise<void> | undefined;
      let again = false;
      function trigger(): void {
        if (signal.aborted) return;
        if (running !== undefined) {
          again = true;
          return;
        }
        running = (async () => {
          do {
            again = false;
            await refresh();
          } while (again && !signal.aborted);
          running = undefined;
        })();
      }

      let timer: TimerHandle | undefined;
      const tick = (): void => {
        trigger();
        timer = clock.setTimeout(tick, config.refreshIntervalMs);
      };
      tick();
      await untilAborted(signal);
      clock.clearTimeout(timer);
      watches.close();
      await running;
    },
  };
}

/** The files the patterns match now, sorted and without duplicates. */
async function expandPatterns(patterns: readonly string[], logger: Logger): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const name = basename(pattern);
    const star = name.indexOf('*');
    if (star < 0) {
      out.add(pattern);
      continue;
    }
    const dir = dirname(pattern);
    const prefix = name.slice(0, star);
    const suffix = name.slice(star + 1);
    try {
      for (const entry of (await readdir(dir)).sort()) {
        if (entry.length >= prefix.length + suffix.length && entry.startsWith(prefix) && entry.endsWith(suffix)) {
          out.add(join(dir, entry));
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        logger.warn('file_sd: cannot list directory', { dir, err: describeFileError(e) });
      }
    }
  }
  // A file named without a pattern that does not exist is not an error: it may appear later.
  const existing: string[] = [];
  for (const file of [...out].sort()) {
    if (await exists(file)) existing.push(file);
  }
  return existing;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (e) {
    // Unreadable but present: let the read report it (and keep the last good groups).
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Watches of the patterns' directories. A directory that does not exist (yet) or whose watch
 * failed is tried again at every refresh; meanwhile the refresh interval finds its changes.
 */
class DirectoryWatches {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly dirs: readonly string[],
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {}

  /** Starts the watches not running yet. */
  ensure(): void {
    for (const dir of this.dirs) {
      if (this.closed || this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.onChange());
        w.on('error', (e) => {
          this.logger.warn('file_sd: watch failed, relying on refresh_interval until it can be watched again', {
            dir,
            err: String(e),
          });
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.logger.warn('file_sd: cannot watch directory, relying on refresh_interval', {
            dir,
            err: describeFileError(e),
          });
        }
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

/** The groups of one file. Throws {@link FileSdError} with the line of the problem. */
export async function readGroupsFile(file: string): Promise<TargetGroup[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new FileSdError(file, undefined, `cannot read: ${describeFileError(e)}`);
  }
  const ext = extname(file).toLowerCase();
  let value: unknown;
  if (ext === '.json') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const pos = /position (\d+)/.exec(message);
      const line = pos === null ? text.split('\n').length : lineAt(text, Number(pos[1]));
      throw new FileSdError(file, line, `invalid JSON: ${message}`);
    }
  } else if (ext === '.yml' || ext === '.yaml') {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem !== undefined) {
      throw new FileSdError(file, lc.linePos(problem.pos[0]).line, `invalid YAML: ${problem.message}`);
    }
    value = doc.toJS({ maxAliasCount: 100 });
  } else {
    throw new FileSdError(file, undefined, `unknown file extension ${JSON.stringify(ext)}: use .json, .yml or .yaml`);
  }
  const list = readTargetGroupList(value);
  if ('error' in list) {
    throw new FileSdError(
      file,
      lineOfPath(text, list.error.path),
      `${list.error.path || 'top level'}: ${list.error.message}`,
    );
  }
  return list.groups.map((g, i) => ({
    source: `${file}:${i}`,
    targets: g.targets.map((t) => ({ __address__: t })),
    labels: { ...g.labels, [FILE_PATH_LABEL]: file },
  }));
}

/** The line of `path` (or its nearest parent) in the JSON or YAML `text`. */
function lineOfPath(text: string, path: string): number | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const lines = new Map<string, number>();
  indexLines(doc.contents, '', lc, lines);
  for (let p = path; ; p = parentPath(p)) {
    const line = lines.get(p);
    if (line !== undefined || p === '') return line;
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
