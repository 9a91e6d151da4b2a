import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RelayRouteStats, RelayWay } from '../relay/relay-route.js';

/** Counts of one signal kind (samples, histograms or exemplars) of one endpoint, since its start. */
export interface SignalTotals {
  sent: number;
  failed: number;
  retried: number;
  /** By reason (`ttl`, `too_old`, `4xx`, ...). */
  dropped: Readonly<Record<string, number>>;
}

/**
 * Everything the remote-storage metrics of one endpoint show, as plain numbers read at scrape
 * time. Components keep these counters themselves; prom-client is touched only when scraped.
 */
export interface RemoteStorageSnapshot {
  samples: SignalTotals;
  histograms: SignalTotals;
  exemplars: SignalTotals;
  /** Signals read from disk and handed to the network, not yet delivered or dropped. */
  pendingSignals: number;
  metadataSent: number;
  metadataFailed: number;
  /** Compressed request bytes delivered. */
  bytes: number;
  shards: number;
  shardsDesired: number;
  shardsMin: number;
  shardsMax: number;
  /** Newest timestamp read from the queue, ms (0 if none). */
  highestTimestampMs: number;
  /** Newest timestamp delivered, ms (0 if none). */
  highestSentTimestampMs: number;
  queueSegments: number;
  queuePendingBytes: number;
  /** The queue's `storage.max_disk_bytes` (0 = unlimited); undefined when the queue does not say. */
  queueMaxDiskBytes?: number;
  /** Oldest timestamp of the segments being delivered, ms (0 if none). */
  oldestPendingTimestampMs: number;
  recordsCorrupt: number;
  /** Series dropped by the endpoint's write relabeling (undefined without rules). */
  relabelSeriesDropped?: number;
  /**
   * Relayed records (1.0 bodies stored as received) read, by the way they went out (see
   * `src/relay/relay-route.ts`); undefined when the endpoint does not say.
   */
  relayRecords?: Readonly<Record<RelayWay, number>>;
  mailboxes: readonly { actor: string; depth: number; fullCount: number }[];
  /** An endpoint configured with remote-write 2.0: its protocol negotiation (undefined for 1.0 endpoints). */
  protocol?: {
    /** The message sent now (`prometheus.WriteRequest` after a fallback). */
    protobufMessage: string;
    /** Fallbacks to 1.0 by reason (`unsupported_media_type`, `no_written_headers`). */
    fallbacks: Readonly<Record<string, number>>;
    /** Times 2.0 was tried again after `protobuf_message_probe_interval`. */
    probes: number;
    /** 2xx answers whose written counts fell short of the request, some written. */
    partialWrites: number;
    /** 2xx answers to non-empty requests whose written counts say nothing was written. */
    nothingWritten: number;
  };
}

/** The ways a relayed record goes out, in the order `promspool_relay_records_total{way}` lists them. */
export const RELAY_WAYS: readonly RelayWay[] = ['stored-bytes', 'stored-labels', 'transcoded', 'decoded'];

/**
 * The relay route's counts by way, as the metric names them; a delivery worker that has not
 * reported yet (no counts) has read none.
 */
export function relayRecordsByWay(r: RelayRouteStats | undefined): Record<RelayWay, number> {
  return {
    'stored-bytes': r?.storedBytes ?? 0,
    'stored-labels': r?.storedLabels ?? 0,
    transcoded: r?.transcoded ?? 0,
    decoded: r?.decoded ?? 0,
  };
}

/** Identifies an endpoint in every metric. */
export interface EndpointLabels {
  remoteName: string;
  url: string;
}

/** An endpoint's connection to the metrics; per-batch and per-fsync observations go through it. */
export interface EndpointMetrics {
  /** One delivered request's duration (`prometheus_remote_storage_sent_batch_duration_seconds`). */
  observeBatchDuration(seconds: number): void;
  /** One fsync's duration (`promspool_fsync_duration_seconds`). */
  observeFsync(seconds: number): void;
  /**
   * Folds the final counter values in and removes this endpoint's gauges. Counters keep their
   * values, so an endpoint re-attached under the same labels (a reload) continues them.
   */
  detach(): void;
}

/** The remote-storage metrics of one prom-client registry. */
export interface RemoteStorageMetrics {
  /** Adds an endpoint; `snapshot` is called at scrape time (at most once per scrape). */
  attach(labels: EndpointLabels, snapshot: () => RemoteStorageSnapshot): EndpointMetrics;
}

const cache = new WeakMap<Registry, RemoteStorageMetrics>();

/**
 * Registers the remote-storage metrics (Prometheus' names, so dashboards work) and promspool's own
 * queue metrics on `registry`, once: later calls with the same registry return the same object,
 * and two queues or endpoints added on reload share it with their own label values.
 */
