/**
 * `write_relabel_configs` of one endpoint, paid once per series: each series' outcome (kept as it
 * is, dropped, or given new labels) is decided by the relabel engine the first time the endpoint
 * sees it and looked up afterwards. The rules see the series' labels merged with the external
 * labels, as Prometheus applies them (`processExternalLabels`, then `relabel.Process`).
 *
 * Series are found again by what identifies them in their record:
 * - a series id within its id scope (library appends: one number compare);
 * - the bytes of its label fields (relayed remote-write bodies stored as received), found by the
 *   label hash the receiver's scan computed and then compared byte for byte, so no string is built per series;
 * - otherwise its label strings joined (decoded records without ids).
 *
 * A series whose labels do not change keeps no override: the encoder writes it as it would without
 * rules (a relayed one keeps its received bytes). A changed one carries its new label fields,
 * encoded once into the cache's byte arena, which the encoder copies in place of the series' own
 * and the external labels. Outcomes live in typed columns and one arena, not in an object per
 * series: ~440 bytes per changed relayed series instead of ~1.8 KB, and nothing for the GC to trace.
 */
import type { Relabeler } from '../relabel/index.js';
import { compareUtf8 } from '../serialization/label-order.js';
import { rawSeriesLabels } from '../serialization/raw-record.js';
import type { SignalRecord } from '../serialization/types.js';
import { ScratchWriter, utf8Size, varint32Size } from '../wire/proto-writer.js';

/** Outcome kinds of a cached series. */
const KEEP = 0;
const DROP = 1;
const CHANGED = 2;
/** No entry (end of a hash chain, or not found). */
const NONE = -1;

/**
 * Default bound of the outcome cache, bytes. A relayed series of 10 labels whose labels change
 * holds ~440 bytes: its ~190 label bytes as key, its ~210 new label bytes, 21 bytes of entry
 * columns and a map entry. 100,000 such series take ~44 MB; the cache empties itself when full
 * and live series are decided again (~2-5 us each), so a bound below the live series makes every
 * sample pay a decision (bench/relay --relabel with a 32 MiB cache of objects: 18 CPU s per 1M).
 */
export const DEFAULT_RELABEL_CACHE_BYTES = 64 * 1024 * 1024;
/** Bytes a map entry costs beside the entry's own columns (V8 OrderedHashMap, measured ~30). */
const MAP_ENTRY_BYTES = 40;
/** Bytes of the entry columns per entry. */
const ENTRY_BYTES = 21;
const INITIAL_ARENA_BYTES = 64 * 1024;
const INITIAL_ENTRIES = 1024;

/** What relabeling did to one record. */
export interface RecordRelabeling {
  /** 1 for each series the rules dropped; undefined when none was. */
  dropped: Uint8Array | undefined;
  /** Series of the record the rules dropped. */
  droppedCount: number;
}

/** Counters of an endpoint's relabeling, since its start. */
export interface RelabelStats {
  /** Series the rules dropped, counted when decided (once per series while it stays cached). */
  seriesDropped: number;
  /** Series the rules gave other labels, counted when decided. */
  seriesChanged: number;
  /** Decisions made (cache misses). */
  decisions: number;
  /** Series outcomes cached now. */
  cachedSeries: number;
  /** Bytes the cache holds now (estimate, see {@link DEFAULT_RELABEL_CACHE_BYTES}). */
  cacheBytes: number;
}

export class WriteRelabeler {
  private readonly external: readonly string[];
  private readonly maxBytes: number;
  /**
   * Keys (relayed series' label bytes) and new label fields. Records point into it
   * (`rec.relabeled.bytes`) until they are sent: it is never overwritten, only replaced (grown
   * into a copy, or a fresh one when the cache empties).
   */
  private arena = new ScratchWriter(INITIAL_ARENA_BYTES);
  private kind = new Uint8Array(INITIAL_ENTRIES);
  private keyStart = new Int32Array(INITIAL_ENTRIES);
  private keyLength = new Int32Array(INITIAL_ENTRIES);
  private outStart = new Int32Array(INITIAL_ENTRIES);
  private outLength = new Int32Array(INITIAL_ENTRIES);
  /** Next entry with the same label hash (relayed series), or NONE. */
  private next = new Int32Array(INITIAL_ENTRIES);
  private entries = 0;
  /** Bytes of the label-string keys in `byKey`. */
  private keyStringBytes = 0;
  private idScope = -1;
  private readonly byId = new Map<number, number>();
  private readonly byHash = new Map<number, number>();
  private readonly byKey = new Map<string, number>();
  readonly stats: RelabelStats = { seriesDropped: 0, seriesChanged: 0, decisions: 0, cachedSeries: 0, cacheBytes: 0 };

  constructor(
    private readonly relabeler: Relabeler,
    externalLabels: Readonly<Record<string, string>>,
    maxCacheBytes = DEFAULT_RELABEL_CACHE_BYTES,
  ) {
    this.external = externalLabelList(externalLabels);
    this.maxBytes = maxCacheBytes;
  }

