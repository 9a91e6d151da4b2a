/**
 * Retry decisions of a SendLoop, kept pure so they are tested without a network.
 */

/** What to do with a request given the receiver's answer. */
export type StatusVerdict = 'success' | 'retry' | 'drop';

/** 2xx succeeds; 5xx (and 429 when allowed) is retried; anything else is refused for good and dropped. */
export function classifyStatus(status: number, retryOnHttp429: boolean): StatusVerdict {
  if (status >= 200 && status < 300) return 'success';
  if (status >= 500 && status < 600) return 'retry';
  if (status === 429 && retryOnHttp429) return 'retry';
  return 'drop';
}

/**
 * `Retry-After` as milliseconds from `nowMs`: delta-seconds (`120`) or an HTTP date. `undefined`
 * when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names a day or month; this keeps `-3` or `1.5` from parsing as years.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Exponential backoff with full jitter: retry `n` (1-based) waits a uniform random time in
 * `[minMs, min(maxMs, minMs * 2^n)]`. The floor at `minMs` keeps a flapping receiver from being
 * hammered; the jitter spreads the loops of many agents that failed at the same moment.
 */
export function backoffDelayMs(retry: number, minMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(retry, 52));
  if (ceiling <= minMs) return Math.max(0, ceiling);
  return minMs + random() * (ceiling - minMs);
}

/** The wait before the next attempt: the receiver's Retry-After (capped) when given, else the backoff. */
export function retryDelayMs(
  retry: number,
  retryAfterMs: number | undefined,
  opts: { minBackoffMs: number; maxBackoffMs: number; maxRetryAfterMs: number },
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, opts.maxRetryAfterMs);
  return backoffDelayMs(retry, opts.minBackoffMs, opts.maxBackoffMs, random);
}
