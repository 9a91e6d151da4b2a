import type { Discoverer, TargetGroup } from '../../src/discovery/types.js';

/**
 * Runs a discoverer and hands its updates out one by one: `next()` resolves with the next
 * `onUpdate` call (already queued or still to come), so tests wait for events, never for time.
 */
export class UpdateQueue {
  private readonly queued: (readonly TargetGroup[])[] = [];
  private waiter: ((groups: readonly TargetGroup[]) => void) | undefined;
  private readonly controller = new AbortController();
  readonly done: Promise<void>;

  constructor(discoverer: Discoverer) {
    this.done = discoverer.run((groups) => {
      if (this.waiter !== undefined) {
        const w = this.waiter;
        this.waiter = undefined;
        w(groups);
      } else this.queued.push(groups);
    }, this.controller.signal);
  }

  next(): Promise<readonly TargetGroup[]> {
    const first = this.queued.shift();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Updates received and not taken yet. */
  get pending(): number {
    return this.queued.length;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
