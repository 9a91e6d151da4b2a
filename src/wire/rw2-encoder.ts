import { compareUtf8 } from '../serialization/label-order.js';
import {
  METRIC_TYPES,
  type MetadataEntry,
  type MetricType,
  type RawSeries,
  type RelabeledLabels,
  type SignalRecord,
} from '../serialization/types.js';
import { HISTOGRAM_SLOTS, histogramBodySize, isPositiveZero, writeHistogram } from './histogram-writer.js';
import { LabelBlockCache } from './label-block-cache.js';
import { delimitedSize, int64Size, ScratchWriter, varint32Size } from './proto-writer.js';
import { samplesSize, writeSamples } from './sample-writer.js';
import { SeriesIdIndex } from './series-id-index.js';
import { SymbolTable } from './symbol-table.js';
import type { SeriesSlice, WriteRequestEncoder } from './types.js';
import { readLength, varintCursor } from './varint-reader.js';

/** Options of {@link createWriteRequestEncoderV2}. */
export interface WriteRequestEncoderV2Options {
  /** Added to every series that has no label of that name (the series' own label wins). */
  externalLabels: Record<string, string>;
  /** First size of each of the two scratch buffers; they double as needed and are kept. */
  initialBufferBytes?: number;
  /**
   * Label slots (4 bytes each) kept per encoder for series that carry an id (records with
   * `seriesIds`): a series seen again gets its merged, sorted labels from the cache instead of a
   * merge with the external labels and a string lookup per label. When full, the cache is emptied
   * and refilled. Default 4 Mi slots (16 MiB); 0 disables it.
   */
  labelCacheSlots?: number;
  /**
   * Bytes kept per encoder for relayed series (which carry no id): their received label bytes and
   * merged label slots, so a series relayed again costs one hash and one compare of its label
   * bytes instead of a lookup per name and value. When full, emptied and refilled. Default
   * 32 MiB; 0 disables it.
   */
  relayedLabelCacheBytes?: number;
  /**
   * Distinct strings the symbol table remembers across requests (so a string seen before costs
   * one lookup and no insert) before it forgets them all between two requests. Default 256 Ki.
   */
  rememberedStrings?: number;
}

/**
 * Creates a remote-write 2.0 (`io.prometheus.write.v2.Request`) encoder.
 *
 * Each slice becomes one `TimeSeries`: label refs sorted by label name (UTF-8 byte order), the
 * external labels merged in (the series' own label wins), float samples (values copied as raw
 * bytes, so stale-marker NaN payloads survive), native histograms (integer, float and custom-bucket
 * schema -53 with `custom_values`), exemplars with their label refs, and inline metadata (type, help
 * and unit refs) from the `metadata` entries passed to `encode` whose `metricFamilyName` is the
 * series' `__name__` (or, for histogram and summary families, its name without `_bucket`, `_sum` or
 * `_count`). Entries that name no series of the request are not sent: 2.0 carries metadata only on
 * series. `created_timestamp` is always 0: promspool's records do not carry start timestamps.
 *
 * The series are written first into a second reused buffer while the symbol table fills; the
 * output is then the `symbols` fields followed by a copy of those bytes, so symbols come first on
 * the wire (decoders that read them in one pass, promspool's own included, need nothing else).
 *
 * Kept across requests, none of it visible on the wire: the strings seen (as slots of the symbol
 * table, their `symbols` fields encoded once), each series' merged labels as slots (by series id,
 * or for relayed series by their received label bytes). Symbols are numbered per request on first
 * use, so each request's table holds exactly its own strings.
 */
export function createWriteRequestEncoderV2(opts: WriteRequestEncoderV2Options): WriteRequestEncoder {
  return new WriteRequestEncoderV2(opts);
}

/** Protobuf number of each metric type (its index in METRIC_TYPES; 1.0 and 2.0 share the enum). */
const METRIC_TYPE_NUMBER = Object.fromEntries(METRIC_TYPES.map((t, i) => [t, i])) as Record<MetricType, number>;

const NAME_LABEL = '__name__';
/**
 * Cache entries are packed as `offset * LEN_SPAN + pairs`: doubles past 2^31, unpacked with
 * `Math.floor` (see rw1-encoder.ts).
 */
