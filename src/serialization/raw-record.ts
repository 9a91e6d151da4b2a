import { PromspoolError } from '../errors.js';
import type { RawWriteRequestScan } from '../wire/rw1-raw-scan.js';
import {
  compressBlock,
  joinedSnappyLength,
  joinSnappyElementsInto,
  type SnappyElements,
  snappyHeaderBytes,
  snappyUncompressedLength,
  uncompressBlock,
} from '../wire/snappy.js';
import { readInt64, readLength, varintCursor } from '../wire/varint-reader.js';
import { hashRecordSeries } from './series.js';
import { MAX_RECORD_BYTES, type RawGroups, type RawSeries, type SignalRecord } from './types.js';

/**
 * Record kind 2: a remote-write 1.0 request stored as snappy-compressed `TimeSeries` bytes, for
 * the relay path. Nothing is decoded or re-encoded on the way in; the reader finds each series'
 * `TimeSeries` bytes, which the 1.0 writer copies to the wire unchanged. Sample columns and label
 * strings are decoded only when something needs them. Only requests that {@link scanWriteRequestV1}
 * accepts are stored this way (validated labels, sorted, samples only), so a reader can trust
 * their shape; it still checks every bound, since a file can be damaged.
 *
 * Version 2 (written now) groups the series: group `g` of `G` holds, in their order of arrival,
 * exactly the series whose virtual shard `v = hash & 0xff` has `v % G === g`, and its bytes are a
 * run of snappy elements that uncompresses on its own. The writer picks `G` as the relay route says
 * (`src/relay/relay-route.ts`: 1, or `STORED_GROUPS`, so that group `g` holds the virtual
 * shards with `storedGroupOf(v) = g`; older builds wrote other counts). A group whose virtual shards one send loop owns goes out as it is:
 * {@link joinSnappyElements} puts several groups into one request body without uncompressing or
 * compressing anything. With `G = 1` the block is the request's body as received. Version 1 (one
 * block as received, no group table, label hash version 1) is still read: its hashes are
 * recomputed from its labels, so its series shard like today's.
 *
 * Version 3 is version 2 plus what write relabeling at ingest did (src/relay/ingest-relabel.ts):
 * the series stored are the ones the rules kept, with the labels the rules gave them; the header
 * names the rule set (its digest) and a table after the counts lists each dropped series' label
 * hash (the received labels': its virtual shard) and samples, so that every endpoint counts the
 * drops when it reads the record. A version-3 record may hold no series (all dropped). Only bodies
 * relabeled at ingest are written as version 3: an older build reads every other record.
 *
 * Layout (little-endian):
 *
 * | offset | size | content |
 * |---|---|---|
 * | 0 | 4 | magic `50 53 52 FF` ("PSR", 0xFF). As the u32 length prefix of a kind-1 record (an lz4 block) it reads 0xFF525350, above any length a kind-1 reader accepts, so an older reader counts the record as corrupt instead of misreading it |
 * | 4 | 1 | raw format version (2; 1 is read too) |
 * | 5 | 3 | zero (reserved) |
 * | 8 | 4 | series count N (>= 1) |
 * | 12 | 4 | sample count |
 * | 16 | 8 | oldest sample timestamp, ms (f64) |
 * | 24 | 8 | newest sample timestamp, ms (f64) |
 * | 32 | 4 | snappy block length B |
 * | 36 | 4 | group count G (>= 1; versions 2 and 3, and so are the group entries) |
 * | 40 | 8 | version 3 only: digest of the write relabel rules applied at ingest |
 * | 48 | 4 | version 3 only: dropped series D |
 * | 52 | 4 | version 3 only: zero (reserved) |
 * | T | 16G | per group: end of its series (exclusive index, cumulative), start and end of its elements in the block, their uncompressed length. T = 40 (56 in version 3) |
 * | H | 4N | per series, the label hash of `hashLabelPairs` (u32): what shards it. H = T + 16G (36 in version 1) |
 * | H+4N | 4N | per series, its sample count (u32) |
 * | H+8N | 4D | version 3: per dropped series, its received labels' hash (u32) |
 * | H+8N+4D | 4D | version 3: per dropped series, its sample count (u32) |
 * | H+8N+8D | B | one snappy block: a 1.0 `WriteRequest` of the N series, group after group |
 */
