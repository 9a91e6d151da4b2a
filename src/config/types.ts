/**
 * The resolved configuration: every default applied, durations in milliseconds, sizes in bytes.
 * The daemon's YAML and the library's options both resolve to these shapes.
 */
import type { FsyncPolicy, OnDiskFull } from '../filequeue/types.js';
import type { RelabelRule } from '../relabel/types.js';
import type { NameValidationScheme } from '../serialization/name-validation.js';
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

/** What an endpoint sends of what it was given (see `endpoint-selection.ts`). */
export interface EndpointSelection {
  /** `write_relabel_configs`, applied to each series' labels merged with the external labels. Default none. */
  writeRelabelConfigs: RelabelRule[];
  /** `send_exemplars`: default true (forward what was given; Prometheus' own default is false). */
  sendExemplars: boolean;
  /** `send_native_histograms`: default true (as `sendExemplars`). */
  sendNativeHistograms: boolean;
  /** `global.metric_name_validation_scheme`: which label names relabel targets may produce. */
  nameValidationScheme: NameValidationScheme;
}

export interface EndpointConfig extends EndpointSelection {
  name: string;
  /**
   * Never holds `user:password@`: the loader moves URL credentials into `basicAuth` (unless
   * `basic_auth` or `authorization` is set, which win and the URL's are dropped).
   */
  url: string;
  protobufMessage: ProtobufMessage;
  /**
   * `protobuf_message_probe_interval` (with `io.prometheus.write.v2.Request`): after the receiver
   * refused 2.0 and the endpoint fell back to 1.0, how long until 2.0 is tried again. Default
   * `DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS` (1h).
   */
  protobufMessageProbeIntervalMs?: number;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  basicAuth?: BasicAuth;
  authorization?: Authorization;
  tlsConfig?: TlsConfig;
  proxyUrl?: string;
  /** Prometheus' `no_proxy` (with `proxy_url`): comma-separated hosts, domains, IPs and CIDRs reached directly. */
  noProxy?: string;
  /** `proxy_from_environment`: HTTP_PROXY / HTTPS_PROXY / NO_PROXY decide, as Go's client does. Absent: false. */
  proxyFromEnvironment?: boolean;
  /** `proxy_connect_header`: sent to the proxy with CONNECT. Values are secrets. */
  proxyConnectHeader?: Record<string, string[]>;
  /** `http_headers`: added to every request (several values: several header lines). */
  httpHeaders?: Record<string, HttpHeaderValues>;
  /** `follow_redirects`. Absent: true (Prometheus' default). */
  followRedirects?: boolean;
  /** `enable_http2`: offer h2 in TLS ALPN. Absent: true (Prometheus' default). */
  enableHttp2?: boolean;
  /** `round_robin_dns`: spread new connections over every address the host resolves to. Absent: false. */
  roundRobinDns?: boolean;
  oauth2?: OAuth2Config;
  sigv4?: SigV4Config;
  queue: QueueConfig;
  metadata: MetadataConfig;
}

/**
 * One header of `http_headers`. `values` are plain; `secrets` hold both the inline `secrets` and
 * the trimmed contents of `files` (read at load and on reload), which are never shown.
 */
export interface HttpHeaderValues {
  values: string[];
  secrets: string[];
  /** Absolute paths of the `files`, for messages; their contents are in `secrets`. */
  files: string[];
}

/** The proxy settings shared by an endpoint and its `oauth2` token requests (Prometheus' ProxyConfig). */
export interface ProxySettings {
  proxyUrl?: string;
  noProxy?: string;
  proxyFromEnvironment?: boolean;
  proxyConnectHeader?: Record<string, string[]>;
}

/**
 * `oauth2` of a `remote_write` entry: OAuth 2.0 client credentials grant (RFC 6749 section 4.4),
 * Prometheus' `OAuth2` keys. The token is sent as `Authorization: Bearer <token>`.
 */
