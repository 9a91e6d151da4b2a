import type { SeriesRef } from '../queue-types.js';
import {
  DEFAULT_NAME_VALIDATION_SCHEME,
  isValidLabelNameFor,
  isValidMetricNameFor,
  isWellFormedString,
  labelNameRule,
  metricNameRule,
  type NameValidationScheme,
} from './name-validation.js';
import type { Labels } from './types.js';

/**
 * A string shared by every series that uses it, so the Serializer can give it a record-local
 * string-table id with one property check (`epoch`) instead of a Map lookup per label.
 * `epoch`/`id` are scratch fields owned by whichever record build is running (builds are
 * synchronous, so two never interleave).
 */
export interface InternedString {
  readonly str: string;
  /** Record build that last assigned `id`. */
  epoch: number;
  /** String-table index in the record being built when `epoch` matches. */
  id: number;
}

/**
 * A validated, sorted, hashed label set. Users see it as a {@link SeriesRef}; the other fields
 * are internal to src/serialization.
 */
export interface SeriesHandle extends SeriesRef {
  /** Frozen copy of the labels, keys in sorted order: built on first read, the same object after. */
  readonly labels: Readonly<Labels>;
  /** {@link hashLabelPairs} of the sorted labels: stored on disk and used for sharding. */
  readonly hash: number;
  /** Sorted (name, value) pairs, interleaved: `pairs[2k]` is a name, `pairs[2k+1]` its value. */
  readonly pairs: readonly InternedString[];
  /** Record build that last assigned `slot` (internal to the Serializer). */
  epoch: number;
  /** Series index in the record being built when `epoch` matches. */
  slot: number;
  /** Id space (`SignalRecord.seriesIdScope`) in which `seriesId` was given (internal to the Serializer; 0 = none). */
  idScope: number;
  /** The series' id in `idScope`. */
  seriesId: number;
}

class Handle implements SeriesHandle {
  epoch = 0;
  slot = 0;
  idScope = 0;
  seriesId = 0;
  /** Position in the registry's retention ring when last (re)inserted. */
  ringPos = 0;
  /** Times a new object with this content was resolved through the content index. */
  contentHits = 0;
  /** True once its content-index entry is a WeakRef (it left the ring at least once). */
  weaklyIndexed = false;
  /**
   * Built on first read of `labels`: the append paths only need `pairs`, and a frozen object per
   * series would cost ~100 B for every series a receiver relays without anyone reading it.
   */
  private frozenLabels: Readonly<Labels> | undefined = undefined;
  constructor(
    readonly hash: number,
    readonly pairs: readonly InternedString[],
    /** Key of its content-index bucket. */
    readonly digest: number,
  ) {}

  get labels(): Readonly<Labels> {
    if (this.frozenLabels === undefined) {
      const pairs = this.pairs;
      const entries = new Array<[string, string]>(pairs.length >>> 1);
      for (let k = 0; k < pairs.length; k += 2) entries[k >>> 1] = [pairs[k].str, pairs[k + 1].str];
      // fromEntries defines own properties, so even a label named `__proto__` is kept as data.
      this.frozenLabels = Object.freeze(Object.fromEntries(entries));
    }
    return this.frozenLabels;
  }
}

let lastEpoch = 0;

/**
 * A fresh stamp for one record build: every handle or interned string whose `epoch` differs
 * has not been seen in this record yet. 2^53 builds before wrapping: never in practice.
 */
export function nextRecordEpoch(): number {
  lastEpoch += 1;
  return lastEpoch;
}

/**
 * True when `name` is a valid Prometheus metric name under `scheme`: by default (`utf8`,
 * Prometheus 3's) any non-empty well-formed string; `legacy`: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
 */
export function isValidMetricName(
  name: string,
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
): boolean {
  return isValidMetricNameFor(name, scheme);
}

/**
 * True when `name` is a valid Prometheus label name under `scheme`: by default (`utf8`,
 * Prometheus 3's) any non-empty well-formed string; `legacy`: `[a-zA-Z_][a-zA-Z0-9_]*`.
 */
