/**
 * The relay's remote-write 2.0 transcoder (rw2-transcode.c in WebAssembly): stored kind-2 records
 * (1.0 `TimeSeries` bytes in snappy groups) -> `io.prometheus.write.v2.Request` bytes, equal byte
 * for byte to what {@link createWriteRequestEncoderV2} writes for the same slices, with the string
 * dictionary, the per-series label cache and the records' uncompressed bodies all in the module's
 * memory: per series the JavaScript side writes four words.
 *
 * One instance per endpoint, shared by its send loops (they run on one thread, each `encode`
 * finishes before the next): a record's body is uncompressed once ({@link Rw2Transcoder.load},
 * when the endpoint reads it, so a damaged block is counted there) for every loop that sends a
 * part of it, and a series' labels are cached once.
 *
 * Bodies live in a ring of {@link Rw2TranscoderOptions.bodyBytes}: a record whose body was
 * overwritten before it went out is uncompressed again on its next `encode` (counted as a reload).
 */
import { randomFillSync } from 'node:crypto';
import { PromspoolError } from '../errors.js';
import { compareUtf8 } from '../serialization/label-order.js';
import { METRIC_TYPES, type MetadataEntry, type MetricType, type SignalRecord } from '../serialization/types.js';
import { RW2_TRANSCODE_WASM_BASE64 } from './rw2-transcode-wasm-binary.js';
import { joinSnappyElementsInto } from './snappy.js';
import type { SeriesRun, SeriesSlice } from './types.js';

/** Options of {@link createRw2Transcoder}. */
export interface Rw2TranscoderOptions {
  /** Added to every series that has no label of that name, as the 2.0 encoder does. */
  externalLabels: Readonly<Record<string, string>>;
  /**
   * Bytes of the ring that holds uncompressed record bodies (and 32 bytes of index per series).
   * Default 16 MiB: bench/relay's 2,000-series records take ~0.52 MB each with their index, and the
   * loops' mailboxes hold up to 1,024 works each (a record is 64 works per loop of 4): 16 MiB
   * reloaded nothing there, 8 MiB reloaded 3,097 times for 2,843 loads. Larger requests would want
   * more (a reload costs an uncompress, nothing else). The ring's pages stay resident once touched.
   */
  bodyBytes?: number;
  /**
   * Bytes of the series cache before it is emptied: per series 20 bytes plus 4 per label (its
   * 128-bit key hash, its label names' shape, its values' slots; up to 11 labels padded to stay in
   * one 64-byte line), and 16 plus 8 per label per distinct list of label names. Default 64 MiB,
   * one per endpoint where the 2.0 encoder has a 32 MiB cache per loop; touched only as it fills
   * (bench/relay's 100,000 series of 10 labels: 6.4 MB).
   */
  seriesCacheBytes?: number;
  /** Strings remembered before the dictionary is forgotten between two requests. Default 256 Ki. */
  rememberedStrings?: number;
}

/** What the transcoder did, for stats and tests. */
export interface Rw2TranscoderStats {
  /** Records loaded (bodies uncompressed), and loaded again after the ring overwrote them. */
  loads: number;
  reloads: number;
  /** Requests encoded here, and requests left to the JavaScript encoder (see {@link Rw2Transcoder.encode}). */
  requests: number;
  fallbacks: number;
  /** Of `requests`, those encoded from runs of whole series ({@link Rw2Transcoder.encodeRuns}). */
  runRequests: number;
}

/** See the module comment. */
export interface Rw2Transcoder {
  /**
   * Uncompresses `rec`'s groups into the module and indexes its series. False when the record
   * cannot be held (no group table: a version-1 record; a body larger than the ring; the module
   * failed): its series then go out through the JavaScript encoder. Throws `ERR_CORRUPT_RECORD`
   * when the groups do not uncompress to the series the record says.
   */
  load(rec: SignalRecord): boolean;
  /** Whether `rec` was loaded (its body may have been overwritten since: `encode` reloads it). */
  holds(rec: SignalRecord): boolean;
  /**
   * The 2.0 request of `slices[0, count)` with `metadata` inline, or undefined when a slice is
   * not one this module encodes: its record was not loaded, its samples were cut or relabeled at
   * send time (`rawSeries.intact` false, `relabeled` set), or it carries histograms or exemplars.
   * The bytes view the module's memory: valid until the next call.
   */
  encode(slices: readonly SeriesSlice[], count: number, metadata: readonly MetadataEntry[]): Uint8Array | undefined;
  /**
   * {@link encode} of the series of `runs[0, count)` (each whole, samples only: BatchBuilder's
   * runs), the same bytes as for them as slices, or undefined for the caller to encode the slices
   * (not counted as a fallback here: {@link encode} counts it, for the same reasons).
   */
  encodeRuns(runs: readonly SeriesRun[], count: number, metadata: readonly MetadataEntry[]): Uint8Array | undefined;
  /** Strings remembered, dictionary epoch, cached series, series cache bytes (the C side's counters). */
  usage(): { strings: number; epoch: number; cachedSeries: number; cacheBytes: number };
  readonly stats: Rw2TranscoderStats;
}