const LEN_SPAN = 65536;
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_WORDS = new Uint32Array(0);
const EMPTY_TIMESTAMPS = new Float64Array(0);
const EMPTY_STRINGS: readonly string[] = [];
/** Suffixes of classic histogram and summary series, whose metadata is keyed by the family name. */
const FAMILY_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

class WriteRequestEncoderV2 implements WriteRequestEncoder {
  /** The request: symbols, then the series copied from `series`. */
  private readonly out: ScratchWriter;
  /** The `timeseries` fields of the request being encoded. */
  private readonly series: ScratchWriter;
  private readonly symbols: SymbolTable;
  /** External labels sorted by UTF-8 name bytes. */
  private readonly extNames: string[];
  private readonly extValues: string[];
  /** The external labels' names as UTF-8, to merge with a relayed series' label bytes. */
  private readonly extNameBytes: Uint8Array[];
  /**
   * Per label position of a relayed series, the name and value slots of the series before
   * (`[2j]`, `[2j + 1]`): series of one request mostly share label names and many values, and
   * checking a guess costs a byte compare where a lookup costs a hash. -1 when unknown; emptied
   * when the symbol table's epoch moves on.
   */
  private rawGuess = new Int32Array(64).fill(-1);
  /** Relayed series' label bytes -> merged slots (undefined: disabled), valid in epoch `rawCacheEpoch`. */
  private readonly rawCache: LabelBlockCache | undefined;
  private rawCacheEpoch = -1;
  private rawGuessEpoch = -1;
  /** Symbol-table slots of the external labels' names and values, valid in epoch `extEpoch`. */
  private readonly extSlots: Int32Array;
  private extEpoch = -1;
  /** The current series' labels as (name, value) symbol-table slot pairs, sorted by name. */
  private labelSlots = new Int32Array(64);
  /** The same labels as symbols of the request. */
  private labelSyms = new Uint32Array(64);
  private labelCount = 0;
  /** The slot of the current series' `__name__` value, or -1. */
  private nameSlot = -1;
  /**
   * Label cache: per series id, `[nameSlot, slot pairs...]` in `cacheArena` at
   * `offset * LEN_SPAN + pairs`. Valid within one id scope and one symbol-table epoch.
   */
  private readonly cacheIndex = new SeriesIdIndex();
  private cacheArena = new Int32Array(1024);
  private cacheUsed = 0;
  private cacheScope = -1;
  private cacheEpoch = -1;
  private readonly cacheSlots: number;
  private histSizes = new Int32Array(16 * HISTOGRAM_SLOTS);
  private exemplarSizes = new Int32Array(16);
  /** Metadata entries of the request being encoded by family name (reused, cleared per request). */
  private readonly metadataByName = new Map<string, MetadataEntry>();

  // The last record seen: slices of one request mostly share a record.
  private record: SignalRecord | undefined;
  private strings: readonly string[] = EMPTY_STRINGS;
  /** Views of the current record's `values`, made on first need (a relayed record decodes them then). */
  private columnsOf: SignalRecord | undefined;
  private valueBytes: Uint8Array = EMPTY_BYTES;
  private valueWords: Uint32Array = EMPTY_WORDS;
  /**
   * Symbol-table slots of the current record's strings: `refSlot[ref]` is valid while
   * `refStamp[ref] === stamp`. The stamp moves on with every record switch (and request), so nothing is cleared.
   */
  private refSlot = new Int32Array(1024);
  private refStamp = new Uint32Array(1024);
  private stamp = 0;

  constructor(opts: WriteRequestEncoderV2Options) {
    this.symbols = new SymbolTable(opts.rememberedStrings);
    this.out = new ScratchWriter(opts.initialBufferBytes);
    this.series = new ScratchWriter(opts.initialBufferBytes);
    const pairs = Object.entries(opts.externalLabels).filter(([name, value]) => name !== '' && value !== '');
    pairs.sort((a, b) => compareUtf8(a[0], b[0]));
    this.extNames = pairs.map((p) => p[0]);
    this.extValues = pairs.map((p) => p[1]);
    this.extNameBytes = pairs.map((p) => Buffer.from(p[0], 'utf8'));
    this.extSlots = new Int32Array(pairs.length * 2);
    this.cacheSlots = opts.labelCacheSlots ?? 4 * 1024 * 1024;
    const rawCacheBytes = opts.relayedLabelCacheBytes ?? 32 * 1024 * 1024;
    this.rawCache = rawCacheBytes > 0 ? new LabelBlockCache(rawCacheBytes) : undefined;
  }

