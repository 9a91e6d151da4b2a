/**
 * Remote-write bodies with bytes protobufjs will not write: label names, values and symbols
 * that are not valid UTF-8, and label refs in any order. Strings are encoded as UTF-8; a
 * number array is taken as the bytes themselves.
 */
import { remoteWriteProtos } from './remote-write-client.js';

/** A string, or raw bytes (e.g. `[0x61, 0xff]`, not valid UTF-8). */
export type Bytes = string | number[];

function bytesOf(b: Bytes): number[] {
  return typeof b === 'string' ? [...Buffer.from(b, 'utf8')] : b;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function delimited(field: number, payload: number[]): number[] {
  return [(field << 3) | 2, ...varint(payload.length), ...payload];
}

/** One 1.0 series: labels in the order given (no sorting), samples `[timestampMs, value]`. */
export interface RawSeriesV1 {
  labels: [Bytes, Bytes][];
  samples: [number, number][];
}

/** A remote-write 1.0 body (uncompressed) written field by field. */
export function rawWriteRequestV1(series: RawSeriesV1[]): Uint8Array {
  const out: number[] = [];
  for (const s of series) {
    const ts: number[] = [];
    for (const [name, value] of s.labels)
      ts.push(...delimited(1, [...delimited(1, bytesOf(name)), ...delimited(2, bytesOf(value))]));
    for (const [t, v] of s.samples) {
      const f = Buffer.alloc(8);
      f.writeDoubleLE(v);
      ts.push(...delimited(2, [0x09, ...f, 0x10, ...varint(t)]));
    }
    out.push(...delimited(1, ts));
  }
  return Uint8Array.from(out);
}

/**
 * A remote-write 2.0 body (uncompressed): `symbols` as given (bytes allowed), then each series
 * as protobufjs encodes the `io.prometheus.write.v2.TimeSeries` object (`labelsRefs`, `samples`,
 * `exemplars`, `metadata` in its field names), refs unchanged.
 */
export function rawRequestV2(symbols: Bytes[], timeseries: object[]): Uint8Array {
  const TS = remoteWriteProtos().root.lookupType('io.prometheus.write.v2.TimeSeries');
  const out: number[] = [];
  for (const s of symbols) out.push(...delimited(4, bytesOf(s)));
  for (const t of timeseries) out.push(...delimited(5, [...TS.encode(TS.fromObject(t)).finish()]));
  return Uint8Array.from(out);
}
