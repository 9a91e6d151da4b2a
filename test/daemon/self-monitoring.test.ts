import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { startSelfMonitoring } from '../../src/daemon/self-monitoring.js';
import { silentLogger } from '../../src/logger.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { FakeQueue } from './fake-queue.js';

function registryWithMetrics(): Registry {
  const registry = new Registry();
  const c = new Counter({ name: 'x_requests_total', help: 'requests', labelNames: ['code'], registers: [registry] });
  c.inc({ code: '204' }, 5);
  const g = new Gauge({ name: 'x_pending', help: 'pending', registers: [registry] });
  g.set(7);
  const h = new Histogram({ name: 'x_seconds', help: 'durations', buckets: [0.1, 1], registers: [registry] });
  h.observe(0.05);
  h.observe(0.5);
  return registry;
}

const INSTANCE = 'host1:9201';
const id = { job: 'promspool', instance: INSTANCE };

test('a snapshot appends every sample named as the exposition names it, with job and instance', async () => {
  const clock = new SimulatedClock(1_700_000_000_000);
  const queue = new FakeQueue();
  const monitor = startSelfMonitoring({
    queue,
    registry: registryWithMetrics(),
    intervalMs: 15_000,
    instance: INSTANCE,
    clock,
    logger: silentLogger,
  });
  const n = await monitor.collectOnce();
  await monitor.stop();
  assert.equal(n, 7);
  const t = 1_700_000_000_000;
  assert.deepEqual(queue.samples, [
    { labels: { __name__: 'x_requests_total', code: '204', ...id }, timestampMs: t, value: 5 },
    { labels: { __name__: 'x_pending', ...id }, timestampMs: t, value: 7 },
    { labels: { __name__: 'x_seconds_bucket', le: '0.1', ...id }, timestampMs: t, value: 1 },
    { labels: { __name__: 'x_seconds_bucket', le: '1', ...id }, timestampMs: t, value: 2 },
    { labels: { __name__: 'x_seconds_bucket', le: '+Inf', ...id }, timestampMs: t, value: 2 },
    { labels: { __name__: 'x_seconds_sum', ...id }, timestampMs: t, value: 0.55 },
    { labels: { __name__: 'x_seconds_count', ...id }, timestampMs: t, value: 2 },
  ]);
  assert.deepEqual(
    queue.metadata.map((m) => [m.name, m.metadata.type]),
    [
      ['x_requests_total', 'counter'],
      ['x_pending', 'gauge'],
      ['x_seconds', 'histogram'],
    ],
  );
  assert.equal(queue.commits, 1);
});

test('the timer snapshots every interval, reuses series handles, and stops', async () => {
  const clock = new SimulatedClock(0);
  const queue = new FakeQueue();
  const monitor = startSelfMonitoring({
    queue,
    registry: registryWithMetrics(),
    intervalMs: 15_000,
    instance: INSTANCE,
    clock,
    logger: silentLogger,
  });
  const nextCommit = () =>
    new Promise<void>((resolve) => {
      queue.onCommit = resolve;
    });

  clock.advance(14_999);
  assert.equal(queue.commitsStarted, 0);
  let committed = nextCommit();
  clock.advance(1);
  await committed;
  await clock.settle();
  assert.equal(queue.commits, 1);
  assert.equal(queue.seriesCalls, 7);

  committed = nextCommit();
  await clock.advanceAndSettle(15_000);
  await committed;
  await clock.settle();
  assert.equal(queue.commits, 2);
  assert.equal(queue.seriesCalls, 7, 'second snapshot reuses the cached series');
  assert.deepEqual(
    queue.samples.filter((s) => s.labels.__name__ === 'x_pending').map((s) => s.timestampMs),
    [15_000, 30_000],
  );
  // Metadata goes out with the first snapshot only.
  assert.equal(queue.metadata.length, 3);

  await monitor.stop();
  assert.equal(clock.pending, 0);
  await clock.advanceAndSettle(60_000);
  assert.equal(queue.commitsStarted, 2);
});

test('a refused commit is logged and the next interval tries again', async () => {
  const clock = new SimulatedClock(0);
  const queue = new FakeQueue();
  queue.commitError = new Error('disk full');
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (msg: string) => warnings.push(msg), child: () => logger };
  const monitor = startSelfMonitoring({
    queue,
    registry: registryWithMetrics(),
    intervalMs: 1000,
    instance: INSTANCE,
    clock,
    logger,
  });
  await clock.advanceAndSettle(1000);
  await clock.settle(10);
  assert.deepEqual(warnings, ['self-monitoring snapshot failed']);
  queue.commitError = undefined;
  await clock.advanceAndSettle(1000);
  await clock.settle(10);
  assert.equal(queue.commits, 1);
  await monitor.stop();
});
