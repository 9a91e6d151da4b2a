/**
 * Feeds the daemon's own metrics into its own queue, so promspool's health reaches the same
 * receivers as the data it carries, even when nobody scrapes `/metrics`. It is the prom-client
 * bridge (src/bridges/) with `job="promspool"` and `instance="<host>:<port>"`: every series named
 * as a scrape of `/metrics` would name it, the first snapshot one interval after start, and no
 * final snapshot on stop (the daemon's last state is not worth holding up its shutdown).
 */
import type { Registry } from 'prom-client';
import { startPeriodicSnapshots } from '../bridges/periodic-snapshots.js';
import { RegistrySnapshotter } from '../bridges/registry-snapshot.js';
import { targetLabels } from '../bridges/target-labels.js';
import { type Clock, systemClock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Queue } from '../queue-types.js';

export interface SelfMonitoringOptions {
  queue: Pick<Queue, 'appender' | 'series'>;
  registry: Registry;
  intervalMs: number;
  /** Value of the `instance` label, `<hostname>:<port>`. */
  instance: string;
  clock?: Clock;
  logger: Logger;
}

export interface SelfMonitor {
  /** Appends one snapshot of the registry and commits it; resolves to the number of samples appended. */
  collectOnce(): Promise<number>;
  /** Cancels the timer and waits for a snapshot in progress. */
  stop(): Promise<void>;
}

export const SELF_MONITORING_JOB = 'promspool';

/** Starts the periodic snapshot; the first one runs after `intervalMs`. The timer never keeps the process alive. */
export function startSelfMonitoring(options: SelfMonitoringOptions): SelfMonitor {
  const { logger } = options;
  const snapshotter = new RegistrySnapshotter(
    options.queue,
    options.registry,
    targetLabels(SELF_MONITORING_JOB, options.instance),
  );
  const periodic = startPeriodicSnapshots({
    snapshotter,
    intervalMs: options.intervalMs,
    firstDelayMs: options.intervalMs,
    clock: options.clock ?? systemClock,
    onError: (err) => logger.warn('self-monitoring snapshot failed', { err }),
    onSnapshot: (r) => {
      logger.debug('self-monitoring snapshot committed', { samples: r.samples, stale: r.staleMarkers });
      if (r.skipped.length > 0) logger.warn('self-monitoring series left out', { skipped: r.skipped.join('; ') });
    },
  });
  return {
    collectOnce: async () => (await periodic.snapshotNow()).samples,
    async stop() {
      await periodic.stop(false);
    },
  };
}
