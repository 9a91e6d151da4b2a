/**
 * The upstream remote-write sender compliance cases that need a scraper, ported as data: for each
 * case, the exposition its target serves (scrape by scrape where it changes), how the receiver
 * answers, and the expectation on what the sender delivered.
 *
 * Sources: github.com/prometheus/compliance at aaed5cb, remote_write_sender/cases/*.go (the
 * target there is a client_golang registry behind promhttp, or a static body; the agent under
 * test runs with scrape_interval 1s, one job `test`, one static target, remote_write to the
 * receiver, see targets/prometheus.go); and the newer suite at HEAD, remotewrite/sender/*_test.go,
 * for its scraper-based cases the old one lacks (edge_cases_test.go). The expositions below are
 * what those Go handlers write: promhttp without OpenMetrics answers text 0.0.4 with
 * `# HELP <name> <help>` (a trailing space when help is empty) and `# TYPE`, values formatted by
 * Go; a static handler's Content-Type is Go's sniffed `text/plain; charset=utf-8`.
 *
 * Expectations are the upstream validators restated as checks over the samples of 2xx-answered
 * requests that came from the case's target (its `instance` label), plus, marked `prometheus`,
 * facts of Prometheus' own behaviour the upstream case implies but does not check (the scrape
 * "should fail" cases give up=0).
 */

/** Label matcher: a sample matches when its labels contain all of these (upstream labelsContain). */
export type LabelSubset = Record<string, string>;

/** What the target answers to one scrape. */
export interface Exposition {
  body: string;
  contentType: string;
  /** HTTP status; default 200. */
  status?: number;
}

/** One check over the delivered samples of a case (all scoped to the case's target). */
export type Check =
  /** Every matching sample has exactly `value` (NaN compared by bits), and there is at least one. */
  | { kind: 'allValues'; match: LabelSubset; value: number }
  /** No sample matches. */
  | { kind: 'none'; match: LabelSubset }
  /** The matchers' sample counts are equal (a histogram's or summary's series come together). */
  | { kind: 'sameCount'; matches: LabelSubset[] }
  /** Matching samples in receive order have the values 0, 1, 2, ... (a counter incremented per scrape). */
  | { kind: 'countsUpFromZero'; match: LabelSubset }
  /** Every matching sample's value is within relative `epsilon` of its timestamp (ms), at least one. */
  | { kind: 'valueNearTimestamp'; match: LabelSubset; epsilon: number }
  /** At least one matching sample is a staleness marker: exactly 0x7ff0000000000002. */
  | { kind: 'staleMarker'; match: LabelSubset }
  /** Every matching sample is a NaN other than the staleness marker, at least one. */
  | { kind: 'plainNaN'; match: LabelSubset }
  /** Every sample's label names are in sorted order on the wire. */
  | { kind: 'sortedLabelNames' }
  /** No sample has a label name twice. */
  | { kind: 'noRepeatedLabelNames' }
  /** No sample has a label with an empty value. */
  | { kind: 'noEmptyLabelValues' }
  /** Every sample has `__name__`. */
  | { kind: 'hasName' }
  /** Every sample's `instance` is the target's address (host:port of 127.0.0.1). */
  | { kind: 'instanceIsTarget' }
  /** Every sample's timestamp is after the case started and before it was checked. */
  | { kind: 'timestampsWithinRun' }
  /** Timestamps never go back in receive order (across all the target's series). */
  | { kind: 'timestampsNonDecreasing' }
  /** Per series, timestamps strictly increase in receive order. */
  | { kind: 'timestampsIncreasePerSeries' }
  /** The target's series names are exactly these (e.g. only the synthetic ones after a failed scrape). */
  | { kind: 'namesExactly'; names: string[] }
  /** The first matching samples in receive order have these values (NaN by bits: the stale marker). */
  | { kind: 'samplesExactlyValues'; match: LabelSubset; values: number[] }
  /** Every matching sample is exactly this timestamp and value, and there is at least one. */
  | { kind: 'everySampleIs'; match: LabelSubset; ts: number; value: number };

