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

/** Number of partitions; divides {@link VIRTUAL_SHARDS}. */
export const SHARD_PARTITIONS = 64;

/** The partition of virtual shard `vshard`. */
export function partitionOf(vshard: number): number {
  return vshard % SHARD_PARTITIONS;
}

if (VIRTUAL_SHARDS % SHARD_PARTITIONS !== 0) throw new Error('SHARD_PARTITIONS must divide VIRTUAL_SHARDS');
