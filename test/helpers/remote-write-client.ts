/**
 * A remote-write client for tests, independent of src/wire: builds 1.0 and 2.0 requests with
 * protobufjs from promspool's own test protos (test/fixtures/proto) and posts them with undici.
 * The daemon's receiver tests feed it; the wire tests use it as the reference encoder.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { request } from 'undici';
import type {
  Exemplar,
  HistogramEntry,
  Labels,
  Metadata,
  MetadataEntry,
  MetricType,
  NativeHistogram,
} from '../../src/serialization/types.js';

/** dist/test/helpers -> repository root; .proto files are not copied into dist. */
const PROTO_DIR = fileURLToPath(new URL('../../../test/fixtures/proto/', import.meta.url));

export interface RemoteWriteProtos {
  root: protobuf.Root;
  /** prometheus.WriteRequest */
  WriteRequest: protobuf.Type;
  /** io.prometheus.write.v2.Request */
  RequestV2: protobuf.Type;
}

let protos: RemoteWriteProtos | undefined;

/** The test protos, loaded once. */
export function remoteWriteProtos(): RemoteWriteProtos {
  if (!protos) {
    const root = protobuf.loadSync([`${PROTO_DIR}remote.proto`, `${PROTO_DIR}write_v2.proto`]);
    protos = {
      root,
      WriteRequest: root.lookupType('prometheus.WriteRequest'),
      RequestV2: root.lookupType('io.prometheus.write.v2.Request'),
    };
  }
  return protos;
}

/** One series to send. `metadata` and `createdTimestampMs` are 2.0-only (per series). */
export interface SeriesInput {
  labels: Labels;
  samples?: [timestampMs: number, value: number][];
  histograms?: HistogramEntry[];
  exemplars?: Exemplar[];
  metadata?: Metadata;
  createdTimestampMs?: number;
}

export const METRIC_TYPE_NUMBERS: Record<MetricType, number> = {
  unknown: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
};

/** Labels as sorted (name, value) pairs, like every sender must send them. */
export function sortedLabelPairs(labels: Labels): [string, string][] {
  return Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function isPositiveZero(v: number): boolean {
  return v === 0 && 1 / v > 0;
}

/**
 * A protobufjs message object for a native Histogram with proto3 default values left out
 * (except the count oneofs, whose presence says int or float), as a canonical encoder writes it.
 */
export function histogramToProto(h: NativeHistogram, timestampMs: number): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (h.isFloat) m.countFloat = h.count;
  else m.countInt = h.count;
  if (!isPositiveZero(h.sum)) m.sum = h.sum;
  if (h.schema !== 0) m.schema = h.schema;
  if (!isPositiveZero(h.zeroThreshold)) m.zeroThreshold = h.zeroThreshold;
  if (h.isFloat) m.zeroCountFloat = h.zeroCount;
  else m.zeroCountInt = h.zeroCount;
  const spans = (s: NativeHistogram['positiveSpans']) =>
    s.map((x) => {
      const o: Record<string, number> = {};
      if (x.offset !== 0) o.offset = x.offset;
      if (x.length !== 0) o.length = x.length;
      return o;
    });
  if (h.negativeSpans.length) m.negativeSpans = spans(h.negativeSpans);
  if (h.isFloat) {
    if (h.negativeCounts?.length) m.negativeCounts = h.negativeCounts;
  } else if (h.negativeDeltas?.length) m.negativeDeltas = h.negativeDeltas;
  if (h.positiveSpans.length) m.positiveSpans = spans(h.positiveSpans);
  if (h.isFloat) {
    if (h.positiveCounts?.length) m.positiveCounts = h.positiveCounts;
  } else if (h.positiveDeltas?.length) m.positiveDeltas = h.positiveDeltas;
  if (h.resetHint) m.resetHint = h.resetHint;
  if (timestampMs !== 0) m.timestamp = timestampMs;
  if (h.customValues?.length) m.customValues = h.customValues;
  return m;
}

function sampleToProto(ts: number, value: number): Record<string, number> {
  const m: Record<string, number> = {};
  if (!isPositiveZero(value)) m.value = value;
  if (ts !== 0) m.timestamp = ts;
  return m;
}

function labelsToProto(pairs: [string, string][]): { name: string; value: string }[] {
  return pairs.map(([name, value]) => ({ name, value }));
}

