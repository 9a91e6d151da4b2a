import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketCount, limitBuckets, reduceResolution } from '../../src/scrape/histogram-resolution.js';
import type { NativeHistogram } from '../../src/serialization/types.js';

function intHistogram(over: Partial<NativeHistogram>): NativeHistogram {
  return {
    isFloat: false,
    count: 10,
    sum: 5,
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveDeltas: [],
    negativeDeltas: [],
    ...over,
  };
}

describe('native_histogram_bucket_limit', () => {
  it("reduceResolution merges buckets as Prometheus' ReduceResolution (delta and absolute counts)", () => {
    // Buckets 0..3 of schema 0 with counts 1, 2, 3, 4; at schema -1, bucket 0 stays, 1 and 2 merge, 3 moves to 2.
    const h = intHistogram({ positiveSpans: [{ offset: 0, length: 4 }], positiveDeltas: [1, 1, 1, 1] });
    const r = reduceResolution(h, -1);
    assert.equal(r.schema, -1);
    assert.deepEqual(r.positiveSpans, [{ offset: 0, length: 3 }]);
    assert.deepEqual(r.positiveDeltas, [1, 4, -1]);
    const f = reduceResolution(
      { ...h, isFloat: true, positiveDeltas: undefined, positiveCounts: [1, 2, 3, 4], negativeDeltas: undefined },
      -1,
    );
    assert.deepEqual(f.positiveCounts, [1, 5, 4]);
    assert.equal(h.schema, 0, 'the original is left as it was');
  });

  it('keeps gaps as spans with offsets', () => {
    // Buckets 1, 2 and 9, 10 at schema 0: at schema -1, 1 and 2 merge into 1, 9 and 10 into 5.
    const h = intHistogram({
      positiveSpans: [
        { offset: 1, length: 2 },
        { offset: 6, length: 2 },
      ],
      positiveDeltas: [1, 0, 1, 0],
      negativeSpans: [{ offset: -2, length: 2 }],
      negativeDeltas: [3, -1],
    });
    const r = reduceResolution(h, -1);
    assert.deepEqual(r.positiveSpans, [
      { offset: 1, length: 1 },
      { offset: 3, length: 1 },
    ]);
    // Absolute counts 1, 1, 2, 2 (deltas 1, 0, 1, 0) become 2 and 4.
    assert.deepEqual(r.positiveDeltas, [2, 2]);
    // Negative buckets -2 and -1: targetIdx gives -1 and 0.
    assert.deepEqual(r.negativeSpans, [{ offset: -1, length: 2 }]);
    assert.deepEqual(r.negativeDeltas, [3, -1]);
  });

  it('limitBuckets lowers the resolution until the histogram fits, or gives up', () => {
    const h = intHistogram({ positiveSpans: [{ offset: 1, length: 4 }], positiveDeltas: [1, 0, 0, 0] });
    assert.equal(limitBuckets(h, 4), h);
    const two = limitBuckets(h, 2)!;
    assert.equal(two.schema, -1);
    assert.equal(bucketCount(two), 2);
    const one = limitBuckets(h, 1)!;
    assert.equal(one.schema, -2);
    assert.deepEqual(one.positiveDeltas, [4]);
    // Buckets 0 and 1 never merge (their boundary is 1 at every schema): down to -4, then no.
    assert.equal(
      limitBuckets(intHistogram({ positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 0] }), 1),
      undefined,
    );
    assert.equal(
      limitBuckets(
        intHistogram({
          schema: -53,
          customValues: [1, 2],
          positiveSpans: [{ offset: 0, length: 3 }],
          positiveDeltas: [1, 0, 0],
        }),
        2,
      ),
      undefined,
      'custom buckets cannot be merged',
    );
  });
});
