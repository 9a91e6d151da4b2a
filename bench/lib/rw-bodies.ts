/**
 * Pre-built remote-write 1.0 bodies for the load generator, so the generator spends almost no CPU
 * per request: each body is encoded and snappy-compressed ONCE, with the timestamp bytes of every
 * sample kept as snappy literals (never part of a copy, as source or destination). Moving a body
 * to the next round then only rewrites those bytes in the compressed buffer, and the receiver
 * still gets a normally compressed body (copies across series, ~the ratio of real snappy).
 */

/** Timestamps are written as 6-byte varints: every millisecond value in [2^35, 2^42), 1971..2109. */
const TS_VARINT_BYTES = 6;
const TS_MIN = 2 ** 35;
const TS_MAX = 2 ** 42;

/** One body of the rotating set, with where to patch its timestamps. */
export interface PrebuiltBody {
  /** Snappy-compressed `prometheus.WriteRequest`; patched in place by {@link setBodyTimestamp}. */
  readonly compressed: Buffer;
  /** Offset in `compressed` of each sample's 6 timestamp bytes. */
  readonly timestampOffsets: Int32Array;
  readonly samples: number;
  readonly uncompressedBytes: number;
}

export interface BodySetOptions {
  series: number;
  /** Labels per series, `__name__` included (at least 2). */
  labelsPerSeries: number;
  seriesPerRequest: number;
}

/**
 * The labels of series `i`: `__name__` plus `labelsPerSeries - 1` others with realistic
 * cardinalities (a few shared values, one unique per series), sorted by name.
 */
