/**
 * One scrape job (Prometheus' `scrapePool`): runs the job's discoverers, keeps their target groups
 * by source, turns them into targets (`relabel_configs`), deduplicates the targets, applies
 * `target_limit`, and keeps exactly one scrape loop per target, starting and stopping loops as the
 * targets change. Targets that relabeling dropped are kept (bounded) for `/api/v1/targets`.
 *
 * Nothing here scrapes or relabels by itself: the loop, the discoverers and the label population
 * come in as {@link ScrapePoolDeps}, so the pool's own rules are tested with fakes.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock, TimerHandle } from '../clock.js';
import type { DiscoveryConfig, ScrapeConfig } from '../config/types.js';
import type { Discoverer, TargetGroup } from '../discovery/types.js';
import type { Logger } from '../logger.js';
import type { Labels } from '../serialization/types.js';
import type { ScrapeLoop, ScrapeLoopHandoff, ScrapeStatus, ScrapeTarget } from './loop-types.js';

/** What label population made of one discovered target. */
export type PopulatedTarget =
  | { readonly kind: 'target'; readonly target: ScrapeTarget }
  /** `relabel_configs` dropped it (or it has no address left): shown among the dropped targets. */
  | { readonly kind: 'dropped'; readonly discoveredLabels: Readonly<Labels> }
  /** Invalid after relabeling (e.g. a bad `__scrape_interval__`): logged, neither scraped nor listed, as Prometheus does. */
  | { readonly kind: 'invalid'; readonly discoveredLabels: Readonly<Labels>; readonly reason: string };

/** What the pool needs from the rest of scraping; the manager provides the real ones. */
export interface ScrapePoolDeps {
  /** Starts one target's loop under the job's current config; `handoff` from the loop it replaces. */
  startLoop(target: ScrapeTarget, handoff: ScrapeLoopHandoff | undefined): ScrapeLoop;
  /** A discoverer for one `*_sd_configs` / `static_configs` block. */
  createDiscoverer(config: DiscoveryConfig): Discoverer;
  /**
   * Prometheus' PopulateLabels for one discovered target (its own labels, and its group's, which
   * it overrides).
   */
  populate(target: Readonly<Labels>, groupLabels: Readonly<Labels>): PopulatedTarget;
  /**
   * While set, every scrape of the loops started by these deps fails at once with this message
   * (Prometheus' forced error): `up` 0, the series stale, the reason shown on the target. The
   * pool sets it while the job has more targets than `target_limit`.
   */
  setForcedError(message: string | undefined): void;
}

/** Hooks for the self-metrics, all optional. */
export interface ScrapePoolEvents {
  /** After each sync: unique targets, and whether `target_limit` was exceeded. */
  synced?(job: string, targets: number, limitExceeded: boolean, durationMs: number): void;
  /** Each group update a discoverer reported (`prometheus_sd_received_updates_total`). */
  discoveryUpdate?(job: string): void;
}

export interface ScrapePoolOptions {
  config: ScrapeConfig;
  deps: ScrapePoolDeps;
  clock: Clock;
  logger: Logger;
  events?: ScrapePoolEvents;
  /**
   * Discovery changes arriving within this window after the first are applied together (Prometheus'
   * discovery manager sends updates at most every 5 s): a rollout touching many pods restarts
   * loops once, not once per pod. The first sync happens as soon as every discoverer reported its
   * initial set, or after this delay if one has not. Default 5000.
   */
  updateDelayMs?: number;
  /** Dropped targets kept for the API (all are counted). Default {@link DEFAULT_KEEP_DROPPED_TARGETS}. */
  keepDroppedTargets?: number;
}

/**
 * Dropped targets remembered per job. Prometheus keeps all by default (`keep_dropped_targets: 0`),
 * which in a large Kubernetes cluster is every pod of every job: bounded here, counted in full.
 */
export const DEFAULT_KEEP_DROPPED_TARGETS = 1000;
const DEFAULT_UPDATE_DELAY_MS = 5000;

/** One active target as the API shows it. */
export interface ActiveTargetView {
  readonly target: ScrapeTarget;
  readonly status: ScrapeStatus;
}

/** The job's dropped targets: the first ones kept (their discovered labels) and how many in all. */
export interface DroppedTargetsView {
  readonly discoveredLabels: readonly Readonly<Labels>[];
  readonly count: number;
}