interface Exports {
  memory: WebAssembly.Memory;
  tc_alloc(size: number): number;
  tc_configure(strings: number, stringBytes: number, cacheBytes: number): void;
  tc_seed(a: number, b: number, c: number, d: number): void;
  tc_set_external(bytes: number, bytesLen: number, desc: number, count: number): number;
  tc_meta_reset(): void;
  tc_meta_add(bytes: number, nameLen: number, helpLen: number, unitLen: number, type: number, family: number): number;
  tc_load(src: number, desc: number, groups: number, dst: number, rawLen: number, index: number, n: number): number;
  tc_encode(slices: number, count: number): number;
  tc_out_len(): number;
  tc_stat(which: number): number;
}

/** A loaded record's place in the ring. */
interface BodyEntry {
  /** The allocation `[at, end)` of the ring, relative to its start. */
  at: number;
  end: number;
  /** Absolute addresses of the body and of its series index ({@link INDEX_BYTES} per series). */
  bodyAt: number;
  indexAt: number;
  alive: boolean;
}

const WHOLE = 0xffffffff;
/** Bytes of a series' index entry (rw2-transcode.c's INDEX_WORDS): where its fields are, its cache key. */
const INDEX_BYTES = 32;
/** Bytes the uncompress may write past a body (snappy-uncompress.c's SLACK). */
const WRITE_SLACK = 16;
const DEFAULT_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
/** Bytes of remembered strings' fields before the dictionary starts over (symbol-table.ts's bound). */
const MAX_STRING_BYTES = 64 * 1024 * 1024;
const FAMILY_TYPES: ReadonlySet<MetricType> = new Set(['histogram', 'gaugehistogram', 'summary']);
const EMPTY = new Uint8Array(0);

let compiled: WebAssembly.Module | undefined;

/** A transcoder of its own, or undefined where WebAssembly is unavailable (`--jitless`). */
export function createRw2Transcoder(opts: Rw2TranscoderOptions): Rw2Transcoder | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  compiled ??= new WebAssembly.Module(Buffer.from(RW2_TRANSCODE_WASM_BASE64, 'base64'));
  return new WasmRw2Transcoder(new WebAssembly.Instance(compiled).exports as unknown as Exports, opts);
}

const align8 = (n: number) => (n + 7) & ~7;

class WasmRw2Transcoder implements Rw2Transcoder {
  readonly stats: Rw2TranscoderStats = { loads: 0, reloads: 0, requests: 0, fallbacks: 0, runRequests: 0 };
  private readonly bodies = new WeakMap<SignalRecord, BodyEntry>();
  /** Live entries, oldest first. */
  private ring: BodyEntry[] = [];
  private ringAt = 0;
  private readonly ringBytes: number;
  private head = 0;
  /** Scratch for compressed groups and metadata strings, and the slices' words. */
  private scratchAt = 0;
  private scratchBytes = 0;
  private slicesAt = 0;
  private slicesCap = 0;
  private u32: Uint32Array = new Uint32Array(0);
  private u8: Uint8Array = EMPTY;
  private lastMetadata: readonly MetadataEntry[] | undefined;
  /** Set when the module trapped (memory could not grow): everything goes to the JavaScript encoder. */
  private broken = false;
  /** Set when the request being written loaded a record again (an earlier one may be overwritten). */
  private reloaded = false;

