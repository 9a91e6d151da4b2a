import type { BucketSpan, Labels, NativeHistogram } from './types.js';

/** Exponential schemas Prometheus accepts for native histograms. */
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;
/** The schema of custom-bucket histograms (Prometheus' NHCB): bounds in `customValues`. */
export const CUSTOM_BUCKETS_SCHEMA = -53;

/** One failed check; {@link validateHistogram} words it with the series and rethrows a TypeError. */
class HistogramProblem extends Error {}

/** A value the protobuf type could not hold (promspool's own shape checks). */
function fail(field: string, value: unknown, rule: string): never {
  throw new HistogramProblem(`${field}=${JSON.stringify(value) ?? String(value)} ${rule}`);
}

/** A rule of Prometheus' `Histogram.Validate` / `FloatHistogram.Validate`, in its words. */
function invalid(message: string): never {
  throw new HistogramProblem(message);
}

/** Copies spans, checking their types: offsets integers, lengths non-negative integers (uint32). */
function copySpans(spans: unknown, field: string): BucketSpan[] {
  if (!Array.isArray(spans)) fail(field, spans, 'must be an array of {offset, length}');
  const out = new Array<BucketSpan>(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as BucketSpan | null;
    const offset = s?.offset;
    const length = s?.length;
    if (!Number.isSafeInteger(offset)) fail(`${field}[${i}].offset`, offset, 'must be an integer');
    if (!Number.isSafeInteger(length) || (length as number) < 0) {
      fail(`${field}[${i}].length`, length, 'must be a non-negative integer');
    }
    out[i] = { offset: offset as number, length: length as number };
  }
  return out;
}

/** Copies an array of numbers (`integers`: safe integers, as int64 deltas are). */
function copyNumbers(values: unknown, field: string, kind: string, integers: boolean): number[] {
  if (!Array.isArray(values)) fail(field, values, `must be an array (${kind})`);
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (integers ? !Number.isSafeInteger(v) : typeof v !== 'number') {
      fail(`${field}[${i}]`, v, integers ? 'must be an integer' : 'must be a number');
    }
    out[i] = v as number;
  }
  return out;
}

/** Go's `%f`: six decimals, and `+Inf`/`-Inf`/`NaN` spelled as Go spells them. */
function goFixed(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toFixed(6);
}

/** Prometheus' `checkHistogramSpans`. */
function checkSpans(spans: readonly BucketSpan[], buckets: number, side: string): void {
  let spanBuckets = 0;
  for (let n = 0; n < spans.length; n++) {
    const span = spans[n];
    if (n > 0 && span.offset < 0) {
      invalid(`${side}span number ${n + 1} with offset ${span.offset}: histogram has a span whose offset is negative`);
    }
    spanBuckets += span.length;
  }
  if (spanBuckets !== buckets) {
    invalid(
      `${side}spans need ${spanBuckets} buckets, have ${buckets} buckets: histogram spans specify different number of buckets than provided`,
    );
  }
}

/** Prometheus' `checkHistogramBuckets`: no absolute count below 0; returns their total. */
function checkBuckets(buckets: readonly number[], deltas: boolean, side: string): number {
  let last = 0;
  let total = 0;
  for (let i = 0; i < buckets.length; i++) {
    const c = deltas ? last + buckets[i] : buckets[i];
    if (c < 0) {
      invalid(
        `${side}bucket number ${i + 1} has observation count of ${c}: histogram has a bucket whose observation count is negative`,
      );
    }
    last = c;
    total += c;
  }
  return total;
}

