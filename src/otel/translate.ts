/**
 * Turns one collection of the OTel SDK (`ResourceMetrics`) into Prometheus series, metadata and
 * exemplars as Prometheus' OTLP endpoint would store them (prometheusremotewrite FromMetrics):
 * gauges and non-monotonic sums as gauges, monotonic sums as counters named `_total`, explicit
 * histograms as `_bucket{le}`/`_sum`/`_count`, exponential histograms as native histograms, one
 * `target_info` series per resource with its non-identifying attributes, timestamps from the
 * data points.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Appender } from '../queue-types.js';
import type { Labels, Metadata, MetricType, NativeHistogram } from '../serialization/types.js';
import { exponentialToNative } from './exponential.js';
import { IDENTIFYING_ATTRIBUTES, pointLabels, type ResourceLabels, resourceLabels } from './labels.js';
import { metadataUnit, metricName, type OtelMetricKind, shouldEscape, type TranslationStrategy } from './naming.js';

/** What a translation writes into; an {@link Appender} is one. */
export type TranslationSink = Pick<Appender, 'append' | 'appendHistogram' | 'appendExemplar' | 'updateMetadata'>;

/** How names and resources are translated (the subset of Prometheus' `otlp` settings that applies). */
export interface TranslationOptions {
  /** Prometheus' `otlp.translation_strategy`; default `UnderscoreEscapingWithSuffixes` (Prometheus 3's default). */
  translationStrategy?: TranslationStrategy;
  /** Prometheus' `otlp.promote_resource_attributes`: resource attributes added as labels to every series. */
  promoteResourceAttributes?: readonly string[];
  /** Prometheus' `otlp.keep_identifying_resource_attributes`: `service.*` also kept in `target_info`. */
  keepIdentifyingResourceAttributes?: boolean;
  /** No `target_info` series (Prometheus' `--web.otlp-receiver`'s `DisableTargetInfo`). */
  disableTargetInfo?: boolean;
}

/** What one translation appended. */
export interface TranslationResult {
  samples: number;
  histograms: number;
  exemplars: number;
  /** Metrics or series left out, each with why (delta temporality, a name that cannot be translated, a label set the queue refused). */
  skipped: string[];
}

/** An exemplar as the SDK's `Exemplar` type has it (the SDK may attach them to data points). */
interface OtelExemplar {
  filteredAttributes?: Attributes;
  value: number;
  timestamp?: HrTime;
  spanId?: string;
  traceId?: string;
}

/** Prometheus' PromQL lookback delta; `target_info` gets a sample every half of it across a collection. */
const LOOKBACK_DELTA_MS = 5 * 60_000;
const TARGET_INFO = 'target_info';
const TARGET_INFO_METADATA: Metadata = { type: 'gauge', help: 'Target metadata', unit: '' };

