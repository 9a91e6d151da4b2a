/**
 * Starts a real Prometheus (Debian's 2.42 in CI) for integration tests.
 *
 * Quirks of Prometheus 2.42 that tests must respect (measured, see harness.test.ts):
 * - Ready (`/-/ready` = 200) about 0.1-0.3 s after spawn on an empty data dir, in both modes.
 * - A remote-write request is appended synchronously: once the POST returned 204, the samples are
 *   visible to `/api/v1/query` immediately; no polling is needed for the server's own writes.
 * - Time window: the TSDB rejects a sample older than (newest sample in the head - 1 h) with HTTP
 *   400 "out of bounds", and per series a sample older than that series' last one with 400 "out of
 *   order sample" (same timestamp with a different value: 400 "duplicate sample"; same timestamp and
 *   value: silently accepted). The 400 is deliberate so senders do not retry. So tests write samples
 *   with timestamps within the last ~50 minutes of `Date.now()`, in increasing order per series,
 *   and never more than a few minutes into the future (a future sample moves the head forward and
 *   makes "now" out of bounds). Pass `outOfOrderTimeWindow` (e.g. `'2h'`) to accept older or
 *   out-of-order samples within that window (`storage.tsdb.out_of_order_time_window`, server mode).
 * - An instant query at `time` sees a sample only within the 5 min lookback before `time`; to read
 *   back exact raw samples query a range selector, e.g. `query('foo[1h]', now)`.
 * - Feature flags in 2.42: `native-histograms` (without it the receiver answers a request carrying
 *   histograms with HTTP **500** "native histograms are disabled", which a sender will retry
 *   forever; with it they are stored and the query API returns them), `exemplar-storage` (needed
 *   for `queryExemplars`; without it exemplars are accepted and dropped), `agent`.
 *   Remote-write 2.0 does not exist in 2.42 (no `protobuf_message` config key either).
 * - Agent mode (`agent: true`) has no query API and no TSDB; it serves `/-/ready`, `/metrics` and
 *   (with the receiver flag) `/api/v1/write`, and forwards everything to `remoteWriteUrl`: measured
 *   ~1 s from POST to the samples being in VictoriaMetrics with the default `batch_send_deadline: 1s`.
 *   Prometheus' remote-write queue skips samples stamped BEFORE the queue started, so samples pushed
 *   through an agent (or scraped and relayed) must carry timestamps taken after `startPrometheus`.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, RECEIVER_PACKAGES } from './binaries.js';
import { httpRequest } from './http.js';
import {
  apiCall,
  instantQuery,
  type LabelMap,
  msToSecondsParam,
  parsePromFloat,
  type RangeQueryOptions,
  rangeQuery,
  type SeriesResult,
  secondsToMs,
  seriesQuery,
  type TimeRange,
} from './prom-api.js';
import { startServerProcess } from './server-process.js';

export interface PrometheusOptions {
  /** Agent mode (`--enable-feature=agent`, `--storage.agent.path`): no TSDB, no query API. */
  agent?: boolean;
  /** Extra `--enable-feature` names, e.g. `['native-histograms', 'exemplar-storage']`. */
  features?: string[];
  /** `scrape_configs` entries, copied verbatim into the config. */
  scrapeConfigs?: object[];
  /** `global.scrape_interval`; default `'1s'` so scrape tests stay fast. */
  scrapeInterval?: string;
  /** Adds one `remote_write` entry to this URL (the usual way to make an agent ship to promspool). */
  remoteWriteUrl?: string;
  /**
   * Keys merged into that `remote_write` entry, e.g. `{ send_exemplars: true, queue_config: {...} }`.
   * Defaults already set: `queue_config: { batch_send_deadline: '1s', min_backoff: '100ms', max_backoff: '1s' }`.
   */
  remoteWrite?: Record<string, unknown>;
  /** `storage.tsdb.out_of_order_time_window`, e.g. `'2h'` (server mode only). */
  outOfOrderTimeWindow?: string;
  /** Top-level config keys merged last (wins over everything above). */
  extraConfig?: Record<string, unknown>;
  /** Appended to the command line. */
  extraArgs?: string[];
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

/** One exemplar as `/api/v1/query_exemplars` returns it. */
export interface ExemplarResult {
  seriesLabels: LabelMap;
  exemplars: Array<{ labels: LabelMap; value: number; timestampMs: number }>;
}

