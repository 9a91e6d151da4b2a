/**
 * An unbounded FIFO on a power-of-two circular array that doubles when full.
 *
 * Used for the rare, slow-path queues (waiting senders and receivers of a mailbox). Unlike
 * `Array.prototype.shift()` it never moves the remaining elements, and unlike undici's
 * fixed-queue it keeps a single array, because these queues stay short: a waiter queue holds at
 * most one entry per blocked caller.
 */
export class FifoQueue<T> {
  private items: (T | undefined)[];
  private mask: number;
  private head = 0;
  private count = 0;

  /** @param initialSize rounded up to a power of two (at least 2). */
  constructor(initialSize = 16) {
    const size = nextPowerOfTwo(Math.max(2, initialSize));
    this.items = new Array<T | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    // Clear the slot so a delivered message or settled waiter can be garbage-collected.
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return item;
  }

  private grow(): void {
    const old = this.items;
    const size = old.length * 2;
    const next = new Array<T | undefined>(size).fill(undefined);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.mask = size - 1;
    this.head = 0;
  }
}

/** Smallest power of two >= n. */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
