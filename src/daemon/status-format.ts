/**
 * How the status page words its numbers. The server renders the table with these and the page's
 * script (status-client.ts) runs the very same functions, sent as their source, so the table reads
 * the same with and without JavaScript. Hence every function here is self-contained: it may call
 * only the others in this file and the language's built-ins, and must not close over module state.
 */
import type { EndpointStatus, ReceiverStatus } from './status-types.js';

/** Column headers of the endpoints table, in the order {@link endpointCells} fills them. */
export const ENDPOINT_COLUMNS = [
  'name',
  'url',
  'pending samples',
  'pending bytes',
  'segments',
  'oldest pending',
  'send rate',
  'receive rate',
  'sent',
  'failed',
  'dropped',
  'shards',
  'disk',
  'relayed records',
  'last error',
] as const;

/** Index of the last-error column (styled as an error when the endpoint is failing). */
export const LAST_ERROR_COLUMN = ENDPOINT_COLUMNS.length - 1;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** A per-second rate, `-` when not known yet. */
export function formatRate(perSecond: number | null): string {
  return perSecond === null ? '-' : `${perSecond.toFixed(1)}/s`;
}

/** The text of each cell of an endpoint's row, in {@link ENDPOINT_COLUMNS} order. */
export function endpointCells(e: EndpointStatus, nowMs: number): string[] {
  const b = e.backlog;
  let oldest = 'nothing sent yet';
  if (b.samples === 0) oldest = '-';
  else if (b.oldestPendingTimestampMs !== null) oldest = formatDuration(nowMs - b.oldestPendingTimestampMs);
  // Without a per-sample index, the newest timestamp already sent bounds the oldest one still waiting.
  else if (e.highestSentTimestampMs !== null) oldest = `\u2264 ${formatDuration(nowMs - e.highestSentTimestampMs)}`;
  const dropped = Object.entries(e.samples.dropped)
    .filter((entry) => entry[1] > 0)
    .map((entry) => `${entry[0]}: ${entry[1]}`)
    .join(', ');
  const d = e.disk;
  const disk =
    d.maxBytes > 0
      ? `${formatBytes(d.usedBytes)} of ${formatBytes(d.maxBytes)} (${((d.usedRatio ?? 0) * 100).toFixed(1)}%)`
      : `${formatBytes(d.usedBytes)} (no limit)`;
  // Which way relayed records went out (see `promspool_relay_records_total`); empty for an
  // endpoint that relayed nothing, most of them.
  const r = e.relay;
  const relayed =
    r === null
      ? ''
      : (
          [
            ['stored-bytes', r.storedBytes],
            ['stored-labels', r.storedLabels],
            ['transcoded', r.transcoded],
            ['decoded', r.decoded],
          ] as const
        )
          .filter((entry) => entry[1] > 0)
          .map((entry) => `${entry[0]}: ${entry[1]}`)
          .join(', ');
  let lastError = '';
  if (e.lastError !== null) {
    lastError = `${e.lastError.message} (${formatDuration(nowMs - e.lastError.atMs)} ago`;
    if (e.lastError.failingSinceMs !== null) {
      lastError += `, failing for ${formatDuration(nowMs - e.lastError.failingSinceMs)}`;
    }
    lastError += ')';
  }
  return [
    e.name,
    e.url,
    String(b.samples),
    formatBytes(b.bytes),
    String(b.segments),
    oldest,
    formatRate(e.rates.sentSamplesPerSecond),
    formatRate(e.rates.receivedSignalsPerSecond),
    String(e.samples.sent),
    e.samples.failed === null ? '-' : String(e.samples.failed),
    dropped || '0',
    e.shards === null ? '-' : String(e.shards),
    disk,
    relayed,
    lastError,
  ];
}

/** One row per status code answered: code, requests, rate. */
export function receiverRows(r: ReceiverStatus): string[][] {
  return Object.keys(r.requests)
    .sort()
    .map((code) => [code, String(r.requests[code]), formatRate(r.requestsPerSecond[code] ?? null)]);
}
