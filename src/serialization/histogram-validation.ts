import type { BucketSpan, NativeHistogram } from './types.js';

/** Exponential schemas Prometheus accepts for native histograms. */
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;

function fail(field: string, value: unknown, rule: string): never {
  throw new TypeError(`invalid histogram: ${field}=${JSON.stringify(value) ?? String(value)} ${rule}`);
}

function copySpans(spans: unknown, field: string): { spans: BucketSpan[]; buckets: number } {
  if (!Array.isArray(spans)) fail(field, spans, 'must be an array of {offset, length}');
  const out = new Array<BucketSpan>(spans.length);
  let buckets = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as BucketSpan | null;
    const offset = s?.offset;
    const length = s?.length;
    // Only the first span's offset is an absolute index (may be negative); later ones are gaps.
    if (!Number.isSafeInteger(offset) || (i > 0 && (offset as number) < 0)) {
      fail(`${field}[${i}].offset`, offset, i > 0 ? 'must be a non-negative integer' : 'must be an integer');
    }
    if (!Number.isSafeInteger(length) || (length as number) < 0) {
      fail(`${field}[${i}].length`, length, 'must be a non-negative integer');
    }
    out[i] = { offset: offset as number, length: length as number };
    buckets += length as number;
  }
  return { spans: out, buckets };
}

/** Copies integer bucket deltas, checking the absolute counts they encode are never negative; returns their total. */
function copyDeltas(deltas: unknown, expected: number, field: string, out: number[]): number {
  if (!Array.isArray(deltas)) fail(field, deltas, 'must be an array (integer histogram)');
  if (deltas.length !== expected)
    fail(`${field}.length`, deltas.length, `must equal the spans' total length ${expected}`);
  let count = 0;
  let total = 0;
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i];
    if (!Number.isSafeInteger(d)) fail(`${field}[${i}]`, d, 'must be an integer');
    count += d as number;
    if (count < 0) fail(`${field}[${i}]`, d, `makes bucket count ${count} negative`);
    out[i] = d as number;
    total += count;
  }
  return total;
}

function copyCounts(counts: unknown, expected: number, field: string, out: number[]): void {
  if (!Array.isArray(counts)) fail(field, counts, 'must be an array (float histogram)');
  if (counts.length !== expected)
    fail(`${field}.length`, counts.length, `must equal the spans' total length ${expected}`);
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (typeof c !== 'number' || !(c >= 0) || c === Number.POSITIVE_INFINITY) {
      fail(`${field}[${i}]`, c, 'must be a finite non-negative number');
    }
    out[i] = c;
  }
}

/**
 * Validates a native histogram and returns a normalized copy (so the caller may reuse its
 * object). Rules: schema an integer in -4..8; zeroThreshold finite and >= 0; span offsets
 * integers (after the first, >= 0) and lengths non-negative integers; bucket arrays exactly as
 * long as the spans say, of the kind `isFloat` says; integer histograms: count, zeroCount and
 * the bucket counts the deltas encode non-negative integers, and count >= zeroCount + buckets;
 * float histograms: counts finite and >= 0. `sum` may be any float (the stale marker is a NaN
 * sum). Throws `TypeError` naming the field and value.
 */
export function validateHistogram(h: NativeHistogram): NativeHistogram {
  if (h === null || typeof h !== 'object') fail('histogram', h, 'must be an object');
  const { isFloat, count, sum, schema, zeroThreshold, zeroCount, resetHint } = h;
  if (typeof isFloat !== 'boolean') fail('isFloat', isFloat, 'must be a boolean');
  if (!Number.isInteger(schema) || schema < MIN_SCHEMA || schema > MAX_SCHEMA) {
    fail('schema', schema, `must be an integer in ${MIN_SCHEMA}..${MAX_SCHEMA}`);
  }
  if (typeof sum !== 'number') fail('sum', sum, 'must be a number');
  if (typeof zeroThreshold !== 'number' || !(zeroThreshold >= 0) || !Number.isFinite(zeroThreshold)) {
    fail('zeroThreshold', zeroThreshold, 'must be a finite non-negative number');
  }
  if (resetHint !== undefined && resetHint !== 0 && resetHint !== 1 && resetHint !== 2 && resetHint !== 3) {
    fail('resetHint', resetHint, 'must be 0, 1, 2 or 3');
  }
  const pos = copySpans(h.positiveSpans, 'positiveSpans');
  const neg = copySpans(h.negativeSpans, 'negativeSpans');
  const out: NativeHistogram = {
    isFloat,
    count,
    sum,
    schema,
    zeroThreshold,
    zeroCount,
    positiveSpans: pos.spans,
    negativeSpans: neg.spans,
    resetHint: resetHint ?? 0,
  };
  if (isFloat) {
    for (const [field, v] of [
      ['count', count],
      ['zeroCount', zeroCount],
    ] as const) {
      if (typeof v !== 'number' || !(v >= 0) || v === Number.POSITIVE_INFINITY) {
        fail(field, v, 'must be a finite non-negative number');
      }
    }
    out.positiveCounts = [];
    out.negativeCounts = [];
    copyCounts(h.positiveCounts, pos.buckets, 'positiveCounts', out.positiveCounts);
    copyCounts(h.negativeCounts, neg.buckets, 'negativeCounts', out.negativeCounts);
  } else {
    if (!Number.isSafeInteger(count) || count < 0) fail('count', count, 'must be a non-negative integer');
    if (!Number.isSafeInteger(zeroCount) || zeroCount < 0)
      fail('zeroCount', zeroCount, 'must be a non-negative integer');
    out.positiveDeltas = [];
    out.negativeDeltas = [];
    const buckets =
      copyDeltas(h.positiveDeltas, pos.buckets, 'positiveDeltas', out.positiveDeltas) +
      copyDeltas(h.negativeDeltas, neg.buckets, 'negativeDeltas', out.negativeDeltas);
    if (count < zeroCount + buckets) {
      fail('count', count, `is less than zeroCount + bucket counts (${zeroCount + buckets})`);
    }
  }
  return out;
}
