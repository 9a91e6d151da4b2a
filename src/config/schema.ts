/**
 * The configuration schema: which keys exist where, their types, ranges and cross-field rules.
 * Written once against plain values, so the daemon's YAML and the library's JS options are
 * validated by the same code (see {@link FieldReader} for the two key spellings).
 */
import { readFileSync } from 'node:fs';
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
  DEFAULT_AUTHORIZATION_TYPE,
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
import { formatDuration } from './duration.js';
import { deriveEndpointName, ENDPOINT_NAME_RE, ENDPOINT_NAME_RULE } from './endpoint-name.js';
import { readEndpointSelection } from './endpoint-selection.js';
import {
  type CheckedMap,
  describe,
  type FieldReader,
  indexPath,
  isPlainObject,
  joinPath,
  type MapSpec,
} from './field-reader.js';
import { describeFileError } from './file-error.js';
import { headerProblem, RESERVED_HEADERS } from './http-headers.js';
import { parseListenAddress } from './listen-address.js';
import { certificatesProblem, keyPairProblem } from './tls-material.js';
import type {
  Authorization,
  BasicAuth,
  ClientAuthType,
  EndpointConfig,
  HttpHeaderValues,
  MetadataConfig,
  OAuth2Config,
  PromspoolConfig,
  ProxySettings,
  QueueConfig,
  ReceiverConfig,
  SelfMonitoringConfig,
  ServerConfig,
  ServerTlsConfig,
  SigV4Config,
  StorageConfig,
  TlsConfig,
  TlsVersion,
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

/** Prometheus' `min_version`/`max_version` names -> Node's `tls` names. */
const TLS_VERSIONS: Readonly<Record<string, TlsVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const TLS_VERSION_ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export const ROOT_SPEC: MapSpec = {
  known: ['server', 'storage', 'global', 'receiver', 'self_monitoring', 'remote_write'],
  // Scraping is planned (DESIGN.md section 1); say so rather than "unknown key".
  unsupported: ['scrape_configs', 'scrape_config_files'],
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
  ],
};
export const GLOBAL_SPEC: MapSpec = {
  known: ['external_labels', 'metric_name_validation_scheme'],
  // Prometheus' other `global` keys (config.go GlobalConfig): a pasted prometheus.yml loads.
  ignored: [
    'scrape_interval',
    'scrape_timeout',
    'scrape_protocols',
    'scrape_failure_log_file',
    'evaluation_interval',
    'rule_query_offset',
    'query_log_file',
    'body_size_limit',
    'sample_limit',
    'target_limit',
    'label_limit',
    'label_name_length_limit',
    'label_value_length_limit',
    'keep_dropped_targets',
    'metric_name_escaping_scheme',
    'always_scrape_classic_histograms',
    'convert_classic_histograms_to_nhcb',
    'scrape_native_histograms',
    'extra_scrape_metrics',
  ],
  ignoredReason: 'promspool does not scrape or evaluate rules yet',
};
export const RECEIVER_SPEC: MapSpec = { known: ['enabled', 'path', 'max_body_bytes', 'authorization', 'basic_auth'] };
export const SELF_MONITORING_SPEC: MapSpec = { known: ['enabled', 'interval'] };

/** `remote_write` keys of the HTTP client and its authentication, read by {@link readEndpointHttp}. */
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
export const BASIC_AUTH_SPEC: MapSpec = {
  known: ['username', 'username_file', 'password', 'password_file'],
  unsupported: ['username_ref', 'password_ref'],
};
export const AUTHORIZATION_SPEC: MapSpec = {
  known: ['type', 'credentials', 'credentials_file'],
  unsupported: ['credentials_ref'],
};
export const TLS_SPEC: MapSpec = {
  known: [
    'ca',
    'ca_file',
    'cert',
    'cert_file',
    'key',
    'key_file',
    'server_name',
    'insecure_skip_verify',
    'min_version',
    'max_version',
  ],
  unsupported: ['ca_ref', 'cert_ref', 'key_ref', 'next_protos'],
};

