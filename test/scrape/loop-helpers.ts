/**
 * Helpers of the scrape loop and client tests: a scrape config with Prometheus' defaults, a sink
 * that records every commit (stale markers recognised by their bits), and a local HTTP target.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ScrapeConfig } from '../../src/config/types.js';
import type { Appender, SeriesRef } from '../../src/queue-types.js';
import type { ScrapeTarget } from '../../src/scrape/loop-types.js';
import { compareUtf8 } from '../../src/serialization/label-order.js';
import type { Labels, Metadata, NativeHistogram } from '../../src/serialization/types.js';

/** A scrape config with Prometheus' defaults. */
export function loopConfig(over: Partial<ScrapeConfig> = {}): ScrapeConfig {
  return {
    jobName: 'job1',
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
    metricsPath: '/metrics',
    scheme: 'http',
    params: {},
    honorLabels: false,
    honorTimestamps: true,
    trackTimestampsStaleness: false,
    scrapeProtocols: ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText0.0.4'],
    enableCompression: true,
    bodySizeLimitBytes: 0,
    sampleLimit: 0,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
    targetLimit: 0,
    nativeHistogramBucketLimit: 0,
    scrapeNativeHistograms: false,
    alwaysScrapeClassicHistograms: false,
    relabelConfigs: [],
    metricRelabelConfigs: [],
    nameValidationScheme: 'utf8',
    serviceDiscovery: [{ kind: 'static', groups: [] }],
    followRedirects: true,
    enableHttp2: true,
    ...over,
  };
}

/** A target at `url` with job/instance labels. */
export function loopTarget(url: string, over: Partial<ScrapeTarget> = {}): ScrapeTarget {
  const u = new URL(url);
  return {
    labels: { job: 'job1', instance: 't1' },
    discoveredLabels: { __address__: u.host },
    url,
    intervalMs: 15_000,
    timeoutMs: 10_000,
    ...over,
  };
}

/** `{a="1", b="2"}` style text of a label set, sorted, `__name__` first as a metric name. */
export function seriesText(labels: Readonly<Labels>): string {
  const names = Object.keys(labels)
    .filter((n) => n !== '__name__')
    .sort(compareUtf8);
  return `${labels.__name__ ?? ''}{${names.map((n) => `${n}="${labels[n]}"`).join(',')}}`;
}

/** One recorded sample; `v` is 'stale' for the exact stale marker bits. */
export interface RecordedSample {
  series: string;
  t: number;
  v: number | 'stale';
}

export function valueOrStale(v: number): number | 'stale' {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  if (view.getUint32(0) === 0x7ff00000 && view.getUint32(4) === 2) return 'stale';
  return v;
}

/** One commit's content. */
export interface RecordedCommit {
  samples: RecordedSample[];
  histograms: { series: string; t: number; h: NativeHistogram }[];
  exemplars: { series: string; labels: Labels; value: number; t: number }[];
  metadata: { family: string; meta: Metadata }[];
}

/** A sink whose appender records commits (rolled back appends are discarded). */
export class RecordingSink {
  readonly commits: RecordedCommit[] = [];
  /** series() calls: a new series' labels are resolved once. */
  seriesCalls = 0;
  /** Makes the next commits reject (a full disk). */
  failCommits = false;

  series(labels: Labels): SeriesRef {
    this.seriesCalls++;
    return { labels: Object.freeze({ ...labels }) };
  }

  appender(): Appender {
    let pending: RecordedCommit = empty();
    const text = (l: Labels | SeriesRef) =>
      seriesText('labels' in l && typeof l.labels === 'object' ? (l as SeriesRef).labels : (l as Labels));
    return {
      append: (l, t, v) => {
        pending.samples.push({ series: text(l), t, v: valueOrStale(v) });
      },
      appendHistogram: (l, t, h) => {
        pending.histograms.push({ series: text(l), t, h });
      },
      appendExemplar: (l, e) => {
        pending.exemplars.push({ series: text(l), labels: e.labels, value: e.value, t: e.timestampMs });
      },
      updateMetadata: (family, meta) => {
        pending.metadata.push({ family, meta });
      },
      commit: async () => {
        const c = pending;
        pending = empty();
        if (this.failCommits) throw new Error('disk full');
        this.commits.push(c);
      },
      rollback: () => {
        pending = empty();
      },
    };
  }

  /** The samples of commit `i` as `series t v` lines, report series included. */
  lines(i: number): string[] {
    return this.commits[i].samples.map((s) => `${s.series} ${s.t} ${s.v}`);
  }
}

function empty(): RecordedCommit {
  return { samples: [], histograms: [], exemplars: [], metadata: [] };
}

/** A local HTTP target whose handler a test sets; records request headers. */
export class TestTarget {
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('');
  readonly requests: IncomingMessage['headers'][] = [];
  private readonly server: Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor() {
    this.server = createServer((req, res) => {
      this.requests.push(req.headers);
      this.handler(req, res);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(): Promise<TestTarget> {
    const t = new TestTarget();
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    return t;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/metrics`;
  }

  /** Answers every scrape with `body` as the text format (or `contentType`). */
  serve(body: string, contentType = 'text/plain; version=0.0.4'): void {
    this.handler = (_req, res) => {
      res.setHeader('content-type', contentType);
      res.end(body);
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
