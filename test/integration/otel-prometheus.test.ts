// End to end: the real OpenTelemetry SDK (MeterProvider + PeriodicExportingMetricReader) exporting
// through PromspoolMetricExporter -> createQueue -> remote write -> a real Prometheus (Debian's 2.42,
// started with native-histograms so the exponential histogram is stored), read back by query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PromspoolMetricExporter } from '../../src/otel/index.js';
import { createQueue } from '../../src/queue.js';
import { fastOptions, tempDataDir } from '../queue/queue-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus');

describe('the OpenTelemetry SDK pushes into a real Prometheus through promspool', { skip }, () => {
  let prom: PrometheusInstance;

  before(async () => {
    prom = await startPrometheus({ features: ['native-histograms'] });
  });

  after(async () => {
    await prom?.stop();
  });

  /** Waits (bounded) until `promql` returns `count` series, and returns them. */
  async function waitForSeries(promql: string, count: number) {
    return waitUntil(() => prom.query(promql), {
      until: (r) => r.length === count,
      timeoutMs: 20_000,
      intervalMs: 100,
      description: `${promql} returns ${count} series`,
    });
  }

  it('names, job/instance, target_info, counter values over two exports, histogram buckets and a native histogram', async (t) => {
    const dir = await tempDataDir('otel-prom');
    const queue = await createQueue(fastOptions(dir.path, prom.writeUrl, { name: 'otel' }));
    t.after(() => dir.remove());
    const exporter = new PromspoolMetricExporter(queue);
    // Exports are driven by forceFlush; the interval only has to be longer than the test.
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': 'checkout',
        'service.namespace': 'shop',
        'service.instance.id': 'pod-1',
        'deployment.environment': 'prod',
      }),
      readers: [reader],
      views: [{ instrumentName: 'rpc.payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = provider.getMeter('shop');
    const requests = meter.createCounter('http.server.request.count', { unit: '{request}', description: 'Requests.' });
    const duration = meter.createHistogram('http.server.duration', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100, 1000] },
    });
    const payload = meter.createHistogram('rpc.payload.size', { unit: 'By' });
    requests.add(3, { 'http.request.method': 'GET' });
    for (const v of [5, 50, 50, 500, 5000]) duration.record(v, { 'http.route': '/pay' });
    payload.record(1.5);
    payload.record(3);
    await provider.forceFlush();
    requests.add(2, { 'http.request.method': 'GET' });
    await provider.shutdown(); // the final collection, committed
    await waitForSeries('count_over_time(http_server_request_count_total[1h]) == 2', 1);
    await queue.stop();

    const counter = await prom.query('http_server_request_count_total[1h]');
    assert.equal(counter.length, 1);
    assert.deepEqual(counter[0]!.metric, {
      __name__: 'http_server_request_count_total',
      http_request_method: 'GET',
      job: 'shop/checkout',
      instance: 'pod-1',
    });
    assert.deepEqual(
      counter[0]!.samples.map((s) => s.value),
      [3, 5],
    );

    const info = await waitForSeries('target_info', 1);
    assert.deepEqual(info[0]!.metric, {
      __name__: 'target_info',
      deployment_environment: 'prod',
      job: 'shop/checkout',
      instance: 'pod-1',
    });

    const buckets = await waitForSeries('http_server_duration_milliseconds_bucket', 4);
    assert.deepEqual(buckets.map((b) => [b.metric.le, b.samples[0]!.value, b.metric.http_route, b.metric.job]).sort(), [
      ['+Inf', 5, '/pay', 'shop/checkout'],
      ['10', 1, '/pay', 'shop/checkout'],
      ['100', 3, '/pay', 'shop/checkout'],
      ['1000', 4, '/pay', 'shop/checkout'],
    ]);
    const [sum] = await waitForSeries('http_server_duration_milliseconds_sum', 1);
    assert.equal(sum!.samples[0]!.value, 5605);
    const [count] = await waitForSeries('http_server_duration_milliseconds_count', 1);
    assert.equal(count!.samples[0]!.value, 5);

    // The exponential histogram as a native one: count, sum, and each value in the bucket that holds it.
    const [native] = await waitForSeries('rpc_payload_size_bytes', 1);
    assert.deepEqual(native!.metric, { __name__: 'rpc_payload_size_bytes', job: 'shop/checkout', instance: 'pod-1' });
    const h = native!.histograms[0]!.histogram;
    assert.equal(h.count, 2);
    assert.equal(h.sum, 4.5);
    const nonEmpty = h.buckets.filter((b) => b.count > 0);
    assert.equal(nonEmpty.length, 2);
    for (const [value, bucket] of [1.5, 3].map((v, i) => [v, nonEmpty[i]!] as const)) {
      assert.ok(bucket.lower < value && value <= bucket.upper, `${value} in (${bucket.lower}, ${bucket.upper}]`);
      assert.equal(bucket.count, 1);
      // The SDK fits 1.5..3 into its 160 buckets at scale 7, kept as schema 7: bounds 2^(1/128) apart.
      assert.ok(Math.abs(bucket.upper / bucket.lower - 2 ** (1 / 128)) < 1e-12, `${bucket.lower}..${bucket.upper}`);
    }
    const [histogramCount] = await prom.query('histogram_count(rpc_payload_size_bytes)');
    assert.equal(histogramCount!.samples[0]!.value, 2);
  });
});
