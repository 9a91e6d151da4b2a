/**
 * The `GET /` page: one small HTML table per endpoint, for a human checking on the daemon.
 * Everything shown goes through HTML escaping and URL redaction: error messages can quote URLs
 * with credentials in them.
 */
import type { PromspoolConfig } from '../config/types.js';
import type { EndpointStats, QueueStats } from '../queue-types.js';
import { redactUrl } from '../redact.js';

export interface StatusPageInput {
  version: string;
  config: PromspoolConfig;
  configSource: string;
  stats: QueueStats;
  ready: boolean;
  nowMs: number;
  startedAtMs: number;
  /** Samples per second sent, per endpoint name, over the last rate window. */
  sendRates: ReadonlyMap<string, number>;
}

/**
 * Per-endpoint send rate from successive `samplesSent` readings. Each reading at least
 * `windowMs` after the previous base becomes the new base, so the rate covers roughly the last window.
 */
export class SendRateTracker {
  private base = new Map<string, { atMs: number; sent: number }>();
  private rates = new Map<string, number>();

  constructor(private readonly windowMs = 10_000) {}

  update(stats: QueueStats, nowMs: number): ReadonlyMap<string, number> {
    const next = new Map<string, { atMs: number; sent: number }>();
    for (const e of stats.endpoints) {
      const prev = this.base.get(e.name);
      if (!prev || e.samplesSent < prev.sent) {
        next.set(e.name, { atMs: nowMs, sent: e.samplesSent });
        continue;
      }
      const dt = nowMs - prev.atMs;
      if (dt >= this.windowMs) {
        this.rates.set(e.name, ((e.samplesSent - prev.sent) * 1000) / dt);
        next.set(e.name, { atMs: nowMs, sent: e.samplesSent });
      } else {
        next.set(e.name, prev);
      }
    }
    this.base = next;
    for (const name of [...this.rates.keys()]) if (!next.has(name)) this.rates.delete(name);
    return this.rates;
  }
}

export function renderStatusPage(input: StatusPageInput): string {
  const { config, stats, nowMs } = input;
  const rows = stats.endpoints.map((e) => renderEndpoint(e, input)).join('\n');
  const receiver = config.receiver.enabled
    ? `${esc(config.receiver.path)} (max body ${formatBytes(config.receiver.maxBodyBytes)}${
        config.receiver.authorization || config.receiver.basicAuth ? ', authentication required' : ''
      })`
    : 'disabled';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>promspool</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f4f4f4}.err{color:#a00}</style>
</head><body>
<h1>promspool ${esc(input.version)}</h1>
<p>Status: ${input.ready ? 'ready' : 'starting'} &middot; up ${formatDuration(nowMs - input.startedAtMs)} &middot;
config ${esc(input.configSource)} &middot; data in <code>${esc(config.storage.path)}</code> &middot;
receiver ${receiver} &middot; <a href="/metrics">/metrics</a></p>
<h2>Endpoints</h2>
<table>
<tr><th>name</th><th>url</th><th>pending samples</th><th>pending bytes</th><th>segments</th><th>oldest pending</th><th>send rate</th><th>sent</th><th>dropped</th><th>last error</th></tr>
${rows || '<tr><td colspan="10">no endpoints configured</td></tr>'}
</table>
</body></html>
`;
}

function renderEndpoint(e: EndpointStats, input: StatusPageInput): string {
  const rate = input.sendRates.get(e.name);
  const dropped = Object.entries(e.samplesDropped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${esc(reason)}: ${n}`)
    .join(', ');
  const lastError = e.lastError
    ? `<span class="err">${esc(redactText(e.lastError.message))}</span> (${formatDuration(input.nowMs - e.lastError.atMs)} ago)`
    : '';
  return `<tr><td>${esc(e.name)}</td><td>${esc(redactUrl(e.url))}</td><td>${e.pendingSamples}</td><td>${formatBytes(
    e.pendingBytes,
  )}</td><td>${e.pendingSegments}</td><td>${oldestPending(e, input.nowMs)}</td><td>${
    rate === undefined ? '-' : `${rate.toFixed(1)}/s`
  }</td><td>${e.samplesSent}</td><td>${dropped || '0'}</td><td>${lastError}</td></tr>`;
}

// Without a per-sample index, the newest timestamp already sent bounds the oldest one still waiting.
function oldestPending(e: EndpointStats, nowMs: number): string {
  const oldest = e.oldestPendingTimestampMs;
  if (e.pendingSamples === 0) return '-';
  if (oldest !== undefined && oldest > 0) return formatDuration(nowMs - oldest);
  if (e.highestSentTimestampMs > 0) return `&le; ${formatDuration(nowMs - e.highestSentTimestampMs)}`;
  return 'nothing sent yet';
}

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Redacts every URL found inside free text (error messages quote them). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

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