/** An HrTime as Prometheus' ms timestamp (ns / 1e6, truncated). */
export function hrTimeToMs(t: HrTime): number {
  return t[0] * 1000 + Math.trunc(t[1] / 1e6);
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`, the spelling of `le`: the shortest digits that
 * round-trip, never in exponent form.
 */
export function formatLe(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  const s = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const [, sign, int, frac = '', expText] = m;
  const digits = int! + frac;
  const point = 1 + Number(expText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function kindOf(metric: MetricData): OtelMetricKind {
  switch (metric.dataPointType) {
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.SUM:
      return metric.isMonotonic ? 'monotonic-counter' : 'non-monotonic-counter';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'exponential-histogram';
  }
}

const METRIC_TYPES: Record<OtelMetricKind, MetricType> = {
  gauge: 'gauge',
  'monotonic-counter': 'counter',
  'non-monotonic-counter': 'gauge',
  histogram: 'histogram',
  'exponential-histogram': 'histogram',
};

function isAllZeroHex(id: string): boolean {
  return /^0*$/.test(id);
}

/**
 * Appends `resourceMetrics` to `sink`. A metric that cannot be translated (delta temporality, a
 * name that escapes to nothing) or a series the sink refuses (its TypeError) is left out and
 * listed in `skipped`; everything else is appended. Metadata is appended once per metric family.
 */
export function translateResourceMetrics(
  resourceMetrics: ResourceMetrics,
  sink: TranslationSink,
  options: TranslationOptions = {},
): TranslationResult {
  const strategy = options.translationStrategy ?? 'UnderscoreEscapingWithSuffixes';
  const escaping = shouldEscape(strategy);
  const result: TranslationResult = { samples: 0, histograms: 0, exemplars: 0, skipped: [] };
  const resourceAttributes = resourceMetrics.resource.attributes;
  let resource: ResourceLabels;
  try {
    resource = resourceLabels(resourceAttributes, escaping, options.promoteResourceAttributes ?? []);
  } catch (err) {
    result.skipped.push(`resource: ${(err as Error).message}`);
    return result;
  }
  let earliest = Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;

  /** Runs one append; a refusal skips that series only. */
  const guarded = (what: () => string, append: () => void): boolean => {
    try {
      append();
      return true;
    } catch (err) {
      result.skipped.push(`${what()}: ${(err as Error).message}`);
      return false;
    }
  };
  const describe = (labels: Labels) => {
    const { __name__, ...rest } = labels;
    return `${__name__ ?? ''}${JSON.stringify(rest)}`;
  };
  const sample = (labels: Labels, ts: number, value: number): boolean => {
    const ok = guarded(
      () => describe(labels),
      () => sink.append(labels, ts, value),
    );
    if (ok) result.samples++;
    return ok;
  };
  const exemplars = (labels: Labels, list: readonly OtelExemplar[], pointTs: number) => {
    for (const ex of list) {
      const exLabels: Labels = {};
      let runes = 0;
      if (ex.traceId !== undefined && !isAllZeroHex(ex.traceId)) {
        exLabels.trace_id = ex.traceId;
        runes += 'trace_id'.length + ex.traceId.length;
      }
      if (ex.spanId !== undefined && !isAllZeroHex(ex.spanId)) {
        exLabels.span_id = ex.spanId;
        runes += 'span_id'.length + ex.spanId.length;
      }
      // Prometheus adds the filtered attributes only when all of them fit in the 128-rune limit.
      const attrs = Object.entries(ex.filteredAttributes ?? {}).flatMap(([k, v]) =>
        v === undefined || v === null ? [] : [[k, Array.isArray(v) ? JSON.stringify(v) : String(v)] as const],
      );
      for (const [k, v] of attrs) runes += [...k].length + [...v].length;
      if (runes <= 128) for (const [k, v] of attrs) exLabels[k] = v;
      const ts = ex.timestamp !== undefined ? hrTimeToMs(ex.timestamp) : pointTs;
      const ok = guarded(
        () => `exemplar of ${describe(labels)}`,
        () => sink.appendExemplar(labels, { labels: exLabels, value: ex.value, timestampMs: ts }),
      );
      if (ok) result.exemplars++;
    }
  };
  const exemplarsOf = (point: DataPoint<unknown>): readonly OtelExemplar[] =>
    (point as { exemplars?: OtelExemplar[] }).exemplars ?? [];

  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const { name: otelName, unit, description } = metric.descriptor;
      if (metric.dataPoints.length === 0) continue;
      for (const p of metric.dataPoints) {
        const ts = hrTimeToMs(p.endTime);
        if (ts < earliest) earliest = ts;
        if (ts > latest) latest = ts;
      }
      if (
        metric.dataPointType !== DataPointType.GAUGE &&
        metric.aggregationTemporality !== AggregationTemporality.CUMULATIVE
      ) {
        result.skipped.push(
          `${otelName}: invalid temporality and type combination (delta; Prometheus takes cumulative only)`,
        );
        continue;
      }
      const kind = kindOf(metric);
      let family: string;
      try {
        family = metricName(otelName, unit, kind, strategy);
      } catch (err) {
        result.skipped.push((err as Error).message);
        continue;
      }
      const extras = (name: string, more?: Labels): Labels => ({ __name__: name, ...more });
      const labelsFor = (attributes: Attributes, name: string, more?: Labels): Labels | undefined => {
        try {
          return pointLabels(attributes, resource, escaping, extras(name, more));
        } catch (err) {
          result.skipped.push(`${otelName}: ${(err as Error).message}`);
          return undefined;
        }
      };
      const meta: Metadata = { type: METRIC_TYPES[kind], help: description, unit: metadataUnit(unit) };
      guarded(
        () => `metadata of ${family}`,
        () => sink.updateMetadata(family, meta),
      );

      switch (metric.dataPointType) {
        case DataPointType.GAUGE:
        case DataPointType.SUM:
          for (const p of metric.dataPoints) {
            const labels = labelsFor(p.attributes, family);
            if (labels === undefined) continue;
            const ts = hrTimeToMs(p.endTime);
            // Prometheus attaches exemplars to sums only.
            if (sample(labels, ts, p.value) && metric.dataPointType === DataPointType.SUM) {
              exemplars(labels, exemplarsOf(p), ts);
            }
          }
          break;
        case DataPointType.HISTOGRAM:
          for (const p of metric.dataPoints)
            appendHistogramPoint(p, family, labelsFor, sample, exemplars, exemplarsOf(p));
          break;
        case DataPointType.EXPONENTIAL_HISTOGRAM:
          for (const p of metric.dataPoints) {
            const labels = labelsFor(p.attributes, family);
            if (labels === undefined) continue;
            const ts = hrTimeToMs(p.endTime);
            let h: NativeHistogram;
            try {
              h = exponentialToNative(p.value);
            } catch (err) {
              result.skipped.push(`${describe(labels)}: ${(err as Error).message}`);
              continue;
            }
            const ok = guarded(
              () => describe(labels),
              () => sink.appendHistogram(labels, ts, h),
            );
            if (!ok) continue;
            result.histograms++;
            exemplars(labels, exemplarsOf(p), ts);
          }
          break;
      }
    }
  }

  if (!options.disableTargetInfo && latest >= earliest) {
    appendTargetInfo(resourceAttributes, resource, escaping, options, earliest, latest, sink, sample, result);
  }
  return result;
}

type LabelsFor = (attributes: Attributes, name: string, more?: Labels) => Labels | undefined;
type SampleFn = (labels: Labels, ts: number, value: number) => boolean;
type ExemplarsFn = (labels: Labels, list: readonly OtelExemplar[], pointTs: number) => void;

/** `_sum` (when the SDK recorded one), `_count`, cumulative `_bucket{le}` and `le="+Inf"`; each exemplar on the first bucket whose bound is at least its value. */
function appendHistogramPoint(
  p: DataPoint<Histogram>,
  family: string,
  labelsFor: LabelsFor,
  sample: SampleFn,
  exemplars: ExemplarsFn,
  pointExemplars: readonly OtelExemplar[],
): void {
  const ts = hrTimeToMs(p.endTime);
  const h = p.value;
  if (h.sum !== undefined) {
    const sumLabels = labelsFor(p.attributes, `${family}_sum`);
    if (sumLabels !== undefined) sample(sumLabels, ts, h.sum);
  }
  const countLabels = labelsFor(p.attributes, `${family}_count`);
  if (countLabels !== undefined) sample(countLabels, ts, h.count);
  const sorted = [...pointExemplars].sort((a, b) => a.value - b.value);
  let next = 0;
  let cumulative = 0;
  const { boundaries, counts } = h.buckets;
  for (let i = 0; i < boundaries.length && i < counts.length; i++) {
    const bound = boundaries[i]!;
    cumulative += counts[i]!;
    const from = next;
    while (next < sorted.length && sorted[next]!.value <= bound) next++;
    const labels = labelsFor(p.attributes, `${family}_bucket`, { le: formatLe(bound) });
    if (labels !== undefined && sample(labels, ts, cumulative)) exemplars(labels, sorted.slice(from, next), ts);
  }
  const infLabels = labelsFor(p.attributes, `${family}_bucket`, { le: '+Inf' });
  if (infLabels !== undefined && sample(infLabels, ts, h.count)) exemplars(infLabels, sorted.slice(next), ts);
}

/**
 * `target_info{job, instance, <other resource attributes>} 1` from the earliest to the latest
 * point of the collection, every half lookback delta and at the latest (addResourceTargetInfo);
 * none when the resource has only identifying attributes or neither `job` nor `instance`.
 */
function appendTargetInfo(
  attributes: Attributes,
  resource: ResourceLabels,
  escaping: boolean,
  options: TranslationOptions,
  earliest: number,
  latest: number,
  sink: TranslationSink,
  sample: SampleFn,
  result: TranslationResult,
): void {
  const nonIdentifying = Object.keys(attributes).filter(
    (k) => !IDENTIFYING_ATTRIBUTES.includes(k) && attributes[k] !== undefined,
  );
  if (nonIdentifying.length === 0) return;
  if (resource.job === undefined && resource.instance === undefined) return;
  let labels: Labels;
  try {
    const ignore = options.keepIdentifyingResourceAttributes ? [] : IDENTIFYING_ATTRIBUTES;
    labels = pointLabels(attributes, { ...resource, promoted: {} }, escaping, { __name__: TARGET_INFO }, ignore);
  } catch (err) {
    result.skipped.push(`${TARGET_INFO}: ${(err as Error).message}`);
    return;
  }
  sink.updateMetadata(TARGET_INFO, TARGET_INFO_METADATA);
  for (let ts = earliest; ts < latest; ts += LOOKBACK_DELTA_MS / 2) sample(labels, ts, 1);
  sample(labels, latest, 1);
}
