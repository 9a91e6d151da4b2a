/**
 * Every scrape job of the running config (Prometheus' scrape manager): one {@link ScrapePool} per
 * `job_name`, reconfigured on reload so that a reload neither loses data nor writes spurious stale
 * markers: unchanged jobs are not touched, changed jobs hand their loops' state to the new loops,
 * removed jobs stop with stale markers.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { ScrapeConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { RelabelRule } from '../relabel/types.js';
import { createScrapePoolMetrics, type ScrapePoolMetrics } from './pool-metrics.js';
import {
  type ActiveTargetView,
  type DroppedTargetsView,
  ScrapePool,
  type ScrapePoolDeps,
  type ScrapePoolEvents,
} from './scrape-pool.js';

/**
 * Builds a job's pool dependencies (loop starter with its HTTP client, discoverers, label
 * population) for one version of its config. Called again when the job's config changes; `close`
 * of the previous version's result is called once its loops were all replaced.
 */
export type ScrapeComponents = (config: ScrapeConfig) => ScrapePoolDeps & { close?(): void };

export interface ScrapeManagerOptions {
  components: ScrapeComponents;
  clock: Clock;
  logger: Logger;
  /** Registry of the self-metrics (the daemon's). */
  registry?: Registry;
  /** See {@link ScrapePoolOptions.updateDelayMs}. */
  updateDelayMs?: number;
  keepDroppedTargets?: number;
  /**
   * Rules appended to every job's `relabel_configs` (the shard rule of `--scrape.shard-count`):
   * part of each job's effective config, so a change restarts the jobs like any config change.
   */
  extraRelabelConfigs?: readonly RelabelRule[];
}

/** One job's targets as `/api/v1/targets` lists them. */
export interface JobTargets {
  readonly jobName: string;
  readonly config: ScrapeConfig;
  readonly active: ActiveTargetView[];
  readonly dropped: DroppedTargetsView;
}

interface PoolEntry {
  pool: ScrapePool;
  /** The config as configured (before extra rules), compared on reload. */
  configured: ScrapeConfig;
  deps: ScrapePoolDeps & { close?(): void };
}

/** Runs all scrape pools. */
export class ScrapeManager {
  private readonly o: ScrapeManagerOptions;
  private readonly pools = new Map<string, PoolEntry>();
  private readonly metrics: ScrapePoolMetrics | undefined;
  private readonly events: ScrapePoolEvents;
  private stopped = false;
  private applyChain: Promise<void> = Promise.resolve();

  constructor(options: ScrapeManagerOptions) {
    this.o = options;
    const metrics = options.registry === undefined ? undefined : createScrapePoolMetrics(options.registry);
    this.metrics = metrics;
    this.events = {
      synced: (job, targets, exceeded, durationMs) => {
        if (metrics === undefined) return;
        metrics.syncs.inc({ scrape_job: job });
        metrics.syncLength.observe({ scrape_job: job }, durationMs / 1000);
        metrics.targets.set({ scrape_job: job }, targets);
        if (exceeded) metrics.exceededTargetLimit.inc();
      },
      discoveryUpdate: () => metrics?.receivedUpdates.inc({ name: 'scrape' }),
    };
    if (metrics !== undefined) {
      metrics.discoveredTargets.source = () =>
        [...this.pools].map(([job, e]): [string, number] => [job, e.pool.discoveredTargetCount()]);
    }
  }

  /** Jobs running now. */
  get jobNames(): string[] {
    return [...this.pools.keys()];
  }

  /** True once every job applied its first set of targets. */
  get ready(): boolean {
    for (const e of this.pools.values()) if (!e.pool.synced) return false;
    return true;
  }

  /** Resolves once every job running now applied its first set of targets. */
  async whenReady(): Promise<void> {
    await Promise.all([...this.pools.values()].map((e) => e.pool.whenSynced()));
  }

