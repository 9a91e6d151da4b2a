import type { MetadataEntry } from '../../src/serialization/types.js';
import type { SeriesSlice, WriteRequestEncoder } from '../../src/wire/types.js';

/** What the JSON test encoder puts on the wire: easy to assert on, independent of the protobuf encoder. */
export interface JsonRequest {
  series: { name: string; samples: [number, number][]; histograms: number[] }[];
  metadata: string[];
}

/**
 * A WriteRequestEncoder that writes JSON: the series' `__name__`, its samples and histogram
 * timestamps. Unit tests of the network decode it with JSON.parse after snappy.
 */
export function createJsonEncoder(): WriteRequestEncoder {
  return {
    encode(slices: readonly SeriesSlice[], count: number, metadata: readonly MetadataEntry[]): Uint8Array {
      const req: JsonRequest = { series: [], metadata: metadata.map((m) => m.metricFamilyName) };
      for (let i = 0; i < count; i++) {
        const sl = slices[i];
        const r = sl.record;
        let name = '';
        for (let l = r.labelOffsets[sl.series]; l < r.labelOffsets[sl.series + 1]; l++) {
          if (r.strings[r.labelRefs[2 * l]] === '__name__') name = r.strings[r.labelRefs[2 * l + 1]];
        }
        const s: [number, number][] = [];
        for (let j = sl.sampleStart; j < sl.sampleEnd; j++) s.push([r.timestamps[j], r.values[j]]);
        const h: number[] = [];
        for (let j = sl.histogramStart; j < sl.histogramEnd; j++) h.push(r.histograms[j].timestampMs);
        req.series.push({ name, samples: s, histograms: h });
      }
      return Buffer.from(JSON.stringify(req));
    },
  };
}