export const RAW_RECORD_MAGIC = [0x50, 0x53, 0x52, 0xff] as const;
export const RAW_RECORD_VERSION = 2;
/** The version of records relabeled at ingest (see the module comment). */
export const RAW_RECORD_VERSION_RELABELED = 3;
const DIGEST_HEX = /^[0-9a-f]{16}$/;
const V1_HEADER_BYTES = 36;
const V2_HEADER_BYTES = 40;
const V3_HEADER_BYTES = 56;
/** Bytes of a rule set's digest in a version-3 header. */
export const INGEST_RELABEL_DIGEST_BYTES = 8;
const GROUP_ENTRY_BYTES = 16;
/** The virtual shard of a hash, as `virtualShardOf` in network/types.ts computes it (256 virtual shards). */
const VSHARD_MASK = 0xff;
/** Most groups a record may have: one per virtual shard. */
export const MAX_RAW_GROUPS = VSHARD_MASK + 1;

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

/**
 * Where a record is written: `length` bytes at the start of a buffer the caller owns (e.g. a
 * pooled one the relay scan worker gets back once the record was appended). Without one, each
 * record is a new Buffer.
 */
export type RecordAllocator = (length: number) => Uint8Array;

/**
 * What write relabeling at ingest did to a kind-2 record (version 3; see the layout above):
 * the rule set it applied and the series it dropped, in their order of arrival.
 */
export interface IngestRelabelMark {
  /** The rule set's digest, {@link INGEST_RELABEL_DIGEST_BYTES} bytes as lower-case hex. */
  readonly digest: string;
  /** Per dropped series: its received labels' hash (`hashLabelPairs`), and its samples. */
  readonly droppedHashes: Uint32Array;
  readonly droppedSamples: Uint32Array;
}

/** Scratch of {@link encodeRawRecord}, reused from call to call (the writer runs one at a time). */
let reordered = Buffer.allocUnsafe(0);
let order = new Uint32Array(0);

/**
 * Builds a kind-2 payload from a request's body (`snappyBody` as received, `body` uncompressed)
 * and its scan, in `groups` groups (1 to {@link MAX_RAW_GROUPS}; see above). With
 * one group the block is `snappyBody` itself; otherwise the series are regrouped and each group
 * compressed on its own (~90 ns per series of ~220 bytes, against ~400 for copying, compressing
 * and uncompressing them again at send time).
 */