/** One `http_headers` entry (Prometheus common config `Header`). */
export const HTTP_HEADER_SPEC: MapSpec = { known: ['values', 'secrets', 'files'] };
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
/** `oauth2` (prometheus/common `OAuth2`), the client credentials grant. */
export const OAUTH2_SPEC: MapSpec = {
  known: [
    'client_id',
    'client_secret',
    'client_secret_file',
    'scopes',
    'token_url',
    'endpoint_params',
    'tls_config',
    'proxy_url',
    'no_proxy',
    'proxy_from_environment',
    'proxy_connect_header',
    'grant_type',
  ],
  // The JWT bearer grant (RFC 7523) and secret managers.
  unsupported: [
    'client_secret_ref',
    'client_certificate_key_id',
    'client_certificate_key',
    'client_certificate_key_file',
    'client_certificate_key_ref',
    'signature_algorithm',
    'iss',
    'audience',
    'claims',
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
  if (r.errors.length > before) return undefined;
  return {
    server: server!,
    storage: storage!,
    externalLabels: externalLabels!,
    receiver: receiver!,
    selfMonitoring: selfMonitoring!,
    remoteWrite: remoteWrite!,
    nameValidationScheme: nameValidationScheme!,
  };
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

function checkKeyPair(r: FieldReader, m: CheckedMap, keyKey: string, cert: string, key: string): void {
  const problem = keyPairProblem(cert, key, r.name(keyKey));
  if (problem !== undefined) r.error(r.at(m.path, keyKey), problem);
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
    } else if (name.startsWith('__')) {
      r.error(at, 'label names starting with "__" are reserved');
      ok = false;
    } else if (value === '') {
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
  const basicAuth = r.has(m, 'basic_auth')
    ? readBasicAuth(r, child(r, m, 'basic_auth', BASIC_AUTH_SPEC), ctx, false)
    : undefined;
  const authorization = r.has(m, 'authorization')
    ? readAuthorization(r, child(r, m, 'authorization', AUTHORIZATION_SPEC), ctx)
    : undefined;
  const tlsConfig = r.has(m, 'tls_config') ? readTls(r, child(r, m, 'tls_config', TLS_SPEC), ctx) : undefined;
  // Also the proxy keys and the other authentication settings (at most one of them all).
  const http = readEndpointHttp(r, m, ctx);
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
  if (basicAuth) out.basicAuth = basicAuth;
  if (authorization) out.authorization = authorization;
  Object.assign(out, http);
  // As Go's client (so Prometheus) does: URL credentials are basic auth unless the config sets auth.
  if (!AUTH_KEYS.some((k) => r.has(m, k)) && split!.credentials) out.basicAuth = split!.credentials;
  if (tlsConfig) out.tlsConfig = tlsConfig;
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

/**
 * `text` with the password of a `scheme://user:password@` prefix hidden, for echoing a URL that
 * may not even parse in an error. Everything up to the last `@` counts as the password: hiding
 * too much beats showing a password that contains an `@`.
 */
function withoutPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):.*@/is, '$1:<redacted>@');
}

/** An absolute http(s) URL with a host; returned as written. */
function readHttpUrl(r: FieldReader, m: CheckedMap, key: string): string | undefined {
  const text = r.string(m, key);
  if (text === undefined) return undefined;
  const path = r.at(m.path, key);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    r.error(path, `invalid URL ${JSON.stringify(withoutPassword(text))}`);
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    r.error(path, `URL scheme must be http or https, got "${parsed.protocol.slice(0, -1)}"`);
    return undefined;
  }
  if (parsed.hostname === '') {
    r.error(path, `URL has no host: ${JSON.stringify(withoutPassword(text))}`);
    return undefined;
  }
  return text;
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

/**
 * `basic_auth`: `username` xor `username_file`, `password` xor `password_file`; files are read
 * now and trimmed like Prometheus' file secrets. `requirePassword` for the receiver, where an
 * empty password would let anyone in who knows the username.
 */
function readBasicAuth(
  r: FieldReader,
  m: CheckedMap | undefined,
  ctx: SchemaContext,
  requirePassword: boolean,
): BasicAuth | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const username = readSecret(r, m, 'username', 'username_file', ctx, false);
  const password = readSecret(r, m, 'password', 'password_file', ctx, requirePassword);
  if (r.errors.length > before) return undefined;
  return { username: username ?? '', password: password ?? '' };
}