interface LoopEntry {
  readonly key: string;
  /** Replaced (with the loop) when the interval or timeout changed. */
  target: ScrapeTarget;
  loop: ScrapeLoop;
  /** Config generation the loop was started under: an older one is restarted (with handoff) on sync. */
  generation: number;
}

interface Provider {
  readonly discoverer: Discoverer;
  readonly abort: AbortController;
  readonly groups: Map<string, TargetGroup>;
  reported: boolean;
  done: Promise<void>;
}

/**
 * The identity of a target: its labels and URL (Prometheus' target hash). Interval and timeout
 * are not part of it: a target whose interval changed keeps its series, so its loop is replaced
 * with a handoff instead of being stopped with stale markers and started anew.
 */
export function targetKey(t: ScrapeTarget): string {
  const names = Object.keys(t.labels).sort();
  const parts: string[] = [t.url];
  for (const n of names) parts.push(n, t.labels[n]);
  return JSON.stringify(parts);
}

/** `target_limit exceeded (number of targets: N, limit: L)`: Prometheus' words. */
export function targetLimitError(targets: number, limit: number): string {
  return `target_limit exceeded (number of targets: ${targets}, limit: ${limit})`;
}

/** A running scrape job. */
export class ScrapePool {
  private config: ScrapeConfig;
  private deps: ScrapePoolDeps;
  private generation = 0;
  private readonly o: ScrapePoolOptions;
  private readonly logger: Logger;
  private providers: Provider[] = [];
  private readonly loops = new Map<string, LoopEntry>();
  /** Targets found by the last sync, in discovery order (deduplicated). */
  private active: ScrapeTarget[] = [];
  private dropped: Readonly<Labels>[] = [];
  private droppedCount = 0;
  private limitError: string | undefined;
  private syncTimer: TimerHandle | undefined;
  private syncChain: Promise<void> = Promise.resolve();
  private firstSynced = false;
  private firstSyncWaiters: (() => void)[] = [];
  /** Resolved at the end of the next sync (or at stop). */
  private syncWaiters: (() => void)[] = [];
  private stopped = false;
  /** Set while new discoverers are starting on a reload: a sync waits for their initial sets. */
  private awaitingInitial = false;

  constructor(options: ScrapePoolOptions) {
    this.o = options;
    this.config = options.config;
    this.deps = options.deps;
    this.logger = options.logger.child({ scrape_pool: options.config.jobName });
  }

  get jobName(): string {
    return this.config.jobName;
  }

  /** True once the first set of targets was applied (loops started). */
  get synced(): boolean {
    return this.firstSynced;
  }

  /** Resolves after the first sync. */
  whenSynced(): Promise<void> {
    if (this.firstSynced) return Promise.resolve();
    return new Promise((resolve) => this.firstSyncWaiters.push(resolve));
  }

  /** Starts the discoverers; loops start at the first sync. */
  start(): void {
    this.startProviders();
  }

  /**
   * Applies a changed config of the same job. Loops of targets that remain are stopped without
   * stale markers and replaced, handing over their state; targets gone under the new config stop
   * with stale markers. When the discovery blocks changed, the discoverers restart and the old
   * loops keep scraping until the new ones reported their targets.
   */
  reload(config: ScrapeConfig, deps: ScrapePoolDeps): Promise<void> {
    const replaced = new Promise<void>((resolve) => this.syncWaiters.push(resolve));
    const discoveryChanged = !sameDiscovery(this.config.serviceDiscovery, config.serviceDiscovery);
    this.config = config;
    this.deps = deps;
    this.generation++;
    if (discoveryChanged) {
      // A sync before the new discoverers report would see no targets and mark every series stale.
      this.o.clock.clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      for (const p of this.providers) p.abort.abort();
      this.awaitingInitial = true;
      this.startProviders();
    } else {
      this.scheduleSync(0);
    }
    return replaced;
  }