export function encodeRawRecord(
  snappyBody: Uint8Array,
  scan: RawWriteRequestScan,
  opts: { body?: Uint8Array; groups?: number; alloc?: RecordAllocator; mark?: IngestRelabelMark } = {},
): Uint8Array {
  const n = scan.series;
  const g = opts.groups ?? 1;
  if (!Number.isInteger(g) || g < 1 || g > MAX_RAW_GROUPS)
    throw new RangeError(`groups must be 1..${MAX_RAW_GROUPS}, got ${g}`);
  if (g === 1) {
    const rawLength = snappyUncompressedLength(snappyBody);
    const start = snappyHeaderBytes(snappyBody);
    if (rawLength < 0 || start < 0) throw new RangeError('encodeRawRecord: malformed snappy header');
    const parts: SnappyElements[] = [{ bytes: snappyBody, start, end: snappyBody.length, rawLength }];
    return writeRecord(scan, undefined, new Uint32Array([n]), parts, snappyBody, opts.alloc, opts.mark);
  }
  const body = opts.body;
  if (body === undefined) throw new RangeError('encodeRawRecord: grouping needs the uncompressed body');
  const starts = scan.fieldStarts;
  const hashes = scan.hashes;
  // Counting sort of the series by group, stable: each group keeps the order of arrival.
  const seriesEnd = new Uint32Array(g);
  for (let i = 0; i < n; i++) seriesEnd[(hashes[i] & VSHARD_MASK) % g]++;
  for (let k = 1; k < g; k++) seriesEnd[k] += seriesEnd[k - 1];
  if (order.length < n) order = new Uint32Array(n * 2);
  const cursor = new Uint32Array(g);
  for (let k = 1; k < g; k++) cursor[k] = seriesEnd[k - 1];
  for (let i = 0; i < n; i++) order[cursor[(hashes[i] & VSHARD_MASK) % g]++] = i;
  if (reordered.length < body.length) reordered = Buffer.allocUnsafe(body.length * 2);
  const byteEnd = new Uint32Array(g);
  // Read once: inside the loop each read was a generic property load (perf: LoadIC).
  const src = body.buffer;
  const srcStart = body.byteOffset;
  let o = 0;
  let first = 0;
  for (let k = 0; k < g; k++) {
    for (let j = first; j < seriesEnd[k]; ) {
      // Series that arrived one after another in the same group are copied as one run.
      const i = order[j++];
      let next = i + 1;
      while (j < seriesEnd[k] && order[j] === next) {
        next++;
        j++;
      }
      const len = starts[next] - starts[i];
      reordered.set(new Uint8Array(src, srcStart + starts[i], len), o);
      o += len;
    }
    first = seriesEnd[k];
    byteEnd[k] = o;
  }
  return encodeGatheredRawRecord(
    scan,
    { order: order.subarray(0, n), seriesEnd, byteEnd, bytes: reordered },
    opts.alloc,
    opts.mark,
  );
}

/**
 * {@link encodeRawRecord} for series already gathered by group (`gathered`, as the relay scan's
 * WebAssembly module writes them, or encodeRawRecord itself): each group is compressed on its own.
 * With `mark`, a version-3 record of a body relabeled at ingest.
 */
export function encodeGatheredRawRecord(
  scan: RawWriteRequestScan,
  gathered: { order: Uint32Array; seriesEnd: Uint32Array; byteEnd: Uint32Array; bytes: Uint8Array },
  alloc?: RecordAllocator,
  mark?: IngestRelabelMark,
): Uint8Array {
  const g = gathered.seriesEnd.length;
  if (g < 1 || g > MAX_RAW_GROUPS) throw new RangeError(`groups must be 1..${MAX_RAW_GROUPS}, got ${g}`);
  const parts: SnappyElements[] = [];
  let groupStart = 0;
  for (let k = 0; k < g; k++) {
    const groupEnd = gathered.byteEnd[k];
    const rawLength = groupEnd - groupStart;
    if (rawLength === 0) {
      parts.push({ bytes: EMPTY, start: 0, end: 0, rawLength: 0 });
      continue;
    }
    const block = compressBlock(gathered.bytes.subarray(groupStart, groupEnd));
    parts.push({ bytes: block, start: snappyHeaderBytes(block), end: block.length, rawLength });
    groupStart = groupEnd;
  }
  // The groups are joined straight into the record: no block of their own to allocate and copy.
  return writeRecord(scan, gathered.order, gathered.seriesEnd, parts, undefined, alloc, mark);
}

const EMPTY = new Uint8Array(0);

/**
 * The payload: header, group table, hashes and counts in `seriesOrder` (undefined: as they
 * arrived), then `block` (one group's whole snappy block) or, when undefined, the groups' element
 * runs joined under one header. Into `alloc`'s buffer when given.
 */
