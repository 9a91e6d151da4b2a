/** Custom-bucket native histograms (schema -53) shared by the wire and receiver tests. */
import type { HistogramEntry } from '../../src/serialization/types.js';

/** Bounds whose bits matter: -0 (allowed as the first bound), the smallest subnormal, 2^53. */
export const BOUNDS = [-0, 5e-324, 0.25, 1, 2 ** 53, 1e300];

/** An integer NHCB histogram: buckets (-0], (5e-324, 0.25], (1e300, +Inf] hold 2, 3 and 1. */
export const intCustom: HistogramEntry = {
  timestampMs: 1_700_000_000_000,
  histogram: {
    isFloat: false,
    count: 6,
    sum: 1e301,
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [
      { offset: 0, length: 1 },
      { offset: 1, length: 1 },
      { offset: 3, length: 1 },
    ],
    negativeSpans: [],
    positiveDeltas: [2, 1, -2],
    negativeDeltas: [],
    resetHint: 1,
    customValues: BOUNDS,
  },
};

export const floatCustom: HistogramEntry = {
  timestampMs: 1_700_000_000_500,
  histogram: {
    isFloat: true,
    count: 4.5,
    sum: 2,
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [{ offset: 1, length: 2 }],
    negativeSpans: [],
    positiveCounts: [1.5, 3],
    negativeCounts: [],
    resetHint: 3,
    customValues: [0.5, 1],
  },
};
