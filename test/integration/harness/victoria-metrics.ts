/**
 * Starts a real single-node VictoriaMetrics (Debian's 1.79 in CI) for integration tests.
 *
 * Making just-written samples visible at once (measured on 1.79, see harness.test.ts):
 * - A remote-write POST returns 204 once rows are parsed, but rows and new index entries sit in
 *   in-memory buffers (flushed about every 1-2 s). Worse, a query that runs before that flush can
 *   cache the empty answer: in a measurement, a series polled every 100 ms without flushing stayed
 *   invisible for 6 s, while one not queried early appeared within 3 s. `/internal/force_flush`
 *   (~20-30 ms) fixes both, so every read method here (`query`, `queryRange`, `series`,
 *   `exportSeries`) calls it first; after it, data written before the call is always visible.
 * - `-search.latencyOffset` (default 30 s) moves an instant query whose time is within 30 s of now
 *   back by 30 s, hiding the newest samples; the harness passes `-search.latencyOffset=0s`. Even
 *   then an instant query did not see a sample stamped ~1 s before the query time (2 s was fine):
 *   assert exact samples through `exportSeries`, and query instants at least 2 s after the newest
 *   sample. `/api/v1/export`'s default `end` also hides the newest samples; `exportSeries` asks up
 *   to 2 days ahead instead.
 * - `-search.disableCache` turns off the rollup result cache, which would otherwise serve results
 *   computed before a backfill arrived.
 * - `-retentionPeriod=100y`: VM silently drops samples older than the retention period (default 1
 *   month) and more than ~2 days in the future. Unlike Prometheus, VM accepts out-of-order and old
 *   samples for any series, and keeps them sorted by timestamp.
 * - Values are stored as decimal mantissa/exponent with ~12 significant digits: `1/3` comes back
 *   as `0.333333333333`, `0.1 + 0.2` as `0.3`. Use integers or short decimals in exact assertions.
 *   A NaN sample (including Prometheus' stale marker) was not returned by export.
 * - Native histograms: 1.79 answers 204 to a remote-write request carrying them and stores nothing.
 * - Ready (`/health` = 200) about 0.05-0.2 s after spawn on an empty data dir.
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
  /** Instant query (Prometheus-compatible API). Like every read here, flushes first. */
  query(promql: string, timeMs?: number): Promise<SeriesResult[]>;
  queryRange(promql: string, range: RangeQueryOptions): Promise<SeriesResult[]>;
  series(match: string | string[], range?: TimeRange): Promise<LabelMap[]>;
  /**
   * Raw samples of every series matching any selector, sorted by label set for stable assertions.
   * Default range: everything up to 2 days ahead (VM's default `end` would hide the newest samples).
   */
  exportSeries(match: string | string[], range?: TimeRange): Promise<ExportedSeries[]>;
  /** Makes everything written so far searchable (`/internal/force_flush`); the read methods call it themselves. */
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
  const flush = async () => {
    const res = await httpRequest(`${url}/internal/force_flush`);
    if (res.status !== 200) throw new Error(`VictoriaMetrics force_flush: HTTP ${res.status}`);
  };
  return {
    url,
    port: server.port,
    writeUrl: `${url}/api/v1/write`,
    readyAfterMs: server.readyAfterMs,
    async query(promql, timeMs) {
      await flush();
      return instantQuery(url, promql, timeMs);
    },
    async queryRange(promql, range) {
      await flush();
      return rangeQuery(url, promql, range);
    },
    async series(match, range) {
      await flush();
      return seriesQuery(url, match, range);
    },
    async exportSeries(match, range = {}) {
      await flush();
      const params = new URLSearchParams();
      for (const m of Array.isArray(match) ? match : [match]) params.append('match[]', m);
      if (range.startMs !== undefined) params.set('start', msToSecondsParam(range.startMs));
      // VM 1.79's default `end` excludes samples stamped in the last instant before the request,
      // so always ask up to VM's own future limit (2 days).
      params.set('end', msToSecondsParam(range.endMs ?? Date.now() + 2 * 86_400_000));
      const res = await httpRequest(`${url}/api/v1/export?${params}`);
      const text = res.body.toString('utf8');
      if (res.status !== 200) throw new Error(`VictoriaMetrics export: HTTP ${res.status}: ${text.slice(0, 500)}`);
      return parseExport(text);
    },
    flush,
    logTail: server.logTail,
    stop: server.stop,
  };
}