function writeRecord(
  scan: RawWriteRequestScan,
  seriesOrder: Uint32Array | undefined,
  seriesEnd: Uint32Array,
  parts: readonly SnappyElements[],
  block: Uint8Array | undefined,
  alloc: RecordAllocator | undefined,
  mark: IngestRelabelMark | undefined,
): Uint8Array {
  const n = scan.series;
  const g = parts.length;
  const d = mark === undefined ? 0 : mark.droppedHashes.length;
  const tableStart = mark === undefined ? V2_HEADER_BYTES : V3_HEADER_BYTES;
  const hashStart = tableStart + GROUP_ENTRY_BYTES * g;
  const blockLength = block === undefined ? joinedSnappyLength(parts) : block.length;
  const length = hashStart + 8 * n + 8 * d + blockLength;
  const out = alloc === undefined ? Buffer.allocUnsafe(length) : alloc(length);
  if (out.length !== length) throw new RangeError(`record allocator gave ${out.length} bytes for ${length}`);
  // A DataView: Buffer's writeUInt32LE is a call with checks per value (2 per series), and a
  // given buffer need not be a Buffer.
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = RAW_RECORD_MAGIC[0];
  out[1] = RAW_RECORD_MAGIC[1];
  out[2] = RAW_RECORD_MAGIC[2];
  out[3] = RAW_RECORD_MAGIC[3];
  out[4] = mark === undefined ? RAW_RECORD_VERSION : RAW_RECORD_VERSION_RELABELED;
  out[5] = 0;
  out[6] = 0;
  out[7] = 0;
  view.setUint32(8, n, true);
  view.setUint32(12, scan.samples, true);
  view.setFloat64(16, scan.minTimestampMs, true);
  view.setFloat64(24, scan.maxTimestampMs, true);
  view.setUint32(32, blockLength, true);
  view.setUint32(36, g, true);
  if (mark !== undefined) {
    if (!DIGEST_HEX.test(mark.digest)) throw new RangeError(`writeRecord: bad relabel digest ${mark.digest}`);
    out.set(Buffer.from(mark.digest, 'hex'), 40);
    view.setUint32(48, d, true);
    view.setUint32(52, 0, true);
  }
  const blockStart = hashStart + 8 * n + 8 * d;
  // Element offsets are positions in the block: after its header, group after group.
  let e = block === undefined ? joinSnappyElementsInto(parts, g, out, blockStart) : parts[0].start;
  let o = tableStart;
  for (let k = 0; k < g; k++, o += GROUP_ENTRY_BYTES) {
    const size = parts[k].end - parts[k].start;
    view.setUint32(o, seriesEnd[k], true);
    view.setUint32(o + 4, e, true);
    view.setUint32(o + 8, e + size, true);
    view.setUint32(o + 12, parts[k].rawLength, true);
    e += size;
  }
  const hashes = scan.hashes;
  const counts = scan.sampleCounts;
  if (seriesOrder === undefined) {
    for (let i = 0; i < n; i++, o += 4) view.setUint32(o, hashes[i], true);
    for (let i = 0; i < n; i++, o += 4) view.setUint32(o, counts[i], true);
  } else {
    for (let i = 0; i < n; i++, o += 4) view.setUint32(o, hashes[seriesOrder[i]], true);
    for (let i = 0; i < n; i++, o += 4) view.setUint32(o, counts[seriesOrder[i]], true);
  }
  if (mark !== undefined) {
    for (let i = 0; i < d; i++, o += 4) view.setUint32(o, mark.droppedHashes[i], true);
    for (let i = 0; i < d; i++, o += 4) view.setUint32(o, mark.droppedSamples[i], true);
  }
  if (block !== undefined) out.set(block, o);
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
  /** Where the hashes start; the counts follow them, then the block. */
  hashStart: number;
  bodyStart: number;
  /** Version 2: the group table's entries (series end, element start, element end, raw length). */
  groupCount: number;
  tableStart: number;
  /** Version 3: the rule set's digest (hex) and the dropped series (their table follows the counts). */
  digest: string | undefined;
  dropped: number;
}

