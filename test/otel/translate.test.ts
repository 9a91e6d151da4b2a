// translateResourceMetrics on hand-built collections: what the SDK cannot easily produce
// (points of one resource at different times, resources without service.name) and the spellings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { formatLe, hrTimeToMs, type TranslationSink, translateResourceMetrics } from '../../src/otel/translate.js';
import type { Labels } from '../../src/serialization/types.js';

function recorder() {
  const samples: [Labels, number, number][] = [];
  const metadata: string[] = [];
  const sink: TranslationSink = {
    append: (l, ts, v) => {
      samples.push([l as Labels, ts, v]);
    },
    appendHistogram: () => {},
    appendExemplar: () => {},
    updateMetadata: (name) => {
      metadata.push(name);
    },
  };
  return { sink, samples, metadata };
}

function gauges(resource: Record<string, string>, points: { ms: number; attrs?: Record<string, string> }[]) {
  return {
    resource: resourceFromAttributes(resource),
    scopeMetrics: [
      {
        scope: { name: 's' },
        metrics: [
          {
            descriptor: { name: 'temp', description: '', unit: 'Cel', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints: points.map((p, i) => ({
              startTime: [0, 0],
              endTime: [Math.floor(p.ms / 1000), (p.ms % 1000) * 1e6],
              attributes: p.attrs ?? { i: String(i) },
              value: i,
            })),
          },
        ],
      },
    ],
  } as unknown as ResourceMetrics;
}

const T0 = 1_700_000_000_000;

test('target_info spans the collection: a sample every 150 s (half the lookback delta) from the earliest point, and one at the latest', () => {
  const { sink, samples } = recorder();
  const metrics = gauges({ 'service.name': 'svc', region: 'eu' }, [{ ms: T0 }, { ms: T0 + 420_000 }]);
  const result = translateResourceMetrics(metrics, sink);
  assert.deepEqual(result.skipped, []);
  assert.deepEqual(
    samples.filter(([l]) => l.__name__ === 'target_info'),
    [T0, T0 + 150_000, T0 + 300_000, T0 + 420_000].map((ts) => [
      { __name__: 'target_info', region: 'eu', job: 'svc' },
      ts,
      1,
    ]),
  );
  assert.deepEqual(
    samples.filter(([l]) => l.__name__ === 'temp_celsius').map(([l, ts]) => [l.i, ts]),
    [
      ['0', T0],
      ['1', T0 + 420_000],
    ],
  );
});

test('job needs service.name (namespace alone gives none); without job or instance there is no target_info', () => {
  const { sink, samples } = recorder();
  translateResourceMetrics(gauges({ 'service.namespace': 'shop', region: 'eu' }, [{ ms: T0 }]), sink);
  assert.deepEqual(samples, [[{ __name__: 'temp_celsius', i: '0' }, T0, 0]]);
});

test('keepIdentifyingResourceAttributes keeps service.* in target_info; empty attribute values are no label', () => {
  const { sink, samples } = recorder();
  translateResourceMetrics(
    gauges({ 'service.name': 'svc', 'service.instance.id': 'i-1', region: 'eu' }, [
      { ms: T0, attrs: { a: '', b: 'x' } },
    ]),
    sink,
    { keepIdentifyingResourceAttributes: true },
  );
  assert.deepEqual(samples, [
    [{ __name__: 'temp_celsius', b: 'x', job: 'svc', instance: 'i-1' }, T0, 0],
    [
      {
        __name__: 'target_info',
        region: 'eu',
        service_name: 'svc',
        service_instance_id: 'i-1',
        job: 'svc',
        instance: 'i-1',
      },
      T0,
      1,
    ],
  ]);
});

test('formatLe spells bounds as Go strconv.FormatFloat(v, f, -1, 64); hrTimeToMs truncates', () => {
  assert.equal(formatLe(0.005), '0.005');
  assert.equal(formatLe(1000), '1000');
  assert.equal(formatLe(1e-7), '0.0000001');
  assert.equal(formatLe(1.5e-10), '0.00000000015');
  assert.equal(formatLe(1e21), '1000000000000000000000');
  assert.equal(formatLe(2.5e22), '25000000000000000000000');
  assert.equal(formatLe(-1e-7), '-0.0000001');
  assert.equal(formatLe(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(hrTimeToMs([1_700_000_000, 999_999_999]), 1_700_000_000_999);
});
