/**
 * The real parts of a scrape job, put together for the {@link ScrapeManager}: one HTTP client and
 * one compiled `relabel_configs` / `metric_relabel_configs` per version of a job's config, loops
 * from `startScrapeLoop`, discoverers from the discovery factory, and the loops' counters summed
 * per job for the self-metrics (a stopped loop's counts are kept, so the counters never go back).
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { Clock } from '../clock.js';
import type { DiscoveryConfig, ScrapeConfig } from '../config/types.js';
import type { Discoverer } from '../discovery/types.js';
import type { Logger } from '../logger.js';
import { compileRelabeling } from '../relabel/engine.js';
import type { ScrapeLoop, ScrapeSink } from './loop-types.js';
import { createScrapeClient, type ScrapeClient, ScrapeFailure, type ScrapeFailureReason } from './scrape-client.js';
import { emptyScrapeLoopStats, type RunningScrapeLoop, type ScrapeLoopStats, startScrapeLoop } from './scrape-loop.js';
import type { ScrapeComponents } from './scrape-manager.js';
import { populateTargetLabels } from './target-labels.js';

export interface ScrapeComponentsOptions {
  /** Where every loop appends: the daemon's queue. */
  sink: ScrapeSink;
  /** A discoverer for one discovery block of job `config` (src/discovery's factory). */
  createDiscoverer(sd: DiscoveryConfig, config: ScrapeConfig): Discoverer;
  clock: Clock;
  logger: Logger;
  /** For the scrapes' `User-Agent`. */
  version?: string;
  /** See `ScrapeLoopOptions.offsetSeed`. */
  offsetSeed?: bigint;
  /** Where the per-job scrape counters are registered (the daemon's registry). */
  registry?: Registry;
}

/** The loops' counters summed per job: those of running loops plus those of loops already stopped. */
class ScrapeCounts {
  private readonly running = new Map<string, Set<RunningScrapeLoop>>();
  private readonly retired = new Map<string, ScrapeLoopStats>();

  track(job: string, loop: RunningScrapeLoop): ScrapeLoop {
    let set = this.running.get(job);
    if (set === undefined) {
      set = new Set();
      this.running.set(job, set);
    }
    set.add(loop);
    const running = set;
    return {
      target: loop.target,
      status: () => loop.status(),
      stop: async (opts) => {
        try {
          return await loop.stop(opts);
        } finally {
          running.delete(loop);
          this.retired.set(job, addStats(this.retired.get(job), loop.stats()));
        }
      },
    };
  }

  /** Every job's totals now. */
  totals(): Map<string, ScrapeLoopStats> {
    const out = new Map<string, ScrapeLoopStats>();
    for (const [job, stats] of this.retired) out.set(job, addStats(undefined, stats));
    for (const [job, set] of this.running) {
      for (const loop of set) out.set(job, addStats(out.get(job), loop.stats()));
    }
    return out;
  }
}

function addStats(into: ScrapeLoopStats | undefined, s: ScrapeLoopStats): ScrapeLoopStats {
  const out: ScrapeLoopStats = into ?? emptyScrapeLoopStats();
  out.scrapes += s.scrapes;
  for (const [reason, n] of Object.entries(s.failures) as [ScrapeFailureReason, number][]) {
    out.failures[reason] = (out.failures[reason] ?? 0) + n;
  }
  out.samplesAppended += s.samplesAppended;
  out.staleMarkers += s.staleMarkers;
  out.duplicates += s.duplicates;
  out.outOfOrder += s.outOfOrder;
  out.outOfBounds += s.outOfBounds;
  out.exemplarsAppended += s.exemplarsAppended;
  out.commitFailures += s.commitFailures;
  return out;
}

