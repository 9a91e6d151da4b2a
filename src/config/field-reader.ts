/**
 * Reads plain values (from YAML or from JS options) field by field, collecting every problem
 * with its path instead of stopping at the first. The schema is written once in snake_case; in
 * `camel` style the same keys are expected and reported in camelCase (`queue_config` -> `queueConfig`).
 */
import type { ConfigError } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import { DurationSyntaxError, formatDuration, parseDuration } from './duration.js';
import { formatSize, parseSize, SizeSyntaxError } from './size.js';

export type KeyStyle = 'snake' | 'camel';

/** Maps a path to the 1-based line it was written on, when known. */
export type LineLookup = (path: string) => number | undefined;

export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** `a.b[2]` -> `a.b`, `a.b` -> `a`, `a` -> `` */
export function parentPath(path: string): string {
  if (path.endsWith(']')) return path.slice(0, path.lastIndexOf('['));
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

export interface MapSpec {
  /** Keys this mapping accepts, snake_case. */
  readonly known: readonly string[];
  /** Keys Prometheus accepts here that promspool does not implement yet: rejected with a clear message. */
  readonly unsupported?: readonly string[];
  /**
   * Keys Prometheus accepts here that promspool accepts and does not use (yet), so a pasted
   * `prometheus.yml` loads: each one present gets a warning saying so, never an error.
   */
  readonly ignored?: readonly string[];
  /** Why the `ignored` keys are not used, for the warning (`not used: <reason>`). */
  readonly ignoredReason?: string;
}

/** A mapping whose keys were checked against a {@link MapSpec}; values are looked up by snake_case key. */
export interface CheckedMap {
  readonly path: string;
  readonly values: ReadonlyMap<string, unknown>;
}

export interface NumberBounds {
  /** Smallest allowed value (inclusive), in the field's unit (ms, bytes, count). */
  min?: number;
  max?: number;
  /** Must be greater than zero (a zero wait or interval would spin). */
  positive?: boolean;
}

export class FieldReader {
  readonly errors: ConfigError[] = [];
  /** Keys accepted and not used ({@link MapSpec.ignored}): the config loads, and says so. */
  readonly warnings: ConfigError[] = [];

  constructor(
    readonly style: KeyStyle,
    private readonly lineOf: LineLookup = () => undefined,
  ) {}

  /** The key as the user spells it in this style. */
  name(snake: string): string {
    return this.style === 'camel' ? camelCase(snake) : snake;
  }

  at(parent: string, snakeKey: string): string {
    return joinPath(parent, this.name(snakeKey));
  }

  error(path: string, message: string): void {
    this.errors.push(this.located(path, message));
  }

  /** A problem that does not stop the configuration from loading. */
  warn(path: string, message: string): void {
    this.warnings.push(this.located(path, message));
  }

  private located(path: string, message: string): ConfigError {
    let line: number | undefined;
    // A missing key has no line of its own: point at the nearest enclosing key that has one.
    for (let p = path; line === undefined; p = parentPath(p)) {
      line = this.lineOf(p);
      if (p === '') break;
    }
    return line === undefined ? { path, message } : { path, line, message };
  }

  /**
   * Checks that `value` is a mapping (absent or null counts as empty) and that every key is
   * known; unknown keys get a "did you mean" when one is close. Returns undefined if not a mapping.
   */
  map(value: unknown, path: string, spec: MapSpec): CheckedMap | undefined {
    const values = new Map<string, unknown>();
    if (value === undefined || value === null) return { path, values };
    if (!isPlainObject(value)) {
      this.error(path, `expected a mapping, got ${describe(value)}`);
      return undefined;
    }
    const bySpelling = new Map(spec.known.map((k) => [this.name(k), k]));
    const unsupported = new Set((spec.unsupported ?? []).map((k) => this.name(k)));
    const ignored = new Set((spec.ignored ?? []).map((k) => this.name(k)));
    for (const [key, v] of Object.entries(value)) {
      const snake = bySpelling.get(key);
      if (snake !== undefined) {
        if (v !== undefined && v !== null) values.set(snake, v);
        continue;
      }
      const keyPath = joinPath(path, key);
      if (ignored.has(key)) {
        this.warn(keyPath, `accepted and not used${spec.ignoredReason === undefined ? '' : `: ${spec.ignoredReason}`}`);
        continue;
      }
      if (unsupported.has(key)) {
        this.error(keyPath, `${key} is not supported yet`);
        continue;
      }
      const suggestion = didYouMean(key, [...bySpelling.keys()]);
      this.error(keyPath, suggestion === undefined ? 'unknown key' : `unknown key, did you mean "${suggestion}"?`);
    }
    return { path, values };
  }

  /** A list, or undefined (with an error) if the value is something else. */
  list(value: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(value)) return value;
    this.error(path, `expected a list, got ${describe(value)}`);
    return undefined;
  }

  has(m: CheckedMap, key: string): boolean {
    return m.values.has(key);
  }

  required(m: CheckedMap, key: string): boolean {
    if (m.values.has(key)) return true;
    this.error(this.at(m.path, key), 'is required');
    return false;
  }

  string(m: CheckedMap, key: string): string | undefined;
  string(m: CheckedMap, key: string, fallback: string): string | undefined;
  string(m: CheckedMap, key: string, fallback?: string): string | undefined {
    if (!m.values.has(key)) return fallback;
    const v = m.values.get(key);
    if (typeof v === 'string') return v;
    this.error(this.at(m.path, key), `expected a string, got ${describe(v)}`);
    return undefined;
  }

  /** Like {@link string}, but a wrong-typed value is never echoed: it may be a password. */
  secret(m: CheckedMap, key: string): string | undefined {
    if (!m.values.has(key)) return undefined;
    const v = m.values.get(key);
    if (typeof v === 'string') return v;
    const type = describe(v).replace(/ \(.*\)$/s, '');
    this.error(this.at(m.path, key), `expected a string, got ${type} (quote the value)`);
    return undefined;
  }

  boolean(m: CheckedMap, key: string, fallback: boolean): boolean | undefined {
    if (!m.values.has(key)) return fallback;
    const v = m.values.get(key);
    if (typeof v === 'boolean') return v;
    this.error(this.at(m.path, key), `expected a boolean (true or false), got ${describe(v)}`);
    return undefined;
  }

  integer(m: CheckedMap, key: string, fallback: number, bounds: NumberBounds = {}): number | undefined {
    if (!m.values.has(key)) return fallback;
    const v = m.values.get(key);
    const path = this.at(m.path, key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      this.error(path, `expected an integer, got ${describe(v)}`);
      return undefined;
    }
    return this.bounded(path, v, bounds, String);
  }

  /** One of `choices`; a near miss gets a "did you mean". */
  oneOf<T extends string>(m: CheckedMap, key: string, choices: readonly T[], fallback: T): T | undefined {
    if (!m.values.has(key)) return fallback;
    const v = m.values.get(key);
    if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
    const list = choices.map((c) => JSON.stringify(c)).join(', ');
    const hint = typeof v === 'string' ? didYouMean(v, choices) : undefined;
    const got = typeof v === 'string' ? JSON.stringify(v) : describe(v);
    this.error(
      this.at(m.path, key),
      `must be one of ${list}, got ${got}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`,
    );
    return undefined;
  }

  /**
   * A duration in ms. YAML takes Prometheus strings (`30s`; a bare `0` is allowed); JS options
   * also take a number of milliseconds.
   */
  duration(m: CheckedMap, key: string, fallback: number, bounds: NumberBounds = {}): number | undefined {
    if (!m.values.has(key)) return fallback;
    const v = m.values.get(key);
    const path = this.at(m.path, key);
    let ms: number;
    if (typeof v === 'number' && this.style === 'camel') {
      if (!Number.isSafeInteger(v) || v < 0) {
        this.error(path, `expected a non-negative whole number of milliseconds, got ${v}`);
        return undefined;
      }
      ms = v;
    } else if (typeof v === 'string' || typeof v === 'number') {
      try {
        ms = parseDuration(String(v));
      } catch (e) {
        if (!(e instanceof DurationSyntaxError)) throw e;
        this.error(path, e.message);
        return undefined;
      }
    } else {
      this.error(path, `expected a duration like "30s", got ${describe(v)}`);
      return undefined;
    }
    return this.bounded(path, ms, bounds, formatDuration);
  }

  /** A size in bytes: an integer, or a string like `32MiB`. */
  size(m: CheckedMap, key: string, fallback: number, bounds: NumberBounds = {}): number | undefined {
    if (!m.values.has(key)) return fallback;
    const v = m.values.get(key);
    const path = this.at(m.path, key);
    let bytes: number;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) {
        this.error(path, `expected a non-negative whole number of bytes, got ${v}`);
        return undefined;
      }
      bytes = v;
    } else if (typeof v === 'string') {
      try {
        bytes = parseSize(v);
      } catch (e) {
        if (!(e instanceof SizeSyntaxError)) throw e;
        this.error(path, e.message);
        return undefined;
      }
    } else {
      this.error(path, `expected a size like "32MiB", got ${describe(v)}`);
      return undefined;
    }
    return this.bounded(path, bytes, bounds, formatSize);
  }

  /**
   * A mapping of string to string (headers, labels). YAML numbers and booleans are taken as their
   * text (`replica: 1`), as Prometheus does; anything else is an error.
   */
  stringMap(m: CheckedMap, key: string): Map<string, string> | undefined {
    const out = new Map<string, string>();
    if (!m.values.has(key)) return out;
    const v = m.values.get(key);
    const path = this.at(m.path, key);
    if (!isPlainObject(v)) {
      this.error(path, `expected a mapping, got ${describe(v)}`);
      return undefined;
    }
    let ok = true;
    for (const [k, value] of Object.entries(v)) {
      if (typeof value === 'string') out.set(k, value);
      else if (typeof value === 'number' || typeof value === 'boolean') out.set(k, String(value));
      else {
        this.error(joinPath(path, k), `expected a string, got ${describe(value)}`);
        ok = false;
      }
    }
    return ok ? out : undefined;
  }

  private bounded(path: string, v: number, bounds: NumberBounds, show: (n: number) => string): number | undefined {
    if (bounds.positive && v <= 0) {
      this.error(path, `must be greater than 0, got ${show(v)}`);
      return undefined;
    }
    if (bounds.min !== undefined && v < bounds.min) {
      this.error(path, `must be >= ${show(bounds.min)}, got ${show(v)}`);
      return undefined;
    }
    if (bounds.max !== undefined && v > bounds.max) {
      this.error(path, `must be <= ${show(bounds.max)}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** "a string (\"abc\")", "a list", ... for type errors. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `a string (${JSON.stringify(v)})`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'object':
      return isPlainObject(v) ? 'a mapping' : `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
    default:
      return `a ${typeof v}`;
  }
}
