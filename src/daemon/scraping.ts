/**
 * How the daemon sets up scraping: the real components (loops, client, discovery) appending to its
 * queue, the scrape offset seed, and the shard rule of `--scrape.shard-count` (several promspool
 * replicas splitting the targets by `hashmod` of `__address__`).
 */
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { DiscoveryConfig, ScrapeConfig } from '../config/types.js';
import type { Discoverer, DiscoveryStats } from '../discovery/types.js';
import type { Logger } from '../logger.js';
import type { RelabelRule } from '../relabel/types.js';
import type { ScrapeSink } from '../scrape/loop-types.js';
import { createScrapeComponents } from '../scrape/scrape-components.js';
import type { ScrapeComponents } from '../scrape/scrape-manager.js';

/** Which share of the targets this replica scrapes: those whose address hashes to `index` mod `count`. */
export interface ScrapeShard {
  index: number;
  count: number;
}

export interface ScrapeDaemonOptions {
  /** A discoverer per discovery block; default src/discovery's `createDiscoverer`. */
  createDiscoverer?: (sd: DiscoveryConfig, config: ScrapeConfig) => Discoverer;
  /** See `ScrapePoolOptions.updateDelayMs` (default 5 s, as Prometheus). */
  updateDelayMs?: number;
  /** Scrape only this shard of every job's targets. */
  shard?: ScrapeShard;
}

/** Label the shard rule's hash is written to; `__tmp_` labels are Prometheus' convention for scratch. */
export const SHARD_HASH_LABEL = '__tmp_promspool_shard';

/**
 * The two rules that keep this shard's targets, appended to every job's `relabel_configs`:
 * exactly what one would write by hand (`hashmod` of `__address__` into a temporary label, then
 * `keep` the index), so the split is the documented Prometheus one.
 */
export function shardRelabelRules(shard: ScrapeShard): RelabelRule[] {
  return [
    {
      sourceLabels: ['__address__'],
      separator: ';',
      regex: '(.*)',
      modulus: BigInt(shard.count),
      targetLabel: SHARD_HASH_LABEL,
      replacement: '$1',
      action: 'hashmod',
    },
    {
      sourceLabels: [SHARD_HASH_LABEL],
      separator: ';',
      regex: String(shard.index),
      modulus: 0n,
      targetLabel: '',
      replacement: '$1',
      action: 'keep',
    },
  ];
}

/**
 * The shard of this replica from the command line: `--scrape.shard-count` with
 * `--scrape.shard-index`, or without an index the ordinal of a StatefulSet pod, the number ending
 * `hostname` (`promspool-2` is index 2). Undefined when not sharding; throws with the reason when
 * the values cannot be used.
 */
export function resolveScrapeShard(
  count: string | undefined,
  index: string | undefined,
  hostname: string,
): ScrapeShard | undefined {
  if (count === undefined) {
    if (index !== undefined) throw new Error('--scrape.shard-index needs --scrape.shard-count');
    return undefined;
  }
  if (!/^\d+$/.test(count) || Number(count) < 1) {
    throw new Error(`--scrape.shard-count must be a positive integer, got ${JSON.stringify(count)}`);
  }
  const n = Number(count);
  let i: number;
  if (index !== undefined) {
    if (!/^\d+$/.test(index)) {
      throw new Error(`--scrape.shard-index must be a non-negative integer, got ${JSON.stringify(index)}`);
    }
    i = Number(index);
  } else {
    const ordinal = /-(\d+)$/.exec(hostname);
    if (ordinal === null) {
      throw new Error(
        `--scrape.shard-count without --scrape.shard-index takes the index from a StatefulSet pod's hostname (name-<ordinal>), but the hostname is ${JSON.stringify(hostname)}`,
      );
    }
    i = Number(ordinal[1]);
  }
  if (i >= n) throw new Error(`--scrape.shard-index ${i} must be below --scrape.shard-count ${n}`);
  return { index: i, count: n };
}

export interface DaemonScrapeSetup {
  components: ScrapeComponents;
  extraRelabelConfigs: RelabelRule[];
}

