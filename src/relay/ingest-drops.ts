/**
 * The endpoint's side of write relabeling at ingest: the series a record's mark lists as dropped
 * (raw-record.ts version 3) count in the endpoint's per-virtual-shard counts exactly like the
 * series its own rules drop at send time (`dropSeries`, src/endpoint/record-shaping.ts), so they
 * reach the same counters (`samples_dropped_total{reason="dropped_series"}`) through the same
 * per-portion accounting: a portion acked in an earlier run is not counted again, and a virtual
 * shard whose series were all dropped is acked as done.
 */
import type { VshardCounts } from '../endpoint/record-shaping.js';
import { virtualShardOf } from '../network/types.js';
import type { IngestRelabelMark } from '../serialization/raw-record.js';
import type { SignalRecord } from '../serialization/types.js';

/**
 * Adds the dropped series of `mark` to `counts` (after `cutAndCount`): their samples count in
 * `before` and `relabelSamples` of their virtual shard (by their received labels' hash, where
 * the send-time route counts them too), not in `after` or `series`. Kind-2 records hold samples
 * only, so the histogram and exemplar counts stay 0.
 */
export function addIngestDrops(mark: IngestRelabelMark, counts: VshardCounts): void {
  const hashes = mark.droppedHashes;
  const samples = mark.droppedSamples;
  for (let d = 0; d < hashes.length; d++) {
    const v = virtualShardOf(hashes[d]);
    counts.before[v] += samples[d];
    counts.relabelSamples[v] += samples[d];
  }
}

/**
 * For a record sent as its stored groups (`stored-bytes`, which the route chooses only when no
 * portion was acked before): acks each virtual shard that has dropped samples and no work to
 * ride with, i.e. whose group holds no series (`RelayRoute.storedWorks` makes no work for an
 * empty group); shards of non-empty groups are acked with their group's work. Returns the
 * record's dropped samples, all of which count now.
 */
export function ackDropOnlyGroups(rec: SignalRecord, counts: VshardCounts, ack: (vshard: number) => void): number {
  const groups = rec.rawGroups;
  let total = 0;
  for (let v = 0; v < counts.relabelSamples.length; v++) {
    const s = counts.relabelSamples[v];
    if (s === 0) continue;
    total += s;
    if (groups === undefined) continue;
    const k = v % groups.count;
    const first = k === 0 ? 0 : groups.seriesEnd[k - 1];
    if (groups.seriesEnd[k] === first) ack(v);
  }
  return total;
}
