import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  coalesceSamples,
  cutAndCount,
  dropSeries,
  groupByPartition,
  holdsSamplesOnly,
  partitionPlaceOf,
  sameSeries,
  VshardCounts,
  vshardAtPlace,
} from '../../src/endpoint/record-shaping.js';
import { SHARD_PARTITIONS } from '../../src/network/partition.js';
import { VIRTUAL_SHARDS } from '../../src/network/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { buildRecord, zeroBucketHistogram } from '../wire/record-builder.js';

/** A record of series `k` = ids[i] with the given samples per series, carrying series ids. */
function withIds(ids: number[], samplesOf: (id: number) => [number, number][], scope = 7): SignalRecord {
  const rec = buildRecord(
    ids.map((id) => ({ labels: { __name__: 'm', k: String(id) }, hash: id, samples: samplesOf(id) })),
  );
  rec.seriesIds = Uint32Array.from(ids);
  rec.seriesIdScope = scope;
  return rec;
}

function samplesOfSeries(rec: SignalRecord, i: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = rec.sampleOffsets[i]; j < rec.sampleOffsets[i + 1]; j++) out.push([rec.timestamps[j], rec.values[j]]);
  return out;
}

describe('record coalescing', () => {
  it('joins each series samples record after record, keeping their order, for any count per record', () => {
    // Series id s gets (s + k) % 3 samples in record k: none, one or two.
    const records = [0, 1, 2, 3].map((k) =>
      withIds([5, 9, 2, 11], (id) =>
        Array.from({ length: (id + k) % 3 }, (_, j) => [1000 * k + 10 * id + j, k * 100 + j] as [number, number]),
      ),
    );
    const expected = [0, 1, 2, 3].map((i) => records.flatMap((r) => samplesOfSeries(r, i)));
    const into = coalesceSamples(records);
    assert.equal(into, records[0]);
    assert.equal(into.timestamps.length, expected.flat().length);
    for (let i = 0; i < 4; i++) assert.deepEqual(samplesOfSeries(into, i), expected[i], `series ${i}`);
    // Timestamps per series strictly increase: record k's come after record k-1's.
    for (let i = 0; i < 4; i++) {
      const ts = samplesOfSeries(into, i).map((s) => s[0]);
      assert.deepEqual(
        ts,
        [...ts].sort((a, b) => a - b),
      );
    }
    assert.deepEqual([...into.histogramOffsets], [0, 0, 0, 0, 0]);
  });

  it('joins only records of float samples with the same series ids, in the same order, in one scope', () => {
    const one = (): [number, number][] => [[1, 1]];
    const a = withIds([1, 2, 3], one);
    assert.equal(holdsSamplesOnly(a), true);
    assert.equal(sameSeries(a, withIds([1, 2, 3], one)), true);
    assert.equal(sameSeries(a, withIds([1, 3, 2], one)), false, 'order');
    assert.equal(sameSeries(a, withIds([1, 2], one)), false, 'count');
    assert.equal(sameSeries(a, withIds([1, 2, 4], one)), false, 'last id');
    assert.equal(sameSeries(a, withIds([1, 2, 3], one, 8)), false, 'scope');
    const noIds = buildRecord([{ labels: { __name__: 'm' }, samples: one() }]);
    assert.equal(holdsSamplesOnly(noIds), false);
    const hist = withIds([1], one);
    hist.histograms.push(zeroBucketHistogram(1));
    assert.equal(holdsSamplesOnly(hist), false);
    const ex = withIds([1], one);
    ex.exemplars.push({ labelRefs: new Uint32Array(0), value: 1, timestampMs: 1 });
    assert.equal(holdsSamplesOnly(ex), false);
  });
});

describe('series grouped by partition', () => {
  /** A record of one-sample series whose hashes are `hashes` (virtual shard = hash & 255). */
  const ofHashes = (hashes: number[]) =>
    buildRecord(hashes.map((hash, i) => ({ labels: { __name__: `s${i}` }, hash, samples: [[1000, i]] })));

  it("places each partition's shards together, in shard order, each shard's series in record order", () => {
    assert.equal(SHARD_PARTITIONS, 64);
    const places = Array.from({ length: VIRTUAL_SHARDS }, (_, v) => partitionPlaceOf(v));
    assert.deepEqual(
      [...places].sort((a, b) => a - b),
      Array.from({ length: VIRTUAL_SHARDS }, (_, k) => k),
    );
    for (let k = 0; k < VIRTUAL_SHARDS; k++) assert.equal(partitionPlaceOf(vshardAtPlace(k)), k);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(vshardAtPlace), [0, 64, 128, 192, 1, 65]);

    // Shards 64, 0, 1, 128, 65, 0, 192, 255: partition 0 (places 0-3) gets 0, 64, 128, 192.
    const rec = ofHashes([64, 0, 1, 128, 65, 256, 192, 255]);
    const counts = new VshardCounts();
    cutAndCount(rec, Number.NEGATIVE_INFINITY, counts);
    const g = groupByPartition(rec, counts);
    assert.deepEqual([...g.order], [1, 5, 0, 3, 6, 2, 4, 7]);
    assert.deepEqual([...g.start.subarray(0, 7)], [0, 2, 3, 4, 5, 6, 7]);
    assert.equal(g.start[partitionPlaceOf(255)], 7);
    assert.equal(g.start[VIRTUAL_SHARDS], 8);
  });

  it('leaves out the series dropped', () => {
    const rec = ofHashes([64, 0, 1, 128, 65, 256, 192, 255]);
    const counts = new VshardCounts();
    cutAndCount(rec, Number.NEGATIVE_INFINITY, counts);
    const dropped = Uint8Array.from([0, 1, 0, 1, 0, 0, 0, 0]);
    dropSeries(rec, dropped, counts);
    const g = groupByPartition(rec, counts, dropped);
    assert.deepEqual([...g.order], [5, 0, 6, 2, 4, 7]);
    assert.deepEqual([...g.start.subarray(0, 7)], [0, 1, 2, 2, 3, 4, 5]);
    assert.equal(g.start[VIRTUAL_SHARDS], 6);
  });
});
