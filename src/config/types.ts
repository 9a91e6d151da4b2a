/**
 * The resolved configuration: every default applied, durations in milliseconds, sizes in bytes.
 * The daemon's YAML and the library's options both resolve to these shapes.
 */
import type { FsyncPolicy, OnDiskFull } from '../filequeue/types.js';
import type { ProtobufMessage } from '../wire/types.js';

export interface QueueConfig {
  maxSamplesPerSend: number;
  /**
   * Prometheus' per-shard in-memory buffer (`queue_config.capacity`), in samples. promspool reads
   * from disk on demand, so this bounds how many samples a SendLoop holds beyond the batch it is sending.
   */
  capacity: number;
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
  /** Metadata entries per request (RW 1.0 only; RW 2.0 sends metadata inline). */
  maxSamplesPerSend: number;
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
  /** From Prometheus' `TLS10`..`TLS13`, spelled as Node's `tls` module wants them. */
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

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
  /**
   * Never holds `user:password@`: the loader moves URL credentials into `basicAuth` (unless
   * `basic_auth` or `authorization` is set, which win and the URL's are dropped).
   */
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

/** `server.tls_config.client_auth_type`, in Prometheus' (Go's) spelling. */
export type ClientAuthType = 'NoClientCert' | 'RequireAndVerifyClientCert';

/** `server.tls_config`: the daemon serves HTTPS. Files are read at load time and on every reload. */
export interface ServerTlsConfig {
  /** Absolute paths. */
  certFile: string;
  keyFile: string;
  /** PEM contents of the files. */
  cert: string;
  key: string;
  clientCaFile?: string;
  clientCa?: string;
  /** `RequireAndVerifyClientCert` when `client_ca_file` is set, else `NoClientCert`, unless given. */
  clientAuthType: ClientAuthType;
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
}

export interface ServerConfig {
  listenAddress: string;
  shutdownTimeoutMs: number;
  tlsConfig?: ServerTlsConfig;
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

/**
 * `sigv4` of a `remote_write` entry: AWS Signature Version 4 request signing (Amazon Managed
 * Service for Prometheus). Prometheus' keys (prometheus/sigv4 `SigV4Config`). Without
 * `accessKey`/`secretKey`, credentials come from the default AWS chain (environment, shared
 * config and credentials files with `profile`, web identity, container and instance roles);
 * with `roleArn`, those credentials assume the role through STS.
 */
export interface SigV4Config {
  /** Default: the AWS region of the environment or profile (`AWS_REGION`, `AWS_DEFAULT_REGION`). */
  region?: string;
  accessKey?: string;
  secretKey?: string;
  profile?: string;
  roleArn?: string;
  externalId?: string;
  useFipsStsEndpoint: boolean;
  /** Default `aps` (Amazon Managed Service for Prometheus). */
  serviceName: string;
}
