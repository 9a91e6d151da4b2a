/**
 * The HTTP client keys Prometheus shares between `remote_write`, `scrape_configs` and the
 * HTTP-based service discoveries (prometheus/common `HTTPClientConfig`): `basic_auth`,
 * `authorization`, `bearer_token(_file)`, `oauth2`, `tls_config`, the proxy keys, `http_headers`,
 * `follow_redirects` and `enable_http2`. One reader for all of them ({@link readHttpClientConfig}),
 * so a scrape job and a remote-write endpoint accept and refuse the same things.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_AUTHORIZATION_TYPE } from './defaults.js';
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
import { RESERVED_HEADERS } from './http-headers.js';
import type { SchemaContext } from './schema.js';
import { certificatesProblem, keyPairProblem } from './tls-material.js';
import type {
  Authorization,
  BasicAuth,
  HttpClientConfig,
  HttpHeaderValues,
  OAuth2Config,
  ProxySettings,
  TlsConfig,
  TlsVersion,
} from './types.js';

/** The authentication keys of a plain HTTP client, at most one of which may be set (`validateAuthConfigs`). */
export const HTTP_CLIENT_AUTH_KEYS = [
  'basic_auth',
  'authorization',
  'bearer_token',
  'bearer_token_file',
  'oauth2',
] as const;

/** Every key {@link readHttpClientConfig} reads, for the `known` list of a mapping that inlines them. */
export const HTTP_CLIENT_KEYS = [
  ...HTTP_CLIENT_AUTH_KEYS,
  'tls_config',
  'proxy_url',
  'no_proxy',
  'proxy_from_environment',
  'proxy_connect_header',
  'http_headers',
  'follow_redirects',
  'enable_http2',
] as const;

/**
 * Reads the HTTP client keys of `m` (see {@link HTTP_CLIENT_KEYS}). `authKeys` are the keys of
 * which at most one may be set: remote write adds `sigv4`, `azuread` and `google_iam` to the
 * plain client's. Keys left at their default are left out of the result (absent
 * `followRedirects` and `enableHttp2` mean true, as in Prometheus).
 */
export function readHttpClientConfig(
  r: FieldReader,
  m: CheckedMap,
  ctx: SchemaContext,
  authKeys: readonly string[] = HTTP_CLIENT_AUTH_KEYS,
): HttpClientConfig | undefined {
  const before = r.errors.length;
  const out: HttpClientConfig = {};
  const basicAuth = r.has(m, 'basic_auth')
    ? readBasicAuth(r, r.map(m.values.get('basic_auth'), r.at(m.path, 'basic_auth'), BASIC_AUTH_SPEC), ctx, false)
    : undefined;
  if (basicAuth) out.basicAuth = basicAuth;
  const authorization = r.has(m, 'authorization')
    ? readAuthorization(r, r.map(m.values.get('authorization'), r.at(m.path, 'authorization'), AUTHORIZATION_SPEC), ctx)
    : undefined;
  if (authorization) out.authorization = authorization;
  const tlsConfig = r.has(m, 'tls_config')
    ? readTls(r, r.map(m.values.get('tls_config'), r.at(m.path, 'tls_config'), TLS_SPEC), ctx)
    : undefined;
  if (tlsConfig) out.tlsConfig = tlsConfig;
  const setAuth = authKeys.filter((k) => r.has(m, k));
  if (setAuth.length > 1) {
    const all = authKeys.map((k) => r.name(k));
    r.error(
      m.path,
      `at most one of ${all.slice(0, -1).join(', ')} or ${all.at(-1)} may be set, got ${setAuth.map((k) => r.name(k)).join(' and ')}`,
    );
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
  ] as const) {
    if (r.has(m, key)) out[field] = r.boolean(m, key, false);
  }
  Object.assign(out, readProxySettings(r, m));
  if (r.has(m, 'oauth2')) {
    out.oauth2 = readOAuth2(r, r.map(m.values.get('oauth2'), r.at(m.path, 'oauth2'), OAUTH2_SPEC), ctx);
  }
  return r.errors.length > before ? undefined : out;
}

/** The HTTP client keys' default values (prometheus/common `DefaultHTTPClientConfig`). */
const HTTP_CLIENT_DEFAULTS: Readonly<Record<string, unknown>> = {
  follow_redirects: true,
  enable_http2: true,
  proxy_from_environment: false,
};

/**
 * True when `m` sets an HTTP client key to something else than its default (Kubernetes SD,
 * like Prometheus, refuses a custom client without `api_server` or with `kubeconfig_file`).
 */
export function hasHttpClientKeys(r: FieldReader, m: CheckedMap): boolean {
  return HTTP_CLIENT_KEYS.some((k) => r.has(m, k) && m.values.get(k) !== HTTP_CLIENT_DEFAULTS[k]);
}

/** Prometheus' `min_version`/`max_version` names -> Node's `tls` names. */
const TLS_VERSIONS: Readonly<Record<string, TlsVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const TLS_VERSION_ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

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

export function checkKeyPair(r: FieldReader, m: CheckedMap, keyKey: string, cert: string, key: string): void {
  const problem = keyPairProblem(cert, key, r.name(keyKey));
  if (problem !== undefined) r.error(r.at(m.path, keyKey), problem);
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
export function readHttpUrl(r: FieldReader, m: CheckedMap, key: string): string | undefined {
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

/**
 * `basic_auth`: `username` xor `username_file`, `password` xor `password_file`; files are read
 * now and trimmed like Prometheus' file secrets. `requirePassword` for the receiver, where an
 * empty password would let anyone in who knows the username.
 */
export function readBasicAuth(
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

export function readAuthorization(
  r: FieldReader,
  m: CheckedMap | undefined,
  ctx: SchemaContext,
): Authorization | undefined {
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
export function readSecret(
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

export function readTls(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): TlsConfig | undefined {
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
export function readPemFile(
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
export function readTlsVersions(r: FieldReader, m: CheckedMap): { minVersion?: TlsVersion; maxVersion?: TlsVersion } {
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

const OAUTH2_GRANT_TYPES = ['client_credentials'] as const;

/**
 * `proxy_url`, `no_proxy`, `proxy_from_environment` and `proxy_connect_header` with Prometheus'
 * rules (`ProxyConfig.Validate`): `no_proxy` needs `proxy_url`; `proxy_from_environment` excludes
 * both; `proxy_connect_header` needs a proxy. Unset keys are left out.
 */
export function readProxySettings(r: FieldReader, m: CheckedMap): ProxySettings {
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
export function readHttpHeaders(
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
export function readStringList(r: FieldReader, value: unknown, path: string, secret: boolean): string[] | undefined {
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
export function readOAuth2(r: FieldReader, m: CheckedMap | undefined, ctx: SchemaContext): OAuth2Config | undefined {
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
  const tlsConfig = r.has(m, 'tls_config')
    ? readTls(r, r.map(m.values.get('tls_config'), r.at(m.path, 'tls_config'), TLS_SPEC), ctx)
    : undefined;
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
