/**
 * `native_histogram_bucket_limit` as Prometheus applies it to a scraped native histogram
 * (scrape/target.go `bucketLimitAppender`): while it has more buckets than the limit, its
 * resolution is halved (schema - 1, adjacent buckets merged, model/histogram `ReduceResolution`);
 * a histogram with custom buckets, or already at the coarsest schema, fails the scrape instead.
 */
import type { BucketSpan, NativeHistogram } from '../serialization/types.js';

/** The coarsest exponential schema (Prometheus' `ExponentialSchemaMin`). */
const EXPONENTIAL_SCHEMA_MIN = -4;
const EXPONENTIAL_SCHEMA_MAX = 8;

/** Buckets of a native histogram (Prometheus' `len(PositiveBuckets) + len(NegativeBuckets)`). */
export function bucketCount(h: NativeHistogram): number {
  return (h.positiveDeltas ?? h.positiveCounts ?? []).length + (h.negativeDeltas ?? h.negativeCounts ?? []).length;
}

/**
 * `h` within `limit` buckets: itself when it already is, a copy at a lower resolution otherwise,
 * or undefined when that is not possible (the scrape then fails with `histogram bucket limit exceeded`).
 */
export function limitBuckets(h: NativeHistogram, limit: number): NativeHistogram | undefined {
  if (bucketCount(h) <= limit) return h;
  if (h.schema < EXPONENTIAL_SCHEMA_MIN || h.schema > EXPONENTIAL_SCHEMA_MAX) return undefined;
  let out = h;
  while (bucketCount(out) > limit) {
    if (out.schema <= EXPONENTIAL_SCHEMA_MIN) return undefined;
    out = reduceResolution(out, out.schema - 1);
  }
  return out;
}

/** Prometheus' `ReduceResolution(targetSchema)` of an exponential histogram, as a new histogram. */
export function reduceResolution(h: NativeHistogram, targetSchema: number): NativeHistogram {
  const out: NativeHistogram = { ...h, schema: targetSchema };
  if (h.isFloat) {
    const pos = reduceSide(h.positiveSpans, h.positiveCounts ?? [], h.schema, targetSchema, false);
    const neg = reduceSide(h.negativeSpans, h.negativeCounts ?? [], h.schema, targetSchema, false);
    out.positiveSpans = pos.spans;
    out.positiveCounts = pos.buckets;
    out.negativeSpans = neg.spans;
    out.negativeCounts = neg.buckets;
  } else {
    const pos = reduceSide(h.positiveSpans, h.positiveDeltas ?? [], h.schema, targetSchema, true);
    const neg = reduceSide(h.negativeSpans, h.negativeDeltas ?? [], h.schema, targetSchema, true);
    out.positiveSpans = pos.spans;
    out.positiveDeltas = pos.buckets;
    out.negativeSpans = neg.spans;
    out.negativeDeltas = neg.buckets;
  }
  return out;
}

/** Prometheus' `targetIdx`: the index of bucket `idx` of `origin` in the coarser `target` schema. */
function targetIdx(idx: number, origin: number, target: number): number {
  return ((idx - 1) >> (origin - target)) + 1;
}

/** Prometheus' generic `reduceResolution` of one side (model/histogram/generic.go). */
function reduceSide(
  spans: readonly BucketSpan[],
  buckets: readonly number[],
  origin: number,
  target: number,
  deltas: boolean,
): { spans: BucketSpan[]; buckets: number[] } {
  const outSpans: BucketSpan[] = [];
  const outBuckets: number[] = [];
  let bucketIdx = 0;
  let k = 0;
  let lastBucketCount = 0;
  let lastTargetIdx = 0;
  let lastTargetCount = 0;
  for (const span of spans) {
    bucketIdx += span.offset;
    for (let j = 0; j < span.length; j++, bucketIdx++, k++) {
      const count = buckets[k] ?? 0;
      const t = targetIdx(bucketIdx, origin, target);
      if (outSpans.length === 0) {
        outSpans.push({ offset: t, length: 1 });
        outBuckets.push(count);
        lastTargetIdx = t;
        lastBucketCount = count;
        lastTargetCount = count;
      } else if (t === lastTargetIdx) {
        if (deltas) {
          lastBucketCount += count;
          outBuckets[outBuckets.length - 1] += lastBucketCount;
          lastTargetCount += lastBucketCount;
        } else outBuckets[outBuckets.length - 1] += count;
      } else {
        if (t === lastTargetIdx + 1) outSpans[outSpans.length - 1].length++;
        else outSpans.push({ offset: t - lastTargetIdx - 1, length: 1 });
        lastTargetIdx = t;
        if (deltas) {
          lastBucketCount += count;
          outBuckets.push(lastBucketCount - lastTargetCount);
          lastTargetCount = lastBucketCount;
        } else outBuckets.push(count);
      }
    }
  }
  return { spans: outSpans, buckets: outBuckets };
}
