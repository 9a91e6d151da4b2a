/**
 * Endpoint names name a directory under `storage.path`, so they are restricted to characters that
 * are safe on every filesystem, and compared ignoring case (macOS and Windows fold case).
 */
import { createHash } from 'node:crypto';

export const ENDPOINT_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;

export const ENDPOINT_NAME_RULE =
  'must be 1-100 letters, digits, ".", "_" or "-", not starting with "." or "-" (it names a directory under storage.path)';

/**
 * The name used when an endpoint has none: `<host>-<8 hex of sha256(url)>`, e.g.
 * `mimir.example-1b2c3d4e`. Unlike Prometheus, whose default name hashes the whole remote_write
 * block, this depends on the URL only, so tuning queue_config does not move the endpoint's data to
 * a new directory. A different URL is a different destination and gets a different directory.
 */
export function deriveEndpointName(url: string): string {
  const parsed = new URL(url);
  const host = parsed.host.replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64);
  const hash = createHash('sha256').update(parsed.href).digest('hex').slice(0, 8);
  const name = `${host}-${hash}`;
  // A host starting with "." or "-" cannot come out of URL parsing, but keep the rule total.
  return ENDPOINT_NAME_RE.test(name) ? name : `rw-${hash}`;
}
