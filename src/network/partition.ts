/**
 * The fixed partition of the 256 virtual shards that relayed records are grouped by on disk and
 * that the network manager assigns to send loops as whole units. It does not depend on how many
 * send loops exist: changing the loop count moves partitions between loops and never requires
 * regrouping stored records.
 *
 * Invariant (kept by the network manager): all virtual shards of one partition are owned by the
 * same send loop, so a stored group (one partition) always goes out through a single loop and
 * each series keeps its order. Consequently an endpoint runs at most {@link SHARD_PARTITIONS}
 * loops.
 */
import { VIRTUAL_SHARDS } from './types.js';

/**
 * Number of partitions; divides {@link VIRTUAL_SHARDS}. A partitioned relayed record is written as
 * this many snappy blocks, each compressed on its own: more partitions cost the writer CPU and
 * compression ratio (2,000-series requests of 10 labels: 76 KiB per record with 16, 86 with 32, 101
 * with 64, against 68 with the 4 groups of the build before; bench/relay with 4 loops, alternated:
 * 16 within 0-4% of before, 32 and 64 ~10% more CPU per million samples), while they cap an
 * endpoint's loops (16 loops of 2,000-sample requests at 100 ms: 320,000 samples/s). See
 * docs/architecture.md.
 */
export const SHARD_PARTITIONS = 16;

/** The partition of virtual shard `vshard`. */
export function partitionOf(vshard: number): number {
  return vshard % SHARD_PARTITIONS;
}

if (VIRTUAL_SHARDS % SHARD_PARTITIONS !== 0) throw new Error('SHARD_PARTITIONS must divide VIRTUAL_SHARDS');