export function seriesLabels(i: number, labelsPerSeries: number): [string, string][] {
  const pool: [string, string][] = [
    ['env', 'prod'],
    ['instance', `host-${i % 500}:9100`],
    ['job', 'node'],
    ['pod', `pod-${i}`],
    ['region', 'eu-west-1'],
    ['service', `svc-${i % 100}`],
    ['team', `team-${i % 20}`],
    ['zone', `eu-west-1${'abc'[i % 3]}`],
  ];
  for (let k = 0; pool.length < labelsPerSeries - 1; k++) pool.push([`extra_${k}`, `value-${i % (10 + k)}`]);
  const labels = pool.slice(0, labelsPerSeries - 1);
  labels.push(['__name__', `bench_metric_${i % 50}_total`]);
  return labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Builds the bodies covering series `0..series-1`, `seriesPerRequest` per body, one sample each. */
export function buildBodySet(opts: BodySetOptions, initialTimestampMs: number): PrebuiltBody[] {
  const bodies: PrebuiltBody[] = [];
  for (let first = 0; first < opts.series; first += opts.seriesPerRequest) {
    const count = Math.min(opts.seriesPerRequest, opts.series - first);
    bodies.push(buildBody(first, count, opts.labelsPerSeries, initialTimestampMs));
  }
  return bodies;
}

/** Rewrites every sample timestamp of `body` (the 6 literal bytes per sample). */
export function setBodyTimestamp(body: PrebuiltBody, timestampMs: number): void {
  const b0 = timestampVarint(timestampMs);
  const buf = body.compressed;
  const offs = body.timestampOffsets;
  for (let i = 0; i < offs.length; i++) {
    const o = offs[i]!;
    for (let k = 0; k < TS_VARINT_BYTES; k++) buf[o + k] = b0[k]!;
  }
}

function timestampVarint(ts: number): Uint8Array {
  if (!Number.isInteger(ts) || ts < TS_MIN || ts >= TS_MAX) throw new RangeError(`timestamp ${ts} out of range`);
  const out = new Uint8Array(TS_VARINT_BYTES);
  let v = ts;
  for (let k = 0; k < TS_VARINT_BYTES; k++) {
    const low = v % 128;
    v = Math.floor(v / 128);
    out[k] = k < TS_VARINT_BYTES - 1 ? low | 0x80 : low;
  }
  return out;
}

class ByteWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number) {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  varint(v: number) {
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.byte(v);
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

const encoder = new TextEncoder();

function buildBody(first: number, count: number, labelsPerSeries: number, ts: number): PrebuiltBody {
  const w = new ByteWriter();
  const holes: number[] = [];
  const tsBytes = timestampVarint(ts);
  const value = new DataView(new ArrayBuffer(8));
  for (let s = first; s < first + count; s++) {
    const pairs = seriesLabels(s, labelsPerSeries).map(([n, v]) => [encoder.encode(n), encoder.encode(v)] as const);
    let seriesLen = 0;
    for (const [n, v] of pairs) {
      const msgLen = 1 + varintSize(n.length) + n.length + 1 + varintSize(v.length) + v.length;
      seriesLen += 1 + varintSize(msgLen) + msgLen;
    }
    // Sample { double value = 1; int64 timestamp = 2 }: 9 + 7 bytes.
    const sampleLen = 1 + 8 + 1 + TS_VARINT_BYTES;
    seriesLen += 1 + 1 + sampleLen;
    w.byte(0x0a);
    w.varint(seriesLen);
    for (const [n, v] of pairs) {
      w.byte(0x0a);
      w.varint(1 + varintSize(n.length) + n.length + 1 + varintSize(v.length) + v.length);
      w.byte(0x0a);
      w.varint(n.length);
      w.bytes(n);
      w.byte(0x12);
      w.varint(v.length);
      w.bytes(v);
    }
    w.byte(0x12);
    w.varint(sampleLen);
    w.byte(0x09);
    value.setFloat64(0, s % 1000, true);
    w.bytes(new Uint8Array(value.buffer));
    w.byte(0x10);
    holes.push(w.len);
    w.bytes(tsBytes);
  }
  const raw = w.buf.subarray(0, w.len);
  const { compressed, holeOffsets } = compressKeepingHoles(raw, holes, TS_VARINT_BYTES);
  return { compressed, timestampOffsets: holeOffsets, samples: count, uncompressedBytes: raw.length };
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * A snappy block compressor (greedy, 4-byte hash matches, 2-byte-offset copies) that never
 * copies from or onto the `holeLen` bytes at each of `holeStarts`, so they stay literal and can
 * be rewritten in the output. Returns where each hole landed in the output.
 */
export function compressKeepingHoles(
  src: Uint8Array,
  holeStarts: readonly number[],
  holeLen: number,
): { compressed: Buffer; holeOffsets: Int32Array } {
  const n = src.length;
  const hole = new Uint8Array(n);
  for (const h of holeStarts) hole.fill(1, h, h + holeLen);
  const out = Buffer.alloc(16 + n + Math.ceil(n / 6));
  let o = 0;
  for (let v = n; ; ) {
    if (v < 0x80) {
      out[o++] = v;
      break;
    }
    out[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  const holeOffsets = new Int32Array(holeStarts.length);
  let nextHole = 0;
  const emitLiteral = (from: number, to: number) => {
    const len = to - from;
    if (len <= 0) return;
    const m = len - 1;
    if (m < 60) out[o++] = m << 2;
    else if (m < 0x100) {
      out[o++] = 60 << 2;
      out[o++] = m;
    } else if (m < 0x10000) {
      out[o++] = 61 << 2;
      out[o++] = m & 0xff;
      out[o++] = m >>> 8;
    } else {
      out[o++] = 62 << 2;
      out[o++] = m & 0xff;
      out[o++] = (m >>> 8) & 0xff;
      out[o++] = m >>> 16;
    }
    while (nextHole < holeStarts.length && holeStarts[nextHole]! < to) {
      holeOffsets[nextHole] = o + (holeStarts[nextHole]! - from);
      nextHole++;
    }
    out.set(src.subarray(from, to), o);
    o += len;
  };
  const emitCopy = (offset: number, len: number) => {
    // Copy-2 elements hold 1..64 bytes; keep every piece >= 4 like the reference encoder.
    while (len >= 68) {
      copy2(offset, 64);
      len -= 64;
    }
    if (len > 64) {
      copy2(offset, 60);
      len -= 60;
    }
    copy2(offset, len);
  };
  const copy2 = (offset: number, len: number) => {
    out[o++] = 2 | ((len - 1) << 2);
    out[o++] = offset & 0xff;
    out[o++] = offset >>> 8;
  };
  const table = new Int32Array(1 << 15).fill(-1);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const noHole4 = (p: number) => (hole[p] | hole[p + 1] | hole[p + 2] | hole[p + 3]) === 0;
  let lit = 0;
  let i = 0;
  while (i + 4 <= n) {
    if (!noHole4(i)) {
      i++;
      continue;
    }
    const word = view.getUint32(i, true);
    const h = Math.imul(word, 0x1e35a7bd) >>> 17;
    const cand = table[h]!;
    table[h] = i;
    if (cand >= 0 && i - cand <= 0xffff && view.getUint32(cand, true) === word && noHole4(cand)) {
      let len = 4;
      while (i + len < n && hole[i + len] === 0 && hole[cand + len] === 0 && src[i + len] === src[cand + len]) len++;
      emitLiteral(lit, i);
      emitCopy(i - cand, len);
      i += len;
      lit = i;
    } else i++;
  }
  emitLiteral(lit, n);
  if (nextHole !== holeStarts.length) throw new Error('a hole was not emitted as a literal');
  return { compressed: Buffer.from(out.subarray(0, o)), holeOffsets };
}
