/**
 * What a scrape loop is, as the scrape pools (one per job) see it. The loop itself lives in
 * `scrape-loop.ts` (`startScrapeLoop`), its HTTP client in `scrape-client.ts`
 * (`createScrapeClient`, one per job, shared by its targets).
 */
import type { ScrapeConfig } from '../config/types.js';
import type { Appender } from '../queue-types.js';
import type { Labels } from '../serialization/types.js';

/** One target after `relabel_configs` (Prometheus' `scrape.Target`). */
export interface ScrapeTarget {
  /**
   * The labels every scraped series gets (job, instance and the rest), after relabeling, without
   * any `__`-prefixed label (those were consumed or dropped).
   */
  readonly labels: Readonly<Labels>;
  /** The labels before relabeling (discovered, plus job, `__scheme__`, ...): shown on /targets. */
  readonly discoveredLabels: Readonly<Labels>;
  /** What is scraped: scheme, address, metrics path and URL parameters. */
  readonly url: string;
  /** From `__scrape_interval__` / `__scrape_timeout__` after relabeling. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** Prometheus' target health. */
export type TargetHealth = 'up' | 'down' | 'unknown';

/** What /api/v1/targets shows of one loop. */
export interface ScrapeStatus {
  readonly health: TargetHealth;
  /** '' when the last scrape succeeded. */
  readonly lastError: string;
  /** Start of the last scrape, ms since the epoch (0: none yet). */
  readonly lastScrapeMs: number;
  readonly lastScrapeDurationMs: number;
  /** Samples the last scrape appended (after metric relabeling). */
  readonly lastSamples: number;
}

/** Where a loop appends: the queue (a `Queue` satisfies it). */
export interface ScrapeSink {
  appender(): Appender;
}

/**
 * Opaque state a stopped loop hands to the loop that replaces it on a reload (its scrape cache and
 * the series seen last, so the new loop neither marks them stale nor parses them again).
 */
export interface ScrapeLoopHandoff {
  readonly kind: 'scrape-loop-handoff';
}

/** One target's scraping, every interval until stopped. */
export interface ScrapeLoop {
  readonly target: ScrapeTarget;
  status(): ScrapeStatus;
  /**
   * Stops after the scrape in progress (if any) is appended. `staleMarkers`: append stale markers
   * for every series of the last scrape (the target went away); false on a reload that hands the
   * loop over. Resolves with the handoff for a replacement loop.
   */
  stop(opts: { staleMarkers: boolean }): Promise<ScrapeLoopHandoff>;
}

export type { ScrapeConfig };
