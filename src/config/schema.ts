/**
 * The configuration schema: which keys exist where, their types, ranges and cross-field rules.
 * Written once against plain values, so the daemon's YAML and the library's JS options are
 * validated by the same code (see {@link FieldReader} for the two key spellings).
 */
import { resolve } from 'node:path';
import {
  DEFAULT_NAME_VALIDATION_SCHEME,
  isValidLabelNameFor,
  isWellFormedString,
  labelNameRule,
  NAME_VALIDATION_SCHEMES,
  type NameValidationScheme,
} from '../serialization/name-validation.js';
import type { ProtobufMessage } from '../wire/types.js';
import {
  DEFAULT_METADATA_CONFIG,
  DEFAULT_PROTOBUF_MESSAGE,
  DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS,
  DEFAULT_QUEUE_CONFIG,
  DEFAULT_RECEIVER_CONFIG,
  DEFAULT_REMOTE_TIMEOUT_MS,
  DEFAULT_SELF_MONITORING_CONFIG,
  DEFAULT_SERVER_CONFIG,
  DEFAULT_STORAGE_CONFIG,
  VIRTUAL_SHARDS,
} from './defaults.js';
import {
  FILE_SD_SPEC,
  HTTP_SD_SPEC,
  KUBERNETES_ATTACH_METADATA_SPEC,
  KUBERNETES_NAMESPACES_SPEC,
  KUBERNETES_SD_SPEC,
  KUBERNETES_SELECTOR_SPEC,
  STATIC_CONFIG_SPEC,
} from './discovery-config.js';
import { formatDuration } from './duration.js';
import { deriveEndpointName, ENDPOINT_NAME_RE, ENDPOINT_NAME_RULE } from './endpoint-name.js';
import { readEndpointSelection } from './endpoint-selection.js';
import { type CheckedMap, type FieldReader, indexPath, joinPath, type MapSpec } from './field-reader.js';
import {
  AUTHORIZATION_SPEC,
  BASIC_AUTH_SPEC,
  checkKeyPair,
  HTTP_HEADER_SPEC,
  OAUTH2_SPEC,
  readAuthorization,
  readBasicAuth,
  readHttpClientConfig,
  readHttpUrl,
  readPemFile,
  readTlsVersions,
  TLS_SPEC,
} from './http-client-config.js';
import { headerProblem } from './http-headers.js';
import { parseListenAddress } from './listen-address.js';
import {
  DEFAULT_GLOBAL_SCRAPE,
  GLOBAL_SCRAPE_KEYS,
  readGlobalScrapeDefaults,
  SCRAPE_CONFIG_SPEC,
} from './scrape-config.js';
import { readScrapeConfigSection } from './scrape-config-files.js';
import type {
  BasicAuth,
  ClientAuthType,
  EndpointConfig,
  MetadataConfig,
  PromspoolConfig,
  QueueConfig,
  ReceiverConfig,
  ScrapeConfig,
  SelfMonitoringConfig,
  ServerConfig,
  ServerTlsConfig,
  SigV4Config,
  StorageConfig,
} from './types.js';

export interface SchemaContext {
  /** Directory that relative `*_file` paths are resolved against (Prometheus: the config file's directory). */
  baseDir: string;
  /** `global.metric_name_validation_scheme` (default utf8): what relabel rules may name. */
  nameValidationScheme?: NameValidationScheme;
}

export const PROTOBUF_MESSAGES: readonly ProtobufMessage[] = [
  'prometheus.WriteRequest',
  'io.prometheus.write.v2.Request',
];
export const FSYNC_POLICIES = ['always', 'interval', 'never'] as const;
export const ON_DISK_FULL = ['drop_oldest', 'reject'] as const;

