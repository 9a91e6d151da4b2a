import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Gauge, Histogram, type OpenMetricsContentType, Registry, Summary } from 'prom-client';
import { pushRegistryOnce, snapshotRegistry } from '../../src/bridges/prom-client.js';
import { STALE_NAN } from '../../src/bridges/registry-snapshot.js';
import { ClosedError, PromspoolError } from '../../src/errors.js';
import type { Labels } from '../../src/serialization/types.js';
import { FakeQueue } from '../daemon/fake-queue.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { parseExposition } from './exposition.js';

const T0 = 1_700_000_000_000;
const target = { job: 'checkout', instance: 'web-1', extraLabels: { region: 'eu' } };

function appRegistry() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Requests handled.\nBy route and code, "quoted" \\ help',
    labelNames: ['route', 'code'],
    registers: [registry],
  });
  requests.inc({ route: '/pay', code: '200' }, 3);
  requests.inc({ route: '/say "hi"\\now\n', code: '500' });
  const inFlight = new Gauge({ name: 'http_in_flight', help: 'In flight.', registers: [registry] });
  inFlight.set(2.5);
  const latency = new Histogram({
    name: 'http_duration_seconds',
    help: 'Latency.',
    labelNames: ['route'],
    buckets: [0.005, 0.1, 1, 2.5],
    registers: [registry],
  });
  latency.observe({ route: '/pay' }, 0.05);
  latency.observe({ route: '/pay' }, 0.7);
  latency.observe({ route: '/pay' }, 9);
  const sizes = new Summary({
    name: 'payload_bytes',
    help: 'Payload sizes.',
    percentiles: [0.5, 0.9],
    registers: [registry],
  });
  for (const v of [100, 200, 300, 400]) sizes.observe(v);
  // A metric exposing its own job and instance (e.g. a queue consumer reporting per worker job).
  const batch = new Gauge({
    name: 'batch_last_success_seconds',
    help: 'Last success per job.',
    labelNames: ['job', 'instance'],
    registers: [registry],
  });
  batch.set({ job: 'nightly', instance: 'w3' }, 1234);
  batch.set({ job: 'hourly' }, 99);
  return { registry, requests, inFlight, latency, batch };
}

/** What a Prometheus scrape of `registry` with `target` stores, from prom-client's own exposition. */
async function scraped(registry: Registry) {
  const { samples, metadata } = parseExposition(await registry.metrics());
  const expected = samples.map(({ labels, value }) => {
    const out: Labels = { ...labels };
    // honor_labels: false, done by hand here: exposed job/instance move to exported_*.
    if (labels.job !== undefined) out.exported_job = labels.job;
    if (labels.instance !== undefined) out.exported_instance = labels.instance;
    Object.assign(out, { job: target.job, instance: target.instance, region: 'eu' });
    return { labels: out, value };
  });
  return { expected, metadata };
}

const sortKey = (s: { labels: Labels }) => JSON.stringify(Object.entries(s.labels).sort());
const byLabels = <T extends { labels: Labels }>(xs: T[]) =>
  [...xs].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

test('a snapshot appends what a scrape of the registry stores: names, labels, values, metadata, one timestamp', async () => {
  const { registry } = appRegistry();
  const queue = new FakeQueue();
  const clock = new SimulatedClock(T0);
  const result = await pushRegistryOnce(queue, { registry, ...target, clock });

  const { expected, metadata } = await scraped(registry);
  assert.equal(expected.length, 16, 'counter 2, gauge 1, histogram 5 buckets + sum + count, summary 2 + 2, batch 2');
  assert.deepEqual(byLabels(queue.samples.map(({ labels, value }) => ({ labels, value }))), byLabels(expected));
  assert.deepEqual(new Set(queue.samples.map((s) => s.timestampMs)), new Set([T0]));
  assert.deepEqual(result, { timestampMs: T0, samples: 16, staleMarkers: 0, exemplars: 0, skipped: [] });
  assert.deepEqual(
    queue.metadata.map((m) => [m.name, [m.metadata.type, m.metadata.help], m.metadata.unit]),
    [...metadata].map(([name, th]) => [name, th, '']),
  );
  assert.equal(queue.commits, 1);

  // Spot checks of the naming, independent of the parser.
  const find = (name: string, extra: Labels = {}) =>
    queue.samples.find((s) => s.labels.__name__ === name && Object.entries(extra).every(([k, v]) => s.labels[k] === v))
      ?.labels;
  assert.deepEqual(find('http_duration_seconds_bucket', { le: '2.5' }), {
    __name__: 'http_duration_seconds_bucket',
    le: '2.5',
    route: '/pay',
    job: 'checkout',
    instance: 'web-1',
    region: 'eu',
  });
  assert.equal(queue.samples.find((s) => s.labels.le === '+Inf')?.value, 3);
  assert.equal(
    queue.samples.find((s) => s.labels.__name__ === 'payload_bytes' && s.labels.quantile === '0.9')?.value,
    400,
  );
  assert.deepEqual(find('batch_last_success_seconds', { exported_job: 'nightly' }), {
    __name__: 'batch_last_success_seconds',
    exported_job: 'nightly',
    exported_instance: 'w3',
    job: 'checkout',
    instance: 'web-1',
    region: 'eu',
  });
  assert.deepEqual(find('http_requests_total', { code: '500' })?.route, '/say "hi"\\now\n');
});

