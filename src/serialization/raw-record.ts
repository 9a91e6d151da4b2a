import { PromspoolError } from '../errors.js';
import type { RawWriteRequestScan } from '../wire/rw1-raw-scan.js';
import { uncompressBlock } from '../wire/snappy.js';
import { readInt64, readLength, varintCursor } from '../wire/varint-reader.js';
import { MAX_RECORD_BYTES, type RawSeries, type SignalRecord } from './types.js';

/**
 * Record kind 2: a remote-write 1.0 request stored as the snappy block it arrived in, for the
 * relay path. Nothing is decoded or re-encoded on the way in; the reader uncompresses the block
 * and finds each series' `TimeSeries` bytes, which the 1.0 writer copies to the wire unchanged.
 * Sample columns and label strings are decoded only when something needs them. Only requests that {@link scanWriteRequestV1}
 * accepts are stored this way (validated labels, sorted, samples only), so a reader can trust
 * their shape; it still checks every bound, since a file can be damaged.
 *
 * Layout (little-endian):
 *
 * | offset | size | content |
 * |---|---|---|
 * | 0 | 4 | magic `50 53 52 FF` ("PSR", 0xFF). As the u32 length prefix of a kind-1 record (an lz4 block) it reads 0xFF525350, above any length a kind-1 reader accepts, so an older reader counts the record as corrupt instead of misreading it |
 * | 4 | 1 | raw format version (1) |
 * | 5 | 3 | zero (reserved) |
 * | 8 | 4 | series count N (>= 1) |
 * | 12 | 4 | sample count |
 * | 16 | 8 | oldest sample timestamp, ms (f64) |
 * | 24 | 8 | newest sample timestamp, ms (f64) |
 * | 32 | 4 | snappy block length B |
 * | 36 | 4N | per series, the label hash of `hashLabelPairs` (u32): what shards it |
 * | 36+4N | 4N | per series, its sample count (u32) |
 * | 36+8N | B | the request body as received: a snappy block of a 1.0 `WriteRequest` |
 */
export const RAW_RECORD_MAGIC = [0x50, 0x53, 0x52, 0xff] as const;
export const RAW_RECORD_VERSION = 1;
const HEADER_BYTES = 36;