  encode(slices: readonly SeriesSlice[], count: number, metadata: readonly MetadataEntry[]): Uint8Array {
    const out = this.out;
    out.reset();
    if (count === 0) return out.buf.subarray(0, 0);
    const sw = this.series;
    sw.reset();
    const symbols = this.symbols;
    symbols.reset();
    if (this.extEpoch !== symbols.epoch) {
      for (let k = 0; k < this.extNames.length; k++) {
        this.extSlots[2 * k] = symbols.slotOf(this.extNames[k]);
        this.extSlots[2 * k + 1] = symbols.slotOf(this.extValues[k]);
      }
      this.extEpoch = symbols.epoch;
    }
    this.nextStamp();
    const byName = this.metadataByName;
    for (let i = 0; i < metadata.length; i++) {
      // The first entry of a name wins, as a receiver keeps the first it reads.
      if (!byName.has(metadata[i].metricFamilyName)) byName.set(metadata[i].metricFamilyName, metadata[i]);
    }
    for (let i = 0; i < count; i++) this.writeTimeSeries(slices[i]);
    this.symbols.write(out);
    out.ensure(sw.pos);
    out.buf.set(new Uint8Array(sw.buf.buffer, sw.buf.byteOffset, sw.pos), out.pos);
    out.pos += sw.pos;
    // Keep nothing of this request alive until the next one.
    byName.clear();
    this.record = undefined;
    this.columnsOf = undefined;
    this.strings = EMPTY_STRINGS;
    this.valueBytes = EMPTY_BYTES;
    this.valueWords = EMPTY_WORDS;
    return out.buf.subarray(0, out.pos);
  }