  /**
   * Decides every series of `rec`: sets `rec.relabeled` when some series get new labels, and
   * returns which series were dropped (their signals are the caller's to count and leave out).
   */
  apply(rec: SignalRecord): RecordRelabeling {
    // Emptied only between records: the entries of this record must stay where they point.
    if (this.cacheBytes() > this.maxBytes) this.empty();
    const n = rec.seriesCount;
    let dropped: Uint8Array | undefined;
    let droppedCount = 0;
    let start: Int32Array | undefined;
    let length: Int32Array | undefined;
    const ids = rec.seriesIds;
    const raw = rec.rawSeries;
    if (ids !== undefined && rec.seriesIdScope !== this.idScope) {
      this.byId.clear();
      this.idScope = rec.seriesIdScope ?? -1;
    }
    for (let i = 0; i < n; i++) {
      let e: number;
      if (ids !== undefined) e = this.entryById(rec, i, ids[i]);
      else if (raw !== undefined) e = this.entryByBytes(rec, i);
      else e = this.entryByKey(rec, i);
      const k = this.kind[e];
      if (k === KEEP) continue;
      if (k === DROP) {
        if (dropped === undefined) dropped = new Uint8Array(n);
        dropped[i] = 1;
        droppedCount++;
        continue;
      }
      if (start === undefined) {
        start = new Int32Array(n).fill(NONE);
        length = new Int32Array(n);
      }
      start[i] = this.outStart[e];
      (length as Int32Array)[i] = this.outLength[e];
    }
    // The arena as it is now holds every entry of this record (a grown arena is a copy).
    rec.relabeled = start === undefined ? undefined : { bytes: this.arena.buf, start, length: length as Int32Array };
    this.stats.cacheBytes = this.cacheBytes();
    return { dropped, droppedCount };
  }

  /** Frees the rules' compiled regexes (RE2's WebAssembly memory is fixed: a reload must not leak it). */
  dispose(): void {
    this.relabeler.dispose();
    this.empty();
  }

  private entryById(rec: SignalRecord, i: number, id: number): number {
    const hit = this.byId.get(id);
    if (hit !== undefined) return hit;
    const e = this.decide(recordLabels(rec, i), -1, 0);
    this.byId.set(id, e);
    return e;
  }

  private entryByBytes(rec: SignalRecord, i: number): number {
    const raw = rec.rawSeries!;
    const b = raw.bytes;
    const start = raw.start[i];
    const end = raw.labelsEnd[i];
    // The receiver's scan hashed the labels (the registry's hash): a chain holds series whose
    // hashes collide, told apart by their bytes.
    // 30 bits: a small integer to V8 (a Uint32 past 2^30 is a heap number, allocated on every
    // read and hashed as a double by the Map).
    const hash = rec.seriesHash[i] & 0x3fffffff;
    const head = this.byHash.get(hash);
    const len = end - start;
    if (head !== undefined) {
      const arena = this.arena.buf;
      for (let e = head; e !== NONE; e = this.next[e]) {
        if (this.keyLength[e] !== len) continue;
        const k = this.keyStart[e];
        // Native memcmp: 130 ns for 190 bytes, where a JavaScript loop took 365 (in-process, sequential).
        if (arena.compare(b, start, end, k, k + len) === 0) return e;
      }
    }
    const arena = this.arena;
    arena.ensure(len);
    const keyAt = arena.pos;
    arena.bytes(b, start, len);
    const e = this.decide(rawSeriesLabels(raw, i), keyAt, len);
    this.next[e] = head ?? NONE;
    this.byHash.set(hash, e);
    return e;
  }

  private entryByKey(rec: SignalRecord, i: number): number {
    const labels = recordLabels(rec, i);
    const key = labels.join('\xff');
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    const e = this.decide(labels, -1, 0);
    this.byKey.set(key, e);
    // The key string is held by the map: two bytes a character.
    this.keyStringBytes += 2 * key.length;
    return e;
  }

  /** Runs the rules on the series' labels merged with the external ones; a new entry. */
  private decide(own: string[], keyAt: number, keyLength: number): number {
    this.stats.decisions++;
    const out = relabelSeries(this.relabeler, own, this.external);
    const e = this.newEntry();
    this.keyStart[e] = keyAt;
    this.keyLength[e] = keyLength;
    this.next[e] = NONE;
    if (out === null) {
      this.stats.seriesDropped++;
      this.kind[e] = DROP;
    } else if (out === undefined) {
      this.kind[e] = KEEP;
    } else {
      this.stats.seriesChanged++;
      this.kind[e] = CHANGED;
      const arena = this.arena;
      const at = arena.pos;
      writeLabelFields(arena, out);
      this.outStart[e] = at;
      this.outLength[e] = arena.pos - at;
    }
    return e;
  }

