import type { SeriesRef } from '../queue-types.js';
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
  /** Frozen copy of the labels, keys in sorted order. */
  readonly labels: Readonly<Labels>;
  /** {@link hashLabelPairs} of the sorted labels: stored on disk and used for sharding. */
  readonly hash: number;
  /** Sorted (name, value) pairs, interleaved: `pairs[2k]` is a name, `pairs[2k+1]` its value. */
  readonly pairs: readonly InternedString[];
  /** Record build that last assigned `slot` (internal to the Serializer). */
  epoch: number;
  /** Series index in the record being built when `epoch` matches. */
  slot: number;
}

class Handle implements SeriesHandle {
  epoch = 0;
  slot = 0;
  /** Position in the registry's retention ring when last (re)inserted. */
  ringPos = 0;
  constructor(
    readonly labels: Readonly<Labels>,
    readonly hash: number,
    readonly pairs: readonly InternedString[],
  ) {}
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

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** True when `name` is a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
export function isValidMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** True when `name` is a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`). */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The series hash stored on disk and used to pick a virtual shard. Its definition is part of
 * the on-disk format and must never change:
 *
 * 32-bit FNV-1a over the UTF-8 bytes of `name0 0xff value0 0xff name1 0xff value1 0xff ...`
 * (labels sorted by name; 0xff never occurs in UTF-8, so the encoding is unambiguous), then the
 * murmur3 `fmix32` finalizer so that the low bits (`hash % 256` picks the virtual shard) depend
 * on every input byte. Result is an unsigned 32-bit integer.
 *
 * @param sorted names and values interleaved, sorted by name.
 */
export function hashLabelPairs(sorted: readonly string[]): number {
  let h = FNV_OFFSET;
  for (let k = 0; k < sorted.length; k++) {
    const s = sorted[k];
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        h = Math.imul(h ^ c, FNV_PRIME);
        continue;
      }
      if (c < 0x800) {
        h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const lo = s.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            i++;
            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
            h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
            h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
            h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
            continue;
          }
        }
        // Lone surrogates are rejected by validation before hashing; encoded as-is here.
        h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      }
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ 0xff, FNV_PRIME);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Validates a label set and returns its names and values interleaved, sorted by name.
 * Rules (Prometheus' own): names match `[a-zA-Z_][a-zA-Z0-9_]*`; `__name__` is required (unless
 * `requireName` is false, for exemplar labels) and matches `[a-zA-Z_:][a-zA-Z0-9_:]*`; values are
 * non-empty, well-formed strings. An empty value means "no such label" in Prometheus; it is
 * rejected rather than silently dropped so that two spellings of one series cannot exist.
 * Throws `TypeError` naming the offending label and value.
 */
export function validateLabels(labels: Labels, requireName: boolean, what = 'label'): string[] {
  if (labels === null || typeof labels !== 'object') {
    throw new TypeError(`${what}s must be an object of string values, got ${describe(labels)}`);
  }
  const names = Object.keys(labels);
  names.sort();
  const out = new Array<string>(names.length * 2);
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    const value: unknown = labels[name];
    if (!LABEL_NAME.test(name)) {
      throw new TypeError(`invalid ${what} name ${JSON.stringify(name)}: must match [a-zA-Z_][a-zA-Z0-9_]*`);
    }
    if (typeof value !== 'string') {
      throw new TypeError(`${what} ${name} must be a string, got ${describe(value)}`);
    }
    if (value.length === 0) {
      throw new TypeError(`${what} ${name} has an empty value (an empty value means "no label": omit it instead)`);
    }
    if (!isWellFormed(value)) {
      throw new TypeError(`${what} ${name} value ${JSON.stringify(value)} is not well-formed Unicode (lone surrogate)`);
    }
    out[2 * k] = name;
    out[2 * k + 1] = value;
  }
  const metricName = labels.__name__;
  if (metricName === undefined) {
    if (requireName) throw new TypeError(`${what}s must include __name__ (the metric name)`);
  } else if (!METRIC_NAME.test(metricName)) {
    throw new TypeError(
      `invalid metric name __name__=${JSON.stringify(metricName)}: must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
    );
  }
  return out;
}

/** JSON of a plain object with these keys in this order: same text `JSON.stringify` would give. */
function sortedObjectKey(pairs: readonly string[]): string {
  let key = '{';
  for (let k = 0; k < pairs.length; k += 2) {
    if (k > 0) key += ',';
    key += `${JSON.stringify(pairs[k])}:${JSON.stringify(pairs[k + 1])}`;
  }
  return `${key}}`;
}

