/**
 * The daemon's logger: one line per event on stderr, logfmt (default) or JSON.
 * Expected failures (a {@link PromspoolError}, a config error) are logged as their message and
 * code only; a stack trace is printed only for unexpected errors and only at level debug, so an
 * operator reading warnings sees one line per problem.
 */
import { PromspoolError } from '../errors.js';
import type { Logger } from '../logger.js';
import { redactValue } from '../redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['logfmt', 'json'];

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export function isLogFormat(s: string): s is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(s);
}

export interface DaemonLoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Default `logfmt`. */
  format?: LogFormat;
  /** Receives each complete line including the trailing newline; default writes to stderr. */
  write?: (line: string) => void;
  /** Timestamp source, ms since the epoch; default `Date.now`. */
  now?: () => number;
}

/** A {@link Logger} whose level can be changed at run time (e.g. after a reload). */
export interface DaemonLogger extends Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  setLevel(level: LogLevel): void;
  child(fields: Record<string, unknown>): DaemonLogger;
}

/** Creates the daemon logger. */
export function createDaemonLogger(options: DaemonLoggerOptions = {}): DaemonLogger {
  const state: SharedState = {
    level: options.level ?? 'info',
    format: options.format ?? 'logfmt',
    write: options.write ?? ((line) => process.stderr.write(line)),
    now: options.now ?? Date.now,
  };
  return new LineLogger(state, []);
}

interface SharedState {
  level: LogLevel;
  format: LogFormat;
  write: (line: string) => void;
  now: () => number;
}

type Field = readonly [string, unknown];

class LineLogger implements DaemonLogger {
  constructor(
    // Shared with children, so setLevel on the root applies everywhere.
    private readonly state: SharedState,
    private readonly bound: readonly Field[],
  ) {}

  get level(): LogLevel {
    return this.state.level;
  }

  get format(): LogFormat {
    return this.state.format;
  }

  setLevel(level: LogLevel): void {
    this.state.level = level;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }

  /** A field the parent already binds is replaced in place (the innermost value wins), never repeated. */
  child(fields: Record<string, unknown>): DaemonLogger {
    const bound: Field[] = [...this.bound];
    for (const [k, v] of Object.entries(fields)) {
      const i = bound.findIndex(([key]) => key === k);
      if (i >= 0) bound[i] = [k, v];
      else bound.push([k, v]);
    }
    return new LineLogger(this.state, bound);
  }

  private log(level: LogLevel, msg: string, fields: Record<string, unknown> | undefined): void {
    if (LEVEL_RANK[level] < LEVEL_RANK[this.state.level]) return;
    const out: Field[] = [
      ['ts', new Date(this.state.now()).toISOString()],
      ['level', level],
      ['msg', msg],
    ];
    const withStacks = this.state.level === 'debug';
    for (const [k, v] of this.bound) appendField(out, k, v, withStacks);
    if (fields) for (const k of Object.keys(fields)) appendField(out, k, fields[k], withStacks);
    this.state.write(this.state.format === 'json' ? formatJson(out) : formatLogfmt(out));
  }
}

/** Flattens errors into `<key>=message` (+ `<key>_code`, and `<key>_stack` for unexpected errors at debug). */
function appendField(out: Field[], key: string, value: unknown, withStacks: boolean): void {
  if (value instanceof Error) {
    out.push([key, value.message]);
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') out.push([`${key}_code`, code]);
    if (withStacks && !isExpectedError(value) && value.stack) out.push([`${key}_stack`, value.stack]);
    return;
  }
  out.push([key, redactValue(key, value)]);
}

/** Errors that are part of normal operation and need no stack trace to be understood. */
export function isExpectedError(err: unknown): boolean {
  return err instanceof PromspoolError || (err instanceof Error && err.name === 'ConfigError');
}

function formatJson(fields: readonly Field[]): string {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of fields) obj[k] = toJsonValue(v);
  return `${JSON.stringify(obj)}\n`;
}

function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function formatLogfmt(fields: readonly Field[]): string {
  let line = '';
  for (const [k, v] of fields) {
    if (line) line += ' ';
    line += `${k}=${logfmtValue(v)}`;
  }
  return `${line}\n`;
}

const NEEDS_QUOTES = /[\s="\\]|^$/;

function logfmtValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v === undefined) s = '';
  else if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else s = safeJson(v);
  if (!NEEDS_QUOTES.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