function readHeader(payload: Uint8Array): RawHeader {
  if (!isRawRecord(payload)) throw corrupt('bad magic');
  if (payload.length < V1_HEADER_BYTES) throw corrupt(`${payload.length} bytes, shorter than the header`);
  const version = payload[4];
  if (version !== 1 && version !== 2 && version !== 3) throw corrupt(`unknown raw format version ${version}`);
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const series = view.readUInt32LE(8);
  const samples = view.readUInt32LE(12);
  const bodyLength = view.readUInt32LE(32);
  let groupCount = 0;
  let hashStart = V1_HEADER_BYTES;
  let tableStart = V2_HEADER_BYTES;
  let digest: string | undefined;
  let dropped = 0;
  if (version >= 2) {
    if (version === 3) {
      if (payload.length < V3_HEADER_BYTES) throw corrupt(`${payload.length} bytes, shorter than the header`);
      tableStart = V3_HEADER_BYTES;
      digest = view.toString('hex', 40, 40 + INGEST_RELABEL_DIGEST_BYTES);
      dropped = view.readUInt32LE(48);
    }
    if (payload.length < tableStart) throw corrupt(`${payload.length} bytes, shorter than the header`);
    groupCount = view.readUInt32LE(36);
    if (groupCount < 1 || groupCount > MAX_RAW_GROUPS) throw corrupt(`${groupCount} groups, not 1..${MAX_RAW_GROUPS}`);
    hashStart = tableStart + GROUP_ENTRY_BYTES * groupCount;
  }
  // Only a record relabeled at ingest may hold no series: it still carries its drops.
  if (series === 0 && (version !== 3 || dropped === 0)) throw corrupt('no series');
  const bodyStart = hashStart + 8 * series + 8 * dropped;
  if (bodyStart + bodyLength !== payload.length) {
    throw corrupt(`${payload.length} bytes, header says ${bodyStart + bodyLength}`);
  }
  return {
    series,
    samples,
    minTimestampMs: view.readDoubleLE(16),
    maxTimestampMs: view.readDoubleLE(24),
    hashStart,
    bodyStart,
    groupCount,
    tableStart,
    digest,
    dropped,
  };
}

/**
 * Decodes a kind-2 payload into a {@link SignalRecord} with {@link SignalRecord.rawSeries} (and,
 * for version 2, {@link SignalRecord.rawGroups}). It reads the hashes, counts and group table and,
 * unless `deferBody`, uncompresses the block and finds where each series is. A deferred body is
 * uncompressed on first access to `rawSeries.bytes`, `start` or `end`; call {@link loadRawBody}
 * first where a damaged block must be reported instead of thrown from the middle of a send.
 * Throws `PromspoolError` `ERR_CORRUPT_RECORD` on anything that does not add up.
 */
export function decodeRawRecord(payload: Uint8Array, opts: { deferBody?: boolean } = {}): SignalRecord {
  const header = readHeader(payload);
  const { series, samples, hashStart, bodyStart } = header;
  // Copied out: the payload's offset need not be 4-aligned for a Uint32Array view. A DataView:
  // Buffer's readUInt32LE per value was a generic call (perf: LoadIC), 2 per series.
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const seriesHash = new Uint32Array(series);
  const sampleOffsets = new Uint32Array(series + 1);
  let o = hashStart;
  for (let i = 0; i < series; i++, o += 4) seriesHash[i] = dv.getUint32(o, true);
  for (let i = 0; i < series; i++, o += 4) sampleOffsets[i + 1] = sampleOffsets[i] + dv.getUint32(o, true);
  if (sampleOffsets[series] !== samples)
    throw corrupt(`series sample counts add up to ${sampleOffsets[series]}, header says ${samples}`);
  let mark: IngestRelabelMark | undefined;
  if (header.digest !== undefined) {
    const d = header.dropped;
    const droppedHashes = new Uint32Array(d);
    const droppedSamples = new Uint32Array(d);
    for (let i = 0; i < d; i++, o += 4) droppedHashes[i] = dv.getUint32(o, true);
    for (let i = 0; i < d; i++, o += 4) droppedSamples[i] = dv.getUint32(o, true);
    mark = { digest: header.digest, droppedHashes, droppedSamples };
  }
  const block = payload.subarray(bodyStart);
  const groups = header.groupCount > 0 ? readGroups(dv, header, block, seriesHash, sampleOffsets) : undefined;
  const raw = new RawSeriesBytes(block, series, header.minTimestampMs, header.maxTimestampMs, groups);
  // Version 1 carries label hash version 1: the hashes are recomputed from the labels (see hashLabelPairs).
  const rehash = header.groupCount === 0;
  if (opts.deferBody !== true || rehash) raw.load();
  const rec = new RawRecord(series, seriesHash, sampleOffsets, samples, raw, groups, mark);
  if (rehash) hashRecordSeries(rec.strings, rec.labelOffsets, rec.labelRefs, seriesHash);
  return rec;
}

