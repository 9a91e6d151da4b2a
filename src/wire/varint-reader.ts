/**
 * Varint reads at a byte position, for the code that walks remote-write bytes without a
 * {@link ProtoReader} (the relay scan, kind-2 records, the 1.0 writer's label merge): they return
 * the value and leave where it ended in {@link varintCursor}, so hot loops allocate nothing.
 */

/**
 * Where the varint of the last {@link readLength} / {@link readInt64} ended; -1 after one that
 * failed. A property of a constant object rather than an exported `let`: V8 writes a module
 * binding through a cell on every call, which cost the relay scan half its speed.
 */
export const varintCursor = { end: 0 };

/** A varint of at most 32 bits (a length) at `pos`, ending before `limit`; -1 if truncated or longer. */
export function readLength(b: Uint8Array, pos: number, limit: number): number {
  let value = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (pos >= limit) break;
    const c = b[pos++];
    if (shift === 28 && c > 0x0f) break; // more than 32 bits
    // Integer ops (no 2 ** shift): this runs for every label of every relayed series.
    value |= (c & 0x7f) << shift;
    if (c < 0x80) {
      varintCursor.end = pos;
      return value >>> 0;
    }
  }
  varintCursor.end = -1;
  return -1;
}

/** A two's-complement int64 varint (a timestamp) at `pos`, ending before `limit`, as a number; 0 and `varintCursor.end` -1 if bad. */
export function readInt64(b: Uint8Array, pos: number, limit: number): number {
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= limit) break;
    const c = b[pos++];
    if (shift < 28) lo |= (c & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (c & 0x0f) << 28;
      hi |= (c & 0x7f) >> 4;
    } else hi |= (c & 0x7f) << (shift - 32);
    if (c < 0x80) {
      varintCursor.end = pos;
      return hi * 4294967296 + (lo >>> 0);
    }
  }
  varintCursor.end = -1;
  return 0;
}
