import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchBuilder } from '../../src/network/batch-builder.js';
import type { SendWork } from '../../src/network/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';

/** A record with only what batching reads: per series, how many samples, histograms and exemplars. */
function record(shape: [samples: number, histograms: number, exemplars: number][]): SignalRecord {
  const offsets = (k: 0 | 1 | 2) => {
    const out = new Uint32Array(shape.length + 1);
    for (let i = 0; i < shape.length; i++) out[i + 1] = out[i] + shape[i][k];
    return out;
  };
  const so = offsets(0);
  const ho = offsets(1);
  const total = so[shape.length];
  return {
    sampleOffsets: so,
    histogramOffsets: ho,
    exemplarOffsets: offsets(2),
    timestamps: Float64Array.from({ length: total }, (_, i) => 1000 + i),
    values: new Float64Array(total),
    histograms: Array.from({ length: ho[shape.length] }, (_, i) => ({ timestampMs: 1000 + i })),
    exemplars: [],
    seriesCount: shape.length,
  } as unknown as SignalRecord;
}

function work(rec: SignalRecord, series: number[], id: number): SendWork {
  let signals = 0;
  for (const s of series) {
    signals +=
      rec.sampleOffsets[s + 1] -
      rec.sampleOffsets[s] +
      rec.histogramOffsets[s + 1] -
      rec.histogramOffsets[s] +
      rec.exemplarOffsets[s + 1] -
      rec.exemplarOffsets[s];
  }
  return {
    record: rec,
    series: Uint32Array.from(series),
    portion: { segmentId: 1, record: id, portion: 0 },
    signals,
  } as unknown as SendWork;
}

interface Taken {
  work: number;
  series: number;
  samples: [number, number];
  histograms: [number, number];
  exemplars: [number, number];
}

/** Fills and finishes batches until everything is taken; per batch its slices and the works completed with it. */
function drain(b: BatchBuilder, works: SendWork[]): { batches: Taken[][]; completed: number[][] } {
  const byRecord = new Map(works.map((w, i) => [w, i]));
  const batches: Taken[][] = [];
  const completed: number[][] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    b.fill();
    if (b.units === 0 && b.empty && !b.hasUnsliced) break;
    const batch: Taken[] = [];
    let signals = 0;
    for (let i = 0; i < b.sliceCount; i++) {
      const s = b.slices[i];
      const owner = works.findIndex((w) => w.record === s.record && w.series.includes(s.series));
      batch.push({
        work: owner,
        series: s.series,
        samples: [s.sampleStart, s.sampleEnd],
        histograms: [s.histogramStart, s.histogramEnd],
        exemplars: [s.exemplarStart, s.exemplarEnd],
      });
      signals += s.sampleEnd - s.sampleStart + s.histogramEnd - s.histogramStart + s.exemplarEnd - s.exemplarStart;
    }
    assert.equal(b.samples + b.histograms + b.exemplars, signals, 'batch counters match its slices');
    assert.ok(signals <= b.maxSignals, `batch of ${signals} signals over ${b.maxSignals}`);
    const done: number[] = [];
    b.finish((w) => done.push(byRecord.get(w) as number));
    batches.push(batch);
    completed.push(done);
  }
  assert.equal(b.pendingSignals, 0);
  return { batches, completed };
}

