// The exporter under the real OTel SDK (MeterProvider + PeriodicExportingMetricReader, collected by
// hand), writing into a recording queue: exact series, labels, values, metadata and timestamps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { ClosedError } from '../../src/errors.js';
import {
  PartialExportError,
  PromspoolMetricExporter,
  type PromspoolMetricExporterOptions,
} from '../../src/otel/index.js';
import { hrTimeToMs } from '../../src/otel/translate.js';
import { createQueue } from '../../src/queue.js';
import type { Queue } from '../../src/queue-types.js';
import { FakeQueue, type RecordedSample } from '../daemon/fake-queue.js';
import { seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { fastOptions, tempDataDir } from '../queue/queue-helpers.js';

const RESOURCE = {
  'service.name': 'checkout',
  'service.namespace': 'shop',
  'service.instance.id': 'pod-1',
  'deployment.environment': 'prod',
  'host.name': 'node-7',
};

/** A provider whose reader only exports when the test collects (the interval is an hour). */
function setup(queue: Pick<Queue, 'appender'>, options?: PromspoolMetricExporterOptions) {
  const exporter = new PromspoolMetricExporter(queue, options);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE),
    readers: [reader],
    views: [
      { instrumentName: 'rpc.payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
      {
        instrumentName: 'http.server.duration',
        aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [10, 100, 1000] } },
      },
    ],
  });
  return { exporter, reader, provider, meter: provider.getMeter('shop-app', '1.2.3') };
}

/** Collects once and exports through `exporter`, resolving with the export's result. */
async function collectAndExport(reader: PeriodicExportingMetricReader, exporter: PromspoolMetricExporter) {
  const { resourceMetrics } = await reader.collect();
  const result = await exportOnce(exporter, resourceMetrics);
  return { resourceMetrics, result };
}

function exportOnce(exporter: PromspoolMetricExporter, metrics: ResourceMetrics) {
  return new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(metrics, resolve));
}

/** The one timestamp of a collection (every point of one collect shares its end time). */
function collectionTime(metrics: ResourceMetrics): number {
  const times = new Set(
    metrics.scopeMetrics.flatMap((s) => s.metrics.flatMap((m) => m.dataPoints.map((p) => hrTimeToMs(p.endTime)))),
  );
  assert.equal(times.size, 1);
  return [...times][0]!;
}

/** Samples as [labels, ts, value], sorted by series (the SDK's metric order is its own). */
function sorted(samples: RecordedSample[]) {
  return samples
    .map((s) => [s.labels, s.timestampMs, s.value] as const)
    .sort((a, b) => (seriesKey(a[0]) < seriesKey(b[0]) ? -1 : seriesKey(a[0]) > seriesKey(b[0]) ? 1 : a[1] - b[1]));
}

const TARGET = { job: 'shop/checkout', instance: 'pod-1' };

