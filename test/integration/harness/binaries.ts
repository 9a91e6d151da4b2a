import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** The receiver binaries the integration tests start, and the Debian package providing each. */
export const RECEIVER_PACKAGES = {
  prometheus: 'prometheus',
  'victoria-metrics': 'victoria-metrics',
  vmagent: 'victoria-metrics',
} as const;

export type ReceiverBinary = keyof typeof RECEIVER_PACKAGES;

// Debian puts both in /usr/bin, but a test runner may start us with a trimmed PATH.
const FALLBACK_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/bin'];

/** Environment variable that overrides where `name` is looked up, e.g. `PROMSPOOL_VICTORIA_METRICS_BIN`. */
export function binaryOverrideVariable(name: string): string {
  return `PROMSPOOL_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_BIN`;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of an executable named `name`: the `PROMSPOOL_<NAME>_BIN` override if set,
 * else the first match on PATH, else the usual system directories. `undefined` when not found.
 */
export function findBinary(name: string): string | undefined {
  const override = process.env[binaryOverrideVariable(name)];
  if (override) return isExecutableFile(override) ? override : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** True when running under CI (`CI` set to anything but empty, `0` or `false`), where a missing receiver is a failure. */
export function isCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function missingMessage(missing: ReceiverBinary[]): string {
  const packages = [...new Set(missing.map((name) => RECEIVER_PACKAGES[name]))].join(' ');
  return (
    `integration receivers not found: ${missing.join(', ')}. Install them with ` +
    `\`sudo apt-get install -y --no-install-recommends ${packages}\` ` +
    `(or point ${missing.map(binaryOverrideVariable).join(' / ')} at the binaries)`
  );
}

function missingBinaries(names: ReceiverBinary[]): ReceiverBinary[] {
  return names.filter((name) => findBinary(name) === undefined);
}

function banner(message: string): void {
  const line = '!'.repeat(Math.min(120, message.length + 8));
  console.error(`\n${line}\n!!! SKIPPING INTEGRATION TEST: ${message}\n${line}\n`);
}

/**
 * Guard at the top of an integration test. Returns the absolute path of each binary when all are
 * present. When one is missing: under CI it throws (the test FAILS, so CI can never silently pass
 * without the receivers); locally it prints a loud banner, marks the test skipped and returns
 * `undefined`, so the caller must `return` then.
 *
 * @example
 * const bins = requireReceivers(t, 'prometheus');
 * if (!bins) return;
 */
export function requireReceivers(
  t: TestContext,
  ...names: ReceiverBinary[]
): Record<ReceiverBinary, string> | undefined {
  const missing = missingBinaries(names);
  if (missing.length > 0) {
    const message = missingMessage(missing);
    if (isCI()) throw new Error(`${message} [CI is set, so this is a failure, not a skip]`);
    banner(message);
    t.skip(message);
    return undefined;
  }
  const found = {} as Record<ReceiverBinary, string>;
  for (const name of names) found[name] = findBinary(name)!;
  return found;
}

/**
 * For `describe(name, { skip: receiversSkipReason('prometheus') }, ...)`: `false` when every binary
 * is present; locally a skip reason (after a loud banner); under CI it throws, failing the file.
 */
export function receiversSkipReason(...names: ReceiverBinary[]): string | false {
  const missing = missingBinaries(names);
  if (missing.length === 0) return false;
  const message = missingMessage(missing);
  if (isCI()) throw new Error(`${message} [CI is set, so this is a failure, not a skip]`);
  banner(message);
  return message;
}
