import type { SnappyElements } from '../wire/snappy.js';
/**
 * The data model shared by every layer: what a user appends, and the columnar record the
 * Serializer writes and the Endpoint reads back. Nothing here allocates per sample.
 */

/** Label set as the user gives it. `__name__` is the metric name. */
export type Labels = Record<string, string>;

export interface BucketSpan {
  /** Gap to the previous span (or the starting bucket index for the first span). */
  offset: number;
  length: number;
}

/**
 * A native histogram, as in the remote-write protobuf.
 * Integer histogram: `positiveDeltas`/`negativeDeltas` hold delta-encoded bucket counts and
 * `count`/`zeroCount` are integers. Float histogram: `positiveCounts`/`negativeCounts` hold
 * absolute bucket counts. A histogram is a float histogram iff `isFloat` is true.
 *
 * Schema -4..8 is exponential; schema -53 has custom buckets (Prometheus' NHCB): the bucket at
 * index `i` of the positive spans has upper bound `customValues[i]` (inclusive), the one at index
 * `customValues.length` is the +Inf bucket, and there is no zero bucket and no negative side.
 */
export interface NativeHistogram {
  isFloat: boolean;
  count: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positiveSpans: BucketSpan[];
  negativeSpans: BucketSpan[];
  positiveDeltas?: number[];
  negativeDeltas?: number[];
  positiveCounts?: number[];
  negativeCounts?: number[];
  /** 0 unknown, 1 yes, 2 no, 3 gauge (protobuf enum values). */
  resetHint?: 0 | 1 | 2 | 3;
  /**
   * Schema -53 only (protobuf field 16 in 1.0 and 2.0): the custom buckets' upper bounds,
   * strictly increasing, without the implicit +Inf. Absent or empty for exponential schemas.
   */
  customValues?: number[];
}

export interface Exemplar {
  labels: Labels;
  value: number;
  timestampMs: number;
}

export type MetricType =
  | 'unknown'
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset';

/**
 * Every metric type, in the order of remote-write's `MetricMetadata.MetricType` enum: the index is
 * the protobuf number (1.0 and 2.0 share it).
 */
export const METRIC_TYPES: readonly MetricType[] = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

const METRIC_TYPE_SET: ReadonlySet<string> = new Set(METRIC_TYPES);

export function isMetricType(type: unknown): type is MetricType {
  return typeof type === 'string' && METRIC_TYPE_SET.has(type);
}

export interface Metadata {
  type: MetricType;
  help: string;
  unit: string;
}

export interface MetadataEntry extends Metadata {
  metricFamilyName: string;
}

export interface HistogramEntry {
  timestampMs: number;
  histogram: NativeHistogram;
}

export interface ExemplarEntry {
  /** (nameRef, valueRef) pairs into the record's string table, sorted by name. */
  labelRefs: Uint32Array;
  value: number;
  timestampMs: number;
}

/**
 * One record as stored on disk, decoded. Series-major and columnar:
 * series `i` has labels `labelRefs[2*labelOffsets[i] .. 2*labelOffsets[i+1])` as (name, value)
 * string-table refs sorted by name, float samples `sampleOffsets[i] .. sampleOffsets[i+1]` in
 * `timestamps`/`values` (append order, which is the order they must be sent in), histograms
 * `histogramOffsets[i] .. histogramOffsets[i+1]` in `histograms`, exemplars likewise.
 * `seriesHash[i]` is the 32-bit label hash used for sharding, computed once when the series was
 * first appended and stored so readers never rehash.
 */
export interface SignalRecord {
  strings: string[];
  seriesCount: number;
  labelOffsets: Uint32Array;
  labelRefs: Uint32Array;
  seriesHash: Uint32Array;
  sampleOffsets: Uint32Array;
  timestamps: Float64Array;
  values: Float64Array;
  histogramOffsets: Uint32Array;
  histograms: HistogramEntry[];
  exemplarOffsets: Uint32Array;
  exemplars: ExemplarEntry[];
  metadata: MetadataEntry[];
  /**
   * Optional series identities: within one `seriesIdScope`, equal ids always name the same label
   * set (the converse need not hold). Readers use them to cache per-series work (the encoded
   * labels) across records; records without them (older writers, tests) are handled in full.
   */
  seriesIds?: Uint32Array;
  /** Names the id space of `seriesIds`: a random number chosen per writer process (and id wrap). */
  seriesIdScope?: number;
  /**
   * Set on records stored as the remote-write bytes they arrived in (see `raw-record.ts`): each
   * series' 1.0 `TimeSeries` body as received. Writers of 1.0 copy it instead of encoding;
   * `strings`, `labelOffsets`, `labelRefs`, `timestamps` and `values` are decoded from it only
   * when something asks (external labels, a ttl or age cut, inspection).
   */
  rawSeries?: RawSeries;
  /**
   * Set on version-2 kind-2 records: the series in groups whose bytes are each a run of snappy
   * elements, for senders whose loops own whole groups (see `raw-record.ts`).
   */
  rawGroups?: RawGroups;
  /**
   * Set by an endpoint's write relabeling (never stored): the labels of the series the rules
   * changed. Encoders write these instead of the series' own labels merged with the external ones.
   */
  relabeled?: RelabeledLabels | undefined;
  /**
   * Set by an endpoint (never stored) on a relayed record whose series already carry the external
   * labels: relabeled at ingest under the endpoint's current rules and external labels
   * (src/relay/ingest-relabel.ts). Encoders write its series' labels as they are, merging nothing:
   * a rule may have dropped an external label, which a merge would put back.
   */
  externalLabelsMerged?: boolean;
}

/**
 * The groups of a version-2 kind-2 record. Group `g` of `count` holds series
 * `[seriesEnd[g - 1] ?? 0, seriesEnd[g])`: exactly those whose virtual shard `v` has
 * `v % count === g`. `elements[g]` uncompresses to their `WriteRequest.timeseries` fields.
 */
/**
 * Labels an endpoint's write relabeling gave the series of one record. Series `i` changed when
 * `start[i] >= 0`: its labels, external labels included, sorted by name, are the remote-write 1.0
 * `Label` fields `bytes[start[i] .. start[i] + length[i])`, ready to copy into a `TimeSeries`.
 */
export interface RelabeledLabels {
  readonly bytes: Uint8Array;
  readonly start: Int32Array;
  readonly length: Int32Array;
}

export interface RawGroups {
  readonly count: number;
  readonly seriesEnd: Uint32Array;
  /** Samples per group. */
  readonly samples: Uint32Array;
  readonly elements: readonly SnappyElements[];
}

/** See {@link SignalRecord.rawSeries}. */
export interface RawSeries {
  /** The uncompressed 1.0 `WriteRequest`. */
  readonly bytes: Uint8Array;
  /** Series `i`'s `TimeSeries` body is `bytes[start[i], end[i])`; its labels (validated, sorted) come first. */
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  /** Where series `i`'s label fields end (decoded on first access). */
  readonly labelsEnd: Uint32Array;
  readonly minTimestampMs: number;
  readonly maxTimestampMs: number;
  /**
   * True while `bytes` still hold exactly the record's samples. A cut (ttl, sample age) that
   * removes samples from the columns sets it false: from then on only the labels are copied.
   */
  intact: boolean;
}

/** Samples + histograms + exemplars + metadata entries in a record. */
export function recordSignalCount(r: SignalRecord): number {
  return r.timestamps.length + r.histograms.length + r.exemplars.length + r.metadata.length;
}

/** Upper bound of one decompressed record (either kind); a length prefix above it is corruption, not a reason to allocate. */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024;
