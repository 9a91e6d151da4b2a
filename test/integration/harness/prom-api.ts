import { httpJson } from './http.js';

/** Labels of one series as the query APIs return them. */
export type LabelMap = Record<string, string>;

/** One float sample from a query API. */
export interface FloatPoint {
  timestampMs: number;
  value: number;
}

/** A native histogram as Prometheus' query API renders it (2.40+ with `--enable-feature=native-histograms`). */
export interface HistogramValue {
  count: number;
  sum: number;
  /** `boundaries`: 0 open-left/closed-right ... 3 closed both (Prometheus' JSON encoding). */
  buckets: Array<{ boundaries: number; lower: number; upper: number; count: number }>;
}

export interface HistogramPoint {
  timestampMs: number;
  histogram: HistogramValue;
}

/**
 * A query result normalised to one shape: an instant vector gives one point per series, a range
 * vector (`foo[10m]`) or range query gives every point, a scalar gives one series with no labels.
 */
export interface SeriesResult {
  metric: LabelMap;
  samples: FloatPoint[];
  histograms: HistogramPoint[];
}

type RawPoint = [number, string];
interface RawHistogram {
  count: string;
  sum: string;
  buckets?: Array<[number, string, string, string]>;
}
type RawHistogramPoint = [number, RawHistogram];
interface RawSeries {
  metric: LabelMap;
  value?: RawPoint;
  values?: RawPoint[];
  histogram?: RawHistogramPoint;
  histograms?: RawHistogramPoint[];
}
type RawQueryData =
  | { resultType: 'vector' | 'matrix'; result: RawSeries[] }
  | { resultType: 'scalar'; result: RawPoint }
  | { resultType: 'string'; result: RawPoint };

interface ApiEnvelope<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

/** Parses Prometheus' string rendering of a float, including `NaN`, `+Inf`, `-Inf`. */
export function parsePromFloat(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a Prometheus float: ${JSON.stringify(text)}`);
  return value;
}

/** API timestamps are float seconds; rounding recovers the exact millisecond. */
export function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** Milliseconds as the seconds-with-fraction string the query APIs accept, without float noise. */
export function msToSecondsParam(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function point([ts, value]: RawPoint): FloatPoint {
  return { timestampMs: secondsToMs(ts), value: parsePromFloat(value) };
}

function histogramPoint([ts, h]: RawHistogramPoint): HistogramPoint {
  return {
    timestampMs: secondsToMs(ts),
    histogram: {
      count: parsePromFloat(h.count),
      sum: parsePromFloat(h.sum),
      buckets: (h.buckets ?? []).map(([boundaries, lower, upper, count]) => ({
        boundaries,
        lower: parsePromFloat(lower),
        upper: parsePromFloat(upper),
        count: parsePromFloat(count),
      })),
    },
  };
}

/** Unwraps `{status, data}`; throws with Prometheus' error text on `status: error`. */
export async function apiCall<T>(url: string, form?: URLSearchParams): Promise<T> {
  const body = await httpJson<ApiEnvelope<T>>(url, form);
  if (body.status !== 'success') throw new Error(`${url}: ${body.errorType ?? 'error'}: ${body.error ?? '?'}`);
  return body.data;
}

/** Normalises `/api/v1/query` or `/api/v1/query_range` data into {@link SeriesResult}s. */
export function normaliseQueryData(data: RawQueryData): SeriesResult[] {
  if (data.resultType === 'scalar') return [{ metric: {}, samples: [point(data.result)], histograms: [] }];
  if (data.resultType === 'string') throw new Error(`string query results are not supported: ${data.result[1]}`);
  return data.result.map((s) => ({
    metric: s.metric,
    samples: s.value ? [point(s.value)] : (s.values ?? []).map(point),
    histograms: s.histogram ? [histogramPoint(s.histogram)] : (s.histograms ?? []).map(histogramPoint),
  }));
}

/** `POST /api/v1/query` (form-encoded, so long PromQL never hits URL limits). */
export async function instantQuery(baseUrl: string, promql: string, timeMs?: number): Promise<SeriesResult[]> {
  const form = new URLSearchParams({ query: promql });
  if (timeMs !== undefined) form.set('time', msToSecondsParam(timeMs));
  return normaliseQueryData(await apiCall<RawQueryData>(`${baseUrl}/api/v1/query`, form));
}

export interface RangeQueryOptions {
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** `POST /api/v1/query_range`. */
export async function rangeQuery(baseUrl: string, promql: string, range: RangeQueryOptions): Promise<SeriesResult[]> {
  const form = new URLSearchParams({
    query: promql,
    start: msToSecondsParam(range.startMs),
    end: msToSecondsParam(range.endMs),
    step: msToSecondsParam(range.stepMs),
  });
  return normaliseQueryData(await apiCall<RawQueryData>(`${baseUrl}/api/v1/query_range`, form));
}

export interface TimeRange {
  startMs?: number;
  endMs?: number;
}

function addRange(form: URLSearchParams, range: TimeRange): void {
  if (range.startMs !== undefined) form.set('start', msToSecondsParam(range.startMs));
  if (range.endMs !== undefined) form.set('end', msToSecondsParam(range.endMs));
}

/** `POST /api/v1/series`: label sets of series matching any selector. */
export async function seriesQuery(
  baseUrl: string,
  match: string | string[],
  range: TimeRange = {},
): Promise<LabelMap[]> {
  const form = new URLSearchParams();
  for (const m of Array.isArray(match) ? match : [match]) form.append('match[]', m);
  addRange(form, range);
  return apiCall<LabelMap[]>(`${baseUrl}/api/v1/series`, form);
}
