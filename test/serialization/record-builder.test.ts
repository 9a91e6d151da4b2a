import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppendBatch } from '../../src/serialization/append-batch.js';
import { type BatchSlice, RecordBuilder } from '../../src/serialization/record-builder.js';
import { createSeriesRegistry, type SeriesHandle } from '../../src/serialization/series.js';
import type { SignalRecord } from '../../src/serialization/types.js';

const registry = createSeriesRegistry();
const handles: SeriesHandle[] = Array.from({ length: 6 }, (_x, i) =>
  registry.resolve({ __name__: `m_${i % 2}`, job: 'j', pod: `pod-${i}` }),
);
const traceLabels = registry.resolve({ __name__: 'trace', trace_id: 'abc' });

/** One slice of a batch with one sample per listed series (and an exemplar on the first, if asked). */
function slice(order: number[], ts: number, exemplar = false): BatchSlice {
  const batch = new AppendBatch(order.length);
  for (const i of order) batch.addSample(handles[i], ts, i + ts / 1000);
  if (exemplar) batch.addExemplar(handles[order[0]], { pairs: traceLabels.pairs, value: 1, timestampMs: ts });
  return {
    batch,
    sampleStart: 0,
    sampleEnd: batch.sampleCount,
    histogramStart: 0,
    histogramEnd: 0,
    exemplarStart: 0,
    exemplarEnd: batch.exemplarCount,
    metadataStart: 0,
    metadataEnd: 0,
  };
}

/** A record as plain data, labels resolved to strings (refs are record-local). */
function plain(r: SignalRecord) {
  return {
    labels: Array.from({ length: r.seriesCount }, (_x, k) =>
      Array.from(r.labelRefs.subarray(2 * r.labelOffsets[k], 2 * r.labelOffsets[k + 1]), (ref) => r.strings[ref]),
    ),
    strings: [...r.strings],
    labelOffsets: [...r.labelOffsets],
    labelRefs: [...r.labelRefs],
    seriesHash: [...r.seriesHash],
    sampleOffsets: [...r.sampleOffsets],
    timestamps: [...r.timestamps],
    values: [...r.values],
    seriesIds: [...(r.seriesIds ?? [])],
    exemplars: r.exemplars.map((e) => ({ ...e, labelRefs: Array.from(e.labelRefs, (ref) => r.strings[ref]) })),
  };
}

describe('RecordBuilder', () => {
  it('reuses the last string table for the same series in the same order, and builds every record as a fresh builder would', () => {
    const builder = new RecordBuilder();
    const steps: [string, number[], boolean][] = [
      ['first', [0, 1, 2, 3], false],
      ['the same series', [0, 1, 2, 3], false],
      ['the same series again', [0, 1, 2, 3], false],
      ['the same series with an exemplar', [0, 1, 2, 3], true],
      ['the same series after the exemplar', [0, 1, 2, 3], false],
      ['the same series once more', [0, 1, 2, 3], false],
      ['one series fewer', [0, 1, 2], false],
      ['one series more', [0, 1, 2, 3, 4], false],
      ['the same count, another series', [0, 1, 2, 3, 5], false],
      ['reordered', [5, 3, 2, 1, 0], false],
      ['reordered, again', [5, 3, 2, 1, 0], false],
    ];
    const reused: string[] = [];
    let last: SignalRecord | undefined;
    for (const [name, order, exemplar] of steps) {
      const ts = 1000 * (reused.length + 1);
      const s = slice(order, ts, exemplar);
      const r = builder.build([s]);
      if (last !== undefined && r.strings === last.strings) reused.push(name);
      const got = plain(r);
      last = r;
      assert.deepEqual(got, plain(new RecordBuilder().build([s])), name);
      assert.deepEqual(
        got.labels.map((l) => l[5]),
        order.map((i) => `pod-${i}`),
        name,
      );
    }
    // The reuse happened where it may, and only there.
    assert.deepEqual(reused, [
      'the same series',
      'the same series again',
      'the same series once more',
      'reordered, again',
    ]);
  });

  it('keeps the label columns of the last two builds: a batch cut into two records each time reuses both', () => {
    const builder = new RecordBuilder();
    const big = [0, 1, 2, 3];
    const tail = [4, 5];
    const tables: string[][] = [];
    for (let i = 0; i < 6; i++) {
      const order = i % 2 === 0 ? big : tail;
      const s = slice(order, 1000 * (i + 1));
      const r = builder.build([s]);
      assert.deepEqual(plain(r), plain(new RecordBuilder().build([s])), `build ${i}`);
      tables.push(r.strings);
    }
    // Builds 2..5 reuse the table of the build two before (the same series); 0 and 1 are new.
    assert.deepEqual(
      tables.map((t, i) => i >= 2 && t === tables[i - 2]),
      [false, false, true, true, true, true],
    );
    // A third shape evicts the least recently used memo (the big one's, the tail was built last).
    builder.build([slice([5, 3], 9000)]);
    assert.equal(builder.build([slice(tail, 10_000)]).strings, tables[5]);
    assert.notEqual(builder.build([slice(big, 11_000)]).strings, tables[4]);
  });
});
