import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CUSTOM_BUCKETS_SCHEMA, validateHistogram } from '../../src/serialization/histogram-validation.js';
import type { BucketSpan, NativeHistogram } from '../../src/serialization/types.js';

/** Go's `histogram.Histogram` literal: every field left out is its zero value. */
interface GoHistogram {
  count?: number;
  zeroCount?: number;
  zeroThreshold?: number;
  sum?: number;
  schema?: number;
  positiveSpans?: BucketSpan[];
  positiveBuckets?: number[];
  negativeSpans?: BucketSpan[];
  negativeBuckets?: number[];
  customValues?: number[];
}

/** Go's `histogram.FloatHistogram` literal. */
type GoFloatHistogram = GoHistogram;

function intHistogram(h: GoHistogram): NativeHistogram {
  return {
    isFloat: false,
    count: h.count ?? 0,
    sum: h.sum ?? 0,
    schema: h.schema ?? 0,
    zeroThreshold: h.zeroThreshold ?? 0,
    zeroCount: h.zeroCount ?? 0,
    positiveSpans: h.positiveSpans ?? [],
    negativeSpans: h.negativeSpans ?? [],
    positiveDeltas: h.positiveBuckets ?? [],
    negativeDeltas: h.negativeBuckets ?? [],
    ...(h.customValues === undefined ? {} : { customValues: h.customValues }),
  };
}

function floatHistogram(h: GoFloatHistogram): NativeHistogram {
  return {
    isFloat: true,
    count: h.count ?? 0,
    sum: h.sum ?? 0,
    schema: h.schema ?? 0,
    zeroThreshold: h.zeroThreshold ?? 0,
    zeroCount: h.zeroCount ?? 0,
    positiveSpans: h.positiveSpans ?? [],
    negativeSpans: h.negativeSpans ?? [],
    positiveCounts: h.positiveBuckets ?? [],
    negativeCounts: h.negativeBuckets ?? [],
    ...(h.customValues === undefined ? {} : { customValues: h.customValues }),
  };
}

/** Prometheus' `Histogram.ToFloat`: absolute counts; custom buckets drop the zero bucket and the negative side. */
function toFloat(h: GoHistogram): GoFloatHistogram {
  const absolute = (deltas: number[] | undefined) => {
    let c = 0;
    return (deltas ?? []).map((d) => (c += d));
  };
  const custom = (h.schema ?? 0) === CUSTOM_BUCKETS_SCHEMA;
  return {
    count: h.count,
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: custom ? 0 : h.zeroThreshold,
    zeroCount: custom ? 0 : h.zeroCount,
    positiveSpans: h.positiveSpans,
    positiveBuckets: absolute(h.positiveBuckets),
    negativeSpans: custom ? [] : h.negativeSpans,
    negativeBuckets: custom ? [] : absolute(h.negativeBuckets),
    customValues: custom ? h.customValues : undefined,
  };
}

/**
 * Prometheus' TestHistogramValidation (model/histogram/histogram_test.go), case for case: the
 * histogram, the error Validate returns (`errMsg`, '' when valid), and `skipFloat` where the test
 * does not also validate the histogram's ToFloat.
 */
