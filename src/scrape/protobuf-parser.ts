/**
 * The Prometheus protobuf exposition format (`application/vnd.google.protobuf;
 * proto=io.prometheus.client.MetricFamily; encoding=delimited`): varint-length-delimited
 * `MetricFamily` messages of client_model's metrics.proto, with the semantics of Prometheus'
 * `ProtobufParser` (model/textparse/protobufparse.go):
 * - each family with at least one metric gives a help entry (also for empty help), a unit entry
 *   when it has a unit, a type entry, then its series; families without metrics are skipped;
 * - counters, gauges and untyped metrics give one series; summaries `_count`, `_sum`, then one
 *   series per quantile (`quantile` label in OpenMetrics float spelling); classic histograms
 *   `_count`, `_sum`, then `_bucket` per bucket up to the first `+Inf` one (`le` label), adding a
 *   `+Inf` bucket of the count when there is none;
 * - a histogram with native parts (a span, a zero threshold or zero count above 0) is one
 *   `histogram` entry (integer, or float when a float count is above 0), compacted as Prometheus
 *   does; with `parseClassicHistograms` its classic series follow when it has buckets; with
 *   `ignoreNativeHistograms` every histogram is classic;
 * - exemplars: a counter's, a classic bucket's; a native histogram's own exemplars, or else its
 *   buckets', those with a timestamp only;
 * - a `timestamp_ms` of 0 is no timestamp (proto3 cannot tell them apart), start timestamps
 *   come from `created_timestamp`.
 * Departure: Prometheus decides native or classic once per family run (a classic histogram
 * followed by a native one in the same family is parsed as classic); here each metric decides.
 *
 * The fields are read in place by a bounds-checked reader: per metric, only offsets and numbers
 * are recorded; label strings are made in `labels()`, and `series()` is a key of raw bytes.
 */
import { compareUtf8 } from '../serialization/label-order.js';
import type { BucketSpan, MetricType, NativeHistogram } from '../serialization/types.js';
import { ProtoReader, WT_I64, WT_LEN, WT_VARINT } from '../wire/proto-reader.js';
import { formatOpenMetricsFloat } from './go-float.js';
import { compactBuckets } from './histogram-compact.js';
import {
  type EntryKind,
  ExpositionParseError,
  type ExpositionParser,
  type ParsedExemplar,
  type ParsedLabel,
} from './types.js';

const FORMAT_NAME = 'protobuf format';

/** Options of {@link ProtobufParser}, Prometheus' `NewProtobufParser` flags. */
export interface ProtobufParserOptions {
  /** Parse every histogram as classic, ignoring native parts (`scrape_native_histograms: false`). */
  readonly ignoreNativeHistograms?: boolean;
  /** Also give the classic series of a native histogram that has buckets (`always_scrape_classic_histograms`). */
  readonly parseClassicHistograms?: boolean;
}

/** client_model's MetricType enum, as Prometheus' `Type()` maps it. */
const PROTO_TYPES: readonly MetricType[] = ['counter', 'gauge', 'summary', 'unknown', 'histogram', 'gaugehistogram'];
const T_COUNTER = 0;
const T_GAUGE = 1;
const T_SUMMARY = 2;
const T_UNTYPED = 3;
const T_HISTOGRAM = 4;
const T_GAUGE_HISTOGRAM = 5;

/** Positions within one metric: the native histogram, `_count`, `_sum`, then bucket/quantile indexes. */
const SUB_NATIVE = -3;
const SUB_COUNT = -2;
const SUB_SUM = -1;

/** Canonical NaN for every NaN read (so the stale marker's bits never come from a body). */
function canonical(v: number): number {
  return Number.isNaN(v) ? Number.NaN : v;
}

