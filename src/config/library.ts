/**
 * Options of `createQueue()`: the same keys as the YAML `remote_write` and `storage` blocks,
 * spelled in camelCase (`queue_config.max_shards` -> `queueConfig.maxShards`). snake_case keys are
 * rejected with a "did you mean" so a typo never silently falls back to a default.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { RelabelAction } from '../relabel/types.js';
import type { NameValidationScheme } from '../serialization/name-validation.js';
import type { ProtobufMessage } from '../wire/types.js';
import { type ConfigError, InvalidConfigError } from './config-error.js';
import {
  DEFAULT_RECEIVER_CONFIG,
  DEFAULT_SELF_MONITORING_CONFIG,
  DEFAULT_SERVER_CONFIG,
  DEFAULT_STORAGE_CONFIG,
} from './defaults.js';
import { FieldReader, type MapSpec } from './field-reader.js';
import {
  child,
  readEndpointList,
  readExternalLabels,
  readNameValidationScheme,
  readStorage,
  STORAGE_SPEC,
} from './schema.js';
import type { PromspoolConfig, SigV4Config } from './types.js';

/** Milliseconds, or a Prometheus duration string such as `"30s"` or `"1h30m"`. */
export type DurationOption = number | string;

/** Bytes, or a size string such as `"32MiB"` or `"10GiB"`. */
export type SizeOption = number | string;

/** Prometheus' TLS version names. */
export type TlsVersionOption = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';

/** `basic_auth`: HTTP Basic credentials sent with every request. */
export interface BasicAuthOptions {
  /** User name. Mutually exclusive with `usernameFile`. */
  username?: string;
  /** File holding the user name (surrounding whitespace trimmed), read when the options are resolved. */
  usernameFile?: string;
  /** Password. Mutually exclusive with `passwordFile`. */
  password?: string;
  /** File holding the password (surrounding whitespace trimmed), read when the options are resolved. */
  passwordFile?: string;
}

/** `authorization`: an `Authorization: <type> <credentials>` header sent with every request. */
export interface AuthorizationOptions {
  /** Scheme; default `Bearer`. `Basic` is refused: use {@link BasicAuthOptions}. */
  type?: string;
  /** The credentials (e.g. the token). Exactly one of `credentials` and `credentialsFile` is required. */
  credentials?: string;
  /** File holding the credentials (trimmed), read when the options are resolved. */
  credentialsFile?: string;
}

/** `tls_config`: how to verify the receiver and, optionally, present a client certificate. */
export interface TlsOptions {
  /** PEM CA certificate(s) to trust instead of the system roots. Mutually exclusive with `caFile`. */
  ca?: string;
  /** File with PEM CA certificate(s), read when the options are resolved. */
  caFile?: string;
  /** PEM client certificate; needs `key` or `keyFile`. Mutually exclusive with `certFile`. */
  cert?: string;
  /** File with the PEM client certificate. */
  certFile?: string;
  /** PEM client private key; needs `cert` or `certFile`. Mutually exclusive with `keyFile`. */
  key?: string;
  /** File with the PEM client private key. */
  keyFile?: string;
  /** Name to verify the receiver's certificate against (and to send as SNI); default: the URL's host. */
  serverName?: string;
  /** Skip certificate verification. Default false; for tests only. */
  insecureSkipVerify?: boolean;
  /** Lowest TLS version to negotiate. Default: Node's (TLS 1.2). */
  minVersion?: TlsVersionOption;
  /** Highest TLS version to negotiate. Default: Node's (TLS 1.3). */
  maxVersion?: TlsVersionOption;
}