export function remoteStorageMetrics(registry: Registry): RemoteStorageMetrics {
  let m = cache.get(registry);
  if (m === undefined) {
    m = new RegistryMetrics(registry);
    cache.set(registry, m);
  }
  return m;
}

type Labels = Record<string, string>;
type Kind = 'samples' | 'histograms' | 'exemplars';

interface Source {
  readonly key: string;
  readonly labels: Labels;
  readonly read: () => RemoteStorageSnapshot;
  /** Last value folded into each counter child (by metric name + extra label values). */
  readonly reported: Map<string, number>;
  cached: RemoteStorageSnapshot | undefined;
}

interface CounterSpec {
  name: string;
  help: string;
  extra: string[];
  /** Current totals: [extra label values, value]. */
  values(s: RemoteStorageSnapshot): [Labels, number][];
}

interface GaugeSpec {
  name: string;
  help: string;
  extra: string[];
  values(s: RemoteStorageSnapshot): [Labels, number][];
}

const BASE = ['remote_name', 'url'];
const P = 'prometheus_remote_storage_';
const NONE: Labels = {};

function kindCounters(kind: Kind, noun: string): CounterSpec[] {
  return [
    {
      name: `${P}${kind}_total`,
      help: `Total number of ${noun} sent to remote storage.`,
      extra: [],
      values: (s) => [[NONE, s[kind].sent]],
    },
    {
      name: `${P}${kind}_failed_total`,
      help: `Total number of ${noun} which failed on send to remote storage, non-recoverable errors.`,
      extra: [],
      values: (s) => [[NONE, s[kind].failed]],
    },
    {
      name: `${P}${kind}_retried_total`,
      help: `Total number of ${noun} which failed on send to remote storage but were retried because the send error was recoverable.`,
      extra: [],
      values: (s) => [[NONE, s[kind].retried]],
    },
    {
      name: `${P}${kind}_dropped_total`,
      help: `Total number of ${noun} which were dropped instead of being sent to remote storage, by reason.`,
      extra: ['reason'],
      values: (s) => Object.entries(s[kind].dropped).map(([reason, v]) => [{ reason }, v]),
    },
  ];
}

const COUNTERS: CounterSpec[] = [
  ...kindCounters('samples', 'samples'),
  ...kindCounters('histograms', 'histograms'),
  ...kindCounters('exemplars', 'exemplars'),
  {
    name: `${P}metadata_total`,
    help: 'Total number of metadata entries sent to remote storage.',
    extra: [],
    values: (s) => [[NONE, s.metadataSent]],
  },
  {
    name: `${P}metadata_failed_total`,
    help: 'Total number of metadata entries which failed on send to remote storage, non-recoverable errors.',
    extra: [],
    values: (s) => [[NONE, s.metadataFailed]],
  },
  {
    name: `${P}bytes_total`,
    help: 'The total number of bytes of data (not metadata) sent by the queue after compression.',
    extra: [],
    values: (s) => [[NONE, s.bytes]],
  },
  {
    name: 'promspool_records_corrupt_total',
    help: 'Records that could not be read (CRC mismatch or undecodable) and were skipped.',
    extra: [],
    values: (s) => [[NONE, s.recordsCorrupt]],
  },
  {
    name: 'promspool_write_relabel_series_dropped_total',
    help: 'Series dropped by the endpoint\'s write_relabel_configs, counted when decided (once per series while its outcome stays cached). Their samples count in prometheus_remote_storage_samples_dropped_total{reason="dropped_series"}.',
    extra: [],
    values: (s) => (s.relabelSeriesDropped === undefined ? [] : [[NONE, s.relabelSeriesDropped]]),
  },
  {
    // Read from the relay route's counters at scrape time, like the others: nothing on the hot path.
    name: 'promspool_relay_records_total',
    help: "Relayed records (remote-write 1.0 bodies stored as received) the endpoint read, by the way they went out: stored-bytes (the stored snappy groups, untouched: the cheapest), stored-labels (each series' stored bytes copied, the request compressed again), transcoded (2.0, in the WebAssembly transcoder), decoded (labels decoded, the request encoded from them). Requests decoded at ingest are not counted; a record read again after a restart is counted again.",
    extra: ['way'],
    values: (s) => (s.relayRecords === undefined ? [] : RELAY_WAYS.map((way) => [{ way }, s.relayRecords![way]])),
  },
  {
    name: 'promspool_mailbox_full_total',
    help: 'Times a sender found an actor mailbox full and had to wait.',
    extra: ['actor'],
    values: (s) => s.mailboxes.map((m) => [{ actor: m.actor }, m.fullCount]),
  },
  {
    name: 'promspool_remote_write_protocol_fallbacks_total',
    help: 'Times an endpoint configured with remote-write 2.0 fell back to 1.0 because the receiver did not take 2.0, by reason (unsupported_media_type: a 415; no_written_headers: a 2xx without X-Prometheus-Remote-Write-*-Written). The refused batch is sent again as 1.0.',
    extra: ['reason'],
    values: (s) =>
      s.protocol === undefined ? [] : Object.entries(s.protocol.fallbacks).map(([reason, v]) => [{ reason }, v]),
  },
  {
    name: 'promspool_remote_write_protocol_probes_total',
    help: 'Times an endpoint that fell back to remote-write 1.0 tried 2.0 again after protobuf_message_probe_interval.',
    extra: [],
    values: (s) => (s.protocol === undefined ? [] : [[NONE, s.protocol.probes]]),
  },
  {
    name: 'promspool_remote_write_short_writes_total',
    help: 'Remote-write 2.0 answers (2xx) whose X-Prometheus-Remote-Write-*-Written counts fell short of the request, by kind (partial: some written; nothing_written: none of a non-empty request). What was not written counts in prometheus_remote_storage_*_failed_total and is not retried.',
    extra: ['kind'],
    values: (s) =>
      s.protocol === undefined
        ? []
        : [
            [{ kind: 'partial' }, s.protocol.partialWrites],
            [{ kind: 'nothing_written' }, s.protocol.nothingWritten],
          ],
  },
];