test('counter, up-down counter, observable gauge, histogram and exponential histogram: names, labels, values, metadata, timestamps', async () => {
  const queue = new FakeQueue();
  const { exporter, reader, meter, provider } = setup(queue);
  const requests = meter.createCounter('http.server.request.count', {
    description: 'Requests served.',
    unit: '{request}',
  });
  requests.add(3, { 'http.request.method': 'GET', 'http.route': '/pay' });
  requests.add(1, { 'http.request.method': 'POST', 'http.route': '/pay' });
  const active = meter.createUpDownCounter('db.client.connections.usage', {
    description: 'Open connections.',
    unit: '{connection}',
  });
  active.add(5, { state: 'used' });
  active.add(-2, { state: 'used' });
  const heap = meter.createObservableGauge('process.memory.usage', { description: 'Heap in use.', unit: 'By' });
  heap.addCallback((r) => r.observe(123456, { 'memory.type': 'heap' }));
  const duration = meter.createHistogram('http.server.duration', { description: 'Latency.', unit: 'ms' });
  for (const v of [5, 50, 50, 500, 5000]) duration.record(v, { 'http.route': '/pay' });
  const size = meter.createHistogram('rpc.payload.size', { description: 'Payload sizes.', unit: 'By' });
  size.record(1.5);
  size.record(1.5);

  const before = Date.now();
  const { resourceMetrics, result } = await collectAndExport(reader, exporter);
  const after = Date.now();
  assert.equal(result.code, 0, result.error?.message);
  const ts = collectionTime(resourceMetrics);
  assert.ok(ts >= before - 1 && ts <= after, `${ts} in [${before}, ${after}]`);
  assert.equal(queue.commits, 1);

  const route = { http_route: '/pay' };
  assert.deepEqual(
    sorted(queue.samples),
    sorted(
      [
        [{ __name__: 'http_server_request_count_total', http_request_method: 'GET', ...route, ...TARGET }, ts, 3],
        [{ __name__: 'http_server_request_count_total', http_request_method: 'POST', ...route, ...TARGET }, ts, 1],
        [{ __name__: 'db_client_connections_usage', state: 'used', ...TARGET }, ts, 3],
        [{ __name__: 'process_memory_usage_bytes', memory_type: 'heap', ...TARGET }, ts, 123456],
        [{ __name__: 'http_server_duration_milliseconds_sum', ...route, ...TARGET }, ts, 5605],
        [{ __name__: 'http_server_duration_milliseconds_count', ...route, ...TARGET }, ts, 5],
        [{ __name__: 'http_server_duration_milliseconds_bucket', le: '10', ...route, ...TARGET }, ts, 1],
        [{ __name__: 'http_server_duration_milliseconds_bucket', le: '100', ...route, ...TARGET }, ts, 3],
        [{ __name__: 'http_server_duration_milliseconds_bucket', le: '1000', ...route, ...TARGET }, ts, 4],
        [{ __name__: 'http_server_duration_milliseconds_bucket', le: '+Inf', ...route, ...TARGET }, ts, 5],
        [{ __name__: 'target_info', deployment_environment: 'prod', host_name: 'node-7', ...TARGET }, ts, 1],
      ].map(([labels, timestampMs, value]) => ({ labels, timestampMs, value }) as RecordedSample),
    ),
  );
  // The SDK's exponential histogram starts at scale 20; Prometheus merges it down to schema 8,
  // where 1.5 falls in bucket ceil(log2(1.5) * 256) = 150.
  assert.deepEqual(queue.histograms, [
    {
      labels: { __name__: 'rpc_payload_size_bytes', ...TARGET },
      timestampMs: ts,
      histogram: {
        isFloat: false,
        count: 2,
        sum: 3,
        schema: 8,
        zeroThreshold: 1e-128,
        zeroCount: 0,
        positiveSpans: [{ offset: 150, length: 1 }],
        positiveDeltas: [2],
        negativeSpans: [],
        negativeDeltas: [],
        resetHint: 0,
      },
    },
  ]);
  assert.deepEqual(
    queue.metadata.map((m) => [m.name, m.metadata]).sort(),
    [
      ['http_server_request_count_total', { type: 'counter', help: 'Requests served.', unit: '' }],
      ['db_client_connections_usage', { type: 'gauge', help: 'Open connections.', unit: '' }],
      ['process_memory_usage_bytes', { type: 'gauge', help: 'Heap in use.', unit: 'bytes' }],
      ['http_server_duration_milliseconds', { type: 'histogram', help: 'Latency.', unit: 'milliseconds' }],
      ['rpc_payload_size_bytes', { type: 'histogram', help: 'Payload sizes.', unit: 'bytes' }],
      ['target_info', { type: 'gauge', help: 'Target metadata', unit: '' }],
    ].sort(),
  );

  // A second collection: cumulative values, new timestamps, metadata not repeated (unchanged).
  requests.add(2, { 'http.request.method': 'GET', 'http.route': '/pay' });
  const second = await collectAndExport(reader, exporter);
  assert.equal(second.result.code, 0);
  const ts2 = collectionTime(second.resourceMetrics);
  assert.ok(ts2 >= ts);
  const get = queue.samples.filter((s) => s.timestampMs === ts2 && s.labels.http_request_method === 'GET');
  assert.deepEqual(
    get.map((s) => s.value),
    [5],
  );
  assert.equal(queue.metadata.length, 6);
  assert.equal(queue.commits, 2);
  await provider.shutdown();
});