test('the periodic form snapshots at once and every interval, each at one timestamp, and stop() commits a final one', async () => {
  const { registry, requests } = appRegistry();
  const queue = new FakeQueue();
  const clock = new SimulatedClock(T0);
  const errors: Error[] = [];
  const bridge = snapshotRegistry(queue, {
    registry,
    ...target,
    clock,
    intervalMs: 10_000,
    onError: (e) => errors.push(e),
  });
  const requestsAt = () =>
    queue.samples
      .filter((s) => s.labels.__name__ === 'http_requests_total' && s.labels.code === '200')
      .map((s) => [s.timestampMs - T0, s.value]);

  await clock.advanceAndSettle(0);
  assert.equal(queue.commits, 1);
  assert.deepEqual(requestsAt(), [[0, 3]]);
  requests.inc({ route: '/pay', code: '200' }, 2);
  await clock.advanceAndSettle(9_999);
  assert.equal(queue.commits, 1);
  await clock.advanceAndSettle(1);
  assert.equal(queue.commits, 2);
  assert.deepEqual(requestsAt(), [
    [0, 3],
    [10_000, 5],
  ]);
  assert.deepEqual(new Set(queue.samples.slice(16).map((s) => s.timestampMs)), new Set([T0 + 10_000]));
  // Metadata only with the first snapshot (the queue re-sends it on its own schedule).
  assert.equal(queue.metadata.length, 5);
  assert.equal(queue.seriesCalls, 16, 'series handles are reused');

  requests.inc({ route: '/pay', code: '200' });
  await clock.advanceAndSettle(4_000);
  const result = await bridge.stop();
  assert.equal(result.timestampMs, T0 + 14_000);
  assert.equal(queue.commits, 3);
  assert.deepEqual(requestsAt(), [
    [0, 3],
    [10_000, 5],
    [14_000, 6],
  ]);
  assert.equal(clock.pending, 0, 'no timer left');
  await clock.advanceAndSettle(60_000);
  assert.equal(queue.commitsStarted, 3);
  assert.deepEqual(errors, []);
  assert.equal(await bridge.stop(), result, 'stop() again returns the same snapshot');
});

test('a series that disappears gets a stale marker, as the scrape loop writes one', async () => {
  const { registry, batch } = appRegistry();
  const queue = new FakeQueue();
  const clock = new SimulatedClock(T0);
  const bridge = snapshotRegistry(queue, { registry, ...target, clock, intervalMs: 1000 });
  await clock.advanceAndSettle(0);
  batch.remove({ job: 'hourly' });
  const result = await bridge.stop();
  assert.equal(result.staleMarkers, 1);
  const last = queue.samples.filter(
    (s) => s.labels.__name__ === 'batch_last_success_seconds' && s.labels.exported_job === 'hourly',
  );
  assert.equal(last.length, 2);
  const [low, high] = new Uint32Array(new Float64Array([last[1]!.value, STALE_NAN]).buffer);
  // Payload 2: the stale marker. Passing through JavaScript arrays (the fake queue) sets V8's
  // quiet bit; the real appender restores 0x7ff00000 (src/serialization/stale-marker.ts).
  assert.equal(low, 2);
  assert.ok(high === 0x7ff00000 || high === 0x7ff80000, `high word ${high?.toString(16)}`);
});

test('a registry that throws is reported with ERR_REGISTRY_COLLECT, nothing appended, and the next interval tries again', async () => {
  const registry = new Registry();
  let fail = true;
  new Gauge({
    name: 'flaky',
    help: 'h',
    registers: [registry],
    collect() {
      if (fail) throw new Error('database unreachable');
      this.set(1);
    },
  });
  const queue = new FakeQueue();
  const clock = new SimulatedClock(T0);
  const errors: Error[] = [];
  const bridge = snapshotRegistry(queue, {
    registry,
    ...target,
    clock,
    intervalMs: 1000,
    onError: (e) => errors.push(e),
  });
  await clock.advanceAndSettle(0);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof PromspoolError);
  assert.equal((errors[0] as PromspoolError).code, 'ERR_REGISTRY_COLLECT');
  assert.equal(
    errors[0]!.message,
    'prom-client bridge (job "checkout"): collecting the registry failed: database unreachable',
  );
  assert.equal(queue.commitsStarted, 0);
  fail = false;
  await clock.advanceAndSettle(1000);
  assert.deepEqual(
    queue.samples.map((s) => [s.labels.__name__, s.timestampMs - T0, s.value]),
    [['flaky', 1000, 1]],
  );
  await bridge.stop();
});

