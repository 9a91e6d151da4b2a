/**
 * The prom-client bridge: pushes an application's prom-client registry through the queue, as a
 * Prometheus scraping the app would store it, without anything scraping the app.
 *
 * - {@link snapshotRegistry}: every `intervalMs`, and once more on `stop()`.
 * - {@link pushRegistryOnce}: one snapshot, resolved once durable (batch jobs, serverless handlers).
 */
import { hostname } from 'node:os';
import { register as globalRegistry, type Registry, type RegistryContentType } from 'prom-client';
import { type Clock, systemClock } from '../clock.js';
import type { Queue } from '../queue-types.js';
import type { Labels } from '../serialization/types.js';
import { startPeriodicSnapshots } from './periodic-snapshots.js';
import { RegistrySnapshotter, type SnapshotResult } from './registry-snapshot.js';
import { targetLabels } from './target-labels.js';

export type { SnapshotResult } from './registry-snapshot.js';

/** What a snapshot reads and the target labels it adds. */
export interface RegistryPushOptions {
  /**
   * The registry to snapshot. Default: prom-client's global `register` as promspool's own copy of
   * prom-client sees it; if your app may load another copy (a different prom-client version), pass
   * the `register` you import yourself.
   */
  registry?: Registry<RegistryContentType>;
  /** The `job` label, as a scrape config's `job_name` would set it. Required. */
  job: string;
  /** The `instance` label. Default: the host name (`os.hostname()`). */
  instance?: string;
  /** More target labels (like a scrape config's static `labels`), added to every series. */
  extraLabels?: Labels;
  /** Time source for timestamps and the timer; for tests. Default: the system clock. */
  clock?: Clock;
}

/** Options of {@link snapshotRegistry}. */
export interface RegistrySnapshotOptions extends RegistryPushOptions {
  /** Time between snapshots, ms. Default 15000 (Prometheus' default scrape interval). The first is taken at once. */
  intervalMs?: number;
  /**
   * Called when a timed snapshot fails: the registry threw while collecting (PromspoolError
   * `ERR_REGISTRY_COLLECT`), the commit was refused (DiskFullError), or the queue is stopped
   * (ClosedError, after which no more timed snapshots are taken). Default: a process warning
   * (`process.emitWarning`) for the first failure of a run of failures and whenever the message
   * changes. Never called for `stop()`'s final snapshot: that error rejects `stop()`.
   */
  onError?: (err: Error) => void;
}

/** A running {@link snapshotRegistry}. */
export interface RegistryBridge {
  /** Takes a snapshot now (after any in progress); resolves once committed. */
  snapshotNow(): Promise<SnapshotResult>;
  /**
   * Stops the timer, takes a final snapshot and resolves once it is committed (durable per the
   * queue's fsync policy); rejects with its error. Call it before `queue.stop()`.
   */
  stop(): Promise<SnapshotResult>;
}

export const DEFAULT_SNAPSHOT_INTERVAL_MS = 15_000;

/**
 * Snapshots `registry` into `queue` every `intervalMs` (the first at once) with the labels and
 * metadata a Prometheus scrape of it would give: counters and gauges as samples, histograms as
 * `_bucket{le}`/`_sum`/`_count`, summaries as `{quantile}`/`_sum`/`_count`, `job` and `instance`
 * added (a metric's own `job`/`instance` kept as `exported_job`/`exported_instance`, as with
 * `honor_labels: false`), one timestamp per snapshot, metadata (type, help) per family, and a
 * stale marker for a series that is gone. The timer does not keep the process alive; timed
 * failures go to `onError`, never thrown. Throws a TypeError on invalid options.
 *
 * ```js
 * const bridge = snapshotRegistry(queue, { job: 'checkout' });
 * // ... on shutdown:
 * await bridge.stop(); // final snapshot committed
 * await queue.stop();
 * ```
 */
export function snapshotRegistry(
  queue: Pick<Queue, 'appender' | 'series'>,
  options: RegistrySnapshotOptions,
): RegistryBridge {
  const clock = options.clock ?? systemClock;
  const snapshotter = createSnapshotter(queue, options);
  const reporter: Reporter = options.onError ? { onError: options.onError } : warningReporter(options.job);
  let warnedEmpty = false;
  const periodic = startPeriodicSnapshots({
    snapshotter,
    intervalMs: options.intervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS,
    firstDelayMs: 0,
    clock,
    ...reporter,
    onSnapshot: (result) => {
      reporter.onSnapshot?.(result);
      if (options.registry === undefined && result.samples === 0 && !warnedEmpty) {
        warnedEmpty = true;
        // Most likely the app's prom-client is another copy than promspool's, with its own global register.
        reporter.onError(
          new Error(
            `prom-client bridge (job "${options.job}"): the default registry has no metrics; pass \`registry\` (the \`register\` your app imports from prom-client)`,
          ),
        );
      }
    },
  });
  return {
    snapshotNow: periodic.snapshotNow,
    stop: () => periodic.stop(true) as Promise<SnapshotResult>,
  };
}

/**
 * Takes one snapshot of `registry` (see {@link snapshotRegistry} for what it holds) and resolves
 * once it is committed: durable per the queue's fsync policy (with `fsync: always`, on disk), so
 * a process killed right after loses none of it. Rejects with a PromspoolError
 * `ERR_REGISTRY_COLLECT` if the registry throws, or with the commit's error.
 */
export async function pushRegistryOnce(
  queue: Pick<Queue, 'appender' | 'series'>,
  options: RegistryPushOptions,
): Promise<SnapshotResult> {
  const clock = options.clock ?? systemClock;
  return createSnapshotter(queue, options).snapshot(clock.now());
}

function createSnapshotter(queue: Pick<Queue, 'appender' | 'series'>, options: RegistryPushOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('prom-client bridge: options with at least `job` are required');
  }
  const target = targetLabels(options.job, options.instance ?? hostname(), options.extraLabels);
  return new RegistrySnapshotter(queue, options.registry ?? globalRegistry, target);
}

interface Reporter {
  onError: (err: Error) => void;
  onSnapshot?: (result: SnapshotResult) => void;
}

/** The default reporter: a process warning for the first failure of a run of identical ones. */
function warningReporter(job: string): Reporter {
  let last: string | undefined;
  return {
    onError(err) {
      if (err.message === last) return;
      last = err.message;
      const message = err.message.startsWith('prom-client bridge')
        ? err.message
        : `prom-client bridge (job "${job}"): snapshot failed: ${err.message}`;
      process.emitWarning(message, { type: 'PromspoolBridgeWarning', code: (err as { code?: string }).code });
    },
    onSnapshot() {
      last = undefined;
    },
  };
}
