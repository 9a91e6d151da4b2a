import { SHARD_PARTITIONS } from '../network/partition.js';
import { VIRTUAL_SHARDS, virtualShardOf } from '../network/types.js';
import type { SignalRecord } from '../serialization/types.js';

/**
 * Per virtual shard signal counts of one record, before and after the ttl cut. Reused from record
 * to record by the one Endpoint that owns it.
 */
export class VshardCounts {
  readonly before = new Uint32Array(VIRTUAL_SHARDS);
  readonly after = new Uint32Array(VIRTUAL_SHARDS);
  readonly series = new Uint32Array(VIRTUAL_SHARDS);
  /** Signals cut by ttl per kind, per vshard (to leave out portions acked in an earlier run). */
  readonly cutSamples = new Uint32Array(VIRTUAL_SHARDS);
  readonly cutHistograms = new Uint32Array(VIRTUAL_SHARDS);
  readonly cutExemplars = new Uint32Array(VIRTUAL_SHARDS);
  /** Signals of series dropped by write relabeling, per kind, per vshard ({@link dropSeries}). */
  readonly relabelSamples = new Uint32Array(VIRTUAL_SHARDS);
  readonly relabelHistograms = new Uint32Array(VIRTUAL_SHARDS);
  readonly relabelExemplars = new Uint32Array(VIRTUAL_SHARDS);
  /** Histograms and exemplars left out by `send_native_histograms`/`send_exemplars` ({@link leaveOutKinds}). */
  readonly unsentHistograms = new Uint32Array(VIRTUAL_SHARDS);
  readonly unsentExemplars = new Uint32Array(VIRTUAL_SHARDS);

  reset(): void {
    this.before.fill(0);
    this.after.fill(0);
    this.series.fill(0);
    this.cutSamples.fill(0);
    this.cutHistograms.fill(0);
    this.cutExemplars.fill(0);
    this.relabelSamples.fill(0);
    this.relabelHistograms.fill(0);
    this.relabelExemplars.fill(0);
    this.unsentHistograms.fill(0);
    this.unsentExemplars.fill(0);
  }
}

/**
 * Counts each virtual shard's signals and, when `cutoffMs` is finite, drops every sample,
 * histogram and exemplar older than it by compacting the record's columns in place (offsets
 * rewritten, typed arrays re-viewed to their new length): no per-sample allocation.
 */
export function cutAndCount(rec: SignalRecord, cutoffMs: number, counts: VshardCounts): void {
  counts.reset();
  const n = rec.seriesCount;
  const raw = rec.rawSeries;
  // A record stored as received knows its oldest sample: its columns are decoded only to cut.
  const cut = cutoffMs > Number.NEGATIVE_INFINITY && (raw === undefined || raw.minTimestampMs < cutoffMs);
  const so = rec.sampleOffsets;
  const ho = rec.histogramOffsets;
  const eo = rec.exemplarOffsets;
  const ts = cut ? rec.timestamps : EMPTY_F64;
  const vs = cut ? rec.values : EMPTY_F64;
  const hs = rec.histograms;
  const es = rec.exemplars;
  let sw = so[0];
  let hw = ho[0];
  let ew = eo[0];
  let sStart = so[0];
  let hStart = ho[0];
  let eStart = eo[0];
  for (let i = 0; i < n; i++) {
    const v = virtualShardOf(rec.seriesHash[i]);
    const sEnd = so[i + 1];
    const hEnd = ho[i + 1];
    const eEnd = eo[i + 1];
    counts.series[v]++;
    counts.before[v] += sEnd - sStart + (hEnd - hStart) + (eEnd - eStart);
    if (cut) {
      so[i] = sw;
      ho[i] = hw;
      eo[i] = ew;
      const s0 = sw;
      for (let j = sStart; j < sEnd; j++) {
        if (ts[j] >= cutoffMs) {
          ts[sw] = ts[j];
          vs[sw] = vs[j];
          sw++;
        }
      }
      const h0 = hw;
      for (let j = hStart; j < hEnd; j++) if (hs[j].timestampMs >= cutoffMs) hs[hw++] = hs[j];
      const e0 = ew;
      for (let j = eStart; j < eEnd; j++) if (es[j].timestampMs >= cutoffMs) es[ew++] = es[j];
      counts.cutSamples[v] += sEnd - sStart - (sw - s0);
      counts.cutHistograms[v] += hEnd - hStart - (hw - h0);
      counts.cutExemplars[v] += eEnd - eStart - (ew - e0);
      counts.after[v] += sw - s0 + (hw - h0) + (ew - e0);
    } else {
      counts.after[v] += sEnd - sStart + (hEnd - hStart) + (eEnd - eStart);
    }
    sStart = sEnd;
    hStart = hEnd;
    eStart = eEnd;
  }
  if (cut) {
    if (raw !== undefined && sw < ts.length) raw.intact = false;
    so[n] = sw;
    ho[n] = hw;
    eo[n] = ew;
    if (sw < ts.length) {
      rec.timestamps = ts.subarray(0, sw);
      rec.values = vs.subarray(0, sw);
    }
    hs.length = hw;
    es.length = ew;
  }
}

