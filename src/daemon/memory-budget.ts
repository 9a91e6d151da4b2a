/**
 * What `storage.max_memory_bytes` bounds, derived in one place: the receiver's series cache, the
 * garbage pacing of {@link startMemoryPacer} and the memory reserve (memory-reserve.ts). 0 (the
 * default) bounds nothing and paces nothing: the caches keep their defaults and V8 collects on
 * its own schedule.
 */

/** Fixed cost of a daemon before any cache or pool: node's mapped binary, both isolates' heaps. */
export const BASELINE_BYTES = 96 * 2 ** 20;

/** The bounds one memory limit gives. */
export interface MemoryBudget {
  /** Label bytes of the receiver's series cache (both generations). */
  maxCachedBytes: number;
  /** Series of the receiver's series cache (both generations). */
  maxCachedSeries: number;
  /**
   * Array-buffer growth after which the pacer collects; undefined = no pacing. A quarter of what
   * the limit leaves above the baseline: V8's own trigger is ~64 MB of growth.
   */
  pacerSlackBytes: number | undefined;
  /** Resident bytes above which the pacer collects at most every second; undefined = never. */
  pacerRssBytes: number | undefined;
  /**
   * Size of the memory reserve (memory-reserve.ts): V8 collects after ~64 MiB minus this of
   * growth; 0 = none.
   */
  reserveBytes: number;
}

/**
 * The memory reserve's size under a limit: V8 then collects after ~24 MiB of array-buffer growth
 * instead of ~64. bench/relay, 10M samples, 5 runs alternated with none: peak RSS 170-217 (median
 * 215) -> 174-181 MB, for 0.92-1.06 -> 0.99-1.22 CPU s per 1M samples (medians 0.95 -> 1.04) and
 * fewer samples/s (medians 1.14M -> 0.92M): a trade for an operator who set a limit, not a
 * default. 48 MiB gave ~168 MB with twice the collections (71 against 39 per 12M samples): the
 * young generation's own churn of buffers (~20 MB between two scavenges) then starts them too.
 * At most 32 MiB it would be resident (see MIN_RESERVE_BYTES).
 */
export const LIMIT_RESERVE_BYTES = 40 * 2 ** 20;

/** The series cache's defaults (src/daemon/ingest.ts), kept when there is no limit. */
const DEFAULT_CACHED_BYTES = 256 * 2 ** 20;
const DEFAULT_CACHED_SERIES = 1_000_000;
/** Per cached series: its label bytes (~150-300) plus ~100 B of index. */
const BYTES_PER_CACHED_SERIES = 400;
const MIN_SLACK = 4 * 2 ** 20;

/** The bounds for `maxMemoryBytes` (0 = no limit). */
export function memoryBudget(maxMemoryBytes: number): MemoryBudget {
  if (!(maxMemoryBytes > 0)) {
    return {
      maxCachedBytes: DEFAULT_CACHED_BYTES,
      maxCachedSeries: DEFAULT_CACHED_SERIES,
      pacerSlackBytes: undefined,
      pacerRssBytes: undefined,
      reserveBytes: 0,
    };
  }
  // The cache may take an eighth of the limit: it holds what the receiver decodes (remote-write
  // 2.0, or 1.0 the relay scan does not store as received), not the relay's working memory.
  const cacheBytes = Math.min(DEFAULT_CACHED_BYTES, Math.max(1 << 20, Math.floor(maxMemoryBytes / 8)));
  const above = Math.max(0, maxMemoryBytes - BASELINE_BYTES);
  return {
    maxCachedBytes: cacheBytes,
    maxCachedSeries: Math.min(DEFAULT_CACHED_SERIES, Math.max(2, Math.floor(cacheBytes / BYTES_PER_CACHED_SERIES))),
    pacerSlackBytes: Math.max(MIN_SLACK, Math.floor(above / 4)),
    pacerRssBytes: Math.floor(maxMemoryBytes * 0.9),
    reserveBytes: LIMIT_RESERVE_BYTES,
  };
}
