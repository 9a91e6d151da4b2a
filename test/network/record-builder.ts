import type { HistogramEntry, Labels, MetadataEntry, SignalRecord } from '../../src/serialization/types.js';
import { buildRecord as buildWireRecord } from '../wire/record-builder.js';

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
  return buildWireRecord(series, { metadata });
}

/** `n` samples `[t0 + i*step, i]`. */
export function samples(n: number, t0 = 1000, step = 1): [number, number][] {
  return Array.from({ length: n }, (_, i) => [t0 + i * step, i] as [number, number]);
}