/** A running Prometheus on 127.0.0.1. */
export interface PrometheusInstance {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Its remote-write receiver, `<url>/api/v1/write`. */
  readonly writeUrl: string;
  readonly agent: boolean;
  /** The generated prometheus.yml (JSON, which YAML accepts). */
  readonly configPath: string;
  /** Milliseconds from spawn to ready. */
  readonly readyAfterMs: number;
  /** Instant query at `timeMs` (default: server's now). Range selectors (`foo[1h]`) return raw samples. */
  query(promql: string, timeMs?: number): Promise<SeriesResult[]>;
  queryRange(promql: string, range: RangeQueryOptions): Promise<SeriesResult[]>;
  /** Label sets of the series matching any of `match`. */
  series(match: string | string[], range?: TimeRange): Promise<LabelMap[]>;
  /** Needs `features: ['exemplar-storage']`. */
  queryExemplars(promql: string, range: Required<TimeRange>): Promise<ExemplarResult[]>;
  /** Prometheus' own `/metrics` text (e.g. `prometheus_remote_storage_samples_total` in agent mode). */
  selfMetrics(): Promise<string>;
  /** Last lines of Prometheus' log output, for assertion messages. */
  logTail(lines?: number): string;
  /** SIGTERM, SIGKILL after 5 s, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** The prometheus.yml contents for `options` (exported for tests of the harness itself). */
export function prometheusConfig(options: PrometheusOptions): Record<string, unknown> {
  const config: Record<string, unknown> = {
    global: { scrape_interval: options.scrapeInterval ?? '1s', evaluation_interval: '1s' },
    scrape_configs: options.scrapeConfigs ?? [],
  };
  if (options.outOfOrderTimeWindow !== undefined) {
    config.storage = { tsdb: { out_of_order_time_window: options.outOfOrderTimeWindow } };
  }
  if (options.remoteWriteUrl !== undefined) {
    config.remote_write = [
      {
        url: options.remoteWriteUrl,
        queue_config: { batch_send_deadline: '1s', min_backoff: '100ms', max_backoff: '1s' },
        ...options.remoteWrite,
      },
    ];
  }
  return { ...config, ...options.extraConfig };
}

/**
 * Starts Prometheus with `--web.enable-remote-write-receiver` on a free loopback port, a fresh temp
 * data dir and a generated config; resolves when `/-/ready` answers 200 (rejects with the log tail
 * if it exits or is not ready within 30 s). Always `stop()` it, e.g. in `t.after`.
 */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusInstance> {
  const binary = findBinary('prometheus');
  if (!binary) throw new Error(`prometheus not found: apt-get install ${RECEIVER_PACKAGES.prometheus}`);
  const agent = options.agent ?? false;
  const tempDir = await mkdtemp(join(tmpdir(), `promspool-prometheus${agent ? '-agent' : ''}-`));
  const configPath = join(tempDir, 'prometheus.yml');
  await writeFile(configPath, JSON.stringify(prometheusConfig(options), null, 2));
  const features = [...(agent ? ['agent'] : []), ...(options.features ?? [])];
  const server = await startServerProcess({
    name: agent ? 'prometheus (agent)' : 'prometheus',
    binary,
    tempDir,
    readyPath: '/-/ready',
    readyTimeoutMs: options.readyTimeoutMs,
    args: (port) => [
      `--config.file=${configPath}`,
      agent ? `--storage.agent.path=${join(tempDir, 'agent')}` : `--storage.tsdb.path=${join(tempDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      ...(features.length > 0 ? [`--enable-feature=${features.join(',')}`] : []),
      ...(options.extraArgs ?? []),
    ],
  });
  const { url } = server;
  const noQueryApi = async (): Promise<never> => {
    throw new Error('Prometheus in agent mode has no query API');
  };
  return {
    url,
    port: server.port,
    writeUrl: `${url}/api/v1/write`,
    agent,
    configPath,
    readyAfterMs: server.readyAfterMs,
    query: agent ? noQueryApi : (promql, timeMs) => instantQuery(url, promql, timeMs),
    queryRange: agent ? noQueryApi : (promql, range) => rangeQuery(url, promql, range),
    series: agent ? noQueryApi : (match, range) => seriesQuery(url, match, range),
    queryExemplars: agent
      ? noQueryApi
      : async (promql, range) => {
          const form = new URLSearchParams({
            query: promql,
            start: msToSecondsParam(range.startMs),
            end: msToSecondsParam(range.endMs),
          });
          type Raw = Array<{
            seriesLabels: LabelMap;
            exemplars: Array<{ labels: LabelMap; value: string; timestamp: number }>;
          }>;
          const data = await apiCall<Raw>(`${url}/api/v1/query_exemplars`, form);
          return data.map((s) => ({
            seriesLabels: s.seriesLabels,
            exemplars: s.exemplars.map((e) => ({
              labels: e.labels,
              value: parsePromFloat(e.value),
              timestampMs: secondsToMs(e.timestamp),
            })),
          }));
        },
    async selfMetrics() {
      const res = await httpRequest(`${url}/metrics`);
      return res.body.toString('utf8');
    },
    logTail: server.logTail,
    stop: server.stop,
  };
}
