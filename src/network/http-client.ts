import type { Clock } from '../clock.js';
import type { EndpointConfig } from '../config/types.js';
import { RetryableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { redactUrl } from '../redact.js';
import { remoteWriteHeaders } from '../wire/headers.js';
import type { ProtobufMessage } from '../wire/types.js';
import { type HostResolver, roundRobinLookup } from './dns.js';
import { createOAuth2TokenSource } from './oauth2.js';
import { parseWrittenCounts, type WrittenCounts } from './protocol-negotiation.js';
import { basicCredentials, fixedAuthorization, oauth2Auth, type RequestAuth, sigv4Auth } from './request-auth.js';
import { createSigV4Signer, type RequestSigner, type SigV4SignerDeps } from './sigv4.js';
import { describeTlsFailure } from './tls.js';
import { createTransport } from './transport.js';

/** What one POST came back with. Only the first {@link ERROR_BODY_LIMIT} bytes of a non-2xx body are kept. */
export interface PostResult {
  status: number;
  /** Raw `Retry-After` header, if any. */
  retryAfter: string | undefined;
  /** The receiver's message for a non-2xx answer (truncated), '' for 2xx. */
  message: string;
  /** A 2xx answer to a 2.0 request: its `X-Prometheus-Remote-Write-*-Written` counts, undefined when it has none. */
  written?: WrittenCounts;
}

/** POSTs remote-write bodies to one endpoint over a shared connection pool. */
export interface RemoteWriteClient {
  /**
   * Sends one compressed request encoded as `message` (default the endpoint's `protobuf_message`),
   * with that message's protocol headers. Rejects on network errors, timeouts and when `signal` aborts.
   */
  post(body: Uint8Array, signal: AbortSignal, message?: ProtobufMessage): Promise<PostResult>;
  /** Lets in-flight requests finish, then closes the connections. */
  close(): Promise<void>;
  /** Closes every connection now, failing in-flight requests. */
  destroy(): Promise<void>;
}

export interface RemoteWriteClientOptions {
  config: EndpointConfig;
  /** Pool size; at least the endpoint's max shards so every loop can have its request in flight. */
  connections: number;
  /** promspool's version, for `User-Agent: promspool/<version>`. */
  version: string;
  /** Token expiry and timeouts of `oauth2`. Default the system clock. */
  clock?: Clock;
  /** Where `oauth2` and `sigv4` failures are logged. */
  logger?: Logger;
  /** Bound on one `oauth2` token request. Default {@link OAUTH2_TOKEN_TIMEOUT_MS}, at most half of `remote_timeout`. */
  oauth2TimeoutMs?: number;
  /** Host resolution for `round_robin_dns`. Default the system resolver. */
  resolver?: HostResolver;
  /** Environment for `proxy_from_environment`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The SigV4 signer's clock, credentials and environment (tests). */
  sigv4?: SigV4SignerDeps;
}

/** Bytes of a refused request's body kept for the log line. */
export const ERROR_BODY_LIMIT = 1024;

/**
 * The request headers of an endpoint: the wire's protocol headers (user headers can never override
 * them), `http_headers` (added to a `headers` entry of the same name, as Prometheus adds them; a
 * header with several values is sent as several lines), plus the credentials from `basic_auth` or
 * `authorization` (`bearer_token`), or else from the URL's `user:password@` (as Go's HTTP client,
 * and so Prometheus, sends them). OAuth 2.0 and SigV4 credentials are added per request.
 */
export function buildRequestHeaders(
  config: EndpointConfig,
  version: string,
  message: ProtobufMessage = config.protobufMessage,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = remoteWriteHeaders(message, config.headers, version);
  for (const [name, h] of Object.entries(config.httpHeaders ?? {})) {
    const values = [...h.values, ...h.secrets];
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing === undefined) headers[name] = values.length === 1 ? values[0] : values;
    else headers[existing] = [...[headers[existing]].flat(), ...values];
  }
  const fixed = fixedAuthorization(config);
  if (fixed !== undefined) {
    headers.Authorization = fixed;
  } else if (config.oauth2 === undefined && config.sigv4 === undefined) {
    const url = new URL(config.url);
    if (url.username !== '' || url.password !== '') {
      headers.Authorization = basicCredentials(decodeURIComponent(url.username), decodeURIComponent(url.password));
    }
  }
  return headers;
}

