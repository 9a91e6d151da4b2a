import { Decoder, Encoder } from '@msgpack/msgpack';
import { compress, compressSync, uncompressSync } from 'lz4-napi';
import { PromspoolError } from '../errors.js';
import { CUSTOM_BUCKETS_SCHEMA } from './histogram-validation.js';
import { countRawRecordSignals, decodeRawRecord, isRawRecord } from './raw-record.js';
import { hashRecordSeries } from './series.js';
import { restoreStaleMarker } from './stale-marker.js';
import {
  type BucketSpan,
  type ExemplarEntry,
  type HistogramEntry,
  isMetricType,
  MAX_RECORD_BYTES,
  type MetadataEntry,
  type MetricType,
  type NativeHistogram,
  type SignalRecord,
} from './types.js';

/**
 * Record payload = lz4 block (lz4-napi `compressSync`: uncompressed length as u32 LE, then the
 * block) of msgpack of one map. Format version 1 keys (short, since the map is written per record):
 *
 * | key | content |
 * |-----|---------|
 * | `v` | format version (2; 1 is read too); always the first key. Version 2: `sh` holds label hash version 2 (see `hashLabelPairs`); a version-1 record's hashes are recomputed from its labels when read |
 * | `n` | signal count (samples + histograms + exemplars + metadata); always the second key |
 * | `s` `sl` | string table: all strings concatenated into one msgpack string (one UTF-8 encode instead of one per string), and their lengths in UTF-16 code units as u32 bytes |
 * | `lo` `lr` `sh` `so` | labelOffsets, labelRefs, seriesHash, sampleOffsets: u32 LE raw bytes |
 * | `t` `x` | sample timestamps and values: f64 LE raw bytes (NaN payloads such as the stale marker survive) |
 * | `ho` | histogramOffsets, u32 bytes |
 * | `ht` | histogram timestamps, f64 bytes |
 * | `hf` | per histogram 4 f64: count, sum, zeroThreshold, zeroCount (raw, so a stale-marker sum survives) |
 * | `h` | per histogram `[flags, schema, posSpans, negSpans, posBuckets, negBuckets]`; flags bit 0 = float, bits 1-2 = reset hint; spans flattened `[offset, length, ...]`; buckets = deltas (int) or counts (float) |
 * | `eo` | exemplarOffsets (per series), u32 bytes |
 * | `el` | exemplar label offsets (per exemplar, in pairs, length exemplars+1), u32 bytes |
 * | `er` `et` `ev` | exemplar label refs (u32), timestamps (f64), values (f64) |
 * | `m` | metadata, flat `[familyName, type, help, unit, ...]` |
 * | `si` `sc` | optional (added within version 1; older readers ignore them): seriesIds as u32 bytes and their scope, a number below 2^48 |
 * | `hco` `hcv` | version 3, only in records holding custom-bucket histograms (schema -53): per histogram the start of its custom values (u32 bytes, histograms + 1 offsets) and the values (f64 bytes) |
 *
 * Readers must accept every older version; a new field gets a new key, a changed meaning a new version.
 * A record holding custom-bucket histograms is written as version 3 (the keys `hco` `hcv` added):
 * a reader that predates them would send those histograms without their bounds, so it must count
 * the record as corrupt (it refuses versions it does not know) instead. Every other record is
 * still written as version 2, which such a reader reads as before.
 */
export const RECORD_FORMAT_VERSION = 3;
/** Written for records without custom-bucket histograms: see {@link RECORD_FORMAT_VERSION}. */
const RECORD_FORMAT_VERSION_WITHOUT_CUSTOM_BUCKETS = 2;

export { MAX_RECORD_BYTES };

const encoder = new Encoder({ initialBufferSize: 1 << 20 });
// A length header larger than the record is refused before anything is allocated for it.
const decoder = new Decoder({
  maxArrayLength: MAX_RECORD_BYTES,
  maxMapLength: MAX_RECORD_BYTES,
  maxStrLength: MAX_RECORD_BYTES,
  maxBinLength: MAX_RECORD_BYTES,
  maxExtLength: MAX_RECORD_BYTES,
});

