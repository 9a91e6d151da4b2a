/**
 * Series id -> non-negative number, for the encoders' label caches. Ids of one scope are handed
 * out densely from 0 (see the RecordBuilder), so ids below {@link DENSE_IDS} live in a typed array
 * indexed by id: one memory access per lookup, where a Map with 100k+ keys costs a hash, a bucket
 * and a chain walk (it was the largest self time of the send path). Higher ids (a process that
 * went through millions of series in one scope) fall back to a Map, so the array stays bounded.
 */

/** Ids kept in the array: at most 8 MiB of Float64Array, touched only up to the highest id seen. */
const DENSE_IDS = 1 << 20;
const EMPTY = -1;

export class SeriesIdIndex {
  private dense = new Float64Array(0);
  /** Slots of `dense` that may hold a value (what `clear` has to reset). */
  private used = 0;
  private readonly sparse = new Map<number, number>();

  /** The value stored for `id`, or -1. */
  get(id: number): number {
    if (id < this.dense.length) return this.dense[id];
    if (id < DENSE_IDS) return EMPTY;
    return this.sparse.get(id) ?? EMPTY;
  }

  /** Stores `value` (>= 0) for `id`. */
  set(id: number, value: number): void {
    if (id < DENSE_IDS) {
      if (id >= this.dense.length) this.grow(id + 1);
      this.dense[id] = value;
      if (id >= this.used) this.used = id + 1;
    } else {
      this.sparse.set(id, value);
    }
  }

  clear(): void {
    this.dense.fill(EMPTY, 0, this.used);
    this.used = 0;
    this.sparse.clear();
  }

  private grow(need: number): void {
    const next = new Float64Array(Math.min(DENSE_IDS, Math.max(need, 1024, this.dense.length * 2)));
    next.set(this.dense);
    next.fill(EMPTY, this.dense.length);
    this.dense = next;
  }
}
