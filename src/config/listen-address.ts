/** `host:port` as Go's net.SplitHostPort reads it: `[::1]:9201`, `0.0.0.0:9201`, `:9201` (all interfaces). */
export interface ListenAddress {
  /** Empty for "all interfaces". */
  host: string;
  port: number;
}

/** Returns the parsed address, or a reason it is not one. */
export function parseListenAddress(text: string): ListenAddress | { error: string } {
  const hint = `expected host:port, e.g. "127.0.0.1:9201", "[::1]:9201" or ":9201", got ${JSON.stringify(text)}`;
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { error: hint };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { error: hint };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    // An unbracketed IPv6 address is ambiguous: is the last group the port?
    if (host.includes(':')) return { error: `${hint} (IPv6 addresses need brackets)` };
  }
  if (/\s/.test(host) || host.includes('/')) return { error: hint };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { error: `port must be a number from 0 to 65535, got ${JSON.stringify(portText)}` };
  }
  return { host, port: Number(portText) };
}