/** Prometheus' `checkHistogramCustomBounds` (the caller prefixes "custom buckets: "). */
function checkCustomBounds(bounds: readonly number[], spans: readonly BucketSpan[], buckets: number): void {
  const side = 'custom buckets: ';
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < bounds.length; i++) {
    const curr = bounds[i];
    if (Number.isNaN(curr)) invalid(`${side}histogram custom bounds must not be NaN`);
    if (i > 0 && curr <= prev) {
      invalid(
        `${side}previous bound is ${goFixed(prev)} and current is ${goFixed(curr)}: histogram custom bounds must be in strictly increasing order`,
      );
    }
    prev = curr;
  }
  if (prev === Number.POSITIVE_INFINITY) {
    invalid(`${side}last +Inf bound must not be explicitly defined: histogram custom bounds must be finite`);
  }
  let spanBuckets = 0;
  let totalSpanLength = 0;
  for (let n = 0; n < spans.length; n++) {
    const span = spans[n];
    if (span.offset < 0) {
      invalid(`${side}span number ${n + 1} with offset ${span.offset}: histogram has a span whose offset is negative`);
    }
    spanBuckets += span.length;
    totalSpanLength += span.length + span.offset;
  }
  if (spanBuckets !== buckets) {
    invalid(
      `${side}spans need ${spanBuckets} buckets, have ${buckets} buckets: histogram spans specify different number of buckets than provided`,
    );
  }
  if (bounds.length + 1 < totalSpanLength) {
    invalid(
      `${side}only ${bounds.length} custom bounds defined which is insufficient to cover total span length of ${totalSpanLength}: histogram custom bounds are too few`,
    );
  }
}

/**
 * Prometheus' `Histogram.Validate` (integer) and `FloatHistogram.Validate` (float), in their order
 * and with their messages, on a histogram whose field types were already checked.
 */
function checkAsPrometheus(h: NativeHistogram, pos: readonly number[], neg: readonly number[]): void {
  const deltas = !h.isFloat;
  const customValues = h.customValues ?? [];
  let negTotal = 0;
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    checkCustomBounds(customValues, h.positiveSpans, pos.length);
    if (h.zeroCount !== 0) invalid('custom buckets: must have zero count of 0');
    if (h.zeroThreshold !== 0) invalid('custom buckets: must have zero threshold of 0');
    if (h.negativeSpans.length > 0) invalid('custom buckets: must not have negative spans');
    if (neg.length > 0) invalid('custom buckets: must not have negative buckets');
  } else if (h.schema >= MIN_SCHEMA && h.schema <= MAX_SCHEMA) {
    checkSpans(h.positiveSpans, pos.length, 'positive side: ');
    checkSpans(h.negativeSpans, neg.length, 'negative side: ');
    negTotal = checkBuckets(neg, deltas, 'negative side: ');
    if (h.isFloat && h.zeroCount < 0) {
      invalid(
        `zero bucket has observation count of ${h.zeroCount}: histogram has a bucket whose observation count is negative`,
      );
    }
    // Go tells an empty list from none; a protobuf decoder never makes an empty non-nil one.
    if (customValues.length > 0) invalid('histogram with exponential schema must not have custom bounds');
  } else {
    invalid(
      `histogram has an invalid schema, which must be between ${MIN_SCHEMA} and ${MAX_SCHEMA} for exponential buckets, or ${CUSTOM_BUCKETS_SCHEMA} for custom buckets, got schema ${h.schema}`,
    );
  }
  // Prometheus' message has two spaces here.
  if (h.isFloat && h.count < 0) invalid(`observation count is  ${h.count}: histogram's observation count is negative`);
  const posTotal = checkBuckets(pos, deltas, 'positive side: ');
  if (h.isFloat) return; // FloatHistogram.Validate does not compare the count with the buckets.
  const inBuckets = negTotal + posTotal + h.zeroCount;
  if (Number.isNaN(h.sum)) {
    // NaN observations count but fall in no bucket; Prometheus' stale marker is a NaN sum too.
    if (inBuckets > h.count) {
      invalid(
        `${inBuckets} observations found in buckets, but the Count field is ${h.count}: histogram's observation count should be at least the number of observations found in the buckets`,
      );
    }
  } else if (inBuckets !== h.count) {
    invalid(
      `${inBuckets} observations found in buckets, but the Count field is ${h.count}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)`,
    );
  }
}

/** Labels as Prometheus prints them in its errors: `{__name__="x", job="y"}`. */
function formatSeries(labels: Readonly<Labels>): string {
  const parts: string[] = [];
  for (const name of Object.keys(labels).sort()) parts.push(`${name}=${JSON.stringify(labels[name])}`);
  return `{${parts.join(', ')}}`;
}