describe('BatchBuilder', () => {
  it('takes whole series while they fit, then splits the next one across batches', () => {
    const rec = record([
      [2, 0, 0],
      [2, 0, 0],
      [2, 0, 0],
      [1, 1, 0],
    ]);
    const b = new BatchBuilder(5);
    const w = work(rec, [0, 1, 2, 3], 0);
    b.push(w);
    const { batches, completed } = drain(b, [w]);
    assert.deepEqual(
      batches.map((batch) => batch.map((t) => [t.series, t.samples, t.histograms])),
      [
        [
          [0, [0, 2], [0, 0]],
          [1, [2, 4], [0, 0]],
          [2, [4, 5], [0, 0]],
        ],
        [
          [2, [5, 6], [0, 0]],
          [3, [6, 7], [0, 1]],
        ],
      ],
    );
    assert.deepEqual(completed, [[], [0]]);
  });

  it('every signal once, in order, in batches of at most maxSignals; works complete once, in order (random shapes)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let round = 0; round < 300; round++) {
      const recs = Array.from({ length: 1 + rand(3) }, () =>
        record(
          Array.from({ length: 1 + rand(12) }, () => [
            rand(5) === 0 ? 0 : 1 + rand(4),
            rand(4) === 0 ? rand(3) : 0,
            rand(5) === 0 ? rand(3) : 0,
          ]),
        ),
      );
      const works: SendWork[] = [];
      for (const rec of recs) {
        const n = rec.seriesCount;
        // Two works per record: the even and the odd series (two virtual shards).
        for (const parity of [0, 1]) {
          const series = Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === parity);
          works.push(work(rec, series, works.length));
        }
      }
      const b = new BatchBuilder(1 + rand(9));
      for (const w of works) b.push(w);
      const { batches, completed } = drain(b, works);
      // Per work and series: the slices cover each column's range exactly, in order.
      const cursor = new Map<string, [number, number, number]>();
      let lastBatchOf = new Map<number, number>();
      batches.forEach((batch, bi) => {
        for (const t of batch) {
          const rec = works[t.work].record;
          const key = `${t.work}/${t.series}`;
          const c = cursor.get(key) ?? [
            rec.sampleOffsets[t.series],
            rec.histogramOffsets[t.series],
            rec.exemplarOffsets[t.series],
          ];
          assert.deepEqual([t.samples[0], t.histograms[0], t.exemplars[0]], c, `${key} continues where it stopped`);
          cursor.set(key, [t.samples[1], t.histograms[1], t.exemplars[1]]);
          lastBatchOf = lastBatchOf.set(t.work, bi);
        }
      });
      works.forEach((w, wi) => {
        for (const s of w.series) {
          const rec = w.record;
          const want = [rec.sampleOffsets[s + 1], rec.histogramOffsets[s + 1], rec.exemplarOffsets[s + 1]];
          const empty =
            want[0] === rec.sampleOffsets[s] &&
            want[1] === rec.histogramOffsets[s] &&
            want[2] === rec.exemplarOffsets[s];
          if (!empty) assert.deepEqual(cursor.get(`${wi}/${s}`), want, `work ${wi} series ${s} taken to its end`);
        }
      });
      // Each work completes once, in push order, in the batch with its last slice (or later, if it had none).
      const order = completed.flat();
      assert.deepEqual(
        order,
        works.map((_, i) => i),
      );
      completed.forEach((done, bi) => {
        for (const wi of done) {
          const last = lastBatchOf.get(wi);
          if (last !== undefined) assert.equal(bi, last, `work ${wi} completes with its last slice`);
        }
      });
    }
  });

  it('wholeRuns: the same batches as slices, runs alone where every series is whole with samples only (random shapes)', () => {
    let seed = 777;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let runBatches = 0;
    for (let round = 0; round < 300; round++) {
      const samplesOnly = round % 2 === 0;
      const recs = Array.from({ length: 1 + rand(3) }, () =>
        record(
          Array.from({ length: 1 + rand(12) }, () => [
            rand(5) === 0 ? 0 : 1 + rand(samplesOnly ? 1 : 4),
            !samplesOnly && rand(4) === 0 ? rand(3) : 0,
            !samplesOnly && rand(5) === 0 ? rand(3) : 0,
          ]),
        ),
      );
      const works: SendWork[] = [];
      for (const rec of recs) {
        for (const parity of [0, 1]) {
          const series = Array.from({ length: rec.seriesCount }, (_, i) => i).filter((i) => i % 2 === parity);
          works.push(work(rec, series, works.length));
        }
      }
      const max = 1 + rand(9);
      const plain = new BatchBuilder(max);
      const runs = new BatchBuilder(max, false, true);
      for (const w of works) {
        plain.push(w);
        runs.push(w);
      }
      for (let guard = 0; guard < 10_000; guard++) {
        plain.fill();
        runs.fill();
        assert.equal(runs.units, plain.units);
        assert.equal(runs.samples, plain.samples);
        if (plain.units === 0 && plain.empty && !plain.hasUnsliced) break;
        const want = plain.slices.slice(0, plain.sliceCount).map((sl) => ({ ...sl }));
        if (runs.onlyRuns) {
          runBatches++;
          // Each run's series as the slice of the whole series.
          const fromRuns = runs.runs.slice(0, runs.runCount).flatMap((run) =>
            [...run.series.subarray(run.start, run.end)].map((series) => {
              const rec = run.record;
              return {
                record: rec,
                series,
                sampleStart: rec.sampleOffsets[series],
                sampleEnd: rec.sampleOffsets[series + 1],
                histogramStart: rec.histogramOffsets[series],
                histogramEnd: rec.histogramOffsets[series],
                exemplarStart: rec.exemplarOffsets[series],
                exemplarEnd: rec.exemplarOffsets[series],
              };
            }),
          );
          assert.deepEqual(fromRuns, want);
          assert.equal(runs.highestTimestampMs(), plain.highestTimestampMs());
        } else if (samplesOnly) {
          assert.equal(runs.runCount, 0, 'runs alone or none at all');
        }
        // Reading the slices turns the runs into the same slices.
        assert.deepEqual(
          runs.slices.slice(0, runs.sliceCount).map((sl) => ({ ...sl })),
          want,
        );
        assert.equal(runs.runCount, 0);
        assert.equal(runs.highestTimestampMs(), plain.highestTimestampMs());
        const a: SendWork[] = [];
        const b: SendWork[] = [];
        plain.finish((w) => a.push(w));
        runs.finish((w) => b.push(w));
        assert.deepEqual(b, a, 'the same works complete');
      }
      assert.equal(runs.pendingSignals, 0);
    }
    assert.ok(runBatches > 300, `${runBatches} batches of runs alone`);
  });

  it("highestTimestampMs: a relayed record's newest timestamp once per run of its slices, a decoded one's last samples, histograms always", () => {
    const relayedA = record([
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
    ]);
    const relayedB = record([
      [1, 0, 0],
      [1, 1, 0],
    ]);
    const decoded = record([
      [2, 0, 0],
      [1, 0, 0],
    ]);
    (relayedA as { rawSeries?: unknown }).rawSeries = { maxTimestampMs: 5000 };
    (relayedB as { rawSeries?: unknown }).rawSeries = { maxTimestampMs: 4000 };
    const b = new BatchBuilder(100);
    b.push(work(relayedB, [0, 1], 0));
    b.push(work(relayedA, [0, 1, 2], 1));
    b.push(work(decoded, [0, 1], 2));
    b.fill();
    assert.equal(b.sliceCount, 7);
    // relayedA's 5000 is the newest: its slices come after relayedB's run.
    assert.equal(b.highestTimestampMs(), 5000);
    b.finish(() => {});
    // relayedB's histogram (1000, the record builder's) is read though its record's run started before it.
    (relayedB as { rawSeries?: unknown }).rawSeries = { maxTimestampMs: 10 };
    b.push(work(relayedB, [0, 1], 3));
    b.fill();
    assert.equal(b.highestTimestampMs(), 1000);
    b.finish(() => {});
    b.push(work(decoded, [0, 1], 4));
    b.fill();
    assert.equal(b.highestTimestampMs(), 1002, 'the last sample of each decoded slice');
  });
});