export interface DaemonScrapeInput {
  options: ScrapeDaemonOptions;
  sink: ScrapeSink;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  version: string;
  hostname: string;
  externalLabels: Record<string, string>;
}

/**
 * Prometheus' `offsetSeed`: a hash of the external labels and the hostname, so replicas scraping
 * the same targets (an HA pair) spread their scrapes differently.
 */
export function scrapeOffsetSeed(externalLabels: Record<string, string>, hostname: string): bigint {
  let h = 0xcbf29ce484222325n;
  const text = `${Object.keys(externalLabels)
    .sort()
    .map((k) => `${k}\xff${externalLabels[k]}`)
    .join('\xff')}\xfe${hostname}`;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

const DISCOVERY_MODULE = '../discovery/index.js';

/** Typed from the module itself; loaded at run time (see {@link defaultDiscoverers}). */
type DiscoveryModule = typeof import('../discovery/index.js');

/**
 * Failed refreshes (or watch events) of every discoverer, per job and mechanism: those running
 * and those already stopped, so the counter never goes back on a reload.
 */
class DiscoveryFailures {
  private readonly retired = new Map<string, number>();
  private readonly live = new Map<DiscoveryStats, string>();

  track(job: string, mechanism: string, stats: DiscoveryStats): () => void {
    const key = JSON.stringify([job, mechanism]);
    this.live.set(stats, key);
    return () => {
      this.live.delete(stats);
      this.retired.set(key, (this.retired.get(key) ?? 0) + stats.failures);
    };
  }

  totals(): [{ config: string; mechanism: string }, number][] {
    const sums = new Map(this.retired);
    for (const [stats, key] of this.live) sums.set(key, (sums.get(key) ?? 0) + stats.failures);
    return [...sums].map(([key, n]) => {
      const [config, mechanism] = JSON.parse(key) as [string, string];
      return [{ config, mechanism }, n];
    });
  }
}

/**
 * src/discovery's discoverers, its module loaded by the first discoverer that runs (a daemon that
 * never scrapes never loads the Kubernetes client), their failures counted as Prometheus'
 * `prometheus_sd_refresh_failures_total{config, mechanism}`.
 */
function defaultDiscoverers(input: DaemonScrapeInput): (sd: DiscoveryConfig, config: ScrapeConfig) => Discoverer {
  const failures = new DiscoveryFailures();
  if (input.registry.getSingleMetric('prometheus_sd_refresh_failures_total') === undefined) {
    new Counter<'config' | 'mechanism'>({
      name: 'prometheus_sd_refresh_failures_total',
      help: 'Number of service discovery refresh (or watch) failures, per job and mechanism.',
      labelNames: ['config', 'mechanism'],
      registers: [input.registry],
      collect() {
        this.reset();
        for (const [labels, n] of failures.totals()) this.inc(labels, n);
      },
    });
  }
  return (sd, config) => ({
    async run(onUpdate, signal) {
      const discovery = (await import(DISCOVERY_MODULE)) as DiscoveryModule;
      if (signal.aborted) return;
      const discoverer = discovery.createDiscoverer(sd, {
        clock: input.clock,
        logger: input.logger.child({ scrape_pool: config.jobName, discovery: sd.kind }),
        version: input.version,
      });
      const untrack = failures.track(config.jobName, sd.kind, discoverer.stats);
      try {
        await discoverer.run(onUpdate, signal);
      } finally {
        untrack();
      }
    },
  });
}

/** The components of the daemon's scrape jobs. */
export async function createDaemonScrapeComponents(input: DaemonScrapeInput): Promise<DaemonScrapeSetup> {
  const createDiscoverer = input.options.createDiscoverer ?? defaultDiscoverers(input);
  const shard = input.options.shard;
  if (shard !== undefined) input.logger.info('scraping one shard of the targets', { ...shard });
  return {
    components: createScrapeComponents({
      sink: input.sink,
      createDiscoverer,
      clock: input.clock,
      logger: input.logger,
      version: input.version,
      offsetSeed: scrapeOffsetSeed(input.externalLabels, input.hostname),
      registry: input.registry,
    }),
    extraRelabelConfigs: shard === undefined ? [] : shardRelabelRules(shard),
  };
}