/** Redirects followed for one request before giving up, as Go's client. */
export const MAX_REDIRECTS = 10;
/** Upper bound on one OAuth 2.0 token request (half of `remote_timeout` when that is shorter). */
export const OAUTH2_TOKEN_TIMEOUT_MS = 10_000;
/** Headers not sent on after a redirect to another host (Go's `makeHeadersCopier`, Prometheus' list). */
const SENSITIVE_ON_REDIRECT = [
  'authorization',
  'www-authenticate',
  'cookie',
  'cookie2',
  'proxy-authorization',
  'proxy-authenticate',
];

/**
 * Creates the client of one endpoint over a {@link Transport} (direct pools, or proxies chosen
 * per URL), with header/body timeouts equal to `remote_timeout`, so a stalled receiver cannot
 * hold a connection for undici's 300 s default. TLS failures reject with a retryable `ERR_TLS`
 * error naming the setting to fix (see {@link describeTlsFailure}); OAuth 2.0 and SigV4 add their
 * headers per request ({@link RequestAuth}), and their failures reject retryably too.
 *
 * Redirects (`follow_redirects`, default true), as Go's client does them for a POST with a
 * replayable body: 307 and 308 are followed with the same body, at most {@link MAX_REDIRECTS};
 * after a hop to another host (not a subdomain of the first), credentials and cookies are no
 * longer sent. 301, 302 and 303 are not followed: Go would turn the POST into a GET without the
 * body, which would report samples as sent that were not; they reject with a retryable
 * `ERR_REDIRECT` naming the new location, so the data waits until `url` is corrected.
 */