export const ROOT_SPEC: MapSpec = {
  known: [
    'server',
    'storage',
    'global',
    'receiver',
    'self_monitoring',
    'remote_write',
    'scrape_configs',
    'scrape_config_files',
  ],
  // The rest of a full prometheus.yml: a pasted one loads, and says what is not used.
  ignored: ['rule_files', 'alerting', 'remote_read', 'tracing', 'runtime', 'otlp'],
  ignoredReason:
    'promspool is a remote-write agent: it does not evaluate rules, send alerts, serve remote reads or trace',
};
export const SERVER_SPEC: MapSpec = { known: ['listen_address', 'shutdown_timeout', 'tls_config'] };
export const CLIENT_AUTH_TYPES: readonly ClientAuthType[] = ['NoClientCert', 'RequireAndVerifyClientCert'];
/** Prometheus' web `tls_server_config`, the part promspool implements. */
export const SERVER_TLS_SPEC: MapSpec = {
  known: ['cert_file', 'key_file', 'client_ca_file', 'client_auth_type', 'min_version', 'max_version'],
  unsupported: [
    'cert',
    'key',
    'cipher_suites',
    'curve_preferences',
    'prefer_server_cipher_suites',
    'client_allowed_sans',
  ],
};
export const STORAGE_SPEC: MapSpec = {
  known: [
    'path',
    'ttl',
    'max_signals_to_batch',
    'batch_interval',
    'fsync',
    'fsync_interval',
    'max_disk_bytes',
    'on_disk_full',
    'max_memory_bytes',
  ],
};
export const GLOBAL_SPEC: MapSpec = {
  known: ['external_labels', 'metric_name_validation_scheme', ...GLOBAL_SCRAPE_KEYS],
  // Prometheus' other `global` keys (config.go GlobalConfig): a pasted prometheus.yml loads.
  ignored: [
    'scrape_failure_log_file',
    'evaluation_interval',
    'rule_query_offset',
    'query_log_file',
    'keep_dropped_targets',
    'metric_name_escaping_scheme',
    'extra_scrape_metrics',
  ],
  ignoredReason:
    'promspool does not evaluate rules, log queries or scrape failures to files, keep dropped targets, ask targets for escaped names or add the extra scrape metrics',
};
export const RECEIVER_SPEC: MapSpec = { known: ['enabled', 'path', 'max_body_bytes', 'authorization', 'basic_auth'] };
export const SELF_MONITORING_SPEC: MapSpec = { known: ['enabled', 'interval'] };

/** `remote_write` keys of the HTTP client and its authentication, read by `readHttpClientConfig` and {@link readEndpointHttp}. */
const ENDPOINT_HTTP_KEYS = [
  'bearer_token',
  'bearer_token_file',
  'http_headers',
  'follow_redirects',
  'enable_http2',
  'no_proxy',
  'proxy_from_environment',
  'proxy_connect_header',
  'round_robin_dns',
  'oauth2',
  'sigv4',
  // Known so that they get their own message (readEndpointHttp), not "not supported yet".
  'azuread',
  'google_iam',
] as const;

/** Prometheus' `<remote_write>` keys (config.go RemoteWriteConfig + the inlined HTTPClientConfig). */
export const ENDPOINT_SPEC: MapSpec = {
  known: [
    'name',
    'url',
    'protobuf_message',
    'protobuf_message_probe_interval',
    'remote_timeout',
    'headers',
    'basic_auth',
    'authorization',
    'tls_config',
    'proxy_url',
    'queue_config',
    'metadata_config',
    // The endpoint's HTTP client (Prometheus' inlined HTTPClientConfig, sigv4, azuread, google_iam).
    ...ENDPOINT_HTTP_KEYS,
    // What the endpoint sends of what it was given: read by readEndpointSelection.
    'write_relabel_configs',
    'send_exemplars',
    'send_native_histograms',
  ],
};
export const QUEUE_SPEC: MapSpec = {
  known: [
    'capacity',
    'max_shards',
    'min_shards',
    'max_samples_per_send',
    'batch_send_deadline',
    'min_backoff',
    'max_backoff',
    'retry_on_http_429',
    'sample_age_limit',
    'max_retry_after',
  ],
};
export const METADATA_SPEC: MapSpec = { known: ['send', 'send_interval', 'max_samples_per_send'] };
/** `sigv4` (prometheus/sigv4 `SigV4Config`). */
export const SIGV4_SPEC: MapSpec = {
  known: [
    'region',
    'access_key',
    'secret_key',
    'profile',
    'role_arn',
    'external_id',
    'use_fips_sts_endpoint',
    'service_name',
  ],
};
/** Every mapping of the YAML schema, by the path of its first occurrence (for docs and tests). */
export const YAML_SPECS: Readonly<Record<string, MapSpec>> = {
  '': ROOT_SPEC,
  server: SERVER_SPEC,
  'server.tls_config': SERVER_TLS_SPEC,
  storage: STORAGE_SPEC,
  global: GLOBAL_SPEC,
  receiver: RECEIVER_SPEC,
  'receiver.authorization': AUTHORIZATION_SPEC,
  'receiver.basic_auth': BASIC_AUTH_SPEC,
  self_monitoring: SELF_MONITORING_SPEC,
  'remote_write[]': ENDPOINT_SPEC,
  'remote_write[].basic_auth': BASIC_AUTH_SPEC,
  'remote_write[].authorization': AUTHORIZATION_SPEC,
  'remote_write[].tls_config': TLS_SPEC,
  'remote_write[].http_headers.<name>': HTTP_HEADER_SPEC,
  'remote_write[].oauth2': OAUTH2_SPEC,
  'remote_write[].oauth2.tls_config': TLS_SPEC,
  'remote_write[].sigv4': SIGV4_SPEC,
  'remote_write[].queue_config': QUEUE_SPEC,
  'remote_write[].metadata_config': METADATA_SPEC,
  'scrape_configs[]': SCRAPE_CONFIG_SPEC,
  'scrape_configs[].static_configs[]': STATIC_CONFIG_SPEC,
  'scrape_configs[].file_sd_configs[]': FILE_SD_SPEC,
  'scrape_configs[].http_sd_configs[]': HTTP_SD_SPEC,
  'scrape_configs[].kubernetes_sd_configs[]': KUBERNETES_SD_SPEC,
  'scrape_configs[].kubernetes_sd_configs[].namespaces': KUBERNETES_NAMESPACES_SPEC,
  'scrape_configs[].kubernetes_sd_configs[].selectors[]': KUBERNETES_SELECTOR_SPEC,
  'scrape_configs[].kubernetes_sd_configs[].attach_metadata': KUBERNETES_ATTACH_METADATA_SPEC,
};