/**
 * Leaves out the series write relabeling dropped (`dropped[i]` = 1), after {@link cutAndCount}:
 * their signals left after the cut move from `after` to the `relabel*` counts, and they no longer
 * count as series of their shard, so {@link groupByPartition} (given the same mask) skips them. The
 * record's columns are not touched: a relayed record keeps its bytes for the series that stay.
 */
export function dropSeries(rec: SignalRecord, dropped: Uint8Array, counts: VshardCounts): void {
  const so = rec.sampleOffsets;
  const ho = rec.histogramOffsets;
  const eo = rec.exemplarOffsets;
  for (let i = 0; i < rec.seriesCount; i++) {
    if (dropped[i] === 0) continue;
    const v = virtualShardOf(rec.seriesHash[i]);
    const s = so[i + 1] - so[i];
    const h = ho[i + 1] - ho[i];
    const e = eo[i + 1] - eo[i];
    counts.relabelSamples[v] += s;
    counts.relabelHistograms[v] += h;
    counts.relabelExemplars[v] += e;
    counts.after[v] -= s + h + e;
    counts.series[v]--;
  }
}

/**
 * Leaves out every histogram (`histograms` false) and/or exemplar (`exemplars` false) of the
 * series kept, counting them per shard in `unsent*` and taking them from `after`: what an
 * endpoint's `send_native_histograms: false` or `send_exemplars: false` does. The record's offsets
 * are replaced by empty ranges. Series dropped by relabeling (`dropped`) are already counted.
 */
export function leaveOutKinds(
  rec: SignalRecord,
  keep: { histograms: boolean; exemplars: boolean },
  dropped: Uint8Array | undefined,
  counts: VshardCounts,
): void {
  const n = rec.seriesCount;
  const outH = !keep.histograms && rec.histograms.length > 0;
  const outE = !keep.exemplars && rec.exemplars.length > 0;
  if (!outH && !outE) return;
  const ho = rec.histogramOffsets;
  const eo = rec.exemplarOffsets;
  for (let i = 0; i < n; i++) {
    if (dropped !== undefined && dropped[i] === 1) continue;
    const v = virtualShardOf(rec.seriesHash[i]);
    if (outH) {
      const h = ho[i + 1] - ho[i];
      counts.unsentHistograms[v] += h;
      counts.after[v] -= h;
    }
    if (outE) {
      const e = eo[i + 1] - eo[i];
      counts.unsentExemplars[v] += e;
      counts.after[v] -= e;
    }
  }
  if (outH) {
    rec.histogramOffsets = new Uint32Array(n + 1);
    rec.histograms.length = 0;
  }
  if (outE) {
    rec.exemplarOffsets = new Uint32Array(n + 1);
    rec.exemplars.length = 0;
  }
  // A relayed record's bytes would carry them: its series are encoded from the columns instead.
  if (rec.rawSeries !== undefined) rec.rawSeries.intact = false;
}

