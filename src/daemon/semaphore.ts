/**
 * Bounds how many remote-write bodies are read, decoded and committed at once, so a burst of
 * pushes cannot hold more than `permits x max_body_bytes` (compressed plus decompressed) in memory.
 * Waiters are served first in, first out.
 */

export interface Semaphore {
  /** Resolves once a permit is held; call the returned function exactly once to give it back. */
  acquire(): Promise<() => void>;
  readonly available: number;
  readonly waiting: number;
}

export function createSemaphore(permits: number): Semaphore {
  if (!Number.isInteger(permits) || permits < 1)
    throw new RangeError(`permits must be a positive integer, got ${permits}`);
  let available = permits;
  // An array is fine: it holds at most one entry per waiting request.
  const waiters: (() => void)[] = [];

  const releaser = (): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiters.shift();
      // Hand the permit straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else available++;
    };
  };

  return {
    acquire() {
      if (available > 0) {
        available--;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve) => waiters.push(() => resolve(releaser())));
    },
    get available() {
      return available;
    },
    get waiting() {
      return waiters.length;
    },
  };
}
