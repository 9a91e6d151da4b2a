/**
 * Every timer in promspool goes through a Clock so tests can drive time by hand
 * (see `SimulatedClock` in test/helpers/simulated-clock.ts) and assert exact deadlines instead of sleeping.
 */
export interface TimerHandle {
  readonly __timer: unique symbol;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Schedules `fn`. Timers do not keep the process alive unless `keepAlive` is set: background work
   * (sealing, fsync intervals, retries) must never pin a process that is otherwise done, while a
   * wait that a caller is awaiting (a drain in `stop()`) must.
   */
  setTimeout(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The real clock. Timers are unref'd unless `keepAlive`: a pending retry or batch deadline never keeps the process alive on its own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, keepAlive) {
    const t = setTimeout(fn, ms);
    if (!keepAlive) t.unref?.();
    return t as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

/**
 * Resolves after `ms` on the given clock; rejects with the signal's reason if aborted first.
 * `keepAlive` keeps the process alive meanwhile (see {@link Clock.setTimeout}).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal, keepAlive = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      keepAlive,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
