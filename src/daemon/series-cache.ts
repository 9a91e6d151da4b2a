/**
 * Series handles keyed by the raw bytes of their labels, so a receiver that gets the same series
 * every scrape interval looks each one up by hashing and comparing bytes, without decoding a
 * single label string.
 */

import type { SeriesRef } from '../queue-types.js';

/** Hash of `buf[start, end)`: any function of those bytes only; injectable so tests can force collisions. */
export type ByteHash = (buf: Uint8Array, start: number, end: number) => number;

export interface SeriesCacheOptions {
  /** Series kept at most, over both generations. Default 1,000,000. */
  maxSeries?: number;
  /** Key bytes kept at most, over both generations. Default 256 MiB. */
  maxBytes?: number;
  /** Default {@link hashBytes}. */
  hash?: ByteHash;
}

export interface SeriesCacheStats {
  series: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Times the young generation became the old one (and the old one was dropped). */
  rotations: number;
}

/**
 * A bounded map from label bytes to a {@link SeriesRef}. It holds two generations, each of at
 * most half the bounds: entries go into the young one; when it is full it becomes the old one
 * and the previous old one is dropped; a hit in the old generation is copied back into the
 * young one. So every series seen among the last `maxSeries / 2` inserts is kept, and a set of
 * series pushed round-robin stays cached as long as it fits in `maxSeries` (and `maxBytes`).
 * Beyond that, a plain recency policy would miss every time (each series is evicted just before
 * it comes back), so when whole generations fill with new series the cache admits only every
 * k-th miss (k doubling up to 64, back to 1 once hits dominate): a fixed subset stays cached
 * and keeps hitting.
 */
export interface SeriesCache {
  /** The ref stored for exactly these bytes, or undefined. */
  get(buf: Uint8Array, start: number, end: number): SeriesRef | undefined;
  /**
   * Stores `ref` for the bytes of the last `get` that missed (the hash is reused); they must be
   * unchanged. May decline (admission control or a key over a generation's byte bound).
   */
  setAfterMiss(buf: Uint8Array, start: number, end: number, ref: SeriesRef): void;
  stats(): SeriesCacheStats;
}

export function createSeriesCache(options: SeriesCacheOptions = {}): SeriesCache {
  return new TwoGenerationCache(
    options.maxSeries ?? 1_000_000,
    options.maxBytes ?? 256 * 1024 * 1024,
    options.hash ?? hashBytes,
  );
}

/** Murmur3-style 32-bit hash, 4 bytes per step. */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  let i = start;
  for (const stop = end - 3; i < stop; i += 4) {
    let k = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let s = 0; i < end; i++, s += 8) k |= buf[i] << s;
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

class Entry {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly ref: SeriesRef,
    readonly next: Entry | undefined,
  ) {}
}

/** One generation: entries by hash (chained on collisions) and their key bytes in one arena. */
class Generation {
  readonly map = new Map<number, Entry>();
  count = 0;
  used = 0;
  constructor(public arena: Buffer) {}

  find(key: number, buf: Buffer, start: number, end: number): Entry | undefined {
    const len = end - start;
    for (let e = this.map.get(key); e !== undefined; e = e.next) {
      if (e.length === len && this.arena.compare(buf, start, end, e.offset, e.offset + len) === 0) return e;
    }
    return undefined;
  }
}

const MAX_ADMIT_EVERY = 64;
const INITIAL_ARENA = 1 << 20;

class TwoGenerationCache implements SeriesCache {
  private young: Generation;
  private old: Generation;
  private readonly genSeries: number;
  private readonly genBytes: number;
  private lastKey = 0;
  private hits = 0;
  private misses = 0;
  private rotations = 0;
  /** Admission: one miss in `admitEvery` is stored. */
  private admitEvery = 1;
  private missCounter = 0;
  /** Inserts into the young generation by a miss / by a promotion from the old one. */
  private insertedByMiss = 0;
  private insertedByHit = 0;

  constructor(
    maxSeries: number,
    maxBytes: number,
    private readonly hash: ByteHash,
  ) {
    if (!Number.isInteger(maxSeries) || maxSeries < 2) {
      throw new RangeError(`maxSeries must be an integer >= 2, got ${maxSeries}`);
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 2)
      throw new RangeError(`maxBytes must be an integer >= 2, got ${maxBytes}`);
    this.genSeries = maxSeries >>> 1;
    this.genBytes = Math.floor(maxBytes / 2);
    const size = Math.min(INITIAL_ARENA, this.genBytes);
    this.young = new Generation(Buffer.allocUnsafeSlow(size));
    this.old = new Generation(Buffer.allocUnsafeSlow(size));
  }

  get(data: Uint8Array, start: number, end: number): SeriesRef | undefined {
    const buf = asBuffer(data);
    // Smi keys (30 bits) keep the Map's keys unboxed.
    const key = this.hash(buf, start, end) & 0x3fffffff;
    this.lastKey = key;
    const y = this.young.find(key, buf, start, end);
    if (y !== undefined) {
      this.hits++;
      return y.ref;
    }
    const o = this.old.find(key, buf, start, end);
    if (o === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.insertedByHit++;
    this.insert(key, buf, start, end, o.ref);
    return o.ref;
  }

  setAfterMiss(data: Uint8Array, start: number, end: number, ref: SeriesRef): void {
    if (this.admitEvery > 1 && this.missCounter++ % this.admitEvery !== 0) return;
    this.insertedByMiss++;
    this.insert(this.lastKey, asBuffer(data), start, end, ref);
  }

  private insert(key: number, buf: Buffer, start: number, end: number, ref: SeriesRef): void {
    const len = end - start;
    if (len > this.genBytes) return;
    let y = this.young;
    if (y.count >= this.genSeries || y.used + len > this.genBytes) {
      this.rotate();
      y = this.young;
    }
    if (y.used + len > y.arena.length) {
      const grown = Buffer.allocUnsafeSlow(Math.min(this.genBytes, Math.max(y.arena.length * 2, y.used + len)));
      y.arena.copy(grown, 0, 0, y.used);
      y.arena = grown;
    }
    buf.copy(y.arena, y.used, start, end);
    y.map.set(key, new Entry(y.used, len, ref, y.map.get(key)));
    y.used += len;
    y.count++;
  }

  private rotate(): void {
    // A generation filled mostly by new series means the working set exceeds the cache: admit
    // fewer of them so that the ones admitted live long enough to be hit.
    // The first fill (nothing older yet) is every series being new, which says nothing.
    if (this.old.count > 0) {
      if (this.insertedByMiss > 2 * this.insertedByHit) {
        this.admitEvery = Math.min(MAX_ADMIT_EVERY, this.admitEvery * 2);
      } else if (this.insertedByHit > this.insertedByMiss) {
        this.admitEvery = 1;
      }
    }
    this.insertedByMiss = 0;
    this.insertedByHit = 0;
    this.rotations++;
    // The dropped generation's arena is reused: nothing refers to it any more.
    const arena = this.old.arena;
    this.old = this.young;
    this.young = new Generation(arena);
  }

  stats(): SeriesCacheStats {
    return {
      series: this.young.count + this.old.count,
      bytes: this.young.used + this.old.used,
      hits: this.hits,
      misses: this.misses,
      rotations: this.rotations,
    };
  }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