/** How the receiver answers a case's requests. */
export type ReceiverBehaviour =
  /** 204 to everything. */
  | { kind: 'accept' }
  /** Each request is handled after a random delay in [0, maxDelayMs) (upstream: 5 s). */
  | { kind: 'randomDelay'; maxDelayMs: number }
  /**
   * The first request carrying a sample of `match` is answered `status`; everything else 204.
   * `resent`: whether that sample (same series, same timestamp) must arrive again in a 2xx request.
   */
  | { kind: 'rejectFirst'; status: number; match: LabelSubset; resent: boolean };

export interface SenderCase {
  /** The upstream test name. */
  name: string;
  /** Where it comes from. */
  upstream: string;
  /** The exposition served on scrape `n` (0-based). */
  serve(n: number): Exposition;
  receiver: ReceiverBehaviour;
  /**
   * remote_write queue_config beyond the fast defaults (a case with one gets its own scraper):
   * for the ordering case, several requests in flight.
   */
  queueConfig?: Record<string, string | number>;
  /** Delivered scrapes (samples of `up`) to wait for before checking. */
  scrapes: number;
  checks: Check[];
  /**
   * Upstream's own expectation where it differs from `checks` (which follow Prometheus 3, as
   * promspool does); what Prometheus 2 (upstream's reference, and Debian's 2.42) satisfies.
   */
  upstreamChecks?: Check[];
  /** Whether some of the target's scrapes are meant to fail (up=0); for diagnosing a failed case. */
  scrapesFail?: true;
  /** Prometheus' behaviour beyond what the upstream validator checks. */
  prometheus?: Check[];
}

/** What promhttp (client_golang, OpenMetrics off) answers with. */
export const PROMHTTP_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
/** Go's sniffed Content-Type for a static text body written without one. */
export const GO_SNIFFED_TEXT = 'text/plain; charset=utf-8';
/** The exact bits of Prometheus' staleness marker (value.StaleNaN). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
/** The series Prometheus adds for every scrape, failed or not. */
export const SYNTHETIC_NAMES = [
  'scrape_duration_seconds',
  'scrape_samples_post_metric_relabeling',
  'scrape_samples_scraped',
  'scrape_series_added',
  'up',
];

const promhttp = (body: string): Exposition => ({ body, contentType: PROMHTTP_TEXT });
const staticBody = (body: string): Exposition => ({ body, contentType: GO_SNIFFED_TEXT });

/** A client_golang GaugeFunc/Gauge named `name` with no help, as promhttp writes it. */
function gaugeText(name: string, value: string): string {
  return `# HELP ${name} \n# TYPE ${name} gauge\n${name} ${value}\n`;
}

/** The `now` gauge of the gauge, headers and retries cases: Unix seconds * 1000 at scrape time. */
function nowGauge(): Exposition {
  return promhttp(gaugeText('now', String(Math.floor(Date.now() / 1000) * 1000)));
}

/** client_golang writes 1000 gauges test{i="0".."999"} sorted by label value as strings. */
function orderingExposition(): string {
  const values = Array.from({ length: 1000 }, (_, i) => String(i)).sort();
  return `# HELP test \n# TYPE test gauge\n${values.map((i) => `test{i="${i}"} 1\n`).join('')}`;
}
const ORDERING_BODY = orderingExposition();

const accept: ReceiverBehaviour = { kind: 'accept' };

/**
 * An explicit timestamp in an exposition: a whole second 20 s after this module loaded. Not in the
 * past: Prometheus' remote-write WAL watcher skips samples older than its own start, so a past
 * timestamp would test that rather than the scrape.
 */
const EXPLICIT_TS = Math.floor(Date.now() / 1000) * 1000 + 20_000;