test('selectAggregationTemporality is cumulative for every instrument kind; the SDK hands cumulative data', async () => {
  const queue = new FakeQueue();
  const { exporter, reader, meter, provider } = setup(queue);
  assert.equal(exporter.selectAggregationTemporality(), AggregationTemporality.CUMULATIVE);
  meter.createCounter('c').add(1);
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics[0]!.metrics[0]!;
  assert.equal(metric.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  await provider.shutdown();
});

test('UTF-8 translation keeps dots in metric and label names and adds the suffixes', async () => {
  const queue = new FakeQueue();
  // FakeQueue.series checks legacy names; the exporter appends label objects, which it does not check.
  const { exporter, reader, meter, provider } = setup(queue, { translationStrategy: 'NoUTF8EscapingWithSuffixes' });
  meter.createCounter('http.server.request.count', { unit: '{request}' }).add(2, { 'http.route': '/a' });
  meter.createHistogram('http.server.duration', { unit: 'ms' }).record(7);
  const { result } = await collectAndExport(reader, exporter);
  assert.equal(result.code, 0);
  assert.deepEqual(queue.samples.map((s) => s.labels.__name__).sort(), [
    'http.server.duration_milliseconds_bucket',
    'http.server.duration_milliseconds_bucket',
    'http.server.duration_milliseconds_bucket',
    'http.server.duration_milliseconds_bucket',
    'http.server.duration_milliseconds_count',
    'http.server.duration_milliseconds_sum',
    'http.server.request.count_total',
    'target_info',
  ]);
  const counter = queue.samples.find((s) => s.labels.__name__ === 'http.server.request.count_total');
  assert.deepEqual(counter?.labels, { __name__: 'http.server.request.count_total', 'http.route': '/a', ...TARGET });
  assert.deepEqual(queue.samples.find((s) => s.labels.__name__ === 'target_info')?.labels, {
    __name__: 'target_info',
    'deployment.environment': 'prod',
    'host.name': 'node-7',
    ...TARGET,
  });
  await provider.shutdown();
});

test('attribute keys that collide after escaping join their values with ";" in key order; promoted resource attributes', async () => {
  const queue = new FakeQueue();
  const { exporter, reader, meter, provider } = setup(queue, {
    promoteResourceAttributes: ['deployment.environment'],
    disableTargetInfo: true,
  });
  meter.createCounter('events').add(1, { 'a.b': 'dot', a_b: 'underscore', 'a-b': 'dash', '2xx': 'digit' });
  const { result } = await collectAndExport(reader, exporter);
  assert.equal(result.code, 0);
  assert.deepEqual(
    queue.samples.map((s) => s.labels),
    [
      {
        __name__: 'events_total',
        // Sorted keys: "a-b" < "a.b" < "a_b".
        a_b: 'dash;dot;underscore',
        key_2xx: 'digit',
        deployment_environment: 'prod',
        ...TARGET,
      },
    ],
  );
  await provider.shutdown();
});

test('export calls back only once the commit resolved', async () => {
  const queue = new FakeQueue();
  let open!: () => void;
  queue.commitGate = new Promise((r) => {
    open = r;
  });
  const committing = new Promise<void>((r) => {
    queue.onCommit = r;
  });
  const { exporter, reader, meter, provider } = setup(queue);
  meter.createCounter('jobs').add(4);
  const { resourceMetrics } = await reader.collect();
  let result: { code: number } | undefined;
  exporter.export(resourceMetrics, (r) => {
    result = r;
  });
  await committing;
  // The commit has started and waits on the gate: no callback yet, and forceFlush waits too.
  let flushed = false;
  const flushing = exporter.forceFlush().then(() => {
    flushed = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(result, undefined);
  assert.equal(flushed, false);
  open();
  await flushing;
  assert.deepEqual(result, { code: 0 });
  assert.equal(queue.samples.length, 2); // jobs_total and target_info
  queue.commitGate = undefined;
  await provider.shutdown();
});

test('a failed commit reports FAILED with its error and metadata is appended again next time', async () => {
  const queue = new FakeQueue();
  const { exporter, reader, meter, provider } = setup(queue);
  meter.createCounter('jobs').add(1);
  queue.commitError = new Error('disk on fire');
  const first = await collectAndExport(reader, exporter);
  assert.equal(first.result.code, 1);
  assert.equal(first.result.error?.message, 'disk on fire');
  queue.commitError = undefined;
  const second = await collectAndExport(reader, exporter);
  assert.equal(second.result.code, 0);
  assert.deepEqual(
    queue.metadata.map((m) => m.name),
    ['jobs_total', 'target_info'],
  );
  await provider.shutdown();
});

test('a series the queue refuses is left out, the rest committed, and the export reports a PartialExportError', async () => {
  const queue = new FakeQueue();
  const appender = queue.appender.bind(queue);
  queue.appender = () => {
    const app = appender();
    const append = app.append;
    app.append = (labels, ts, v) => {
      if ((labels as Record<string, string>).bad !== undefined) throw new TypeError('label value refused');
      append(labels, ts, v);
    };
    return app;
  };
  const { exporter, reader, meter, provider } = setup(queue, { disableTargetInfo: true });
  const c = meter.createCounter('jobs');
  c.add(1, { ok: 'yes' });
  c.add(1, { bad: 'x' });
  const { result } = await collectAndExport(reader, exporter);
  assert.equal(result.code, 1);
  assert.ok(result.error instanceof PartialExportError);
  assert.deepEqual(result.error.skipped, [
    'jobs_total{"bad":"x","job":"shop/checkout","instance":"pod-1"}: label value refused',
  ]);
  assert.deepEqual(
    queue.samples.map((s) => s.labels.ok),
    ['yes'],
  );
  await provider.shutdown();
});

test('exemplars on sums and histogram buckets: trace_id and span_id labels, each on the bucket of its value', async () => {
  const queue = new FakeQueue();
  const exporter = new PromspoolMetricExporter(queue, { disableTargetInfo: true });
  const t = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6 + 123];
  const exemplar = (value: number, ms: number) => ({
    filteredAttributes: { user: 'u1' },
    value,
    timestamp: t(ms),
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
  });
  const metrics = {
    resource: resourceFromAttributes({ 'service.name': 'svc' }),
    scopeMetrics: [
      {
        scope: { name: 's' },
        metrics: [
          {
            descriptor: { name: 'orders', description: '', unit: '', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [
              {
                startTime: t(0),
                endTime: t(1_700_000_000_500),
                attributes: {},
                value: 9,
                exemplars: [exemplar(2, 1_700_000_000_100)],
              },
            ],
          },
          {
            descriptor: { name: 'latency', description: '', unit: 's', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: [
              {
                startTime: t(0),
                endTime: t(1_700_000_000_500),
                attributes: {},
                value: { buckets: { boundaries: [0.1, 1], counts: [1, 0, 1] }, sum: 5.05, count: 2 },
                exemplars: [exemplar(5, 1_700_000_000_200), exemplar(0.05, 1_700_000_000_300)],
              },
            ],
          },
        ],
      },
    ],
  } as unknown as ResourceMetrics;
  const result = await exportOnce(exporter, metrics);
  assert.equal(result.code, 0, result.error?.message);
  const exLabels = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', user: 'u1' };
  assert.deepEqual(
    queue.exemplars.map((e) => [e.labels.__name__, e.labels.le, e.exemplar]),
    [
      ['orders_total', undefined, { labels: exLabels, value: 2, timestampMs: 1_700_000_000_100 }],
      ['latency_seconds_bucket', '0.1', { labels: exLabels, value: 0.05, timestampMs: 1_700_000_000_300 }],
      ['latency_seconds_bucket', '+Inf', { labels: exLabels, value: 5, timestampMs: 1_700_000_000_200 }],
    ],
  );
  assert.deepEqual(queue.samples[0], {
    labels: { __name__: 'orders_total', job: 'svc' },
    timestampMs: 1_700_000_000_500,
    value: 9,
  });
});

test('delta temporality is refused as Prometheus refuses it; export after shutdown is FAILED', async () => {
  const queue = new FakeQueue();
  const exporter = new PromspoolMetricExporter(queue, { disableTargetInfo: true });
  const metrics = {
    resource: resourceFromAttributes({ 'service.name': 'svc' }),
    scopeMetrics: [
      {
        scope: { name: 's' },
        metrics: [
          {
            descriptor: { name: 'orders', description: '', unit: '', valueType: 1 },
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [{ startTime: [0, 0], endTime: [1_700_000_000, 0], attributes: {}, value: 9 }],
          },
        ],
      },
    ],
  } as unknown as ResourceMetrics;
  const result = await exportOnce(exporter, metrics);
  assert.equal(result.code, 1);
  assert.match(result.error!.message, /orders: invalid temporality and type combination/);
  assert.equal(queue.samples.length, 0);
  await exporter.shutdown();
  const after = await exportOnce(exporter, metrics);
  assert.equal(after.code, 1);
  assert.match(after.error!.message, /export after shutdown/);
});

test('a real queue: the export is delivered to a receiver; into a stopped queue it reports FAILED with ClosedError', async (t) => {
  const receiver = await startFakeReceiver();
  const dir = await tempDataDir('otel-exporter');
  t.after(async () => {
    await receiver.close();
    await dir.remove();
  });
  const queue = await createQueue(fastOptions(dir.path, receiver.url));
  const { exporter, reader, meter, provider } = setup(queue);
  meter.createCounter('orders').add(3, { 'payment.method': 'card' });
  meter.createHistogram('rpc.payload.size').record(1.5);
  const { resourceMetrics, result } = await collectAndExport(reader, exporter);
  assert.equal(result.code, 0, result.error?.message);
  const ts = collectionTime(resourceMetrics);
  await receiver.waitFor((r) => r.totalSamples >= 2 && r.totalHistograms >= 1, 10_000);
  assert.deepEqual(
    receiver.received.get('{__name__="orders_total",instance="pod-1",job="shop/checkout",payment_method="card"}'),
    [{ ts, value: 3, bits: 0x4008000000000000n }],
  );
  const h = receiver.receivedHistograms.get('{__name__="rpc_payload_size",instance="pod-1",job="shop/checkout"}');
  assert.equal(h?.length, 1);
  assert.equal(h[0]!.ts, ts);
  assert.equal(h[0]!.histogram.schema, 8);
  assert.deepEqual(h[0]!.histogram.positiveSpans, [{ offset: 150, length: 1 }]);

  await queue.stop();
  const stopped = await collectAndExport(reader, exporter);
  assert.equal(stopped.result.code, 1);
  assert.ok(stopped.result.error instanceof ClosedError, String(stopped.result.error));
  await provider.shutdown();
});
