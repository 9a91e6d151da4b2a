import type { HistogramEntry, Labels, MetadataEntry, SignalRecord } from '../../src/serialization/types.js';

/** One series of a hand-built record. */
export interface TestSeries {
  labels: Labels;
  /** Stored hash; its low 8 bits are the virtual shard. */
  hash: number;
  samples?: [timestampMs: number, value: number][];
  histograms?: HistogramEntry[];
}

/** Builds a SignalRecord by hand (no codec), with a fresh string table. */
export function buildRecord(series: TestSeries[], metadata: MetadataEntry[] = []): SignalRecord {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const labelOffsets = new Uint32Array(series.length + 1);
  const sampleOffsets = new Uint32Array(series.length + 1);
  const histogramOffsets = new Uint32Array(series.length + 1);
  const exemplarOffsets = new Uint32Array(series.length + 1);
  const refs: number[] = [];
  const ts: number[] = [];
  const vs: number[] = [];
  const histograms: HistogramEntry[] = [];
  series.forEach((s, i) => {
    const names = Object.keys(s.labels).sort();
    for (const n of names) refs.push(ref(n), ref(s.labels[n]));
    labelOffsets[i + 1] = labelOffsets[i] + names.length;
    for (const [t, v] of s.samples ?? []) {
      ts.push(t);
      vs.push(v);
    }
    sampleOffsets[i + 1] = ts.length;
    histograms.push(...(s.histograms ?? []));
    histogramOffsets[i + 1] = histograms.length;
    exemplarOffsets[i + 1] = 0;
  });
  return {
    strings,
    seriesCount: series.length,
    labelOffsets,
    labelRefs: Uint32Array.from(refs),
    seriesHash: Uint32Array.from(series.map((s) => s.hash >>> 0)),
    sampleOffsets,
    timestamps: Float64Array.from(ts),
    values: Float64Array.from(vs),
    histogramOffsets,
    histograms,
    exemplarOffsets,
    exemplars: [],
    metadata,
  };
}

/** `n` samples `[t0 + i*step, i]`. */
export function samples(n: number, t0 = 1000, step = 1): [number, number][] {
  return Array.from({ length: n }, (_, i) => [t0 + i * step, i] as [number, number]);
}
