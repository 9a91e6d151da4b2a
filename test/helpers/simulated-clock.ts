import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { Clock, TimerHandle } from '../../src/clock.js';

interface SimulatedTimer {
  readonly deadline: number;
  /** Creation order: timers with equal deadlines fire in the order they were set, like Node's. */
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Upper bound on timers fired by one advance, so a callback that re-arms a 0 ms timer fails loudly instead of hanging. */
export const MAX_TIMERS_PER_ADVANCE = 1_000_000;

/**
 * A {@link Clock} whose time moves only when a test calls {@link SimulatedClock.advance}, so tests
 * assert exact deadlines instead of sleeping. Timers live in a binary min-heap ordered by
 * (deadline, creation order); cancelled timers are dropped lazily when they reach the top.
 */
export class SimulatedClock implements Clock {
  private time: number;
  private seq = 0;
  private live = 0;
  private readonly heap: SimulatedTimer[] = [];

  /** @param startMs the initial value of `now()`. */
  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  /** Like the real `setTimeout`: a negative, NaN or non-finite delay counts as 0. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: SimulatedTimer = { deadline: this.time + delay, seq: this.seq++, fn, cancelled: false };
    this.heapPush(timer);
    this.live++;
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    const timer = handle as unknown as SimulatedTimer;
    if (timer.cancelled) return;
    // Marking also covers an already-fired timer (it was marked when fired), so `pending` stays exact.
    timer.cancelled = true;
    this.live--;
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): number {
    return this.live;
  }

  /** Deadline (absolute ms) of the next timer to fire, or `undefined` if none is pending. */
  nextDeadline(): number | undefined {
    return this.peekLive()?.deadline;
  }

  /**
   * Moves time forward by `ms`, firing every timer due by then in deadline order, each with
   * `now()` equal to its own deadline. Timers that callbacks set during the advance fire too if due.
   * Promise callbacks do NOT run between firings; use {@link advanceAndSettle} for async code.
   * An exception from a callback propagates (as it would crash a real process), leaving `now()` at
   * that timer's deadline.
   */
  advance(ms: number): void {
    const target = this.targetOf(ms);
    let fired = 0;
    for (let t = this.popDue(target); t !== undefined; t = this.popDue(target)) {
      if (++fired > MAX_TIMERS_PER_ADVANCE) throw new Error('SimulatedClock.advance: too many timers fired');
      this.time = t.deadline;
      t.fn();
    }
    this.time = target;
  }

  /**
   * Like {@link advance}, but lets promise callbacks and their follow-ups run before the first
   * timer, after every timer and at the end (see {@link settle}). So async code that awaits
   * something and then sets a timer is scheduled at the exact virtual time it would be for real.
   */
  async advanceAndSettle(ms: number, turns = 3): Promise<void> {
    const target = this.targetOf(ms);
    await this.settle(turns);
    let fired = 0;
    for (let t = this.popDue(target); t !== undefined; t = this.popDue(target)) {
      if (++fired > MAX_TIMERS_PER_ADVANCE) throw new Error('SimulatedClock.advanceAndSettle: too many timers fired');
      this.time = t.deadline;
      t.fn();
      await this.settle(turns);
    }
    this.time = target;
    await this.settle(turns);
  }

  /**
   * Yields `turns` macrotask turns of the real event loop without moving virtual time; each turn
   * runs every queued microtask first, so chains of awaits resolve.
   */
  async settle(turns = 3): Promise<void> {
    for (let i = 0; i < turns; i++) await nextMacrotask();
  }

  private targetOf(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance by ${ms} ms`);
    return this.time + ms;
  }

  private popDue(target: number): SimulatedTimer | undefined {
    const top = this.peekLive();
    if (top === undefined || top.deadline > target) return undefined;
    this.heapPop();
    top.cancelled = true;
    this.live--;
    return top;
  }

  private peekLive(): SimulatedTimer | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.heapPop();
    return this.heap[0];
  }

  private heapPush(t: SimulatedTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || last === undefined) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && before(h[l], h[min])) min = l;
      if (r < h.length && before(h[r], h[min])) min = r;
      if (min === i) return;
      [h[i], h[min]] = [h[min], h[i]];
      i = min;
    }
  }
}

function before(a: SimulatedTimer, b: SimulatedTimer): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}