/**
 * Series indices grouped by virtual shard (a counting sort): `order[start[v] .. start[v+1])` are
 * the series of shard `v`, in record order, without those `dropped` marks (see {@link dropSeries}).
 * One allocation per record. (The endpoint groups by partition: {@link groupByPartition}; the
 * benchmarks of the read side keep this one.)
 */
export function groupByVshard(
  rec: SignalRecord,
  counts: VshardCounts,
  dropped?: Uint8Array,
): { order: Uint32Array; start: Uint32Array } {
  const start = new Uint32Array(VIRTUAL_SHARDS + 1);
  for (let v = 0; v < VIRTUAL_SHARDS; v++) start[v + 1] = start[v] + counts.series[v];
  const fill = start.slice(0, VIRTUAL_SHARDS);
  const order = new Uint32Array(start[VIRTUAL_SHARDS]);
  if (dropped === undefined) {
    for (let i = 0; i < rec.seriesCount; i++) order[fill[virtualShardOf(rec.seriesHash[i])]++] = i;
  } else {
    for (let i = 0; i < rec.seriesCount; i++) {
      if (dropped[i] === 0) order[fill[virtualShardOf(rec.seriesHash[i])]++] = i;
    }
  }
  return { order, start };
}

/** Virtual shards per partition ({@link SHARD_PARTITIONS}: shard `v` is in partition `v % 64`). */
export const SHARDS_PER_PARTITION = VIRTUAL_SHARDS / SHARD_PARTITIONS;

/**
 * The place of virtual shard `v` in {@link groupByPartition}'s order: its partition's shards are
 * places `SHARDS_PER_PARTITION * partition ..`, in shard order.
 */
export function partitionPlaceOf(v: number): number {
  return (v % SHARD_PARTITIONS) * SHARDS_PER_PARTITION + Math.floor(v / SHARD_PARTITIONS);
}

/** The virtual shard at place `k` of {@link groupByPartition}'s order (see {@link partitionPlaceOf}). */
export function vshardAtPlace(k: number): number {
  return (k % SHARDS_PER_PARTITION) * SHARD_PARTITIONS + Math.floor(k / SHARDS_PER_PARTITION);
}

/**
 * Series indices grouped by partition, then virtual shard (a counting sort): `order[start[k] ..
 * start[k+1])` are the series of the shard at place `k` ({@link vshardAtPlace}), in record order,
 * without those `dropped` marks (see {@link dropSeries}); a partition's shards are contiguous, so
 * one work can carry them all. One allocation per record.
 */
export function groupByPartition(
  rec: SignalRecord,
  counts: VshardCounts,
  dropped?: Uint8Array,
): { order: Uint32Array; start: Uint32Array } {
  const start = new Uint32Array(VIRTUAL_SHARDS + 1);
  for (let k = 0; k < VIRTUAL_SHARDS; k++) start[k + 1] = start[k] + counts.series[vshardAtPlace(k)];
  const fill = start.slice(0, VIRTUAL_SHARDS);
  const order = new Uint32Array(start[VIRTUAL_SHARDS]);
  if (dropped === undefined) {
    for (let i = 0; i < rec.seriesCount; i++) order[fill[partitionPlaceOf(virtualShardOf(rec.seriesHash[i]))]++] = i;
  } else {
    for (let i = 0; i < rec.seriesCount; i++) {
      if (dropped[i] === 0) order[fill[partitionPlaceOf(virtualShardOf(rec.seriesHash[i]))]++] = i;
    }
  }
  return { order, start };
}

const EMPTY_F64 = new Float64Array(0);