/**
 * What write relabeling at ingest did to `rec` (a version-3 kind-2 record), or undefined for
 * every other record.
 */
export function ingestRelabelOf(rec: SignalRecord): IngestRelabelMark | undefined {
  return rec instanceof RawRecord ? rec.ingestRelabel : undefined;
}

/** Uncompresses a deferred raw body now (see {@link decodeRawRecord}); throws `ERR_CORRUPT_RECORD`. */
export function loadRawBody(rec: SignalRecord): void {
  if (rec.rawSeries instanceof RawSeriesBytes) rec.rawSeries.load();
}

/** The group table of a version-2 record, checked against the block and the series' hashes. */
function readGroups(
  view: DataView,
  header: RawHeader,
  block: Uint8Array,
  seriesHash: Uint32Array,
  sampleOffsets: Uint32Array,
): RawGroups {
  const g = header.groupCount;
  const seriesEnd = new Uint32Array(g);
  const samples = new Uint32Array(g);
  const elements: SnappyElements[] = [];
  const headerBytes = snappyHeaderBytes(block);
  if (headerBytes < 0) throw corrupt('malformed snappy header');
  let prevSeries = 0;
  let prevElement = headerBytes;
  let rawTotal = 0;
  let o = header.tableStart;
  for (let k = 0; k < g; k++, o += GROUP_ENTRY_BYTES) {
    const end = view.getUint32(o, true);
    const es = view.getUint32(o + 4, true);
    const ee = view.getUint32(o + 8, true);
    const rawLength = view.getUint32(o + 12, true);
    if (end < prevSeries || end > header.series)
      throw corrupt(`group ${k} ends at series ${end}, after ${prevSeries} of ${header.series}`);
    if (es !== prevElement || ee < es || ee > block.length)
      throw corrupt(
        `group ${k} spans bytes ${es}..${ee} of a ${block.length}-byte block, expected to start at ${prevElement}`,
      );
    if ((ee === es) !== (rawLength === 0) || (end === prevSeries) !== (rawLength === 0))
      throw corrupt(`group ${k}: ${end - prevSeries} series in ${ee - es} bytes for ${rawLength} uncompressed`);
    for (let i = prevSeries; i < end; i++) {
      if ((seriesHash[i] & VSHARD_MASK) % g !== k)
        throw corrupt(`series ${i} is in group ${k} but hashes to group ${(seriesHash[i] & VSHARD_MASK) % g}`);
    }
    seriesEnd[k] = end;
    samples[k] = sampleOffsets[end] - sampleOffsets[prevSeries];
    elements.push({ bytes: block, start: es, end: ee, rawLength });
    rawTotal += rawLength;
    prevSeries = end;
    prevElement = ee;
  }
  if (prevSeries !== header.series) throw corrupt(`groups hold ${prevSeries} series, header says ${header.series}`);
  if (prevElement !== block.length) throw corrupt(`${block.length - prevElement} bytes after the last group`);
  if (rawTotal !== snappyUncompressedLength(block))
    throw corrupt(`groups uncompress to ${rawTotal} bytes, the block says ${snappyUncompressedLength(block)}`);
  return { count: g, seriesEnd, samples, elements };
}

/**
 * A class, not an object literal with a getter: such a literal is created in dictionary mode, and
 * the send path reads these fields for every series it copies. The block is uncompressed, and the
 * series found in it, on first need.
 */
