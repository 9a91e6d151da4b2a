/**
 * `GET /api/v1/targets` in Prometheus' JSON shape (web/api/v1 `targets`), so tools written for
 * Prometheus (Grafana's target list, scripts, promtool-style checks) read it unchanged:
 * `activeTargets` with discovered and target labels, scrape pool, URLs, last error, last scrape,
 * duration, health, interval and timeout; `droppedTargets` with their discovered labels; the
 * `state` (`active`, `dropped`, `any`) and `scrapePool` query parameters.
 */
import { formatDuration } from '../config/duration.js';
import type { JobTargets } from '../scrape/scrape-manager.js';
import type { Labels } from '../serialization/types.js';

/** One entry of `activeTargets`. */
export interface ActiveTargetJson {
  discoveredLabels: Labels;
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  /** RFC 3339; Go's zero time when never scraped. */
  lastScrape: string;
  /** Seconds. */
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval: string;
  scrapeTimeout: string;
}

export interface DroppedTargetJson {
  discoveredLabels: Labels;
  scrapePool: string;
}

export interface TargetsJson {
  status: 'success';
  data: {
    activeTargets: ActiveTargetJson[];
    droppedTargets: DroppedTargetJson[];
    /** Dropped targets per job, all of them (the list above is bounded). */
    droppedTargetCounts: Record<string, number>;
  };
}

export type TargetsState = 'active' | 'dropped' | 'any';

/** What Prometheus shows for a time that never happened (Go's zero `time.Time`). */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The answer for the query string `search` (without `?`). Unknown `state` values read as `any`,
 * as Prometheus treats them.
 */
export function targetsJson(jobs: readonly JobTargets[], search: string, hostname: string): TargetsJson {
  const query = new URLSearchParams(search);
  const stateParam = (query.get('state') ?? 'any').toLowerCase();
  const state: TargetsState = stateParam === 'active' || stateParam === 'dropped' ? stateParam : 'any';
  const pool = query.get('scrapePool');
  const selected = pool === null || pool === '' ? jobs : jobs.filter((j) => j.jobName === pool);
  const activeTargets: ActiveTargetJson[] = [];
  const droppedTargets: DroppedTargetJson[] = [];
  const droppedTargetCounts: Record<string, number> = {};
  for (const job of selected) {
    droppedTargetCounts[job.jobName] = job.dropped.count;
    if (state !== 'dropped') {
      for (const { target, status } of job.active) {
        activeTargets.push({
          discoveredLabels: { ...target.discoveredLabels },
          labels: { ...target.labels },
          scrapePool: job.jobName,
          scrapeUrl: target.url,
          globalUrl: globalUrl(target.url, hostname),
          lastError: status.lastError,
          lastScrape: status.lastScrapeMs > 0 ? new Date(status.lastScrapeMs).toISOString() : GO_ZERO_TIME,
          lastScrapeDuration: status.lastScrapeDurationMs / 1000,
          health: status.health,
          scrapeInterval: formatDuration(target.intervalMs),
          scrapeTimeout: formatDuration(target.timeoutMs),
        });
      }
    }
    if (state !== 'active') {
      for (const labels of job.dropped.discoveredLabels) {
        droppedTargets.push({ discoveredLabels: { ...labels }, scrapePool: job.jobName });
      }
    }
  }
  return { status: 'success', data: { activeTargets, droppedTargets, droppedTargetCounts } };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The scrape URL as seen from elsewhere (Prometheus' `globalURL`): a loopback host is replaced by
 * this machine's hostname, keeping the port.
 */
export function globalUrl(scrapeUrl: string, hostname: string): string {
  let u: URL;
  try {
    u = new URL(scrapeUrl);
  } catch {
    return scrapeUrl;
  }
  if (!LOOPBACK_HOSTS.has(u.hostname) && !u.hostname.startsWith('127.')) return scrapeUrl;
  u.hostname = hostname;
  return u.toString();
}