export function isValidLabelName(name: string, scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME): boolean {
  return isValidLabelNameFor(name, scheme);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The series hash stored on disk and used to pick a virtual shard. Its definition is part of
 * the on-disk format: records say which one they carry (kind-1 format version 2, kind-2 raw
 * version 2), and a reader recomputes the hashes of older records, so a series keeps its virtual
 * shard across an upgrade.
 *
 * Version 2 (now): 32-bit FNV-1a over the UTF-8 bytes of `name0 0xff value0 0xff name1 0xff
 * value1 0xff ...` (labels sorted by name; 0xff never occurs in UTF-8, so the encoding is
 * unambiguous), except that a value's bytes are taken four at a time as little-endian 32-bit
 * words (its last 0-3 bytes one at a time): one multiply per word instead of per byte, which cut
 * the relay scan by a fifth (values are most of a series' bytes). Then the murmur3 `fmix32`
 * finalizer so that the low bits (`hash % 256` picks the virtual shard) depend on every input
 * byte. Result is an unsigned 32-bit integer. Version 1 hashed every byte alone.
 *
 * @param sorted names and values interleaved, sorted by name.
 */
export function hashLabelPairs(sorted: readonly string[]): number {
  let h = FNV_OFFSET;
  for (let k = 0; k < sorted.length; k++) {
    h = k % 2 === 0 ? hashNameUtf8(h, sorted[k]) : hashValueUtf8(h, sorted[k]);
    h = Math.imul(h ^ 0xff, FNV_PRIME);
  }
  return fmix32(h);
}

/**
 * Writes {@link hashLabelPairs} of every series of a record (its label refs into `strings`) into
 * `out`: for records written with hash version 1, read after an upgrade.
 */
export function hashRecordSeries(
  strings: readonly string[],
  labelOffsets: Uint32Array,
  labelRefs: Uint32Array,
  out: Uint32Array,
): void {
  const pairs: string[] = [];
  for (let s = 0; s + 1 < labelOffsets.length; s++) {
    pairs.length = 0;
    for (let k = labelOffsets[s]; k < labelOffsets[s + 1]; k++)
      pairs.push(strings[labelRefs[2 * k]], strings[labelRefs[2 * k + 1]]);
    out[s] = hashLabelPairs(pairs);
  }
}

/** Version 1 of {@link hashLabelPairs} (every byte alone): to recompute the hashes of older records. */
export function hashLabelPairsV1(sorted: readonly string[]): number {
  let h = FNV_OFFSET;
  for (let k = 0; k < sorted.length; k++) {
    h = hashNameUtf8(h, sorted[k]);
    h = Math.imul(h ^ 0xff, FNV_PRIME);
  }
  return fmix32(h);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a steps over the UTF-8 bytes of `s`, one byte at a time. */
function hashNameUtf8(h0: number, s: string): number {
  let h = h0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Not ASCII: start again over its UTF-8 bytes.
    if (c >= 0x80) return hashBytes(h0, s, false);
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h;
}

let utf8Scratch = new Uint8Array(256);

/** FNV-1a steps over the UTF-8 bytes of `s` as little-endian words, then its last 0-3 bytes. */
function hashValueUtf8(h0: number, s: string): number {
  let h = h0;
  const n = s.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    // Not ASCII: start again over its UTF-8 bytes.
    if ((a | b | c | d) >= 0x80) return hashBytes(h0, s, true);
    h = Math.imul(h ^ (a | (b << 8) | (c << 16) | (d << 24)), FNV_PRIME);
  }
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return hashBytes(h0, s, true);
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h;
}

/** FNV-1a steps over the UTF-8 bytes of a non-ASCII `s`: as words then bytes (`words`), or bytes alone. */
function hashBytes(h: number, s: string, words: boolean): number {
  if (utf8Scratch.length < 3 * s.length) utf8Scratch = new Uint8Array(3 * s.length * 2);
  const b = utf8Scratch;
  const len = encodeUtf8As(s, b);
  let i = 0;
  if (words) {
    for (; i + 4 <= len; i += 4)
      h = Math.imul(h ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)), FNV_PRIME);
  }
  for (; i < len; i++) h = Math.imul(h ^ b[i], FNV_PRIME);
  return h;
}

