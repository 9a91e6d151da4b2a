import { inspect } from 'node:util';

export interface WaitOptions<T> {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Delay between attempts (default 100 ms). */
  intervalMs?: number;
  /** When the probed value counts as done; default: truthy. */
  until?: (value: T) => boolean;
  /** What is being waited for, for the timeout message. */
  description?: string;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until `until(value)` holds and returns that value. Only for external servers
 * (Prometheus, VictoriaMetrics) that give no event to await; everything in-process awaits events.
 * A throwing probe counts as "not yet" (a server may answer 503 while warming up). On timeout the
 * error shows the last value or error, so a failing test says what it saw, not just that it waited.
 */
export async function waitUntil<T>(probe: () => Promise<T> | T, options: WaitOptions<T> = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 100, until = (v: T) => Boolean(v), description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let last: { value: T } | { error: unknown } | undefined;
  while (true) {
    attempts++;
    try {
      const value = await probe();
      if (until(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() + intervalMs > deadline) break;
    await delay(intervalMs);
  }
  const seen =
    last === undefined
      ? 'nothing'
      : 'error' in last
        ? `error: ${last.error instanceof Error ? last.error.message : inspect(last.error)}`
        : `value: ${inspect(last.value, { depth: 6, breakLength: 120 })}`;
  throw new Error(`waitUntil: ${description} not met within ${timeoutMs} ms (${attempts} attempts); last ${seen}`);
}