  constructor(
    private readonly m: Exports,
    opts: Rw2TranscoderOptions,
  ) {
    this.ringBytes = opts.bodyBytes ?? DEFAULT_BODY_BYTES;
    m.tc_configure(opts.rememberedStrings ?? 1 << 18, MAX_STRING_BYTES, opts.seriesCacheBytes ?? DEFAULT_CACHE_BYTES);
    // The series cache's key seed (rw2-transcode.c key_seed): random per transcoder, so crafted
    // label bytes cannot be made to share another series' key.
    const seed = randomFillSync(new Uint32Array(4));
    m.tc_seed(seed[0] as number, seed[1] as number, seed[2] as number, seed[3] as number);
    // As the 2.0 encoder: empty names or values are not labels; sorted by name bytes.
    const pairs = Object.entries(opts.externalLabels).filter(([name, value]) => name !== '' && value !== '');
    pairs.sort((a, b) => compareUtf8(a[0], b[0]));
    const parts: Buffer[] = [];
    const desc: number[] = [];
    let off = 0;
    for (const [name, value] of pairs) {
      const n = Buffer.from(name, 'utf8');
      const v = Buffer.from(value, 'utf8');
      desc.push(off, n.length, off + n.length, v.length);
      parts.push(n, v);
      off += n.length + v.length;
    }
    const bytes = Buffer.concat(parts);
    const bytesAt = m.tc_alloc(bytes.length + 1);
    const descAt = m.tc_alloc(4 * desc.length + 4);
    this.views();
    this.u8.set(bytes, bytesAt);
    this.u32.set(desc, descAt >>> 2);
    m.tc_set_external(bytesAt, bytes.length, descAt, pairs.length);
  }

  /** Views of the module's memory, made again after anything that may have grown it. */
  private views(): void {
    const buffer = this.m.memory.buffer;
    if (this.u8.buffer !== buffer) {
      this.u8 = new Uint8Array(buffer);
      this.u32 = new Uint32Array(buffer);
    }
  }