/** Reads and validates a whole YAML-shaped configuration. Errors are left in `r.errors`. */
export function readConfig(r: FieldReader, value: unknown, ctx: SchemaContext): PromspoolConfig | undefined {
  const before = r.errors.length;
  const root = r.map(value, '', ROOT_SPEC);
  if (root === undefined) return undefined;
  const server = readServer(r, child(r, root, 'server', SERVER_SPEC), ctx);
  const storage = readStorage(r, child(r, root, 'storage', STORAGE_SPEC));
  const global = child(r, root, 'global', GLOBAL_SPEC);
  const nameValidationScheme = global && readNameValidationScheme(r, global, 'metric_name_validation_scheme');
  const externalLabels = global && readExternalLabels(r, global, 'external_labels', nameValidationScheme);
  const receiver = readReceiver(r, child(r, root, 'receiver', RECEIVER_SPEC), ctx);
  const selfMonitoring = readSelfMonitoring(r, child(r, root, 'self_monitoring', SELF_MONITORING_SPEC));
  let remoteWrite: EndpointConfig[] | undefined;
  if (!r.has(root, 'remote_write')) {
    r.error(r.at('', 'remote_write'), 'is required: list at least one endpoint to send to');
  } else {
    // Relabel targets are names too: the endpoints are read under the scheme `global` set.
    const endpointCtx = { ...ctx, nameValidationScheme: nameValidationScheme ?? ctx.nameValidationScheme };
    remoteWrite = readEndpointList(r, root.values.get('remote_write'), r.at('', 'remote_write'), endpointCtx);
  }
  let scrapeConfigs: ScrapeConfig[] | undefined;
  if (r.has(root, 'scrape_configs') || r.has(root, 'scrape_config_files')) {
    const scrapeGlobal = global ? readGlobalScrapeDefaults(r, global, nameValidationScheme) : DEFAULT_GLOBAL_SCRAPE;
    if (scrapeGlobal) scrapeConfigs = readScrapeConfigSection(r, root, ctx, scrapeGlobal);
  } else if (global) {
    // Checked even without jobs, so a wrong global is reported before the first job is added.
    readGlobalScrapeDefaults(r, global, nameValidationScheme);
  }
  if (r.errors.length > before) return undefined;
  const config: PromspoolConfig = {
    server: server!,
    storage: storage!,
    externalLabels: externalLabels!,
    receiver: receiver!,
    selfMonitoring: selfMonitoring!,
    remoteWrite: remoteWrite!,
    nameValidationScheme: nameValidationScheme!,
  };
  if (scrapeConfigs !== undefined && scrapeConfigs.length > 0) config.scrapeConfigs = scrapeConfigs;
  return config;
}

/** A nested mapping of `parent`, checked against `spec`; an absent one reads as empty (all defaults). */
export function child(r: FieldReader, parent: CheckedMap, key: string, spec: MapSpec): CheckedMap | undefined {
  return r.map(parent.values.get(key), r.at(parent.path, key), spec);
}