/** Counter whose value is read when scraped from `read` (label values -> total). */
function readCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
  read: () => Iterable<[Partial<Record<L, string>>, number]>,
): void {
  if (registry.getSingleMetric(name) !== undefined) return;
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

const LABEL_LIMIT_REASONS: ScrapeFailureReason[] = [
  'label_limit',
  'label_name_length_limit',
  'label_value_length_limit',
];

/**
 * Registers the per-job scrape counters: promspool's `promspool_scrapes_total{scrape_job}` and
 * `promspool_scrape_failures_total{scrape_job,reason}`, and Prometheus' own names where it has an
 * equivalent (summed over jobs, as Prometheus exports them).
 */
function registerScrapeCounters(registry: Registry, counts: ScrapeCounts): void {
  const perJob = (pick: (s: ScrapeLoopStats) => number) => () =>
    [...counts.totals()].map(([job, s]): [{ scrape_job: string }, number] => [{ scrape_job: job }, pick(s)]);
  const total = (pick: (s: ScrapeLoopStats) => number) => (): [Record<string, string>, number][] => {
    let n = 0;
    for (const s of counts.totals().values()) n += pick(s);
    return [[{}, n]];
  };
  readCounter(
    registry,
    'promspool_scrapes_total',
    'Scrapes done, per job.',
    ['scrape_job'],
    perJob((s) => s.scrapes),
  );
  readCounter(
    registry,
    'promspool_scrape_failures_total',
    'Scrapes that failed, per job and reason (up was 0).',
    ['scrape_job', 'reason'],
    () => {
      const out: [{ scrape_job: string; reason: string }, number][] = [];
      for (const [job, s] of counts.totals()) {
        for (const [reason, n] of Object.entries(s.failures)) out.push([{ scrape_job: job, reason }, n ?? 0]);
      }
      return out;
    },
  );
  readCounter(
    registry,
    'promspool_scrape_samples_appended_total',
    'Samples appended to the queue by scrapes (report series such as up excluded), per job.',
    ['scrape_job'],
    perJob((s) => s.samplesAppended),
  );
  readCounter(
    registry,
    'promspool_scrape_stale_markers_total',
    'Stale markers appended by scrapes, per job.',
    ['scrape_job'],
    perJob((s) => s.staleMarkers),
  );
  readCounter(
    registry,
    'promspool_scrape_commit_failures_total',
    'Scrapes whose samples the queue refused (disk full or shutting down), per job.',
    ['scrape_job'],
    perJob((s) => s.commitFailures),
  );
  readCounter(
    registry,
    'prometheus_target_scrapes_exceeded_sample_limit_total',
    'Total number of scrapes that hit the sample limit and were rejected.',
    [],
    total((s) => s.failures.sample_limit ?? 0),
  );
  readCounter(
    registry,
    'prometheus_target_scrapes_exceeded_body_size_limit_total',
    'Total number of scrapes that hit the body size limit',
    [],
    total((s) => s.failures.body_size_limit ?? 0),
  );
  readCounter(
    registry,
    'prometheus_target_scrape_pool_exceeded_label_limits_total',
    'Total number of times scrape pools hit the label limits, during sync or config reload.',
    [],
    total((s) => LABEL_LIMIT_REASONS.reduce((n, r) => n + (s.failures[r] ?? 0), 0)),
  );
  readCounter(
    registry,
    'prometheus_target_scrapes_sample_duplicate_timestamp_total',
    'Total number of samples rejected due to duplicate timestamps but different values.',
    [],
    total((s) => s.duplicates),
  );
  readCounter(
    registry,
    'prometheus_target_scrapes_sample_out_of_order_total',
    'Total number of samples rejected due to not being out of the expected order.',
    [],
    total((s) => s.outOfOrder),
  );
  readCounter(
    registry,
    'prometheus_target_scrapes_sample_out_of_bounds_total',
    'Total number of samples rejected due to timestamp falling outside of the time bounds.',
    [],
    total((s) => s.outOfBounds),
  );
}

/** The components of every job, sharing `o`'s sink, clock, logger and counters. */
export function createScrapeComponents(o: ScrapeComponentsOptions): ScrapeComponents {
  const counts = new ScrapeCounts();
  if (o.registry !== undefined) registerScrapeCounters(o.registry, counts);
  return (config) => {
    const logger = o.logger.child({ scrape_pool: config.jobName });
    const client = createScrapeClient(config, { version: o.version, clock: o.clock, logger });
    // The pool's forced error (target_limit) fails a scrape before any request, as in Prometheus.
    let forced: string | undefined;
    const loopClient: ScrapeClient = {
      scrape: (url, timeoutMs, signal) =>
        forced === undefined
          ? client.scrape(url, timeoutMs, signal)
          : Promise.reject(new ScrapeFailure('forced', forced)),
      close: () => client.close(),
    };
    const relabeler = compileRelabeling(config.relabelConfigs, config.nameValidationScheme);
    const metricRelabeler = compileRelabeling(config.metricRelabelConfigs, config.nameValidationScheme);
    return {
      startLoop: (target, handoff) =>
        counts.track(
          config.jobName,
          startScrapeLoop({
            target,
            config,
            client: loopClient,
            sink: o.sink,
            clock: o.clock,
            logger,
            handoff,
            offsetSeed: o.offsetSeed,
            metricRelabeler,
          }),
        ),
      createDiscoverer: (sd) => o.createDiscoverer(sd, config),
      populate: (target, groupLabels) => populateTargetLabels(config, relabeler, target, groupLabels),
      setForcedError: (message) => {
        forced = message;
      },
      close: () => {
        void client.close().catch((err) => logger.warn('closing the scrape client failed', { err }));
        relabeler.dispose();
        metricRelabeler.dispose();
      },
    };
  };
}
