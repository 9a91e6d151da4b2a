/** A RemoteWriteVisitor that records everything as plain objects, for decoder tests. */
import type { MetadataEntry, NativeHistogram } from '../../src/serialization/types.js';
import type { RemoteWriteVisitor } from '../../src/wire/types.js';

export interface RecordedSeries {
  labels: Record<string, string>;
  createdTimestampMs: number;
  samples: { ts: number; value: number; bits: bigint }[];
  histograms: { ts: number; histogram: NativeHistogram }[];
  exemplars: { labels: Record<string, string>; value: number; ts: number }[];
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

function pairsToRecord(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i]] = pairs[i + 1];
  return out;
}

export function recordingVisitor(): RemoteWriteVisitor & { series_: RecordedSeries[]; metadata_: MetadataEntry[] } {
  const series_: RecordedSeries[] = [];
  const metadata_: MetadataEntry[] = [];
  const current = () => {
    const s = series_[series_.length - 1];
    if (!s) throw new Error('signal before series()');
    return s;
  };
  return {
    series_,
    metadata_,
    series(labels, createdTimestampMs) {
      series_.push({ labels: pairsToRecord(labels), createdTimestampMs, samples: [], histograms: [], exemplars: [] });
    },
    sample(ts, value) {
      f64[0] = value;
      current().samples.push({ ts, value, bits: u64[0] });
    },
    histogram(ts, histogram) {
      current().histograms.push({ ts, histogram });
    },
    exemplar(labels, value, ts) {
      current().exemplars.push({ labels: pairsToRecord(labels), value, ts });
    },
    metadata(entry) {
      metadata_.push(entry);
    },
  };
}

/** Ignores everything: for fuzzing. */
export const nullVisitor: RemoteWriteVisitor = {
  series() {},
  sample() {},
  histogram() {},
  exemplar() {},
  metadata() {},
};
