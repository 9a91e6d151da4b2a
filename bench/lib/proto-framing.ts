/**
 * Protobuf framing for the benchmarks' receivers (bench/lib/sink.ts, bench/reshard.ts): they walk
 * requests' fields without decoding labels, to spend less CPU than the agents they measure.
 */

/** The varint at `pos`: its value and the position after it. */
export function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
  throw new Error('varint too long');
}

/** Skips the field whose tag was just read; returns the position after it. */
export function skipField(buf: Uint8Array, pos: number, wireType: number): number {
  if (wireType === 0) return readVarint(buf, pos)[1];
  if (wireType === 1) return pos + 8;
  if (wireType === 5) return pos + 4;
  if (wireType === 2) {
    const [len, p] = readVarint(buf, pos);
    return p + len;
  }
  throw new Error(`unsupported wire type ${wireType}`);
}
