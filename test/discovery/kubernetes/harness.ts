/**
 * Helpers for Kubernetes discovery tests: a full `KubernetesSdConfig` from a few fields, a
 * running discoverer whose updates a test awaits one by one, and a logger whose lines a test awaits.
 */
import type { KubernetesSdConfig } from '../../../src/config/types.js';
import type { Discoverer, TargetGroup } from '../../../src/discovery/types.js';
import type { Logger } from '../../../src/logger.js';

/** A loaded config with Prometheus' defaults, overridden by `fields`. */
export function sdConfig(fields: Partial<KubernetesSdConfig>): KubernetesSdConfig {
  return {
    role: 'pod',
    namespaces: { ownNamespace: false, names: [] },
    selectors: [],
    attachMetadata: { node: false, namespace: false },
    ...fields,
  };
}

/** A discoverer being run: its updates, awaited in order. */
export class RunningDiscoverer {
  readonly updates: (readonly TargetGroup[])[] = [];
  private readonly controller = new AbortController();
  private readonly done: Promise<void>;
  private taken = 0;
  private wake: (() => void) | undefined;

  constructor(discoverer: Discoverer) {
    this.done = discoverer.run((groups) => {
      this.updates.push(groups);
      this.wake?.();
    }, this.controller.signal);
  }

  /** The next update not yet taken. */
  async next(): Promise<readonly TargetGroup[]> {
    while (this.taken >= this.updates.length) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    return this.updates[this.taken++];
  }

  /** Updates reported and not yet taken. */
  get untaken(): number {
    return this.updates.length - this.taken;
  }

  /** Aborts and waits for `run` to resolve. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** Groups by source (the order of groups in an update carries no meaning). */
export function bySource(groups: readonly TargetGroup[]): Record<string, TargetGroup> {
  return Object.fromEntries(groups.map((g) => [g.source, g]));
}

/** A logger that keeps every line and lets a test await a line containing some text. */
export class AwaitableLogger {
  readonly lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  private readonly waiters: { text: string; from: number; resolve: () => void }[] = [];

  readonly logger: Logger = this.make({});

  private make(base: Record<string, unknown>): Logger {
    const push = (level: string) => (msg: string, f?: Record<string, unknown>) => {
      this.lines.push({ level, msg, fields: { ...base, ...f } });
      for (const w of [...this.waiters]) {
        if (this.count(w.text) > w.from) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    return {
      debug: push('debug'),
      info: push('info'),
      warn: push('warn'),
      error: push('error'),
      child: (f) => this.make({ ...base, ...f }),
    };
  }

  /** Lines whose message contains `text`. */
  count(text: string): number {
    return this.lines.filter((l) => l.msg.includes(text)).length;
  }

  /** Resolves when more than `from` lines contain `text`. */
  waitFor(text: string, from = 0): Promise<void> {
    if (this.count(text) > from) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, from, resolve }));
  }
}