/** A whole msgpack message (nil), decoded to make the decoder let go of its last input. */
const MSGPACK_NIL = new Uint8Array([0xc0]);

function corrupt(message: string, cause?: unknown): PromspoolError {
  return new PromspoolError(
    'ERR_CORRUPT_RECORD',
    `corrupt record: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

const HIST_FLOAT = 1;

function flattenSpans(spans: readonly BucketSpan[]): number[] {
  const out = new Array<number>(spans.length * 2);
  for (let i = 0; i < spans.length; i++) {
    out[2 * i] = spans[i].offset;
    out[2 * i + 1] = spans[i].length;
  }
  return out;
}

/**
 * Encodes a record to its on-disk payload (see {@link RECORD_FORMAT_VERSION} for the layout).
 * The returned buffer is new (not shared). Synchronous: the Serializer builds, encodes and hands
 * over one record per step.
 */
export function encodeRecord(r: SignalRecord): Uint8Array {
  const msg = encodeRecordMessage(r);
  return compressSync(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
}

/**
 * {@link encodeRecord} with the lz4 step on the libuv pool: the msgpack encoding happens now (so
 * `r`'s scratch columns may be reused as soon as this returns), the compression (~1.3 ms for a
 * 10,000-series record, measured) off the event loop. Same bytes as `encodeRecord`.
 * (`compressSync` here instead, for all records or those under 1 MiB, measured worse or bimodal on
 * the daemon: see docs/performance.md, scraping.)
 */
export function encodeRecordAsync(r: SignalRecord): Promise<Uint8Array> {
  const msg = encodeRecordMessage(r);
  // The encoder's buffer is shared with the next encode: the pool thread gets its own copy.
  return compress(Buffer.from(msg));
}

function encodeRecordMessage(r: SignalRecord): Uint8Array {
  const hcount = r.histograms.length;
  const ht = new Float64Array(hcount);
  const hf = new Float64Array(hcount * 4);
  const hfBits = new Uint32Array(hf.buffer);
  const h = new Array<unknown[]>(hcount);
  let customTotal = -1;
  for (let i = 0; i < hcount; i++) {
    const e = r.histograms[i];
    const hist = e.histogram;
    ht[i] = e.timestampMs;
    hf[4 * i] = hist.count;
    hf[4 * i + 1] = hist.sum;
    restoreStaleMarker(hfBits, 4 * i + 1);
    hf[4 * i + 2] = hist.zeroThreshold;
    hf[4 * i + 3] = hist.zeroCount;
    h[i] = [
      (hist.isFloat ? HIST_FLOAT : 0) | ((hist.resetHint ?? 0) << 1),
      hist.schema,
      flattenSpans(hist.positiveSpans),
      flattenSpans(hist.negativeSpans),
      (hist.isFloat ? hist.positiveCounts : hist.positiveDeltas) ?? [],
      (hist.isFloat ? hist.negativeCounts : hist.negativeDeltas) ?? [],
    ];
    if (hist.schema === CUSTOM_BUCKETS_SCHEMA || (hist.customValues?.length ?? 0) > 0) {
      customTotal = Math.max(customTotal, 0) + (hist.customValues?.length ?? 0);
    }
  }
  const custom = customTotal < 0 ? undefined : customValueColumns(r.histograms, customTotal);
  const ecount = r.exemplars.length;
  const el = new Uint32Array(ecount + 1);
  const et = new Float64Array(ecount);
  const ev = new Float64Array(ecount);
  let refTotal = 0;
  for (let i = 0; i < ecount; i++) refTotal += r.exemplars[i].labelRefs.length;
  const er = new Uint32Array(refTotal);
  refTotal = 0;
  for (let i = 0; i < ecount; i++) {
    const e = r.exemplars[i];
    er.set(e.labelRefs, refTotal);
    refTotal += e.labelRefs.length;
    el[i + 1] = refTotal >>> 1;
    et[i] = e.timestampMs;
    ev[i] = e.value;
  }
  const m = new Array<string>(r.metadata.length * 4);
  for (let i = 0; i < r.metadata.length; i++) {
    const e = r.metadata[i];
    m[4 * i] = e.metricFamilyName;
    m[4 * i + 1] = e.type;
    m[4 * i + 2] = e.help;
    m[4 * i + 3] = e.unit;
  }
  return encoder.encodeSharedRef({
    v: custom === undefined ? RECORD_FORMAT_VERSION_WITHOUT_CUSTOM_BUCKETS : RECORD_FORMAT_VERSION,
    n: r.timestamps.length + hcount + ecount + r.metadata.length,
    s: joinedStrings(r.strings),
    sl: bytesOf(stringLengths(r.strings)),
    lo: bytesOf(r.labelOffsets),
    lr: bytesOf(r.labelRefs),
    sh: bytesOf(r.seriesHash),
    so: bytesOf(r.sampleOffsets),
    t: bytesOf(r.timestamps),
    x: bytesOf(r.values),
    ho: bytesOf(r.histogramOffsets),
    ht: bytesOf(ht),
    hf: bytesOf(hf),
    h,
    eo: bytesOf(r.exemplarOffsets),
    el: bytesOf(el),
    er: bytesOf(er),
    et: bytesOf(et),
    ev: bytesOf(ev),
    m,
    ...(r.seriesIds === undefined || r.seriesIdScope === undefined
      ? {}
      : { si: bytesOf(r.seriesIds), sc: r.seriesIdScope }),
    ...(custom === undefined ? {} : { hco: bytesOf(custom.offsets), hcv: bytesOf(custom.values) }),
  });
}

/** The `hco` and `hcv` columns: every histogram's custom values (none for exponential ones), back to back. */
function customValueColumns(
  histograms: readonly HistogramEntry[],
  total: number,
): { offsets: Uint32Array; values: Float64Array } {
  const offsets = new Uint32Array(histograms.length + 1);
  const values = new Float64Array(total);
  let n = 0;
  for (let i = 0; i < histograms.length; i++) {
    const cv = histograms[i].histogram.customValues;
    if (cv !== undefined) for (let j = 0; j < cv.length; j++) values[n++] = cv[j];
    offsets[i + 1] = n;
  }
  return { offsets, values };
}

/** The last string table joined, and the result: see {@link joinedStrings}. */
let lastStrings: readonly string[] = [];
let lastJoined = '';

/**
 * `strings.join('')`, remembered for the next record: an application that appends the same
 * series every interval builds the same string table in the same order every time, and joining
 * it was ~7% of the event loop on bench/library. Checking it is the same table costs one
 * comparison per string (the same interned strings, so mostly the same pointers).
 */
function joinedStrings(strings: readonly string[]): string {
  const n = strings.length;
  if (n === lastStrings.length) {
    let i = 0;
    while (i < n && strings[i] === lastStrings[i]) i++;
    if (i === n) return lastJoined;
  }
  lastJoined = strings.join('');
  // A copy: the caller may change its array later.
  lastStrings = strings.slice();
  return lastJoined;
}

let lengthScratch = new Uint32Array(4096);

function stringLengths(strings: readonly string[]): Uint32Array {
  if (lengthScratch.length < strings.length) lengthScratch = new Uint32Array(strings.length * 2);
  for (let i = 0; i < strings.length; i++) lengthScratch[i] = strings[i].length;
  return lengthScratch.subarray(0, strings.length);
}

/** The joined string table and its lengths, checked to add up; strings are cut out on demand. */
function decodeStringTable(map: Record<string, unknown>): { joined: string; lengths: Uint32Array } {
  const joined = map.s;
  if (typeof joined !== 'string') throw corrupt('field s is missing or not a string');
  const lengths = u32(map, 'sl');
  let pos = 0;
  for (let i = 0; i < lengths.length; i++) {
    pos += lengths[i];
    if (pos > joined.length) throw corrupt(`string table entry ${i} runs past the end`);
  }
  if (pos !== joined.length) throw corrupt('string table has trailing characters');
  return { joined, lengths };
}

function sliceStrings(joined: string, lengths: Uint32Array): string[] {
  const strings = new Array<string>(lengths.length);
  let pos = 0;
  for (let i = 0; i < lengths.length; i++) {
    const end = pos + lengths[i];
    strings[i] = joined.slice(pos, end);
    pos = end;
  }
  return strings;
}

function decompress(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw corrupt('payload is not bytes');
  if (payload.byteLength < 5) throw corrupt(`payload of ${payload.byteLength} bytes is too short`);
  const declared = (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
  // LZ4 expands at most ~255x; a larger claim is corruption and must not drive an allocation.
  if (declared > MAX_RECORD_BYTES || declared > (payload.byteLength - 4) * 255 + 16) {
    throw corrupt(`declared size ${declared} is impossible for ${payload.byteLength} compressed bytes`);
  }
  let out: Uint8Array;
  try {
    out = uncompressSync(payload);
  } catch (err) {
    throw corrupt(`lz4: ${(err as Error).message}`, err);
  }
  if (out.byteLength !== declared) throw corrupt(`decompressed ${out.byteLength} bytes, header says ${declared}`);
  return out;
}

function decodeMap(payload: Uint8Array): Record<string, unknown> {
  const bytes = decompress(payload);
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    throw corrupt(`msgpack: ${(err as Error).message}`, err);
  } finally {
    // The decoder keeps a view of its last input until the next decode: without this, the whole
    // decompressed record (11 MB for bench/scrape's 100,000 samples) stayed alive after release.
    decoder.decode(MSGPACK_NIL);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw corrupt('top level is not a map');
  }
  const map = value as Record<string, unknown>;
  if (map.v !== RECORD_FORMAT_VERSION && map.v !== 2 && map.v !== 1)
    throw corrupt(`unsupported format version ${String(map.v)}`);
  return map;
}

function bin(map: Record<string, unknown>, key: string): Uint8Array {
  const v = map[key];
  if (!(v instanceof Uint8Array)) throw corrupt(`field ${key} is missing or not bytes`);
  return v;
}

function u32(map: Record<string, unknown>, key: string): Uint32Array {
  const b = bin(map, key);
  if (b.byteLength % 4 !== 0) throw corrupt(`field ${key} has ${b.byteLength} bytes, not a multiple of 4`);
  // Decoded bytes view the decompressed buffer at any offset: copy to an aligned buffer.
  const out = new Uint32Array(b.byteLength >>> 2);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function f64(map: Record<string, unknown>, key: string): Float64Array {
  const b = bin(map, key);
  if (b.byteLength % 8 !== 0) throw corrupt(`field ${key} has ${b.byteLength} bytes, not a multiple of 8`);
  const out = new Float64Array(b.byteLength >>> 3);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function array(map: Record<string, unknown>, key: string): unknown[] {
  const v = map[key];
  if (!Array.isArray(v)) throw corrupt(`field ${key} is missing or not an array`);
  return v;
}

/** Checks offsets start at 0, never decrease, and end at `total` (in units of `unit` elements). */
function checkOffsets(key: string, offsets: Uint32Array, entries: number, total: number): void {
  if (offsets.length !== entries + 1)
    throw corrupt(`field ${key} has ${offsets.length} offsets for ${entries} entries`);
  if (offsets[0] !== 0) throw corrupt(`field ${key} does not start at 0`);
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i] < offsets[i - 1]) throw corrupt(`field ${key} decreases at ${i}`);
  }
  if (offsets[entries] !== total) throw corrupt(`field ${key} ends at ${offsets[entries]}, expected ${total}`);
}

/**
 * Every ref names a string. Checked through the largest ref: a branch-free loop the CPU runs at
 * about twice the speed of one that tests each ref (records of one sample per series carry ~20
 * refs per sample, so this ran at 3% of the delivery worker's time).
 */
function checkRefs(key: string, refs: Uint32Array, strings: number): void {
  let max = 0;
  const n = refs.length;
  for (let i = 0; i < n; i++) {
    const v = refs[i];
    max = v > max ? v : max;
  }
  if (n > 0 && max >= strings) throw corrupt(`field ${key} refers to string ${max} of ${strings}`);
}

function numbers(v: unknown, what: string, integers: boolean): number[] {
  if (!Array.isArray(v)) throw corrupt(`${what} is not an array`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || (integers && !Number.isInteger(x))) throw corrupt(`${what} holds a non-number`);
  }
  return v as number[];
}

function spans(v: unknown, what: string): BucketSpan[] {
  const flat = numbers(v, what, true);
  if (flat.length % 2 !== 0) throw corrupt(`${what} has odd length`);
  const out = new Array<BucketSpan>(flat.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = { offset: flat[2 * i], length: flat[2 * i + 1] };
  return out;
}

function decodeHistograms(map: Record<string, unknown>, count: number): HistogramEntry[] {
  const h = array(map, 'h');
  const ht = f64(map, 'ht');
  const hf = f64(map, 'hf');
  if (h.length !== count || ht.length !== count || hf.length !== count * 4) {
    throw corrupt(`histogram columns disagree: ${h.length}, ${ht.length}, ${hf.length / 4} for ${count}`);
  }
  const out = new Array<HistogramEntry>(count);
  for (let i = 0; i < count; i++) {
    const row = h[i];
    if (!Array.isArray(row) || row.length !== 6) throw corrupt(`histogram ${i} is not a 6-element array`);
    const [flags, schema] = row;
    if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 7) {
      throw corrupt(`histogram ${i} has bad flags`);
    }
    if (typeof schema !== 'number' || !Number.isInteger(schema)) throw corrupt(`histogram ${i} has bad schema`);
    const isFloat = (flags & HIST_FLOAT) !== 0;
    const hist: NativeHistogram = {
      isFloat,
      count: hf[4 * i],
      sum: hf[4 * i + 1],
      schema,
      zeroThreshold: hf[4 * i + 2],
      zeroCount: hf[4 * i + 3],
      positiveSpans: spans(row[2], `histogram ${i} positive spans`),
      negativeSpans: spans(row[3], `histogram ${i} negative spans`),
      resetHint: (flags >>> 1) as 0 | 1 | 2 | 3,
    };
    const pos = numbers(row[4], `histogram ${i} positive buckets`, !isFloat);
    const neg = numbers(row[5], `histogram ${i} negative buckets`, !isFloat);
    if (isFloat) {
      hist.positiveCounts = pos;
      hist.negativeCounts = neg;
    } else {
      hist.positiveDeltas = pos;
      hist.negativeDeltas = neg;
    }
    out[i] = { timestampMs: ht[i], histogram: hist };
  }
  if (map.hco !== undefined || map.hcv !== undefined) decodeCustomValues(map, out);
  return out;
}

/** Reads `hco`/`hcv` into the histograms: custom-bucket ones get theirs (possibly none), others only if they have some. */
function decodeCustomValues(map: Record<string, unknown>, histograms: HistogramEntry[]): void {
  const offsets = u32(map, 'hco');
  const values = f64(map, 'hcv');
  checkOffsets('hco', offsets, histograms.length, values.length);
  for (let i = 0; i < histograms.length; i++) {
    const h = histograms[i].histogram;
    if (h.schema === CUSTOM_BUCKETS_SCHEMA || offsets[i + 1] > offsets[i]) {
      h.customValues = Array.from(values.subarray(offsets[i], offsets[i + 1]));
    }
  }
}

type DecodedColumns = Omit<SignalRecord, 'strings' | 'seriesIds' | 'seriesIdScope' | 'rawSeries'>;

/**
 * A decoded record. A class with every field set in the constructor, so all decoded records share
 * one hidden class: the object literal with a `strings` accessor this replaced was created in
 * dictionary mode, which turned every column read on the send path (per series, per slice) into a
 * hash lookup. A reader whose per-series work is cached by series id never needs the strings:
 * cutting them out (one string per label value per series) waits for the first access.
 */
class DecodedRecord implements SignalRecord {
  seriesCount: number;
  labelOffsets: Uint32Array;
  labelRefs: Uint32Array;
  seriesHash: Uint32Array;
  sampleOffsets: Uint32Array;
  timestamps: Float64Array;
  values: Float64Array;
  histogramOffsets: Uint32Array;
  histograms: HistogramEntry[];
  exemplarOffsets: Uint32Array;
  exemplars: ExemplarEntry[];
  metadata: MetadataEntry[];
  seriesIds: Uint32Array | undefined = undefined;
  seriesIdScope: number | undefined = undefined;
  readonly rawSeries: undefined = undefined;
  private cutStrings: string[] | undefined = undefined;

  constructor(
    private readonly joined: string,
    private readonly lengths: Uint32Array,
    c: DecodedColumns,
  ) {
    this.seriesCount = c.seriesCount;
    this.labelOffsets = c.labelOffsets;
    this.labelRefs = c.labelRefs;
    this.seriesHash = c.seriesHash;
    this.sampleOffsets = c.sampleOffsets;
    this.timestamps = c.timestamps;
    this.values = c.values;
    this.histogramOffsets = c.histogramOffsets;
    this.histograms = c.histograms;
    this.exemplarOffsets = c.exemplarOffsets;
    this.exemplars = c.exemplars;
    this.metadata = c.metadata;
  }

  get strings(): string[] {
    if (this.cutStrings === undefined) this.cutStrings = sliceStrings(this.joined, this.lengths);
    return this.cutStrings;
  }

  set strings(value: string[]) {
    this.cutStrings = value;
  }
}

/**
 * Decodes a payload written by {@link encodeRecord} (any supported version) or, for the relay
 * path, by `encodeRawRecord` (see raw-record.ts). Every length, offset
 * and string ref is checked, so a damaged payload throws `PromspoolError` with code
 * `ERR_CORRUPT_RECORD`, never a crash or an out-of-range read later. `deferRawBody`: see
 * `decodeRawRecord`'s `deferBody` (a reader that may send the groups as they are).
 */
export function decodeRecord(payload: Uint8Array, opts: { deferRawBody?: boolean } = {}): SignalRecord {
  if (isRawRecord(payload)) return decodeRawRecord(payload, { deferBody: opts.deferRawBody === true });
  const map = decodeMap(payload);
  const { joined, lengths } = decodeStringTable(map);
  const stringCount = lengths.length;
  const labelOffsets = u32(map, 'lo');
  if (labelOffsets.length === 0) throw corrupt('field lo is empty');
  const seriesCount = labelOffsets.length - 1;
  const labelRefs = u32(map, 'lr');
  if (labelRefs.length % 2 !== 0) throw corrupt('field lr has odd length');
  checkOffsets('lo', labelOffsets, seriesCount, labelRefs.length / 2);
  checkRefs('lr', labelRefs, stringCount);
  const seriesHash = u32(map, 'sh');
  if (seriesHash.length !== seriesCount)
    throw corrupt(`field sh has ${seriesHash.length} hashes for ${seriesCount} series`);
  const timestamps = f64(map, 't');
  const values = f64(map, 'x');
  if (values.length !== timestamps.length) throw corrupt(`${timestamps.length} timestamps but ${values.length} values`);
  const sampleOffsets = u32(map, 'so');
  checkOffsets('so', sampleOffsets, seriesCount, timestamps.length);
  const histogramOffsets = u32(map, 'ho');
  if (histogramOffsets.length !== seriesCount + 1) throw corrupt('field ho has the wrong length');
  const histograms = decodeHistograms(map, histogramOffsets[seriesCount]);
  checkOffsets('ho', histogramOffsets, seriesCount, histograms.length);

  const exemplarOffsets = u32(map, 'eo');
  if (exemplarOffsets.length !== seriesCount + 1) throw corrupt('field eo has the wrong length');
  const ecount = exemplarOffsets[seriesCount];
  checkOffsets('eo', exemplarOffsets, seriesCount, ecount);
  const el = u32(map, 'el');
  const er = u32(map, 'er');
  const et = f64(map, 'et');
  const ev = f64(map, 'ev');
  if (er.length % 2 !== 0) throw corrupt('field er has odd length');
  checkOffsets('el', el, ecount, er.length / 2);
  checkRefs('er', er, stringCount);
  if (et.length !== ecount || ev.length !== ecount) throw corrupt('exemplar columns disagree');
  const exemplars = new Array<ExemplarEntry>(ecount);
  for (let i = 0; i < ecount; i++) {
    exemplars[i] = { labelRefs: er.subarray(2 * el[i], 2 * el[i + 1]), value: ev[i], timestampMs: et[i] };
  }

  const m = array(map, 'm');
  if (m.length % 4 !== 0) throw corrupt('field m length is not a multiple of 4');
  const metadata = new Array<MetadataEntry>(m.length / 4);
  for (let i = 0; i < metadata.length; i++) {
    const [metricFamilyName, type, help, unit] = m.slice(4 * i, 4 * i + 4);
    if (
      typeof metricFamilyName !== 'string' ||
      typeof type !== 'string' ||
      !isMetricType(type) ||
      typeof help !== 'string' ||
      typeof unit !== 'string'
    ) {
      throw corrupt(`metadata entry ${i} is malformed`);
    }
    metadata[i] = { metricFamilyName, type: type as MetricType, help, unit };
  }
  const record = new DecodedRecord(joined, lengths, {
    seriesCount,
    labelOffsets,
    labelRefs,
    seriesHash,
    sampleOffsets,
    timestamps,
    values,
    histogramOffsets,
    histograms,
    exemplarOffsets,
    exemplars,
    metadata,
  });
  if (map.si !== undefined || map.sc !== undefined) {
    const seriesIds = u32(map, 'si');
    if (seriesIds.length !== seriesCount)
      throw corrupt(`field si has ${seriesIds.length} ids for ${seriesCount} series`);
    const scope = map.sc;
    if (typeof scope !== 'number' || !Number.isSafeInteger(scope) || scope < 0)
      throw corrupt('field sc is not a scope');
    record.seriesIds = seriesIds;
    record.seriesIdScope = scope;
  }
  if (map.n !== timestamps.length + histograms.length + ecount + metadata.length) {
    throw corrupt(`signal count ${String(map.n)} disagrees with the columns`);
  }
  // Hash version 1: sharded by today's hash instead, so each series keeps one virtual shard.
  if (map.v === 1) hashRecordSeries(record.strings, labelOffsets, labelRefs, seriesHash);
  return record;
}

/**
 * Reads `n` from the head of the msgpack map without decoding the rest: the encoder always writes
 * `v` then `n` first. Returns -1 when the head is not in that shape.
 */
function readSignalCountHead(b: Uint8Array): number {
  let p = 0;
  const head = b[p++];
  if (head >= 0x80 && head <= 0x8f) {
    // fixmap
  } else if (head === 0xde) p += 2;
  else if (head === 0xdf) p += 4;
  else return -1;
  if (b[p] !== 0xa1 || b[p + 1] !== 0x76 || b[p + 2] < 1 || b[p + 2] > RECORD_FORMAT_VERSION) return -1; // "v": 1 to 3
  p += 3;
  if (b[p] !== 0xa1 || b[p + 1] !== 0x6e) return -1; // "n"
  p += 2;
  const t = b[p++];
  if (t <= 0x7f) return t;
  if (t === 0xcc) return b[p];
  if (t === 0xcd) return (b[p] << 8) | b[p + 1];
  if (t === 0xce) return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  return -1;
}

/**
 * Signals (samples + histograms + exemplars + metadata) in a payload, reading only the head of
 * the record after decompressing. Throws `ERR_CORRUPT_RECORD` like {@link decodeRecord}.
 */
export function countRecordSignals(payload: Uint8Array): number {
  if (isRawRecord(payload)) return countRawRecordSignals(payload);
  const bytes = decompress(payload);
  const n = readSignalCountHead(bytes);
  if (n >= 0) return n;
  const r = decodeRecord(payload);
  return r.timestamps.length + r.histograms.length + r.exemplars.length + r.metadata.length;
}