class RawSeriesBytes implements RawSeries {
  intact = true;
  private body: Buffer | undefined = undefined;
  private starts: Uint32Array | undefined = undefined;
  private ends: Uint32Array | undefined = undefined;
  private foundLabelsEnd: Uint32Array | undefined = undefined;

  constructor(
    private block: Uint8Array | undefined,
    private readonly series: number,
    readonly minTimestampMs: number,
    readonly maxTimestampMs: number,
    private readonly groups: RawGroups | undefined,
  ) {}

  get bytes(): Buffer {
    if (this.body === undefined) this.load();
    return this.body as Buffer;
  }

  get start(): Uint32Array {
    if (this.starts === undefined) this.load();
    return this.starts as Uint32Array;
  }

  get end(): Uint32Array {
    if (this.ends === undefined) this.load();
    return this.ends as Uint32Array;
  }

  get labelsEnd(): Uint32Array {
    if (this.foundLabelsEnd === undefined) this.foundLabelsEnd = findLabelsEnd(this.bytes, this.start, this.end);
    return this.foundLabelsEnd;
  }

  /** Uncompresses the block and finds each series; throws `ERR_CORRUPT_RECORD`. */
  load(): void {
    if (this.body !== undefined) return;
    const series = this.series;
    let body: Buffer;
    try {
      body = uncompressBlock(this.block as Uint8Array, MAX_RECORD_BYTES);
    } catch (err) {
      throw corrupt((err as Error).message, err);
    }
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
    const groups = this.groups;
    if (groups !== undefined) {
      // Each group's series must take exactly its uncompressed length (a table whose lengths were
      // swapped still adds up to the block's).
      let from = 0;
      for (let k = 0; k < groups.count; k++) {
        const last = groups.seriesEnd[k];
        const to = last === 0 ? 0 : end[last - 1];
        if (to - from !== groups.elements[k].rawLength)
          throw corrupt(
            `group ${k}: its series take ${to - from} bytes, the table says ${groups.elements[k].rawLength}`,
          );
        from = to;
      }
    }
    this.body = body;
    this.starts = start;
    this.ends = end;
    // The uncompressed bytes are all a reader needs from now on; the groups keep their own view.
    this.block = undefined;
  }
}

/** The columns and label strings of a kind-2 record, decoded from its bytes on first access. */
class RawRecord implements SignalRecord {
  readonly histograms = [];
  readonly exemplars = [];
  readonly metadata = [];
  readonly histogramOffsets: Uint32Array;
  readonly exemplarOffsets: Uint32Array;
  private columns: { timestamps: Float64Array; values: Float64Array } | undefined;
  private labels: { strings: string[]; labelOffsets: Uint32Array; labelRefs: Uint32Array } | undefined;

  constructor(
    readonly seriesCount: number,
    readonly seriesHash: Uint32Array,
    readonly sampleOffsets: Uint32Array,
    private readonly sampleCount: number,
    readonly rawSeries: RawSeriesBytes,
    readonly rawGroups: RawGroups | undefined,
    readonly ingestRelabel: IngestRelabelMark | undefined,
  ) {
    this.histogramOffsets = new Uint32Array(seriesCount + 1);
    this.exemplarOffsets = this.histogramOffsets;
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
  for (let s = 0; s < seriesCount; s++) {
    const pairs = rawSeriesLabels(raw, s);
    for (let k = 0; k < pairs.length; k++) refs.push(ref(pairs[k]));
    labelOffsets[s + 1] = refs.length / 2;
  }
  return { strings, labelOffsets, labelRefs: Uint32Array.from(refs) };
}

/**
 * Series `s`'s labels as `[name, value, ...]`, read from its stored label fields (`{name, value}`
 * pairs the receiver's scan checked; a damaged file is caught by its CRC).
 */
export function rawSeriesLabels(raw: RawSeries, s: number): string[] {
  const out: string[] = [];
  const bytes = raw.bytes;
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = raw.start[s];
  const stop = raw.labelsEnd[s];
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
    out.push(name, value);
  }
  return out;
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
