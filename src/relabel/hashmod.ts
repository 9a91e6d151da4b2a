/**
 * Prometheus' hashmod: MD5 of the value's UTF-8 bytes, the last 8 bytes of the digest read as a
 * big-endian unsigned 64-bit integer, modulo the modulus. In BigInt, so exact for any uint64.
 */
import { createHash } from 'node:crypto';

/** The hashmod of `value` for `modulus` (> 0n), as Prometheus writes it (decimal). */
export function hashMod(value: string, modulus: bigint): string {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return (digest.readBigUInt64BE(8) % modulus).toString();
}