function readServer(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): ServerConfig | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const d = DEFAULT_SERVER_CONFIG;
  let listenAddress = r.string(m, 'listen_address', d.listenAddress);
  if (listenAddress !== undefined) {
    const parsed = parseListenAddress(listenAddress);
    if ('error' in parsed) {
      r.error(r.at(m.path, 'listen_address'), parsed.error);
      listenAddress = undefined;
    }
  }
  const shutdownTimeoutMs = r.duration(m, 'shutdown_timeout', d.shutdownTimeoutMs, { positive: true });
  const tlsConfig = r.has(m, 'tls_config')
    ? readServerTls(r, child(r, m, 'tls_config', SERVER_TLS_SPEC), ctx)
    : undefined;
  if (r.errors.length > before) return undefined;
  const out: ServerConfig = { listenAddress: listenAddress!, shutdownTimeoutMs: shutdownTimeoutMs! };
  if (tlsConfig) out.tlsConfig = tlsConfig;
  return out;
}

/**
 * `server.tls_config`: certificate and key files (required), optional client certificate
 * verification. Files are read, parsed and the key matched to the certificate now, so a bad
 * file fails the load (or the reload, keeping the running config) rather than every handshake.
 */
function readServerTls(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): ServerTlsConfig | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const cert = r.required(m, 'cert_file') ? readPemFile(r, m, 'cert_file', ctx, 'CERTIFICATE') : undefined;
  const key = r.required(m, 'key_file') ? readPemFile(r, m, 'key_file', ctx, 'PRIVATE KEY') : undefined;
  if (cert !== undefined && key !== undefined) checkKeyPair(r, m, 'key_file', cert, key);
  const hasClientCa = r.has(m, 'client_ca_file');
  const clientCa = hasClientCa ? readPemFile(r, m, 'client_ca_file', ctx, 'CERTIFICATE') : undefined;
  const clientAuthType = r.oneOf(
    m,
    'client_auth_type',
    CLIENT_AUTH_TYPES,
    hasClientCa ? 'RequireAndVerifyClientCert' : 'NoClientCert',
  );
  if (clientAuthType === 'RequireAndVerifyClientCert' && !hasClientCa) {
    r.error(
      r.at(m.path, 'client_ca_file'),
      `is required with ${r.name('client_auth_type')} RequireAndVerifyClientCert (the CA that issues the client certificates)`,
    );
  }
  if (clientAuthType === 'NoClientCert' && hasClientCa) {
    // Accepting it would look like client certificates are checked while they are not.
    r.error(
      r.at(m.path, 'client_auth_type'),
      `is NoClientCert, so ${r.name('client_ca_file')} would be ignored: use RequireAndVerifyClientCert or remove ${r.name('client_ca_file')}`,
    );
  }
  const { minVersion, maxVersion } = readTlsVersions(r, m);
  if (r.errors.length > before) return undefined;
  const out: ServerTlsConfig = {
    certFile: resolve(ctx.baseDir, String(m.values.get('cert_file'))),
    keyFile: resolve(ctx.baseDir, String(m.values.get('key_file'))),
    cert: cert!,
    key: key!,
    clientAuthType: clientAuthType!,
  };
  if (clientCa !== undefined) {
    out.clientCaFile = resolve(ctx.baseDir, String(m.values.get('client_ca_file')));
    out.clientCa = clientCa;
  }
  if (minVersion) out.minVersion = minVersion;
  if (maxVersion) out.maxVersion = maxVersion;
  return out;
}

/**
 * Storage keys. `path` and `ttl` are optional in `m`'s spec so the library, which takes them as
 * top-level `dataDir` and `ttl`, can read the rest from its `persistence` block.
 */
export function readStorage(
  r: FieldReader,
  m: CheckedMap | undefined,
  overrides: { path?: string; ttlMs?: number } = {},
): StorageConfig | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const d = DEFAULT_STORAGE_CONFIG;
  const path = overrides.path ?? r.string(m, 'path', d.path);
  if (path === '') r.error(r.at(m.path, 'path'), 'must not be empty');
  const ttlMs = overrides.ttlMs ?? r.duration(m, 'ttl', d.ttlMs);
  const maxSignalsToBatch = r.integer(m, 'max_signals_to_batch', d.maxSignalsToBatch, { min: 1 });
  const batchIntervalMs = r.duration(m, 'batch_interval', d.batchIntervalMs, { positive: true });
  const fsync = r.oneOf(m, 'fsync', FSYNC_POLICIES, d.fsync);
  const fsyncIntervalMs = r.duration(m, 'fsync_interval', d.fsyncIntervalMs, { positive: true });
  const maxDiskBytes = r.size(m, 'max_disk_bytes', d.maxDiskBytes);
  const onDiskFull = r.oneOf(m, 'on_disk_full', ON_DISK_FULL, d.onDiskFull);
  // Absent = 0 = no limit (caches keep their own bounds, V8 collects on its own schedule).
  const maxMemoryBytes = r.size(m, 'max_memory_bytes', 0);
  if (r.errors.length > before) return undefined;
  return {
    path: path!,
    ttlMs: ttlMs!,
    maxSignalsToBatch: maxSignalsToBatch!,
    batchIntervalMs: batchIntervalMs!,
    fsync: fsync!,
    fsyncIntervalMs: fsyncIntervalMs!,
    maxDiskBytes: maxDiskBytes!,
    onDiskFull: onDiskFull!,
    ...(maxMemoryBytes ? { maxMemoryBytes } : {}),
  };
}

