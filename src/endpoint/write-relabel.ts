/**
 * `write_relabel_configs` of one endpoint, paid once per series: each series' outcome (kept as it
 * is, dropped, or given new labels) is decided by the relabel engine the first time the endpoint
 * sees it and looked up afterwards. The rules see the series' labels merged with the external
 * labels, as Prometheus applies them (`processExternalLabels`, then `relabel.Process`).
 *
 * Series are found again by what identifies them in their record:
 * - a series id within its id scope (library appends: one number compare);
 * - the bytes of its label fields (relayed remote-write bodies stored as received), found by the
 *   FNV-1a hash of those bytes and then compared byte for byte, so no string is built per series;
 * - otherwise its label strings joined (decoded records without ids).
 *
 * A series whose labels do not change keeps no override: the encoder writes it as it would without
 * rules (a relayed one keeps its received bytes). A changed one carries its new label fields,
 * encoded once, which the encoder copies in place of the series' own and the external labels.
 */
import type { Relabeler } from '../relabel/index.js';
import type { RelabeledSeries, SignalRecord } from '../serialization/types.js';
import { readLength, varintCursor } from '../wire/varint-reader.js';

/** A series kept with its labels unchanged. */
const KEEP = 0;
/** A series dropped by the rules. */
const DROP = 1;
type Outcome = typeof KEEP | typeof DROP | RelabeledSeries;

/** One series stored as received, keyed by its label bytes. */
interface BytesEntry {
  readonly key: Uint8Array;
  readonly outcome: Outcome;
}

/**
 * Default bound of the outcome cache, bytes (keys, new labels and an estimate of the maps'
 * overhead). A relayed series of 10 labels whose labels change costs ~1 KB (its ~190 label bytes
 * as key, its new label bytes, the new label strings): 100,000 of them take ~100 MB. A smaller
 * bound than the live series makes the cache empty itself over and over, and a decision costs
 * far more than a lookup (bench/relay --relabel with a 32 MiB bound: 18 CPU s per 1M samples).
 */
export const DEFAULT_RELABEL_CACHE_BYTES = 128 * 1024 * 1024;
/** Map entry overhead assumed per cached series, bytes. */
const ENTRY_OVERHEAD = 96;

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
}

export class WriteRelabeler {
  private readonly external: readonly string[];
  private readonly maxBytes: number;
  private bytes = 0;
  private idScope = -1;
  private readonly byId = new Map<number, Outcome>();
  private readonly byHash = new Map<number, BytesEntry | BytesEntry[]>();
  private readonly byKey = new Map<string, Outcome>();
  readonly stats: RelabelStats = { seriesDropped: 0, seriesChanged: 0, decisions: 0, cachedSeries: 0 };

  constructor(
    private readonly relabeler: Relabeler,
    externalLabels: Readonly<Record<string, string>>,
    maxCacheBytes = DEFAULT_RELABEL_CACHE_BYTES,
  ) {
    const names = Object.keys(externalLabels)
      .filter((n) => n !== '' && externalLabels[n] !== '')
      .sort(compareUtf8);
    const flat: string[] = [];
    for (const n of names) flat.push(n, externalLabels[n]);
    this.external = flat;
    this.maxBytes = maxCacheBytes;
  }

  /**
   * Decides every series of `rec`: sets `rec.relabeled` when some series get new labels, and
   * returns which series were dropped (their signals are the caller's to count and leave out).
   */
  apply(rec: SignalRecord): RecordRelabeling {
    const n = rec.seriesCount;
    let dropped: Uint8Array | undefined;
    let droppedCount = 0;
    let relabeled: (RelabeledSeries | undefined)[] | undefined;
    const ids = rec.seriesIds;
    const raw = rec.rawSeries;
    if (ids !== undefined && rec.seriesIdScope !== this.idScope) {
      this.byId.clear();
      this.idScope = rec.seriesIdScope ?? -1;
    }
    for (let i = 0; i < n; i++) {
      let outcome: Outcome;
      if (ids !== undefined) outcome = this.outcomeById(rec, i, ids[i]);
      else if (raw !== undefined) outcome = this.outcomeByBytes(rec, i);
      else outcome = this.outcomeByKey(rec, i);
      if (outcome === KEEP) continue;
      if (outcome === DROP) {
        if (dropped === undefined) dropped = new Uint8Array(n);
        dropped[i] = 1;
        droppedCount++;
        continue;
      }
      if (relabeled === undefined) relabeled = new Array<RelabeledSeries | undefined>(n).fill(undefined);
      relabeled[i] = outcome;
    }
    rec.relabeled = relabeled;
    return { dropped, droppedCount };
  }

  private outcomeById(rec: SignalRecord, i: number, id: number): Outcome {
    const hit = this.byId.get(id);
    if (hit !== undefined) return hit;
    const outcome = this.decide(recordLabels(rec, i));
    this.makeRoom(ENTRY_OVERHEAD + outcomeBytes(outcome));
    this.byId.set(id, outcome);
    this.stats.cachedSeries++;
    return outcome;
  }

