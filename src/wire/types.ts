import type { MetadataEntry, SignalRecord } from '../serialization/types.js';

/**
 * A contiguous run of one series' signals in one record: what a SendLoop puts in a request.
 * Indices are absolute positions in the record's `timestamps`/`values`, `histograms` and
 * `exemplars` arrays (half-open ranges).
 */
export interface SeriesSlice {
  record: SignalRecord;
  series: number;
  sampleStart: number;
  sampleEnd: number;
  histogramStart: number;
  histogramEnd: number;
  exemplarStart: number;
  exemplarEnd: number;
}

export type ProtobufMessage = 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';

export interface WriteRequestEncoder {
  /**
   * Encodes `slices[0..count)` and `metadata` as one uncompressed protobuf request.
   * External labels given at creation are merged into every series (the series' own label
   * wins) and the output labels are sorted. The returned bytes view a reused scratch buffer:
   * valid only until the next `encode` call.
   */
  encode(slices: readonly SeriesSlice[], count: number, metadata: readonly MetadataEntry[]): Uint8Array;
}
