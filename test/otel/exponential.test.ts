// Bucket layouts from Prometheus' TestConvertBucketsLayout
// (storage/remote/otlptranslator/prometheusremotewrite/histograms_test.go).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketsLayout, exponentialToNative, OTEL_ZERO_THRESHOLD } from '../../src/otel/exponential.js';

type Layout = { spans: [number, number][]; deltas: number[] };
const cases: { name: string; offset: number; counts: number[]; want: Record<number, Layout> }[] = [
  {
    name: 'zero offset',
    offset: 0,
    counts: [4, 3, 2, 1],
    want: {
      0: { spans: [[1, 4]], deltas: [4, -1, -1, -1] },
      1: { spans: [[1, 2]], deltas: [7, -4] },
      2: { spans: [[1, 1]], deltas: [10] },
    },
  },
  {
    name: 'offset 1',
    offset: 1,
    counts: [4, 3, 2, 1],
    want: {
      0: { spans: [[2, 4]], deltas: [4, -1, -1, -1] },
      1: { spans: [[1, 3]], deltas: [4, 1, -4] },
      2: { spans: [[1, 2]], deltas: [9, -8] },
    },
  },
  {
    name: 'positive offset',
    offset: 4,
    counts: [4, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    want: {
      0: {
        spans: [
          [5, 4],
          [12, 1],
        ],
        deltas: [4, -2, -2, 2, -1],
      },
      1: {
        spans: [
          [3, 2],
          [6, 1],
        ],
        deltas: [6, -4, -1],
      },
      2: {
        spans: [
          [2, 1],
          [3, 1],
        ],
        deltas: [8, -7],
      },
    },
  },
  {
    name: 'scaledown merges spans',
    offset: 4,
    counts: [4, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    want: {
      0: {
        spans: [
          [5, 4],
          [8, 1],
        ],
        deltas: [4, -2, -2, 2, -1],
      },
      1: {
        spans: [
          [3, 2],
          [4, 1],
        ],
        deltas: [6, -4, -1],
      },
      2: { spans: [[2, 4]], deltas: [8, -8, 0, 1] },
    },
  },
];

test('bucketsLayout: Prometheus TestConvertBucketsLayout cases', () => {
  for (const c of cases) {
    for (const [scaleDown, want] of Object.entries(c.want)) {
      const got = bucketsLayout(c.counts, c.offset, Number(scaleDown));
      assert.deepEqual(
        { spans: got.spans.map((s) => [s.offset, s.length]), deltas: got.deltas },
        want,
        `${c.name}, scaleDown ${scaleDown}`,
      );
    }
  }
  assert.deepEqual(bucketsLayout([], 3, 0), { spans: [], deltas: [] });
});

test('exponentialToNative: scale 10 is merged down to schema 8, index +1, zero threshold 1e-128', () => {
  const h = exponentialToNative({
    count: 11,
    sum: 42.5,
    scale: 10,
    zeroCount: 1,
    positive: { offset: 0, bucketCounts: [4, 3, 2, 1] },
    negative: { offset: -1, bucketCounts: [0] },
  });
  assert.deepEqual(h, {
    isFloat: false,
    count: 11,
    sum: 42.5,
    schema: 8,
    zeroThreshold: OTEL_ZERO_THRESHOLD,
    zeroCount: 1,
    positiveSpans: [{ offset: 1, length: 1 }],
    positiveDeltas: [10],
    negativeSpans: [{ offset: 0, length: 1 }],
    negativeDeltas: [0],
    resetHint: 0,
  });
  assert.throws(
    () =>
      exponentialToNative({
        count: 0,
        scale: -5,
        zeroCount: 0,
        positive: { offset: 0, bucketCounts: [] },
        negative: { offset: 0, bucketCounts: [] },
      }),
    /Scale must be >= -4, was -5/,
  );
});
