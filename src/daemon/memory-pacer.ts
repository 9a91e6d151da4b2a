/**
 * Collects garbage before dead array buffers pile up. The relay allocates its bodies, records,
 * segment mirrors and outgoing requests as array buffers (~200 KB per 2,000-sample request), and
 * their memory returns only when V8 collects the objects holding them; V8 starts such a
 * collection on its own once ~64 MB more is held than after the last one, and the main thread's
 * malloc heap keeps that high-water mark resident. The pacer looks at the array buffers every
 * `intervalMs` and runs a collection once they have grown by `slackBytes` since the last one
 * (the lower the slack, the more collections: a memory-for-CPU trade, as Go's GOMEMLIMIT makes),
 * and also, at most once a second, while the resident size is above `rssBytes`.
 *
 * Measured on bench/relay (10M samples): a full collection costs the event loop ~5-10 ms there, so
 * pacing is only on under `storage.max_memory_bytes` (src/daemon/memory-budget.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock, TimerHandle } from '../clock.js';

/** What a collection is asked for: V8's gc extension's options. */
export type Collect = () => void;

export interface MemoryPacerOptions {
  /** Array-buffer growth since the last collection that triggers the next one. */
  slackBytes: number;
  /**
   * Resident bytes above which the pacer also collects, at most once per `rssIntervalMs` (freed
   * malloc memory is not always returned, so the resident size can stay above after a collection).
   */
  rssBytes?: number;
  /** Default 1000 ms. */
  rssIntervalMs?: number;
  /** Resident bytes now. Default `process.memoryUsage.rss()`. */
  rss?: () => number;
  /** How often the array buffers are looked at. Default 50 ms. */
  intervalMs?: number;
  clock: Clock;
  /** Array-buffer bytes held now. Default `process.memoryUsage().arrayBuffers`. */
  arrayBuffers?: () => number;
  /** Runs a collection. Default: V8's full collection ({@link exposedGc}). */
  collect?: Collect;
}

export interface MemoryPacerStats {
  /** Collections the pacer ran. */
  collections: number;
}

/** A running pacer; `stop()` clears its timer. */
export interface MemoryPacer {
  stats(): MemoryPacerStats;
  stop(): void;
}

/**
 * V8's `gc()` without `--expose-gc` on the command line: the flag turned on at run time, the
 * function taken from a fresh context (V8 installs it there).
 */
export function exposedGc(type: 'major' | 'minor' = 'major'): Collect {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (opts?: { type: string }) => void;
  // `gc({ type: 'major' })` did not free anything on Node 20 (V8 11.3): a bare gc() is a full one.
  return type === 'major' ? () => gc() : () => gc({ type });
}

export function startMemoryPacer(opts: MemoryPacerOptions): MemoryPacer {
  if (!(opts.slackBytes > 0)) throw new RangeError(`memory pacer: slackBytes must be > 0, got ${opts.slackBytes}`);
  const arrayBuffers = opts.arrayBuffers ?? (() => process.memoryUsage().arrayBuffers);
  const collect = opts.collect ?? exposedGc();
  const intervalMs = opts.intervalMs ?? 50;
  const rss = opts.rss ?? (() => process.memoryUsage.rss());
  const rssIntervalMs = opts.rssIntervalMs ?? 1000;
  let lastRssCollect = -Infinity;
  let base = arrayBuffers();
  let collections = 0;
  /** A collection ran last tick: V8 frees the buffers it found dead after it, on another thread. */
  let settling = false;
  let timer: TimerHandle | undefined;
  const tick = () => {
    const now = arrayBuffers();
    if (settling || now < base) {
      // After our collection, or one V8 ran on its own: measure growth from this level.
      base = now;
      settling = false;
    } else if (now - base >= opts.slackBytes) {
      collect();
      collections++;
      settling = true;
    } else if (
      opts.rssBytes !== undefined &&
      opts.clock.now() - lastRssCollect >= rssIntervalMs &&
      rss() > opts.rssBytes
    ) {
      lastRssCollect = opts.clock.now();
      collect();
      collections++;
      settling = true;
    }
    timer = opts.clock.setTimeout(tick, intervalMs);
  };
  timer = opts.clock.setTimeout(tick, intervalMs);
  return {
    stats: () => ({ collections }),
    stop() {
      opts.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
