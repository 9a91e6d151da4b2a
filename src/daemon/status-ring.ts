/**
 * A fixed-size ring of numbers: the status API's history of one series. Its memory is allocated
 * once (8 bytes a point), so an hour of history per series costs the same whatever the daemon does.
 */
export class Ring {
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  /** @param capacity points kept; the oldest is overwritten once full. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`Ring capacity must be >= 1, got ${capacity}`);
    this.values = new Float64Array(capacity);
  }

  /** Points held (at most `capacity`). */
  get length(): number {
    return this.count;
  }

  /** Appends a point; `null` (or NaN) records that the series had no value then. */
  push(value: number | null): void {
    this.values[this.next] = value ?? Number.NaN;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The `i`-th point from the oldest (0) to the newest (`length - 1`); `null` where there was none. */
  at(i: number): number | null {
    if (i < 0 || i >= this.count) return null;
    const v = this.values[(this.next - this.count + i + this.capacity) % this.capacity];
    return Number.isNaN(v) ? null : v;
  }

  /** The newest point, `null` if none or missing. */
  last(): number | null {
    return this.at(this.count - 1);
  }

  /** Every point, oldest first, missing ones as `null` (as JSON shows them). */
  toArray(): (number | null)[] {
    const out = new Array<number | null>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.at(i);
    return out;
  }

  /** True when no point holds a value: the series' subject is gone for as long as the history reaches. */
  isEmpty(): boolean {
    for (let i = 0; i < this.count; i++) if (this.at(i) !== null) return false;
    return true;
  }
}