function grow<T extends Int32Array | Float64Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as { new (n: number): T })(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function byName(a: ParsedLabel, b: ParsedLabel): number {
  return compareUtf8(a.name, b.name);
}

/** A ProtoReader whose failures are {@link ExpositionParseError}s at the failing byte. */
class ExpositionProtoReader extends ProtoReader {
  /** The family being read, named in errors once known. */
  family: string | undefined = undefined;

  override fail(what: string): never {
    throw parseError(
      this.family === undefined ? what : `metric family ${JSON.stringify(this.family)}: ${what}`,
      this.pos,
    );
  }
}

function parseError(reason: string, offset: number): ExpositionParseError {
  return new ExpositionParseError(reason, 0, 0, FORMAT_NAME, offset);
}

/**
 * Node's Buffer#latin1Slice, what `toString('latin1', start, end)` ends in, called directly to skip
 * its encoding and argument checks once per series; present on every Buffer, not in @types/node.
 */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/**
 * Node's Buffer#utf8Slice, likewise: label values are decoded with it rather than interned, since
 * labels() runs on a scrape-cache miss, where most values are new (interning them was a third
 * of a first scrape's time on 100,000 series); names, few and repeated, are interned.
 */
interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/** Parser of one protobuf exposition body. */
export class ProtobufParser implements ExpositionParser {
  /** The protobuf body is binary: see {@link ExpositionParser} for what stands in for the text. */
  readonly input = '';
  seriesStart = 0;
  seriesEnd = 0;
  value = 0;
  timestamp: number | undefined = undefined;
  metricType: MetricType = 'unknown';

  private readonly r: ExpositionProtoReader;
  private readonly buf: Buffer;
  private readonly ignoreNative: boolean;
  private readonly parseClassic: boolean;
  /** Offset of the next family's length prefix. */
  private nextFamily = 0;
  private state: 'family' | 'help' | 'unit' | 'type' | 'metric' = 'family';
  private kind: EntryKind | undefined = undefined;

  // The current family.
  private famEnd = 0;
  /** Where to look for the family's next `metric` field. */
  private famCursor = 0;
  private famType = 0;
  private famName = '';
  private famHelpStart = 0;
  private famHelpLen = 0;
  private famUnit = '';
  /**
   * Series keys are built here: a 0 byte (no text-format key starts with one), the family name's
   * length varint and bytes, a marker of the name suffix (n, c, s, q or b, the last two followed by
   * the bound's 8 bytes), then the raw label fields; one latin1 slice makes the flat key.
   */
  private keyBuf = Buffer.allocUnsafe(256);
  /** Length of the family part at the start of {@link keyBuf}. */
  private keyFamilyLen = 0;
  private nameCount = '';
  private nameSum = '';
  private nameBucket = '';

  // The current metric: labels as (field start, name start, name length, value start, value length, field end).
  private labelOffsets = new Int32Array(96);
  private labelCount = 0;
  private labelsContiguous = true;
  private metricTs = 0;
  private simpleValue = 0;
  private st = 0;
  /** Exemplar message bounds of a counter, or -1. */
  private exStart = -1;
  private exEnd = -1;
  private sampleCount = 0;
  private sampleCountFloat = 0;
  private sampleSum = 0;
  /** Summary quantiles or classic buckets: bound/quantile, value, exemplar bounds (-1: none). */
  private fieldBound = new Float64Array(16);
  private fieldValue = new Float64Array(16);
  private fieldEx = new Int32Array(32);
  private fieldCount = 0;
  /** The last bucket/quantile sub-entry (inclusive), for classic histograms the first +Inf bucket or the added one. */
  private lastField = 0;
  private isNative = false;
  private sub = 0;
  // Native parts of the current histogram.
  private schema = 0;
  private zeroThreshold = 0;
  private zeroCount = 0;
  private zeroCountFloat = 0;
  private posSpans: number[] = [];
  private negSpans: number[] = [];
  private posDeltas: number[] = [];
  private negDeltas: number[] = [];
  private posCounts: number[] = [];
  private negCounts: number[] = [];
  /** Bounds of the histogram's own exemplars (field 16), in pairs. */
  private nativeEx: number[] = [];
  /** Memo of series() for the current entry. */
  private key: string | undefined = undefined;

  constructor(body: Uint8Array, options: ProtobufParserOptions = {}) {
    this.r = new ExpositionProtoReader(body);
    this.buf = this.r.buf;
    this.ignoreNative = options.ignoreNativeHistograms ?? false;
    this.parseClassic = options.parseClassicHistograms ?? false;
  }

  next(): EntryKind | undefined {
    this.key = undefined;
    for (;;) {
      switch (this.state) {
        case 'family':
          if (!this.readFamily()) {
            this.kind = undefined;
            return undefined;
          }
          this.state = 'help';
          this.kind = 'help';
          return 'help';
        case 'help':
          this.state = 'unit';
          if (this.famUnit !== '') {
            this.kind = 'unit';
            return 'unit';
          }
          break;
        case 'unit':
          this.state = 'type';
          this.kind = 'type';
          return 'type';
        case 'type':
          this.state = 'metric';
          if (!this.nextMetric()) throw new Error('unreachable: a family without metrics was returned');
          return this.enterSub();
        case 'metric':
          if (this.advanceSub()) return this.enterSub();
          if (this.nextMetric()) return this.enterSub();
          this.state = 'family';
          break;
      }
    }
  }

  // ---- families ----

  /** Reads the next family with at least one metric; false at the end of the body. */
  private readFamily(): boolean {
    const r = this.r;
    const buf = this.buf;
    for (;;) {
      r.family = undefined;
      r.end = buf.length;
      r.pos = this.nextFamily;
      if (r.pos >= buf.length) return false;
      const end = r.delimited();
      this.nextFamily = end;
      r.end = end;
      const start = r.pos;
      let nameStart = 0;
      let nameLen = 0;
      let nameOk = true;
      let helpOk = true;
      let unitStart = 0;
      let unitLen = 0;
      let type = 0;
      let firstMetric = -1;
      this.famHelpStart = 0;
      this.famHelpLen = 0;
      while (r.pos < end) {
        const key = r.tag();
        switch (key >>> 3) {
          case 1:
            r.expect(key, WT_LEN, 'MetricFamily.name');
            nameOk = r.stringBytes(true);
            nameStart = r.strStart;
            nameLen = r.strLen;
            break;
          case 2:
            r.expect(key, WT_LEN, 'MetricFamily.help');
            helpOk = r.stringBytes(true);
            this.famHelpStart = r.strStart;
            this.famHelpLen = r.strLen;
            break;
          case 3: {
            r.expect(key, WT_VARINT, 'MetricFamily.type');
            type = r.uint64();
            break;
          }
          case 4:
            r.expect(key, WT_LEN, 'MetricFamily.metric');
            if (firstMetric === -1) firstMetric = r.pos - 1;
            r.pos = r.delimited();
            break;
          case 5:
            r.expect(key, WT_LEN, 'MetricFamily.unit');
            r.stringBytes();
            unitStart = r.strStart;
            unitLen = r.strLen;
            break;
          default:
            r.skip(key & 7);
        }
      }
      // As Prometheus: a family without metrics is skipped before anything else is checked.
      if (firstMetric === -1) continue;
      const shown = buf.toString('utf8', nameStart, nameStart + nameLen);
      if (nameLen === 0 || !nameOk) throw parseError(`invalid metric name: ${JSON.stringify(shown)}`, nameStart);
      if (!helpOk)
        throw parseError(`invalid help for metric ${JSON.stringify(shown)}: not valid UTF-8`, this.famHelpStart);
      if (type > 5) throw parseError(`unknown metric type for metric ${JSON.stringify(shown)}: ${type}`, start);
      this.famName = r.stringAt(nameStart, nameLen);
      r.family = this.famName;
      this.famType = type;
      this.metricType = PROTO_TYPES[type];
      this.famUnit = unitLen === 0 ? '' : r.stringAt(unitStart, unitLen);
      this.famEnd = end;
      this.famCursor = start;
      this.writeKeyFamily(nameStart, nameLen);
      this.nameCount = '';
      this.nameSum = '';
      this.nameBucket = '';
      return true;
    }
  }

  // ---- metrics ----

  /** Moves to the family's next metric and decodes it; false when there is none. */
  private nextMetric(): boolean {
    const r = this.r;
    r.end = this.famEnd;
    r.pos = this.famCursor;
    while (r.pos < this.famEnd) {
      const key = r.tag();
      if (key >>> 3 === 4) {
        const end = r.delimited();
        this.famCursor = end;
        this.decodeMetric(r.pos, end);
        return true;
      }
      r.skip(key & 7);
    }
    this.famCursor = this.famEnd;
    return false;
  }

  private decodeMetric(start: number, end: number): void {
    const r = this.r;
    this.seriesStart = start;
    this.seriesEnd = end;
    this.labelCount = 0;
    this.metricTs = 0;
    this.simpleValue = 0;
    this.st = 0;
    this.exStart = -1;
    this.sampleCount = 0;
    this.sampleCountFloat = 0;
    this.sampleSum = 0;
    this.fieldCount = 0;
    this.isNative = false;
    const type = this.famType;
    if (type === T_HISTOGRAM || type === T_GAUGE_HISTOGRAM) this.resetNative();
    let labelsContiguous = true;
    let lastLabelEnd = -1;
    const buf = this.buf;
    while (r.pos < end) {
      const fieldStart = r.pos;
      // Fast path for the usual label field: tag 0x0a, one-byte lengths, name then value, ASCII.
      if (buf[fieldStart] === 0x0a && fieldStart + 1 < end) {
        const len = buf[fieldStart + 1];
        const stop = fieldStart + 2 + len;
        if (len < 0x80 && stop <= end && this.fastLabelPair(fieldStart, stop)) {
          if (lastLabelEnd !== -1 && lastLabelEnd !== fieldStart) labelsContiguous = false;
          lastLabelEnd = stop;
          r.pos = stop;
          continue;
        }
      }
      const key = r.tag();
      switch (key >>> 3) {
        case 1: {
          r.expect(key, WT_LEN, 'Metric.label');
          const stop = r.delimited();
          if (lastLabelEnd !== -1 && lastLabelEnd !== fieldStart) labelsContiguous = false;
          this.readLabelPair(fieldStart, stop);
          lastLabelEnd = stop;
          break;
        }
        case 2:
          r.expect(key, WT_LEN, 'Metric.gauge');
          if (type === T_GAUGE) this.readSimple(r.delimited());
          else r.pos = r.delimited();
          break;
        case 5:
          r.expect(key, WT_LEN, 'Metric.untyped');
          if (type === T_UNTYPED) this.readSimple(r.delimited());
          else r.pos = r.delimited();
          break;
        case 3:
          r.expect(key, WT_LEN, 'Metric.counter');
          if (type === T_COUNTER) this.readCounter(r.delimited());
          else r.pos = r.delimited();
          break;
        case 4:
          r.expect(key, WT_LEN, 'Metric.summary');
          if (type === T_SUMMARY) this.readSummary(r.delimited());
          else r.pos = r.delimited();
          break;
        case 6:
          r.expect(key, WT_VARINT, 'Metric.timestamp_ms');
          this.metricTs = r.int64();
          break;
        case 7:
          r.expect(key, WT_LEN, 'Metric.histogram');
          if (type === T_HISTOGRAM || type === T_GAUGE_HISTOGRAM) this.readHistogram(r.delimited());
          else r.pos = r.delimited();
          break;
        default:
          r.skip(key & 7);
      }
    }
    this.labelsContiguous = labelsContiguous;
    this.timestamp = this.metricTs === 0 ? undefined : this.metricTs;
    if (type === T_HISTOGRAM || type === T_GAUGE_HISTOGRAM) {
      this.isNative =
        !this.ignoreNative &&
        (this.posSpans.length > 0 || this.negSpans.length > 0 || this.zeroThreshold > 0 || this.zeroCount > 0);
      if (this.isNative) this.checkSpans();
      // The buckets given, up to and including the first +Inf one; else one more (+Inf, the count).
      let last = this.fieldCount;
      for (let i = 0; i < this.fieldCount; i++) {
        if (this.fieldBound[i] === Number.POSITIVE_INFINITY) {
          last = i;
          break;
        }
      }
      this.lastField = last;
      this.sub = this.isNative ? SUB_NATIVE : SUB_COUNT;
    } else if (type === T_SUMMARY) {
      this.lastField = this.fieldCount - 1;
      this.sub = SUB_COUNT;
    } else {
      this.sub = 0;
    }
  }

  /**
   * A LabelPair of exactly (name, value) with one-byte lengths and ASCII bytes, recorded without
   * the general reader; false (nothing recorded) for anything else, which the general path reads.
   */
  private fastLabelPair(fieldStart: number, stop: number): boolean {
    const buf = this.buf;
    const p = fieldStart + 2;
    if (buf[p] !== 0x0a) return false;
    const nameLen = buf[p + 1];
    const nameStart = p + 2;
    const nameEnd = nameStart + nameLen;
    if (nameLen === 0 || nameLen >= 0x80 || nameEnd + 2 > stop || buf[nameEnd] !== 0x12) return false;
    const valueLen = buf[nameEnd + 1];
    const valueStart = nameEnd + 2;
    if (valueLen >= 0x80 || valueStart + valueLen !== stop) return false;
    let or = 0;
    for (let i = nameStart; i < nameEnd; i++) or |= buf[i];
    for (let i = valueStart; i < stop; i++) or |= buf[i];
    if (or >= 0x80) return false;
    const i = this.labelCount * 6;
    if (i + 6 > this.labelOffsets.length) this.labelOffsets = grow(this.labelOffsets, i + 6);
    const o = this.labelOffsets;
    o[i] = fieldStart;
    o[i + 1] = nameStart;
    o[i + 2] = nameLen;
    o[i + 3] = valueStart;
    o[i + 4] = valueLen;
    o[i + 5] = stop;
    this.labelCount++;
    return true;
  }

  /** Starts every series key of the family: 0, the name's length varint, the name. */
  private writeKeyFamily(nameStart: number, nameLen: number): void {
    const need = nameLen + 16;
    if (need > this.keyBuf.length) this.keyBuf = Buffer.allocUnsafe(need * 2);
    const k = this.keyBuf;
    let n = 0;
    k[n++] = 0;
    let len = nameLen;
    while (len >= 0x80) {
      k[n++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    k[n++] = len;
    this.buf.copy(k, n, nameStart, nameStart + nameLen);
    this.keyFamilyLen = n + nameLen;
  }

  /** Records one LabelPair (checked: names non-empty, both valid UTF-8, as Prometheus' decoder). */
  private readLabelPair(fieldStart: number, stop: number): void {
    const r = this.r;
    const outer = r.end;
    r.end = stop;
    let nameStart = r.pos;
    let nameLen = 0;
    let valueStart = r.pos;
    let valueLen = 0;
    while (r.pos < stop) {
      const key = r.tag();
      const field = key >>> 3;
      if (field === 1 || field === 2) {
        r.expect(key, WT_LEN, field === 1 ? 'LabelPair.name' : 'LabelPair.value');
        if (!r.stringBytes(true)) {
          throw parseError(`invalid label ${field === 1 ? 'name' : 'value'}: not valid UTF-8`, r.strStart);
        }
        if (field === 1) {
          nameStart = r.strStart;
          nameLen = r.strLen;
        } else {
          valueStart = r.strStart;
          valueLen = r.strLen;
        }
      } else r.skip(key & 7);
    }
    r.end = outer;
    if (nameLen === 0) throw parseError(`${this.metricWhere()}invalid label name: ""`, fieldStart);
    const i = this.labelCount * 6;
    const o = (this.labelOffsets = grow(this.labelOffsets, i + 6));
    o[i] = fieldStart;
    o[i + 1] = nameStart;
    o[i + 2] = nameLen;
    o[i + 3] = valueStart;
    o[i + 4] = valueLen;
    o[i + 5] = stop;
    this.labelCount++;
  }

  private metricWhere(): string {
    return `metric family ${JSON.stringify(this.famName)}: `;
  }

  private withSub(stop: number, read: (field: number, key: number) => void): void {
    const r = this.r;
    const outer = r.end;
    r.end = stop;
    while (r.pos < stop) {
      const key = r.tag();
      read(key >>> 3, key);
    }
    r.end = outer;
  }

  /** Gauge and Untyped: `value` = 1. */
  private readSimple(stop: number): void {
    const r = this.r;
    const outer = r.end;
    r.end = stop;
    while (r.pos < stop) {
      const key = r.tag();
      if (key >>> 3 === 1) {
        r.expect(key, WT_I64, 'value');
        this.simpleValue = r.double();
      } else r.skip(key & 7);
    }
    r.end = outer;
  }

  private readCounter(stop: number): void {
    const r = this.r;
    const outer = r.end;
    r.end = stop;
    while (r.pos < stop) {
      const key = r.tag();
      switch (key >>> 3) {
        case 1:
          r.expect(key, WT_I64, 'Counter.value');
          this.simpleValue = r.double();
          break;
        case 2:
          r.expect(key, WT_LEN, 'Counter.exemplar');
          this.exEnd = r.delimited();
          this.exStart = r.pos;
          r.pos = this.exEnd;
          break;
        case 3:
          r.expect(key, WT_LEN, 'Counter.created_timestamp');
          this.st = this.readTimestamp(r.delimited());
          break;
        default:
          r.skip(key & 7);
      }
    }
    r.end = outer;
  }

  /** A google.protobuf.Timestamp as Prometheus converts it: seconds * 1000 + trunc(nanos / 1e6). */
  private readTimestamp(stop: number): number {
    const r = this.r;
    const outer = r.end;
    r.end = stop;
    let seconds = 0;
    let nanos = 0;
    while (r.pos < stop) {
      const key = r.tag();
      if (key >>> 3 === 1) {
        r.expect(key, WT_VARINT, 'Timestamp.seconds');
        seconds = r.int64();
      } else if (key >>> 3 === 2) {
        r.expect(key, WT_VARINT, 'Timestamp.nanos');
        nanos = r.int64() | 0;
      } else r.skip(key & 7);
    }
    r.end = outer;
    return seconds * 1000 + Math.trunc(nanos / 1e6);
  }

  private pushField(bound: number, value: number, exStart: number, exEnd: number): void {
    const i = this.fieldCount;
    this.fieldBound = grow(this.fieldBound, i + 1);
    this.fieldValue = grow(this.fieldValue, i + 1);
    this.fieldEx = grow(this.fieldEx, 2 * i + 2);
    this.fieldBound[i] = bound;
    this.fieldValue[i] = value;
    this.fieldEx[2 * i] = exStart;
    this.fieldEx[2 * i + 1] = exEnd;
    this.fieldCount++;
  }

  private readSummary(stop: number): void {
    const r = this.r;
    this.withSub(stop, (field, key) => {
      switch (field) {
        case 1:
          r.expect(key, WT_VARINT, 'Summary.sample_count');
          this.sampleCount = r.uint64();
          break;
        case 2:
          r.expect(key, WT_I64, 'Summary.sample_sum');
          this.sampleSum = r.double();
          break;
        case 3: {
          r.expect(key, WT_LEN, 'Summary.quantile');
          let q = 0;
          let v = 0;
          this.withSub(r.delimited(), (f, k) => {
            if (f === 1) {
              r.expect(k, WT_I64, 'Quantile.quantile');
              q = r.double();
            } else if (f === 2) {
              r.expect(k, WT_I64, 'Quantile.value');
              v = r.double();
            } else r.skip(k & 7);
          });
          this.pushField(q, v, -1, -1);
          break;
        }
        case 4:
          r.expect(key, WT_LEN, 'Summary.created_timestamp');
          this.st = this.readTimestamp(r.delimited());
          break;
        default:
          r.skip(key & 7);
      }
    });
  }

  private resetNative(): void {
    this.schema = 0;
    this.zeroThreshold = 0;
    this.zeroCount = 0;
    this.zeroCountFloat = 0;
    this.posSpans.length = 0;
    this.negSpans.length = 0;
    this.posDeltas.length = 0;
    this.negDeltas.length = 0;
    this.posCounts.length = 0;
    this.negCounts.length = 0;
    this.nativeEx.length = 0;
  }

  private readHistogram(stop: number): void {
    const r = this.r;
    this.withSub(stop, (field, key) => {
      switch (field) {
        case 1:
          r.expect(key, WT_VARINT, 'Histogram.sample_count');
          this.sampleCount = r.uint64();
          break;
        case 2:
          r.expect(key, WT_I64, 'Histogram.sample_sum');
          this.sampleSum = r.double();
          break;
        case 3: {
          r.expect(key, WT_LEN, 'Histogram.bucket');
          let count = 0;
          let countFloat = 0;
          let bound = 0;
          let exStart = -1;
          let exEnd = -1;
          this.withSub(r.delimited(), (f, k) => {
            switch (f) {
              case 1:
                r.expect(k, WT_VARINT, 'Bucket.cumulative_count');
                count = r.uint64();
                break;
              case 2:
                r.expect(k, WT_I64, 'Bucket.upper_bound');
                bound = r.double();
                break;
              case 3:
                r.expect(k, WT_LEN, 'Bucket.exemplar');
                exEnd = r.delimited();
                exStart = r.pos;
                r.pos = exEnd;
                break;
              case 4:
                r.expect(k, WT_I64, 'Bucket.cumulative_count_float');
                countFloat = r.double();
                break;
              default:
                r.skip(k & 7);
            }
          });
          // As Prometheus: the float count when it is not 0.
          this.pushField(bound, countFloat !== 0 ? countFloat : count, exStart, exEnd);
          break;
        }
        case 4:
          r.expect(key, WT_I64, 'Histogram.sample_count_float');
          this.sampleCountFloat = r.double();
          break;
        case 5:
          r.expect(key, WT_VARINT, 'Histogram.schema');
          this.schema = r.sint32();
          break;
        case 6:
          r.expect(key, WT_I64, 'Histogram.zero_threshold');
          this.zeroThreshold = r.double();
          break;
        case 7:
          r.expect(key, WT_VARINT, 'Histogram.zero_count');
          this.zeroCount = r.uint64();
          break;
        case 8:
          r.expect(key, WT_I64, 'Histogram.zero_count_float');
          this.zeroCountFloat = r.double();
          break;
        case 9:
          r.expect(key, WT_LEN, 'Histogram.negative_span');
          this.readSpan(r.delimited(), this.negSpans);
          break;
        case 10:
          this.readRepeatedSint64(key, this.negDeltas, 'Histogram.negative_delta');
          break;
        case 11:
          this.readRepeatedDouble(key, this.negCounts, 'Histogram.negative_count');
          break;
        case 12:
          r.expect(key, WT_LEN, 'Histogram.positive_span');
          this.readSpan(r.delimited(), this.posSpans);
          break;
        case 13:
          this.readRepeatedSint64(key, this.posDeltas, 'Histogram.positive_delta');
          break;
        case 14:
          this.readRepeatedDouble(key, this.posCounts, 'Histogram.positive_count');
          break;
        case 15:
          r.expect(key, WT_LEN, 'Histogram.created_timestamp');
          this.st = this.readTimestamp(r.delimited());
          break;
        case 16: {
          r.expect(key, WT_LEN, 'Histogram.exemplars');
          const end = r.delimited();
          this.nativeEx.push(r.pos, end);
          r.pos = end;
          break;
        }
        default:
          r.skip(key & 7);
      }
    });
  }

  /** A BucketSpan as (offset, length) pushed onto `out`. */
  private readSpan(stop: number, out: number[]): void {
    const r = this.r;
    let offset = 0;
    let length = 0;
    this.withSub(stop, (f, k) => {
      if (f === 1) {
        r.expect(k, WT_VARINT, 'BucketSpan.offset');
        offset = r.sint32();
      } else if (f === 2) {
        r.expect(k, WT_VARINT, 'BucketSpan.length');
        const lo = r.varint64();
        // uint32: the low half, as Go truncates.
        length = lo;
      } else r.skip(k & 7);
    });
    out.push(offset, length);
  }

  /** A repeated sint64, packed or not. */
  private readRepeatedSint64(key: number, out: number[], what: string): void {
    const r = this.r;
    if ((key & 7) === WT_VARINT) {
      out.push(r.sint64());
      return;
    }
    r.expect(key, WT_LEN, what);
    const stop = r.delimited();
    const outer = r.end;
    r.end = stop;
    while (r.pos < stop) out.push(r.sint64());
    r.end = outer;
  }

  /** A repeated double, packed or not. */
  private readRepeatedDouble(key: number, out: number[], what: string): void {
    const r = this.r;
    if ((key & 7) === WT_I64) {
      out.push(r.double());
      return;
    }
    r.expect(key, WT_LEN, what);
    const stop = r.delimited();
    if ((stop - r.pos) % 8 !== 0) r.fail(`${what}: packed length ${stop - r.pos} is not a multiple of 8`);
    while (r.pos < stop) out.push(r.double());
  }

  private isFloatHistogram(): boolean {
    return this.sampleCountFloat > 0 || this.zeroCountFloat > 0;
  }

  /** Prometheus' checkNativeHistogramConsistency: the spans' lengths must match the buckets. */
  private checkSpans(): void {
    const isFloat = this.isFloatHistogram();
    const sides: [string, number[], number][] = [
      ['positive', this.posSpans, isFloat ? this.posCounts.length : this.posDeltas.length],
      ['negative', this.negSpans, isFloat ? this.negCounts.length : this.negDeltas.length],
    ];
    for (const [side, spans, have] of sides) {
      let total = 0;
      for (let i = 1; i < spans.length; i += 2) total += spans[i];
      if (total !== have) {
        throw parseError(
          `histogram ${JSON.stringify(this.famName)}: ${side} side: spans require ${total} buckets, have ${have}`,
          this.seriesStart,
        );
      }
    }
  }

  // ---- entries within a metric ----

  /** Moves to the metric's next series; false when the metric has no more. */
  private advanceSub(): boolean {
    const t = this.famType;
    if (t === T_SUMMARY) {
      if (this.sub >= this.lastField && this.sub >= SUB_SUM) return false;
      this.sub++;
      return true;
    }
    if (t === T_HISTOGRAM || t === T_GAUGE_HISTOGRAM) {
      if (this.sub === SUB_NATIVE) {
        if (!this.parseClassic || this.fieldCount === 0) return false;
        this.sub = SUB_COUNT;
        return true;
      }
      if (this.sub >= this.lastField) return false;
      this.sub++;
      return true;
    }
    return false;
  }

  /** Sets value for the current sub-entry and returns its kind. */
  private enterSub(): EntryKind {
    this.key = undefined;
    const t = this.famType;
    const sub = this.sub;
    if (sub === SUB_NATIVE) {
      this.value = Number.NaN;
      this.kind = 'histogram';
      return 'histogram';
    }
    let v: number;
    if (t === T_SUMMARY) {
      v = sub === SUB_COUNT ? this.sampleCount : sub === SUB_SUM ? this.sampleSum : this.fieldValue[sub];
    } else if (t === T_HISTOGRAM || t === T_GAUGE_HISTOGRAM) {
      const count = this.sampleCountFloat !== 0 ? this.sampleCountFloat : this.sampleCount;
      v =
        sub === SUB_COUNT
          ? count
          : sub === SUB_SUM
            ? this.sampleSum
            : sub < this.fieldCount
              ? this.fieldValue[sub]
              : count;
    } else {
      v = this.simpleValue;
    }
    this.value = canonical(v);
    this.kind = 'series';
    return 'series';
  }

  /** The current series' metric name (family name plus Prometheus' suffix). */
  private seriesName(): string {
    const t = this.famType;
    if (this.sub === SUB_NATIVE || (t !== T_SUMMARY && t !== T_HISTOGRAM && t !== T_GAUGE_HISTOGRAM))
      return this.famName;
    if (this.sub === SUB_COUNT) return (this.nameCount ||= `${this.famName}_count`);
    if (this.sub === SUB_SUM) return (this.nameSum ||= `${this.famName}_sum`);
    if (t === T_SUMMARY) return this.famName;
    return (this.nameBucket ||= `${this.famName}_bucket`);
  }

  series(): string {
    if (this.key !== undefined) return this.key;
    const sub = this.sub;
    const t = this.famType;
    const o = this.labelOffsets;
    const nl = this.labelCount;
    const labelBytes = nl === 0 ? 0 : this.labelsContiguous ? o[(nl - 1) * 6 + 5] - o[0] : this.scatteredLabelBytes();
    const need = this.keyFamilyLen + 9 + labelBytes;
    if (need > this.keyBuf.length) {
      const grown = Buffer.allocUnsafe(need * 2);
      this.keyBuf.copy(grown, 0, 0, this.keyFamilyLen);
      this.keyBuf = grown;
    }
    const k = this.keyBuf;
    let n = this.keyFamilyLen;
    if (sub === SUB_NATIVE || (t !== T_SUMMARY && t !== T_HISTOGRAM && t !== T_GAUGE_HISTOGRAM)) k[n++] = 0x6e;
    else if (sub === SUB_COUNT) k[n++] = 0x63;
    else if (sub === SUB_SUM) k[n++] = 0x73;
    else {
      k[n++] = t === T_SUMMARY ? 0x71 : 0x62;
      f64[0] = sub < this.fieldCount ? this.fieldBound[sub] : Number.POSITIVE_INFINITY;
      for (let i = 0; i < 8; i++) k[n++] = f64Bytes[i];
    }
    const buf = this.buf;
    if (nl > 0 && this.labelsContiguous) {
      n += buf.copy(k, n, o[0], o[(nl - 1) * 6 + 5]);
    } else {
      for (let l = 0; l < nl; l++) for (let i = o[l * 6]; i < o[l * 6 + 5]; i++) k[n++] = buf[i];
    }
    this.key = (k as unknown as Latin1Slicer).latin1Slice(0, n);
    return this.key;
  }

  private scatteredLabelBytes(): number {
    const o = this.labelOffsets;
    let total = 0;
    for (let l = 0; l < this.labelCount; l++) total += o[l * 6 + 5] - o[l * 6];
    return total;
  }

  labels(): ParsedLabel[] {
    const r = this.r;
    const o = this.labelOffsets;
    const b = this.buf as unknown as Utf8Slicer;
    const out: ParsedLabel[] = [{ name: '__name__', value: this.seriesName() }];
    for (let i = 0; i < this.labelCount; i++) {
      const k = i * 6;
      const vs = o[k + 3];
      out.push({ name: r.stringAt(o[k + 1], o[k + 2]), value: o[k + 4] === 0 ? '' : b.utf8Slice(vs, vs + o[k + 4]) });
    }
    const sub = this.sub;
    const t = this.famType;
    if (sub >= 0 && (t === T_SUMMARY || t === T_HISTOGRAM || t === T_GAUGE_HISTOGRAM)) {
      if (t === T_SUMMARY) out.push({ name: 'quantile', value: formatOpenMetricsFloat(this.fieldBound[sub]) });
      else
        out.push({ name: 'le', value: sub < this.fieldCount ? formatOpenMetricsFloat(this.fieldBound[sub]) : '+Inf' });
    }
    out.sort(byName);
    for (let i = 1; i < out.length; i++) {
      if (out[i].name === out[i - 1].name) {
        throw parseError(
          `${this.metricWhere()}duplicate label name ${JSON.stringify(out[i].name)} in series of ${JSON.stringify(out[0].name === '__name__' ? this.seriesName() : this.famName)}`,
          this.seriesStart,
        );
      }
    }
    return out;
  }

  histogram(): NativeHistogram {
    if (this.kind !== 'histogram') throw new Error('histogram() called on a non-histogram entry');
    const isFloat = this.isFloatHistogram();
    const spans = (flat: number[]): BucketSpan[] => {
      const s: BucketSpan[] = [];
      for (let i = 0; i < flat.length; i += 2) s.push({ offset: flat[i], length: flat[i + 1] });
      return s;
    };
    const pos = compactBuckets(isFloat ? this.posCounts : this.posDeltas, spans(this.posSpans), !isFloat);
    const neg = compactBuckets(isFloat ? this.negCounts : this.negDeltas, spans(this.negSpans), !isFloat);
    const h: NativeHistogram = {
      isFloat,
      count: isFloat ? this.sampleCountFloat : this.sampleCount,
      sum: canonical(this.sampleSum),
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: isFloat ? this.zeroCountFloat : this.zeroCount,
      positiveSpans: pos.spans,
      negativeSpans: neg.spans,
      resetHint: this.famType === T_GAUGE_HISTOGRAM ? 3 : 0,
    };
    if (isFloat) {
      h.positiveCounts = pos.buckets;
      h.negativeCounts = neg.buckets;
    } else {
      h.positiveDeltas = pos.buckets;
      h.negativeDeltas = neg.buckets;
    }
    return h;
  }

  exemplar(): ParsedExemplar | undefined {
    return this.exemplars()[0];
  }

  exemplars(): ParsedExemplar[] {
    const t = this.famType;
    const sub = this.sub;
    if (t === T_COUNTER) return this.exStart === -1 ? [] : [this.readExemplar(this.exStart, this.exEnd)];
    if (t !== T_HISTOGRAM && t !== T_GAUGE_HISTOGRAM) return [];
    if (sub === SUB_NATIVE) {
      // The histogram's own exemplars if it has any, else its buckets': only those with a timestamp.
      const out: ParsedExemplar[] = [];
      if (this.nativeEx.length > 0) {
        for (let i = 0; i < this.nativeEx.length; i += 2) {
          const e = this.readExemplar(this.nativeEx[i], this.nativeEx[i + 1]);
          if (e.timestamp !== undefined) out.push(e);
        }
      } else {
        for (let i = 0; i < this.fieldCount; i++) {
          if (this.fieldEx[2 * i] === -1) continue;
          const e = this.readExemplar(this.fieldEx[2 * i], this.fieldEx[2 * i + 1]);
          if (e.timestamp !== undefined) out.push(e);
        }
      }
      return out;
    }
    if (sub < 0 || sub >= this.fieldCount || this.fieldEx[2 * sub] === -1) return [];
    return [this.readExemplar(this.fieldEx[2 * sub], this.fieldEx[2 * sub + 1])];
  }

  private readExemplar(start: number, stop: number): ParsedExemplar {
    const r = this.r;
    const savedPos = r.pos;
    const savedEnd = r.end;
    r.pos = start;
    r.end = stop;
    const labels: ParsedLabel[] = [];
    let value = 0;
    let timestamp: number | undefined;
    while (r.pos < stop) {
      const key = r.tag();
      switch (key >>> 3) {
        case 1: {
          r.expect(key, WT_LEN, 'Exemplar.label');
          const end = r.delimited();
          let name = '';
          let val = '';
          this.withSub(end, (f, k) => {
            if (f === 1 || f === 2) {
              r.expect(k, WT_LEN, f === 1 ? 'LabelPair.name' : 'LabelPair.value');
              const s = r.string();
              if (f === 1) name = s;
              else val = s;
            } else r.skip(k & 7);
          });
          labels.push({ name, value: val });
          break;
        }
        case 2:
          r.expect(key, WT_I64, 'Exemplar.value');
          value = canonical(r.double());
          break;
        case 3:
          r.expect(key, WT_LEN, 'Exemplar.timestamp');
          timestamp = this.readTimestamp(r.delimited());
          break;
        default:
          r.skip(key & 7);
      }
    }
    r.pos = savedPos;
    r.end = savedEnd;
    labels.sort(byName);
    return { labels, value, timestamp };
  }

  startTimestamp(): number {
    const t = this.famType;
    return t === T_COUNTER || t === T_SUMMARY || t === T_HISTOGRAM || t === T_GAUGE_HISTOGRAM ? this.st : 0;
  }

  metricFamily(): string {
    return this.famName;
  }

  help(): string {
    return this.r.stringAt(this.famHelpStart, this.famHelpLen);
  }

  unit(): string {
    return this.famUnit;
  }

  /** The protobuf format has no comments. */
  comment(): string {
    return '';
  }
}