/** `queue_config`: batching, concurrency and retries. Defaults are Prometheus' unless noted. */
export interface QueueOptions {
  /** Samples per request. Default 2000. */
  maxSamplesPerSend?: number;
  /** Samples a send loop may hold in memory beyond the request it is sending. Default 10000. */
  capacity?: number;
  /** Longest a sample waits for a batch to fill. Default 5s. */
  batchSendDeadline?: DurationOption;
  /** Fewest concurrent send loops. Default 1. */
  minShards?: number;
  /** Most concurrent send loops; at least `minShards`, at most 256. Default 50. */
  maxShards?: number;
  /** First retry delay, doubled on each retry (with full jitter). Default 30ms. */
  minBackoff?: DurationOption;
  /** Largest retry delay; at least `minBackoff`. Default 5s. */
  maxBackoff?: DurationOption;
  /** Retry on HTTP 429 instead of dropping the batch. Default true (Prometheus: false). */
  retryOnHttp429?: boolean;
  /** Drop samples older than this when they are about to be sent; 0 = no limit. Default 0. */
  sampleAgeLimit?: DurationOption;
  /** promspool's own: upper bound on a receiver's Retry-After. Default 5m. */
  maxRetryAfter?: DurationOption;
}

/** `metadata_config`: metric metadata (type, help, unit). */
export interface MetadataOptions {
  /** Send metadata at all. Default true. */
  send?: boolean;
  /** How often metadata is re-sent (remote-write 1.0). Default 1m. */
  sendInterval?: DurationOption;
  /** Metadata entries per request (remote-write 1.0). Default 2000. */
  maxSamplesPerSend?: number;
}

/** One receiver to deliver to: Prometheus' `remote_write` entry in camelCase. */
export interface EndpointOptions {
  /**
   * Names the endpoint in metrics and its queue directory under `dataDir`: 1-100 letters,
   * digits, `.`, `_`, `-`, not starting with `.` or `-`, unique ignoring case. Default: derived from
   * the URL (`<host>-<8 hex of its sha256>`), stable as long as the URL is.
   */
  name?: string;
  /** The receiver's remote-write URL, http or https. Required. */
  url: string;
  /**
   * Wire format: `prometheus.WriteRequest` (remote-write 1.0, default) or
   * `io.prometheus.write.v2.Request` (2.0, falling back to 1.0 without loss when the receiver does
   * not take it; see docs/operations.md, "Remote-write 2.0 sending").
   */
  protobufMessage?: ProtobufMessage;
  /** With 2.0: how long 1.0 is kept after a fallback before 2.0 is tried again. Default 1h. */
  protobufMessageProbeInterval?: DurationOption;
  /** Timeout of one request attempt. Default 30s. */
  remoteTimeout?: DurationOption;
  /** Extra request headers (e.g. `X-Scope-OrgID`). Headers promspool sets itself, and `Authorization`, are refused. */
  headers?: Record<string, string>;
  /** HTTP Basic credentials. Mutually exclusive with `authorization`. */
  basicAuth?: BasicAuthOptions;
  /** Authorization header credentials. Mutually exclusive with `basicAuth`. */
  authorization?: AuthorizationOptions;
  /** TLS settings for https URLs. */
  tlsConfig?: TlsOptions;
  /** HTTP(S) proxy to send through. */
  proxyUrl?: string;
  /** Batching, concurrency and retries. */
  queueConfig?: QueueOptions;
  /** Metric metadata sending. */
  metadataConfig?: MetadataOptions;
  /**
   * Prometheus' `write_relabel_configs`, keys in camelCase (`sourceLabels`, `targetLabel`, ...),
   * applied to each series' labels after `externalLabels` are merged, decided once per series.
   */
  writeRelabelConfigs?: RelabelConfigOptions[];
  /** Send exemplars. Default true (Prometheus: false); what false leaves out is counted. */
  sendExemplars?: boolean;
  /** Send native histograms. Default true (Prometheus: false); what false leaves out is counted. */
  sendNativeHistograms?: boolean;
  /** Older spelling of `authorization: { credentials }` with type Bearer. */
  bearerToken?: string;
  /** Older spelling of `authorization: { credentialsFile }`. */
  bearerTokenFile?: string;
  /** Headers with several values, secret values or values read from files. */
  httpHeaders?: Record<string, { values?: string[]; secrets?: string[]; files?: string[] }>;
  /** Follow 307/308 redirects (301/302/303 are refused: they would turn the POST into a GET). Default true. */
  followRedirects?: boolean;
  /** Negotiate HTTP/2 over TLS. Default true. */
  enableHttp2?: boolean;
  /** Hosts not sent through `proxyUrl` (Go's NO_PROXY syntax). */
  noProxy?: string;
  /** Use HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment. */
  proxyFromEnvironment?: boolean;
  /** Headers sent to the proxy on CONNECT. */
  proxyConnectHeader?: Record<string, string[]>;
  /** Spread connections over every address the host resolves to. */
  roundRobinDns?: boolean;
  /** OAuth 2.0 client credentials. */
  oauth2?: {
    clientId: string;
    clientSecret?: string;
    clientSecretFile?: string;
    scopes?: string[];
    tokenUrl: string;
    endpointParams?: Record<string, string>;
    tlsConfig?: TlsOptions;
    proxyUrl?: string;
  };
  /** AWS Signature Version 4 (Amazon Managed Service for Prometheus). */
  sigv4?: Partial<SigV4Config>;
}