/** The protobufjs object of a 1.0 WriteRequest (labels sorted, proto3 defaults left out). */
export function writeRequestV1Object(series: SeriesInput[], metadata: MetadataEntry[] = []): Record<string, unknown> {
  return {
    timeseries: series.map((s) => {
      const ts: Record<string, unknown> = { labels: labelsToProto(sortedLabelPairs(s.labels)) };
      if (s.samples?.length) ts.samples = s.samples.map(([t, v]) => sampleToProto(t, v));
      if (s.exemplars?.length) {
        ts.exemplars = s.exemplars.map((e) => {
          const m: Record<string, unknown> = { labels: labelsToProto(sortedLabelPairs(e.labels)) };
          if (!isPositiveZero(e.value)) m.value = e.value;
          if (e.timestampMs !== 0) m.timestamp = e.timestampMs;
          return m;
        });
      }
      if (s.histograms?.length) ts.histograms = s.histograms.map((h) => histogramToProto(h.histogram, h.timestampMs));
      return ts;
    }),
    metadata: metadata.map((m) => {
      const o: Record<string, unknown> = {};
      const type = METRIC_TYPE_NUMBERS[m.type];
      if (type) o.type = type;
      if (m.metricFamilyName) o.metricFamilyName = m.metricFamilyName;
      if (m.help) o.help = m.help;
      if (m.unit) o.unit = m.unit;
      return o;
    }),
  };
}

/** An uncompressed 1.0 WriteRequest. */
export function encodeWriteRequestV1(series: SeriesInput[], metadata?: MetadataEntry[]): Uint8Array {
  const { WriteRequest } = remoteWriteProtos();
  return WriteRequest.encode(WriteRequest.fromObject(writeRequestV1Object(series, metadata))).finish();
}

/** A snappy-compressed 1.0 WriteRequest body. */
export function buildWriteRequestV1(series: SeriesInput[], metadata?: MetadataEntry[]): Buffer {
  return compressSync(encodeWriteRequestV1(series, metadata));
}

/** The protobufjs object of a 2.0 Request, with its symbol table (starting with ""). */
export function requestV2Object(series: SeriesInput[]): Record<string, unknown> {
  const symbols = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const refs = (labels: Labels): number[] => sortedLabelPairs(labels).flatMap(([n, v]) => [ref(n), ref(v)]);
  const timeseries = series.map((s) => {
    const ts: Record<string, unknown> = { labelsRefs: refs(s.labels) };
    if (s.samples?.length) ts.samples = s.samples.map(([t, v]) => sampleToProto(t, v));
    if (s.histograms?.length) ts.histograms = s.histograms.map((h) => histogramToProto(h.histogram, h.timestampMs));
    if (s.exemplars?.length) {
      ts.exemplars = s.exemplars.map((e) => {
        const m: Record<string, unknown> = { labelsRefs: refs(e.labels) };
        if (!isPositiveZero(e.value)) m.value = e.value;
        if (e.timestampMs !== 0) m.timestamp = e.timestampMs;
        return m;
      });
    }
    if (s.metadata) {
      const m: Record<string, number> = {};
      const type = METRIC_TYPE_NUMBERS[s.metadata.type];
      if (type) m.type = type;
      if (s.metadata.help) m.helpRef = ref(s.metadata.help);
      if (s.metadata.unit) m.unitRef = ref(s.metadata.unit);
      ts.metadata = m;
    }
    if (s.createdTimestampMs) ts.createdTimestamp = s.createdTimestampMs;
    return ts;
  });
  return { symbols, timeseries };
}

/** An uncompressed 2.0 Request. */
export function encodeWriteRequestV2(series: SeriesInput[]): Uint8Array {
  const { RequestV2 } = remoteWriteProtos();
  return RequestV2.encode(RequestV2.fromObject(requestV2Object(series))).finish();
}

/** A snappy-compressed 2.0 Request body. */
export function buildWriteRequestV2(series: SeriesInput[]): Buffer {
  return compressSync(encodeWriteRequestV2(series));
}

export interface PostResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * POSTs a snappy body with the headers a remote-write sender uses for `version`; `headers`
 * are added last, so a test can also send wrong ones on purpose.
 */
export async function postRemoteWrite(
  url: string,
  body: Uint8Array,
  opts: { version?: '1.0' | '2.0'; headers?: Record<string, string> } = {},
): Promise<PostResult> {
  const v2 = opts.version === '2.0';
  const res = await request(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': v2 ? 'application/x-protobuf;proto=io.prometheus.write.v2.Request' : 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': v2 ? '2.0.0' : '0.1.0',
      'user-agent': 'promspool-test-client',
      ...opts.headers,
    },
  });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}
