/**
 * Two fixed partitions of the 256 virtual shards, neither depending on how many send loops exist:
 *
 * - {@link STORED_GROUPS}: relayed records are grouped on disk by `storedGroupOf(vshard)`, each
 *   group compressed on its own so that it can go out untouched (the relay route's stored bytes);
 * - {@link SHARD_PARTITIONS}: the units the network manager assigns to send loops and moves
 *   between them when it reshards, `partitionOf(vshard)`. An endpoint runs at most this many loops.
 *
 * The first is coarser and lines up with the second (`STORED_GROUPS` divides `SHARD_PARTITIONS`):
 * stored group `k` is exactly the partitions `k, k + 16, k + 32, k + 48`. Up to 16 loops the manager
 * keeps those four partitions on one loop, so every stored group goes out whole through one loop.
 * Beyond 16 loops (catching up after an outage, against a slow receiver) the partitions of a group
 * are spread over several loops and the relay route sends its series one by one (stored labels):
 * more CPU per sample while the loops are many, and no regrouping of anything stored. Changing the
 * loop count never rewrites a record.
 *
 * Invariant (kept by the network manager): all virtual shards of one partition are owned by the
 * same send loop, so each series keeps its order.
 */
import { VIRTUAL_SHARDS } from './types.js';

/**
 * Groups of a partitioned relayed record; divides {@link SHARD_PARTITIONS}. Each group is compressed
 * on its own: more groups cost the writer CPU and compression ratio (2,000-series requests of 10
 * labels: 76 KiB per record with 16, 86 with 32, 101 with 64, against 68 with the 4 groups of an
 * older build; bench/relay with 4 loops, alternated: 16 within 0-4% of 4 groups, 32 and 64 ~10% more
 * CPU per million samples). See docs/architecture.md.
 */
export const STORED_GROUPS = 16;

/**
 * Units of the loop assignment, and the most loops an endpoint runs. 64: `max_shards` defaults to
 * 50 (Prometheus' default), and 16 loops of 2,000-sample requests against a receiver 100 ms away
 * carry at most 320,000 samples/s, which is not 3x a 100,000 samples/s input after an outage
 * (bench/reshard.ts measured 2.6-2.7x with 16). 64 loops carry 1.28M samples/s at that latency.
 */
export const SHARD_PARTITIONS = 64;

/** The partition (unit of the loop assignment) of virtual shard `vshard`. */
export function partitionOf(vshard: number): number {
  return vshard % SHARD_PARTITIONS;
}

/** The group of a partitioned relayed record that holds virtual shard `vshard`'s series. */
export function storedGroupOf(vshard: number): number {
  return vshard % STORED_GROUPS;
}

if (VIRTUAL_SHARDS % SHARD_PARTITIONS !== 0) throw new Error('SHARD_PARTITIONS must divide VIRTUAL_SHARDS');
if (SHARD_PARTITIONS % STORED_GROUPS !== 0) throw new Error('STORED_GROUPS must divide SHARD_PARTITIONS');
