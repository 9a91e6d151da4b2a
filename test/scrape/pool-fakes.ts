/**
 * Fakes for the scrape pool and manager tests: loops that record how they were started and
 * stopped, discoverers driven by the test, and a label population that keeps `__address__` as
 * the instance and drops targets labelled `drop="yes"`.
 */
import type { DiscoveryConfig } from '../../src/config/types.js';
import type { Discoverer, TargetGroup } from '../../src/discovery/types.js';
import type { ScrapeLoop, ScrapeLoopHandoff, ScrapeStatus, ScrapeTarget } from '../../src/scrape/loop-types.js';
import type { PopulatedTarget, ScrapePoolDeps } from '../../src/scrape/scrape-pool.js';

/** A scrape config with Prometheus' defaults (the loop tests' one); any field overridable. */
export { loopConfig as scrapeConfig } from './loop-helpers.js';

/** One started fake loop and what happened to it. */
export interface FakeLoop extends ScrapeLoop {
  readonly startedWith: ScrapeLoopHandoff | undefined;
  /** Config version (the `generation` given to {@link FakeScrape.deps}) it was started under. */
  readonly version: number;
  stoppedWith: { staleMarkers: boolean } | undefined;
  /** Makes `stop` wait until {@link release} (a scrape in progress). */
  hold(): void;
  release(): void;
}

/** A discoverer whose groups the test sends. */
export interface FakeDiscoverer extends Discoverer {
  readonly config: DiscoveryConfig;
  send(groups: TargetGroup[]): void;
  readonly running: boolean;
}

/** Records every loop and discoverer the pool creates. */
export class FakeScrape {
  readonly loops: FakeLoop[] = [];
  readonly discoverers: FakeDiscoverer[] = [];
  /** The forced error the pool set last (see ScrapePoolDeps.setForcedError). */
  forcedError: string | undefined;
  private handoffs = 0;

  /** Loops not stopped, by instance. */
  running(): Map<string, FakeLoop> {
    const m = new Map<string, FakeLoop>();
    for (const l of this.loops) if (l.stoppedWith === undefined) m.set(l.target.labels.instance, l);
    return m;
  }

  deps(version = 0): ScrapePoolDeps {
    return {
      startLoop: (target, handoff) => this.startLoop(target, handoff, version),
      createDiscoverer: (config) => this.createDiscoverer(config),
      populate: populate,
      setForcedError: (message) => {
        this.forcedError = message;
      },
    };
  }

  private startLoop(target: ScrapeTarget, handoff: ScrapeLoopHandoff | undefined, version: number): FakeLoop {
    let held: Promise<void> | undefined;
    let releaseHold: (() => void) | undefined;
    const status: ScrapeStatus = {
      health: 'up',
      lastError: '',
      lastScrapeMs: 1000,
      lastScrapeDurationMs: 12,
      lastSamples: 3,
    };
    const id = ++this.handoffs;
    const loop: FakeLoop = {
      target,
      startedWith: handoff,
      version,
      stoppedWith: undefined,
      status: () => status,
      async stop(opts) {
        loop.stoppedWith = opts;
        if (held) await held;
        return { kind: 'scrape-loop-handoff', id } as ScrapeLoopHandoff;
      },
      hold() {
        held = new Promise((r) => {
          releaseHold = r;
        });
      },
      release() {
        releaseHold?.();
      },
    };
    this.loops.push(loop);
    return loop;
  }

  private createDiscoverer(config: DiscoveryConfig): FakeDiscoverer {
    let onUpdate: ((g: readonly TargetGroup[]) => void) | undefined;
    let running = false;
    const d: FakeDiscoverer = {
      config,
      get running() {
        return running;
      },
      send(groups) {
        if (onUpdate === undefined) throw new Error('discoverer not running');
        onUpdate(groups);
      },
      run(cb, signal) {
        onUpdate = cb;
        running = true;
        return new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            running = false;
            onUpdate = undefined;
            resolve();
          });
        });
      },
    };
    this.discoverers.push(d);
    return d;
  }
}

/** The handoff's id: which loop it came from (1-based creation order). */
export function handoffId(h: ScrapeLoopHandoff | undefined): number | undefined {
  return (h as { id?: number } | undefined)?.id;
}

function populate(
  target: Readonly<Record<string, string>>,
  groupLabels: Readonly<Record<string, string>>,
): PopulatedTarget {
  const labels = { ...groupLabels, ...target };
  const discoveredLabels = { job: 'job1', ...labels };
  if (labels.drop === 'yes') return { kind: 'dropped', discoveredLabels };
  if (labels.bad === 'yes') return { kind: 'invalid', discoveredLabels, reason: 'bad target' };
  const address = labels.__address__;
  const own: Record<string, string> = { instance: address, job: 'job1' };
  for (const [k, v] of Object.entries(labels)) if (!k.startsWith('__') && k !== 'drop') own[k] = v;
  return {
    kind: 'target',
    target: {
      labels: own,
      discoveredLabels,
      url: `http://${address}/metrics`,
      intervalMs: Number(labels.__interval_ms ?? 15_000),
      timeoutMs: 10_000,
    },
  };
}

/** A group of targets `host:port` with shared labels. */
export function group(source: string, addresses: string[], labels: Record<string, string> = {}): TargetGroup {
  return { source, targets: addresses.map((a) => ({ __address__: a })), labels };
}
