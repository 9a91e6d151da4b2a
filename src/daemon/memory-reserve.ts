/**
 * Makes V8 collect dead array buffers sooner, without a forced collection and without resident
 * memory: a Go-style "ballast".
 *
 * V8 starts a full collection on its own once the array-buffer memory it was told about has grown
 * ~64 MB above its lowest level since the last one (V8 11.3: `kExternalAllocationSoftLimit`, no
 * flag changes it). The relay's dead buffers wait for that collection, so ~64 MB of them sat in
 * RSS at every peak (docs/performance.md, "Where the relay's memory goes"). The reserve is one
 * untouched ArrayBuffer of `bytes` that nothing references: its pages are never written, so the kernel
 * never backs them (no RSS), but V8 counts them as held, and starts its collection after `64 MB -
 * bytes` of garbage instead. That collection frees the reserve too (so the next low point is the
 * live memory again), and the reserve is made anew one tick after it was collected, once its
 * memory was released.
 *
 * Unlike the memory pacer's forced `gc()` (a full atomic collection, 20-37 ms each on
 * bench/relay), the collections are V8's own: incremental and concurrent marking, 2-10 ms pauses.
 */
import type { Clock, TimerHandle } from '../clock.js';

/**
 * Smallest reserve: glibc serves a calloc below its dynamic mmap threshold (which rises up to 32
 * MiB on 64-bit as large blocks are freed) from its heap and zeroes it, which makes it resident.
 * Measured: a 24 MiB reserve raised bench/relay's peak RSS to 247-251 MB (215 without one).
 */
export const MIN_RESERVE_BYTES = 32 * 2 ** 20 + 1;

export interface MemoryReserveOptions {
  /**
   * Size of the reserve, at least {@link MIN_RESERVE_BYTES}; V8 then collects after ~64 MB minus
   * this of array-buffer growth.
   */
  bytes: number;
  clock: Clock;
  /** How often the reserve is checked. Default 50 ms. */
  intervalMs?: number;
  /** Makes the reserve. Default: a new ArrayBuffer, never written (calloc'd pages stay unbacked). */
  allocate?: (bytes: number) => object;
  /** Calls `onCollected` once `target` was collected. Default: a FinalizationRegistry. */
  watch?: (target: object, onCollected: () => void) => void;
}

export interface MemoryReserveStats {
  /** Reserves made so far: one per collection that freed the previous one, plus the first. */
  made: number;
  /** Bytes of the reserve held now (0 between a collection and the next reserve). */
  heldBytes: number;
}

export interface MemoryReserve {
  stats(): MemoryReserveStats;
  /** Stops making reserves and drops the one held. */
  stop(): void;
}

const registry = new FinalizationRegistry<() => void>((onCollected) => onCollected());

function finalizationWatch(target: object, onCollected: () => void): void {
  registry.register(target, onCollected);
}

export function startMemoryReserve(opts: MemoryReserveOptions): MemoryReserve {
  if (!(opts.bytes >= MIN_RESERVE_BYTES))
    throw new RangeError(
      `memory reserve: bytes must be more than 32 MiB (a smaller one is made resident by malloc), got ${opts.bytes}`,
    );
  const allocate = opts.allocate ?? ((bytes: number) => new ArrayBuffer(bytes));
  const watch = opts.watch ?? finalizationWatch;
  const intervalMs = opts.intervalMs ?? 50;
  // No reference to the reserve is kept: a strong one would keep it through the collection it
  // triggers, and V8 would then measure the next growth from a level that includes it. V8's young
  // collections treat the registry's targets as live (test/daemon/memory-reserve.test.ts checks
  // it), so only a full collection frees it.
  let held = false;
  let made = 0;
  /** Ticks since the last reserve was collected; a new one waits one tick (see above). */
  let ticksSinceCollected = 1;
  let stopped = false;
  let timer: TimerHandle | undefined;
  let generation = 0;
  const make = () => {
    const target = allocate(opts.bytes);
    const mine = ++generation;
    watch(target, () => {
      if (mine !== generation) return;
      held = false;
      ticksSinceCollected = 0;
    });
    held = true;
    made++;
  };
  const tick = () => {
    if (stopped) return;
    if (!held && ticksSinceCollected++ >= 1) make();
    timer = opts.clock.setTimeout(tick, intervalMs);
  };
  make();
  timer = opts.clock.setTimeout(tick, intervalMs);
  return {
    stats: () => ({ made, heldBytes: held ? opts.bytes : 0 }),
    stop() {
      stopped = true;
      opts.clock.clearTimeout(timer);
      timer = undefined;
      generation++;
      held = false;
    },
  };
}