/** One `write_relabel_configs` rule (Prometheus' `relabel_config`, keys in camelCase). */
export interface RelabelConfigOptions {
  sourceLabels?: string[];
  /** Default `;`. */
  separator?: string;
  /** RE2 syntax, fully anchored. Default `(.*)`. */
  regex?: string;
  /** Required for `hashmod`. */
  modulus?: number | bigint;
  targetLabel?: string;
  /** Default `$1`. */
  replacement?: string;
  /** Default `replace`; case-insensitive. */
  action?: RelabelAction;
}

/** The YAML `storage` keys other than `path` and `ttl` (which are top-level options here). */
export interface PersistenceOptions {
  /** Seal a segment once it holds this many signals. Default 50000 (see DEFAULT_STORAGE_CONFIG). */
  maxSignalsToBatch?: number;
  /** Seal a segment once it is this old. Default 5s. */
  batchInterval?: DurationOption;
  /** When a commit is durable: `always` (after fsync), `interval` (default), or `never`. */
  fsync?: 'always' | 'interval' | 'never';
  /** With `fsync: 'interval'`, the longest time between fsyncs. Default 1s. */
  fsyncInterval?: DurationOption;
  /** Disk budget per endpoint; 0 = unlimited. Default 10GiB. */
  maxDiskBytes?: SizeOption;
  /** At `maxDiskBytes`: `drop_oldest` (default) deletes the oldest data, `reject` fails commits with DiskFullError. */
  onDiskFull?: 'drop_oldest' | 'reject';
}

/** Options of `createQueue()`. */
export interface LibraryOptions {
  /** Directory holding one queue directory per endpoint; created if missing. Required. */
  dataDir: string;
  /** Where to deliver; at least one. */
  endpoints: EndpointOptions[];
  /** Samples older than this are dropped instead of sent; 0 = never. Default 2h. */
  ttl?: DurationOption;
  /** On-disk batching, fsync policy and disk budget. */
  persistence?: PersistenceOptions;
  /** Labels added to every series sent (a series' own label of the same name wins). */
  externalLabels?: Record<string, string>;
  /** How long `stop()` lets in-flight requests finish before abandoning them. Default 30s. */
  shutdownTimeout?: DurationOption;
  /** prom-client registry to register the queue's metrics in; default: a new one. */
  registry?: Registry;
  /** Where the queue logs; default: silent. */
  logger?: Logger;
  /**
   * Where each endpoint's delivery (record decode, request encode, compression, HTTP) runs:
   * `worker`, a worker thread per endpoint, which keeps that work off your event loop and uses
   * another core; or `event-loop`. Default: a worker for each of the first (CPUs - 1) endpoints,
   * the event loop for the rest (so none on one CPU). See docs/operations.md, "Threads".
   */
  deliveryThread?: DeliveryThread;
  /**
   * Which metric and label names appends accept (Prometheus' `metric_name_validation_scheme`):
   * `utf8` (default, Prometheus 3's), any non-empty valid UTF-8 such as `http.status_code`; or
   * `legacy`, `[a-zA-Z_][a-zA-Z0-9_]*` for label names and `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric
   * names. External labels are checked by the same rule.
   */
  nameValidationScheme?: NameValidationScheme;
}

/** Values of {@link LibraryOptions.deliveryThread}. */
export type DeliveryThread = 'worker' | 'event-loop';
const DELIVERY_THREADS: readonly DeliveryThread[] = ['worker', 'event-loop'];

