/** Hashing of byte ranges for the 2.0 encoder's lookups by bytes (strings, label blocks). */
/**
 * A 32-bit hash of `b[start, start + len)`: MurmurHash3's mixing, four bytes per step. Byte-wise
 * FNV-1a is a chain of one multiply per byte: this takes a quarter of the steps.
 */
export function hashBytes(b: Uint8Array, start: number, len: number): number {
  let h = len;
  let i = start;
  const end = start + len;
  for (const stop = end - 3; i < stop; i += 4) {
    let k = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let shift = 0; i < end; i++, shift += 8) k |= b[i] << shift;
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  // Final mix: every input bit reaches the low bits the table is indexed by.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