/**
 * `metric_name_validation_scheme`: `utf8` (Prometheus 3's default) or `legacy`; anything else is
 * an error (Prometheus silently falls back to `utf8`, which would hide a typo in a pasted config).
 */
export function readNameValidationScheme(r: FieldReader, m: CheckedMap, key: string): NameValidationScheme | undefined {
  return r.oneOf(m, key, NAME_VALIDATION_SCHEMES, DEFAULT_NAME_VALIDATION_SCHEME);
}

/**
 * External labels: names valid under `scheme` (default `utf8`: any non-empty UTF-8; `legacy`:
 * `[a-zA-Z_][a-zA-Z0-9_]*`), not `__`-prefixed (reserved for labels promspool and Prometheus
 * mean internally), values non-empty (remote write forbids empty label values). With an invalid
 * `scheme` (undefined: already reported) names are checked under the default.
 */
export function readExternalLabels(
  r: FieldReader,
  m: CheckedMap,
  key: string,
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
): Record<string, string> | undefined {
  return readLabelSet(r, m, key, scheme, { external: true });
}

/**
 * A mapping of label names to values at `key`: names valid under `scheme`, values well-formed
 * UTF-8. `external` (external labels) also refuses `__`-prefixed names and empty values; target
 * labels (`static_configs` `labels`) may set `__address__`, `__metrics_path__` and the like, and
 * an empty value there means "no such label".
 */
export function readLabelSet(
  r: FieldReader,
  m: CheckedMap,
  key: string,
  scheme: NameValidationScheme,
  opts: { external: boolean },
): Record<string, string> | undefined {
  const labels = r.stringMap(m, key);
  if (labels === undefined) return undefined;
  const path = r.at(m.path, key);
  const out: Record<string, string> = {};
  let ok = true;
  for (const [name, value] of labels) {
    const at = joinPath(path, name);
    if (!isValidLabelNameFor(name, scheme)) {
      r.error(at, `invalid label name, ${labelNameRule(scheme)}`);
      ok = false;
    } else if (opts.external && name.startsWith('__')) {
      r.error(at, 'label names starting with "__" are reserved');
      ok = false;
    } else if (opts.external && value === '') {
      r.error(at, 'label value must not be empty');
      ok = false;
    } else if (!isWellFormedString(value)) {
      r.error(at, 'label value must be valid UTF-8 (it holds a lone surrogate)');
      ok = false;
    }
    out[name] = value;
  }
  return ok ? out : undefined;
}

function readReceiver(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): ReceiverConfig | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const d = DEFAULT_RECEIVER_CONFIG;
  const enabled = r.boolean(m, 'enabled', d.enabled);
  const path = r.string(m, 'path', d.path);
  if (path !== undefined && !/^\/\S*$/.test(path)) {
    r.error(r.at(m.path, 'path'), `must be a URL path starting with "/", got ${JSON.stringify(path)}`);
  }
  const maxBodyBytes = r.size(m, 'max_body_bytes', d.maxBodyBytes, { positive: true });
  // Both may be set: the receiver then accepts either credential.
  const authorization = r.has(m, 'authorization')
    ? readAuthorization(r, child(r, m, 'authorization', AUTHORIZATION_SPEC), ctx)
    : undefined;
  const basicAuth = r.has(m, 'basic_auth')
    ? readBasicAuth(r, child(r, m, 'basic_auth', BASIC_AUTH_SPEC), ctx, true)
    : undefined;
  if (r.errors.length > before) return undefined;
  const out: ReceiverConfig = { enabled: enabled!, path: path!, maxBodyBytes: maxBodyBytes! };
  if (authorization) out.authorization = authorization;
  if (basicAuth) out.basicAuth = basicAuth;
  return out;
}