  private newEntry(): number {
    if (this.entries === this.kind.length) {
      const cap = this.kind.length * 2;
      this.kind = grow(this.kind, new Uint8Array(cap));
      this.keyStart = grow(this.keyStart, new Int32Array(cap));
      this.keyLength = grow(this.keyLength, new Int32Array(cap));
      this.outStart = grow(this.outStart, new Int32Array(cap));
      this.outLength = grow(this.outLength, new Int32Array(cap));
      this.next = grow(this.next, new Int32Array(cap));
    }
    this.stats.cachedSeries = this.entries + 1;
    return this.entries++;
  }

  private cacheBytes(): number {
    return this.arena.pos + this.keyStringBytes + this.entries * (ENTRY_BYTES + MAP_ENTRY_BYTES);
  }

  /** Forgets every outcome; live series are decided again. Records sent meanwhile keep the old arena. */
  private empty(): void {
    this.byId.clear();
    this.byHash.clear();
    this.byKey.clear();
    this.entries = 0;
    this.arena = new ScratchWriter(INITIAL_ARENA_BYTES);
    this.keyStringBytes = 0;
    this.stats.cachedSeries = 0;
  }
}

/**
 * The external labels as the relabel decision takes them: `[name, value, ...]` sorted by name
 * bytes, without empty names or values (the encoders leave those out: an empty value means no such
 * label).
 */
export function externalLabelList(externalLabels: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(externalLabels)
    .filter((n) => n !== '' && externalLabels[n] !== '')
    .sort(compareUtf8);
  const flat: string[] = [];
  for (const n of names) flat.push(n, externalLabels[n]);
  return flat;
}

function grow<T extends Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}

/** Series `i`'s labels as `[name, value, ...]`, sorted by name (records keep them sorted). */
function recordLabels(rec: SignalRecord, i: number): string[] {
  const strings = rec.strings;
  const refs = rec.labelRefs;
  const out: string[] = [];
  // labelOffsets count labels; each label is two refs (name, value).
  for (let k = rec.labelOffsets[i], end = rec.labelOffsets[i + 1]; k < end; k++) {
    out.push(strings[refs[2 * k]], strings[refs[2 * k + 1]]);
  }
  return out;
}

/**
 * What write relabel rules do to one series: `own` is its labels (`[name, value, ...]`, sorted),
 * `external` the external labels (same form) merged before the rules run, its own winning.
 * Null: dropped (a rule dropped it, or no label is left); undefined: the rules changed nothing
 * (its labels merged with the external ones stand, as the encoders merge them); otherwise its new
 * labels, external ones included, sorted. The one decision both
 * the send-time cache above and the ingest route (src/relay/ingest-relabel.ts) make.
 */
export function relabelSeries(
  relabeler: Relabeler,
  own: string[],
  external: readonly string[],
): readonly string[] | null | undefined {
  const merged = mergeExternal(own, external);
  const out = relabeler.process(merged);
  if (out === null || out.length === 0) return null;
  if (out === merged || sameLabels(out, merged)) return undefined;
  return out;
}

/**
 * {@link relabelSeries} as the relay scan stores a series (src/relay/ingest-relabel.ts), where the
 * external labels are merged at ingest and not again at send time: null when dropped; undefined
 * when the series goes out with its own labels exactly (the rules changed nothing and it already
 * had a label of every external name, or the rules gave it back its own labels); otherwise its new
 * labels, the external ones merged in, sorted. The labels sent are the same either way: those the
 * send-time route sends after merging, relabeling and the encoders' merge.
 */
export function relabelSeriesAtIngest(
  relabeler: Relabeler,
  own: string[],
  external: readonly string[],
): readonly string[] | null | undefined {
  const out = relabelSeries(relabeler, own, external);
  if (out === null) return null;
  const labels = out === undefined ? mergeExternal(own, external) : out;
  return labels === own || sameLabels(labels, own) ? undefined : labels;
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Series labels plus the external labels it does not have (its own win), sorted by name. */
function mergeExternal(own: string[], external: readonly string[]): string[] {
  if (external.length === 0) return own;
  const out: string[] = [];
  let i = 0;
  let k = 0;
  while (i < own.length || k < external.length) {
    const c = i >= own.length ? 1 : k >= external.length ? -1 : compareUtf8(own[i], external[k]);
    if (c <= 0) {
      out.push(own[i], own[i + 1]);
      if (c === 0) k += 2;
      i += 2;
    } else {
      out.push(external[k], external[k + 1]);
      k += 2;
    }
  }
  return out;
}

/** Appends the RW1 `Label` fields (`TimeSeries.labels = 1`) of `[name, value, ...]`, in order. */
export function writeLabelFields(w: ScratchWriter, labels: readonly string[]): void {
  for (let i = 0; i < labels.length; i += 2) {
    const n = utf8Size(labels[i]);
    const v = utf8Size(labels[i + 1]);
    const body = 1 + varint32Size(n) + n + 1 + varint32Size(v) + v;
    w.ensure(1 + varint32Size(body) + body);
    w.byte(0x0a);
    w.varint32(body);
    w.byte(0x0a); // Label.name = 1
    w.varint32(n);
    w.utf8(labels[i], n);
    w.byte(0x12); // Label.value = 2
    w.varint32(v);
    w.utf8(labels[i + 1], v);
  }
}
