/**
 * OTel exponential histograms as Prometheus native histograms, as Prometheus' OTLP endpoint
 * converts them (storage/remote/otlptranslator/prometheusremotewrite/histograms.go,
 * exponentialToNativeHistogram and convertBucketsLayout).
 */
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { MAX_SCHEMA, MIN_SCHEMA } from '../serialization/histogram-validation.js';
import type { BucketSpan, NativeHistogram } from '../serialization/types.js';

/** The zero bucket's width Prometheus gives every converted histogram (OTLP has no threshold field). */
export const OTEL_ZERO_THRESHOLD = 1e-128;

/**
 * Converts one cumulative exponential-histogram point: scale -> schema (scales above 8 merged
 * down to 8, 2^(scale-8) buckets into one), OTel's bucket index i (range (base^i, base^(i+1)])
 * -> Prometheus' i+1, dense counts -> spans (a new span after a gap of more than two empty
 * buckets) and deltas; an integer histogram with an unknown reset hint. Throws an Error when the
 * scale is below -4.
 */
export function exponentialToNative(point: ExponentialHistogram): NativeHistogram {
  let scale = point.scale;
  if (scale < MIN_SCHEMA) {
    throw new Error(`cannot convert exponential to native histogram. Scale must be >= ${MIN_SCHEMA}, was ${scale}`);
  }
  let scaleDown = 0;
  if (scale > MAX_SCHEMA) {
    scaleDown = scale - MAX_SCHEMA;
    scale = MAX_SCHEMA;
  }
  const positive = bucketsLayout(point.positive.bucketCounts, point.positive.offset, scaleDown);
  const negative = bucketsLayout(point.negative.bucketCounts, point.negative.offset, scaleDown);
  return {
    isFloat: false,
    count: point.count,
    sum: point.sum ?? 0,
    schema: scale,
    zeroThreshold: OTEL_ZERO_THRESHOLD,
    zeroCount: point.zeroCount,
    positiveSpans: positive.spans,
    positiveDeltas: positive.deltas,
    negativeSpans: negative.spans,
    negativeDeltas: negative.deltas,
    resetHint: 0,
  };
}

/** convertBucketsLayout with adjustOffset (client_golang's makeBuckets, merging 2^scaleDown buckets). */
export function bucketsLayout(
  counts: readonly number[],
  offset: number,
  scaleDown: number,
): { spans: BucketSpan[]; deltas: number[] } {
  const spans: BucketSpan[] = [];
  const deltas: number[] = [];
  if (counts.length === 0) return { spans, deltas };
  let count = 0;
  let prevCount = 0;
  const appendDelta = (c: number) => {
    spans[spans.length - 1]!.length++;
    deltas.push(c - prevCount);
    prevCount = c;
  };
  const addGap = (gap: number) => {
    // More than two empty buckets start a new span; fewer are written as zero buckets.
    if (gap > 2) spans.push({ offset: gap, length: 0 });
    else for (let g = 0; g < gap; g++) appendDelta(0);
  };
  let bucketIdx = (offset >> scaleDown) + 1;
  spans.push({ offset: (offset >> scaleDown) + 1, length: 0 });
  for (let i = 0; i < counts.length; i++) {
    const next = ((i + offset) >> scaleDown) + 1;
    if (bucketIdx === next) {
      count += counts[i]!;
      continue;
    }
    if (count === 0) {
      count = counts[i]!;
      continue;
    }
    addGap(next - bucketIdx - 1);
    appendDelta(count);
    count = counts[i]!;
    bucketIdx = next;
  }
  addGap(((counts.length + offset - 1) >> scaleDown) + 1 - bucketIdx);
  appendDelta(count);
  return { spans, deltas };
}