const LIBRARY_SPEC: MapSpec = {
  known: [
    'data_dir',
    'endpoints',
    'ttl',
    'persistence',
    'external_labels',
    'shutdown_timeout',
    'registry',
    'logger',
    'delivery_thread',
    'name_validation_scheme',
  ],
};

const PERSISTENCE_SPEC: MapSpec = { known: STORAGE_SPEC.known.filter((k) => k !== 'path' && k !== 'ttl') };

/**
 * Validates library options and resolves them to the same {@link PromspoolConfig} the daemon's
 * YAML produces (receiver and self-monitoring off: those are daemon features). Relative file
 * paths are resolved against the working directory. Throws {@link InvalidConfigError} listing
 * every problem, e.g. `endpoints[0].queueConfig.maxShards: must be >= minShards (5)`.
 * `registry`, `logger` and `deliveryThread` are not part of the result: the caller takes them from `options`.
 */
export function resolveQueueOptions(options: LibraryOptions): PromspoolConfig {
  const result = checkQueueOptions(options);
  if (result.config === undefined) throw new InvalidConfigError('queue options', result.errors);
  return result.config;
}

/** {@link resolveQueueOptions} without throwing. */
export function checkQueueOptions(options: unknown): { config?: PromspoolConfig; errors: ConfigError[] } {
  const r = new FieldReader('camel');
  const ctx = { baseDir: process.cwd() };
  const root = r.map(options, '', LIBRARY_SPEC);
  if (root === undefined) return { errors: r.errors };
  if (options === undefined || options === null) {
    r.error('', 'options are required: { dataDir, endpoints }');
    return { errors: r.errors };
  }
  const dataDir = r.required(root, 'data_dir') ? r.string(root, 'data_dir') : undefined;
  if (dataDir === '') r.error(r.at('', 'data_dir'), 'must not be empty');
  const ttlMs = r.duration(root, 'ttl', DEFAULT_STORAGE_CONFIG.ttlMs);
  const shutdownTimeoutMs = r.duration(root, 'shutdown_timeout', DEFAULT_SERVER_CONFIG.shutdownTimeoutMs, {
    positive: true,
  });
  const persistence = child(r, root, 'persistence', PERSISTENCE_SPEC);
  // An invalid dataDir or ttl was reported above; the defaults only keep readStorage from reporting it twice.
  const storage = readStorage(r, persistence, { path: dataDir || undefined, ttlMs });
  const nameValidationScheme = readNameValidationScheme(r, root, 'name_validation_scheme');
  const externalLabels = readExternalLabels(r, root, 'external_labels', nameValidationScheme);
  checkMethods(r, root, 'registry', ['registerMetric', 'metrics']);
  checkMethods(r, root, 'logger', ['debug', 'info', 'warn', 'error', 'child']);
  r.oneOf(root, 'delivery_thread', DELIVERY_THREADS, 'worker');
  const endpoints = r.required(root, 'endpoints')
    ? readEndpointList(r, root.values.get('endpoints'), r.at('', 'endpoints'), { ...ctx, nameValidationScheme })
    : undefined;
  if (r.errors.length > 0) return { errors: r.errors };
  return {
    config: {
      server: { ...DEFAULT_SERVER_CONFIG, shutdownTimeoutMs: shutdownTimeoutMs! },
      storage: storage!,
      externalLabels: externalLabels!,
      receiver: { ...DEFAULT_RECEIVER_CONFIG, enabled: false },
      selfMonitoring: { ...DEFAULT_SELF_MONITORING_CONFIG, enabled: false },
      remoteWrite: endpoints!,
      nameValidationScheme: nameValidationScheme!,
    },
    errors: [],
  };
}

/** Duck-typed check, so a registry or logger from another copy of the package still works. */
function checkMethods(
  r: FieldReader,
  m: { path: string; values: ReadonlyMap<string, unknown> },
  key: string,
  methods: string[],
): void {
  if (!m.values.has(key)) return;
  const v = m.values.get(key) as Record<string, unknown> | null;
  const missing = methods.filter((name) => typeof v !== 'object' || v === null || typeof v[name] !== 'function');
  if (missing.length > 0)
    r.error(r.at(m.path, key), `must be an object with methods ${methods.join(', ')} (missing ${missing.join(', ')})`);
}
