/**
 * Series handles keyed by the raw bytes of their labels, so a receiver that gets the same series
 * every scrape interval looks each one up by hashing and comparing bytes, without decoding a
 * single label string.
 */

import type { SeriesRef } from '../queue-types.js';
import { hashBytes } from '../wire/hash-bytes.js';

/** Hash of `buf[start, end)`: any function of those bytes only; injectable so tests can force collisions. */
export type ByteHash = (buf: Uint8Array, start: number, end: number) => number;

export interface SeriesCacheOptions {
  /** Series kept at most, over both generations. Default 1,000,000. */
  maxSeries?: number;
  /** Key bytes kept at most, over both generations. Default 256 MiB. */
  maxBytes?: number;
  /** Default: the wire's `hashBytes` (src/wire/hash-bytes.ts) over the range. */
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
 * young one. Eviction is thus a Map drop, never a per-entry walk, and a working set of up to
 * `maxSeries / 2` series (and `maxBytes / 2` bytes) always hits once seen.
 * Beyond that, a plain recency policy misses every time on series pushed round-robin (each is
 * evicted just before it comes back), so after two generations in a row with more misses than
 * hits the cache admits only every k-th miss (k doubling up to 64, back to 1 once hits
 * dominate): a fixed subset stays cached and keeps hitting, about `maxSeries / 2` of them.
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
    options.hash ?? hashRange,
  );
}

/** The cache's default hash of `buf[start, end)`: the wire's byte hash (one for the whole project). */
function hashRange(buf: Uint8Array, start: number, end: number): number {
  return hashBytes(buf, start, end - start);
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
  /** Hash + 1 of recently declined keys, direct-mapped (0 = empty); at most 12 MiB with their times. */
  private readonly ghosts: Int32Array;
  private readonly ghostMask: number;
  /** `missCounter` when each ghost was declined. */
  private readonly ghostAt: Float64Array;
  /** Rotations in a row whose generation was filled mostly by misses. */
  private missStreak = 0;
  /** Lookups that hit / missed since the last rotation. */
  private genHits = 0;
  private genMisses = 0;

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
    // Sparse (4+ slots per series of a generation) so that few ghosts overwrite each other.
    const ghostSlots = 2 ** Math.min(20, Math.ceil(Math.log2(this.genSeries)) + 2);
    this.ghosts = new Int32Array(ghostSlots);
    this.ghostMask = ghostSlots - 1;
    this.ghostAt = new Float64Array(ghostSlots);
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
      this.genHits++;
      return y.ref;
    }
    const o = this.old.find(key, buf, start, end);
    if (o === undefined) {
      this.misses++;
      this.genMisses++;
      return undefined;
    }
    this.hits++;
    this.genHits++;
    this.insert(key, buf, start, end, o.ref);
    return o.ref;
  }

  setAfterMiss(data: Uint8Array, start: number, end: number, ref: SeriesRef): void {
    if (this.admitEvery > 1 && this.missCounter++ % this.admitEvery !== 0) {
      // Declined, but remembered by hash: a series declined again within a generation's worth
      // of misses (a working set that fits, met while admission was throttled) is admitted.
      const slot = this.lastKey & this.ghostMask;
      const recent = this.ghosts[slot] === this.lastKey + 1 && this.missCounter - this.ghostAt[slot] <= this.genSeries;
      if (!recent) {
        this.ghosts[slot] = this.lastKey + 1;
        this.ghostAt[slot] = this.missCounter;
        return;
      }
    }
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

  /**
   * Adjusts admission from the lookups since the last rotation: only a second generation in a
   * row with more misses than hits says the working set exceeds the cache (a cold start is all
   * misses for up to two generations); mostly hits means it fits again.
   */
  private review(): void {
    if (this.old.count > 0 && this.genMisses > this.genHits) {
      if (++this.missStreak >= 2) this.admitEvery = Math.min(MAX_ADMIT_EVERY, this.admitEvery * 2);
    } else {
      this.missStreak = 0;
      if (this.genHits > 4 * this.genMisses) this.admitEvery = 1;
    }
    this.genHits = 0;
    this.genMisses = 0;
  }

  private rotate(): void {
    // A generation filled mostly by new series means the working set exceeds the cache: admit
    // fewer of them so that the ones admitted live long enough to be hit.
    this.review();
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
