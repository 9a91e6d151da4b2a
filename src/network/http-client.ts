import { buildConnector, type Dispatcher, Pool, ProxyAgent } from 'undici';
import type { EndpointConfig } from '../config/types.js';
import { remoteWriteHeaders } from '../wire/headers.js';
import { clientTlsOptions, describeTlsFailure, surfaceTlsAlerts } from './tls.js';

/** What one POST came back with. Only the first {@link ERROR_BODY_LIMIT} bytes of a non-2xx body are kept. */
export interface PostResult {
  status: number;
  /** Raw `Retry-After` header, if any. */
  retryAfter: string | undefined;
  /** The receiver's message for a non-2xx answer (truncated), '' for 2xx. */
  message: string;
}

/** POSTs remote-write bodies to one endpoint over a shared connection pool. */
export interface RemoteWriteClient {
  /** Sends one compressed request. Rejects on network errors, timeouts and when `signal` aborts. */
  post(body: Uint8Array, signal: AbortSignal): Promise<PostResult>;
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
}

/** Bytes of a refused request's body kept for the log line. */
export const ERROR_BODY_LIMIT = 1024;

/**
 * The request headers of an endpoint: the wire's protocol headers (user headers can never override
 * them) plus the credentials from `basic_auth` or `authorization`, or else from the URL's
 * `user:password@` (as Go's HTTP client, and so Prometheus, sends them).
 */
export function buildRequestHeaders(config: EndpointConfig, version: string): Record<string, string> {
  const headers = remoteWriteHeaders(config.protobufMessage, config.headers, version);
  if (config.basicAuth !== undefined) {
    headers.Authorization = basicCredentials(config.basicAuth.username, config.basicAuth.password);
  } else if (config.authorization !== undefined) {
    headers.Authorization = `${config.authorization.type} ${config.authorization.credentials}`;
  } else {
    const url = new URL(config.url);
    if (url.username !== '' || url.password !== '') {
      headers.Authorization = basicCredentials(decodeURIComponent(url.username), decodeURIComponent(url.password));
    }
  }
  return headers;
}

function basicCredentials(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Creates the client of one endpoint: an undici `Pool` (or a `ProxyAgent` building such pools when
 * `proxy_url` is set) with `pipelining: 1` (POSTs are never pipelined) and header/body timeouts
 * equal to `remote_timeout`, so a stalled receiver cannot hold a connection for undici's 300 s default.
 * TLS failures reject with a retryable `ERR_TLS` error naming the setting to fix (see {@link describeTlsFailure}).
 */
export function createRemoteWriteClient(opts: RemoteWriteClientOptions): RemoteWriteClient {
  const { config } = opts;
  const url = new URL(config.url);
  // `origin` never carries the URL's credentials: safe to put in error messages.
  const { origin } = url;
  const path = `${url.pathname}${url.search}`;
  const headers = buildRequestHeaders(config, opts.version);
  const tls = config.tlsConfig;
  const tlsOptions = tls === undefined ? undefined : clientTlsOptions(tls);
  const poolOptions: Pool.Options = {
    connections: Math.max(1, opts.connections),
    pipelining: 1,
    headersTimeout: config.remoteTimeoutMs,
    bodyTimeout: config.remoteTimeoutMs,
  };
  let dispatcher: Dispatcher;
  if (config.proxyUrl === undefined) {
    dispatcher = new Pool(origin, { ...poolOptions, connect: surfaceTlsAlerts(buildConnector(tlsOptions ?? {})) });
  } else {
    // The pool options reach the per-origin pools through the ProxyAgent's inner Agent; its
    // connect function (which opens the tunnel) is kept, only wrapped. `proxyTunnel: false`:
    // http:// receivers get plain forwarded requests, as from Go's client (many proxies allow
    // CONNECT only to port 443); https:// ones always go through CONNECT.
    dispatcher = new ProxyAgent({
      ...poolOptions,
      uri: config.proxyUrl,
      proxyTunnel: false,
      ...(tlsOptions === undefined ? {} : { requestTls: tlsOptions }),
      factory: (poolOrigin, agentOptions) => {
        const { connect } = agentOptions as Pool.Options;
        return new Pool(poolOrigin, {
          ...agentOptions,
          connect: surfaceTlsAlerts(typeof connect === 'function' ? connect : buildConnector(connect ?? {})),
        });
      },
    });
  }

  return {
    async post(body, signal) {
      let res: Dispatcher.ResponseData;
      try {
        res = await dispatcher.request({
          origin,
          path,
          method: 'POST',
          headers,
          body,
          signal,
          headersTimeout: config.remoteTimeoutMs,
          bodyTimeout: config.remoteTimeoutMs,
        });
      } catch (err) {
        // An abort keeps its own reason: the caller tells its timeout from a stop by it.
        if (signal.aborted) throw err;
        throw describeTlsFailure(err, origin, tls) ?? err;
      }
      const status = res.statusCode;
      const retryAfterHeader = res.headers['retry-after'];
      const retryAfter = Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader;
      if (status >= 200 && status < 300) {
        // Always consume the body, or the connection is never returned to the pool.
        await res.body.dump();
        return { status, retryAfter, message: '' };
      }
      return { status, retryAfter, message: await readPrefix(res.body, ERROR_BODY_LIMIT) };
    },
    close: () => dispatcher.close(),
    destroy: () => dispatcher.destroy(),
  };
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