const seconds = (ms: number): number => ms / 1000;
const PROTOBUF_MESSAGES = ['prometheus.WriteRequest', 'io.prometheus.write.v2.Request'] as const;

const GAUGES: GaugeSpec[] = [
  {
    name: `${P}samples_pending`,
    help: 'The number of signals (samples, histograms, exemplars) read from the queue and not yet sent.',
    extra: [],
    values: (s) => [[NONE, s.pendingSignals]],
  },
  {
    name: `${P}shards`,
    help: 'The number of shards used for parallel sending.',
    extra: [],
    values: (s) => [[NONE, s.shards]],
  },
  {
    name: `${P}shards_desired`,
    help: 'The number of shards the queue would like to run.',
    extra: [],
    values: (s) => [[NONE, s.shardsDesired]],
  },
  { name: `${P}shards_min`, help: 'The minimum number of shards.', extra: [], values: (s) => [[NONE, s.shardsMin]] },
  { name: `${P}shards_max`, help: 'The maximum number of shards.', extra: [], values: (s) => [[NONE, s.shardsMax]] },
  {
    name: `${P}queue_highest_timestamp_seconds`,
    help: 'Newest timestamp read from the queue, in seconds since the epoch.',
    extra: [],
    values: (s) => [[NONE, seconds(s.highestTimestampMs)]],
  },
  {
    name: `${P}queue_highest_sent_timestamp_seconds`,
    help: 'Newest timestamp successfully sent, in seconds since the epoch.',
    extra: [],
    values: (s) => [[NONE, seconds(s.highestSentTimestampMs)]],
  },
  {
    name: 'promspool_queue_segments',
    help: 'Segments on disk not yet fully delivered.',
    extra: [],
    values: (s) => [[NONE, s.queueSegments]],
  },
  {
    name: 'promspool_queue_pending_bytes',
    help: 'Bytes on disk of segments and ack files not yet released.',
    extra: [],
    values: (s) => [[NONE, s.queuePendingBytes]],
  },
  {
    // Exposed so an alert can compare promspool_queue_pending_bytes with the budget without
    // repeating the config in the rule.
    name: 'promspool_queue_max_disk_bytes',
    help: "The disk budget of this endpoint's queue (storage.max_disk_bytes), in bytes; 0 = unlimited.",
    extra: [],
    values: (s) => (s.queueMaxDiskBytes === undefined ? [] : [[NONE, s.queueMaxDiskBytes]]),
  },
  {
    name: 'promspool_queue_oldest_pending_timestamp_seconds',
    help: 'Oldest timestamp in the segments being delivered, in seconds since the epoch (0 if none).',
    extra: [],
    values: (s) => [[NONE, seconds(s.oldestPendingTimestampMs)]],
  },
  {
    name: 'promspool_mailbox_depth',
    help: 'Messages waiting in an actor mailbox.',
    extra: ['actor'],
    values: (s) => s.mailboxes.map((m) => [{ actor: m.actor }, m.depth]),
  },
  {
    name: 'promspool_remote_write_protocol',
    help: 'The remote-write message an endpoint configured with io.prometheus.write.v2.Request sends now: 1 for it, 0 for the other (prometheus.WriteRequest after a fallback).',
    extra: ['protobuf_message'],
    values: (s) =>
      s.protocol === undefined
        ? []
        : PROTOBUF_MESSAGES.map((m): [Labels, number] => [
            { protobuf_message: m },
            s.protocol?.protobufMessage === m ? 1 : 0,
          ]),
  },
];

