import type { InternedString, SeriesHandle } from './series.js';
import { restoreStaleMarker } from './stale-marker.js';
import type { MetadataEntry, NativeHistogram } from './types.js';

/** One exemplar as appended: labels validated, sorted and interned; attached to `series`. */
export interface PendingExemplar {
  readonly pairs: readonly InternedString[];
  readonly value: number;
  readonly timestampMs: number;
}

/**
 * What an Appender commits: columns, not per-sample objects. Float samples live in growable
 * typed arrays; `sampleSeries[i]` is the handle of sample `i`. Entries at and beyond the counts
 * are stale leftovers of earlier use (the arrays are reused across commits) and must be ignored.
 * Read-only for the Serializer(s) until the commit promise settles.
 */
export class AppendBatch {
  sampleCount = 0;
  readonly sampleSeries: SeriesHandle[] = [];
  timestamps: Float64Array;
  values: Float64Array;
  /** `values` seen as u32 halves, to fix NaN bits without going through a JS number. */
  private valueBits: Uint32Array;

  histogramCount = 0;
  readonly histogramSeries: SeriesHandle[] = [];
  readonly histogramTimestamps: number[] = [];
  /** Validated copies: later changes to the caller's histogram object do not leak in. */
  readonly histograms: NativeHistogram[] = [];

  exemplarCount = 0;
  readonly exemplarSeries: SeriesHandle[] = [];
  readonly exemplars: PendingExemplar[] = [];

  readonly metadata: MetadataEntry[] = [];

  constructor(initialCapacity = 1024) {
    this.timestamps = new Float64Array(initialCapacity);
    this.values = new Float64Array(initialCapacity);
    this.valueBits = new Uint32Array(this.values.buffer);
  }

  /** Samples + histograms + exemplars + metadata entries. */
  get signals(): number {
    return this.sampleCount + this.histogramCount + this.exemplarCount + this.metadata.length;
  }

  addSample(series: SeriesHandle, timestampMs: number, value: number): void {
    const n = this.sampleCount;
    if (n === this.timestamps.length) this.grow();
    this.sampleSeries[n] = series;
    this.timestamps[n] = timestampMs;
    this.values[n] = value;
    if (Number.isNaN(value)) restoreStaleMarker(this.valueBits, n);
    this.sampleCount = n + 1;
  }

  addHistogram(series: SeriesHandle, timestampMs: number, histogram: NativeHistogram): void {
    const n = this.histogramCount;
    this.histogramSeries[n] = series;
    this.histogramTimestamps[n] = timestampMs;
    this.histograms[n] = histogram;
    this.histogramCount = n + 1;
  }

  addExemplar(series: SeriesHandle, exemplar: PendingExemplar): void {
    const n = this.exemplarCount;
    this.exemplarSeries[n] = series;
    this.exemplars[n] = exemplar;
    this.exemplarCount = n + 1;
  }

  /**
   * Forgets the contents and keeps the capacity. Object columns are truncated (they may hold the
   * caller's histograms); the handle column is kept, its stale entries only pin cached handles.
   */
  clear(): void {
    this.sampleCount = 0;
    this.histogramCount = 0;
    this.histogramSeries.length = 0;
    this.histogramTimestamps.length = 0;
    this.histograms.length = 0;
    this.exemplarCount = 0;
    this.exemplarSeries.length = 0;
    this.exemplars.length = 0;
    this.metadata.length = 0;
  }

  private grow(): void {
    const capacity = this.timestamps.length * 2 || 1024;
    const t = new Float64Array(capacity);
    t.set(this.timestamps);
    this.timestamps = t;
    const v = new Float64Array(capacity);
    v.set(this.values);
    this.values = v;
    this.valueBits = new Uint32Array(v.buffer);
  }
}