function readAuthorization(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): Authorization | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const rawType = r.string(m, 'type', DEFAULT_AUTHORIZATION_TYPE);
  const type = rawType?.trim() || (rawType === undefined ? undefined : DEFAULT_AUTHORIZATION_TYPE);
  if (type !== undefined) {
    if (type.toLowerCase() === 'basic') {
      r.error(r.at(m.path, 'type'), `cannot be "${type}", use ${r.name('basic_auth')} instead`);
    } else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(type)) {
      r.error(r.at(m.path, 'type'), `must be a single word such as "Bearer", got ${JSON.stringify(type)}`);
    }
  }
  // Unlike Prometheus, credentials are required: an Authorization header without them is a mistake.
  const credentials = readSecret(r, m, 'credentials', 'credentials_file', ctx, true);
  if (r.errors.length > before) return undefined;
  return { type: type!, credentials: credentials! };
}

/**
 * A value given inline (`key`) or in a file (`fileKey`), never both. Returns undefined when
 * neither is set (an error if `required`) or on error.
 */
function readSecret(
  r: FieldReader,
  m: CheckedMap,
  key: string,
  fileKey: string,
  ctx: SchemaContext,
  required: boolean,
): string | undefined {
  if (r.has(m, key) && r.has(m, fileKey)) {
    r.error(m.path, `${r.name(key)} and ${r.name(fileKey)} are mutually exclusive, set one`);
    return undefined;
  }
  if (r.has(m, fileKey)) {
    const content = readTextFile(r, m, fileKey, ctx);
    if (content === undefined) return undefined;
    const trimmed = content.trim();
    if (trimmed === '') {
      r.error(r.at(m.path, fileKey), `${JSON.stringify(resolve(ctx.baseDir, String(m.values.get(fileKey))))} is empty`);
      return undefined;
    }
    return trimmed;
  }
  if (r.has(m, key)) {
    const value = r.secret(m, key);
    if (value === '' && required) r.error(r.at(m.path, key), 'must not be empty');
    return value;
  }
  if (required) r.error(m.path, `one of ${r.name(key)} or ${r.name(fileKey)} is required`);
  return undefined;
}

/** Reads the file named by `m[key]` (relative to the config's directory); errors name the key and the file. */
function readTextFile(r: FieldReader, m: CheckedMap, key: string, ctx: SchemaContext): string | undefined {
  const file = r.string(m, key);
  if (file === undefined) return undefined;
  return readFileAt(r, r.at(m.path, key), file, ctx);
}

function readTls(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): TlsConfig | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const ca = readPem(r, m, 'ca', 'ca_file', ctx, 'CERTIFICATE');
  const cert = readPem(r, m, 'cert', 'cert_file', ctx, 'CERTIFICATE');
  const key = readPem(r, m, 'key', 'key_file', ctx, 'PRIVATE KEY');
  const hasCert = r.has(m, 'cert') || r.has(m, 'cert_file');
  const hasKey = r.has(m, 'key') || r.has(m, 'key_file');
  if (hasCert !== hasKey) {
    r.error(
      m.path,
      hasCert
        ? `a client certificate needs ${r.name('key')} or ${r.name('key_file')}`
        : `a client key needs ${r.name('cert')} or ${r.name('cert_file')}`,
    );
  }
  if (cert !== undefined && key !== undefined) checkKeyPair(r, m, r.has(m, 'key') ? 'key' : 'key_file', cert, key);
  const serverName = r.string(m, 'server_name');
  const insecureSkipVerify = r.boolean(m, 'insecure_skip_verify', false);
  const { minVersion, maxVersion } = readTlsVersions(r, m);
  if (r.errors.length > before) return undefined;
  const out: TlsConfig = { insecureSkipVerify: insecureSkipVerify! };
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  for (const [k, field] of [
    ['ca_file', 'caFile'],
    ['cert_file', 'certFile'],
    ['key_file', 'keyFile'],
  ] as const) {
    if (r.has(m, k)) out[field] = resolve(ctx.baseDir, String(m.values.get(k)));
  }
  if (serverName !== undefined) out.serverName = serverName;
  if (minVersion) out.minVersion = minVersion;
  if (maxVersion) out.maxVersion = maxVersion;
  return out;
}