function corrupt(message: string, cause?: unknown): PromspoolError {
  return new PromspoolError(
    'ERR_CORRUPT_RECORD',
    `corrupt raw record: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** True when `payload` starts with the kind-2 magic. */
export function isRawRecord(payload: Uint8Array): boolean {
  return (
    payload.length >= 4 &&
    payload[0] === RAW_RECORD_MAGIC[0] &&
    payload[1] === RAW_RECORD_MAGIC[1] &&
    payload[2] === RAW_RECORD_MAGIC[2] &&
    payload[3] === RAW_RECORD_MAGIC[3]
  );
}

/** Builds a kind-2 payload from the compressed body as received and its scan. */
export function encodeRawRecord(snappyBody: Uint8Array, scan: RawWriteRequestScan): Uint8Array {
  const n = scan.series;
  const out = Buffer.allocUnsafe(HEADER_BYTES + 8 * n + snappyBody.length);
  out[0] = RAW_RECORD_MAGIC[0];
  out[1] = RAW_RECORD_MAGIC[1];
  out[2] = RAW_RECORD_MAGIC[2];
  out[3] = RAW_RECORD_MAGIC[3];
  out[4] = RAW_RECORD_VERSION;
  out[5] = 0;
  out[6] = 0;
  out[7] = 0;
  out.writeUInt32LE(n, 8);
  out.writeUInt32LE(scan.samples, 12);
  out.writeDoubleLE(scan.minTimestampMs, 16);
  out.writeDoubleLE(scan.maxTimestampMs, 24);
  out.writeUInt32LE(snappyBody.length, 32);
  const hashes = scan.hashes;
  const counts = scan.sampleCounts;
  let o = HEADER_BYTES;
  for (let i = 0; i < n; i++, o += 4) out.writeUInt32LE(hashes[i], o);
  for (let i = 0; i < n; i++, o += 4) out.writeUInt32LE(counts[i], o);
  out.set(snappyBody, o);
  return out;
}

/** Signals in a kind-2 payload, from its header. Throws `ERR_CORRUPT_RECORD` on a short or foreign header. */
export function countRawRecordSignals(payload: Uint8Array): number {
  return readHeader(payload).samples;
}

interface RawHeader {
  series: number;
  samples: number;
  minTimestampMs: number;
  maxTimestampMs: number;
  bodyStart: number;
}

function readHeader(payload: Uint8Array): RawHeader {
  if (!isRawRecord(payload)) throw corrupt('bad magic');
  if (payload.length < HEADER_BYTES) throw corrupt(`${payload.length} bytes, shorter than the header`);
  if (payload[4] !== RAW_RECORD_VERSION) throw corrupt(`unknown raw format version ${payload[4]}`);
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const series = view.readUInt32LE(8);
  const samples = view.readUInt32LE(12);
  const bodyLength = view.readUInt32LE(32);
  const bodyStart = HEADER_BYTES + 8 * series;
  if (series === 0) throw corrupt('no series');
  if (bodyStart + bodyLength !== payload.length) {
    throw corrupt(`${payload.length} bytes, header says ${bodyStart + bodyLength}`);
  }
  return {
    series,
    samples,
    minTimestampMs: view.readDoubleLE(16),
    maxTimestampMs: view.readDoubleLE(24),
    bodyStart,
  };
}

/**
 * Decodes a kind-2 payload into a {@link SignalRecord} with {@link SignalRecord.rawSeries}: it
 * uncompresses the body and finds where each series is, nothing more. Throws `PromspoolError`
 * `ERR_CORRUPT_RECORD` on anything that does not add up.
 */
export function decodeRawRecord(payload: Uint8Array): SignalRecord {
  const header = readHeader(payload);
  const { series, samples, bodyStart } = header;
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  let body: Buffer;
  try {
    body = uncompressBlock(payload.subarray(bodyStart), MAX_RECORD_BYTES);
  } catch (err) {
    throw corrupt((err as Error).message, err);
  }
  // Copied out: the payload's offset need not be 4-aligned for a Uint32Array view.
  const seriesHash = new Uint32Array(series);
  const sampleOffsets = new Uint32Array(series + 1);
  let o = HEADER_BYTES;
  for (let i = 0; i < series; i++, o += 4) seriesHash[i] = view.readUInt32LE(o);
  for (let i = 0; i < series; i++, o += 4) sampleOffsets[i + 1] = sampleOffsets[i] + view.readUInt32LE(o);
  if (sampleOffsets[series] !== samples)
    throw corrupt(`series sample counts add up to ${sampleOffsets[series]}, header says ${samples}`);
  const start = new Uint32Array(series);
  const end = new Uint32Array(series);
  const len = body.length;
  let pos = 0;
  for (let s = 0; s < series; s++) {
    if (pos >= len || body[pos] !== 0x0a) throw corrupt(`series ${s}: expected a timeseries field at byte ${pos}`);
    const stop = readLen(body, pos + 1, len);
    if (stop < 0) throw corrupt(`series ${s}: bad length at byte ${pos}`);
    start[s] = varintCursor.end;
    end[s] = stop;
    pos = stop;
  }
  if (pos !== len) throw corrupt(`${len - pos} bytes after the last series`);
  return new RawRecord(series, seriesHash, sampleOffsets, samples, body, start, end, header);
}

/**
 * A class, not an object literal with a getter: such a literal is created in dictionary mode, and
 * the send path reads these fields for every series it copies.
 */
class RawSeriesBytes implements RawSeries {
  intact = true;
  private foundLabelsEnd: Uint32Array | undefined = undefined;

  constructor(
    readonly bytes: Buffer,
    readonly start: Uint32Array,
    readonly end: Uint32Array,
    readonly minTimestampMs: number,
    readonly maxTimestampMs: number,
  ) {}

  get labelsEnd(): Uint32Array {
    if (this.foundLabelsEnd === undefined) this.foundLabelsEnd = findLabelsEnd(this.bytes, this.start, this.end);
    return this.foundLabelsEnd;
  }
}

/** The columns and label strings of a kind-2 record, decoded from its bytes on first access. */
class RawRecord implements SignalRecord {
  readonly histograms = [];
  readonly exemplars = [];
  readonly metadata = [];
  readonly histogramOffsets: Uint32Array;
  readonly exemplarOffsets: Uint32Array;
  readonly rawSeries: RawSeries;
  private columns: { timestamps: Float64Array; values: Float64Array } | undefined;
  private labels: { strings: string[]; labelOffsets: Uint32Array; labelRefs: Uint32Array } | undefined;

  constructor(
    readonly seriesCount: number,
    readonly seriesHash: Uint32Array,
    readonly sampleOffsets: Uint32Array,
    private readonly sampleCount: number,
    bytes: Buffer,
    start: Uint32Array,
    end: Uint32Array,
    header: RawHeader,
  ) {
    this.histogramOffsets = new Uint32Array(seriesCount + 1);
    this.exemplarOffsets = this.histogramOffsets;
    this.rawSeries = new RawSeriesBytes(bytes, start, end, header.minTimestampMs, header.maxTimestampMs);
  }

  get timestamps(): Float64Array {
    return this.decodedColumns().timestamps;
  }
  set timestamps(value: Float64Array) {
    this.decodedColumns().timestamps = value;
  }
  get values(): Float64Array {
    return this.decodedColumns().values;
  }
  set values(value: Float64Array) {
    this.decodedColumns().values = value;
  }
  get strings(): string[] {
    return this.decodedLabels().strings;
  }
  set strings(value: string[]) {
    this.decodedLabels().strings = value;
  }
  get labelOffsets(): Uint32Array {
    return this.decodedLabels().labelOffsets;
  }
  get labelRefs(): Uint32Array {
    return this.decodedLabels().labelRefs;
  }

  private decodedColumns(): { timestamps: Float64Array; values: Float64Array } {
    if (this.columns === undefined) this.columns = decodeSamples(this.rawSeries, this.sampleOffsets, this.sampleCount);
    return this.columns;
  }

  private decodedLabels(): { strings: string[]; labelOffsets: Uint32Array; labelRefs: Uint32Array } {
    if (this.labels === undefined) this.labels = decodeRawLabels(this.rawSeries, this.seriesCount);
    return this.labels;
  }
}

/** Where each series' label fields end: at its first field that is not a label. */
function findLabelsEnd(b: Uint8Array, start: Uint32Array, end: Uint32Array): Uint32Array {
  const out = new Uint32Array(start.length);
  for (let s = 0; s < start.length; s++) {
    let pos = start[s];
    const stop = end[s];
    while (pos < stop && b[pos] === 0x0a) {
      const labelStop = readLen(b, pos + 1, stop);
      if (labelStop < 0) break; // the writer validated it; a damaged file is caught by its CRC
      pos = labelStop;
    }
    out[s] = pos;
  }
  return out;
}

/**
 * The sample columns of a kind-2 record. Never throws: the scan that admitted the request
 * checked every sample's shape, and the CRC guards the file; a sample that does not parse
 * anyway is left 0 rather than failing a send loop.
 */
function decodeSamples(
  raw: RawSeries,
  sampleOffsets: Uint32Array,
  samples: number,
): { timestamps: Float64Array; values: Float64Array } {
  const timestamps = new Float64Array(samples);
  const values = new Float64Array(samples);
  const valueBytes = new Uint8Array(values.buffer);
  const body = raw.bytes;
  const labelsEnd = raw.labelsEnd;
  for (let s = 0; s < raw.start.length; s++) {
    let pos = labelsEnd[s];
    const stop = raw.end[s];
    let k = sampleOffsets[s];
    const kEnd = sampleOffsets[s + 1];
    while (pos < stop && k < kEnd && body[pos] === 0x12) {
      const sampleStop = readLen(body, pos + 1, stop);
      if (sampleStop < 0) break;
      pos = varintCursor.end;
      while (pos < sampleStop) {
        const tag = body[pos++];
        if (tag === 0x09 && pos + 8 <= sampleStop) {
          const o = k * 8;
          for (let b = 0; b < 8; b++) valueBytes[o + b] = body[pos + b];
          pos += 8;
        } else if (tag === 0x10) {
          const ts = readInt64(body, pos, sampleStop);
          if (varintCursor.end < 0) break;
          timestamps[k] = ts;
          pos = varintCursor.end;
        } else {
          break;
        }
      }
      pos = sampleStop;
      k++;
    }
  }
  return { timestamps, values };
}

/** The string-table form of raw label bytes; names and values are deduplicated. */
function decodeRawLabels(
  raw: RawSeries,
  seriesCount: number,
): { strings: string[]; labelOffsets: Uint32Array; labelRefs: Uint32Array } {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const labelOffsets = new Uint32Array(seriesCount + 1);
  const refs: number[] = [];
  const b = Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
  const labelsEnd = raw.labelsEnd;
  for (let s = 0; s < seriesCount; s++) {
    let pos = raw.start[s];
    const stop = labelsEnd[s];
    while (pos < stop) {
      const labelStop = readLen(b, pos + 1, stop);
      if (labelStop < 0) break;
      pos = varintCursor.end;
      let name = '';
      let value = '';
      while (pos < labelStop) {
        const tag = b[pos];
        const fieldStop = readLen(b, pos + 1, labelStop);
        if (fieldStop < 0) break;
        const text = b.toString('utf8', varintCursor.end, fieldStop);
        if (tag === 0x0a) name = text;
        else if (tag === 0x12) value = text;
        pos = fieldStop;
      }
      pos = labelStop;
      refs.push(ref(name), ref(value));
    }
    labelOffsets[s + 1] = refs.length / 2;
  }
  return { strings, labelOffsets, labelRefs: Uint32Array.from(refs) };
}

/**
 * Reads a length varint at `pos` and returns where the delimited field ends (`varintCursor.end` is
 * where it starts), or -1 when the varint is bad or the field passes `limit`.
 */
function readLen(b: Uint8Array, pos: number, limit: number): number {
  const len = readLength(b, pos, limit);
  if (len < 0) return -1;
  const end = varintCursor.end + len;
  return end <= limit ? end : -1;
}