const HISTOGRAM_VALIDATION: { name: string; h: GoHistogram; errMsg?: string; skipFloat?: boolean }[] = [
  {
    name: 'valid histogram',
    h: {
      count: 12,
      zeroCount: 2,
      zeroThreshold: 0.001,
      sum: 19.4,
      schema: 1,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      negativeSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      negativeBuckets: [1, 1, -1, 0],
    },
  },
  {
    name: 'valid histogram with NaN observations that has its Count (4) higher than the actual total of buckets (2 + 1)',
    h: { zeroCount: 2, count: 4, sum: Number.NaN, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1] },
  },
  {
    name: 'rejects histogram without NaN observations that has its Count (4) higher than the actual total of buckets (2 + 1)',
    h: { zeroCount: 2, count: 4, sum: 333, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1] },
    errMsg:
      "3 observations found in buckets, but the Count field is 4: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
    skipFloat: true,
  },
  {
    name: 'rejects histogram that has too few negative buckets',
    h: { negativeSpans: [{ offset: 0, length: 1 }], negativeBuckets: [] },
    errMsg:
      'negative side: spans need 1 buckets, have 0 buckets: histogram spans specify different number of buckets than provided',
  },
  {
    name: 'rejects histogram that has too few positive buckets',
    h: { positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [] },
    errMsg:
      'positive side: spans need 1 buckets, have 0 buckets: histogram spans specify different number of buckets than provided',
  },
  {
    name: 'rejects histogram that has too many negative buckets',
    h: { negativeSpans: [{ offset: 0, length: 1 }], negativeBuckets: [1, 2] },
    errMsg:
      'negative side: spans need 1 buckets, have 2 buckets: histogram spans specify different number of buckets than provided',
  },
  {
    name: 'rejects histogram that has too many positive buckets',
    h: { positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1, 2] },
    errMsg:
      'positive side: spans need 1 buckets, have 2 buckets: histogram spans specify different number of buckets than provided',
  },
  {
    name: 'rejects a histogram that has a negative span with a negative offset',
    h: {
      negativeSpans: [
        { offset: -1, length: 1 },
        { offset: -1, length: 1 },
      ],
      negativeBuckets: [1, 2],
    },
    errMsg: 'negative side: span number 2 with offset -1: histogram has a span whose offset is negative',
  },
  {
    name: 'rejects a histogram which has a positive span with a negative offset',
    h: {
      positiveSpans: [
        { offset: -1, length: 1 },
        { offset: -1, length: 1 },
      ],
      positiveBuckets: [1, 2],
    },
    errMsg: 'positive side: span number 2 with offset -1: histogram has a span whose offset is negative',
  },
  {
    name: 'rejects a histogram that has a negative bucket with a negative count',
    h: { negativeSpans: [{ offset: -1, length: 1 }], negativeBuckets: [-1] },
    errMsg:
      'negative side: bucket number 1 has observation count of -1: histogram has a bucket whose observation count is negative',
  },
  {
    name: 'rejects a histogram that has a positive bucket with a negative count',
    h: { positiveSpans: [{ offset: -1, length: 1 }], positiveBuckets: [-1] },
    errMsg:
      'positive side: bucket number 1 has observation count of -1: histogram has a bucket whose observation count is negative',
  },
  {
    name: 'rejects a histogram that has a lower count than count in buckets',
    h: {
      count: 0,
      negativeSpans: [{ offset: -1, length: 1 }],
      positiveSpans: [{ offset: -1, length: 1 }],
      negativeBuckets: [1],
      positiveBuckets: [1],
    },
    errMsg:
      "2 observations found in buckets, but the Count field is 0: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
    skipFloat: true,
  },
  {
    name: "rejects a histogram that doesn't count the zero bucket in its count",
    h: {
      count: 2,
      zeroCount: 1,
      negativeSpans: [{ offset: -1, length: 1 }],
      positiveSpans: [{ offset: -1, length: 1 }],
      negativeBuckets: [1],
      positiveBuckets: [1],
    },
    errMsg:
      "3 observations found in buckets, but the Count field is 2: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
    skipFloat: true,
  },
  {
    name: 'rejects an exponential histogram with custom buckets schema',
    h: {
      count: 12,
      zeroCount: 2,
      zeroThreshold: 0.001,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      negativeSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      negativeBuckets: [1, 1, -1, 0],
    },
    errMsg:
      'custom buckets: only 0 custom bounds defined which is insufficient to cover total span length of 5: histogram custom bounds are too few',
  },
  {
    name: 'rejects a custom buckets histogram with exponential schema',
    h: {
      count: 5,
      sum: 19.4,
      schema: 0,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3, 4],
    },
    errMsg: 'histogram with exponential schema must not have custom bounds',
    skipFloat: true,
  },
  {
    name: 'rejects a custom buckets histogram with zero/negative buckets',
    h: {
      count: 12,
      zeroCount: 2,
      zeroThreshold: 0.001,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      negativeSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      negativeBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3, 4],
    },
    errMsg: 'custom buckets: must have zero count of 0',
    skipFloat: true,
  },
  {
    name: 'rejects a custom buckets histogram with negative offset in first span',
    h: {
      count: 5,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: -1, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3, 4],
    },
    errMsg: 'custom buckets: span number 1 with offset -1: histogram has a span whose offset is negative',
  },
  {
    name: 'rejects a custom buckets histogram with negative offset in subsequent spans',
    h: {
      count: 5,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: -1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3, 4],
    },
    errMsg: 'custom buckets: span number 2 with offset -1: histogram has a span whose offset is negative',
  },
  {
    name: 'rejects a custom buckets histogram with non-matching bucket counts',
    h: {
      count: 5,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1],
      customValues: [1, 2, 3, 4],
    },
    errMsg:
      'custom buckets: spans need 4 buckets, have 3 buckets: histogram spans specify different number of buckets than provided',
  },
  {
    name: 'rejects a custom buckets histogram with too few bounds',
    h: {
      count: 5,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3],
    },
    errMsg:
      'custom buckets: only 3 custom bounds defined which is insufficient to cover total span length of 5: histogram custom bounds are too few',
  },
  {
    name: 'valid custom buckets histogram',
    h: {
      count: 5,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3, 4],
    },
  },
  {
    name: 'valid custom buckets histogram with extra bounds',
    h: {
      count: 5,
      sum: 19.4,
      schema: CUSTOM_BUCKETS_SCHEMA,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 2 },
      ],
      positiveBuckets: [1, 1, -1, 0],
      customValues: [1, 2, 3, 4, 5, 6, 7, 8],
    },
  },
  {
    name: 'reject custom buckets histogram with non-increasing bound',
    h: { schema: CUSTOM_BUCKETS_SCHEMA, customValues: [0, 0] },
    errMsg:
      'custom buckets: previous bound is 0.000000 and current is 0.000000: histogram custom bounds must be in strictly increasing order',
  },
  {
    name: 'reject custom buckets histogram with explicit +Inf bound',
    h: { schema: CUSTOM_BUCKETS_SCHEMA, customValues: [1, Number.POSITIVE_INFINITY] },
    errMsg: 'custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite',
  },
  {
    name: 'valid custom buckets histogram with explicit -Inf bound',
    h: { schema: CUSTOM_BUCKETS_SCHEMA, customValues: [Number.NEGATIVE_INFINITY, 1] },
  },
  {
    name: 'reject custom buckets histogram with NaN bound',
    h: { schema: CUSTOM_BUCKETS_SCHEMA, customValues: [1, Number.NaN, 3] },
    errMsg: 'custom buckets: histogram custom bounds must not be NaN',
  },
  {
    name: 'schema too high',
    h: { schema: 10 },
    errMsg:
      'histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 10',
  },
  {
    name: 'schema too low',
    h: { schema: -10 },
    errMsg:
      'histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema -10',
  },
];

