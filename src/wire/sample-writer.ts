/**
 * `Sample` messages, the same in remote-write 1.0 and 2.0 (`TimeSeries.samples = 2`, value field 1
 * fixed64, timestamp field 2): one writer for both encoders. Values are copied as the stored bytes,
 * so a NaN's payload (stale markers) and -0 survive. Zero fields are omitted, as proto3 does.
 */
import { delimitedSize, int64Size, type ScratchWriter } from './proto-writer.js';

/** Bytes of one Sample's body; `valueNonZero` is the OR of the value's two 32-bit words. */
function sampleBodySize(valueNonZero: number, ts: number): number {
  return (valueNonZero !== 0 ? 9 : 0) + (ts !== 0 ? 1 + int64Size(ts) : 0);
}

/**
 * Bytes the samples `[start, end)` take as `TimeSeries.samples` fields. `words` views the value
 * column as 32-bit words (two per value), `ts` is the timestamp column.
 */
export function samplesSize(words: Uint32Array, ts: Float64Array, start: number, end: number): number {
  let size = 0;
  for (let i = start; i < end; i++) size += delimitedSize(sampleBodySize(words[2 * i] | words[2 * i + 1], ts[i]));
  return size;
}

/** Writes the samples `[start, end)` ({@link samplesSize} bytes, room reserved by the caller). */
export function writeSamples(
  w: ScratchWriter,
  valueBytes: Uint8Array,
  words: Uint32Array,
  ts: Float64Array,
  start: number,
  end: number,
): void {
  for (let i = start; i < end; i++) {
    const nonZero = words[2 * i] | words[2 * i + 1];
    const t = ts[i];
    w.byte(0x12); // TimeSeries.samples = 2
    w.varint32(sampleBodySize(nonZero, t));
    if (nonZero !== 0) {
      w.byte(0x09); // Sample.value = 1, fixed64: the bytes as stored, NaN payload included
      w.bytes(valueBytes, i * 8, 8);
    }
    if (t !== 0) {
      w.byte(0x10); // Sample.timestamp = 2
      w.int64(t);
    }
  }
}
