import { isUtf8 } from 'node:buffer';
import { PromspoolError } from '../errors.js';

/** Protobuf wire types. Groups (3, 4) are rejected: no remote-write message uses them. */
export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
export const WT_I32 = 5;

const TWO_32 = 4294967296;

/**
 * A bounds-checked protobuf reader over one request body. Every read checks `end`, so
 * truncated or hostile input throws a PromspoolError('ERR_BAD_REQUEST') and never reads past
 * the buffer; every loop advances at least one byte per field, so it always terminates.
 * Nested messages are read by narrowing `end` and restoring it afterwards.
 */
export class ProtoReader {
  readonly buf: Buffer;
  pos = 0;
  end: number;
  /** Index of the series being read, for error messages; -1 outside series. */
  series = -1;
  private readonly view: DataView;

  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.end = this.buf.length;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  fail(what: string): never {
    const where = this.series >= 0 ? `timeseries[${this.series}]: ` : '';
    throw new PromspoolError('ERR_BAD_REQUEST', `bad remote-write request: ${where}${what} (at byte ${this.pos})`);
  }

  /** Reads a field key; returns `fieldNumber * 8 + wireType` after checking both are valid. */
  tag(): number {
    const key = this.varint32();
    const wt = key & 7;
    if (key >>> 3 === 0) this.fail('field number 0');
    if (wt !== WT_VARINT && wt !== WT_I64 && wt !== WT_LEN && wt !== WT_I32) {
      this.fail(`unsupported wire type ${wt} for field ${key >>> 3}`);
    }
    return key;
  }