function copyHistogram(h: NativeHistogram): NativeHistogram {
  if (h === null || typeof h !== 'object') fail('histogram', h, 'must be an object');
  const { isFloat, count, sum, schema, zeroThreshold, zeroCount, resetHint } = h;
  if (typeof isFloat !== 'boolean') fail('isFloat', isFloat, 'must be a boolean');
  if (!Number.isSafeInteger(schema)) fail('schema', schema, 'must be an integer');
  if (typeof sum !== 'number') fail('sum', sum, 'must be a number');
  if (typeof zeroThreshold !== 'number') fail('zeroThreshold', zeroThreshold, 'must be a number');
  if (resetHint !== undefined && resetHint !== 0 && resetHint !== 1 && resetHint !== 2 && resetHint !== 3) {
    fail('resetHint', resetHint, 'must be 0, 1, 2 or 3');
  }
  const out: NativeHistogram = {
    isFloat,
    count,
    sum,
    schema,
    zeroThreshold,
    zeroCount,
    positiveSpans: copySpans(h.positiveSpans, 'positiveSpans'),
    negativeSpans: copySpans(h.negativeSpans, 'negativeSpans'),
    resetHint: resetHint ?? 0,
  };
  if (isFloat) {
    if (typeof count !== 'number') fail('count', count, 'must be a number');
    if (typeof zeroCount !== 'number') fail('zeroCount', zeroCount, 'must be a number');
    out.positiveCounts = copyNumbers(h.positiveCounts, 'positiveCounts', 'float histogram', false);
    out.negativeCounts = copyNumbers(h.negativeCounts, 'negativeCounts', 'float histogram', false);
  } else {
    // uint64 on the wire.
    if (!Number.isSafeInteger(count) || count < 0) fail('count', count, 'must be a non-negative integer');
    if (!Number.isSafeInteger(zeroCount) || zeroCount < 0) {
      fail('zeroCount', zeroCount, 'must be a non-negative integer');
    }
    out.positiveDeltas = copyNumbers(h.positiveDeltas, 'positiveDeltas', 'integer histogram', true);
    out.negativeDeltas = copyNumbers(h.negativeDeltas, 'negativeDeltas', 'integer histogram', true);
  }
  // A custom-bucket histogram always has the list (empty: only the +Inf bucket); an exponential
  // one has it only to be refused below, so one with none is stored without the field.
  const customValues =
    h.customValues === undefined ? [] : copyNumbers(h.customValues, 'customValues', 'custom bucket bounds', false);
  if (schema === CUSTOM_BUCKETS_SCHEMA || customValues.length > 0) out.customValues = customValues;
  return out;
}

/**
 * Validates a native histogram as Prometheus does and returns a normalized copy (so the caller
 * may reuse its object). First the field types the protobuf message could hold: schema an
 * integer, spans `{offset: integer, length: non-negative integer}`, bucket arrays of the kind
 * `isFloat` says, integer histograms' count and zeroCount non-negative integers, custom values
 * numbers. Then Prometheus' `Histogram.Validate` / `FloatHistogram.Validate` (model/histogram),
 * with their messages: schema -4..8 or -53; span offsets after the first not negative; spans
 * covering exactly the buckets given; no negative bucket count (nor, for floats, a negative
 * count or zero count); integer histograms' count equal to zeroCount plus the bucket counts, or
 * at least that when `sum` is NaN (NaN observations fall in no bucket; the stale marker is a NaN
 * sum); schema -53: custom values strictly increasing, not NaN, no explicit +Inf, enough of them
 * for the spans, no span offset negative, zero count and zero threshold 0, no negative side;
 * exponential schemas: no custom values. `zeroThreshold` and `sum` may be any float, as in
 * Prometheus. Throws `TypeError` "invalid histogram[ for series {...}]: ..." naming `series`
 * when given.
 */
export function validateHistogram(h: NativeHistogram, series?: Readonly<Labels>): NativeHistogram {
  try {
    const out = copyHistogram(h);
    const pos = (out.isFloat ? out.positiveCounts : out.positiveDeltas) as number[];
    const neg = (out.isFloat ? out.negativeCounts : out.negativeDeltas) as number[];
    checkAsPrometheus(out, pos, neg);
    return out;
  } catch (err) {
    if (!(err instanceof HistogramProblem)) throw err;
    const where = series === undefined ? '' : ` for series ${formatSeries(series)}`;
    throw new TypeError(`invalid histogram${where}: ${err.message}`);
  }
}