export interface OAuth2Config extends ProxySettings {
  clientId: string;
  /** From `client_secret` or the trimmed contents of `client_secret_file` (read at load and reload). */
  clientSecret: string;
  clientSecretFile?: string;
  scopes: string[];
  tokenUrl: string;
  endpointParams: Record<string, string>;
  tlsConfig?: TlsConfig;
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
  /**
   * `storage.max_memory_bytes`: the process' memory limit, which bounds the caches and paces
   * garbage collection (src/daemon/memory-budget.ts); 0 or absent = no limit.
   */
  maxMemoryBytes?: number;
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
  /**
   * `global.metric_name_validation_scheme`: which metric and label names appends, the receiver
   * and external labels accept. `utf8` (Prometheus 3's default) or `legacy`.
   */
  nameValidationScheme: NameValidationScheme;
  /** `scrape_configs` (and the files of `scrape_config_files`). Absent or empty: promspool does not scrape. */
  scrapeConfigs?: ScrapeConfig[];
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

/**
 * The HTTP client keys Prometheus shares between `remote_write`, `scrape_configs` and the HTTP-based
 * service discoveries (common/config `HTTPClientConfig`), as promspool holds them after loading.
 * `EndpointConfig` carries the same fields (plus sigv4, which only remote write has).
 */
export type HttpClientConfig = Pick<
  EndpointConfig,
  | 'basicAuth'
  | 'authorization'
  | 'oauth2'
  | 'tlsConfig'
  | 'proxyUrl'
  | 'noProxy'
  | 'proxyFromEnvironment'
  | 'proxyConnectHeader'
  | 'httpHeaders'
  | 'followRedirects'
  | 'enableHttp2'
>;

/** `scrape_protocols` entries, as Prometheus spells them (config.ScrapeProtocol). */
export type ScrapeProtocol =
  | 'PrometheusProto'
  | 'OpenMetricsText1.0.0'
  | 'OpenMetricsText0.0.1'
  | 'PrometheusText1.0.0'
  | 'PrometheusText0.0.4';

/**
 * One `scrape_configs` entry after loading: every default applied (the `global` ones included),
 * every field checked. Limits are 0 for "no limit", as in Prometheus.
 */
export interface ScrapeConfig extends HttpClientConfig {
  jobName: string;
  scrapeIntervalMs: number;
  /** Never above `scrapeIntervalMs` (the loader refuses that, as Prometheus does). */
  scrapeTimeoutMs: number;
  /** Default `/metrics`. */
  metricsPath: string;
  /** Default `http`. */
  scheme: 'http' | 'https';
  /** URL parameters; several values per name are allowed. */
  params: Record<string, string[]>;
  honorLabels: boolean;
  /** Default true. */
  honorTimestamps: boolean;
  trackTimestampsStaleness: boolean;
  /** In preference order; default as Prometheus 2.49+: OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText0.0.4 (PrometheusProto first when native histograms are scraped). */
  scrapeProtocols: ScrapeProtocol[];
  /** `fallback_scrape_protocol`: used when the Content-Type is missing or unknown; absent: the scrape fails, as Prometheus 3. */
  fallbackProtocol?: ScrapeProtocol;
  /** Default true: ask for gzip. */
  enableCompression: boolean;
  /** Bytes of uncompressed body; 0: no limit. */
  bodySizeLimitBytes: number;
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  targetLimit: number;
  /** `native_histogram_bucket_limit`; 0: no limit. */
  nativeHistogramBucketLimit: number;
  /** `scrape_native_histograms` / `scrape_classic_histograms` knobs reduced to what the loop needs. */
  scrapeNativeHistograms: boolean;
  alwaysScrapeClassicHistograms: boolean;
  relabelConfigs: RelabelRule[];
  metricRelabelConfigs: RelabelRule[];
  nameValidationScheme: NameValidationScheme;
  /** Where the targets come from. */
  serviceDiscovery: DiscoveryConfig[];
}

/** One service discovery block of a scrape config (see src/discovery/types.ts for the shapes). */
export type DiscoveryConfig =
  | { kind: 'static'; groups: StaticTargetGroup[] }
  | { kind: 'file'; files: string[]; refreshIntervalMs: number }
  | ({ kind: 'http'; url: string; refreshIntervalMs: number } & HttpClientConfig)
  | ({ kind: 'kubernetes' } & KubernetesSdConfig);

/** A `static_configs` entry: targets (`host:port`) and the labels they share. */
export interface StaticTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Kubernetes roles promspool discovers (Prometheus' `kubernetes_sd_configs.role`). */
export type KubernetesRole = 'node' | 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'ingress';

/** One `kubernetes_sd_configs` entry after loading. */
export interface KubernetesSdConfig extends HttpClientConfig {
  role: KubernetesRole;
  /** `api_server`; absent: in-cluster (service account) or `kubeconfigFile`. */
  apiServer?: string;
  /** `kubeconfig_file`. */
  kubeconfigFile?: string;
  /** `namespaces`: `own_namespace` and `names`; both empty/false: every namespace. */
  namespaces: { ownNamespace: boolean; names: string[] };
  /** `selectors`: label and field selectors per role. */
  selectors: { role: KubernetesRole; label?: string; field?: string }[];
  /** `attach_metadata`. */
  attachMetadata: { node: boolean; namespace: boolean };
}
