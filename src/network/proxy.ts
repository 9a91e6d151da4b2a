/**
 * Which proxy, if any, a request goes through: Prometheus' `ProxyConfig.Proxy()`, which is Go's
 * `http.ProxyURL` for a bare `proxy_url` and `golang.org/x/net/http/httpproxy` for `no_proxy` and
 * `proxy_from_environment`. Written from their documented behaviour.
 */
import { BlockList, isIP } from 'node:net';
import type { ProxySettings } from '../config/types.js';

/** Decides the proxy per request URL; `undefined` means a direct connection. */
export type ProxySelector = (url: URL) => string | undefined;

/**
 * The proxy selector of `settings`: `proxy_url` alone proxies everything; with `no_proxy`, or with
 * `proxy_from_environment` (HTTP_PROXY / HTTPS_PROXY / NO_PROXY, upper case first, as Go reads
 * them), the httpproxy rules apply, including that `localhost` and loopback addresses are never
 * proxied. `env` is read once, here.
 */
export function createProxySelector(settings: ProxySettings, env: NodeJS.ProcessEnv = process.env): ProxySelector {
  if (settings.proxyFromEnvironment) {
    const httpProxy = envAny(env, 'HTTP_PROXY', 'http_proxy');
    const httpsProxy = envAny(env, 'HTTPS_PROXY', 'https_proxy');
    const noProxy = parseNoProxy(envAny(env, 'NO_PROXY', 'no_proxy') ?? '');
    return (url) => {
      const proxy = url.protocol === 'https:' ? httpsProxy : httpProxy;
      if (proxy === undefined || proxy === '' || !useProxy(url, noProxy)) return undefined;
      // Go accepts "host:port" in the environment and means http://host:port.
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
    };
  }
  const { proxyUrl } = settings;
  if (proxyUrl === undefined) return () => undefined;
  if (settings.noProxy === undefined) return () => proxyUrl;
  const noProxy = parseNoProxy(settings.noProxy);
  return (url) => (useProxy(url, noProxy) ? proxyUrl : undefined);
}

function envAny(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

interface NoProxy {
  all: boolean;
  ips: { ip: string; port: string }[];
  cidrs: BlockList;
  domains: { suffix: string; matchHost: boolean; port: string }[];
}

/** Parses a NO_PROXY list: `*`, IPs, CIDRs, domains (`example.com`, `.example.com`, `*.example.com`), each with an optional port. */
export function parseNoProxy(text: string): NoProxy {
  const out: NoProxy = { all: false, ips: [], cidrs: new BlockList(), domains: [] };
  for (const raw of text.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      out.all = true;
      continue;
    }
    const slash = entry.indexOf('/');
    if (slash > 0) {
      const net = entry.slice(0, slash);
      const prefix = Number(entry.slice(slash + 1));
      const family = isIP(net);
      if (family !== 0 && Number.isInteger(prefix)) {
        out.cidrs.addSubnet(net, prefix, family === 6 ? 'ipv6' : 'ipv4');
        continue;
      }
    }
    let port = '';
    const hostPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (hostPort !== null) {
      entry = hostPort[1];
      port = hostPort[2];
    }
    const bare = entry.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0) {
      out.ips.push({ ip: bare, port });
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    // "example.com" matches itself and its subdomains; ".example.com" only subdomains.
    const matchHost = !entry.startsWith('.');
    out.domains.push({ suffix: matchHost ? `.${entry}` : entry, matchHost, port });
  }
  return out;
}

/** httpproxy's `useProxy`: false for localhost, loopback and what NO_PROXY names. */
function useProxy(url: URL, noProxy: NoProxy): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (host === 'localhost') return false;
  const family = isIP(host);
  if (family !== 0 && isLoopback(host, family)) return false;
  if (noProxy.all) return false;
  if (family !== 0) {
    if (noProxy.ips.some((e) => e.ip === host && (e.port === '' || e.port === port))) return false;
    if (noProxy.cidrs.check(host, family === 6 ? 'ipv6' : 'ipv4')) return false;
    return true;
  }
  for (const d of noProxy.domains) {
    if (
      (host.endsWith(d.suffix) || (d.matchHost && host === d.suffix.slice(1))) &&
      (d.port === '' || d.port === port)
    ) {
      return false;
    }
  }
  return true;
}

function isLoopback(ip: string, family: number): boolean {
  if (family === 4) return ip.startsWith('127.');
  return ip === '::1' || /^::ffff:127\./.test(ip);
}
