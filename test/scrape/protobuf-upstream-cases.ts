/**
 * Ported from Prometheus' model/textparse/protobufparse_test.go (TestProtobufParse, at
 * prometheus/prometheus d15adb9ad7e5d9fbde3a9a8f30200593a5a14d86) by a mechanical conversion of the Go
 * literals: the input MetricFamilies in protobuf text format, and per parser option set the
 * entries Prometheus' parser returns. The scenarios with enableTypeAndUnitLabels=true are left
 * out (promspool has no type-and-unit labels). Generated; do not edit by hand.
 */

import type { UpstreamEntry } from './protobuf-fixtures.js';
import { L } from './protobuf-fixtures.js';

/** The input MetricFamilies in protobuf text format, one per element. */
export const UPSTREAM_FAMILIES: string[] = [
  `name: "go_build_info"
help: "Build information about the main Go module."
type: GAUGE
metric: <
  label: <
    name: "checksum"
    value: ""
  >
  label: <
    name: "path"
    value: "github.com/prometheus/client_golang"
  >
  label: <
    name: "version"
    value: "(devel)"
  >
  gauge: <
    value: 1
  >
>

`,
  `name: "go_memstats_alloc_bytes_total"
help: "Total number of bytes allocated, even if freed."
type: COUNTER
unit: "bytes"
metric: <
  counter: <
    value: 1.546544e+06
    exemplar: <
      label: <
        name: "dummyID"
        value: "42"
      >
      value: 12
      timestamp: <
        seconds: 1625851151
        nanos: 233181499
      >
    >
  >
>

`,
  `name: "something_untyped"
help: "Just to test the untyped type."
type: UNTYPED
metric: <
  untyped: <
    value: 42
  >
  timestamp_ms: 1234567
>

`,
  `name: "test_histogram"
help: "Test histogram with many buckets removed to keep it manageable in size."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count: 175
    sample_sum: 0.0008280461746287094
    bucket: <
      cumulative_count: 2
      upper_bound: -0.0004899999999999998
    >
    bucket: <
      cumulative_count: 4
      upper_bound: -0.0003899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "59727"
        >
        value: -0.00039
        timestamp: <
          seconds: 1625851155
          nanos: 146848499
        >
      >
    >
    bucket: <
      cumulative_count: 16
      upper_bound: -0.0002899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "5617"
        >
        value: -0.00029
      >
    >
    schema: 3
    zero_threshold: 2.938735877055719e-39
    zero_count: 2
    negative_span: <
      offset: -162
      length: 1
    >
    negative_span: <
      offset: 23
      length: 4
    >
    negative_delta: 1
    negative_delta: 3
    negative_delta: -2
    negative_delta: -1
    negative_delta: 1
    positive_span: <
      offset: -161
      length: 1
    >
    positive_span: <
      offset: 8
      length: 3
    >
    positive_delta: 1
    positive_delta: 2
    positive_delta: -1
    positive_delta: -1
  >
  timestamp_ms: 1234568
>

`,
  `name: "test_gauge_histogram"
help: "Like test_histogram but as gauge histogram."
type: GAUGE_HISTOGRAM
metric: <
  histogram: <
    sample_count: 175
    sample_sum: 0.0008280461746287094
    bucket: <
      cumulative_count: 2
      upper_bound: -0.0004899999999999998
    >
    bucket: <
      cumulative_count: 4
      upper_bound: -0.0003899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "59727"
        >
        value: -0.00039
        timestamp: <
          seconds: 1625851155
          nanos: 146848499
        >
      >
    >
    bucket: <
      cumulative_count: 16
      upper_bound: -0.0002899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "5617"
        >
        value: -0.00029
      >
    >
    schema: 3
    zero_threshold: 2.938735877055719e-39
    zero_count: 2
    negative_span: <
      offset: -162
      length: 1
    >
    negative_span: <
      offset: 23
      length: 4
    >
    negative_delta: 1
    negative_delta: 3
    negative_delta: -2
    negative_delta: -1
    negative_delta: 1
    positive_span: <
      offset: -161
      length: 1
    >
    positive_span: <
      offset: 8
      length: 3
    >
    positive_delta: 1
    positive_delta: 2
    positive_delta: -1
    positive_delta: -1
  >
  timestamp_ms: 1234568
>

`,
  `name: "test_float_histogram"
help: "Test float histogram with many buckets removed to keep it manageable in size."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count_float: 175.0
    sample_sum: 0.0008280461746287094
    bucket: <
      cumulative_count_float: 2.0
      upper_bound: -0.0004899999999999998
    >
    bucket: <
      cumulative_count_float: 4.0
      upper_bound: -0.0003899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "59727"
        >
        value: -0.00039
        timestamp: <
          seconds: 1625851155
          nanos: 146848499
        >
      >
    >
    bucket: <
      cumulative_count_float: 16
      upper_bound: -0.0002899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "5617"
        >
        value: -0.00029
      >
    >
    schema: 3
    zero_threshold: 2.938735877055719e-39
    zero_count_float: 2.0
    negative_span: <
      offset: -162
      length: 1
    >
    negative_span: <
      offset: 23
      length: 4
    >
    negative_count: 1.0
    negative_count: 3.0
    negative_count: -2.0
    negative_count: -1.0
    negative_count: 1.0
    positive_span: <
      offset: -161
      length: 1
    >
    positive_span: <
      offset: 8
      length: 3
    >
    positive_count: 1.0
    positive_count: 2.0
    positive_count: -1.0
    positive_count: -1.0
  >
  timestamp_ms: 1234568
>

`,
  `name: "test_gauge_float_histogram"
help: "Like test_float_histogram but as gauge histogram."
type: GAUGE_HISTOGRAM
metric: <
  histogram: <
    sample_count_float: 175.0
    sample_sum: 0.0008280461746287094
    bucket: <
      cumulative_count_float: 2.0
      upper_bound: -0.0004899999999999998
    >
    bucket: <
      cumulative_count_float: 4.0
      upper_bound: -0.0003899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "59727"
        >
        value: -0.00039
        timestamp: <
          seconds: 1625851155
          nanos: 146848499
        >
      >
    >
    bucket: <
      cumulative_count_float: 16
      upper_bound: -0.0002899999999999998
      exemplar: <
        label: <
          name: "dummyID"
          value: "5617"
        >
        value: -0.00029
      >
    >
    schema: 3
    zero_threshold: 2.938735877055719e-39
    zero_count_float: 2.0
    negative_span: <
      offset: -162
      length: 1
    >
    negative_span: <
      offset: 23
      length: 4
    >
    negative_count: 1.0
    negative_count: 3.0
    negative_count: -2.0
    negative_count: -1.0
    negative_count: 1.0
    positive_span: <
      offset: -161
      length: 1
    >
    positive_span: <
      offset: 8
      length: 3
    >
    positive_count: 1.0
    positive_count: 2.0
    positive_count: -1.0
    positive_count: -1.0
  >
  timestamp_ms: 1234568
>

`,
  `name: "test_histogram2"
help: "Similar histogram as before but now without sparse buckets."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count: 175
    sample_sum: 0.000828
    bucket: <
      cumulative_count: 2
      upper_bound: -0.00048
    >
    bucket: <
      cumulative_count: 4
      upper_bound: -0.00038
      exemplar: <
        label: <
          name: "dummyID"
          value: "59727"
        >
        value: -0.00038
        timestamp: <
          seconds: 1625851153
          nanos: 146848499
        >
      >
    >
    bucket: <
      cumulative_count: 16
      upper_bound: 1
      exemplar: <
        label: <
          name: "dummyID"
          value: "5617"
        >
        value: -0.000295
      >
    >
    schema: 0
    zero_threshold: 0
  >
>

`,
  `name: "test_histogram3"
help: "Similar histogram as before but now with integer buckets."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count: 6
    sample_sum: 50
    bucket: <
      cumulative_count: 2
      upper_bound: -20
    >
    bucket: <
      cumulative_count: 4
      upper_bound: 20
      exemplar: <
        label: <
          name: "dummyID"
          value: "59727"
        >
        value: 15
        timestamp: <
          seconds: 1625851153
          nanos: 146848499
        >
      >
    >
    bucket: <
      cumulative_count: 6
      upper_bound: 30
      exemplar: <
        label: <
          name: "dummyID"
          value: "5617"
        >
        value: 25
      >
    >
    schema: 0
    zero_threshold: 0
  >
>

`,
  `name: "test_histogram_family"
help: "Test histogram metric family with two very simple histograms."
type: HISTOGRAM
metric: <
  label: <
    name: "foo"
    value: "bar"
  >
  histogram: <
    sample_count: 5
    sample_sum: 12.1
    bucket: <
      cumulative_count: 2
      upper_bound: 1.1
    >
    bucket: <
      cumulative_count: 3
      upper_bound: 2.2
    >
    schema: 3
    positive_span: <
      offset: 8
      length: 2
    >
    positive_delta: 2
    positive_delta: 1
  >
>
metric: <
  label: <
    name: "foo"
    value: "baz"
  >
  histogram: <
    sample_count: 6
    sample_sum: 13.1
    bucket: <
      cumulative_count: 1
      upper_bound: 1.1
    >
    bucket: <
      cumulative_count: 5
      upper_bound: 2.2
    >
    schema: 3
    positive_span: <
      offset: 8
      length: 2
    >
    positive_delta: 1
    positive_delta: 4
  >
>

`,
  `name: "test_float_histogram_with_zerothreshold_zero"
help: "Test float histogram with a zero threshold of zero."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count_float: 5.0
    sample_sum: 12.1
    schema: 3
    positive_span: <
      offset: 8
      length: 2
    >
    positive_count: 2.0
    positive_count: 3.0
  >
>

`,
  `name: "rpc_durations_seconds"
help: "RPC latency distributions."
type: SUMMARY
metric: <
  label: <
    name: "service"
    value: "exponential"
  >
  summary: <
    sample_count: 262
    sample_sum: 0.00025551262820703587
    quantile: <
      quantile: 0.5
      value: 6.442786329648548e-07
    >
    quantile: <
      quantile: 0.9
      value: 1.9435742936658396e-06
    >
    quantile: <
      quantile: 0.99
      value: 4.0471608667037015e-06
    >
  >
>
`,
  `name: "without_quantiles"
help: "A summary without quantiles."
type: SUMMARY
metric: <
  summary: <
    sample_count: 42
    sample_sum: 1.234
  >
>
`,
  `name: "empty_histogram"
help: "A histogram without observations and with a zero threshold of zero but with a no-op span to identify it as a native histogram."
type: HISTOGRAM
metric: <
  histogram: <
    positive_span: <
      offset: 0
      length: 0
    >
  >
>

`,
  `name: "test_counter_with_createdtimestamp"
help: "A counter with a created timestamp."
type: COUNTER
metric: <
  counter: <
    value: 42
    start_timestamp: <
      seconds: 1625851153
      nanos: 146848499
    >
  >
>

`,
  `name: "test_summary_with_createdtimestamp"
help: "A summary with a created timestamp."
type: SUMMARY
metric: <
  summary: <
    sample_count: 42
    sample_sum: 1.234
    start_timestamp: <
      seconds: 1625851153
      nanos: 146848499
    >
  >
>

`,
  `name: "test_histogram_with_createdtimestamp"
help: "A histogram with a created timestamp."
type: HISTOGRAM
metric: <
  histogram: <
    start_timestamp: <
      seconds: 1625851153
      nanos: 146848499
    >
    positive_span: <
      offset: 0
      length: 0
    >
  >
>

`,
  `name: "test_gaugehistogram_with_createdtimestamp"
help: "A gauge histogram with a created timestamp."
type: GAUGE_HISTOGRAM
metric: <
  histogram: <
    start_timestamp: <
      seconds: 1625851153
      nanos: 146848499
    >
    positive_span: <
      offset: 0
      length: 0
    >
  >
>

`,
  `name: "test_histogram_with_native_histogram_exemplars"
help: "A histogram with native histogram exemplars."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count: 175
    sample_sum: 0.0008280461746287094
    bucket: <
      cumulative_count: 2
      upper_bound: -0.0004899999999999998
    >
    bucket: <
      cumulative_count: 4
      upper_bound: -0.0003899999999999998
      exemplar: <
	    label: <
	      name: "dummyID"
	      value: "59727"
	    >
	    value: -0.00039
	    timestamp: <
	      seconds: 1625851155
	      nanos: 146848499
	    >
      >
    >
    bucket: <
      cumulative_count: 16
      upper_bound: -0.0002899999999999998
      exemplar: <
	    label: <
	      name: "dummyID"
	      value: "5617"
	    >
	    value: -0.00029
      >
    >
    schema: 3
    zero_threshold: 2.938735877055719e-39
    zero_count: 2
    negative_span: <
      offset: -162
      length: 1
    >
    negative_span: <
      offset: 23
      length: 4
    >
    negative_delta: 1
    negative_delta: 3
    negative_delta: -2
    negative_delta: -1
    negative_delta: 1
    positive_span: <
      offset: -161
      length: 1
    >
    positive_span: <
      offset: 8
      length: 3
    >
    positive_delta: 1
    positive_delta: 2
    positive_delta: -1
    positive_delta: -1
    exemplars: <
      label: <
        name: "dummyID"
        value: "59780"
      >
      value: -0.00039
      timestamp: <
        seconds: 1625851155
        nanos: 146848499
      >
    >
    exemplars: <
      label: <
        name: "dummyID"
        value: "5617"
      >
      value: -0.00029
    >
    exemplars: <
      label: <
        name: "dummyID"
        value: "59772"
      >
      value: -0.00052
      timestamp: <
        seconds: 1625851160
        nanos: 156848499
      >
    >
  >
  timestamp_ms: 1234568
>

`,
  `name: "test_histogram_with_native_histogram_exemplars2"
help: "Another histogram with native histogram exemplars."
type: HISTOGRAM
metric: <
  histogram: <
    sample_count: 175
    sample_sum: 0.0008280461746287094
    bucket: <
      cumulative_count: 2
      upper_bound: -0.0004899999999999998
    >
    bucket: <
      cumulative_count: 4
      upper_bound: -0.0003899999999999998
    >
    bucket: <
      cumulative_count: 16
      upper_bound: -0.0002899999999999998
    >
    schema: 3
    zero_threshold: 2.938735877055719e-39
    zero_count: 2
    negative_span: <
      offset: -162
      length: 1
    >
    negative_span: <
      offset: 23
      length: 4
    >
    negative_delta: 1
    negative_delta: 3
    negative_delta: -2
    negative_delta: -1
    negative_delta: 1
    positive_span: <
      offset: -161
      length: 1
    >
    positive_span: <
      offset: 8
      length: 3
    >
    positive_delta: 1
    positive_delta: 2
    positive_delta: -1
    positive_delta: -1
    exemplars: <
      label: <
        name: "dummyID"
        value: "59780"
      >
      value: -0.00039
      timestamp: <
        seconds: 1625851155
        nanos: 146848499
      >
    >
  >
  timestamp_ms: 1234568
>

`,
];