  /**
   * Stops discovery and every loop. `staleMarkers`: the job is gone (removed from the config);
   * false on shutdown, where Prometheus writes none either (the series may come back after the
   * restart). Scrapes in progress finish and are appended first.
   */
  async stop(opts: { staleMarkers: boolean }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.o.clock.clearTimeout(this.syncTimer);
    for (const p of this.providers) p.abort.abort();
    // A sync in progress finishes first, so no loop it starts is left running.
    await this.syncChain;
    const entries = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(entries.map((e) => this.stopLoop(e, opts.staleMarkers)));
    await Promise.all(this.providers.map((p) => p.done));
    this.resolveFirstSync();
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** The targets being scraped, with each loop's status (or the target limit error). */
  activeTargets(): ActiveTargetView[] {
    return this.active.map((target) => {
      const entry = this.loops.get(targetKey(target));
      if (entry !== undefined) return { target, status: entry.loop.status() };
      return {
        target,
        status: {
          health: 'unknown',
          lastError: '',
          lastScrapeMs: 0,
          lastScrapeDurationMs: 0,
          lastSamples: 0,
        },
      };
    });
  }

  droppedTargets(): DroppedTargetsView {
    return { discoveredLabels: this.dropped, count: this.droppedCount };
  }

  /** Targets discovered now (before relabeling), for `prometheus_sd_discovered_targets`. */
  discoveredTargetCount(): number {
    let n = 0;
    for (const p of this.providers) for (const g of p.groups.values()) n += g.targets.length;
    return n;
  }

  /** Current config (the one the last reload applied). */
  get currentConfig(): ScrapeConfig {
    return this.config;
  }

  private startProviders(): void {
    const providers: Provider[] = this.config.serviceDiscovery.map((sd) => {
      const abort = new AbortController();
      const provider: Provider = {
        discoverer: this.discoverer(sd),
        abort,
        groups: new Map(),
        reported: false,
        done: Promise.resolve(),
      };
      return provider;
    });
    this.providers = providers;
    for (const p of providers) {
      p.done = p.discoverer
        .run((changed) => this.onDiscovery(p, changed), p.abort.signal)
        .catch((err) => this.logger.error('service discovery failed', { err }));
    }
    // When every discoverer reported at once (static ones), the last report scheduled the sync;
    // otherwise the others get the update delay to report before the sync goes ahead without them.
    if (providers.length === 0) this.scheduleSync(0);
    else if (!providers.every((p) => p.reported)) this.scheduleSync(this.o.updateDelayMs ?? DEFAULT_UPDATE_DELAY_MS);
  }

  /** The discoverer of one block; one that cannot be created is logged and discovers nothing. */
  private discoverer(sd: DiscoveryConfig): Discoverer {
    try {
      return this.deps.createDiscoverer(sd);
    } catch (err) {
      this.logger.error('creating a discoverer failed: it finds no targets', { discovery: sd.kind, err });
      return {
        async run(onUpdate) {
          onUpdate([]);
        },
      };
    }
  }

  private onDiscovery(p: Provider, changed: readonly TargetGroup[]): void {
    if (this.stopped || p.abort.signal.aborted) return;
    for (const g of changed) {
      // A group with no targets means the source has none now: forget it rather than keep an empty entry.
      if (g.targets.length === 0) p.groups.delete(g.source);
      else p.groups.set(g.source, g);
    }
    this.o.events?.discoveryUpdate?.(this.config.jobName);
    const first = !p.reported;
    p.reported = true;
    const allReported = this.providers.every((q) => q.reported);
    if (first && allReported && (!this.firstSynced || this.awaitingInitial)) this.scheduleSync(0);
    else if (this.syncTimer === undefined) this.scheduleSync(this.o.updateDelayMs ?? DEFAULT_UPDATE_DELAY_MS);
  }

  private scheduleSync(delayMs: number): void {
    if (this.stopped) return;
    if (this.syncTimer !== undefined) {
      if (delayMs > 0) return;
      this.o.clock.clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
    }
    const run = () => {
      this.syncTimer = undefined;
      this.syncChain = this.syncChain
        .then(() => this.sync())
        .catch((err) => this.logger.error('syncing the targets failed', { err }));
    };
    if (delayMs === 0) run();
    else this.syncTimer = this.o.clock.setTimeout(run, delayMs);
  }

  /** Computes the targets from the groups and brings the loops in line with them. */
  private async sync(): Promise<void> {
    if (this.stopped) return;
    this.awaitingInitial = false;
    const started = this.o.clock.now();
    const generation = this.generation;
    const wanted = new Map<string, ScrapeTarget>();
    const active: ScrapeTarget[] = [];
    const dropped: Readonly<Labels>[] = [];
    let droppedCount = 0;
    const keep = this.o.keepDroppedTargets ?? DEFAULT_KEEP_DROPPED_TARGETS;
    for (const p of this.providers) {
      for (const group of p.groups.values()) {
        for (const own of group.targets) {
          const populated = this.deps.populate(own, group.labels);
          if (populated.kind === 'target') {
            const key = targetKey(populated.target);
            if (wanted.has(key)) continue;
            wanted.set(key, populated.target);
            active.push(populated.target);
            continue;
          }
          if (populated.kind === 'invalid') {
            // Logged on every sync and not listed, as Prometheus does ("Creating target failed").
            this.logger.error('creating target failed', { err: populated.reason, source: group.source });
            continue;
          }
          droppedCount++;
          if (dropped.length < keep) dropped.push(populated.discoveredLabels);
        }
      }
    }
    this.active = active;
    this.dropped = dropped;
    this.droppedCount = droppedCount;

    const limit = this.config.targetLimit;
    const exceeded = limit > 0 && wanted.size > limit;
    const limitError = exceeded ? targetLimitError(wanted.size, limit) : undefined;
    if (limitError !== undefined && this.limitError === undefined) {
      this.logger.error('scrape pool exceeded its target limit: every scrape fails', { err: limitError });
    } else if (limitError === undefined && this.limitError !== undefined) {
      this.logger.info('scrape pool back within its target limit', { targets: wanted.size, limit });
    }
    this.limitError = limitError;
    // Over the limit every target keeps its loop but each scrape fails with the reason, as
    // Prometheus does: up is 0 (alerts on up == 0 fire), the series go stale, /targets says why.
    this.deps.setForcedError(limitError);
    const target = wanted;

    const work: Promise<void>[] = [];
    for (const [key, entry] of this.loops) {
      if (!target.has(key)) {
        this.loops.delete(key);
        work.push(this.stopLoop(entry, true));
      } else {
        const next = target.get(key)!;
        const retimed = next.intervalMs !== entry.target.intervalMs || next.timeoutMs !== entry.target.timeoutMs;
        if (entry.generation !== generation || retimed) work.push(this.restartLoop(entry, next, generation));
      }
    }
    for (const [key, t] of target) {
      if (this.loops.has(key)) continue;
      const loop = this.startLoop(t, undefined);
      if (loop !== undefined) this.loops.set(key, { key, target: t, loop, generation });
    }
    await Promise.all(work);
    this.resolveFirstSync();
    for (const w of this.syncWaiters.splice(0)) w();
    this.o.events?.synced?.(this.config.jobName, wanted.size, exceeded, this.o.clock.now() - started);
  }

  private startLoop(target: ScrapeTarget, handoff: ScrapeLoopHandoff | undefined): ScrapeLoop | undefined {
    try {
      return this.deps.startLoop(target, handoff);
    } catch (err) {
      this.logger.error('starting a scrape loop failed', { target: target.url, err });
      return undefined;
    }
  }

  /** Replaces a loop started under an older config by one under the current config, with its state. */
  private async restartLoop(entry: LoopEntry, next: ScrapeTarget, generation: number): Promise<void> {
    let handoff: ScrapeLoopHandoff | undefined;
    try {
      handoff = await entry.loop.stop({ staleMarkers: false });
    } catch (err) {
      this.logger.error('stopping a scrape loop failed', { target: entry.target.url, err });
    }
    if (this.stopped || this.loops.get(entry.key) !== entry) return;
    const loop = this.startLoop(next, handoff);
    if (loop === undefined) {
      this.loops.delete(entry.key);
      return;
    }
    entry.target = next;
    entry.loop = loop;
    entry.generation = generation;
  }

  private async stopLoop(entry: LoopEntry, staleMarkers: boolean): Promise<void> {
    try {
      await entry.loop.stop({ staleMarkers });
    } catch (err) {
      this.logger.error('stopping a scrape loop failed', { target: entry.target.url, err });
    }
  }

  private resolveFirstSync(): void {
    if (this.firstSynced) return;
    this.firstSynced = true;
    for (const w of this.firstSyncWaiters.splice(0)) w();
  }
}

/** Whether two lists of discovery blocks are the same (then the discoverers and their targets stay). */
function sameDiscovery(a: readonly DiscoveryConfig[], b: readonly DiscoveryConfig[]): boolean {
  return isDeepStrictEqual(a, b);
}
