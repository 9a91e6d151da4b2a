/**
 * Runs a {@link RegistrySnapshotter} on a timer: at a fixed rate (snapshot k at start + k·interval,
 * ticks missed while a slow snapshot ran are skipped), never two at once, errors handed to a
 * reporter instead of thrown from the timer callback, and an optional final snapshot on stop.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { ClosedError } from '../errors.js';
import type { RegistrySnapshotter, SnapshotResult } from './registry-snapshot.js';

export interface PeriodicSnapshotOptions {
  snapshotter: RegistrySnapshotter;
  intervalMs: number;
  /** Delay of the first snapshot, ms. */
  firstDelayMs: number;
  clock: Clock;
  /** Called with every failed timer snapshot; must not throw (a throw is swallowed). */
  onError: (err: Error) => void;
  /** Called with every committed timer snapshot. */
  onSnapshot?: (result: SnapshotResult) => void;
}

export interface PeriodicSnapshots {
  /** Takes a snapshot now (after any in progress) and resolves once it is committed. */
  snapshotNow(): Promise<SnapshotResult>;
  /**
   * Cancels the timer, waits for a snapshot in progress, then takes a final one if `final` and
   * resolves once it is committed (its error rejects). Later calls return the first call's promise.
   */
  stop(final: boolean): Promise<SnapshotResult | undefined>;
}

export function startPeriodicSnapshots(options: PeriodicSnapshotOptions): PeriodicSnapshots {
  const { snapshotter, intervalMs, clock } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`prom-client bridge: intervalMs must be a positive number of ms, got ${intervalMs}`);
  }
  let timer: TimerHandle | undefined;
  let stopping: Promise<SnapshotResult | undefined> | undefined;
  // Snapshots run one after another: each relies on the series seen by the one before.
  let chain: Promise<unknown> = Promise.resolve();
  let nextDeadline = clock.now() + options.firstDelayMs;

  const run = (): Promise<SnapshotResult> => {
    const p = chain.then(() => snapshotter.snapshot(clock.now()));
    chain = p.catch(() => undefined);
    return p;
  };

  const report = (err: unknown) => {
    try {
      options.onError(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // A reporter that throws must not turn into an uncaught exception in the app.
    }
  };

  const schedule = () => {
    if (stopping !== undefined) return;
    const now = clock.now();
    while (nextDeadline <= now) nextDeadline += intervalMs;
    timer = clock.setTimeout(tick, nextDeadline - now);
  };

  function tick() {
    timer = undefined;
    run().then(
      (result) => {
        try {
          options.onSnapshot?.(result);
        } catch (err) {
          report(err);
        }
        schedule();
      },
      (err) => {
        report(err);
        // A stopped queue takes nothing more: the timer ends with it (stop() still settles).
        if (!(err instanceof ClosedError)) schedule();
      },
    );
  }

  timer = clock.setTimeout(tick, options.firstDelayMs);

  return {
    snapshotNow: run,
    stop(final) {
      if (stopping === undefined) {
        clock.clearTimeout(timer);
        timer = undefined;
        stopping = final ? run() : chain.then(() => undefined);
      }
      return stopping;
    },
  };
}