  /** A varint that must fit in 32 bits (keys, lengths, uint32 fields). */
  varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) this.fail('truncated varint');
      const b = buf[pos++];
      if (shift === 28 && b > 0x0f) this.fail('varint does not fit 32 bits');
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    return this.fail('varint does not fit 32 bits');
  }

  /** High half of the last {@link varint64}. */
  hi = 0;

  /** A 64-bit varint as its two 32-bit halves: returns the low half, leaves the high one in `hi`. */
  varint64(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) this.fail('truncated varint');
      const b = buf[pos++];
      if (i < 4) {
        lo |= (b & 0x7f) << (7 * i);
      } else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else {
        if (i === 9 && b > 1) this.fail('varint overflows 64 bits');
        hi |= (b & 0x7f) << (7 * i - 32);
      }
      if (b < 0x80) {
        this.pos = pos;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  uint64(): number {
    const lo = this.varint64();
    return this.hi * TWO_32 + lo;
  }

  int64(): number {
    const lo = this.varint64();
    const hi = this.hi;
    if (hi < 0x80000000) return hi * TWO_32 + lo;
    // Two's complement negative: -(~value + 1).
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }

  sint64(): number {
    const lo = this.varint64();
    const hi = this.hi;
    // Un-zigzag the 64-bit pair: (n >>> 1) ^ -(n & 1).
    const mask = -(lo & 1);
    const ulo = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
    const uhi = ((hi >>> 1) ^ mask) >>> 0;
    if (mask === 0) return uhi * TWO_32 + ulo;
    const nlo = (~ulo + 1) >>> 0;
    const nhi = (~uhi + (nlo === 0 ? 1 : 0)) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }

  /** sint32 read as a 64-bit varint (encoders may sign-extend); must fit 32 bits. */
  sint32(): number {
    const v = this.sint64();
    if (v < -0x80000000 || v > 0x7fffffff) this.fail('sint32 out of range');
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the end of the delimited bytes, checked against `end`. */
  delimited(): number {
    const len = this.varint32();
    const stop = this.pos + len;
    if (stop > this.end) this.fail(`length ${len} runs past the end of its message`);
    return stop;
  }

  /** Where the bytes of the last {@link string} started, and how many there were. */
  strStart = 0;
  strLen = 0;

  /** Set by a lenient {@link string} or {@link stringBytes} that met invalid UTF-8 (the caller resets it). */
  badUtf8 = false;

  /**
   * A string field's bytes as a string; rejects invalid UTF-8, unless `lenient`: then the string
   * has U+FFFD in place of the bad bytes and {@link badUtf8} is set, so the caller can name what
   * they belong to (a label of which series) before refusing it.
   */
  string(lenient = false): string {
    const stop = this.delimited();
    const start = this.pos;
    this.strStart = start;
    this.strLen = stop - start;
    this.pos = stop;
    const len = stop - start;
    if (len === 0) return '';
    if (len <= INTERN_MAX_BYTES) {
      const s = internAscii(this.buf, start, len);
      if (s !== undefined) return s;
    }
    const s = this.buf.toString('utf8', start, stop);
    // Invalid sequences decode to U+FFFD; only then is the slower exact check needed.
    if (s.includes('\uFFFD') && !isUtf8(this.buf.subarray(start, stop))) {
      if (lenient) {
        this.badUtf8 = true;
        return s;
      }
      this.pos = start;
      this.fail('string is not valid UTF-8');
    }
    return s;
  }

  /**
   * A string field's bytes, checked to be valid UTF-8 (failing exactly as {@link string} does)
   * but not decoded: they are at {@link strStart}/{@link strLen}; {@link stringAt} decodes them
   * later if they are needed at all. `lenient`: invalid UTF-8 returns false instead of failing.
   */
  stringBytes(lenient = false): boolean {
    const stop = this.delimited();
    const start = this.pos;
    this.strStart = start;
    this.strLen = stop - start;
    this.pos = stop;
    const buf = this.buf;
    let or = 0;
    for (let i = start; i < stop; i++) or |= buf[i];
    if (or >= 0x80 && !isUtf8(buf.subarray(start, stop))) {
      if (lenient) return false;
      this.pos = start;
      this.fail('string is not valid UTF-8');
    }
    return true;
  }

  /** The string of bytes already checked by {@link stringBytes} (invalid bytes, if let through, as U+FFFD). */
  stringAt(start: number, len: number): string {
    if (len === 0) return '';
    if (len <= INTERN_MAX_BYTES) {
      const s = internAscii(this.buf, start, len);
      if (s !== undefined) return s;
    }
    return this.buf.toString('utf8', start, start + len);
  }

  /** Skips one field's value of wire type `wt`. */
  skip(wt: number): void {
    switch (wt) {
      case WT_VARINT:
        this.varint64();
        return;
      case WT_I64:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WT_LEN:
        this.pos = this.delimited();
        return;
      case WT_I32:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wt}`);
    }
  }

  /** Fails unless a known field came with the wire type its schema says. */
  expect(key: number, wt: number, field: string): void {
    if ((key & 7) !== wt) this.fail(`${field} has wire type ${key & 7}, expected ${wt}`);
  }
}

/** Byte-wise comparison of two ranges of one buffer, as Go orders label names. */
export function compareRanges(buf: Uint8Array, as: number, al: number, bs: number, bl: number): number {
  const n = Math.min(al, bl);
  for (let i = 0; i < n; i++) {
    const d = buf[as + i] - buf[bs + i];
    if (d !== 0) return d;
  }
  return al - bl;
}

/**
 * Interning of short ASCII strings: label names and values repeat across series and across
 * requests (the same series arrive every scrape interval), so a direct-mapped cache keyed by a
 * hash of the bytes returns the same JS string without a native call or an allocation on a hit.
 * Bounded: INTERN_SLOTS x INTERN_MAX_BYTES bytes (1 MiB) plus the strings it holds.
 */
const INTERN_MAX_BYTES = 64;
const INTERN_SLOTS = 16384;
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_BYTES);
const internLen = new Int32Array(INTERN_SLOTS).fill(-1);
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** The string of `buf[start, start+len)` if it is all ASCII, else undefined. */
function internAscii(buf: Uint8Array, start: number, len: number): string | undefined {
  let h = 0x811c9dc5;
  let or = 0;
  const end = start + len;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    or |= b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (or >= 0x80) return undefined;
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const base = slot * INTERN_MAX_BYTES;
  if (internLen[slot] === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (internBytes[base + i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return internStrings[slot];
  }
  const s = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  internBytes.set(buf.subarray(start, end), base);
  internLen[slot] = len;
  internStrings[slot] = s;
  return s;
}
