import type { HistogramEntry, NativeHistogram } from '../serialization/types.js';
import { delimitedSize, int64Size, type ScratchWriter, sint32Size, sint64Size, varint32Size } from './proto-writer.js';

/**
 * The native `Histogram` message, which remote-write 1.0 and 2.0 share field for field (1.0's
 * `prometheus.Histogram` and 2.0's `io.prometheus.write.v2.Histogram` number every field alike,
 * custom_values = 16 included). Sizing first fills three int32 slots per histogram (body size,
 * negative and positive packed-delta payload sizes) that writing then reads, so the deltas' varint
 * sizes are computed once. Zero-valued scalars are omitted as proto3 does, except the count and
 * zero_count oneofs: their presence says int or float.
 */

/** Int32 slots per histogram that {@link histogramBodySize} fills and {@link writeHistogram} reads. */
export const HISTOGRAM_SLOTS = 3;

/** Computes and stores (at `sizes[slot..slot+3)`) a histogram's body sizes; returns the body size. */
export function histogramBodySize(e: HistogramEntry, sizes: Int32Array, slot: number): number {
  const h = e.histogram;
  let size = 0;
  if (h.isFloat) {
    size += 9 + 9; // count_float, zero_count_float: oneofs are always written
  } else {
    size += 1 + int64Size(h.count) + 1 + int64Size(h.zeroCount);
  }
  if (!isPositiveZero(h.sum)) size += 9;
  if (h.schema !== 0) size += 1 + sint32Size(h.schema);
  if (!isPositiveZero(h.zeroThreshold)) size += 9;
  size += spansSize(h.negativeSpans) + spansSize(h.positiveSpans);
  let negDeltas = 0;
  let posDeltas = 0;
  if (h.isFloat) {
    size += packedDoublesSize(h.negativeCounts) + packedDoublesSize(h.positiveCounts);
  } else {
    negDeltas = packedSint64Payload(h.negativeDeltas);
    posDeltas = packedSint64Payload(h.positiveDeltas);
    if (negDeltas > 0) size += delimitedSize(negDeltas);
    if (posDeltas > 0) size += delimitedSize(posDeltas);
  }
  if (h.resetHint) size += 2;
  if (e.timestampMs !== 0) size += 1 + int64Size(e.timestampMs);
  // custom_values = 16: a two-byte key.
  if (h.customValues !== undefined && h.customValues.length > 0) size += 1 + delimitedSize(h.customValues.length * 8);
  sizes[slot] = size;
  sizes[slot + 1] = negDeltas;
  sizes[slot + 2] = posDeltas;
  return size;
}

/**
 * Writes the histogram as a length-delimited field with the one-byte key `tag` (1.0 TimeSeries
 * field 4, 2.0 TimeSeries field 3), using the sizes {@link histogramBodySize} stored at `slot`.
 * The caller has reserved room.
 */
export function writeHistogram(
  w: ScratchWriter,
  tag: number,
  e: HistogramEntry,
  sizes: Int32Array,
  slot: number,
): void {
  const h = e.histogram;
  w.byte(tag);
  w.varint32(sizes[slot]);
  if (h.isFloat) {
    w.byte(0x11); // count_float = 2
    w.double(h.count);
  } else {
    w.byte(0x08); // count_int = 1
    w.int64(h.count);
  }
  if (!isPositiveZero(h.sum)) {
    w.byte(0x19); // sum = 3
    w.double(h.sum);
  }
  if (h.schema !== 0) {
    w.byte(0x20); // schema = 4
    w.sint32(h.schema);
  }
  if (!isPositiveZero(h.zeroThreshold)) {
    w.byte(0x29); // zero_threshold = 5
    w.double(h.zeroThreshold);
  }
  if (h.isFloat) {
    w.byte(0x39); // zero_count_float = 7
    w.double(h.zeroCount);
  } else {
    w.byte(0x30); // zero_count_int = 6
    w.int64(h.zeroCount);
  }
  writeSpans(w, 0x42, h.negativeSpans); // negative_spans = 8
  if (h.isFloat) {
    writePackedDoubles(w, 0x52, h.negativeCounts); // negative_counts = 10
  } else {
    writePackedSint64(w, 0x4a, h.negativeDeltas, sizes[slot + 1]); // negative_deltas = 9
  }
  writeSpans(w, 0x5a, h.positiveSpans); // positive_spans = 11
  if (h.isFloat) {
    writePackedDoubles(w, 0x6a, h.positiveCounts); // positive_counts = 13
  } else {
    writePackedSint64(w, 0x62, h.positiveDeltas, sizes[slot + 2]); // positive_deltas = 12
  }
  if (h.resetHint) {
    w.byte(0x70); // reset_hint = 14
    w.byte(h.resetHint);
  }
  if (e.timestampMs !== 0) {
    w.byte(0x78); // timestamp = 15
    w.int64(e.timestampMs);
  }
  if (h.customValues !== undefined && h.customValues.length > 0) {
    w.byte(0x82); // custom_values = 16, packed: key (16 << 3 | 2) as a two-byte varint
    writePackedDoubles(w, 0x01, h.customValues);
  }
}

/** True for +0 only: -0 is not proto3's default and must be written. */
export function isPositiveZero(v: number): boolean {
  return v === 0 && 1 / v > 0;
}

function spanBodySize(offset: number, length: number): number {
  return (offset !== 0 ? 1 + sint32Size(offset) : 0) + (length !== 0 ? 1 + varint32Size(length) : 0);
}

function spansSize(spans: NativeHistogram['positiveSpans']): number {
  let size = 0;
  for (let i = 0; i < spans.length; i++) size += delimitedSize(spanBodySize(spans[i].offset, spans[i].length));
  return size;
}

function writeSpans(w: ScratchWriter, tag: number, spans: NativeHistogram['positiveSpans']): void {
  for (let i = 0; i < spans.length; i++) {
    const { offset, length } = spans[i];
    w.byte(tag);
    w.varint32(spanBodySize(offset, length));
    if (offset !== 0) {
      w.byte(0x08); // BucketSpan.offset = 1
      w.sint32(offset);
    }
    if (length !== 0) {
      w.byte(0x10); // BucketSpan.length = 2
      w.varint32(length);
    }
  }
}

function packedDoublesSize(values: number[] | undefined): number {
  return values && values.length > 0 ? delimitedSize(values.length * 8) : 0;
}

function writePackedDoubles(w: ScratchWriter, tag: number, values: number[] | undefined): void {
  if (!values || values.length === 0) return;
  w.byte(tag);
  w.varint32(values.length * 8);
  for (let i = 0; i < values.length; i++) w.double(values[i]);
}

function packedSint64Payload(values: number[] | undefined): number {
  if (!values) return 0;
  let size = 0;
  for (let i = 0; i < values.length; i++) size += sint64Size(values[i]);
  return size;
}

function writePackedSint64(w: ScratchWriter, tag: number, values: number[] | undefined, payload: number): void {
  if (!values || values.length === 0) return;
  w.byte(tag);
  w.varint32(payload);
  for (let i = 0; i < values.length; i++) w.sint64(values[i]);
}