  private scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      this.scratchBytes = Math.max(bytes, 2 * this.scratchBytes, 64 * 1024);
      this.scratchAt = this.m.tc_alloc(this.scratchBytes);
    }
    return this.scratchAt;
  }

  holds(rec: SignalRecord): boolean {
    return this.bodies.has(rec);
  }

  usage(): { strings: number; epoch: number; cachedSeries: number; cacheBytes: number } {
    const m = this.m;
    return { strings: m.tc_stat(0), epoch: m.tc_stat(1), cachedSeries: m.tc_stat(2), cacheBytes: m.tc_stat(3) };
  }

  load(rec: SignalRecord): boolean {
    if (this.broken) return false;
    const groups = rec.rawGroups;
    if (groups === undefined || rec.rawSeries === undefined) return false;
    try {
      const entry = this.place(rec);
      if (entry === undefined) return false;
      this.bodies.set(rec, entry);
      this.stats.loads++;
      return true;
    } catch (err) {
      if (err instanceof PromspoolError) throw err;
      this.broken = true;
      return false;
    }
  }

  /** Uncompresses `rec` into a new ring entry; undefined when it does not fit the ring. */
  private place(rec: SignalRecord): BodyEntry | undefined {
    const groups = rec.rawGroups as NonNullable<SignalRecord['rawGroups']>;
    const n = rec.seriesCount;
    const g = groups.count;
    let rawLen = 0;
    let compressed = 0;
    for (let k = 0; k < g; k++) {
      const e = groups.elements[k];
      rawLen += e.rawLength;
      compressed += 5 + e.end - e.start;
    }
    const need = align8(rawLen + WRITE_SLACK) + INDEX_BYTES * n;
    if (need > this.ringBytes) return undefined;
    const m = this.m;
    if (this.ringAt === 0) this.ringAt = m.tc_alloc(this.ringBytes);
    const src = this.scratch(compressed + 12 * g);
    const descAt = src + align8(compressed);
    this.views();
    const u8 = this.u8;
    const u32 = this.u32;
    // Each group as a snappy block of its own: its length varint, then its elements.
    let p = src;
    for (let k = 0; k < g; k++) {
      const e = groups.elements[k];
      const start = p;
      if (e.rawLength > 0) p += joinSnappyElementsInto([e], 1, u8, p) + e.end - e.start;
      const d = (descAt >>> 2) + 3 * k;
      u32[d] = p - start;
      u32[d + 1] = e.rawLength;
      u32[d + 2] = groups.seriesEnd[k];
    }
    const entry = this.allocate(rawLen, n);
    if (m.tc_load(src, descAt, g, entry.bodyAt, rawLen, entry.indexAt, n) !== 1) {
      entry.alive = false;
      this.ring.splice(this.ring.indexOf(entry), 1);
      throw new PromspoolError(
        'ERR_CORRUPT_RECORD',
        `corrupt raw record: its ${g} groups do not uncompress to its ${n} series (rw2 transcoder)`,
      );
    }
    return entry;
  }

  /**
   * A ring allocation for a body of `rawLen` bytes and `n` series' index; entries it overlaps are
   * overwritten (they are loaded again on their next use).
   */
  private allocate(rawLen: number, n: number): BodyEntry {
    const bodyBytes = align8(rawLen + WRITE_SLACK);
    const need = bodyBytes + INDEX_BYTES * n;
    if (this.head + need > this.ringBytes) this.head = 0;
    const at = this.head;
    const end = at + need;
    this.head = end;
    const kept: BodyEntry[] = [];
    for (const e of this.ring) {
      if (e.at < end && e.end > at) e.alive = false;
      else kept.push(e);
    }
    const bodyAt = this.ringAt + at;
    const entry: BodyEntry = { at, end, bodyAt, indexAt: bodyAt + bodyBytes, alive: true };
    kept.push(entry);
    this.ring = kept;
    return entry;
  }

  encode(slices: readonly SeriesSlice[], count: number, metadata: readonly MetadataEntry[]): Uint8Array | undefined {
    if (this.broken) return undefined;
    if (count === 0) return EMPTY;
    try {
      return this.encodeOrUndefined(slices, count, metadata);
    } catch (err) {
      return this.trapped(err);
    }
  }

  encodeRuns(runs: readonly SeriesRun[], count: number, metadata: readonly MetadataEntry[]): Uint8Array | undefined {
    if (this.broken) return undefined;
    try {
      return this.encodeRunsOrUndefined(runs, count, metadata);
    } catch (err) {
      return this.trapped(err);
    }
  }

  /** A trap (memory could not grow): the JavaScript encoder takes over for good. Our own errors go on. */
  private trapped(err: unknown): undefined {
    if (err instanceof PromspoolError) throw err;
    this.broken = true;
    return undefined;
  }

  private encodeRunsOrUndefined(
    runs: readonly SeriesRun[],
    count: number,
    metadata: readonly MetadataEntry[],
  ): Uint8Array | undefined {
    let series = 0;
    for (let r = 0; r < count; r++) series += runs[r].end - runs[r].start;
    if (series === 0) return EMPTY;
    this.reloaded = false;
    let u32 = this.requestWords(series, metadata);
    let w = this.slicesAt >>> 2;
    let last: SignalRecord | undefined;
    let indexAt = 0;
    let bodyAt = 0;
    // Per series two words that vary: its index entry, then the record's body and "whole".
    for (let r = 0; r < count; r++) {
      const run = runs[r];
      const rec = run.record;
      if (rec !== last) {
        last = rec;
        const entry = this.heldEntry(rec);
        if (entry === undefined) return undefined;
        u32 = this.u32;
        indexAt = entry.indexAt;
        bodyAt = entry.bodyAt;
      }
      const list = run.series;
      for (let i = run.start; i < run.end; i++, w += 4) {
        u32[w] = indexAt + INDEX_BYTES * list[i];
        u32[w + 1] = bodyAt;
        u32[w + 2] = 0;
        u32[w + 3] = WHOLE;
      }
    }
    if (this.reloaded && !this.runsAlive(runs, count)) return undefined;
    const out = this.finishRequest(series);
    if (out !== undefined) this.stats.runRequests++;
    return out;
  }

  private encodeOrUndefined(
    slices: readonly SeriesSlice[],
    count: number,
    metadata: readonly MetadataEntry[],
  ): Uint8Array | undefined {
    this.reloaded = false;
    // One pass: each record is checked (held, its samples as stored, its labels its own) when the
    // slices reach it, and the slices' words written as they go (two passes, one to check and
    // one to write, read every slice twice: ~34 -> ~20 ns per series in-process).
    let u32 = this.requestWords(count, metadata);
    let w = this.slicesAt >>> 2;
    let last: SignalRecord | undefined;
    let indexAt = 0;
    let bodyAt = 0;
    let offsets: Uint32Array = EMPTY_OFFSETS;
    for (let i = 0; i < count; i++, w += 4) {
      const s = slices[i];
      if (s.histogramEnd > s.histogramStart || s.exemplarEnd > s.exemplarStart) return this.fallback();
      const rec = s.record;
      if (rec !== last) {
        last = rec;
        const entry = this.heldEntry(rec);
        if (entry === undefined) return this.fallback();
        u32 = this.u32;
        indexAt = entry.indexAt;
        bodyAt = entry.bodyAt;
        offsets = rec.sampleOffsets;
      }
      const first = offsets[s.series];
      u32[w] = indexAt + INDEX_BYTES * s.series;
      u32[w + 1] = bodyAt;
      if (s.sampleStart === first && s.sampleEnd === offsets[s.series + 1]) {
        u32[w + 2] = 0;
        u32[w + 3] = WHOLE;
      } else {
        u32[w + 2] = s.sampleStart - first;
        u32[w + 3] = s.sampleEnd - s.sampleStart;
      }
    }
    // A reload of a later record may have overwritten an earlier one of this request: rare (the
    // ring holds many requests), then the 2.0 encoder takes the request.
    if (this.reloaded && !this.slicesAlive(slices, count)) return this.fallback();
    return this.finishRequest(count) ?? this.fallback();
  }

  /** Hands over the metadata and makes room for `count` slices' words; the memory's words view. */
  private requestWords(count: number, metadata: readonly MetadataEntry[]): Uint32Array {
    if (metadata !== this.lastMetadata) this.setMetadata(metadata);
    if (count > this.slicesCap) {
      this.slicesCap = Math.max(count, 2 * this.slicesCap, 1024);
      this.slicesAt = this.m.tc_alloc(16 * this.slicesCap);
    }
    this.views();
    return this.u32;
  }

  /**
   * `rec`'s ring entry, loaded again if it was overwritten (then `reloaded` is set and the views
   * are made again), or undefined when `rec` is not one this module encodes: not loaded, its
   * samples cut at send time or its labels relabeled.
   */
  private heldEntry(rec: SignalRecord): BodyEntry | undefined {
    let entry = this.bodies.get(rec);
    if (entry === undefined || rec.relabeled !== undefined || rec.rawSeries?.intact !== true) return undefined;
    if (!entry.alive) {
      entry = this.place(rec);
      if (entry === undefined) return undefined;
      this.bodies.set(rec, entry);
      this.stats.reloads++;
      this.reloaded = true;
      // The uncompress may have grown the memory (a new scratch): the views follow.
      this.views();
    }
    return entry;
  }

  /** Encodes the `count` slices' words written; undefined when the module could not. */
  private finishRequest(count: number): Uint8Array | undefined {
    const at = this.m.tc_encode(this.slicesAt, count);
    if (at === 0) return undefined;
    this.stats.requests++;
    return new Uint8Array(this.m.memory.buffer, at, this.m.tc_out_len());
  }

  /** Whether every record of `slices[0, count)` is still in the ring. */
  private slicesAlive(slices: readonly SeriesSlice[], count: number): boolean {
    let last: SignalRecord | undefined;
    for (let i = 0; i < count; i++) {
      const rec = slices[i].record;
      if (rec === last) continue;
      last = rec;
      if ((this.bodies.get(rec) as BodyEntry).alive !== true) return false;
    }
    return true;
  }

  /** Whether every record of `runs[0, count)` is still in the ring. */
  private runsAlive(runs: readonly SeriesRun[], count: number): boolean {
    for (let r = 0; r < count; r++) if ((this.bodies.get(runs[r].record) as BodyEntry).alive !== true) return false;
    return true;
  }

  private fallback(): undefined {
    this.stats.fallbacks++;
    return undefined;
  }

  /** Hands the metadata entries to the module (when the list changed: the endpoint makes a new one then). */
  private setMetadata(metadata: readonly MetadataEntry[]): void {
    const m = this.m;
    m.tc_meta_reset();
    for (const e of metadata) {
      const name = Buffer.from(e.metricFamilyName, 'utf8');
      const help = Buffer.from(e.help, 'utf8');
      const unit = Buffer.from(e.unit, 'utf8');
      const at = this.scratch(name.length + help.length + unit.length);
      this.views();
      this.u8.set(name, at);
      this.u8.set(help, at + name.length);
      this.u8.set(unit, at + name.length + help.length);
      const type = Math.max(0, METRIC_TYPES.indexOf(e.type));
      m.tc_meta_add(at, name.length, help.length, unit.length, type, FAMILY_TYPES.has(e.type) ? 1 : 0);
    }
    this.lastMetadata = metadata;
  }
}

const EMPTY_OFFSETS = new Uint32Array(1);
