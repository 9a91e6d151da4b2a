import type { Logger } from '../../src/logger.js';

/** One line a {@link recordingLogger} took, with its child fields merged in. */
export interface LoggedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/** A Logger that pushes every line, at every level, onto `lines`. */
export function recordingLogger(lines: LoggedLine[]): Logger {
  const make = (base: Record<string, unknown>): Logger => ({
    debug: (msg, f) => lines.push({ level: 'debug', msg, fields: { ...base, ...f } }),
    info: (msg, f) => lines.push({ level: 'info', msg, fields: { ...base, ...f } }),
    warn: (msg, f) => lines.push({ level: 'warn', msg, fields: { ...base, ...f } }),
    error: (msg, f) => lines.push({ level: 'error', msg, fields: { ...base, ...f } }),
    child: (f) => make({ ...base, ...f }),
  });
  return make({});
}
