/**
 * `round_robin_dns`: every new connection resolves the host again and starts at the next of its
 * addresses, so an endpoint's connections spread over all of them instead of piling on the first
 * one the resolver returns (what Prometheus does for receivers behind DNS round robin, which
 * otherwise see one agent on one instance).
 */
import { promises as dnsPromises, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** Resolves a host name to its addresses (`dns.promises.lookup` with `all: true` by default). */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: HostResolver = (hostname) =>
  dnsPromises.lookup(hostname, { all: true, order: 'verbatim' });

/**
 * A `lookup` for `net.connect` / `tls.connect` that answers each call with the host's addresses
 * rotated by one more than the last call for that host. Node tries the addresses in that order
 * (`autoSelectFamily` asks for all of them), so the first reachable one after the last used wins.
 */
export function roundRobinLookup(resolve: HostResolver = systemResolver): LookupFunction {
  const next = new Map<string, number>();
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        if (found.length === 0) {
          const err = Object.assign(new Error(`${hostname} resolved to no addresses`), { code: 'ENOTFOUND' });
          callback(err as NodeJS.ErrnoException, '', 0);
          return;
        }
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = family === undefined ? found : found.filter((a) => a.family === family);
        const list = usable.length === 0 ? found : usable;
        const start = (next.get(hostname) ?? 0) % list.length;
        next.set(hostname, start + 1);
        const rotated = [...list.slice(start), ...list.slice(0, start)];
        if (options.all) {
          (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, rotated);
        } else {
          callback(null, rotated[0].address, rotated[0].family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
