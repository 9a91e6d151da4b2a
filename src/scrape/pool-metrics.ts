/**
 * Self-metrics of the scrape manager and its pools, named as Prometheus names its own
 * (`prometheus_target_*`, `prometheus_sd_*`) so dashboards written for a Prometheus agent work.
 * Per-scrape counters (failures by reason, sample and body limits) are the loop's; these cover
 * pools, targets and discovery.
 */
import { Counter, Gauge, type Registry, Summary } from 'prom-client';

/** The pool-level metrics; registered once per registry. */
export interface ScrapePoolMetrics {
  /** `prometheus_target_scrape_pools_total`: pools created (one per job, again after a removal). */
  readonly poolsCreated: Counter;
  /** `prometheus_target_scrape_pool_reloads_total`: pools whose config changed on a reload. */
  readonly poolReloads: Counter;
  /** `prometheus_target_scrape_pool_sync_total{scrape_job}`: target syncs. */
  readonly syncs: Counter<'scrape_job'>;
  /** `prometheus_target_sync_length_seconds{scrape_job}`: how long a sync took. */
  readonly syncLength: Summary<'scrape_job'>;
  /** `prometheus_target_scrape_pool_targets{scrape_job}`: unique targets after relabeling. */
  readonly targets: Gauge<'scrape_job'>;
  /** `prometheus_target_scrape_pool_target_limit{scrape_job}`: the job's `target_limit` (0 = none). */
  readonly targetLimit: Gauge<'scrape_job'>;
  /** `prometheus_target_scrape_pool_exceeded_target_limit_total`: syncs that found more targets than the limit. */
  readonly exceededTargetLimit: Counter;
  /**
   * `prometheus_sd_discovered_targets{config, name="scrape"}`: targets discovered (before
   * relabeling), read from `source` when scraped so a removed job's series go away.
   */
  readonly discoveredTargets: { source: () => Iterable<[job: string, targets: number]> };
  /** `prometheus_sd_received_updates_total{name="scrape"}`: updates received from discoverers. */
  readonly receivedUpdates: Counter<'name'>;
}

/** Registers the metrics on `registry` (or returns those already there: a daemon registers once). */
export function createScrapePoolMetrics(registry: Registry): ScrapePoolMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  const discoveredTargets: ScrapePoolMetrics['discoveredTargets'] = { source: () => [] };
  if (registry.getSingleMetric('prometheus_sd_discovered_targets') === undefined) {
    new Gauge<'config' | 'name'>({
      name: 'prometheus_sd_discovered_targets',
      help: 'Current number of discovered targets.',
      labelNames: ['config', 'name'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [job, n] of discoveredTargets.source()) this.set({ config: job, name: 'scrape' }, n);
      },
    });
  }
  const syncLengthName = 'prometheus_target_sync_length_seconds';
  return {
    poolsCreated: counter('prometheus_target_scrape_pools_total', 'Total number of scrape pool creation attempts.'),
    poolReloads: counter('prometheus_target_scrape_pool_reloads_total', 'Total number of scrape pool reloads.'),
    syncs: counter(
      'prometheus_target_scrape_pool_sync_total',
      'Total number of syncs that were executed on a scrape pool.',
      ['scrape_job'],
    ),
    syncLength:
      (registry.getSingleMetric(syncLengthName) as Summary<'scrape_job'> | undefined) ??
      new Summary<'scrape_job'>({
        name: syncLengthName,
        help: 'Actual interval to sync the scrape pool.',
        labelNames: ['scrape_job'],
        percentiles: [0.01, 0.05, 0.5, 0.9, 0.99],
        registers: [registry],
      }),
    targets: gauge('prometheus_target_scrape_pool_targets', 'Current number of targets in this scrape pool.', [
      'scrape_job',
    ]),
    targetLimit: gauge(
      'prometheus_target_scrape_pool_target_limit',
      'Maximum number of targets allowed in this scrape pool.',
      ['scrape_job'],
    ),
    exceededTargetLimit: counter(
      'prometheus_target_scrape_pool_exceeded_target_limit_total',
      'Total number of times scrape pools hit the target limit, during sync or config reload.',
    ),
    discoveredTargets,
    receivedUpdates: counter(
      'prometheus_sd_received_updates_total',
      'Total number of update events received from the SD providers.',
      ['name'],
    ),
  };
}