/** The UTF-8 bytes of `s` (a lone surrogate as its 3-byte form), into `out`; returns their count. */
function encodeUtf8As(s: string, out: Uint8Array): number {
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          out[o++] = 0xf0 | (c >> 18);
          out[o++] = 0x80 | ((c >> 12) & 0x3f);
          out[o++] = 0x80 | ((c >> 6) & 0x3f);
          out[o++] = 0x80 | (c & 0x3f);
          continue;
        }
      }
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
    }
    out[o++] = 0x80 | (c & 0x3f);
  }
  return o;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Validates a label set and returns its names and values interleaved, sorted by name.
 * Rules (Prometheus' own, see name-validation.ts): names are valid label names under `scheme`
 * (`utf8`: any non-empty well-formed string, `__` prefix included, as Prometheus 3's receiver
 * takes them; `legacy`: `[a-zA-Z_][a-zA-Z0-9_]*`); `__name__` is required (unless `requireName`
 * is false, for exemplar labels) and a valid metric name under `scheme`; values are non-empty,
 * well-formed strings. An empty value means "no such label" in Prometheus; it is rejected rather
 * than silently dropped so that two spellings of one series cannot exist.
 * Throws `TypeError` naming the offending label and value, and the rule it breaks.
 */
export function validateLabels(
  labels: Labels,
  requireName: boolean,
  what = 'label',
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
): string[] {
  if (labels === null || typeof labels !== 'object') {
    throw new TypeError(`${what}s must be an object of string values, got ${describe(labels)}`);
  }
  const names = Object.keys(labels);
  names.sort();
  const out = new Array<string>(names.length * 2);
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    const value: unknown = labels[name];
    if (!isValidLabelNameFor(name, scheme)) {
      throw new TypeError(`invalid ${what} name ${JSON.stringify(name)}: ${labelNameRule(scheme)}`);
    }
    if (typeof value !== 'string') {
      throw new TypeError(`${what} ${name} must be a string, got ${describe(value)}`);
    }
    if (value.length === 0) {
      throw new TypeError(`${what} ${name} has an empty value (an empty value means "no label": omit it instead)`);
    }
    if (!isWellFormedString(value)) {
      throw new TypeError(`${what} ${name} value ${JSON.stringify(value)} is not well-formed Unicode (lone surrogate)`);
    }
    out[2 * k] = name;
    out[2 * k + 1] = value;
  }
  const metricName = labels.__name__;
  if (metricName === undefined) {
    if (requireName) throw new TypeError(`${what}s must include __name__ (the metric name)`);
  } else if (!isValidMetricNameFor(metricName, scheme)) {
    throw new TypeError(`invalid metric name __name__=${JSON.stringify(metricName)}: ${metricNameRule(scheme)}`);
  }
  return out;
}

/**
 * Order-independent 30-bit digest of a label object's content, for the in-memory content index
 * only (never stored, so free to change): the sum of one mixed FNV-1a per (name, value) pair over
 * UTF-16 code units, cut to 30 bits so Map keys stay small integers (unboxed). Equal sets give
 * equal digests whatever the key order; a digest match is always confirmed label by label.
 * A non-string value gives 0 (it can match nothing; validation then reports it).
 */
function contentDigest(labels: Labels, names: readonly string[]): number {
  let sum = 0;
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    const value: unknown = labels[name];
    if (typeof value !== 'string') return 0;
    let h = FNV_OFFSET;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), FNV_PRIME);
    h = Math.imul(h ^ 0xffff, FNV_PRIME);
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), FNV_PRIME);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    sum = (sum + h) | 0;
  }
  return sum & 0x3fffffff;
}

function sameContent(handle: Handle, labels: Labels, names: readonly string[]): boolean {
  const pairs = handle.pairs;
  if (pairs.length !== names.length * 2) return false;
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    // Keys in sorted order (as decoders and most callers give them) compare position by position.
    if (pairs[2 * k].str !== name) return sameContentAnyOrder(pairs, labels);
    if (pairs[2 * k + 1].str !== labels[name]) return false;
  }
  return true;
}

/** Same sizes already checked: every pair of the handle is an own property of `labels` with its value. */
function sameContentAnyOrder(pairs: readonly InternedString[], labels: Labels): boolean {
  for (let k = 0; k < pairs.length; k += 2) {
    const name = pairs[k].str;
    if (!Object.hasOwn(labels, name) || labels[name] !== pairs[k + 1].str) return false;
  }
  return true;
}

/**
 * A handle in the retention ring is indexed by a strong reference; one that left the ring by a
 * WeakRef (with a FinalizationRegistry cell that removes it once collected). A series pushed
 * steadily thus costs neither: ~100 B per series saved.
 */
type IndexEntry = Handle | WeakRef<Handle>;
type Bucket = IndexEntry | IndexEntry[];

function entryHandle(entry: IndexEntry): Handle | undefined {
  return entry instanceof Handle ? entry : entry.deref();
}

/** New objects of one series remembered by identity; past this, the caller evidently builds one per append. */
const IDENTITY_CACHE_AFTER_CONTENT_HITS = 2;

