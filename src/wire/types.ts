import type { MetadataEntry, NativeHistogram, SignalRecord } from '../serialization/types.js';

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
  /**
   * Optional: the same request from `runs[0..count)` (each series whole, samples only), or
   * undefined when this encoder cannot encode them so: the caller then encodes the batch's slices
   * with {@link encode}. The bytes are what `encode` writes for the same series as slices.
   */
  encodeRuns?(runs: readonly SeriesRun[], count: number, metadata: readonly MetadataEntry[]): Uint8Array | undefined;
}

/**
 * Series of one record taken whole into a request, without a {@link SeriesSlice} each: the
 * record's series `series[start..end)`, each with all its samples and no histograms or exemplars.
 * A relayed batch is a few such runs per record (BatchBuilder's `runs`).
 */
export interface SeriesRun {
  record: SignalRecord;
  /** Series indices of the record (a work's `series`), in record order. */
  series: Uint32Array;
  start: number;
  end: number;
}

/**
 * What a remote-write decoder reports, in wire order: `series` opens a series and the
 * `sample`/`histogram`/`exemplar` calls after it belong to it. No object is created per sample.
 * If decoding throws, the visitor has already seen a prefix of the request: discard it
 * (e.g. roll the Appender back).
 */
export interface RemoteWriteVisitor {
  /**
   * `labels` is `[name0, value0, name1, value1, ...]`, validated (non-empty, sorted by name
   * bytes, unique). It is a reused array: copy what you keep before returning.
   * `createdTimestampMs` is the 2.0 created (start) timestamp, 0 when unset and always 0 for 1.0.
   */
  series(labels: readonly string[], createdTimestampMs: number): void;
  sample(timestampMs: number, value: number): void;
  /** The histogram object is new for every call and owned by the visitor. */
  histogram(timestampMs: number, histogram: NativeHistogram): void;
  /** `labels` as in `series`, reused likewise; may be empty. */
  exemplar(labels: readonly string[], value: number, timestampMs: number): void;
  /**
   * 1.0: the request's metadata entries. 2.0: the metadata of the series just opened, named
   * after its `__name__` label; only sent when it says something (a type, help or unit).
   */
  metadata(entry: MetadataEntry): void;
  /**
   * Optional fast path, offered before `series` when a series' label set can be named by bytes:
   * `key[start, end)` is the label set encoded as 1.0 `Label` fields (1.0: the series' Label
   * fields exactly as they are on the wire when they are contiguous; 2.0: the resolved labels,
   * canonically encoded), so equal bytes always mean equal labels, whichever version sent them.
   * Return true if this visitor recognises the bytes from an earlier `series` call that followed
   * the same bytes: the decoder then does NOT call `series` (1.0 also skips decoding and
   * re-validating the labels, which those bytes already passed). Return false and `series`
   * follows, or the decoder throws for invalid labels. `key` is only valid during this call and
   * the `series` call right after it.
   */
  knownSeries?(key: Uint8Array, start: number, end: number, createdTimestampMs: number): boolean;
}

/** How much one decoded request held (for the 2.0 `X-Prometheus-Remote-Write-*-Written` headers). */
export interface DecodedCounts {
  series: number;
  samples: number;
  histograms: number;
  exemplars: number;
  metadata: number;
}
