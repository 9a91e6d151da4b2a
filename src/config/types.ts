/**
 * The resolved configuration: every default applied, durations in milliseconds, sizes in bytes.
 * The daemon's YAML and the library's options both resolve to these shapes.
 */
import type { FsyncPolicy, OnDiskFull } from '../filequeue/types.js';
import type { ProtobufMessage } from '../wire/types.js';

export interface QueueConfig {
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minShards: number;
  maxShards: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOnHttp429: boolean;
  /** 0 = no limit. Samples older than this when about to be sent are dropped (reason `too_old`). */
  sampleAgeLimitMs: number;
  /** Upper bound on a receiver's Retry-After, so a bad header cannot stall a loop for hours. */
  maxRetryAfterMs: number;
}

export interface MetadataConfig {
  send: boolean;
  sendIntervalMs: number;
}

export interface TlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Contents read at load time (and on reload). */
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export interface BasicAuth {
  username: string;
  password: string;
}

export interface Authorization {
  type: string;
  credentials: string;
}

export interface EndpointConfig {
  name: string;
  url: string;
  protobufMessage: ProtobufMessage;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  basicAuth?: BasicAuth;
  authorization?: Authorization;
  tlsConfig?: TlsConfig;
  proxyUrl?: string;
  queue: QueueConfig;
  metadata: MetadataConfig;
}

export interface StorageConfig {
  path: string;
  ttlMs: number;
  maxSignalsToBatch: number;
  batchIntervalMs: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  maxDiskBytes: number;
  onDiskFull: OnDiskFull;
}

export interface ServerConfig {
  listenAddress: string;
  shutdownTimeoutMs: number;
}

export interface ReceiverConfig {
  enabled: boolean;
  path: string;
  maxBodyBytes: number;
  authorization?: Authorization;
  basicAuth?: BasicAuth;
}

export interface SelfMonitoringConfig {
  enabled: boolean;
  intervalMs: number;
}

export interface PromspoolConfig {
  server: ServerConfig;
  storage: StorageConfig;
  externalLabels: Record<string, string>;
  receiver: ReceiverConfig;
  selfMonitoring: SelfMonitoringConfig;
  remoteWrite: EndpointConfig[];
}