function readSelfMonitoring(r: FieldReader, m: CheckedMap | undefined): SelfMonitoringConfig | undefined {
  if (m === undefined) return undefined;
  const d = DEFAULT_SELF_MONITORING_CONFIG;
  const enabled = r.boolean(m, 'enabled', d.enabled);
  const intervalMs = r.duration(m, 'interval', d.intervalMs, { positive: true });
  if (enabled === undefined || intervalMs === undefined) return undefined;
  return { enabled, intervalMs };
}

/** A non-empty list of endpoints with unique names (ignoring case). */
export function readEndpointList(
  r: FieldReader,
  value: unknown,
  path: string,
  ctx: SchemaContext,
): EndpointConfig[] | undefined {
  const items = r.list(value, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    r.error(path, 'must list at least one endpoint');
    return undefined;
  }
  const before = r.errors.length;
  const endpoints: EndpointConfig[] = [];
  const seen = new Map<string, string>();
  items.forEach((item, i) => {
    const itemPath = indexPath(path, i);
    // Names are checked for duplicates even when the rest of the endpoint is invalid, so one run reports both.
    const endpoint = readEndpoint(r, item, itemPath, ctx, (name, derived) => {
      const folded = name.toLowerCase();
      const first = seen.get(folded);
      if (first === undefined) {
        seen.set(folded, itemPath);
        return;
      }
      r.error(
        r.at(itemPath, 'name'),
        derived
          ? `the name derived from ${r.name('url')}, "${name}", is already used by ${first}; give one of them a distinct ${r.name('name')}`
          : `duplicate endpoint name "${name}" (also used by ${first}); names must be unique ignoring case, since each names a directory`,
      );
    });
    if (endpoint !== undefined) endpoints.push(endpoint);
  });
  return r.errors.length > before ? undefined : endpoints;
}

/** `onName` sees the endpoint's name (given, or derived from a valid url) as soon as it is known. */
export function readEndpoint(
  r: FieldReader,
  value: unknown,
  path: string,
  ctx: SchemaContext,
  onName: (name: string, derived: boolean) => void = () => {},
): EndpointConfig | undefined {
  const m = r.map(value, path, ENDPOINT_SPEC);
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const url = r.required(m, 'url') ? readHttpUrl(r, m, 'url') : undefined;
  let name = r.string(m, 'name');
  if (name !== undefined && !ENDPOINT_NAME_RE.test(name)) {
    r.error(r.at(path, 'name'), `${ENDPOINT_NAME_RULE}, got ${JSON.stringify(name)}`);
    name = undefined;
  }
  // Derived from the URL as written, so names (and queue directories) stay what they were.
  if (!r.has(m, 'name') && url !== undefined) name = deriveEndpointName(url);
  if (name !== undefined) onName(name, !r.has(m, 'name'));
  const split = url === undefined ? undefined : splitUserinfo(url);
  const protobufMessage = r.oneOf(m, 'protobuf_message', PROTOBUF_MESSAGES, DEFAULT_PROTOBUF_MESSAGE);
  // 2.0 falls back to 1.0 when the receiver does not speak it (src/network/protocol-negotiation.ts).
  const probeIntervalMs = r.duration(m, 'protobuf_message_probe_interval', DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS, {
    positive: true,
  });
  const remoteTimeoutMs = r.duration(m, 'remote_timeout', DEFAULT_REMOTE_TIMEOUT_MS, { positive: true });
  const headers = readHeaders(r, m);
  // The HTTP client keys shared with scrape configs, then remote write's own (at most one authentication setting of them all).
  const client = readHttpClientConfig(r, m, ctx, AUTH_KEYS);
  const http = readEndpointHttp(r, m);
  const queue = readQueue(r, child(r, m, 'queue_config', QUEUE_SPEC));
  const metadata = readMetadata(r, child(r, m, 'metadata_config', METADATA_SPEC));
  const selection = readEndpointSelection(r, m, ctx.nameValidationScheme ?? DEFAULT_NAME_VALIDATION_SCHEME);
  if (r.errors.length > before) return undefined;
  const out: EndpointConfig = {
    name: name!,
    url: split!.url,
    protobufMessage: protobufMessage!,
    protobufMessageProbeIntervalMs: probeIntervalMs!,
    remoteTimeoutMs: remoteTimeoutMs!,
    headers: headers!,
    queue: queue!,
    metadata: metadata!,
    ...selection,
  };
  Object.assign(out, client, http);
  // As Go's client (so Prometheus) does: URL credentials are basic auth unless the config sets auth.
  if (!AUTH_KEYS.some((k) => r.has(m, k)) && split!.credentials) out.basicAuth = split!.credentials;
  return out;
}