  private nextStamp(): void {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      // Wrapped: stamps from 2^32 switches ago would read as current.
      this.refStamp.fill(0);
      this.stamp = 1;
    }
  }

  private useRecord(record: SignalRecord): void {
    if (record === this.record) return;
    this.record = record;
    this.nextStamp();
    this.strings = EMPTY_STRINGS;
  }

  /**
   * The current record's strings, fetched on first need: for a relayed (kind-2) record that access
   * decodes its labels and columns, which its series' label bytes and sample bytes make needless.
   */
  private useStrings(): void {
    const record = this.record as SignalRecord;
    if (this.strings === record.strings) return;
    this.strings = record.strings;
    const n = this.strings.length;
    if (this.refSlot.length < n) {
      this.refSlot = new Int32Array(n * 2);
      this.refStamp = new Uint32Array(n * 2);
    }
  }

  /** Views of `record.values` as bytes and words (for the copy that keeps NaN payloads). */
  private useColumns(record: SignalRecord): void {
    if (record === this.columnsOf) return;
    this.columnsOf = record;
    const v = record.values;
    this.valueBytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    // Float64Array offsets are 8-aligned, so a word view of the same bytes is always valid.
    this.valueWords = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  }

  /** The symbol-table slot of the current record's string `ref`. */
  private slotOfRef(ref: number): number {
    if (this.refStamp[ref] === this.stamp) return this.refSlot[ref];
    const slot = this.symbols.slotOf(this.strings[ref]);
    this.refSlot[ref] = slot;
    this.refStamp[ref] = this.stamp;
    return slot;
  }

  /** The symbol of the current record's string `ref`. */
  private symOfRef(ref: number): number {
    return this.symbols.refOfSlot(this.slotOfRef(ref));
  }

  private writeTimeSeries(s: SeriesSlice): void {
    const record = s.record;
    const raw = record.rawSeries;
    // A whole, unchanged relayed series: its 1.0 Sample fields are 2.0 Sample fields (same message,
    // same TimeSeries field number 2), copied as they are. Kind-2 records hold samples only.
    const rawSamples =
      raw?.intact === true &&
      s.sampleStart === record.sampleOffsets[s.series] &&
      s.sampleEnd === record.sampleOffsets[s.series + 1];
    this.useRecord(record);

    // Labels an endpoint's write relabeling gave this series replace its own and the external ones.
    const rl = record.relabeled;
    const relabeledAt = rl === undefined ? -1 : rl.start[s.series];
    let labelRefsPayload: number;
    if (relabeledAt >= 0) {
      this.relabeledLabels(rl as RelabeledLabels, relabeledAt, rl?.length[s.series] ?? 0);
      labelRefsPayload = this.resolveLabels(this.labelSlots, 0);
    } else if (record.seriesIds !== undefined && raw === undefined && this.cacheSlots > 0) {
      labelRefsPayload = this.cachedLabels(record, s.series);
    } else if (raw !== undefined && record.externalLabelsMerged === true && this.extNameBytes.length > 0) {
      // Merged at ingest: its labels as they are. Not through the cache, whose entries (keyed by
      // the same label bytes) hold other records' series merged with the external labels.
      this.rawLabels(raw, s.series, false);
      labelRefsPayload = this.resolveLabels(this.labelSlots, 0);
    } else if (raw !== undefined) {
      labelRefsPayload = this.cachedRawLabels(raw, s.series, record.seriesHash);
    } else {
      this.mergeLabels(record, s.series);
      labelRefsPayload = this.resolveLabels(this.labelSlots, 0);
    }

    // Pass 1: sizes.
    let body = labelRefsPayload > 0 ? delimitedSize(labelRefsPayload) : 0;
    let words: Uint32Array = EMPTY_WORDS;
    let ts: Float64Array = EMPTY_TIMESTAMPS;
    if (!rawSamples && s.sampleEnd > s.sampleStart) {
      this.useColumns(record);
      words = this.valueWords;
      ts = record.timestamps;
    }
    if (rawSamples) {
      const r = raw as NonNullable<typeof raw>;
      body += r.end[s.series] - r.labelsEnd[s.series];
    } else {
      body += samplesSize(words, ts, s.sampleStart, s.sampleEnd);
    }
    const histCount = s.histogramEnd - s.histogramStart;
    if (this.histSizes.length < histCount * HISTOGRAM_SLOTS) {
      this.histSizes = new Int32Array(histCount * HISTOGRAM_SLOTS * 2);
    }
    for (let i = 0; i < histCount; i++) {
      body += delimitedSize(
        histogramBodySize(record.histograms[s.histogramStart + i], this.histSizes, i * HISTOGRAM_SLOTS),
      );
    }
    const exemplarCount = s.exemplarEnd - s.exemplarStart;
    if (exemplarCount > 0) this.useStrings();
    if (this.exemplarSizes.length < exemplarCount * 2) this.exemplarSizes = new Int32Array(exemplarCount * 4);
    for (let i = 0; i < exemplarCount; i++) {
      const e = record.exemplars[s.exemplarStart + i];
      const payload = this.exemplarRefsPayload(e.labelRefs);
      let eb = payload > 0 ? delimitedSize(payload) : 0;
      if (!isPositiveZero(e.value)) eb += 9;
      if (e.timestampMs !== 0) eb += 1 + int64Size(e.timestampMs);
      this.exemplarSizes[2 * i] = eb;
      this.exemplarSizes[2 * i + 1] = payload;
      body += delimitedSize(eb);
    }
    const meta =
      this.metadataByName.size === 0 || this.nameSlot < 0
        ? undefined
        : this.metadataOf(this.symbols.stringOfSlot(this.nameSlot));
    let metaBody = 0;
    let metaType = 0;
    let helpSym = 0;
    let unitSym = 0;
    if (meta !== undefined) {
      metaType = METRIC_TYPE_NUMBER[meta.type] ?? 0;
      helpSym = meta.help === '' ? 0 : this.symbols.ref(meta.help);
      unitSym = meta.unit === '' ? 0 : this.symbols.ref(meta.unit);
      if (metaType !== 0) metaBody += 1 + varint32Size(metaType);
      if (helpSym !== 0) metaBody += 1 + varint32Size(helpSym);
      if (unitSym !== 0) metaBody += 1 + varint32Size(unitSym);
      // Metadata that says nothing is left out, as Prometheus does.
      if (metaBody > 0) body += delimitedSize(metaBody);
    }

    // Pass 2: bytes.
    const w = this.series;
    w.ensure(delimitedSize(body));
    w.byte(0x2a); // Request.timeseries = 5
    w.varint32(body);
    if (labelRefsPayload > 0) {
      w.byte(0x0a); // TimeSeries.labels_refs = 1, packed
      w.varint32(labelRefsPayload);
      // The varints with the buffer and position in locals (a method call per ref cost ~10%).
      const syms = this.labelSyms;
      const buf = w.buf;
      let pos = w.pos;
      for (let i = 0, n = this.labelCount * 2; i < n; i++) {
        let v = syms[i];
        while (v > 0x7f) {
          buf[pos++] = (v & 0x7f) | 0x80;
          v >>>= 7;
        }
        buf[pos++] = v;
      }
      w.pos = pos;
    }
    if (rawSamples) {
      const r = raw as NonNullable<typeof raw>;
      const from = r.labelsEnd[s.series];
      const len = r.end[s.series] - from;
      w.buf.set(new Uint8Array(r.bytes.buffer, r.bytes.byteOffset + from, len), w.pos);
      w.pos += len;
    } else {
      writeSamples(w, this.valueBytes, words, ts, s.sampleStart, s.sampleEnd);
    }
    for (let i = 0; i < histCount; i++) {
      // TimeSeries.histograms = 3
      writeHistogram(w, 0x1a, record.histograms[s.histogramStart + i], this.histSizes, i * HISTOGRAM_SLOTS);
    }
    for (let i = 0; i < exemplarCount; i++) {
      const e = record.exemplars[s.exemplarStart + i];
      w.byte(0x22); // TimeSeries.exemplars = 4
      w.varint32(this.exemplarSizes[2 * i]);
      const payload = this.exemplarSizes[2 * i + 1];
      if (payload > 0) {
        w.byte(0x0a); // Exemplar.labels_refs = 1, packed
        w.varint32(payload);
        const refs = e.labelRefs;
        for (let j = 0; j < refs.length; j += 2) {
          if (this.strings[refs[j]] === '' || this.strings[refs[j + 1]] === '') continue;
          w.varint32(this.symOfRef(refs[j]));
          w.varint32(this.symOfRef(refs[j + 1]));
        }
      }
      if (!isPositiveZero(e.value)) {
        w.byte(0x11); // Exemplar.value = 2, fixed64
        w.double(e.value);
      }
      if (e.timestampMs !== 0) {
        w.byte(0x18); // Exemplar.timestamp = 3
        w.int64(e.timestampMs);
      }
    }
    if (metaBody > 0) {
      w.byte(0x2a); // TimeSeries.metadata = 5
      w.varint32(metaBody);
      if (metaType !== 0) {
        w.byte(0x08); // Metadata.type = 1
        w.varint32(metaType);
      }
      if (helpSym !== 0) {
        w.byte(0x18); // Metadata.help_ref = 3
        w.varint32(helpSym);
      }
      if (unitSym !== 0) {
        w.byte(0x20); // Metadata.unit_ref = 4
        w.varint32(unitSym);
      }
    }
  }

  /** Payload bytes of an exemplar's packed label refs; pairs with an empty name or value are dropped. */
  private exemplarRefsPayload(refs: Uint32Array): number {
    const strings = this.strings;
    let size = 0;
    for (let j = 0; j < refs.length; j += 2) {
      if (strings[refs[j]] === '' || strings[refs[j + 1]] === '') continue;
      size += varint32Size(this.symOfRef(refs[j])) + varint32Size(this.symOfRef(refs[j + 1]));
    }
    return size;
  }

  /** The metadata entry for a series named `name`, if the request has one. */
  private metadataOf(name: string): MetadataEntry | undefined {
    const byName = this.metadataByName;
    if (byName.size === 0 || name === '') return undefined;
    const exact = byName.get(name);
    if (exact !== undefined) return exact;
    for (const suffix of FAMILY_SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const family = byName.get(name.slice(0, name.length - suffix.length));
      if (
        family !== undefined &&
        (family.type === 'histogram' || family.type === 'gaugehistogram' || family.type === 'summary')
      ) {
        return family;
      }
    }
    return undefined;
  }

  private pushLabel(nameSlot: number, valueSlot: number): void {
    const n = this.labelCount * 2;
    if (n + 2 > this.labelSlots.length) {
      const grown = new Int32Array(this.labelSlots.length * 2);
      grown.set(this.labelSlots);
      this.labelSlots = grown;
    }
    this.labelSlots[n] = nameSlot;
    this.labelSlots[n + 1] = valueSlot;
    this.labelCount++;
  }

  private pushExternal(k: number): void {
    if (this.extNames[k] === NAME_LABEL) this.nameSlot = this.extSlots[2 * k + 1];
    this.pushLabel(this.extSlots[2 * k], this.extSlots[2 * k + 1]);
  }

  /**
   * Turns the `labelCount` slot pairs at `src[from...]` into the request's symbols in `labelSyms`
   * (adding them to the table); returns the payload size of the packed label refs.
   */
  private resolveLabels(src: Int32Array, from: number): number {
    const n = this.labelCount * 2;
    if (this.labelSyms.length < n) this.labelSyms = new Uint32Array(n * 2);
    return this.symbols.refsOfSlots(src, from, n, this.labelSyms);
  }

  /**
   * {@link mergeLabels} then {@link resolveLabels} through the label cache: a series id seen
   * before (same id scope, same symbol-table epoch) has its slots resolved straight from the
   * cache, with no merge, no string lookup and no copy. Returns the label refs' payload size.
   */
  private cachedLabels(record: SignalRecord, series: number): number {
    const scope = record.seriesIdScope ?? -1;
    const epoch = this.symbols.epoch;
    const index = this.cacheIndex;
    if (scope !== this.cacheScope || epoch !== this.cacheEpoch) {
      index.clear();
      this.cacheUsed = 0;
      this.cacheScope = scope;
      this.cacheEpoch = epoch;
    }
    const id = (record.seriesIds as Uint32Array)[series];
    const hit = index.get(id);
    if (hit >= 0) {
      const offset = Math.floor(hit / LEN_SPAN);
      this.labelCount = hit - offset * LEN_SPAN;
      this.nameSlot = this.cacheArena[offset];
      return this.resolveLabels(this.cacheArena, offset + 1);
    }
    this.mergeLabels(record, series);
    const payload = this.resolveLabels(this.labelSlots, 0);
    const pairs = this.labelCount;
    const need = 1 + pairs * 2;
    if (pairs >= LEN_SPAN || need > this.cacheSlots) return payload;
    if (this.cacheUsed + need > this.cacheSlots) {
      // Simplest bound: start over. Live series come back on their next request.
      index.clear();
      this.cacheUsed = 0;
    }
    if (this.cacheUsed + need > this.cacheArena.length) {
      const grown = new Int32Array(
        Math.min(this.cacheSlots, Math.max(this.cacheArena.length * 2, this.cacheUsed + need)),
      );
      grown.set(this.cacheArena.subarray(0, this.cacheUsed));
      this.cacheArena = grown;
    }
    const offset = this.cacheUsed;
    this.cacheArena[offset] = this.nameSlot;
    this.cacheArena.set(this.labelSlots.subarray(0, pairs * 2), offset + 1);
    this.cacheUsed += need;
    index.set(id, offset * LEN_SPAN + pairs);
    return payload;
  }

  /**
   * Fills `labelSyms` with the series' labels merged with the external ones, sorted by name bytes.
   * Record labels are sorted by contract; if a record breaks that, a slow path sorts instead of
   * sending an invalid request.
   */
  private mergeLabels(record: SignalRecord, series: number): void {
    this.useStrings();
    this.labelCount = 0;
    this.nameSlot = -1;
    const refs = record.labelRefs;
    const strings = this.strings;
    const start = record.labelOffsets[series] * 2;
    const end = record.labelOffsets[series + 1] * 2;
    const extNames = this.extNames;
    const extCount = extNames.length;
    let k = 0;
    let prev: string | undefined;
    for (let j = start; j < end; j += 2) {
      const name = strings[refs[j]];
      const value = strings[refs[j + 1]];
      if (prev !== undefined && compareUtf8(prev, name) >= 0) {
        this.sortLabelsSlow(record, series);
        return;
      }
      prev = name;
      let cmp = 1;
      while (k < extCount && (cmp = compareUtf8(extNames[k], name)) < 0) this.pushExternal(k++);
      if (k < extCount && cmp === 0) {
        if (value === '') {
          this.pushExternal(k++);
          continue;
        }
        k++; // the series' own label wins
      }
      if (name === '' || value === '') continue;
      const valueSlot = this.slotOfRef(refs[j + 1]);
      if (name === NAME_LABEL) this.nameSlot = valueSlot;
      this.pushLabel(this.slotOfRef(refs[j]), valueSlot);
    }
    while (k < extCount) this.pushExternal(k++);
  }

  private sortLabelsSlow(record: SignalRecord, series: number): void {
    this.labelCount = 0;
    this.nameSlot = -1;
    const refs = record.labelRefs;
    const strings = this.strings;
    type L = { name: string; value: string; order: number; ref: number };
    const all: L[] = [];
    const start = record.labelOffsets[series] * 2;
    const end = record.labelOffsets[series + 1] * 2;
    for (let j = start; j < end; j += 2) {
      all.push({ name: strings[refs[j]], value: strings[refs[j + 1]], order: j, ref: j });
    }
    for (let k = 0; k < this.extNames.length; k++) {
      all.push({ name: this.extNames[k], value: this.extValues[k], order: Number.MAX_SAFE_INTEGER, ref: -1 - k });
    }
    const usable = all.filter((l) => l.name !== '' && l.value !== '');
    usable.sort((a, b) => compareUtf8(a.name, b.name) || a.order - b.order);
    let prev: string | undefined;
    for (const l of usable) {
      // Duplicates: the first (own label before external, then record order) is kept.
      if (l.name === prev) continue;
      prev = l.name;
      if (l.ref < 0) {
        this.pushExternal(-1 - l.ref);
      } else {
        const valueSlot = this.slotOfRef(refs[l.ref + 1]);
        if (l.name === NAME_LABEL) this.nameSlot = valueSlot;
        this.pushLabel(this.slotOfRef(refs[l.ref]), valueSlot);
      }
    }
  }

  /**
   * {@link rawLabels} then {@link resolveLabels} through the relayed-series cache: label bytes
   * seen before (same symbol-table epoch) have their merged slots resolved from the cache.
   * Returns the label refs' payload size.
   */
  private cachedRawLabels(raw: RawSeries, series: number, seriesHash: Uint32Array): number {
    const cache = this.rawCache;
    if (cache === undefined) {
      this.rawLabels(raw, series);
      return this.resolveLabels(this.labelSlots, 0);
    }
    const epoch = this.symbols.epoch;
    if (this.rawCacheEpoch !== epoch) {
      cache.clear();
      this.rawCacheEpoch = epoch;
    }
    const b = raw.bytes;
    const start = raw.start[series];
    const len = raw.labelsEnd[series] - start;
    // The receiver's scan hashed the labels already (the sharding hash: equal labels, equal
    // hash); entries are verified by their bytes, so the hash only has to spread them. Hashing
    // the ~150 label bytes again was ~7% of the relay's CPU with 2.0 out.
    const h = spreadHash(seriesHash[series]);
    const pairs = cache.find(b, start, len, h);
    if (pairs >= 0) {
      this.labelCount = pairs;
      this.nameSlot = cache.nameSlot;
      return this.resolveLabels(cache.slots, cache.slotsAt);
    }
    this.rawLabels(raw, series);
    const payload = this.resolveLabels(this.labelSlots, 0);
    cache.add(b, start, len, h, this.nameSlot, this.labelSlots, this.labelCount);
    return payload;
  }

  /**
   * {@link mergeLabels} for a series stored as received (relay path): its label fields are read
   * from the received bytes, which the receiver checked to be `{name, value}` pairs, non-empty,
   * valid UTF-8 and strictly sorted by name bytes, and looked up by bytes: no string is decoded
   * for a label seen before. `mergeExternal` false: the labels alone (merged at ingest).
   */
  private rawLabels(raw: RawSeries, series: number, mergeExternal = true): void {
    this.labelCount = 0;
    this.nameSlot = -1;
    const b = raw.bytes;
    const stop = raw.labelsEnd[series];
    const symbols = this.symbols;
    if (this.rawGuessEpoch !== symbols.epoch) {
      this.rawGuess.fill(-1);
      this.rawGuessEpoch = symbols.epoch;
    }
    let guess = this.rawGuess;
    let j = 0;
    const extNames = this.extNameBytes;
    const extCount = mergeExternal ? extNames.length : 0;
    let k = 0;
    for (let pos = raw.start[series]; pos < stop; ) {
      // Label field: 0x0a len, then name (0x0a len bytes) and value (0x12 len bytes).
      const labelLen = readLength(b, pos + 1, stop);
      const labelStop = varintCursor.end + labelLen;
      const nl = readLength(b, varintCursor.end + 1, labelStop);
      const ns = varintCursor.end;
      const vl = readLength(b, ns + nl + 1, labelStop);
      const vs = varintCursor.end;
      pos = labelStop;
      let cmp = 1;
      while (k < extCount && (cmp = compareBytes(extNames[k], b, ns, nl)) < 0) this.pushExternal(k++);
      if (k < extCount && cmp === 0) k++; // the series' own label wins
      if (2 * j + 2 > guess.length) {
        const grown = new Int32Array(guess.length * 2).fill(-1);
        grown.set(guess);
        this.rawGuess = guess = grown;
      }
      let nameSlot = guess[2 * j];
      if (!symbols.slotHasBytes(nameSlot, b, ns, nl)) guess[2 * j] = nameSlot = symbols.slotOfBytes(b, ns, nl);
      let valueSlot = guess[2 * j + 1];
      if (!symbols.slotHasBytes(valueSlot, b, vs, vl)) guess[2 * j + 1] = valueSlot = symbols.slotOfBytes(b, vs, vl);
      j++;
      if (nl === 8 && isNameLabel(b, ns)) this.nameSlot = valueSlot;
      this.pushLabel(nameSlot, valueSlot);
    }
    while (k < extCount) this.pushExternal(k++);
  }

  /**
   * Fills `labelSyms` from the 1.0 `Label` fields write relabeling produced (external labels
   * included, sorted by name): `bytes[at, at + len)`.
   */
  private relabeledLabels(rl: RelabeledLabels, at: number, len: number): void {
    this.labelCount = 0;
    this.nameSlot = -1;
    const b = rl.bytes;
    const symbols = this.symbols;
    const stop = at + len;
    for (let pos = at; pos < stop; ) {
      if (b[pos] !== 0x0a) throw relabeledError(pos, 'expected a Label field');
      const labelLen = readLength(b, pos + 1, stop);
      if (labelLen < 0) throw relabeledError(pos, 'bad Label length');
      const labelStart = varintCursor.end;
      const labelStop = labelStart + labelLen;
      if (labelStop > stop) throw relabeledError(pos, 'Label runs past the series');
      let ns = 0;
      let nl = 0;
      let vs = 0;
      let vl = 0;
      for (let p = labelStart; p < labelStop; ) {
        const key = b[p];
        const fieldLen = readLength(b, p + 1, labelStop);
        const fieldStart = varintCursor.end;
        if (fieldLen < 0 || fieldStart + fieldLen > labelStop || (key !== 0x0a && key !== 0x12)) {
          throw relabeledError(p, 'bad Label name or value field');
        }
        if (key === 0x0a) {
          ns = fieldStart;
          nl = fieldLen;
        } else {
          vs = fieldStart;
          vl = fieldLen;
        }
        p = fieldStart + fieldLen;
      }
      if (nl > 0 && vl > 0) {
        // Looked up by bytes: a relabeled series seen before decodes no string.
        const valueSlot = symbols.slotOfBytes(b, vs, vl);
        if (nl === 8 && isNameLabel(b, ns)) this.nameSlot = valueSlot;
        this.pushLabel(symbols.slotOfBytes(b, ns, nl), valueSlot);
      }
      pos = labelStop;
    }
  }
}

/** MurmurHash3's finalizer: the sharding hash's low bits pick the shard, so they are mixed. */
function spreadHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Byte order of `a` against `b[start, start + len)`, as Go compares label names. */
function compareBytes(a: Uint8Array, b: Uint8Array, start: number, len: number): number {
  const n = Math.min(a.length, len);
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[start + i];
    if (d !== 0) return d;
  }
  return a.length - len;
}

const NAME_LABEL_BYTES = Buffer.from(NAME_LABEL, 'latin1');

/** Whether the 8 bytes at `b[start]` spell `__name__`. */
function isNameLabel(b: Uint8Array, start: number): boolean {
  for (let i = 0; i < 8; i++) if (b[start + i] !== NAME_LABEL_BYTES[i]) return false;
  return true;
}

function relabeledError(pos: number, what: string): Error {
  return new Error(`rw2-encoder: relabeled labels at byte ${pos}: ${what}`);
}