/** Oldest sample/histogram timestamp of a record (Infinity if none). */
export function oldestTimestamp(rec: SignalRecord): number {
  if (rec.rawSeries !== undefined) return rec.rawSeries.minTimestampMs;
  let min = Number.POSITIVE_INFINITY;
  const ts = rec.timestamps;
  for (let i = 0; i < ts.length; i++) if (ts[i] < min) min = ts[i];
  for (const h of rec.histograms) if (h.timestampMs < min) min = h.timestampMs;
  return min;
}

/** Newest sample/histogram timestamp of a record (0 if none). */
export function newestTimestamp(rec: SignalRecord): number {
  if (rec.rawSeries !== undefined) return Math.max(0, rec.rawSeries.maxTimestampMs);
  let max = 0;
  const ts = rec.timestamps;
  for (let i = 0; i < ts.length; i++) if (ts[i] > max) max = ts[i];
  for (const h of rec.histograms) if (h.timestampMs > max) max = h.timestampMs;
  return max;
}

/** `0, 1, 2, ...`, shared: {@link identityRange} views it. */
let identity = new Uint32Array(0);

/** The series indices `[start, end)` as a read-only view (a group's series are contiguous). */
export function identityRange(start: number, end: number): Uint32Array {
  if (identity.length < end) {
    identity = new Uint32Array(Math.max(end, 2 * identity.length, 4096));
    for (let i = 0; i < identity.length; i++) identity[i] = i;
  }
  return identity.subarray(start, end);
}

/**
 * Whether a record can take part in {@link coalesceSamples}: float samples only (no histograms,
 * exemplars or stored remote-write bytes) and series ids to compare.
 */
export function holdsSamplesOnly(rec: SignalRecord): boolean {
  return (
    rec.seriesIds !== undefined &&
    rec.rawSeries === undefined &&
    rec.histograms.length === 0 &&
    rec.exemplars.length === 0
  );
}

/**
 * Whether `b` holds the same series as `a`, in the same order: equal ids in one id scope name the
 * same label set. Both must pass {@link holdsSamplesOnly}. An application that appends the same
 * series every interval writes records like these; comparing ids costs ~1 ns per series.
 */
export function sameSeries(a: SignalRecord, b: SignalRecord): boolean {
  const x = a.seriesIds!;
  const y = b.seriesIds!;
  if (a.seriesIdScope !== b.seriesIdScope || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Makes `records[0]` hold every record's samples, series by series: series `i` gets its samples
 * from `records[0]`, then from `records[1]`, and so on, so each series keeps its append order.
 * The records must hold the same series ({@link sameSeries}); the others are left as they were.
 *
 * Why: a request then carries one series' labels once for several samples. Encoding, snappy and
 * the bytes on the wire are dominated by the labels (~195 of ~215 bytes per sample for 10 labels
 * and one sample per series), so a backlog of records like these drains with a fraction of the
 * CPU and bytes. Only records already read are joined: nothing waits for more.
 */
export function coalesceSamples(records: readonly SignalRecord[]): SignalRecord {
  const into = records[0];
  const n = into.seriesCount;
  let total = 0;
  for (const r of records) total += r.timestamps.length;
  const so = new Uint32Array(n + 1);
  const ts = new Float64Array(total);
  const vs = new Float64Array(total);
  let w = 0;
  for (let i = 0; i < n; i++) {
    so[i] = w;
    for (let k = 0; k < records.length; k++) {
      const r = records[k];
      const rso = r.sampleOffsets;
      const rts = r.timestamps;
      const rvs = r.values;
      for (let j = rso[i], end = rso[i + 1]; j < end; j++) {
        ts[w] = rts[j];
        vs[w] = rvs[j];
        w++;
      }
    }
  }
  so[n] = w;
  into.sampleOffsets = so;
  into.timestamps = ts;
  into.values = vs;
  // Histogram and exemplar offsets are all zero for these records: they stay valid.
  return into;
}
