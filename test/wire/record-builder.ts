/** Builds SignalRecords and SeriesSlices from plain series descriptions, for the wire tests. */
import type { ExemplarEntry, HistogramEntry, MetadataEntry, SignalRecord } from '../../src/serialization/types.js';
import type { SeriesSlice } from '../../src/wire/types.js';
import { type SeriesInput, sortedLabelPairs } from '../helpers/remote-write-client.js';

/**
 * One record holding `series` (labels sorted by name, as the Serializer stores them), built by hand
 * without the codec. `hash` is the stored series hash (its low 8 bits pick the virtual shard; 0 if omitted).
 */
export function buildRecord(
  series: (SeriesInput & { hash?: number })[],
  opts: { unsortedLabels?: boolean; metadata?: MetadataEntry[] } = {},
): SignalRecord {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string) => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const labelOffsets = new Uint32Array(series.length + 1);
  const refs: number[] = [];
  const sampleOffsets = new Uint32Array(series.length + 1);
  const ts: number[] = [];
  const vs: number[] = [];
  const histogramOffsets = new Uint32Array(series.length + 1);
  const histograms: HistogramEntry[] = [];
  const exemplarOffsets = new Uint32Array(series.length + 1);
  const exemplars: ExemplarEntry[] = [];
  series.forEach((s, i) => {
    const pairs = opts.unsortedLabels ? Object.entries(s.labels) : sortedLabelPairs(s.labels);
    for (const [n, v] of pairs) refs.push(ref(n), ref(v));
    labelOffsets[i + 1] = labelOffsets[i] + pairs.length;
    for (const [t, v] of s.samples ?? []) {
      ts.push(t);
      vs.push(v);
    }
    sampleOffsets[i + 1] = ts.length;
    histograms.push(...(s.histograms ?? []));
    histogramOffsets[i + 1] = histograms.length;
    for (const e of s.exemplars ?? []) {
      const lr = sortedLabelPairs(e.labels).flatMap(([n, v]) => [ref(n), ref(v)]);
      exemplars.push({ labelRefs: Uint32Array.from(lr), value: e.value, timestampMs: e.timestampMs });
    }
    exemplarOffsets[i + 1] = exemplars.length;
  });
  return {
    strings,
    seriesCount: series.length,
    labelOffsets,
    labelRefs: Uint32Array.from(refs),
    seriesHash: Uint32Array.from(series.map((s) => (s.hash ?? 0) >>> 0)),
    sampleOffsets,
    timestamps: Float64Array.from(ts),
    values: Float64Array.from(vs),
    histogramOffsets,
    histograms,
    exemplarOffsets,
    exemplars,
    metadata: opts.metadata ?? [],
  };
}

/** One slice per series covering all its signals. */
export function wholeSlices(record: SignalRecord): SeriesSlice[] {
  const out: SeriesSlice[] = [];
  for (let i = 0; i < record.seriesCount; i++) {
    out.push({
      record,
      series: i,
      sampleStart: record.sampleOffsets[i],
      sampleEnd: record.sampleOffsets[i + 1],
      histogramStart: record.histogramOffsets[i],
      histogramEnd: record.histogramOffsets[i + 1],
      exemplarStart: record.exemplarOffsets[i],
      exemplarEnd: record.exemplarOffsets[i + 1],
    });
  }
  return out;
}

/** A float64 with exact bits, e.g. the stale marker 0x7ff0000000000002n. */
export function floatFromBits(bits: bigint): number {
  const u = new BigUint64Array([bits]);
  return new Float64Array(u.buffer)[0];
}

export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** A float histogram with one observation in the zero bucket and no spans: the smallest valid one. */
export function zeroBucketHistogram(timestampMs: number): HistogramEntry {
  return {
    timestampMs,
    histogram: {
      isFloat: true,
      count: 1,
      sum: 0,
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 1,
      positiveSpans: [],
      negativeSpans: [],
    },
  };
}

/** An integer native histogram using every field (spans with a gap, both sides, a reset hint). */
export const intHistogram: HistogramEntry = {
  timestampMs: 1_700_000_000_123,
  histogram: {
    isFloat: false,
    count: 12,
    sum: 18.4,
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: 2,
    positiveSpans: [
      { offset: 0, length: 2 },
      { offset: 1, length: 2 },
    ],
    negativeSpans: [{ offset: -3, length: 1 }],
    positiveDeltas: [1, 1, -1, 5],
    negativeDeltas: [2],
    resetHint: 2,
  },
};

/** A float native histogram with a negative schema and no zero threshold. */
export const floatHistogram: HistogramEntry = {
  timestampMs: 1_700_000_000_456,
  histogram: {
    isFloat: true,
    count: 7.5,
    sum: -3.25,
    schema: -2,
    zeroThreshold: 0,
    zeroCount: 0.5,
    positiveSpans: [{ offset: 2, length: 3 }],
    negativeSpans: [],
    positiveCounts: [1.5, 2.5, 3],
    negativeCounts: [],
    resetHint: 3,
  },
};