/** The float histogram every case of Prometheus' TestFloatHistogramValidateNegativeHistogram changes one field of. */
function negativeCase(patch: Partial<GoFloatHistogram>): GoFloatHistogram {
  return {
    schema: 1,
    zeroThreshold: 0.01,
    zeroCount: 5.5,
    count: 3493.3,
    sum: 2349209.324,
    positiveSpans: [
      { offset: -2, length: 1 },
      { offset: 2, length: 3 },
    ],
    positiveBuckets: [1, 3.3, 4.2, 0.1],
    negativeSpans: [
      { offset: 3, length: 2 },
      { offset: 3, length: 2 },
    ],
    negativeBuckets: [3.1, 3, 1.234e5, 1000],
    ...patch,
  };
}

/**
 * Prometheus' TestFloatHistogramValidateNegativeHistogram (float_histogram_test.go): it requires
 * an error; the messages are those FloatHistogram.Validate builds for each.
 */
const FLOAT_NEGATIVE: { name: string; fh: GoFloatHistogram; errMsg: string }[] = [
  {
    name: 'positive bucket with negative population',
    fh: negativeCase({ positiveBuckets: [1, 3.3, -4.2, 0.1] }),
    errMsg:
      'positive side: bucket number 3 has observation count of -4.2: histogram has a bucket whose observation count is negative',
  },
  {
    name: 'negative bucket with negative population',
    fh: negativeCase({ negativeBuckets: [3.1, -3, 1.234e5, 1000] }),
    errMsg:
      'negative side: bucket number 2 has observation count of -3: histogram has a bucket whose observation count is negative',
  },
  {
    name: 'negative count',
    fh: negativeCase({ count: -3493.3 }),
    errMsg: "observation count is  -3493.3: histogram's observation count is negative",
  },
  {
    name: 'zero bucket with negative population',
    fh: negativeCase({ zeroCount: -5.5 }),
    errMsg: 'zero bucket has observation count of -5.5: histogram has a bucket whose observation count is negative',
  },
];