test('a stopped queue is reported once, ends the timer, and makes stop() reject with ClosedError', async () => {
  const { registry } = appRegistry();
  const queue = new FakeQueue();
  queue.commitError = new ClosedError('queue');
  const clock = new SimulatedClock(T0);
  const errors: Error[] = [];
  const bridge = snapshotRegistry(queue, {
    registry,
    ...target,
    clock,
    intervalMs: 1000,
    onError: (e) => errors.push(e),
  });
  await clock.advanceAndSettle(0);
  await clock.advanceAndSettle(5000);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ClosedError);
  assert.equal(clock.pending, 0);
  await assert.rejects(bridge.stop(), ClosedError);
});

test('by default, failures become one process warning per run of identical failures', async () => {
  const registry = new Registry();
  let fail = true;
  new Gauge({
    name: 'flaky',
    help: 'h',
    registers: [registry],
    collect() {
      if (fail) throw new Error('boom');
    },
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const clock = new SimulatedClock(T0);
  const bridge = snapshotRegistry(new FakeQueue(), { registry, ...target, clock, intervalMs: 1000 });
  try {
    await clock.advanceAndSettle(3000);
    fail = false;
    await clock.advanceAndSettle(1000);
    fail = true;
    await clock.advanceAndSettle(1000);
    await clock.settle();
  } finally {
    process.off('warning', onWarning);
    fail = false;
    await bridge.stop();
  }
  assert.deepEqual(
    warnings.map((w) => [w.name, w.message]),
    [
      ['PromspoolBridgeWarning', 'prom-client bridge (job "checkout"): collecting the registry failed: boom'],
      ['PromspoolBridgeWarning', 'prom-client bridge (job "checkout"): collecting the registry failed: boom'],
    ],
  );
});

test('pushRegistryOnce resolves only once the commit has resolved', async () => {
  const { registry } = appRegistry();
  const queue = new FakeQueue();
  let open!: () => void;
  queue.commitGate = new Promise<void>((r) => {
    open = r;
  });
  const started = new Promise<void>((r) => {
    queue.onCommit = r;
  });
  let resolved = false;
  const pushed = pushRegistryOnce(queue, { registry, ...target }).then((r) => {
    resolved = true;
    return r;
  });
  await started;
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false);
  assert.equal(queue.samples.length, 0);
  open();
  const result = await pushed;
  assert.equal(result.samples, 16);
  assert.equal(queue.samples.length, 16);
});

test('an OpenMetrics registry is read as a scrape of it: counter family without _total, exemplars kept', async () => {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const c = new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [registry], enableExemplars: true });
  c.inc({ value: 2, exemplarLabels: { trace_id: 'abc' } });
  const queue = new FakeQueue();
  const result = await pushRegistryOnce(queue, { registry, job: 'j', instance: 'i', clock: new SimulatedClock(T0) });
  assert.equal(result.exemplars, 1);
  assert.deepEqual(queue.samples, [
    { labels: { __name__: 'jobs_total', job: 'j', instance: 'i' }, timestampMs: T0, value: 2 },
  ]);
  assert.deepEqual(queue.metadata, [{ name: 'jobs', metadata: { type: 'counter', help: 'Jobs.', unit: '' } }]);
  assert.deepEqual(queue.exemplars[0]?.exemplar.labels, { trace_id: 'abc' });
  assert.equal(queue.exemplars[0]?.exemplar.value, 2);
});

test('invalid options are refused with the option named', async () => {
  const queue = new FakeQueue();
  assert.throws(() => snapshotRegistry(queue, { job: '' }), /`job` must be a non-empty string/);
  await assert.rejects(
    pushRegistryOnce(queue, { job: 'j', extraLabels: { job: 'x' } }),
    /set job with the `job` option/,
  );
  assert.throws(
    () => snapshotRegistry(queue, { job: 'j', extraLabels: { __x: 'y' } }),
    /"__x" is not a usable label name/,
  );
  assert.throws(() => snapshotRegistry(queue, { job: 'j', intervalMs: 0 }), /intervalMs must be a positive number/);
});