export interface SeriesRegistryOptions {
  /**
   * How many recently used handles are kept alive for label objects seen again with equal
   * content but a new identity. Default 100,000. Handles the user holds stay valid regardless.
   */
  maxCachedSeries?: number;
  /** Bound of the string intern table; it is cleared when full (correctness does not depend on it). Default 1,000,000. */
  maxInternedStrings?: number;
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
   *    frozen on first use, because a later mutation would otherwise go unnoticed and send the
   *    old labels; in strict-mode code the mutation throws instead;
   * 3. a new object with the same content as a known series: its JSON text is looked up in a
   *    content index, so equal label sets always share one handle while it is alive (one series
   *    per record, never split). Recently used handles are kept alive by a bounded ring
   *    (`maxCachedSeries`); index entries of collected handles are removed, so label churn does
   *    not grow memory without bound;
   * 4. otherwise: validate, sort, hash, create.
   * Throws `TypeError` for invalid labels (see {@link validateLabels}).
   */
  resolve(labelsOrRef: Labels | SeriesRef): SeriesHandle;
  /** Validated exemplar labels as sorted interleaved pairs (exemplar labels need no `__name__`). */
  exemplarPairs(labels: Labels): InternedString[];
  stats(): SeriesRegistryStats;
}

/** Creates a {@link SeriesRegistry}. */
export function createSeriesRegistry(options: SeriesRegistryOptions = {}): SeriesRegistry {
  return new Registry(options.maxCachedSeries ?? 100_000, options.maxInternedStrings ?? 1_000_000);
}

class Registry implements SeriesRegistry {
  private readonly byObject = new WeakMap<object, Handle>();
  private readonly byContent = new Map<string, WeakRef<Handle>>();
  private readonly finalizer = new FinalizationRegistry<string[]>((keys) => this.forget(keys));
  private readonly ring: (Handle | undefined)[];
  private ringCursor = 0;
  private strings = new Map<string, InternedString>();
  private created = 0;

  constructor(
    private readonly maxCachedSeries: number,
    private readonly maxInternedStrings: number,
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
    const key = JSON.stringify(labels);
    let handle = this.byContent.get(key)?.deref();
    if (handle === undefined) {
      const pairs = validateLabels(labels, true);
      const sortedKey = sortedObjectKey(pairs);
      handle = sortedKey === key ? undefined : this.byContent.get(sortedKey)?.deref();
      if (handle === undefined) handle = this.create(pairs, sortedKey);
      // An unsorted spelling gets its own alias entry, removed with the handle.
      if (sortedKey !== key) this.index(key, handle);
    }
    this.retain(handle);
    Object.freeze(labels);
    this.byObject.set(labels, handle);
    return handle;
  }

  private create(pairs: string[], sortedKey: string): Handle {
    const sortedLabels: Labels = {};
    const interned = new Array<InternedString>(pairs.length);
    for (let k = 0; k < pairs.length; k += 2) {
      sortedLabels[pairs[k]] = pairs[k + 1];
      interned[k] = this.intern(pairs[k]);
      interned[k + 1] = this.intern(pairs[k + 1]);
    }
    const handle = new Handle(Object.freeze(sortedLabels), hashLabelPairs(pairs), interned);
    this.created++;
    this.index(sortedKey, handle);
    return handle;
  }

  private index(key: string, handle: Handle): void {
    this.byContent.set(key, new WeakRef(handle));
    this.finalizer.register(handle, [key]);
  }

  /** Called after a handle was collected: drop its index entries unless they were re-pointed. */
  private forget(keys: string[]): void {
    for (const key of keys) {
      const ref = this.byContent.get(key);
      if (ref !== undefined && ref.deref() === undefined) this.byContent.delete(key);
    }
  }

  /**
   * Keeps recently used handles reachable: a handle is (re)inserted into the ring when it is not
   * in its newer half, so a hot series survives however many others are created (second chance).
   */
  private retain(handle: Handle): void {
    const cap = this.maxCachedSeries;
    if (handle.ringPos > 0 && this.ringCursor - handle.ringPos < cap >>> 1) return;
    this.ring[this.ringCursor % cap] = handle;
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
    const pairs = validateLabels(labels, false, 'exemplar label');
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