export function createRemoteWriteClient(opts: RemoteWriteClientOptions): RemoteWriteClient {
  const { config } = opts;
  const endpointUrl = new URL(config.url);
  // Both protocols' headers: a 2.0 endpoint falls back to 1.0 when its receiver does not speak 2.0.
  const headersOf: Record<ProtobufMessage, Record<string, string | string[]>> = {
    'prometheus.WriteRequest': buildRequestHeaders(config, opts.version, 'prometheus.WriteRequest'),
    'io.prometheus.write.v2.Request': buildRequestHeaders(config, opts.version, 'io.prometheus.write.v2.Request'),
  };
  const tls = config.tlsConfig;
  const followRedirects = config.followRedirects ?? true;
  const transport = createTransport({
    ...(tls === undefined ? {} : { tls }),
    proxy: config,
    enableHttp2: config.enableHttp2 ?? true,
    ...(config.roundRobinDns ? { lookup: roundRobinLookup(opts.resolver) } : {}),
    connections: opts.connections,
    timeoutMs: config.remoteTimeoutMs,
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  const auth = createRequestAuth(opts);

  async function send(url: URL, sent: Record<string, string | string[]>, body: Uint8Array, signal: AbortSignal) {
    try {
      return await transport.dispatcherFor(url).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: sent,
        body,
        signal,
        headersTimeout: config.remoteTimeoutMs,
        bodyTimeout: config.remoteTimeoutMs,
      });
    } catch (err) {
      // An abort keeps its own reason: the caller tells its timeout from a stop by it.
      if (signal.aborted) throw err;
      throw describeTlsFailure(err, url.origin, tls) ?? err;
    }
  }

  return {
    async post(body, signal, protobufMessage = config.protobufMessage) {
      const headers = headersOf[protobufMessage];
      let url = endpointUrl;
      let crossHost = false;
      let retriedUnauthorized = false;
      for (let redirects = 0; ; ) {
        const sent: Record<string, string | string[]> = { ...headers };
        if (crossHost) {
          for (const name of Object.keys(sent))
            if (SENSITIVE_ON_REDIRECT.includes(name.toLowerCase())) delete sent[name];
        }
        let added: Record<string, string> = {};
        if (auth !== undefined && !crossHost) {
          added = await auth.headers({ method: 'POST', url, headers: flatten(sent), body }, signal);
          Object.assign(sent, added);
        }
        const res = await send(url, sent, body, signal);
        const status = res.statusCode;
        if (status === 401 && auth !== undefined && !crossHost && !retriedUnauthorized && auth.rejected(added)) {
          // A token the receiver no longer takes (revoked, rotated): one more try with a new one.
          retriedUnauthorized = true;
          await res.body.dump();
          continue;
        }
        const location = header(res.headers, 'location');
        if (REDIRECTS.has(status) && location !== undefined && followRedirects) {
          await res.body.dump();
          const next = resolveLocation(location, url);
          if (status === 307 || status === 308) {
            if (++redirects > MAX_REDIRECTS) {
              throw new RetryableError(
                'ERR_REDIRECT',
                `${endpointUrl.origin}: stopped after ${MAX_REDIRECTS} redirects (last to ${redactUrl(next.href)})`,
              );
            }
            crossHost ||= !isDomainOrSubdomain(next.hostname.toLowerCase(), endpointUrl.hostname.toLowerCase());
            url = next;
            continue;
          }
          throw new RetryableError(
            'ERR_REDIRECT',
            `${url.origin} answered ${status} redirecting to ${redactUrl(next.href)}: not followed, a ${status} would turn the POST into a GET without the samples (only 307 and 308 are followed); set url to the new location`,
          );
        }
        const retryAfter = header(res.headers, 'retry-after');
        if (status >= 200 && status < 300) {
          // Always consume the body, or the connection is never returned to the pool.
          await res.body.dump();
          // 1.0 answers are never read for counts: a missing header there is not zero.
          const written =
            protobufMessage === 'io.prometheus.write.v2.Request' ? parseWrittenCounts(res.headers) : undefined;
          return { status, retryAfter, message: '', ...(written === undefined ? {} : { written }) };
        }
        let message = await readPrefix(res.body, ERROR_BODY_LIMIT);
        if (REDIRECTS.has(status) && location !== undefined) {
          message = `redirect to ${redactUrl(resolveLocation(location, url).href)} not followed (follow_redirects is false)${message === '' ? '' : `: ${message}`}`;
        }
        return { status, retryAfter, message };
      }
    },
    close: async () => {
      await Promise.all([transport.close(), auth?.close()]);
    },
    destroy: async () => {
      await Promise.all([transport.destroy(), auth?.close()]);
    },
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The per-request authentication of the endpoint, if its credentials are not fixed headers. */
function createRequestAuth(opts: RemoteWriteClientOptions): RequestAuth | undefined {
  const { config } = opts;
  if (config.oauth2 !== undefined) {
    return oauth2Auth(
      createOAuth2TokenSource({
        config: config.oauth2,
        timeoutMs:
          opts.oauth2TimeoutMs ??
          Math.max(1, Math.min(OAUTH2_TOKEN_TIMEOUT_MS, Math.floor(config.remoteTimeoutMs / 2))),
        version: opts.version,
        ...(opts.clock === undefined ? {} : { clock: opts.clock }),
        ...(opts.logger === undefined ? {} : { logger: opts.logger }),
        ...(opts.env === undefined ? {} : { env: opts.env }),
      }),
    );
  }
  if (config.sigv4 !== undefined) {
    let signer: RequestSigner | Error;
    try {
      signer = createSigV4Signer(config.sigv4, opts.sigv4 ?? {});
    } catch (err) {
      signer = err instanceof Error ? err : new Error(String(err));
      opts.logger?.error('sigv4 signing is not possible; requests wait until the configuration is fixed', { err });
    }
    return sigv4Auth(signer);
  }
  return undefined;
}

/** One value per header, multi-valued ones joined with ", " (what a receiver sees them as, and signs). */
function flatten(headers: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function resolveLocation(location: string, base: URL): URL {
  try {
    return new URL(location, base);
  } catch {
    throw new RetryableError(
      'ERR_REDIRECT',
      `${base.origin} redirected to an invalid location ${JSON.stringify(location.slice(0, 200))}`,
    );
  }
}

/** Go's `isDomainOrSubdomain`: `sub` is `parent` or a name under it (never for IPv6 literals). */
function isDomainOrSubdomain(sub: string, parent: string): boolean {
  if (sub === parent) return true;
  if (/[:%[]/.test(sub)) return false;
  return sub.endsWith(parent) && sub[sub.length - parent.length - 1] === '.';
}

async function readPrefix(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end so the connection stays reusable, but keep only `limit` bytes.
  for await (const chunk of body) {
    if (size < limit) {
      chunks.push(chunk);
      size += chunk.length;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