export const UPSTREAM_SCENARIOS: {
  name: string;
  ignoreNativeHistograms: boolean;
  parseClassicHistograms: boolean;
  expected: UpstreamEntry[];
}[] = [
  {
    name: 'ignoreNativeHistograms=false/parseClassicHistograms=false/enableTypeAndUnitLabels=false',
    ignoreNativeHistograms: false,
    parseClassicHistograms: false,
    expected: [
      {
        m: 'go_build_info',
        help: 'Build information about the main Go module.',
      },
      {
        m: 'go_build_info',
        typ: 'gauge',
      },
      {
        m: 'go_build_info\xffchecksum\xff\xffpath\xffgithub.com/prometheus/client_golang\xffversion\xff(devel)',
        v: 1,
        lset: L(
          '__name__',
          'go_build_info',
          'checksum',
          '',
          'path',
          'github.com/prometheus/client_golang',
          'version',
          '(devel)',
        ),
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        help: 'Total number of bytes allocated, even if freed.',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        unit: 'bytes',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        typ: 'counter',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        v: 1.546544e6,
        lset: L('__name__', 'go_memstats_alloc_bytes_total'),
        es: [{ Labels: L('dummyID', '42'), Value: 12, HasTs: true, Ts: 1625851151233 }],
      },
      {
        m: 'something_untyped',
        help: 'Just to test the untyped type.',
      },
      {
        m: 'something_untyped',
        typ: 'unknown',
      },
      {
        m: 'something_untyped',
        t: 1234567,
        v: 42,
        lset: L('__name__', 'something_untyped'),
      },
      {
        m: 'test_histogram',
        help: 'Test histogram with many buckets removed to keep it manageable in size.',
      },
      {
        m: 'test_histogram',
        typ: 'histogram',
      },
      {
        m: 'test_histogram',
        t: 1234568,
        shs: {
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_histogram',
        help: 'Like test_histogram but as gauge histogram.',
      },
      {
        m: 'test_gauge_histogram',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gauge_histogram',
        t: 1234568,
        shs: {
          CounterResetHint: 3,
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_gauge_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_float_histogram',
        help: 'Test float histogram with many buckets removed to keep it manageable in size.',
      },
      {
        m: 'test_float_histogram',
        typ: 'histogram',
      },
      {
        m: 'test_float_histogram',
        t: 1234568,
        fhs: {
          Count: 175.0,
          ZeroCount: 2.0,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1.0, 2.0, -1.0, -1.0],
          NegativeBuckets: [1.0, 3.0, -2.0, -1.0, 1.0],
        },
        lset: L('__name__', 'test_float_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_float_histogram',
        help: 'Like test_float_histogram but as gauge histogram.',
      },
      {
        m: 'test_gauge_float_histogram',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gauge_float_histogram',
        t: 1234568,
        fhs: {
          CounterResetHint: 3,
          Count: 175.0,
          ZeroCount: 2.0,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1.0, 2.0, -1.0, -1.0],
          NegativeBuckets: [1.0, 3.0, -2.0, -1.0, 1.0],
        },
        lset: L('__name__', 'test_gauge_float_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram2',
        help: 'Similar histogram as before but now without sparse buckets.',
      },
      {
        m: 'test_histogram2',
        typ: 'histogram',
      },
      {
        m: 'test_histogram2_count',
        v: 175,
        lset: L('__name__', 'test_histogram2_count'),
      },
      {
        m: 'test_histogram2_sum',
        v: 0.000828,
        lset: L('__name__', 'test_histogram2_sum'),
      },
      {
        m: 'test_histogram2_bucket\xffle\xff-0.00048',
        v: 2,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '-0.00048'),
      },
      {
        m: 'test_histogram2_bucket\xffle\xff-0.00038',
        v: 4,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '-0.00038'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00038, HasTs: true, Ts: 1625851153146 }],
      },
      {
        m: 'test_histogram2_bucket\xffle\xff1.0',
        v: 16,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '1.0'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.000295, HasTs: false }],
      },
      {
        m: 'test_histogram2_bucket\xffle\xff+Inf',
        v: 175,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram3',
        help: 'Similar histogram as before but now with integer buckets.',
      },
      {
        m: 'test_histogram3',
        typ: 'histogram',
      },
      {
        m: 'test_histogram3_count',
        v: 6,
        lset: L('__name__', 'test_histogram3_count'),
      },
      {
        m: 'test_histogram3_sum',
        v: 50,
        lset: L('__name__', 'test_histogram3_sum'),
      },
      {
        m: 'test_histogram3_bucket\xffle\xff-20.0',
        v: 2,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '-20.0'),
      },
      {
        m: 'test_histogram3_bucket\xffle\xff20.0',
        v: 4,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '20.0'),
        es: [{ Labels: L('dummyID', '59727'), Value: 15, HasTs: true, Ts: 1625851153146 }],
      },
      {
        m: 'test_histogram3_bucket\xffle\xff30.0',
        v: 6,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '30.0'),
        es: [{ Labels: L('dummyID', '5617'), Value: 25, HasTs: false }],
      },
      {
        m: 'test_histogram3_bucket\xffle\xff+Inf',
        v: 6,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_family',
        help: 'Test histogram metric family with two very simple histograms.',
      },
      {
        m: 'test_histogram_family',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_family\xfffoo\xffbar',
        shs: {
          CounterResetHint: 0,
          Count: 5,
          Sum: 12.1,
          Schema: 3,
          PositiveSpans: [{ Offset: 8, Length: 2 }],
          NegativeSpans: [],
          PositiveBuckets: [2, 1],
        },
        lset: L('__name__', 'test_histogram_family', 'foo', 'bar'),
      },
      {
        m: 'test_histogram_family\xfffoo\xffbaz',
        shs: {
          CounterResetHint: 0,
          Count: 6,
          Sum: 13.1,
          Schema: 3,
          PositiveSpans: [{ Offset: 8, Length: 2 }],
          NegativeSpans: [],
          PositiveBuckets: [1, 4],
        },
        lset: L('__name__', 'test_histogram_family', 'foo', 'baz'),
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        help: 'Test float histogram with a zero threshold of zero.',
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        typ: 'histogram',
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        fhs: {
          Count: 5.0,
          Sum: 12.1,
          Schema: 3,
          PositiveSpans: [{ Offset: 8, Length: 2 }],
          PositiveBuckets: [2.0, 3.0],
          NegativeSpans: [],
        },
        lset: L('__name__', 'test_float_histogram_with_zerothreshold_zero'),
      },
      {
        m: 'rpc_durations_seconds',
        help: 'RPC latency distributions.',
      },
      {
        m: 'rpc_durations_seconds',
        typ: 'summary',
      },
      {
        m: 'rpc_durations_seconds_count\xffservice\xffexponential',
        v: 262,
        lset: L('__name__', 'rpc_durations_seconds_count', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds_sum\xffservice\xffexponential',
        v: 0.00025551262820703587,
        lset: L('__name__', 'rpc_durations_seconds_sum', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.5\xffservice\xffexponential',
        v: 6.442786329648548e-7,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.5', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.9\xffservice\xffexponential',
        v: 1.9435742936658396e-6,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.9', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.99\xffservice\xffexponential',
        v: 4.0471608667037015e-6,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.99', 'service', 'exponential'),
      },
      {
        m: 'without_quantiles',
        help: 'A summary without quantiles.',
      },
      {
        m: 'without_quantiles',
        typ: 'summary',
      },
      {
        m: 'without_quantiles_count',
        v: 42,
        lset: L('__name__', 'without_quantiles_count'),
      },
      {
        m: 'without_quantiles_sum',
        v: 1.234,
        lset: L('__name__', 'without_quantiles_sum'),
      },
      {
        m: 'empty_histogram',
        help: 'A histogram without observations and with a zero threshold of zero but with a no-op span to identify it as a native histogram.',
      },
      {
        m: 'empty_histogram',
        typ: 'histogram',
      },
      {
        m: 'empty_histogram',
        shs: {
          CounterResetHint: 0,
          PositiveSpans: [],
          NegativeSpans: [],
        },
        lset: L('__name__', 'empty_histogram'),
      },
      {
        m: 'test_counter_with_createdtimestamp',
        help: 'A counter with a created timestamp.',
      },
      {
        m: 'test_counter_with_createdtimestamp',
        typ: 'counter',
      },
      {
        m: 'test_counter_with_createdtimestamp',
        v: 42,
        st: 1625851153146,
        lset: L('__name__', 'test_counter_with_createdtimestamp'),
      },
      {
        m: 'test_summary_with_createdtimestamp',
        help: 'A summary with a created timestamp.',
      },
      {
        m: 'test_summary_with_createdtimestamp',
        typ: 'summary',
      },
      {
        m: 'test_summary_with_createdtimestamp_count',
        v: 42,
        st: 1625851153146,
        lset: L('__name__', 'test_summary_with_createdtimestamp_count'),
      },
      {
        m: 'test_summary_with_createdtimestamp_sum',
        v: 1.234,
        st: 1625851153146,
        lset: L('__name__', 'test_summary_with_createdtimestamp_sum'),
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        help: 'A histogram with a created timestamp.',
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        st: 1625851153146,
        shs: {
          CounterResetHint: 0,
          PositiveSpans: [],
          NegativeSpans: [],
        },
        lset: L('__name__', 'test_histogram_with_createdtimestamp'),
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        help: 'A gauge histogram with a created timestamp.',
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        st: 1625851153146,
        shs: {
          CounterResetHint: 3,
          PositiveSpans: [],
          NegativeSpans: [],
        },
        lset: L('__name__', 'test_gaugehistogram_with_createdtimestamp'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        help: 'A histogram with native histogram exemplars.',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        t: 1234568,
        shs: {
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars'),
        es: [
          { Labels: L('dummyID', '59780'), Value: -0.00039, HasTs: true, Ts: 1625851155146 },
          { Labels: L('dummyID', '59772'), Value: -0.00052, HasTs: true, Ts: 1625851160156 },
        ],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        help: 'Another histogram with native histogram exemplars.',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        t: 1234568,
        shs: {
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2'),
        es: [{ Labels: L('dummyID', '59780'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
    ],
  },
  {
    name: 'ignoreNativeHistograms=false/parseClassicHistograms=true/enableTypeAndUnitLabels=false',
    ignoreNativeHistograms: false,
    parseClassicHistograms: true,
    expected: [
      {
        m: 'go_build_info',
        help: 'Build information about the main Go module.',
      },
      {
        m: 'go_build_info',
        typ: 'gauge',
      },
      {
        m: 'go_build_info\xffchecksum\xff\xffpath\xffgithub.com/prometheus/client_golang\xffversion\xff(devel)',
        v: 1,
        lset: L(
          '__name__',
          'go_build_info',
          'checksum',
          '',
          'path',
          'github.com/prometheus/client_golang',
          'version',
          '(devel)',
        ),
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        help: 'Total number of bytes allocated, even if freed.',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        unit: 'bytes',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        typ: 'counter',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        v: 1.546544e6,
        lset: L('__name__', 'go_memstats_alloc_bytes_total'),
        es: [{ Labels: L('dummyID', '42'), Value: 12, HasTs: true, Ts: 1625851151233 }],
      },
      {
        m: 'something_untyped',
        help: 'Just to test the untyped type.',
      },
      {
        m: 'something_untyped',
        typ: 'unknown',
      },
      {
        m: 'something_untyped',
        t: 1234567,
        v: 42,
        lset: L('__name__', 'something_untyped'),
      },
      {
        m: 'test_histogram',
        help: 'Test histogram with many buckets removed to keep it manageable in size.',
      },
      {
        m: 'test_histogram',
        typ: 'histogram',
      },
      {
        m: 'test_histogram',
        t: 1234568,
        shs: {
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_count'),
      },
      {
        m: 'test_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_histogram_sum'),
      },
      {
        m: 'test_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_gauge_histogram',
        help: 'Like test_histogram but as gauge histogram.',
      },
      {
        m: 'test_gauge_histogram',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gauge_histogram',
        t: 1234568,
        shs: {
          CounterResetHint: 3,
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_gauge_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_histogram_count'),
      },
      {
        m: 'test_gauge_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_gauge_histogram_sum'),
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_float_histogram',
        help: 'Test float histogram with many buckets removed to keep it manageable in size.',
      },
      {
        m: 'test_float_histogram',
        typ: 'histogram',
      },
      {
        m: 'test_float_histogram',
        t: 1234568,
        fhs: {
          Count: 175.0,
          ZeroCount: 2.0,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1.0, 2.0, -1.0, -1.0],
          NegativeBuckets: [1.0, 3.0, -2.0, -1.0, 1.0],
        },
        lset: L('__name__', 'test_float_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_float_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_float_histogram_count'),
      },
      {
        m: 'test_float_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_float_histogram_sum'),
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_gauge_float_histogram',
        help: 'Like test_float_histogram but as gauge histogram.',
      },
      {
        m: 'test_gauge_float_histogram',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gauge_float_histogram',
        t: 1234568,
        fhs: {
          CounterResetHint: 3,
          Count: 175.0,
          ZeroCount: 2.0,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1.0, 2.0, -1.0, -1.0],
          NegativeBuckets: [1.0, 3.0, -2.0, -1.0, 1.0],
        },
        lset: L('__name__', 'test_gauge_float_histogram'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_float_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_float_histogram_count'),
      },
      {
        m: 'test_gauge_float_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_gauge_float_histogram_sum'),
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram2',
        help: 'Similar histogram as before but now without sparse buckets.',
      },
      {
        m: 'test_histogram2',
        typ: 'histogram',
      },
      {
        m: 'test_histogram2_count',
        v: 175,
        lset: L('__name__', 'test_histogram2_count'),
      },
      {
        m: 'test_histogram2_sum',
        v: 0.000828,
        lset: L('__name__', 'test_histogram2_sum'),
      },
      {
        m: 'test_histogram2_bucket\xffle\xff-0.00048',
        v: 2,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '-0.00048'),
      },
      {
        m: 'test_histogram2_bucket\xffle\xff-0.00038',
        v: 4,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '-0.00038'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00038, HasTs: true, Ts: 1625851153146 }],
      },
      {
        m: 'test_histogram2_bucket\xffle\xff1.0',
        v: 16,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '1.0'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.000295, HasTs: false }],
      },
      {
        m: 'test_histogram2_bucket\xffle\xff+Inf',
        v: 175,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram3',
        help: 'Similar histogram as before but now with integer buckets.',
      },
      {
        m: 'test_histogram3',
        typ: 'histogram',
      },
      {
        m: 'test_histogram3_count',
        v: 6,
        lset: L('__name__', 'test_histogram3_count'),
      },
      {
        m: 'test_histogram3_sum',
        v: 50,
        lset: L('__name__', 'test_histogram3_sum'),
      },
      {
        m: 'test_histogram3_bucket\xffle\xff-20.0',
        v: 2,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '-20.0'),
      },
      {
        m: 'test_histogram3_bucket\xffle\xff20.0',
        v: 4,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '20.0'),
        es: [{ Labels: L('dummyID', '59727'), Value: 15, HasTs: true, Ts: 1625851153146 }],
      },
      {
        m: 'test_histogram3_bucket\xffle\xff30.0',
        v: 6,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '30.0'),
        es: [{ Labels: L('dummyID', '5617'), Value: 25, HasTs: false }],
      },
      {
        m: 'test_histogram3_bucket\xffle\xff+Inf',
        v: 6,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_family',
        help: 'Test histogram metric family with two very simple histograms.',
      },
      {
        m: 'test_histogram_family',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_family\xfffoo\xffbar',
        shs: {
          CounterResetHint: 0,
          Count: 5,
          Sum: 12.1,
          Schema: 3,
          PositiveSpans: [{ Offset: 8, Length: 2 }],
          NegativeSpans: [],
          PositiveBuckets: [2, 1],
        },
        lset: L('__name__', 'test_histogram_family', 'foo', 'bar'),
      },
      {
        m: 'test_histogram_family_count\xfffoo\xffbar',
        v: 5,
        lset: L('__name__', 'test_histogram_family_count', 'foo', 'bar'),
      },
      {
        m: 'test_histogram_family_sum\xfffoo\xffbar',
        v: 12.1,
        lset: L('__name__', 'test_histogram_family_sum', 'foo', 'bar'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbar\xffle\xff1.1',
        v: 2,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'bar', 'le', '1.1'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbar\xffle\xff2.2',
        v: 3,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'bar', 'le', '2.2'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbar\xffle\xff+Inf',
        v: 5,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'bar', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_family\xfffoo\xffbaz',
        shs: {
          CounterResetHint: 0,
          Count: 6,
          Sum: 13.1,
          Schema: 3,
          PositiveSpans: [{ Offset: 8, Length: 2 }],
          NegativeSpans: [],
          PositiveBuckets: [1, 4],
        },
        lset: L('__name__', 'test_histogram_family', 'foo', 'baz'),
      },
      {
        m: 'test_histogram_family_count\xfffoo\xffbaz',
        v: 6,
        lset: L('__name__', 'test_histogram_family_count', 'foo', 'baz'),
      },
      {
        m: 'test_histogram_family_sum\xfffoo\xffbaz',
        v: 13.1,
        lset: L('__name__', 'test_histogram_family_sum', 'foo', 'baz'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbaz\xffle\xff1.1',
        v: 1,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'baz', 'le', '1.1'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbaz\xffle\xff2.2',
        v: 5,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'baz', 'le', '2.2'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbaz\xffle\xff+Inf',
        v: 6,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'baz', 'le', '+Inf'),
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        help: 'Test float histogram with a zero threshold of zero.',
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        typ: 'histogram',
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        fhs: {
          Count: 5.0,
          Sum: 12.1,
          Schema: 3,
          PositiveSpans: [{ Offset: 8, Length: 2 }],
          PositiveBuckets: [2.0, 3.0],
          NegativeSpans: [],
        },
        lset: L('__name__', 'test_float_histogram_with_zerothreshold_zero'),
      },
      {
        m: 'rpc_durations_seconds',
        help: 'RPC latency distributions.',
      },
      {
        m: 'rpc_durations_seconds',
        typ: 'summary',
      },
      {
        m: 'rpc_durations_seconds_count\xffservice\xffexponential',
        v: 262,
        lset: L('__name__', 'rpc_durations_seconds_count', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds_sum\xffservice\xffexponential',
        v: 0.00025551262820703587,
        lset: L('__name__', 'rpc_durations_seconds_sum', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.5\xffservice\xffexponential',
        v: 6.442786329648548e-7,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.5', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.9\xffservice\xffexponential',
        v: 1.9435742936658396e-6,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.9', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.99\xffservice\xffexponential',
        v: 4.0471608667037015e-6,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.99', 'service', 'exponential'),
      },
      {
        m: 'without_quantiles',
        help: 'A summary without quantiles.',
      },
      {
        m: 'without_quantiles',
        typ: 'summary',
      },
      {
        m: 'without_quantiles_count',
        v: 42,
        lset: L('__name__', 'without_quantiles_count'),
      },
      {
        m: 'without_quantiles_sum',
        v: 1.234,
        lset: L('__name__', 'without_quantiles_sum'),
      },
      {
        m: 'empty_histogram',
        help: 'A histogram without observations and with a zero threshold of zero but with a no-op span to identify it as a native histogram.',
      },
      {
        m: 'empty_histogram',
        typ: 'histogram',
      },
      {
        m: 'empty_histogram',
        shs: {
          CounterResetHint: 0,
          PositiveSpans: [],
          NegativeSpans: [],
        },
        lset: L('__name__', 'empty_histogram'),
      },
      {
        m: 'test_counter_with_createdtimestamp',
        help: 'A counter with a created timestamp.',
      },
      {
        m: 'test_counter_with_createdtimestamp',
        typ: 'counter',
      },
      {
        m: 'test_counter_with_createdtimestamp',
        v: 42,
        st: 1625851153146,
        lset: L('__name__', 'test_counter_with_createdtimestamp'),
      },
      {
        m: 'test_summary_with_createdtimestamp',
        help: 'A summary with a created timestamp.',
      },
      {
        m: 'test_summary_with_createdtimestamp',
        typ: 'summary',
      },
      {
        m: 'test_summary_with_createdtimestamp_count',
        v: 42,
        st: 1625851153146,
        lset: L('__name__', 'test_summary_with_createdtimestamp_count'),
      },
      {
        m: 'test_summary_with_createdtimestamp_sum',
        v: 1.234,
        st: 1625851153146,
        lset: L('__name__', 'test_summary_with_createdtimestamp_sum'),
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        help: 'A histogram with a created timestamp.',
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        st: 1625851153146,
        shs: {
          CounterResetHint: 0,
          PositiveSpans: [],
          NegativeSpans: [],
        },
        lset: L('__name__', 'test_histogram_with_createdtimestamp'),
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        help: 'A gauge histogram with a created timestamp.',
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        st: 1625851153146,
        shs: {
          CounterResetHint: 3,
          PositiveSpans: [],
          NegativeSpans: [],
        },
        lset: L('__name__', 'test_gaugehistogram_with_createdtimestamp'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        help: 'A histogram with native histogram exemplars.',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        t: 1234568,
        shs: {
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars'),
        es: [
          { Labels: L('dummyID', '59780'), Value: -0.00039, HasTs: true, Ts: 1625851155146 },
          { Labels: L('dummyID', '59772'), Value: -0.00052, HasTs: true, Ts: 1625851160156 },
        ],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_count'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_sum'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        help: 'Another histogram with native histogram exemplars.',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        t: 1234568,
        shs: {
          Count: 175,
          ZeroCount: 2,
          Sum: 0.0008280461746287094,
          ZeroThreshold: 2.938735877055719e-39,
          Schema: 3,
          PositiveSpans: [
            { Offset: -161, Length: 1 },
            { Offset: 8, Length: 3 },
          ],
          NegativeSpans: [
            { Offset: -162, Length: 1 },
            { Offset: 23, Length: 4 },
          ],
          PositiveBuckets: [1, 2, -1, -1],
          NegativeBuckets: [1, 3, -2, -1, 1],
        },
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2'),
        es: [{ Labels: L('dummyID', '59780'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_count'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_sum'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '-0.0003899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '-0.0002899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '+Inf'),
      },
    ],
  },
  {
    name: 'ignoreNativeHistograms=true/parseClassicHistograms=false/enableTypeAndUnitLabels=false',
    ignoreNativeHistograms: true,
    parseClassicHistograms: false,
    expected: [
      {
        m: 'go_build_info',
        help: 'Build information about the main Go module.',
      },
      {
        m: 'go_build_info',
        typ: 'gauge',
      },
      {
        m: 'go_build_info\xffchecksum\xff\xffpath\xffgithub.com/prometheus/client_golang\xffversion\xff(devel)',
        v: 1,
        lset: L(
          '__name__',
          'go_build_info',
          'checksum',
          '',
          'path',
          'github.com/prometheus/client_golang',
          'version',
          '(devel)',
        ),
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        help: 'Total number of bytes allocated, even if freed.',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        unit: 'bytes',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        typ: 'counter',
      },
      {
        m: 'go_memstats_alloc_bytes_total',
        v: 1.546544e6,
        lset: L('__name__', 'go_memstats_alloc_bytes_total'),
        es: [{ Labels: L('dummyID', '42'), Value: 12, HasTs: true, Ts: 1625851151233 }],
      },
      {
        m: 'something_untyped',
        help: 'Just to test the untyped type.',
      },
      {
        m: 'something_untyped',
        typ: 'unknown',
      },
      {
        m: 'something_untyped',
        t: 1234567,
        v: 42,
        lset: L('__name__', 'something_untyped'),
      },
      {
        m: 'test_histogram',
        help: 'Test histogram with many buckets removed to keep it manageable in size.',
      },
      {
        m: 'test_histogram',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_count'),
      },
      {
        m: 'test_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_histogram_sum'),
      },
      {
        m: 'test_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_gauge_histogram',
        help: 'Like test_histogram but as gauge histogram.',
      },
      {
        m: 'test_gauge_histogram',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gauge_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_histogram_count'),
      },
      {
        m: 'test_gauge_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_gauge_histogram_sum'),
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_gauge_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_float_histogram',
        help: 'Test float histogram with many buckets removed to keep it manageable in size.',
      },
      {
        m: 'test_float_histogram',
        typ: 'histogram',
      },
      {
        m: 'test_float_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_float_histogram_count'),
      },
      {
        m: 'test_float_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_float_histogram_sum'),
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_float_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_float_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_gauge_float_histogram',
        help: 'Like test_float_histogram but as gauge histogram.',
      },
      {
        m: 'test_gauge_float_histogram',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gauge_float_histogram_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_float_histogram_count'),
      },
      {
        m: 'test_gauge_float_histogram_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_gauge_float_histogram_sum'),
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_gauge_float_histogram_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_gauge_float_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram2',
        help: 'Similar histogram as before but now without sparse buckets.',
      },
      {
        m: 'test_histogram2',
        typ: 'histogram',
      },
      {
        m: 'test_histogram2_count',
        v: 175,
        lset: L('__name__', 'test_histogram2_count'),
      },
      {
        m: 'test_histogram2_sum',
        v: 0.000828,
        lset: L('__name__', 'test_histogram2_sum'),
      },
      {
        m: 'test_histogram2_bucket\xffle\xff-0.00048',
        v: 2,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '-0.00048'),
      },
      {
        m: 'test_histogram2_bucket\xffle\xff-0.00038',
        v: 4,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '-0.00038'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00038, HasTs: true, Ts: 1625851153146 }],
      },
      {
        m: 'test_histogram2_bucket\xffle\xff1.0',
        v: 16,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '1.0'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.000295, HasTs: false }],
      },
      {
        m: 'test_histogram2_bucket\xffle\xff+Inf',
        v: 175,
        lset: L('__name__', 'test_histogram2_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram3',
        help: 'Similar histogram as before but now with integer buckets.',
      },
      {
        m: 'test_histogram3',
        typ: 'histogram',
      },
      {
        m: 'test_histogram3_count',
        v: 6,
        lset: L('__name__', 'test_histogram3_count'),
      },
      {
        m: 'test_histogram3_sum',
        v: 50,
        lset: L('__name__', 'test_histogram3_sum'),
      },
      {
        m: 'test_histogram3_bucket\xffle\xff-20.0',
        v: 2,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '-20.0'),
      },
      {
        m: 'test_histogram3_bucket\xffle\xff20.0',
        v: 4,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '20.0'),
        es: [{ Labels: L('dummyID', '59727'), Value: 15, HasTs: true, Ts: 1625851153146 }],
      },
      {
        m: 'test_histogram3_bucket\xffle\xff30.0',
        v: 6,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '30.0'),
        es: [{ Labels: L('dummyID', '5617'), Value: 25, HasTs: false }],
      },
      {
        m: 'test_histogram3_bucket\xffle\xff+Inf',
        v: 6,
        lset: L('__name__', 'test_histogram3_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_family',
        help: 'Test histogram metric family with two very simple histograms.',
      },
      {
        m: 'test_histogram_family',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_family_count\xfffoo\xffbar',
        v: 5,
        lset: L('__name__', 'test_histogram_family_count', 'foo', 'bar'),
      },
      {
        m: 'test_histogram_family_sum\xfffoo\xffbar',
        v: 12.1,
        lset: L('__name__', 'test_histogram_family_sum', 'foo', 'bar'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbar\xffle\xff1.1',
        v: 2,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'bar', 'le', '1.1'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbar\xffle\xff2.2',
        v: 3,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'bar', 'le', '2.2'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbar\xffle\xff+Inf',
        v: 5,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'bar', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_family_count\xfffoo\xffbaz',
        v: 6,
        lset: L('__name__', 'test_histogram_family_count', 'foo', 'baz'),
      },
      {
        m: 'test_histogram_family_sum\xfffoo\xffbaz',
        v: 13.1,
        lset: L('__name__', 'test_histogram_family_sum', 'foo', 'baz'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbaz\xffle\xff1.1',
        v: 1,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'baz', 'le', '1.1'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbaz\xffle\xff2.2',
        v: 5,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'baz', 'le', '2.2'),
      },
      {
        m: 'test_histogram_family_bucket\xfffoo\xffbaz\xffle\xff+Inf',
        v: 6,
        lset: L('__name__', 'test_histogram_family_bucket', 'foo', 'baz', 'le', '+Inf'),
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        help: 'Test float histogram with a zero threshold of zero.',
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero',
        typ: 'histogram',
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero_count',
        v: 5,
        lset: L('__name__', 'test_float_histogram_with_zerothreshold_zero_count'),
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero_sum',
        v: 12.1,
        lset: L('__name__', 'test_float_histogram_with_zerothreshold_zero_sum'),
      },
      {
        m: 'test_float_histogram_with_zerothreshold_zero_bucket\xffle\xff+Inf',
        v: 5,
        lset: L('__name__', 'test_float_histogram_with_zerothreshold_zero_bucket', 'le', '+Inf'),
      },
      {
        m: 'rpc_durations_seconds',
        help: 'RPC latency distributions.',
      },
      {
        m: 'rpc_durations_seconds',
        typ: 'summary',
      },
      {
        m: 'rpc_durations_seconds_count\xffservice\xffexponential',
        v: 262,
        lset: L('__name__', 'rpc_durations_seconds_count', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds_sum\xffservice\xffexponential',
        v: 0.00025551262820703587,
        lset: L('__name__', 'rpc_durations_seconds_sum', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.5\xffservice\xffexponential',
        v: 6.442786329648548e-7,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.5', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.9\xffservice\xffexponential',
        v: 1.9435742936658396e-6,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.9', 'service', 'exponential'),
      },
      {
        m: 'rpc_durations_seconds\xffquantile\xff0.99\xffservice\xffexponential',
        v: 4.0471608667037015e-6,
        lset: L('__name__', 'rpc_durations_seconds', 'quantile', '0.99', 'service', 'exponential'),
      },
      {
        m: 'without_quantiles',
        help: 'A summary without quantiles.',
      },
      {
        m: 'without_quantiles',
        typ: 'summary',
      },
      {
        m: 'without_quantiles_count',
        v: 42,
        lset: L('__name__', 'without_quantiles_count'),
      },
      {
        m: 'without_quantiles_sum',
        v: 1.234,
        lset: L('__name__', 'without_quantiles_sum'),
      },
      {
        m: 'empty_histogram',
        help: 'A histogram without observations and with a zero threshold of zero but with a no-op span to identify it as a native histogram.',
      },
      {
        m: 'empty_histogram',
        typ: 'histogram',
      },
      {
        m: 'empty_histogram_count',
        v: 0,
        lset: L('__name__', 'empty_histogram_count'),
      },
      {
        m: 'empty_histogram_sum',
        v: 0,
        lset: L('__name__', 'empty_histogram_sum'),
      },
      {
        m: 'empty_histogram_bucket\xffle\xff+Inf',
        v: 0,
        lset: L('__name__', 'empty_histogram_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_counter_with_createdtimestamp',
        help: 'A counter with a created timestamp.',
      },
      {
        m: 'test_counter_with_createdtimestamp',
        typ: 'counter',
      },
      {
        m: 'test_counter_with_createdtimestamp',
        v: 42,
        st: 1625851153146,
        lset: L('__name__', 'test_counter_with_createdtimestamp'),
      },
      {
        m: 'test_summary_with_createdtimestamp',
        help: 'A summary with a created timestamp.',
      },
      {
        m: 'test_summary_with_createdtimestamp',
        typ: 'summary',
      },
      {
        m: 'test_summary_with_createdtimestamp_count',
        v: 42,
        st: 1625851153146,
        lset: L('__name__', 'test_summary_with_createdtimestamp_count'),
      },
      {
        m: 'test_summary_with_createdtimestamp_sum',
        v: 1.234,
        st: 1625851153146,
        lset: L('__name__', 'test_summary_with_createdtimestamp_sum'),
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        help: 'A histogram with a created timestamp.',
      },
      {
        m: 'test_histogram_with_createdtimestamp',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_createdtimestamp_count',
        v: 0,
        st: 1625851153146,
        lset: L('__name__', 'test_histogram_with_createdtimestamp_count'),
      },
      {
        m: 'test_histogram_with_createdtimestamp_sum',
        v: 0,
        st: 1625851153146,
        lset: L('__name__', 'test_histogram_with_createdtimestamp_sum'),
      },
      {
        m: 'test_histogram_with_createdtimestamp_bucket\xffle\xff+Inf',
        v: 0,
        st: 1625851153146,
        lset: L('__name__', 'test_histogram_with_createdtimestamp_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        help: 'A gauge histogram with a created timestamp.',
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp',
        typ: 'gaugehistogram',
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp_count',
        v: 0,
        st: 1625851153146,
        lset: L('__name__', 'test_gaugehistogram_with_createdtimestamp_count'),
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp_sum',
        v: 0,
        st: 1625851153146,
        lset: L('__name__', 'test_gaugehistogram_with_createdtimestamp_sum'),
      },
      {
        m: 'test_gaugehistogram_with_createdtimestamp_bucket\xffle\xff+Inf',
        v: 0,
        st: 1625851153146,
        lset: L('__name__', 'test_gaugehistogram_with_createdtimestamp_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        help: 'A histogram with native histogram exemplars.',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_count'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_sum'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '-0.0003899999999999998'),
        es: [{ Labels: L('dummyID', '59727'), Value: -0.00039, HasTs: true, Ts: 1625851155146 }],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '-0.0002899999999999998'),
        es: [{ Labels: L('dummyID', '5617'), Value: -0.00029, HasTs: false }],
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars_bucket', 'le', '+Inf'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        help: 'Another histogram with native histogram exemplars.',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2',
        typ: 'histogram',
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_count',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_count'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_sum',
        t: 1234568,
        v: 0.0008280461746287094,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_sum'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff-0.0004899999999999998',
        t: 1234568,
        v: 2,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '-0.0004899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff-0.0003899999999999998',
        t: 1234568,
        v: 4,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '-0.0003899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff-0.0002899999999999998',
        t: 1234568,
        v: 16,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '-0.0002899999999999998'),
      },
      {
        m: 'test_histogram_with_native_histogram_exemplars2_bucket\xffle\xff+Inf',
        t: 1234568,
        v: 175,
        lset: L('__name__', 'test_histogram_with_native_histogram_exemplars2_bucket', 'le', '+Inf'),
      },
    ],
  },
];