/** PEM text given inline (`key`) or in a file (`fileKey`), never both; see {@link checkPem}. */
function readPem(
  r: FieldReader,
  m: CheckedMap,
  key: string,
  fileKey: string,
  ctx: SchemaContext,
  kind: string,
): string | undefined {
  if (r.has(m, key) && r.has(m, fileKey)) {
    r.error(m.path, `${r.name(key)} and ${r.name(fileKey)} are mutually exclusive, set one`);
    return undefined;
  }
  if (r.has(m, fileKey)) return readPemFile(r, m, fileKey, ctx, kind);
  const text = r.string(m, key);
  return text === undefined ? undefined : checkPem(r, m, key, 'the value', text, kind);
}

/** PEM text read from the file named by `m[fileKey]`; see {@link checkPem}. */
function readPemFile(
  r: FieldReader,
  m: CheckedMap,
  fileKey: string,
  ctx: SchemaContext,
  kind: string,
): string | undefined {
  const text = readTextFile(r, m, fileKey, ctx);
  if (text === undefined) return undefined;
  return checkPem(r, m, fileKey, JSON.stringify(resolve(ctx.baseDir, String(m.values.get(fileKey)))), text, kind);
}

/**
 * Checks for a `BEGIN <kind>` block so a wrong file is caught now; certificates are parsed too.
 * `what` names the file (or "the value") in the message.
 */
function checkPem(
  r: FieldReader,
  m: CheckedMap,
  key: string,
  what: string,
  text: string,
  kind: string,
): string | undefined {
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    r.error(r.at(m.path, key), `${what} has no PEM "${kind}" block`);
    return undefined;
  }
  const problem = kind === 'CERTIFICATE' ? certificatesProblem(text) : undefined;
  if (problem !== undefined) {
    r.error(r.at(m.path, key), `${what}: ${problem}`);
    return undefined;
  }
  return text;
}

/** `min_version` and `max_version`, with max >= min. */
function readTlsVersions(r: FieldReader, m: CheckedMap): { minVersion?: TlsVersion; maxVersion?: TlsVersion } {
  const minVersion = readTlsVersion(r, m, 'min_version');
  const maxVersion = readTlsVersion(r, m, 'max_version');
  if (minVersion && maxVersion && TLS_VERSION_ORDER.indexOf(maxVersion) < TLS_VERSION_ORDER.indexOf(minVersion)) {
    r.error(r.at(m.path, 'max_version'), `must be >= ${r.name('min_version')}`);
  }
  return { minVersion, maxVersion };
}