  /**
   * Brings the jobs in line with `configs` (at start and on every reload). Resolves once removed
   * jobs stopped; changed jobs restart their loops in the background, one target at a time
   * handing over its state.
   */
  applyConfig(configs: readonly ScrapeConfig[]): Promise<void> {
    const run = () => this.apply(configs);
    const result = this.applyChain.then(run, run);
    this.applyChain = result.catch(() => {});
    return result;
  }

  /** Every job's targets, in config order. */
  targets(): JobTargets[] {
    return [...this.pools.values()].map((e) => ({
      jobName: e.pool.jobName,
      config: e.pool.currentConfig,
      active: e.pool.activeTargets(),
      dropped: e.pool.droppedTargets(),
    }));
  }

  /**
   * Stops every job without stale markers (shutdown: Prometheus writes none, the targets are not
   * gone). Scrapes in progress finish and are appended before this resolves.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.applyChain;
    const entries = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(entries.map((e) => e.pool.stop({ staleMarkers: false })));
    for (const e of entries) e.deps.close?.();
  }

  private async apply(configs: readonly ScrapeConfig[]): Promise<void> {
    if (this.stopped) return;
    const next = new Map(configs.map((c) => [c.jobName, c]));
    const removed: PoolEntry[] = [];
    for (const [job, e] of this.pools) {
      if (next.has(job)) continue;
      this.pools.delete(job);
      removed.push(e);
      this.o.logger.info('scrape job removed: its targets stop with stale markers', { scrape_job: job });
    }
    // Rebuilt in config order, so the API lists jobs as the file does.
    const kept = new Map(this.pools);
    this.pools.clear();
    for (const configured of configs) {
      const job = configured.jobName;
      const existing = kept.get(job);
      const effective = this.effective(configured);
      if (existing === undefined) {
        const deps = this.components(effective);
        if (deps === undefined) continue;
        const pool = new ScrapePool({
          config: effective,
          deps,
          clock: this.o.clock,
          logger: this.o.logger,
          events: this.events,
          updateDelayMs: this.o.updateDelayMs,
          keepDroppedTargets: this.o.keepDroppedTargets,
        });
        this.pools.set(job, { pool, configured, deps });
        this.metrics?.poolsCreated.inc();
        this.metrics?.targetLimit.set({ scrape_job: job }, configured.targetLimit);
        pool.start();
        continue;
      }
      this.pools.set(job, existing);
      if (isDeepStrictEqual(existing.configured, configured)) continue;
      this.o.logger.info('scrape job changed: its loops restart with their state', { scrape_job: job });
      const previousDeps = existing.deps;
      const deps = this.components(effective);
      // The job keeps running as it was; the next reload tries again.
      if (deps === undefined) continue;
      existing.configured = configured;
      existing.deps = deps;
      const replaced = existing.pool.reload(effective, deps);
      this.metrics?.poolReloads.inc();
      this.metrics?.targetLimit.set({ scrape_job: job }, configured.targetLimit);
      // The old client serves the old loops until the sync has replaced every one of them.
      void replaced.then(() => previousDeps.close?.());
    }
    await Promise.all(
      removed.map(async (e) => {
        await e.pool.stop({ staleMarkers: true });
        e.deps.close?.();
        this.metrics?.targets.remove({ scrape_job: e.pool.jobName });
        this.metrics?.targetLimit.remove({ scrape_job: e.pool.jobName });
      }),
    );
  }

  /** The job's components, or undefined (logged) when they cannot be built (e.g. a TLS file gone). */
  private components(config: ScrapeConfig): (ScrapePoolDeps & { close?(): void }) | undefined {
    try {
      return this.o.components(config);
    } catch (err) {
      this.o.logger.error('scrape job cannot start', { scrape_job: config.jobName, err });
      return undefined;
    }
  }

  private effective(config: ScrapeConfig): ScrapeConfig {
    const extra = this.o.extraRelabelConfigs;
    if (extra === undefined || extra.length === 0) return config;
    return { ...config, relabelConfigs: [...config.relabelConfigs, ...extra] };
  }
}
