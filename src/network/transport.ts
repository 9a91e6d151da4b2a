/**
 * The connections behind an HTTP client: one undici dispatcher per way of reaching a host
 * (directly, or through each proxy the proxy settings pick), all sharing the TLS options, HTTP/2
 * setting and DNS lookup. Used by the remote-write client and by its OAuth 2.0 token requests.
 */
import type { LookupFunction } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, type Dispatcher, Pool, ProxyAgent } from 'undici';
import type { ProxySettings, TlsConfig } from '../config/types.js';
import { createProxySelector } from './proxy.js';
import { clientTlsOptions, surfaceTlsAlerts } from './tls.js';

export interface TransportOptions {
  tls?: TlsConfig;
  proxy: ProxySettings;
  /** Offer h2 in TLS ALPN (undici's `allowH2`); plain http stays HTTP/1.1 (no h2c, as Go). */
  enableHttp2: boolean;
  /** DNS lookup for direct connections (e.g. {@link roundRobinLookup}); default the system's. */
  lookup?: LookupFunction;
  /** Connections per origin. */
  connections: number;
  /** undici's header and body timeouts. */
  timeoutMs: number;
  /** Environment for `proxy_from_environment`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface Transport {
  /** The dispatcher that reaches `url` (direct or through its proxy). */
  dispatcherFor(url: URL): Dispatcher;
  /** The proxy `url` goes through, if any (for messages). */
  proxyFor(url: URL): string | undefined;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Creates a transport. Pools use `pipelining: 1` (POSTs are never pipelined). Through a proxy,
 * http:// targets get plain forwarded requests, as from Go's client (many proxies allow CONNECT
 * only to port 443), and https:// ones a CONNECT tunnel carrying `proxy_connect_header`.
 */
export function createTransport(opts: TransportOptions): Transport {
  const tlsOptions: ConnectionOptions = opts.tls === undefined ? {} : clientTlsOptions(opts.tls);
  const poolOptions: Pool.Options = {
    connections: Math.max(1, opts.connections),
    pipelining: 1,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    allowH2: opts.enableHttp2,
  };
  const select = createProxySelector(opts.proxy, opts.env);
  const connectOptions = {
    ...tlsOptions,
    allowH2: opts.enableHttp2,
    ...(opts.lookup === undefined ? {} : { lookup: opts.lookup }),
  };
  let direct: Dispatcher | undefined;
  const proxied = new Map<string, Dispatcher>();

  const directDispatcher = (): Dispatcher => {
    direct ??= new Agent({
      ...poolOptions,
      factory: (origin, agentOptions) =>
        new Pool(origin, { ...agentOptions, connect: surfaceTlsAlerts(buildConnector(connectOptions)) }),
    });
    return direct;
  };
  const proxyDispatcher = (proxyUrl: string): Dispatcher => {
    let d = proxied.get(proxyUrl);
    if (d === undefined) {
      d = new ProxyAgent({
        ...poolOptions,
        uri: proxyUrl,
        proxyTunnel: false,
        ...(opts.proxy.proxyConnectHeader === undefined ? {} : { headers: opts.proxy.proxyConnectHeader }),
        ...(opts.tls === undefined ? {} : { requestTls: tlsOptions }),
        // The ProxyAgent's connect function (which opens the tunnel) is kept, only wrapped.
        factory: (poolOrigin, agentOptions) => {
          const { connect } = agentOptions as Pool.Options;
          return new Pool(poolOrigin, {
            ...agentOptions,
            connect: surfaceTlsAlerts(typeof connect === 'function' ? connect : buildConnector(connect ?? {})),
          });
        },
      });
      proxied.set(proxyUrl, d);
    }
    return d;
  };
  const all = (): Dispatcher[] => [...(direct === undefined ? [] : [direct]), ...proxied.values()];

  return {
    dispatcherFor(url) {
      const proxyUrl = select(url);
      return proxyUrl === undefined ? directDispatcher() : proxyDispatcher(proxyUrl);
    },
    proxyFor: select,
    close: async () => {
      await Promise.all(all().map((d) => d.close()));
    },
    destroy: async () => {
      await Promise.all(all().map((d) => d.destroy()));
    },
  };
}