function readTlsVersion(r: FieldReader, m: CheckedMap, key: string): TlsVersion | undefined {
  if (!r.has(m, key)) return undefined;
  const name = r.oneOf(m, key, Object.keys(TLS_VERSIONS), 'TLS12');
  return name === undefined ? undefined : TLS_VERSIONS[name];
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

const OAUTH2_GRANT_TYPES = ['client_credentials'] as const;
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

/** The HTTP-client parts of an endpoint, merged into its {@link EndpointConfig}. */
export type EndpointHttpParts = Pick<
  EndpointConfig,
  | 'authorization'
  | 'httpHeaders'
  | 'followRedirects'
  | 'enableHttp2'
  | 'roundRobinDns'
  | 'proxyUrl'
  | 'noProxy'
  | 'proxyFromEnvironment'
  | 'proxyConnectHeader'
  | 'oauth2'
  | 'sigv4'
>;

/**
 * The endpoint's HTTP-client keys beyond `basic_auth`, `authorization`, `headers` and
 * `tls_config`: `bearer_token(_file)` (as `authorization` of type Bearer), `http_headers`,
 * `follow_redirects`, `enable_http2`, `round_robin_dns`, the proxy keys, `oauth2` and `sigv4`;
 * `azuread` and `google_iam` are refused. At most one authentication setting, as in Prometheus'
 * `validateAuthConfigs`. Keys left at their default are left out of the result.
 */
export function readEndpointHttp(r: FieldReader, m: CheckedMap, ctx: SchemaContext): EndpointHttpParts | undefined {
  const before = r.errors.length;
  const out: EndpointHttpParts = {};
  const setAuth = AUTH_KEYS.filter((k) => r.has(m, k));
  if (setAuth.length > 1) {
    const all = AUTH_KEYS.map((k) => r.name(k));
    r.error(
      m.path,
      `at most one of ${all.slice(0, -1).join(', ')} or ${all.at(-1)} may be set, got ${setAuth.map((k) => r.name(k)).join(' and ')}`,
    );
  }
  for (const key of ['azuread', 'google_iam']) {
    if (r.has(m, key)) r.error(r.at(m.path, key), CLOUD_IDENTITY_REFUSAL[key]);
  }
  // Prometheus' older spellings of `authorization: { credentials(_file) }` with type Bearer.
  if (r.has(m, 'bearer_token') || r.has(m, 'bearer_token_file')) {
    const token = readSecret(r, m, 'bearer_token', 'bearer_token_file', ctx, true);
    if (token !== undefined) out.authorization = { type: 'Bearer', credentials: token };
  }
  const httpHeaders = readHttpHeaders(r, m, ctx);
  if (httpHeaders !== undefined && Object.keys(httpHeaders).length > 0) out.httpHeaders = httpHeaders;
  for (const [key, field] of [
    ['follow_redirects', 'followRedirects'],
    ['enable_http2', 'enableHttp2'],
    ['round_robin_dns', 'roundRobinDns'],
  ] as const) {
    if (r.has(m, key)) out[field] = r.boolean(m, key, false);
  }
  Object.assign(out, readProxySettings(r, m));
  if (r.has(m, 'oauth2')) out.oauth2 = readOAuth2(r, child(r, m, 'oauth2', OAUTH2_SPEC), ctx);
  if (r.has(m, 'sigv4')) out.sigv4 = readSigV4(r, child(r, m, 'sigv4', SIGV4_SPEC));
  return r.errors.length > before ? undefined : out;
}

/**
 * `proxy_url`, `no_proxy`, `proxy_from_environment` and `proxy_connect_header` with Prometheus'
 * rules (`ProxyConfig.Validate`): `no_proxy` needs `proxy_url`; `proxy_from_environment` excludes
 * both; `proxy_connect_header` needs a proxy. Unset keys are left out.
 */
function readProxySettings(r: FieldReader, m: CheckedMap): ProxySettings {
  const out: ProxySettings = {};
  const proxyUrl = r.has(m, 'proxy_url') ? readHttpUrl(r, m, 'proxy_url') : undefined;
  if (proxyUrl !== undefined) out.proxyUrl = proxyUrl;
  const noProxy = r.string(m, 'no_proxy');
  if (noProxy !== undefined && noProxy.trim() !== '') out.noProxy = noProxy;
  const fromEnv = r.boolean(m, 'proxy_from_environment', false);
  if (fromEnv) out.proxyFromEnvironment = true;
  if (fromEnv && r.has(m, 'proxy_url')) {
    r.error(
      r.at(m.path, 'proxy_from_environment'),
      `cannot be used with ${r.name('proxy_url')}: the environment names the proxy`,
    );
  }
  if (fromEnv && r.has(m, 'no_proxy')) {
    r.error(r.at(m.path, 'no_proxy'), `cannot be used with ${r.name('proxy_from_environment')}: set NO_PROXY instead`);
  } else if (r.has(m, 'no_proxy') && !r.has(m, 'proxy_url')) {
    r.error(r.at(m.path, 'no_proxy'), `needs ${r.name('proxy_url')}: without a proxy everything is reached directly`);
  }
  if (r.has(m, 'proxy_connect_header')) {
    const headers = readProxyConnectHeader(r, m);
    if (!r.has(m, 'proxy_url') && !fromEnv) {
      r.error(
        r.at(m.path, 'proxy_connect_header'),
        `needs ${r.name('proxy_url')} or ${r.name('proxy_from_environment')}: it is sent to the proxy`,
      );
    } else if (headers !== undefined && Object.keys(headers).length > 0) {
      out.proxyConnectHeader = headers;
    }
  }
  return out;
}

/** `proxy_connect_header`: header name -> list of values, all secrets (Prometheus' `ProxyHeader`). */
function readProxyConnectHeader(r: FieldReader, m: CheckedMap): Record<string, string[]> | undefined {
  const path = r.at(m.path, 'proxy_connect_header');
  const value = m.values.get('proxy_connect_header');
  if (!isPlainObject(value)) {
    r.error(path, `expected a mapping of header names to lists of values, got ${describe(value)}`);
    return undefined;
  }
  const out: Record<string, string[]> = {};
  let ok = true;
  for (const [name, values] of Object.entries(value)) {
    const at = joinPath(path, name);
    const list = readStringList(r, values, at, true);
    if (list === undefined) {
      ok = false;
      continue;
    }
    const problem = headerNameProblem(name) ?? list.map(headerValueProblem).find((p) => p !== undefined);
    if (problem !== undefined) {
      r.error(at, problem);
      ok = false;
    }
    out[name] = list;
  }
  return ok ? out : undefined;
}

/**
 * `http_headers`: header name -> `{ values, secrets, files }`. Files are read now (trimmed, as
 * Prometheus does when it sends them), so a missing file fails the load, or the reload while the
 * running config keeps going. Reserved headers are Prometheus' `ReservedHeaders`.
 */
function readHttpHeaders(
  r: FieldReader,
  m: CheckedMap,
  ctx: SchemaContext,
): Record<string, HttpHeaderValues> | undefined {
  if (!r.has(m, 'http_headers')) return undefined;
  const path = r.at(m.path, 'http_headers');
  const value = m.values.get('http_headers');
  if (!isPlainObject(value)) {
    r.error(path, `expected a mapping of header names to { values, secrets, files }, got ${describe(value)}`);
    return undefined;
  }
  const out: Record<string, HttpHeaderValues> = {};
  const seen = new Map<string, string>();
  let ok = true;
  for (const [name, spec] of Object.entries(value)) {
    const at = joinPath(path, name);
    const problem = headerNameProblem(name) ?? reservedHeaderProblem(r, name);
    const first = seen.get(name.toLowerCase());
    seen.set(name.toLowerCase(), name);
    if (problem !== undefined || first !== undefined) {
      r.error(at, problem ?? `duplicate header (header names ignore case; also set as ${first})`);
      ok = false;
      continue;
    }
    const h = r.map(spec, at, HTTP_HEADER_SPEC);
    if (h === undefined) {
      ok = false;
      continue;
    }
    const values = r.has(h, 'values') ? readStringList(r, h.values.get('values'), r.at(at, 'values'), false) : [];
    const secrets = r.has(h, 'secrets') ? readStringList(r, h.values.get('secrets'), r.at(at, 'secrets'), true) : [];
    const files = r.has(h, 'files') ? readStringList(r, h.values.get('files'), r.at(at, 'files'), false) : [];
    if (values === undefined || secrets === undefined || files === undefined) {
      ok = false;
      continue;
    }
    for (const [key, list] of [
      ['values', values],
      ['secrets', secrets],
    ] as const) {
      list.forEach((v, i) => {
        const valueProblem = headerValueProblem(v);
        if (valueProblem === undefined) return;
        r.error(indexPath(r.at(at, key), i), valueProblem);
        ok = false;
      });
    }
    const absolute: string[] = [];
    files.forEach((file, i) => {
      const filePath = indexPath(r.at(at, 'files'), i);
      const content = readFileAt(r, filePath, file, ctx);
      if (content === undefined) {
        ok = false;
        return;
      }
      const trimmed = content.trim();
      const valueProblem = headerValueProblem(trimmed);
      if (valueProblem !== undefined) {
        r.error(filePath, `${JSON.stringify(resolve(ctx.baseDir, file))}: ${valueProblem}`);
        ok = false;
        return;
      }
      absolute.push(resolve(ctx.baseDir, file));
      secrets.push(trimmed);
    });
    if (values.length + secrets.length + files.length === 0) {
      r.error(at, `sets no value: give ${r.name('values')}, ${r.name('secrets')} or ${r.name('files')}`);
      ok = false;
    }
    out[name] = { values, secrets, files: absolute };
  }
  return ok ? out : undefined;
}

/** Prometheus refuses these in `http_headers`; each has its own setting or is promspool's. */
function reservedHeaderProblem(r: FieldReader, name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === 'authorization') {
    const keys = ['basic_auth', 'authorization', 'oauth2', 'sigv4'].map((k) => r.name(k)).join(', ');
    return `set Authorization with one of ${keys}, not ${r.name('http_headers')}`;
  }
  if (RESERVED_HEADERS.has(lower) || lower === 'x-prometheus-scrape-timeout-seconds') {
    return `${name} is a reserved header and cannot be set`;
  }
  return undefined;
}