  private outcomeByBytes(rec: SignalRecord, i: number): Outcome {
    const raw = rec.rawSeries!;
    const b = raw.bytes;
    const start = raw.start[i];
    const end = raw.labelsEnd[i];
    // Not the record's seriesHash: a relayed record's may say only the series' shard, which would
    // put hundreds of series in one slot (bench/relay --relabel: 18 CPU s per 1M samples).
    const hash = fnv1a(b, start, end);
    const slot = this.byHash.get(hash);
    if (slot !== undefined) {
      if (Array.isArray(slot)) {
        for (const e of slot) if (sameBytes(e.key, b, start, end)) return e.outcome;
      } else if (sameBytes(slot.key, b, start, end)) {
        return slot.outcome;
      }
    }
    const outcome = this.decide(rawLabels(b, start, end));
    this.makeRoom(ENTRY_OVERHEAD + (end - start) + outcomeBytes(outcome));
    const entry: BytesEntry = { key: b.slice(start, end), outcome };
    const now = this.byHash.get(hash);
    if (now === undefined) this.byHash.set(hash, entry);
    else if (Array.isArray(now)) now.push(entry);
    else this.byHash.set(hash, [now, entry]);
    this.stats.cachedSeries++;
    return outcome;
  }

  private outcomeByKey(rec: SignalRecord, i: number): Outcome {
    const labels = recordLabels(rec, i);
    const key = labels.join('\xff');
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    const outcome = this.decide(labels);
    this.makeRoom(ENTRY_OVERHEAD + 2 * key.length + outcomeBytes(outcome));
    this.byKey.set(key, outcome);
    this.stats.cachedSeries++;
    return outcome;
  }

  /** Runs the rules on the series' labels merged with the external ones. */
  private decide(own: string[]): Outcome {
    this.stats.decisions++;
    const merged = mergeExternal(own, this.external);
    const out = this.relabeler.process(merged);
    if (out === null || out.length === 0) {
      this.stats.seriesDropped++;
      return DROP;
    }
    if (out === merged || sameLabels(out, merged)) return KEEP;
    this.stats.seriesChanged++;
    return { labels: out, rw1Labels: encodeLabelFields(out) };
  }

  /** Frees the rules' compiled regexes (RE2's WebAssembly memory is fixed: a reload must not leak it). */
  dispose(): void {
    this.relabeler.dispose();
    this.byId.clear();
    this.byHash.clear();
    this.byKey.clear();
  }

  /** Empties the cache when `need` more bytes would pass its bound: live series are decided again. */
  private makeRoom(need: number): void {
    this.bytes += need;
    if (this.bytes <= this.maxBytes) return;
    this.byId.clear();
    this.byHash.clear();
    this.byKey.clear();
    this.stats.cachedSeries = 0;
    this.bytes = need;
  }
}

/** Bytes a cached outcome holds: its label bytes, and its label strings (2 bytes a char + ~32 a string). */
function outcomeBytes(o: Outcome): number {
  if (typeof o === 'number') return 0;
  let strings = 0;
  for (const l of o.labels) strings += 32 + 2 * l.length;
  return o.rw1Labels.length + strings + 16 * o.labels.length;
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

/** Buffer's own UTF-8 slice: ~10x faster than a TextDecoder on a subarray for label-sized strings. */
function utf8Text(b: Uint8Array, start: number, end: number): string {
  return Buffer.prototype.utf8Slice.call(b, start, end) as string;
}

/**
 * Label fields `b[start..end)` of a series stored as received (`{name, value}` pairs the receiver's
 * scan checked) as `[name, value, ...]`.
 */
function rawLabels(b: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  for (let pos = start; pos < end; ) {
    // Label field: 0x0a len 0x0a nameLen name 0x12 valueLen value
    const len = readLength(b, pos + 1, end);
    const labelStart = varintCursor.end;
    const labelStop = labelStart + len;
    let p = labelStart;
    let name = '';
    let value = '';
    while (p < labelStop) {
      const tag = b[p];
      const l = readLength(b, p + 1, labelStop);
      const s = varintCursor.end;
      if (tag === 0x0a) name = utf8Text(b, s, s + l);
      else if (tag === 0x12) value = utf8Text(b, s, s + l);
      p = s + l;
    }
    out.push(name, value);
    pos = labelStop;
  }
  return out;
}

/** FNV-1a over `b[start..end)`: ~0.2 us for a 10-label series. */
function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

function sameBytes(key: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key[i] !== b[start + i]) return false;
  return true;
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

/** Orders strings by their UTF-8 bytes (= code points), as Prometheus sorts label names. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** RW1 `Label` fields (`TimeSeries.labels = 1`) of `[name, value, ...]`, in order. */
export function encodeLabelFields(labels: readonly string[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < labels.length; i += 2) {
    const n = Buffer.byteLength(labels[i], 'utf8');
    const v = Buffer.byteLength(labels[i + 1], 'utf8');
    const body = 1 + varintLen(n) + n + 1 + varintLen(v) + v;
    size += 1 + varintLen(body) + body;
  }
  // One allocation (not from Buffer's shared pool, which a long-lived cache entry would pin).
  const out = Buffer.from(new ArrayBuffer(size));
  let p = 0;
  for (let i = 0; i < labels.length; i += 2) {
    const n = Buffer.byteLength(labels[i], 'utf8');
    const v = Buffer.byteLength(labels[i + 1], 'utf8');
    out[p++] = 0x0a;
    p = putVarint(out, p, 1 + varintLen(n) + n + 1 + varintLen(v) + v);
    out[p++] = 0x0a;
    p = putVarint(out, p, n);
    p += out.write(labels[i], p, n, 'utf8');
    out[p++] = 0x12;
    p = putVarint(out, p, v);
    p += out.write(labels[i + 1], p, v, 'utf8');
  }
  return new Uint8Array(out.buffer, 0, size);
}

function varintLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

function putVarint(b: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}
