import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactBuckets } from '../../src/scrape/histogram-compact.js';

interface Side {
  /** [offset, length] pairs. */
  spans: number[][];
  buckets: number[];
}

/**
 * Prometheus' TestHistogramCompact (model/histogram/histogram_test.go at d15adb9a), the cases with
 * maxEmptyBuckets 0 (what its protobuf parser uses) and no custom buckets, each side of a
 * histogram on its own: delta-encoded integer buckets in, compacted out.
 */
const CASES: [name: string, input: Side, expected: Side][] = [
  ['empty histogram (positive)', { spans: [], buckets: [] }, { spans: [], buckets: [] }],
  ['empty histogram (negative)', { spans: [], buckets: [] }, { spans: [], buckets: [] }],
  [
    'nothing should happen (positive)',
    {
      spans: [
        [-2, 1],
        [2, 3],
      ],
      buckets: [1, 3, -3, 42],
    },
    {
      spans: [
        [-2, 1],
        [2, 3],
      ],
      buckets: [1, 3, -3, 42],
    },
  ],
  [
    'nothing should happen (negative)',
    {
      spans: [
        [3, 2],
        [3, 2],
      ],
      buckets: [5, 3, 123400, 1000],
    },
    {
      spans: [
        [3, 2],
        [3, 2],
      ],
      buckets: [5, 3, 123400, 1000],
    },
  ],
  [
    'eliminate zero offsets (positive)',
    {
      spans: [
        [-2, 1],
        [0, 3],
        [0, 1],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
    { spans: [[-2, 5]], buckets: [1, 3, -3, 42, 3] },
  ],
  [
    'eliminate zero offsets (negative)',
    {
      spans: [
        [0, 2],
        [0, 2],
        [2, 1],
        [0, 1],
      ],
      buckets: [5, 3, 123400, 1000, 3, 4],
    },
    {
      spans: [
        [0, 4],
        [2, 2],
      ],
      buckets: [5, 3, 123400, 1000, 3, 4],
    },
  ],
  [
    'eliminate zero length (positive)',
    {
      spans: [
        [-2, 2],
        [2, 0],
        [3, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
    {
      spans: [
        [-2, 2],
        [5, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
  ],
  [
    'eliminate zero length (negative)',
    {
      spans: [
        [0, 2],
        [0, 0],
        [2, 0],
        [1, 4],
      ],
      buckets: [5, 3, 123400, 1000, 3, 4],
    },
    {
      spans: [
        [0, 2],
        [3, 4],
      ],
      buckets: [5, 3, 123400, 1000, 3, 4],
    },
  ],
  [
    'eliminate multiple zero length spans (positive)',
    {
      spans: [
        [-2, 2],
        [2, 0],
        [2, 0],
        [2, 0],
        [3, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
    {
      spans: [
        [-2, 2],
        [9, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
  ],
  [
    'cut empty buckets at start or end (positive)',
    {
      spans: [
        [-4, 4],
        [5, 3],
      ],
      buckets: [0, 0, 1, 3, -3, 42, 3],
    },
    {
      spans: [
        [-2, 2],
        [5, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
  ],
  [
    'cut empty buckets at start or end (negative)',
    {
      spans: [
        [0, 2],
        [3, 5],
      ],
      buckets: [5, 3, -4, -2, 3, 4, -9],
    },
    {
      spans: [
        [0, 2],
        [3, 4],
      ],
      buckets: [5, 3, -4, -2, 3, 4],
    },
  ],
  [
    'cut empty buckets at start and end (positive)',
    {
      spans: [
        [-4, 4],
        [5, 6],
      ],
      buckets: [0, 0, 1, 3, -3, 42, 3, -46, 0, 0],
    },
    {
      spans: [
        [-2, 2],
        [5, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
  ],
  [
    'cut empty buckets at start and end (negative)',
    {
      spans: [
        [-2, 4],
        [3, 5],
      ],
      buckets: [0, 0, 5, 3, -4, -2, 3, 4, -9],
    },
    {
      spans: [
        [0, 2],
        [3, 4],
      ],
      buckets: [5, 3, -4, -2, 3, 4],
    },
  ],
  [
    'cut empty buckets at start or end of spans, even in the middle (positive)',
    {
      spans: [
        [-4, 6],
        [3, 6],
      ],
      buckets: [0, 0, 1, 3, -4, 0, 1, 42, 3, -46, 0, 0],
    },
    {
      spans: [
        [-2, 2],
        [5, 3],
      ],
      buckets: [1, 3, -3, 42, 3],
    },
  ],
  [
    'cut empty buckets at start or end of spans, even in the middle (negative)',
    {
      spans: [
        [0, 2],
        [2, 6],
      ],
      buckets: [5, 3, -8, 4, -2, 3, 4, -9],
    },
    {
      spans: [
        [0, 2],
        [3, 4],
      ],
      buckets: [5, 3, -4, -2, 3, 4],
    },
  ],
  [
    'cut empty buckets from the middle of a span (positive)',
    {
      spans: [
        [-4, 6],
        [3, 3],
      ],
      buckets: [0, 0, 1, -1, 0, 3, -2, 42, 3],
    },
    {
      spans: [
        [-2, 1],
        [2, 1],
        [3, 3],
      ],
      buckets: [1, 2, -2, 42, 3],
    },
  ],
  [
    'cut empty buckets from the middle of a span (negative)',
    {
      spans: [
        [0, 2],
        [3, 5],
      ],
      buckets: [5, 3, -4, -2, -2, 3, 4],
    },
    {
      spans: [
        [0, 2],
        [3, 2],
        [1, 2],
      ],
      buckets: [5, 3, -4, -2, 1, 4],
    },
  ],
  [
    'cut out a span containing only empty buckets (positive)',
    {
      spans: [
        [-4, 3],
        [2, 2],
        [3, 4],
      ],
      buckets: [0, 0, 1, -1, 0, 3, -2, 42, 3],
    },
    {
      spans: [
        [-2, 1],
        [7, 4],
      ],
      buckets: [1, 2, -2, 42, 3],
    },
  ],
  [
    'multiple spans of only empty buckets (positive)',
    {
      spans: [
        [-10, 2],
        [2, 1],
        [3, 3],
      ],
      buckets: [0, 0, 0, 0, 2, 3],
    },
    { spans: [[-1, 2]], buckets: [2, 3] },
  ],
  [
    'multiple spans of only empty buckets (negative)',
    {
      spans: [
        [-10, 2],
        [2, 1],
        [3, 3],
      ],
      buckets: [2, 3, -5, 0, 0, 0],
    },
    { spans: [[-10, 2]], buckets: [2, 3] },
  ],
  [
    'all zero-length spans with non-empty buckets (positive)',
    {
      spans: [
        [0, 0],
        [2, 0],
      ],
      buckets: [1, 3],
    },
    { spans: [], buckets: [] },
  ],
  [
    'all zero-length spans with non-empty buckets (negative)',
    { spans: [[1, 0]], buckets: [2] },
    { spans: [], buckets: [] },
  ],
  [
    'more buckets than spans account for (positive)',
    {
      spans: [
        [0, 1],
        [2, 1],
      ],
      buckets: [1, 2, 3, 4],
    },
    {
      spans: [
        [0, 1],
        [2, 1],
      ],
      buckets: [1, 2, 3, 4],
    },
  ],
  [
    'more buckets than spans account for (negative)',
    { spans: [[0, 1]], buckets: [5, 6] },
    { spans: [[0, 1]], buckets: [5, 6] },
  ],
];

describe("compactBuckets (Prometheus' Histogram.Compact(0))", () => {
  for (const [name, input, expected] of CASES) {
    it(name, () => {
      const got = compactBuckets(
        input.buckets,
        input.spans.map(([offset, length]) => ({ offset, length })),
        true,
      );
      assert.deepEqual({ spans: got.spans.map((s) => [s.offset, s.length]), buckets: got.buckets }, expected);
    });
  }
  it('compacts absolute (float) counts the same way and leaves its inputs alone', () => {
    const spans = [
      { offset: -4, length: 6 },
      { offset: 3, length: 6 },
    ];
    const counts = [0, 0, 1, 4, 0, 0, 1, 43, 46, 0, 0, 0];
    const got = compactBuckets(counts, spans, false);
    assert.deepEqual(got.spans, [
      { offset: -2, length: 2 },
      { offset: 5, length: 3 },
    ]);
    assert.deepEqual(got.buckets, [1, 4, 1, 43, 46]);
    assert.deepEqual(spans, [
      { offset: -4, length: 6 },
      { offset: 3, length: 6 },
    ]);
    assert.equal(counts.length, 12);
  });
});