function assertValidation(h: NativeHistogram, errMsg: string | undefined, what: string): void {
  if (errMsg === undefined) {
    assert.doesNotThrow(() => validateHistogram(h), what);
    return;
  }
  assert.throws(
    () => validateHistogram(h),
    (err: unknown) => {
      assert.ok(err instanceof TypeError, what);
      assert.equal(err.message, `invalid histogram: ${errMsg}`, what);
      return true;
    },
  );
}

describe('validateHistogram', () => {
  it("passes Prometheus' TestHistogramValidation table, integer and float", () => {
    for (const c of HISTOGRAM_VALIDATION) {
      assertValidation(intHistogram(c.h), c.errMsg, c.name);
      if (!c.skipFloat) assertValidation(floatHistogram(toFloat(c.h)), c.errMsg, `${c.name} (float)`);
    }
  });

  it("passes Prometheus' TestFloatHistogramValidateNegativeHistogram table", () => {
    assertValidation(floatHistogram(negativeCase({})), undefined, 'the unchanged histogram');
    for (const c of FLOAT_NEGATIVE) assertValidation(floatHistogram(c.fh), c.errMsg, c.name);
  });

  it('names the series when given its labels', () => {
    assert.throws(
      () => validateHistogram(intHistogram({ count: 1 }), { __name__: 'rpc_seconds', job: 'api' }),
      new TypeError(
        'invalid histogram for series {__name__="rpc_seconds", job="api"}: 0 observations found in buckets, but the Count field is 1: histogram\'s observation count should equal the number of observations found in the buckets (in absence of NaN)',
      ),
    );
  });

  it('takes what Prometheus takes: any zero threshold and sum, NaN and +Inf float counts', () => {
    for (const h of [
      intHistogram({ zeroThreshold: -1 }),
      intHistogram({ zeroThreshold: Number.NaN }),
      intHistogram({ sum: Number.NEGATIVE_INFINITY }),
      floatHistogram({ count: Number.NaN, zeroCount: Number.POSITIVE_INFINITY }),
      floatHistogram({ positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [Number.NaN, Infinity] }),
      // Float histograms' count is not compared with their buckets (FloatHistogram.Validate).
      floatHistogram({ count: 1, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [5] }),
    ]) {
      assert.doesNotThrow(() => validateHistogram(h), JSON.stringify(h));
    }
  });

  it('keeps custom values for schema -53 (a copy) and leaves an empty list off an exponential histogram', () => {
    const bounds = [0.1, 0.5, 1];
    const h = intHistogram({
      schema: CUSTOM_BUCKETS_SCHEMA,
      count: 3,
      sum: 1.2,
      positiveSpans: [{ offset: 1, length: 3 }],
      positiveBuckets: [1, 0, 0],
      customValues: bounds,
    });
    const out = validateHistogram(h);
    assert.deepEqual(out.customValues, [0.1, 0.5, 1]);
    assert.notEqual(out.customValues, bounds);
    assert.deepEqual(
      validateHistogram({
        ...h,
        customValues: undefined,
        positiveSpans: [{ offset: 0, length: 1 }],
        positiveDeltas: [3],
      }).customValues,
      [],
    );
    assert.equal(validateHistogram(intHistogram({ customValues: [] })).customValues, undefined);
  });

  it('refuses field types the protobuf message cannot hold, naming the field', () => {
    const cases: [NativeHistogram, string][] = [
      [{ ...intHistogram({}), schema: 0.5 }, 'schema=0.5 must be an integer'],
      [{ ...intHistogram({}), count: 1.5 }, 'count=1.5 must be a non-negative integer'],
      [{ ...intHistogram({}), zeroCount: -1 }, 'zeroCount=-1 must be a non-negative integer'],
      [{ ...intHistogram({}), positiveDeltas: [0.5] }, 'positiveDeltas[0]=0.5 must be an integer'],
      [
        { ...intHistogram({}), positiveSpans: [{ offset: 0.5, length: 1 }] },
        'positiveSpans[0].offset=0.5 must be an integer',
      ],
      [{ ...intHistogram({}), customValues: ['1' as unknown as number] }, 'customValues[0]="1" must be a number'],
      [
        { ...floatHistogram({}), negativeCounts: undefined },
        'negativeCounts=undefined must be an array (float histogram)',
      ],
    ];
    for (const [h, message] of cases) {
      assert.throws(() => validateHistogram(h), new TypeError(`invalid histogram: ${message}`));
    }
  });
});
