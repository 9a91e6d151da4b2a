/**
 * Feeds the daemon's own metrics into its own queue, so promspool's health reaches the same
 * receivers as the data it carries, even when nobody scrapes `/metrics`. Every series is named
 * as the Prometheus exposition would name it (`_bucket`/`_sum`/`_count` for histograms) and gets
 * `job="promspool"` and `instance="<host>:<port>"`, like a scrape of it would.
 */
import type { Registry } from 'prom-client';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Queue, SeriesRef } from '../queue-types.js';
import type { Labels, MetricType } from '../serialization/types.js';

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
  const clock = options.clock ?? systemClock;
  const { queue, registry, logger } = options;
  // Series handles by their label key: after the first snapshot no label set is validated again.
  let refs = new Map<string, SeriesRef>();
  const metadataSent = new Set<string>();
  let timer: TimerHandle | undefined;
  let stopped = false;
  let inFlight: Promise<number> | undefined;

  const collectOnce = async (): Promise<number> => {
    const families = await registry.getMetricsAsJSON();
    const app = queue.appender();
    const seen = new Map<string, SeriesRef>();
    const ts = clock.now();
    let samples = 0;
    try {
      for (const family of families) {
        if (!metadataSent.has(family.name)) {
          app.updateMetadata(family.name, { type: metricType(family.type), help: family.help, unit: '' });
        }
        for (const v of family.values) {
          const name = (v as { metricName?: string }).metricName ?? family.name;
          const labels: Labels = { __name__: name };
          for (const [k, lv] of Object.entries(v.labels)) {
            // An empty label value means "no label" in Prometheus.
            if (lv !== undefined && lv !== '') labels[k] = String(lv);
          }
          labels.job = SELF_MONITORING_JOB;
          labels.instance = options.instance;
          const key = labelKey(labels);
          let ref = seen.get(key) ?? refs.get(key);
          if (!ref) ref = queue.series(labels);
          seen.set(key, ref);
          app.append(ref, ts, v.value);
          samples++;
        }
      }
    } catch (err) {
      app.rollback();
      throw err;
    }
    await app.commit();
    for (const family of families) metadataSent.add(family.name);
    // Series that disappeared (e.g. a removed endpoint's metrics) are forgotten.
    refs = seen;
    return samples;
  };

  const schedule = () => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      inFlight = collectOnce();
      inFlight
        .then(
          (n) => logger.debug('self-monitoring snapshot committed', { samples: n }),
          (err) => logger.warn('self-monitoring snapshot failed', { err }),
        )
        .finally(() => {
          inFlight = undefined;
          schedule();
        });
    }, options.intervalMs);
  };
  schedule();

  return {
    collectOnce,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      timer = undefined;
      if (inFlight) await inFlight.catch(() => undefined);
    },
  };
}

function labelKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\xff${labels[n]}\xff`;
  return key;
}

function metricType(t: unknown): MetricType {
  switch (t) {
    case 'counter':
    case 'gauge':
    case 'histogram':
    case 'summary':
      return t;
    default:
      return 'unknown';
  }
}