export interface SeriesRegistryOptions {
  /**
   * How many recently used handles are kept alive for label objects seen again with equal
   * content but a new identity. Default 100,000. Handles the user holds stay valid regardless.
   */
  maxCachedSeries?: number;
  /** Bound of the string intern table; it is cleared when full (correctness does not depend on it). Default 1,000,000. */
  maxInternedStrings?: number;
  /** Which metric and label names are valid (see name-validation.ts). Default `utf8`, Prometheus 3's. */
  nameValidationScheme?: NameValidationScheme;
}

export interface SeriesRegistryStats {
  /** Handles created (a label set validated, sorted and hashed) since start. */
  created: number;
  /** Content-keyed index entries (live or not yet collected handles). */
  indexed: number;
  internedStrings: number;
}

/**
 * Turns label sets into cached {@link SeriesHandle}s. One per queue, shared by its appenders.
 */
export interface SeriesRegistry {
  /**
   * The handle for `labels` or for a handle passed back in. Lookup order, cheapest first:
   * 1. a handle given back (the public fast path: `queue.series(labels)` once, then append the
   *    handle): no lookup at all;
   * 2. a labels object seen before: a `WeakMap` keyed by the object's identity. The object is
   *    frozen when it is remembered, because a later mutation would otherwise go unnoticed and
   *    send the old labels; in strict-mode code the mutation throws instead. Once more than two
   *    new objects of the same series went through step 3, new objects of that series are no
   *    longer remembered (nor frozen): the caller builds one per append, and remembering them
   *    would cost more than it saves;
   * 3. a new object with the same content as a known series: an order-independent digest of
   *    its content is looked up in a content index and the match confirmed label by label, so
   *    equal label sets (in any key order) always share one handle while it is alive (one
   *    series per record, never split). Recently used handles are kept alive by a bounded ring
   *    (`maxCachedSeries`) that the index refers to strongly; a handle that left the ring is
   *    indexed weakly, and its entry removed once it is collected, so label churn does
   *    not grow memory without bound;
   * 4. otherwise: validate, sort, hash, create.
   * Throws `TypeError` for invalid labels (see {@link validateLabels}).
   */
  resolve(labelsOrRef: Labels | SeriesRef): SeriesHandle;
  /** Validated exemplar labels as sorted interleaved pairs (exemplar labels need no `__name__`). */
  exemplarPairs(labels: Labels): InternedString[];
  /** The rule names are validated by (fixed for the registry's life: cached handles were validated by it). */
  readonly nameValidationScheme: NameValidationScheme;
  stats(): SeriesRegistryStats;
}

/** Creates a {@link SeriesRegistry}. */
export function createSeriesRegistry(options: SeriesRegistryOptions = {}): SeriesRegistry {
  return new Registry(
    options.maxCachedSeries ?? 100_000,
    options.maxInternedStrings ?? 1_000_000,
    options.nameValidationScheme ?? DEFAULT_NAME_VALIDATION_SCHEME,
  );
}

class Registry implements SeriesRegistry {
  private readonly byObject = new WeakMap<object, Handle>();
  private readonly byContent = new Map<number, Bucket>();
  private readonly finalizer = new FinalizationRegistry<number>((digest) => this.forget(digest));
  private readonly ring: (Handle | undefined)[];
  private ringCursor = 0;
  private strings = new Map<string, InternedString>();
  private created = 0;

  constructor(
    private readonly maxCachedSeries: number,
    private readonly maxInternedStrings: number,
    readonly nameValidationScheme: NameValidationScheme,
  ) {
    if (!Number.isInteger(maxCachedSeries) || maxCachedSeries < 1) {
      throw new RangeError(`maxCachedSeries must be a positive integer, got ${maxCachedSeries}`);
    }
    this.ring = new Array(maxCachedSeries);
  }

  resolve(labelsOrRef: Labels | SeriesRef): SeriesHandle {
    if (labelsOrRef instanceof Handle) return labelsOrRef;
    const labels = labelsOrRef as Labels;
    if (labels === null || typeof labels !== 'object') {
      throw new TypeError(`labels must be an object of string values, got ${describe(labels)}`);
    }
    const known = this.byObject.get(labels);
    if (known !== undefined) return known;
    return this.resolveNewObject(labels);
  }