/**
 * An endpoint URL without its `user:password@`, and those credentials (decoded). Taken out at
 * load time so the password never reaches anything that shows the URL: metric labels, the
 * status page, logs. The rest of the URL is kept as written.
 */
function splitUserinfo(text: string): { url: string; credentials?: BasicAuth } {
  const parsed = new URL(text);
  if (parsed.username === '' && parsed.password === '') return { url: text };
  const start = text.indexOf('//') + 2;
  const end = text.slice(start).search(/[/?#]|$/) + start;
  const at = text.lastIndexOf('@', end);
  const credentials = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  return { url: text.slice(0, start) + text.slice(at + 1), credentials };
}

function readHeaders(r: FieldReader, m: CheckedMap): Record<string, string> | undefined {
  const headers = r.stringMap(m, 'headers');
  if (headers === undefined) return undefined;
  const path = r.at(m.path, 'headers');
  const authKeys = `${r.name('basic_auth')} or ${r.name('authorization')}`;
  const out: Record<string, string> = {};
  const seen = new Map<string, string>();
  let ok = true;
  for (const [name, value] of headers) {
    const problem = headerProblem(name, value, authKeys);
    const first = seen.get(name.toLowerCase());
    if (problem !== undefined) {
      r.error(joinPath(path, name), problem);
      ok = false;
    } else if (first !== undefined) {
      r.error(joinPath(path, name), `duplicate header (header names ignore case; also set as ${first})`);
      ok = false;
    }
    seen.set(name.toLowerCase(), name);
    out[name] = value;
  }
  return ok ? out : undefined;
}

export function readQueue(r: FieldReader, m: CheckedMap | undefined): QueueConfig | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const d = DEFAULT_QUEUE_CONFIG;
  const maxSamplesPerSend = r.integer(m, 'max_samples_per_send', d.maxSamplesPerSend, { min: 1 });
  const capacity = r.integer(m, 'capacity', d.capacity, { min: 1 });
  const batchSendDeadlineMs = r.duration(m, 'batch_send_deadline', d.batchSendDeadlineMs, { positive: true });
  const minShards = r.integer(m, 'min_shards', d.minShards, { min: 1, max: VIRTUAL_SHARDS });
  // No own lower bound: "must be >= min_shards" says it, and min_shards is itself >= 1.
  const maxShards = r.integer(m, 'max_shards', d.maxShards, { max: VIRTUAL_SHARDS });
  if (maxShards !== undefined && maxShards < (minShards ?? 1)) {
    const what = minShards === undefined ? '1' : `${r.name('min_shards')} (${minShards})`;
    r.error(r.at(m.path, 'max_shards'), `must be >= ${what}`);
  }
  const minBackoffMs = r.duration(m, 'min_backoff', d.minBackoffMs, { positive: true });
  const maxBackoffMs = r.duration(m, 'max_backoff', d.maxBackoffMs, { positive: true });
  if (minBackoffMs !== undefined && maxBackoffMs !== undefined && maxBackoffMs < minBackoffMs) {
    r.error(
      r.at(m.path, 'min_backoff'),
      `must be <= ${r.name('max_backoff')} (${formatDuration(maxBackoffMs)}), got ${formatDuration(minBackoffMs)}`,
    );
  }
  const retryOnHttp429 = r.boolean(m, 'retry_on_http_429', d.retryOnHttp429);
  const sampleAgeLimitMs = r.duration(m, 'sample_age_limit', d.sampleAgeLimitMs);
  const maxRetryAfterMs = r.duration(m, 'max_retry_after', d.maxRetryAfterMs, { positive: true });
  if (r.errors.length > before) return undefined;
  return {
    maxSamplesPerSend: maxSamplesPerSend!,
    capacity: capacity!,
    batchSendDeadlineMs: batchSendDeadlineMs!,
    minShards: minShards!,
    maxShards: maxShards!,
    minBackoffMs: minBackoffMs!,
    maxBackoffMs: maxBackoffMs!,
    retryOnHttp429: retryOnHttp429!,
    sampleAgeLimitMs: sampleAgeLimitMs!,
    maxRetryAfterMs: maxRetryAfterMs!,
  };
}

function readMetadata(r: FieldReader, m: CheckedMap | undefined): MetadataConfig | undefined {
  if (m === undefined) return undefined;
  const d = DEFAULT_METADATA_CONFIG;
  const send = r.boolean(m, 'send', d.send);
  const sendIntervalMs = r.duration(m, 'send_interval', d.sendIntervalMs, { positive: true });
  const maxSamplesPerSend = r.integer(m, 'max_samples_per_send', d.maxSamplesPerSend, { min: 1 });
  if (send === undefined || sendIntervalMs === undefined || maxSamplesPerSend === undefined) return undefined;
  return { send, sendIntervalMs, maxSamplesPerSend };
}

// --- The endpoint's HTTP client: authentication, headers, redirects, HTTP/2, proxies, DNS ---

/** Default `sigv4.service_name`: Amazon Managed Service for Prometheus. */
export const DEFAULT_SIGV4_SERVICE_NAME = 'aps';

/** Prometheus' remote-write authentication settings, at most one of which may be set. */
const AUTH_KEYS = [
  'basic_auth',
  'authorization',
  'bearer_token',
  'bearer_token_file',
  'oauth2',
  'sigv4',
  'azuread',
  'google_iam',
] as const;

/** Why `azuread` and `google_iam` are refused (checked by name in readEndpointHttp). */
const CLOUD_IDENTITY_REFUSAL: Readonly<Record<string, string>> = {
  azuread:
    'is not supported: it gets tokens from Azure AD (managed identity, workload identity or the Azure SDK), which promspool can neither reach nor test here; use oauth2 with the Azure AD token URL and a client secret instead',
  google_iam:
    'is not supported: it gets tokens from Google Cloud credentials (the metadata server or a service account through the Google SDK), which promspool can neither reach nor test here; use oauth2 or authorization with a token you refresh instead',
};

/** Remote write's own HTTP-client parts, merged into its {@link EndpointConfig}. */
export type EndpointHttpParts = Pick<EndpointConfig, 'roundRobinDns' | 'sigv4'>;

/**
 * The endpoint's HTTP-client keys that scrape configs do not have (the shared ones are read by
 * `readHttpClientConfig`): `round_robin_dns` and `sigv4`; `azuread` and `google_iam` are refused.
 * Keys left at their default are left out of the result.
 */
export function readEndpointHttp(r: FieldReader, m: CheckedMap): EndpointHttpParts | undefined {
  const before = r.errors.length;
  const out: EndpointHttpParts = {};
  for (const key of ['azuread', 'google_iam']) {
    if (r.has(m, key)) r.error(r.at(m.path, key), CLOUD_IDENTITY_REFUSAL[key]);
  }
  if (r.has(m, 'round_robin_dns')) out.roundRobinDns = r.boolean(m, 'round_robin_dns', false);
  if (r.has(m, 'sigv4')) out.sigv4 = readSigV4(r, child(r, m, 'sigv4', SIGV4_SPEC));
  return r.errors.length > before ? undefined : out;
}

/**
 * `sigv4`, prometheus/sigv4's rules: `access_key` and `secret_key` both or neither (neither: the
 * default AWS credential chain), `external_id` only with `role_arn`.
 */
function readSigV4(r: FieldReader, m: CheckedMap | undefined): SigV4Config | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const strings: Partial<Record<'region' | 'accessKey' | 'profile' | 'roleArn' | 'externalId', string>> = {};
  for (const [key, field] of [
    ['region', 'region'],
    ['access_key', 'accessKey'],
    ['profile', 'profile'],
    ['role_arn', 'roleArn'],
    ['external_id', 'externalId'],
  ] as const) {
    const v = r.string(m, key);
    if (v !== undefined && v !== '') strings[field] = v;
  }
  const secretKey = r.secret(m, 'secret_key');
  const serviceName = r.string(m, 'service_name', DEFAULT_SIGV4_SERVICE_NAME);
  const useFipsStsEndpoint = r.boolean(m, 'use_fips_sts_endpoint', false);
  const hasSecret = secretKey !== undefined && secretKey !== '';
  if ((strings.accessKey !== undefined) !== hasSecret) {
    r.error(
      m.path,
      strings.accessKey === undefined
        ? `${r.name('secret_key')} needs ${r.name('access_key')}: give both, or neither to use the default AWS credential chain`
        : `${r.name('access_key')} needs ${r.name('secret_key')}: give both, or neither to use the default AWS credential chain`,
    );
  }
  if (strings.externalId !== undefined && strings.roleArn === undefined) {
    r.error(r.at(m.path, 'external_id'), `can only be used with ${r.name('role_arn')}`);
  }
  if (r.errors.length > before) return undefined;
  const out: SigV4Config = {
    ...strings,
    useFipsStsEndpoint: useFipsStsEndpoint!,
    serviceName: serviceName === '' ? DEFAULT_SIGV4_SERVICE_NAME : serviceName!,
  };
  if (hasSecret) out.secretKey = secretKey;
  return out;
}
