/**
 * Starts a real single-node VictoriaMetrics (Debian's 1.79 in CI) for integration tests.
 *
 * Making just-written samples visible at once (measured on 1.79, see harness.test.ts):
 * - A remote-write POST returns 204 once rows are parsed, but rows sit in in-memory buffers
 *   (raw rows and the index's pending items, flushed about every 1-2 s) until flushed. `flush()`
 *   calls `/internal/force_flush`, after which `/api/v1/export` and queries see every written row.
 * - `-search.latencyOffset` (default 30 s) shifts an instant query whose time is within 30 s of now
 *   back by 30 s, hiding the newest samples; the harness passes `-search.latencyOffset=0s`.
 * - `-search.disableCache` turns off the rollup result cache, which otherwise may serve a result
 *   computed before the data arrived (backfill pattern of tests).
 * - `-retentionPeriod=100y`: VM silently drops samples older than the retention period, so old
 *   test timestamps would vanish with the default 1 month. VM also drops samples more than ~2 days
 *   in the future. Unlike Prometheus, VM accepts out-of-order and old samples for any series.
 * - Values are stored as decimal mantissa/exponent: integers and short decimals round-trip exactly
 *   through export; use such values in exact assertions. Exact duplicates are kept (no dedup flag).
 * - Ready (`/health` = 200) is typically well under 1 s after spawn.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, RECEIVER_PACKAGES } from './binaries.js';
import { httpRequest } from './http.js';
import {
  instantQuery,
  type LabelMap,
  msToSecondsParam,
  type RangeQueryOptions,
  rangeQuery,
  type SeriesResult,
  seriesQuery,
  type TimeRange,
} from './prom-api.js';
import { startServerProcess } from './server-process.js';

export interface VictoriaMetricsOptions {
  /** `-retentionPeriod`; default `100y`. */
  retentionPeriod?: string;
  /** Appended to the command line (e.g. `-dedup.minScrapeInterval=1ms`). */
  extraArgs?: string[];
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

/** One series from `/api/v1/export`: raw samples as stored, in timestamp order. */
export interface ExportedSeries {
  metric: LabelMap;
  values: number[];
  timestamps: number[];
}

/** A running VictoriaMetrics on 127.0.0.1. */
export interface VictoriaMetricsInstance {
  readonly url: string;
  readonly port: number;
  /** Remote-write receiver, `<url>/api/v1/write`. */
  readonly writeUrl: string;
  readonly readyAfterMs: number;
  /** Instant query (Prometheus-compatible API); call `flush()` first after writing. */
  query(promql: string, timeMs?: number): Promise<SeriesResult[]>;
  queryRange(promql: string, range: RangeQueryOptions): Promise<SeriesResult[]>;
  series(match: string | string[], range?: TimeRange): Promise<LabelMap[]>;
  /** Raw samples of every series matching any selector, sorted by label set for stable assertions. */
  exportSeries(match: string | string[], range?: TimeRange): Promise<ExportedSeries[]>;
  /** Makes everything written so far searchable (`/internal/force_flush`). */
  flush(): Promise<void>;
  logTail(lines?: number): string;
  /** SIGTERM, SIGKILL after 5 s, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

function labelKey(metric: LabelMap): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Parses `/api/v1/export`'s JSON lines. */
export function parseExport(text: string): ExportedSeries[] {
  const out: ExportedSeries[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as ExportedSeries;
    out.push({ metric: row.metric, values: row.values, timestamps: row.timestamps });
  }
  return out.sort((a, b) => {
    const ka = labelKey(a.metric);
    const kb = labelKey(b.metric);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * Starts VictoriaMetrics on a free loopback port with a fresh temp storage dir; resolves when
 * `/health` answers 200. Always `stop()` it.
 */
export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<VictoriaMetricsInstance> {
  const binary = findBinary('victoria-metrics');
  if (!binary) throw new Error(`victoria-metrics not found: apt-get install ${RECEIVER_PACKAGES['victoria-metrics']}`);
  const tempDir = await mkdtemp(join(tmpdir(), 'promspool-vm-'));
  const server = await startServerProcess({
    name: 'victoria-metrics',
    binary,
    tempDir,
    readyPath: '/health',
    readyTimeoutMs: options.readyTimeoutMs,
    args: (port) => [
      `-storageDataPath=${join(tempDir, 'data')}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      `-retentionPeriod=${options.retentionPeriod ?? '100y'}`,
      '-search.latencyOffset=0s',
      '-search.disableCache',
      // Keep test output readable: only warnings and errors.
      '-loggerLevel=WARN',
      ...(options.extraArgs ?? []),
    ],
  });
  const { url } = server;
  return {
    url,
    port: server.port,
    writeUrl: `${url}/api/v1/write`,
    readyAfterMs: server.readyAfterMs,
    query: (promql, timeMs) => instantQuery(url, promql, timeMs),
    queryRange: (promql, range) => rangeQuery(url, promql, range),
    series: (match, range) => seriesQuery(url, match, range),
    async exportSeries(match, range = {}) {
      const params = new URLSearchParams();
      for (const m of Array.isArray(match) ? match : [match]) params.append('match[]', m);
      if (range.startMs !== undefined) params.set('start', msToSecondsParam(range.startMs));
      if (range.endMs !== undefined) params.set('end', msToSecondsParam(range.endMs));
      const res = await httpRequest(`${url}/api/v1/export?${params}`);
      const text = res.body.toString('utf8');
      if (res.status !== 200) throw new Error(`VictoriaMetrics export: HTTP ${res.status}: ${text.slice(0, 500)}`);
      return parseExport(text);
    },
    async flush() {
      const res = await httpRequest(`${url}/internal/force_flush`);
      if (res.status !== 200) throw new Error(`VictoriaMetrics force_flush: HTTP ${res.status}`);
    },
    logTail: server.logTail,
    stop: server.stop,
  };
}
