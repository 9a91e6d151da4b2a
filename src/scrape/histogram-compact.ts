/**
 * Prometheus' `Histogram.Compact(0)` / `FloatHistogram.Compact(0)` (model/histogram/generic.go
 * `compactBuckets` with `maxEmptyBuckets` 0), which its protobuf parser applies to every native
 * histogram it returns: spans of length 0 are dropped, spans with offset 0 merged into the one
 * before, and empty buckets cut out of spans (splitting a span around them).
 */
import type { BucketSpan } from '../serialization/types.js';

/** The compacted buckets and spans (new arrays; the inputs are not changed). */
export interface CompactedBuckets {
  buckets: number[];
  spans: BucketSpan[];
}

/**
 * Compacts one side of a native histogram. `deltas`: the buckets are delta-encoded (integer
 * histograms), so a bucket is empty when the running sum is 0; otherwise each value is a count.
 * The caller has checked that the spans' lengths add up to `buckets.length`.
 */
export function compactBuckets(
  inBuckets: readonly number[],
  inSpans: readonly BucketSpan[],
  deltas: boolean,
): CompactedBuckets {
  const buckets = inBuckets.slice();
  let spans = inSpans.map((s) => ({ offset: s.offset, length: s.length }));
  // Fast path: no empty bucket, no span of offset <= 0 or length 0.
  let nothingToDo = true;
  let abs = 0;
  for (const b of buckets) {
    abs = deltas ? abs + b : b;
    if (abs === 0) {
      nothingToDo = false;
      break;
    }
  }
  if (nothingToDo) {
    for (const s of spans) {
      if (s.offset <= 0 || s.length === 0) {
        nothingToDo = false;
        break;
      }
    }
    if (nothingToDo) return { buckets, spans };
  }

  let iSpan = 0;
  // Merge spans of offset 0 into the one before.
  if (spans.length > 1) {
    const merged: BucketSpan[] = [spans[0]];
    for (let i = 1; i < spans.length; i++) {
      if (spans[i].offset === 0) merged[merged.length - 1].length += spans[i].length;
      else merged.push(spans[i]);
    }
    spans = merged;
  }
  // Drop spans of length 0, moving their offset to the next span.
  {
    const kept: BucketSpan[] = [];
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      if (s.length === 0) {
        if (i + 1 < spans.length) spans[i + 1].offset += s.offset;
        continue;
      }
      kept.push(s);
    }
    spans = kept;
  }
  if (spans.length === 0) return { buckets: [], spans };

  let iBucket = 0;
  let posInSpan = 0;
  abs = 0;
  const emptyBucketsHere = (): number => {
    let i = 0;
    let a = abs;
    while (i + posInSpan < spans[iSpan].length && a === 0) {
      i++;
      if (i + iBucket >= buckets.length) break;
      a = buckets[i + iBucket];
    }
    return i;
  };
  while (iBucket < buckets.length && iSpan < spans.length) {
    abs = deltas ? abs + buckets[iBucket] : buckets[iBucket];
    const nEmpty = emptyBucketsHere();
    if (nEmpty > 0) {
      // maxEmptyBuckets is 0: empty buckets are always cut out.
      if (deltas && iBucket + nEmpty < buckets.length) {
        abs = -buckets[iBucket];
        buckets[iBucket + nEmpty] += buckets[iBucket];
      }
      buckets.splice(iBucket, nEmpty);
      if (posInSpan === 0) {
        // At the start of a span.
        if (nEmpty === spans[iSpan].length) {
          const offset = spans[iSpan].offset;
          spans.splice(iSpan, 1);
          if (spans.length > iSpan) spans[iSpan].offset += offset + nEmpty;
          continue;
        }
        spans[iSpan].length -= nEmpty;
        spans[iSpan].offset += nEmpty;
        continue;
      }
      // In the middle or at the end of the span: split it.
      const newSpan = { offset: nEmpty, length: spans[iSpan].length - posInSpan - nEmpty };
      spans[iSpan].length = posInSpan;
      iSpan++;
      posInSpan = 0;
      if (newSpan.length === 0) {
        if (iSpan < spans.length) spans[iSpan].offset += nEmpty;
        continue;
      }
      spans.splice(iSpan, 0, newSpan);
      continue;
    }
    iBucket++;
    posInSpan++;
    if (posInSpan >= spans[iSpan].length) {
      posInSpan = 0;
      iSpan++;
    }
  }
  return { buckets, spans };
}