  private resolveNewObject(labels: Labels): Handle {
    const names = Object.keys(labels);
    const digest = contentDigest(labels, names);
    let handle = this.lookup(digest, labels, names);
    if (handle === undefined) {
      const pairs = validateLabels(labels, true, 'label', this.nameValidationScheme);
      handle = this.create(pairs, digest);
    } else if (++handle.contentHits > IDENTITY_CACHE_AFTER_CONTENT_HITS) {
      // The caller builds a new object per append for this series: remembering each one by
      // identity would cost more (freeze, WeakMap entry, GC) than it could ever save.
      this.retain(handle);
      return handle;
    }
    this.retain(handle);
    Object.freeze(labels);
    this.byObject.set(labels, handle);
    return handle;
  }

  private lookup(digest: number, labels: Labels, names: readonly string[]): Handle | undefined {
    const bucket = this.byContent.get(digest);
    if (bucket === undefined) return undefined;
    if (!Array.isArray(bucket)) {
      const h = entryHandle(bucket);
      return h !== undefined && sameContent(h, labels, names) ? h : undefined;
    }
    for (const entry of bucket) {
      const h = entryHandle(entry);
      if (h !== undefined && sameContent(h, labels, names)) return h;
    }
    return undefined;
  }

  private create(pairs: string[], digest: number): Handle {
    const interned = new Array<InternedString>(pairs.length);
    for (let k = 0; k < pairs.length; k++) interned[k] = this.intern(pairs[k]);
    const handle = new Handle(hashLabelPairs(pairs), interned, digest);
    this.created++;
    // Strong while in the ring: the caller retains every handle it creates.
    const bucket = this.byContent.get(digest);
    if (bucket === undefined) this.byContent.set(digest, handle);
    else if (Array.isArray(bucket)) bucket.push(handle);
    else this.byContent.set(digest, [bucket, handle]);
    return handle;
  }

  /** `handle` left the ring: index it weakly, so that only holders elsewhere keep it alive. */
  private weaken(handle: Handle): void {
    handle.weaklyIndexed = true;
    const ref = new WeakRef(handle);
    const bucket = this.byContent.get(handle.digest);
    if (bucket === handle) {
      this.byContent.set(handle.digest, ref);
    } else if (Array.isArray(bucket)) {
      const at = bucket.indexOf(handle);
      if (at >= 0) bucket[at] = ref;
    }
    this.finalizer.register(handle, handle.digest);
  }

  /** Called after a handle was collected: drop the dead entries of its digest's bucket. */
  private forget(digest: number): void {
    const bucket = this.byContent.get(digest);
    if (bucket === undefined) return;
    if (!Array.isArray(bucket)) {
      if (entryHandle(bucket) === undefined) this.byContent.delete(digest);
      return;
    }
    const live = bucket.filter((entry) => entryHandle(entry) !== undefined);
    if (live.length === 0) this.byContent.delete(digest);
    else this.byContent.set(digest, live.length === 1 ? live[0] : live);
  }

  /**
   * Keeps recently used handles reachable: a handle is (re)inserted into the ring when it is not
   * in its newer half, so a hot series survives however many others are created (second chance).
   */
  private retain(handle: Handle): void {
    const cap = this.maxCachedSeries;
    if (handle.ringPos > 0 && this.ringCursor - handle.ringPos < cap >>> 1) return;
    const slot = this.ringCursor % cap;
    const leaving = this.ring[slot];
    // Leaving unless it was re-inserted at a newer position since it took this slot.
    if (leaving !== undefined && !leaving.weaklyIndexed && leaving.ringPos === this.ringCursor - cap + 1) {
      this.weaken(leaving);
    }
    this.ring[slot] = handle;
    this.ringCursor++;
    handle.ringPos = this.ringCursor;
  }

  private intern(s: string): InternedString {
    let entry = this.strings.get(s);
    if (entry === undefined) {
      // Clearing only costs deduplication for strings of handles created before; never correctness.
      if (this.strings.size >= this.maxInternedStrings) this.strings = new Map();
      entry = { str: s, epoch: 0, id: 0 };
      this.strings.set(s, entry);
    }
    return entry;
  }

  exemplarPairs(labels: Labels): InternedString[] {
    const pairs = validateLabels(labels, false, 'exemplar label', this.nameValidationScheme);
    const out = new Array<InternedString>(pairs.length);
    for (let k = 0; k < pairs.length; k += 2) {
      out[k] = this.intern(pairs[k]);
      // Values (trace ids) are nearly always unique: keep them out of the intern table.
      out[k + 1] = { str: pairs[k + 1], epoch: 0, id: 0 };
    }
    return out;
  }

  stats(): SeriesRegistryStats {
    return { created: this.created, indexed: this.byContent.size, internedStrings: this.strings.size };
  }
}
