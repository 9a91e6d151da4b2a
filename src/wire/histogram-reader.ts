import type { BucketSpan, NativeHistogram } from '../serialization/types.js';
import { type ProtoReader, WT_I64, WT_LEN, WT_VARINT } from './proto-reader.js';

/** Result of {@link readHistogram}: the histogram and its timestamp (field 15). */
export interface ReadHistogram {
  histogram: NativeHistogram;
  timestampMs: number;
}

const COUNT_NONE = 0;
const COUNT_INT = 1;
const COUNT_FLOAT = 2;

/**
 * Reads a native Histogram message (same field numbers in 1.0 and 2.0, `custom_values` = 16
 * included) ending at `stop`, checking what only the wire can tell: one kind (int or float) for
 * count, zero count and buckets, and a reset hint of the enum. The rules of Prometheus'
 * `Histogram.Validate` (schema, spans against buckets, counts, custom bounds) are checked where
 * the histogram is appended, by `validateHistogram`, which names the series by its labels: the
 * same check for the library's appends and for both decoders.
 */
export function readHistogram(r: ProtoReader, stop: number): ReadHistogram {
  const outerEnd = r.end;
  r.end = stop;
  let countKind = COUNT_NONE;
  let zeroKind = COUNT_NONE;
  let count = 0;
  let zeroCount = 0;
  let sum = 0;
  let schema = 0;
  let zeroThreshold = 0;
  let resetHint = 0;
  let timestampMs = 0;
  const negativeSpans: BucketSpan[] = [];
  const positiveSpans: BucketSpan[] = [];
  const negativeDeltas: number[] = [];
  const positiveDeltas: number[] = [];
  const negativeCounts: number[] = [];
  const positiveCounts: number[] = [];
  const customValues: number[] = [];
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WT_VARINT, 'histogram count_int');
        count = r.uint64();
        countKind = COUNT_INT;
        break;
      case 2:
        r.expect(key, WT_I64, 'histogram count_float');
        count = r.double();
        countKind = COUNT_FLOAT;
        break;
      case 3:
        r.expect(key, WT_I64, 'histogram sum');
        sum = r.double();
        break;
      case 4:
        r.expect(key, WT_VARINT, 'histogram schema');
        schema = r.sint32();
        break;
      case 5:
        r.expect(key, WT_I64, 'histogram zero_threshold');
        zeroThreshold = r.double();
        break;
      case 6:
        r.expect(key, WT_VARINT, 'histogram zero_count_int');
        zeroCount = r.uint64();
        zeroKind = COUNT_INT;
        break;
      case 7:
        r.expect(key, WT_I64, 'histogram zero_count_float');
        zeroCount = r.double();
        zeroKind = COUNT_FLOAT;
        break;
      case 8:
        r.expect(key, WT_LEN, 'histogram negative_spans');
        negativeSpans.push(readSpan(r));
        break;
      case 9:
        readSint64s(r, key, negativeDeltas, 'histogram negative_deltas');
        break;
      case 10:
        readDoubles(r, key, negativeCounts, 'histogram negative_counts');
        break;
      case 11:
        r.expect(key, WT_LEN, 'histogram positive_spans');
        positiveSpans.push(readSpan(r));
        break;
      case 12:
        readSint64s(r, key, positiveDeltas, 'histogram positive_deltas');
        break;
      case 13:
        readDoubles(r, key, positiveCounts, 'histogram positive_counts');
        break;
      case 14:
        r.expect(key, WT_VARINT, 'histogram reset_hint');
        resetHint = r.int64();
        if (resetHint < 0 || resetHint > 3) r.fail(`histogram reset_hint ${resetHint} is not 0-3`);
        break;
      case 15:
        r.expect(key, WT_VARINT, 'histogram timestamp');
        timestampMs = r.int64();
        break;
      case 16:
        readDoubles(r, key, customValues, 'histogram custom_values');
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;

  if (zeroKind !== COUNT_NONE && countKind !== COUNT_NONE && zeroKind !== countKind) {
    r.fail('histogram mixes integer and float counts');
  }
  const isFloat = countKind === COUNT_FLOAT || (countKind === COUNT_NONE && zeroKind === COUNT_FLOAT);
  if (isFloat && (negativeDeltas.length > 0 || positiveDeltas.length > 0)) {
    r.fail('float histogram carries integer bucket deltas');
  }
  if (!isFloat && (negativeCounts.length > 0 || positiveCounts.length > 0)) {
    r.fail('integer histogram carries float bucket counts');
  }
  const histogram: NativeHistogram = {
    isFloat,
    count,
    sum,
    schema,
    zeroThreshold,
    zeroCount,
    positiveSpans,
    negativeSpans,
    resetHint: resetHint as 0 | 1 | 2 | 3,
  };
  if (isFloat) {
    histogram.positiveCounts = positiveCounts;
    histogram.negativeCounts = negativeCounts;
  } else {
    histogram.positiveDeltas = positiveDeltas;
    histogram.negativeDeltas = negativeDeltas;
  }
  // As Prometheus' decoder: an absent or empty field is no custom values.
  if (customValues.length > 0) histogram.customValues = customValues;
  return { histogram, timestampMs };
}

function readSpan(r: ProtoReader): BucketSpan {
  const stop = r.delimited();
  const outerEnd = r.end;
  r.end = stop;
  let offset = 0;
  let length = 0;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WT_VARINT, 'bucket span offset');
        offset = r.sint32();
        break;
      case 2:
        r.expect(key, WT_VARINT, 'bucket span length');
        length = r.varint32();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
  return { offset, length };
}

/** Repeated sint64, packed (wire type 2) or one per field (wire type 0), as parsers must accept both. */
function readSint64s(r: ProtoReader, key: number, out: number[], field: string): void {
  if ((key & 7) === WT_VARINT) {
    out.push(r.sint64());
    return;
  }
  r.expect(key, WT_LEN, field);
  const stop = r.delimited();
  const outerEnd = r.end;
  r.end = stop;
  while (r.pos < stop) out.push(r.sint64());
  r.end = outerEnd;
}

/** Repeated double, packed or not. */
function readDoubles(r: ProtoReader, key: number, out: number[], field: string): void {
  if ((key & 7) === WT_I64) {
    out.push(r.double());
    return;
  }
  r.expect(key, WT_LEN, field);
  const stop = r.delimited();
  if ((stop - r.pos) % 8 !== 0) r.fail(`${field}: packed length is not a multiple of 8`);
  while (r.pos < stop) out.push(r.double());
}
