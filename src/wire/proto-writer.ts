/**
 * Low-level protobuf writing into one reused, growable scratch buffer, plus the matching size
 * functions. Callers compute a message's size first and write its length prefix before the body,
 * so nested messages never need a second buffer or a back-patch, and output is canonical
 * (minimal varints), byte-identical to protobufjs for the same fields.
 */

const TWO_32 = 4294967296;
const TWO_56 = 2 ** 56;
const TWO_63 = 2 ** 63;

/** Bytes a varint of the unsigned 32-bit value `v` takes. */
export function varint32Size(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/**
 * Bytes a varint of the int64 `v` (a JS integer; negative values are two's complement,
 * so always 10 bytes) takes.
 */
export function int64Size(v: number): number {
  if (v < 0) return 10;
  if (v < 0x10000000) return varint32Size(v);
  // 7 bits per byte: n bytes hold values below 2^(7n). Comparisons, not divisions: a millisecond
  // timestamp (2^40) is encoded for every sample sent.
  if (v < 0x800000000) return 5; // 2^35
  if (v < 0x40000000000) return 6; // 2^42
  if (v < 0x2000000000000) return 7; // 2^49
  if (v < TWO_56) return 8;
  if (v < TWO_63) return 9;
  return 10;
}

/** Bytes the zigzag varint of the sint64 `v` takes. */
export function sint64Size(v: number): number {
  // zigzag(v) = 2v for v >= 0, -2v - 1 for v < 0; both exact for |v| <= 2^52.
  return int64Size(v >= 0 ? v * 2 : -v * 2 - 1);
}

/** Bytes the zigzag varint of the sint32 `v` takes. */
export function sint32Size(v: number): number {
  return varint32Size(((v << 1) ^ (v >> 31)) >>> 0);
}

/** A length-delimited field: tag byte(s) + length varint + body. Tags here are all one byte. */
export function delimitedSize(bodySize: number): number {
  return 1 + varint32Size(bodySize) + bodySize;
}

/** The reused output buffer of one encoder. Grows by doubling and never shrinks. */
export class ScratchWriter {
  buf: Buffer;
  pos = 0;
  private readonly f64 = new Float64Array(1);
  private readonly f64Bytes = new Uint8Array(this.f64.buffer);

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `n` more bytes, keeping what was written. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint32(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** int64 from a JS integer: negative values as 10-byte two's complement, like protobuf. */
  int64(v: number): void {
    if (v >= 0 && v < TWO_32) {
      this.varint32(v >>> 0);
      return;
    }
    let lo: number;
    let hi: number;
    if (v >= 0) {
      lo = v >>> 0;
      hi = Math.floor(v / TWO_32) >>> 0;
    } else {
      const a = -v;
      lo = a >>> 0;
      hi = Math.floor(a / TWO_32) >>> 0;
      // Negate the 64-bit (hi, lo) pair.
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
      if (++lo > 0xffffffff) {
        lo = 0;
        hi = (hi + 1) >>> 0;
      }
    }
    this.varint64(lo, hi);
  }

  /** sint64 (zigzag) from a JS integer. */
  sint64(v: number): void {
    if (v >= 0 && v < 0x40000000) {
      this.varint32(v * 2);
      return;
    }
    if (v < 0 && v > -0x40000000) {
      this.varint32(-v * 2 - 1);
      return;
    }
    let lo: number;
    let hi: number;
    const a = Math.abs(v);
    lo = a >>> 0;
    hi = Math.floor(a / TWO_32) >>> 0;
    if (v < 0) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
      if (++lo > 0xffffffff) {
        lo = 0;
        hi = (hi + 1) >>> 0;
      }
    }
    const mask = hi >> 31;
    hi = (((hi << 1) | (lo >>> 31)) ^ mask) >>> 0;
    lo = ((lo << 1) ^ mask) >>> 0;
    this.varint64(lo, hi);
  }

  sint32(v: number): void {
    this.varint32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  private varint64(lo: number, hi: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (hi > 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** Little-endian double. The NaN payload survives: V8 keeps a double's bits through a Float64Array store. */
  double(v: number): void {
    this.f64[0] = v;
    const b = this.f64Bytes;
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = b[0];
    buf[pos + 1] = b[1];
    buf[pos + 2] = b[2];
    buf[pos + 3] = b[3];
    buf[pos + 4] = b[4];
    buf[pos + 5] = b[5];
    buf[pos + 6] = b[6];
    buf[pos + 7] = b[7];
    this.pos = pos + 8;
  }

  /** Copies `len` bytes from `src` at `start`; a byte loop beats a native call for short label strings. */
  bytes(src: Uint8Array, start: number, len: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (len > 32) {
      buf.set(src.subarray(start, start + len), pos);
      this.pos = pos + len;
      return;
    }
    const end = start + len;
    for (let i = start; i < end; i++) buf[pos++] = src[i];
    this.pos = pos;
  }

  /** Writes a string's UTF-8 bytes whose length the caller already knows (see {@link utf8Size}). */
  utf8(s: string, byteLen: number): void {
    if (byteLen === s.length) {
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < byteLen; i++) buf[pos++] = s.charCodeAt(i);
      this.pos = pos;
      return;
    }
    this.pos += this.buf.write(s, this.pos, byteLen, 'utf8');
  }
}

/** UTF-8 byte length; ASCII strings are counted without a native call. */
export function utf8Size(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  }
  return n;
}