class RegistryMetrics implements RemoteStorageMetrics {
  private readonly sources = new Set<Source>();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly gauges = new Map<string, Gauge<string>>();
  private readonly batchDuration: Histogram<string>;
  private readonly fsyncDuration: Histogram<string>;

  constructor(registry: Registry) {
    for (const [i, spec] of COUNTERS.entries()) {
      const self = this;
      const counter = new Counter({
        name: spec.name,
        help: spec.help,
        labelNames: [...BASE, ...spec.extra],
        registers: [registry],
        collect() {
          // The registry collects in registration order: the first metric starts a new scrape.
          if (i === 0) for (const src of self.sources) src.cached = undefined;
          for (const src of self.sources) self.foldCounter(spec, this as Counter<string>, src);
        },
      });
      this.counters.set(spec.name, counter);
    }
    for (const spec of GAUGES) {
      const self = this;
      const gauge = new Gauge({
        name: spec.name,
        help: spec.help,
        labelNames: [...BASE, ...spec.extra],
        registers: [registry],
        collect() {
          self.setGauge(spec, this as Gauge<string>);
        },
      });
      this.gauges.set(spec.name, gauge);
    }
    this.batchDuration = new Histogram({
      name: `${P}sent_batch_duration_seconds`,
      help: 'Duration of send calls to the remote storage.',
      labelNames: BASE,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120],
      registers: [registry],
    });
    this.fsyncDuration = new Histogram({
      name: 'promspool_fsync_duration_seconds',
      help: 'Duration of fsyncs of queue segments.',
      labelNames: BASE,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
  }

  attach(labels: EndpointLabels, snapshot: () => RemoteStorageSnapshot): EndpointMetrics {
    const base: Labels = { remote_name: labels.remoteName, url: labels.url };
    const src: Source = {
      key: `${labels.remoteName}\u0000${labels.url}`,
      labels: base,
      read: snapshot,
      reported: new Map(),
      cached: undefined,
    };
    this.sources.add(src);
    const batch = this.batchDuration.labels(base);
    const fsync = this.fsyncDuration.labels(base);
    let attached = true;
    return {
      observeBatchDuration: (s) => batch.observe(s),
      observeFsync: (s) => fsync.observe(s),
      detach: () => {
        if (!attached) return;
        attached = false;
        src.cached = undefined;
        for (const spec of COUNTERS) this.foldCounter(spec, this.counters.get(spec.name)!, src);
        this.sources.delete(src);
        const stillThere = [...this.sources].some((s) => s.key === src.key);
        if (!stillThere) {
          // Gauges of a gone endpoint would lie; remove every child carrying its labels.
          for (const spec of GAUGES) {
            const gauge = this.gauges.get(spec.name)!;
            for (const [extra] of spec.values(src.read())) gauge.remove({ ...base, ...extra });
          }
        }
      },
    };
  }

  /**
   * One snapshot per source per scrape: the first metric of a scrape clears the cache, and it
   * expires on the next event-loop turn anyway, so a read of a single metric is never stale.
   */
  private snapshotOf(src: Source): RemoteStorageSnapshot {
    if (src.cached === undefined) {
      src.cached = src.read();
      setImmediate(() => {
        src.cached = undefined;
      });
    }
    return src.cached;
  }

  /** Adds to the counter what the source counted since the last fold (counters only go up). */
  private foldCounter(spec: CounterSpec, counter: Counter<string>, src: Source): void {
    for (const [extra, value] of spec.values(this.snapshotOf(src))) {
      const id = `${spec.name}\u0000${Object.values(extra).join('\u0000')}`;
      const delta = value - (src.reported.get(id) ?? 0);
      if (delta > 0) {
        counter.inc({ ...src.labels, ...extra }, delta);
        src.reported.set(id, value);
      } else if (!src.reported.has(id)) {
        counter.inc({ ...src.labels, ...extra }, 0); // show the series at 0 from the start
        src.reported.set(id, value);
      }
    }
  }

  /** Sets each endpoint's gauge to the sum over its sources (normally one). */
  private setGauge(spec: GaugeSpec, gauge: Gauge<string>): void {
    const sums = new Map<string, { labels: Labels; value: number }>();
    for (const src of this.sources) {
      for (const [extra, value] of spec.values(this.snapshotOf(src))) {
        const id = `${src.key}\u0000${Object.values(extra).join('\u0000')}`;
        const e = sums.get(id);
        if (e === undefined) sums.set(id, { labels: { ...src.labels, ...extra }, value });
        else e.value += value;
      }
    }
    for (const { labels, value } of sums.values()) gauge.set(labels, value);
  }
}
