/**
 * Every default, with the reason for its value. Where a key is Prometheus' own, the default is
 * Prometheus' (`config.DefaultQueueConfig`, `DefaultMetadataConfig`, `DefaultRemoteWriteConfig`)
 * unless said otherwise, so a pasted `remote_write` block behaves the same.
 */
import type { ProtobufMessage } from '../wire/types.js';
import type {
  MetadataConfig,
  QueueConfig,
  ReceiverConfig,
  SelfMonitoringConfig,
  ServerConfig,
  StorageConfig,
} from './types.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Number of virtual shards series are hashed onto (DESIGN.md section 2); SendLoops map onto them,
 * so more than this many shards could never all have work.
 */
export const VIRTUAL_SHARDS = 256;

export const DEFAULT_QUEUE_CONFIG: Readonly<QueueConfig> = {
  /**
   * Prometheus: 2000. With 50 shards and ~100 ms per request, 2000 samples per request moves
   * 50 * 10 * 2000 = 1M samples/s, enough for one agent; larger requests raise receiver latency.
   */
  maxSamplesPerSend: 2000,
  /**
   * Prometheus: 10000 per shard (its comment: ~12,000 pending per shard at most, 600k at 50 shards).
   * promspool keeps the backlog on disk, so this only bounds what a SendLoop holds in memory:
   * 5 requests' worth at the default batch size.
   */
  capacity: 10000,
  /** Prometheus: 5s. A sample waits at most this long for a batch to fill before it is sent anyway. */
  batchSendDeadlineMs: 5 * SECOND,
  /** Prometheus: 1. One loop keeps order and is enough when the receiver keeps up. */
  minShards: 1,
  /** Prometheus: 50 (see maxSamplesPerSend: about 1M samples/s). Capped at {@link VIRTUAL_SHARDS}. */
  maxShards: 50,
  /** Prometheus: 30ms. First retry delay; doubles on every retry (with full jitter). */
  minBackoffMs: 30,
  /**
   * Prometheus: 5s (raised from 100ms in prometheus#9634 so many shards retrying do not hammer a
   * struggling receiver; 5s matches batch_send_deadline). Reached after 8 doublings of 30ms.
   */
  maxBackoffMs: 5 * SECOND,
  /**
   * Prometheus defaults this to false and drops the batch on 429. promspool's data is already on
   * disk, so dropping it would lose it for good: a rate limit is a reason to wait, not to discard.
   */
  retryOnHttp429: true,
  /** Prometheus: 0s = no limit. Data older than the storage ttl is dropped anyway. */
  sampleAgeLimitMs: 0,
  /**
   * promspool's own key (`queue_config.max_retry_after`): a receiver's Retry-After larger than
   * this is capped, so a bad header (e.g. a day) cannot stall a loop. 5m = 60 * max_backoff.
   */
  maxRetryAfterMs: 5 * MINUTE,
};

export const DEFAULT_METADATA_CONFIG: Readonly<MetadataConfig> = {
  /** Prometheus: true. Receivers use metadata for types, help and units of series. */
  send: true,
  /** Prometheus: 1m. Metadata changes rarely; once a minute keeps it fresh at negligible cost. */
  sendIntervalMs: MINUTE,
  /** Prometheus' DefaultMetadataConfig: 2000 (its docs page says 500; the code wins). */
  maxSamplesPerSend: 2000,
};

/** Prometheus: `prometheus.WriteRequest` (remote-write 1.0), which every receiver speaks. */
export const DEFAULT_PROTOBUF_MESSAGE: ProtobufMessage = 'prometheus.WriteRequest';
/** `protobuf_message_probe_interval`: 1.0 is kept this long after a 2.0 endpoint fell back before 2.0 is tried again. */
export const DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS = 60 * 60 * 1000;

/** Prometheus: 30s per request attempt. */
export const DEFAULT_REMOTE_TIMEOUT_MS = 30 * SECOND;

/** Prometheus' default `authorization.type`. */
export const DEFAULT_AUTHORIZATION_TYPE = 'Bearer';

export const DEFAULT_STORAGE_CONFIG: Readonly<StorageConfig> = {
  /** Relative to the working directory, like Prometheus' `--storage.tsdb.path=data/`. */
  path: './data',
  /**
   * 2h: the span of one Prometheus TSDB head block; receivers such as Mimir and Prometheus reject
   * samples much older than their head anyway (out-of-order window off by default). 0 = never expire.
   */
  ttlMs: 2 * HOUR,
  /**
   * 50000 signals = 25 requests of 2000 samples. Each segment costs a fixed ~1.5 ms of CPU (files
   * created, renamed, read, deleted, an acks file, and partial requests where a segment ends),
   * ~0.03 us per signal here against ~0.15 at Alloy's 10000 (relay bench: 1.12-1.18 -> 0.97-1.00 CPU
   * s per 1M samples). The read side holds up to 3 segments: ~150000 signals, ~5 MB of relayed
   * records or ~20 MB of decoded ones. A quiet queue still seals every batch_interval.
   */
  maxSignalsToBatch: 50000,
  /** 5s, the same as batch_send_deadline, so a quiet queue still seals a segment that often. */
  batchIntervalMs: 5 * SECOND,
  /** `interval`: at most fsync_interval of acknowledged data at risk on power loss, at a fraction of `always`'s cost. */
  fsync: 'interval',
  /** 1s, like Redis' `appendfsync everysec`: at most a second of data at risk, one fsync per second. */
  fsyncIntervalMs: SECOND,
  /** 10GiB per endpoint: a bound that fits small disks while holding a long outage's backlog. 0 = unlimited. */
  maxDiskBytes: 10 * GiB,
  /** `drop_oldest`: keep accepting fresh data and lose the oldest, which is also the most likely to be rejected as too old. */
  onDiskFull: 'drop_oldest',
};

export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = {
  /** 9201: the port of Prometheus' example remote storage adapter. Loopback only unless asked. */
  listenAddress: '127.0.0.1:9201',
  /** 30s: matches remote_timeout, so one in-flight request can finish before it is abandoned. */
  shutdownTimeoutMs: 30 * SECOND,
};

export const DEFAULT_RECEIVER_CONFIG: Readonly<ReceiverConfig> = {
  enabled: true,
  /** Prometheus' own receiver path (`--web.enable-remote-write-receiver`). */
  path: '/api/v1/write',
  /**
   * 32MiB: a compressed request of 2000 samples is tens of KiB, so this only stops abuse, while
   * leaving room for senders configured with much larger batches.
   */
  maxBodyBytes: 32 * MiB,
};

export const DEFAULT_SELF_MONITORING_CONFIG: Readonly<SelfMonitoringConfig> = {
  enabled: true,
  /** 15s, the scrape interval of Prometheus' example config. */
  intervalMs: 15 * SECOND,
};
