/** `server.listen_address` in Prometheus' `host:port` spelling, as `net.Server.listen` wants it. */
export interface ListenAddress {
  /** `undefined` for `:port`, which listens on every interface. */
  host: string | undefined;
  port: number;
}

/** Parses `127.0.0.1:9201`, `[::1]:9201`, `localhost:9201` or `:9201`. Throws RangeError when malformed. */
export function parseListenAddress(address: string): ListenAddress {
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw new RangeError(`listen address ${JSON.stringify(address)} must be host:port`);
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`listen address ${JSON.stringify(address)} has an invalid port`);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? undefined : host, port };
}

/** A URL a local client can use to reach a server bound to `host` (wildcards become loopback). */
export function localUrl(host: string | undefined, port: number): string {
  if (host === undefined || host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
