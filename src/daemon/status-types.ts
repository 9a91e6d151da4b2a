/**
 * The shape of `GET /api/v1/status` (documented in docs/operations.md, "HTTP endpoints"). Counts
 * are since the endpoint started (a reload that changes an endpoint restarts them at 0); rates are
 * per second, computed from those counts sampled over time; `null` means not known (yet).
 */

/** Counts of one signal kind of one endpoint. */
export interface SignalCounts {
  sent: number;
  /** Refused for good by the receiver (non-retryable errors); `null` when the queue does not say. */
  failed: number | null;
  retried: number;
  /** By reason (`ttl`, `too_old`, `4xx`, `max_disk_bytes`, `disk_full`, ...). */
  dropped: Record<string, number>;
}

/** One point per history sample, oldest first, aligned with {@link StatusHistory.timestampsMs}. */
export type Series = (number | null)[];

export interface EndpointStatus {
  name: string;
  /** The URL with credentials redacted. */
  url: string;
  /** Send loops running now; `null` when the queue does not say. */
  shards: number | null;
  backlog: {
    /** Signals waiting to be delivered. */
    samples: number;
    /** Bytes on disk of the endpoint's queue (segments and ack files). */
    bytes: number;
    segments: number;
    /** Oldest timestamp of the segments being delivered now; `null` when none is. */
    oldestPendingTimestampMs: number | null;
    /** `nowMs - oldestPendingTimestampMs` in seconds; `null` with no backlog or no known timestamp. */
    oldestPendingAgeSeconds: number | null;
  };
  /** Newest timestamp delivered; `null` before the first delivery. */
  highestSentTimestampMs: number | null;
  samples: SignalCounts;
  /** `null` when the queue does not say. */
  histograms: SignalCounts | null;
  exemplars: SignalCounts | null;
  /** Compressed request bytes delivered; `null` when the queue does not say. */
  bytesSent: number | null;
  /**
   * Relayed records (1.0 bodies stored as received) read, by the way they went out: the counts of
   * `promspool_relay_records_total{way}`. `null` until some relayed record was read (or when the
   * queue does not say).
   */
  relay: { storedBytes: number; storedLabels: number; transcoded: number; decoded: number } | null;
  rates: {
    /** Samples delivered per second. */
    sentSamplesPerSecond: number | null;
    /**
     * Signals (samples, histograms, exemplars) that entered the endpoint's queue per second:
     * delivered + failed + dropped + growth of the backlog.
     */
    receivedSignalsPerSecond: number | null;
    failedSamplesPerSecond: number | null;
    /** Samples dropped per second, every reason together. */
    droppedSamplesPerSecond: number | null;
  };
  disk: {
    usedBytes: number;
    /** `storage.max_disk_bytes` (per endpoint); 0 = unlimited. */
    maxBytes: number;
    /** `usedBytes / maxBytes`; `null` when unlimited. */
    usedRatio: number | null;
  };
  /** The last delivery error (URLs in it redacted); `null` if none since the endpoint started. */
  lastError: {
    message: string;
    atMs: number;
    /** True while delivery keeps failing: no success (or empty backlog) seen since the error. */
    failing: boolean;
    /** When the current run of failures began; `null` once delivery succeeded again. */
    failingSinceMs: number | null;
  } | null;
  history: {
    backlogSamples: Series;
    backlogBytes: Series;
    oldestPendingAgeSeconds: Series;
    sentSamplesPerSecond: Series;
    receivedSignalsPerSecond: Series;
    failedSamplesPerSecond: Series;
    droppedSamplesPerSecond: Series;
    diskBytes: Series;
  };
}

export interface ReceiverStatus {
  enabled: boolean;
  /** `receiver.path`; `null` when disabled. */
  path: string | null;
  /** Write requests answered, by HTTP status code, since start. */
  requests: Record<string, number>;
  /** Requests per second by status code. */
  requestsPerSecond: Record<string, number | null>;
  /** Signals committed from pushes per second (every type). */
  signalsPerSecond: number | null;
  history: {
    requestsPerSecond: Record<string, Series>;
    signalsPerSecond: Series;
  };
}

/** When the history points were taken. */
export interface StatusHistory {
  /** Milliseconds between points. */
  intervalMs: number;
  /** Most points kept per series (an hour at the default interval). */
  capacity: number;
  timestampsMs: number[];
}

export interface StatusResponse {
  version: string;
  /** Every endpoint has started replaying its backlog and is running. */
  ready: boolean;
  nowMs: number;
  startedAtMs: number;
  /** The config file, or `built-in default`. */
  configSource: string;
  storage: { path: string; maxDiskBytes: number };
  endpoints: EndpointStatus[];
  receiver: ReceiverStatus;
  history: StatusHistory;
}