function headerNameProblem(name: string): string | undefined {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) ? undefined : 'invalid header name';
}

function headerValueProblem(value: string): string | undefined {
  return /[\r\n\0]/.test(value) ? 'header values cannot contain CR, LF or NUL' : undefined;
}

/**
 * A list of strings at `path`. YAML numbers and booleans are taken as their text; a `secret`
 * list never echoes a wrong-typed value. A single string is refused: Prometheus wants a list.
 */
function readStringList(r: FieldReader, value: unknown, path: string, secret: boolean): string[] | undefined {
  if (!Array.isArray(value)) {
    const got = secret ? describe(value).replace(/ \(.*\)$/s, '') : describe(value);
    r.error(path, `expected a list of strings, got ${got}`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  value.forEach((item, i) => {
    if (typeof item === 'string') out.push(item);
    else if (typeof item === 'number' || typeof item === 'boolean') out.push(String(item));
    else {
      const got = secret ? describe(item).replace(/ \(.*\)$/s, '') : describe(item);
      r.error(indexPath(path, i), `expected a string, got ${got}`);
      ok = false;
    }
  });
  return ok ? out : undefined;
}

/** Reads `file` (relative to the config's directory) named at `path`; errors name the file. */
function readFileAt(r: FieldReader, path: string, file: string, ctx: SchemaContext): string | undefined {
  if (file === '') {
    r.error(path, 'must not be empty');
    return undefined;
  }
  const absolute = resolve(ctx.baseDir, file);
  try {
    return readFileSync(absolute, 'utf8');
  } catch (e) {
    r.error(path, `cannot read ${JSON.stringify(absolute)}: ${describeFileError(e)}`);
    return undefined;
  }
}

/**
 * `oauth2`: `client_id` and `token_url` required, `client_secret` xor `client_secret_file` (the
 * file read now, trimmed), `scopes`, `endpoint_params`, its own `tls_config` and proxy keys for
 * the token requests. Only the client credentials grant.
 */
function readOAuth2(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): OAuth2Config | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const clientId = r.required(m, 'client_id') ? r.string(m, 'client_id') : undefined;
  if (clientId === '') r.error(r.at(m.path, 'client_id'), 'must not be empty');
  const tokenUrl = r.required(m, 'token_url') ? readHttpUrl(r, m, 'token_url') : undefined;
  const grantType = r.string(m, 'grant_type');
  if (grantType !== undefined && grantType !== '' && !(OAUTH2_GRANT_TYPES as readonly string[]).includes(grantType)) {
    r.error(
      r.at(m.path, 'grant_type'),
      `must be "client_credentials", got ${JSON.stringify(grantType)} (the JWT bearer grant is not supported)`,
    );
  }
  // Optional, as in Prometheus: some token servers take public clients with only an id.
  const clientSecret = readSecret(r, m, 'client_secret', 'client_secret_file', ctx, false);
  const scopes = r.has(m, 'scopes') ? readStringList(r, m.values.get('scopes'), r.at(m.path, 'scopes'), false) : [];
  const params = r.stringMap(m, 'endpoint_params');
  // Go's clientcredentials refuses an endpoint parameter that overwrites one it set: `scope`,
  // when `scopes` is given (grant_type may be overridden).
  if ((scopes?.length ?? 0) > 0 && params?.has('scope')) {
    r.error(
      `${r.at(m.path, 'endpoint_params')}.scope`,
      `cannot overwrite the "scope" parameter, which ${r.name('scopes')} sets: give the scopes in one place`,
    );
  }
  const tlsConfig = r.has(m, 'tls_config') ? readTls(r, child(r, m, 'tls_config', TLS_SPEC), ctx) : undefined;
  const proxy = readProxySettings(r, m);
  if (r.errors.length > before) return undefined;
  const out: OAuth2Config = {
    clientId: clientId!,
    clientSecret: clientSecret ?? '',
    scopes: scopes!,
    tokenUrl: tokenUrl!,
    endpointParams: Object.fromEntries(params!),
    ...proxy,
  };
  if (r.has(m, 'client_secret_file')) {
    out.clientSecretFile = resolve(ctx.baseDir, String(m.values.get('client_secret_file')));
  }
  if (tlsConfig) out.tlsConfig = tlsConfig;
  return out;
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