/**
 * The Histogram case's checks (buckets 1 and 2 under the `le` spellings `one` and `two`, +Inf,
 * sum and count, all with the same number of samples): upstream's spelling, or Prometheus 3's.
 */
function histogramChecks(one: string, two: string): Check[] {
  return [
    { kind: 'allValues', match: { __name__: 'histogram_bucket', le: one }, value: 1 },
    { kind: 'allValues', match: { __name__: 'histogram_bucket', le: two }, value: 2 },
    { kind: 'allValues', match: { __name__: 'histogram_bucket', le: '+Inf' }, value: 2 },
    { kind: 'allValues', match: { __name__: 'histogram_sum' }, value: 3 },
    { kind: 'allValues', match: { __name__: 'histogram_count' }, value: 2 },
    {
      kind: 'sameCount',
      matches: [
        { __name__: 'histogram_count' },
        { __name__: 'histogram_bucket', le: one },
        { __name__: 'histogram_bucket', le: two },
        { __name__: 'histogram_bucket', le: '+Inf' },
        { __name__: 'histogram_sum' },
      ],
    },
  ];
}

export const SENDER_CASES: SenderCase[] = [
  // ---- types (counter.go, gauge.go, histogram.go, summary.go)
  {
    name: 'Counter',
    upstream: 'remote_write_sender/cases/counter.go',
    // Inc() after each scrape is served: scrape n sees n.
    serve: (n) => promhttp(`# HELP counter \n# TYPE counter counter\ncounter ${n}\n`),
    receiver: accept,
    scrapes: 3,
    checks: [{ kind: 'countsUpFromZero', match: { __name__: 'counter' } }],
  },
  {
    name: 'Gauge',
    upstream: 'remote_write_sender/cases/gauge.go',
    serve: () => nowGauge(),
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'valueNearTimestamp', match: { __name__: 'now' }, epsilon: 0.01 }],
  },
  {
    name: 'Histogram',
    upstream: 'remote_write_sender/cases/histogram.go',
    // Buckets {1, 2}, Observe(1), Observe(2).
    serve: () =>
      promhttp(
        '# HELP histogram \n# TYPE histogram histogram\n' +
          'histogram_bucket{le="1"} 1\nhistogram_bucket{le="2"} 2\nhistogram_bucket{le="+Inf"} 2\n' +
          'histogram_sum 3\nhistogram_count 2\n',
      ),
    receiver: accept,
    scrapes: 2,
    // Upstream (written against Prometheus 2.30) expects le="1" and le="2" as exposed. Prometheus 3
    // normalizes the `le` of a typed histogram to its float spelling on ingestion (`1` -> `1.0`, see
    // its 3.0 migration guide), and promspool does as Prometheus 3 does; so the buckets are
    // expected under Prometheus 3's names, with upstream's values and counts.
    checks: [
      ...histogramChecks('1.0', '2.0'),
      // Only those: no bucket is delivered under the spelling the target used.
      { kind: 'none', match: { __name__: 'histogram_bucket', le: '1' } },
      { kind: 'none', match: { __name__: 'histogram_bucket', le: '2' } },
    ],
    upstreamChecks: histogramChecks('1', '2'),
  },
  {
    name: 'Summary',
    upstream: 'remote_write_sender/cases/summary.go',
    // Objectives {0.5, 0.9, 0.99}, Observe(1), Observe(2), Observe(3).
    serve: () =>
      promhttp(
        '# HELP summary \n# TYPE summary summary\n' +
          'summary{quantile="0.5"} 2\nsummary{quantile="0.9"} 3\nsummary{quantile="0.99"} 3\n' +
          'summary_sum 6\nsummary_count 3\n',
      ),
    receiver: accept,
    scrapes: 2,
    checks: [
      { kind: 'allValues', match: { __name__: 'summary', quantile: '0.5' }, value: 2 },
      { kind: 'allValues', match: { __name__: 'summary', quantile: '0.9' }, value: 3 },
      { kind: 'allValues', match: { __name__: 'summary', quantile: '0.99' }, value: 3 },
      { kind: 'allValues', match: { __name__: 'summary_sum' }, value: 6 },
      { kind: 'allValues', match: { __name__: 'summary_count' }, value: 3 },
      {
        kind: 'sameCount',
        matches: [
          { __name__: 'summary_count' },
          { __name__: 'summary', quantile: '0.5' },
          { __name__: 'summary', quantile: '0.9' },
          { __name__: 'summary', quantile: '0.99' },
          { __name__: 'summary_sum' },
        ],
      },
    ],
  },

  // ---- up (up.go)
  {
    name: 'Up',
    upstream: 'remote_write_sender/cases/up.go',
    serve: () => promhttp(gaugeText('gauge', '42')),
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'allValues', match: { __name__: 'up', job: 'test' }, value: 1 }],
  },
  {
    name: 'Invalid',
    upstream: 'remote_write_sender/cases/up.go',
    serve: () => staticBody('\n# this is not valid prometheus\n1234notvali}{ 444\n'),
    scrapesFail: true,
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'allValues', match: { __name__: 'up', job: 'test' }, value: 0 }],
    prometheus: [{ kind: 'namesExactly', names: SYNTHETIC_NAMES }],
  },

  // ---- labels (job_label.go, instance_label.go, labels.go)
  {
    name: 'JobLabel',
    upstream: 'remote_write_sender/cases/job_label.go',
    serve: () => promhttp(gaugeText('gauge', '42')),
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'allValues', match: { __name__: 'gauge', job: 'test' }, value: 42 }],
  },
  {
    name: 'InstanceLabel',
    upstream: 'remote_write_sender/cases/instance_label.go',
    serve: () => promhttp(gaugeText('gauge', '42')),
    receiver: accept,
    scrapes: 2,
    // Upstream: instance matches `127.0.0.1:\d+` on every sample; here exactly the target's address.
    checks: [{ kind: 'allValues', match: { __name__: 'gauge' }, value: 42 }, { kind: 'instanceIsTarget' }],
  },
  {
    name: 'SortedLabels',
    upstream: 'remote_write_sender/cases/labels.go',
    serve: () => staticBody('\n# HELP test A gauge\n# TYPE test gauge\ntest{b="2",a="1"} 1.0\n'),
    receiver: accept,
    scrapes: 2,
    checks: [
      { kind: 'sortedLabelNames' },
      { kind: 'allValues', match: { __name__: 'test', a: '1', b: '2' }, value: 1 },
    ],
  },
  {
    name: 'RepeatedLabels',
    upstream: 'remote_write_sender/cases/labels.go',
    serve: () => staticBody('\n# HELP test A gauge\n# TYPE test gauge\ntest{a="1",a="1"} 1.0\n'),
    scrapesFail: true,
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'noRepeatedLabelNames' }, { kind: 'none', match: { __name__: 'test', a: '1' } }],
    // The agent's appender refuses a repeated label name (ErrInvalidSample): the scrape fails.
    prometheus: [
      { kind: 'allValues', match: { __name__: 'up' }, value: 0 },
      { kind: 'namesExactly', names: SYNTHETIC_NAMES },
    ],
  },
  {
    name: 'EmptyLabels',
    upstream: 'remote_write_sender/cases/labels.go',
    serve: () => staticBody('\n# HELP test A gauge\n# TYPE test gauge\ntest{a=""} 1.0\n'),
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'noEmptyLabelValues' }, { kind: 'allValues', match: { __name__: 'test' }, value: 1 }],
  },
  {
    name: 'NameLabel',
    upstream: 'remote_write_sender/cases/labels.go',
    serve: () => staticBody('\n# HELP test A gauge\n# TYPE test gauge\n{label="value"} 1.0\n'),
    scrapesFail: true,
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'hasName' }, { kind: 'none', match: { label: 'value' } }],
    // A series without a name does not parse in the text format: the scrape fails.
    prometheus: [
      { kind: 'allValues', match: { __name__: 'up' }, value: 0 },
      { kind: 'namesExactly', names: SYNTHETIC_NAMES },
    ],
  },
  {
    name: 'HonorLabels',
    upstream: 'remote_write_sender/cases/labels.go',
    serve: () => staticBody('\n# HELP test A gauge\n# TYPE test gauge\ntest{job="original", instance="foo"} 1.0\n'),
    receiver: accept,
    scrapes: 2,
    checks: [
      {
        kind: 'allValues',
        match: { __name__: 'test', exported_job: 'original', exported_instance: 'foo', job: 'test' },
        value: 1,
      },
      { kind: 'instanceIsTarget' },
    ],
  },

  // ---- misc (staleness.go, timestamps.go, headers.go, ordering.go, retries.go)
  {
    name: 'Staleness',
    upstream: 'remote_write_sender/cases/staleness.go',
    // The gauge is unregistered after the first scrape: later scrapes get an empty registry.
    serve: (n) => promhttp(n === 0 ? gaugeText('stale', '0') : ''),
    receiver: accept,
    scrapes: 3,
    checks: [{ kind: 'staleMarker', match: { __name__: 'stale' } }],
  },
  {
    name: 'StalenessOnFailedScrape',
    upstream: 'not upstream: staleness.go with the series lost to a failed scrape (issue 20, scrape semantics)',
    // The first scrape succeeds; every later one is answered 500.
    serve: (n) => (n === 0 ? promhttp(gaugeText('stale', '0')) : { ...staticBody('boom\n'), status: 500 }),
    scrapesFail: true,
    receiver: accept,
    scrapes: 3,
    checks: [{ kind: 'staleMarker', match: { __name__: 'stale' } }],
    prometheus: [{ kind: 'samplesExactlyValues', match: { __name__: 'up' }, values: [1, 0, 0] }],
  },
  {
    name: 'Timestamp',
    upstream: 'remote_write_sender/cases/timestamps.go',
    serve: () => promhttp(gaugeText('gauge', '42')),
    receiver: accept,
    scrapes: 3,
    checks: [
      { kind: 'timestampsWithinRun' },
      { kind: 'timestampsNonDecreasing' },
      { kind: 'allValues', match: { __name__: 'gauge' }, value: 42 },
    ],
  },
  {
    name: 'Headers',
    upstream: 'remote_write_sender/cases/headers.go',
    // The header checks themselves apply to every request the sender makes (see HEADER_EXPECTATIONS).
    serve: () => nowGauge(),
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'valueNearTimestamp', match: { __name__: 'now' }, epsilon: 0.01 }],
  },
  {
    name: 'Ordering',
    upstream: 'remote_write_sender/cases/ordering.go',
    serve: () => promhttp(ORDERING_BODY),
    // Upstream sleeps up to 5 s before handling each write; 1 s keeps the run short and still
    // lets requests overtake each other if the sender had several in flight for one series.
    receiver: { kind: 'randomDelay', maxDelayMs: 1000 },
    // With the defaults one scrape of 1000 samples goes out as one request and the next waits
    // for it (measured: at most 1 in flight), so nothing can overtake. 100 samples per request
    // over at least 8 shards keeps up to 8 requests in flight (measured), each delayed randomly.
    queueConfig: { max_samples_per_send: 100, min_shards: 8 },
    scrapes: 4,
    checks: [{ kind: 'timestampsIncreasePerSeries' }, { kind: 'allValues', match: { __name__: 'test' }, value: 1 }],
  },
  {
    name: 'Retries500',
    upstream: 'remote_write_sender/cases/retries.go',
    serve: () => nowGauge(),
    receiver: { kind: 'rejectFirst', status: 500, match: { __name__: 'now' }, resent: true },
    scrapes: 3,
    checks: [],
  },
  {
    name: 'Retries400',
    upstream: 'remote_write_sender/cases/retries.go',
    serve: () => nowGauge(),
    receiver: { kind: 'rejectFirst', status: 400, match: { __name__: 'now' }, resent: false },
    scrapes: 3,
    checks: [],
  },

  // ---- newer suite, scraper-based cases the old one lacks (remotewrite/sender/edge_cases_test.go)
  {
    name: 'EdgeEmptyScrape',
    upstream: 'remotewrite/sender/edge_cases_test.go empty_scrape',
    serve: () => promhttp('# No metrics\n'),
    receiver: accept,
    scrapes: 2,
    checks: [],
    prometheus: [
      { kind: 'allValues', match: { __name__: 'up' }, value: 1 },
      { kind: 'allValues', match: { __name__: 'scrape_samples_scraped' }, value: 0 },
      { kind: 'namesExactly', names: SYNTHETIC_NAMES },
    ],
  },
  {
    name: 'EdgeSpecialFloats',
    upstream: 'remotewrite/sender/edge_cases_test.go special_float_combinations',
    serve: () =>
      promhttp(
        'special_values{type="nan"} NaN\nspecial_values{type="inf"} +Inf\nspecial_values{type="ninf"} -Inf\n' +
          'special_values{type="zero"} 0\nspecial_values{type="negative"} -123.45\n',
      ),
    receiver: accept,
    scrapes: 2,
    checks: [
      { kind: 'plainNaN', match: { __name__: 'special_values', type: 'nan' } },
      { kind: 'allValues', match: { __name__: 'special_values', type: 'inf' }, value: Number.POSITIVE_INFINITY },
      { kind: 'allValues', match: { __name__: 'special_values', type: 'ninf' }, value: Number.NEGATIVE_INFINITY },
      { kind: 'allValues', match: { __name__: 'special_values', type: 'zero' }, value: 0 },
      { kind: 'allValues', match: { __name__: 'special_values', type: 'negative' }, value: -123.45 },
    ],
  },
  {
    name: 'EdgeUnicodeLabels',
    upstream: 'remotewrite/sender/edge_cases_test.go unicode_in_labels',
    serve: () => promhttp('test_metric{emoji="🚀",chinese="测试",arabic="مرحبا",vietnamese="tôi yêu việt nam"} 42\n'),
    receiver: accept,
    scrapes: 2,
    checks: [
      {
        kind: 'allValues',
        match: {
          __name__: 'test_metric',
          emoji: '🚀',
          chinese: '测试',
          arabic: 'مرحبا',
          vietnamese: 'tôi yêu việt nam',
        },
        value: 42,
      },
    ],
  },
  {
    name: 'EdgeColonNames',
    upstream: 'remotewrite/sender/edge_cases_test.go metric_name_with_colons',
    serve: () => promhttp('http:request:duration:seconds 0.5\n'),
    receiver: accept,
    scrapes: 2,
    checks: [{ kind: 'allValues', match: { __name__: 'http:request:duration:seconds' }, value: 0.5 }],
  },
  {
    name: 'EdgeMixedFamilies',
    upstream: 'remotewrite/sender/edge_cases_test.go mixed_sample_and_histogram_families',
    serve: () =>
      promhttp(
        '# Counter\nrequests_total 100\n\n# Gauge\ntemperature_celsius 22.5\n\n# Histogram\n' +
          'response_time_bucket{le="0.1"} 50\nresponse_time_bucket{le="+Inf"} 100\nresponse_time_sum 10.5\n' +
          'response_time_count 100\n\n# Summary\nrpc_duration{quantile="0.5"} 0.05\n' +
          'rpc_duration{quantile="0.9"} 0.1\nrpc_duration_sum 50.0\nrpc_duration_count 1000\n',
      ),
    receiver: accept,
    scrapes: 2,
    checks: [
      { kind: 'allValues', match: { __name__: 'requests_total' }, value: 100 },
      { kind: 'allValues', match: { __name__: 'temperature_celsius' }, value: 22.5 },
      { kind: 'allValues', match: { __name__: 'response_time_bucket', le: '0.1' }, value: 50 },
      { kind: 'allValues', match: { __name__: 'response_time_bucket', le: '+Inf' }, value: 100 },
      { kind: 'allValues', match: { __name__: 'response_time_sum' }, value: 10.5 },
      { kind: 'allValues', match: { __name__: 'response_time_count' }, value: 100 },
      { kind: 'allValues', match: { __name__: 'rpc_duration', quantile: '0.5' }, value: 0.05 },
      { kind: 'allValues', match: { __name__: 'rpc_duration', quantile: '0.9' }, value: 0.1 },
      { kind: 'allValues', match: { __name__: 'rpc_duration_sum' }, value: 50 },
      { kind: 'allValues', match: { __name__: 'rpc_duration_count' }, value: 1000 },
    ],
  },
  {
    name: 'SampleValues',
    upstream: 'remotewrite/sender/samples_test.go TestSampleEncoding',
    serve: () =>
      promhttp(
        'test_metric 123.45\ntest_counter_total 42\ntest_gauge 0\ntemperature_celsius -15.5\n' +
          'test_large 1.7976931348623157e+308\ntest_small 2.2250738585072014e-308\ntest_scientific 1.23e-4\n' +
          'test_precision 0.123456789012345\n',
      ),
    receiver: accept,
    scrapes: 2,
    // Upstream checks ranges (> 1e307, in (0, 1e-307), within 1e-7 of 0.000123); the exact
    // doubles are what Go's ParseFloat gives, so exactly those.
    checks: [
      { kind: 'allValues', match: { __name__: 'test_metric' }, value: 123.45 },
      { kind: 'allValues', match: { __name__: 'test_counter_total' }, value: 42 },
      { kind: 'allValues', match: { __name__: 'test_gauge' }, value: 0 },
      { kind: 'allValues', match: { __name__: 'temperature_celsius' }, value: -15.5 },
      { kind: 'allValues', match: { __name__: 'test_large' }, value: 1.7976931348623157e308 },
      { kind: 'allValues', match: { __name__: 'test_small' }, value: 2.2250738585072014e-308 },
      { kind: 'allValues', match: { __name__: 'test_scientific' }, value: 1.23e-4 },
      { kind: 'allValues', match: { __name__: 'test_precision' }, value: 0.123456789012345 },
      { kind: 'instanceIsTarget' },
      { kind: 'allValues', match: { __name__: 'test_metric', job: 'test' }, value: 123.45 },
    ],
  },
  {
    name: 'ExplicitTimestamp',
    upstream: 'remotewrite/sender/edge_cases_test.go zero_timestamp, future_timestamp',
    // Upstream serves explicit timestamps (0, a day ahead) and accepts anything; one a little
    // ahead is served here, the same on every scrape, so what a sender does with it is exact.
    serve: () => promhttp(`test_metric 42 ${EXPLICIT_TS}\n`),
    receiver: accept,
    scrapes: 3,
    checks: [],
    // honor_timestamps (default true) keeps the exposed timestamp. How often the same sample is
    // sent differs: Prometheus 2.42 in agent mode sends it after every scrape, promspool once (as
    // a Prometheus server's TSDB keeps it once); either is a correct sender.
    prometheus: [{ kind: 'everySampleIs', match: { __name__: 'test_metric' }, ts: EXPLICIT_TS, value: 42 }],
  },
];

/** headers.go: every remote-write request carries these exactly (plus a User-Agent). */
export const HEADER_EXPECTATIONS: Record<string, string> = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
};
/** Prometheus sends `Prometheus/<version>`; promspool names itself the same way. */
export const USER_AGENT_PATTERN = /^promspool\/\d+\.\d+\.\d+/;
