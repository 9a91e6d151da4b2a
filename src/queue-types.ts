import type { Registry } from 'prom-client';
import type { PromspoolConfig } from './config/types.js';
import type { EndpointDeliveryStats } from './endpoint/endpoint.js';
import type { FileQueueStats } from './filequeue/types.js';
import type { IngestRelabelPlan } from './relay/ingest-relabel.js';
import type { Labels, Metadata, NativeHistogram } from './serialization/types.js';

/**
 * A validated, cached label set. Get one with {@link Queue.series} and pass it to
 * {@link Appender.append} instead of a labels object: appends then skip validation, sorting
 * and hashing entirely (the fastest path).
 */
export interface SeriesRef {
  readonly labels: Readonly<Labels>;
}

/**
 * Collects appends for one caller. Nothing is durable until {@link Appender.commit} resolves.
 * An appender is used by one caller at a time and may be reused after commit/rollback.
 */
export interface Appender {
  /** Appends a float sample. `labels` must include `__name__`. Throws TypeError on invalid input. */
  append(labels: Labels | SeriesRef, timestampMs: number, value: number): void;
  appendHistogram(labels: Labels | SeriesRef, timestampMs: number, histogram: NativeHistogram): void;
  appendExemplar(labels: Labels | SeriesRef, exemplar: { labels: Labels; value: number; timestampMs: number }): void;
  updateMetadata(metricFamilyName: string, metadata: Metadata): void;
  /** Resolves once the batch is durable in every endpoint's queue per `storage.fsync`. Rejects with DiskFullError when refused. */
  commit(): Promise<void>;
  /** Discards everything appended since the last commit. */
  rollback(): void;
}

export interface EndpointStats {
  name: string;
  url: string;
  pendingSegments: number;
  pendingBytes: number;
  /** Signals known to be waiting (in this process' segments and segments already read). */
  pendingSamples: number;
  /** Oldest timestamp of the segments being delivered now, ms (0 if none): how far behind delivery is. */
  oldestPendingTimestampMs: number;
  /** Newest timestamp read from the queue / sent, ms (0 if none). */
  highestTimestampMs: number;
  highestSentTimestampMs: number;
  samplesSent: number;
  samplesDropped: Record<string, number>;
  samplesRetried: number;
  lastError?: { message: string; atMs: number };
}

export interface QueueStats {
  endpoints: EndpointStats[];
}

/** Internal: one endpoint's delivery and disk counters in full (the daemon's status API reads them). */
export interface EndpointDetails {
  name: string;
  delivery: EndpointDeliveryStats;
  disk: FileQueueStats;
}

export interface Queue {
  /** A new appender. Many may exist at once. */
  appender(): Appender;
  /** Validates and caches a label set once; see {@link SeriesRef}. */
  series(labels: Labels): SeriesRef;
  /** Resolves once everything committed so far is fsynced to disk, whatever the fsync policy. */
  flush(): Promise<void>;
  /**
   * Stops cleanly: refuses new commits, flushes to disk, lets in-flight requests finish until the
   * shutdown timeout, then abandons them. Undelivered data stays on disk for the next start.
   */
  stop(): Promise<void>;
  stats(): QueueStats;
  /** The prom-client registry holding this queue's metrics (the one passed in, or a new one). */
  readonly registry: Registry;
}

/**
 * Internal (not exported from src/index.ts): what the daemon needs beyond the public Queue.
 */
export interface ManagedQueue extends Queue {
  /**
   * Applies a new configuration without losing committed data: endpoints added start, removed
   * ones stop (their directory is kept), changed ones restart in place on the same directory.
   */
  applyConfig(config: PromspoolConfig): Promise<void>;
  /** True once every endpoint has started replaying its backlog and is running. */
  readonly ready: boolean;
  /**
   * Appends one encoded record (the relay path's kind-2 records, see raw-record.ts) to every
   * endpoint's queue; resolves once it is durable in all of them, like {@link Appender.commit}.
   * Once it settles the caller reuses `payload`'s buffer (the relay scan worker writes the next
   * records into it): what a queue keeps, it copies.
   */
  appendRecord(payload: Uint8Array, signals: number): Promise<void>;
  /**
   * Whether remote-write requests may be stored as received (kind-2 records). True today: the
   * senders merge external labels into the stored label bytes.
   */
  readonly storesRawRequests: boolean;
  /**
   * How many groups a kind-2 record is written in (see raw-record.ts): 1 (the body as received) or
   * `STORED_GROUPS` (src/network/partition.ts), as the relay route decides from the endpoints
   * (`relayGroupCount` in src/relay/relay-route.ts).
   */
  readonly rawRecordGroups: number;
  /**
   * The write relabel rules the relay scan applies at ingest (`ingestRelabelPlan` in
   * src/relay/relay-route.ts), or undefined: each endpoint relabels at send time. Optional so
   * that test doubles may leave it out.
   */
  readonly ingestRelabel?: IngestRelabelPlan | undefined;
  /**
   * Every endpoint's full counters, in the order of {@link Queue.stats}. Optional so that test
   * doubles may leave it out; the status API then shows what `stats()` has.
   */
  endpointDetails?(): EndpointDetails[];
}
