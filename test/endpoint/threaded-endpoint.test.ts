import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Registry } from 'prom-client';
import { InvalidConfigError } from '../../src/config/config-error.js';
import { resolveQueueOptions } from '../../src/config/index.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createThreadedEndpoint } from '../../src/endpoint/threaded-endpoint.js';
import { createFileQueue } from '../../src/filequeue/index.js';
import { createQueue } from '../../src/index.js';
import { remoteStorageMetrics } from '../../src/metrics/remote-storage-metrics.js';
import { createManagedQueue } from '../../src/queue.js';
import { countRecordSignals, decodeRecord, encodeRecord } from '../../src/serialization/record-codec.js';
import { seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { buildRecord } from '../network/record-builder.js';
import { fastOptions, metricValue, tempDataDir } from '../queue/queue-helpers.js';

const SERIES = 50;

/** A fake receiver and a data directory, both gone after the test. */
async function receiverAndDir(t: TestContext, prefix: string) {
  const rx = await startFakeReceiver();
  const dir = await tempDataDir(prefix);
  t.after(async () => {
    await rx.close();
    await dir.remove();
  });
  return { rx, dir };
}
const STEPS = 40;

test('deliveryThread worker: every sample arrives once and in order; stats, metrics and the disk agree', async (t) => {
  const { rx, dir } = await receiverAndDir(t, 'threaded');
  const lines: LoggedLine[] = [];
  const queue = await createQueue(
    fastOptions(dir.path, rx.url, {}, { deliveryThread: 'worker', logger: recordingLogger(lines) }),
  );
  const app = queue.appender();
  for (let k = 0; k < STEPS; k++) {
    for (let i = 0; i < SERIES; i++)
      app.append({ __name__: 'threaded', i: String(i) }, 1_700_000_000_000 + k * 1000, k);
    await app.commit();
  }
  await queue.flush();
  await rx.waitFor((r) => r.totalSamples >= SERIES * STEPS, 10_000);
  await queue.stop();

  assert.equal(rx.totalSamples, SERIES * STEPS);
  assert.equal(rx.orderViolations, 0);
  for (const samples of rx.received.values()) {
    assert.deepEqual(
      samples.map((s) => s.value),
      Array.from({ length: STEPS }, (_, k) => k),
    );
  }
  const ep = queue.stats().endpoints[0]!;
  assert.equal(ep.samplesSent, SERIES * STEPS, "the stats after stop are the worker's last");
  assert.equal(ep.pendingSegments, 0);
  const text = await queue.registry.metrics();
  assert.equal(metricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: 'ep' }), SERIES * STEPS);
  const batches = metricValue(text, 'prometheus_remote_storage_sent_batch_duration_seconds_count', {
    remote_name: 'ep',
  });
  assert.ok(batches !== undefined && batches > 0, 'request durations observed in the worker reach the registry');
  // Acks and releases came back: every delivered segment's files are gone.
  assert.deepEqual(
    readdirSync(join(dir.path, 'ep')).filter((f) => !f.endsWith('.lock')),
    [],
  );
  const started = lines.find((l) => l.msg === 'endpoint started');
  assert.equal(started?.fields?.delivery_thread, 'worker');
});

test('deliveryThread: event-loop is honoured, and the default is a worker on more than one CPU', async (t) => {
  const { rx, dir } = await receiverAndDir(t, 'threaded-default');
  for (const [choice, expected] of [
    ['event-loop', 'event-loop'],
    [undefined, availableParallelism() > 1 ? 'worker' : 'event-loop'],
  ] as const) {
    const lines: LoggedLine[] = [];
    const queue = await createQueue(
      fastOptions(
        dir.path,
        rx.url,
        {},
        { logger: recordingLogger(lines), ...(choice ? { deliveryThread: choice } : {}) },
      ),
    );
    const app = queue.appender();
    app.append({ __name__: 'mode', choice: String(choice) }, 1_700_000_000_000, 1);
    await app.commit();
    await queue.flush();
    const key = seriesKey({ __name__: 'mode', choice: String(choice) });
    await rx.waitFor((r) => r.received.has(key), 10_000);
    await queue.stop();
    assert.equal(lines.find((l) => l.msg === 'endpoint started')?.fields?.delivery_thread, expected);
  }
});

test('by default, endpoints beyond CPUs - 1 deliver on the event loop; all of them deliver everything', async (t) => {
  const { rx, dir } = await receiverAndDir(t, 'threaded-cap');
  const names = ['a', 'b', 'c'];
  const base = fastOptions(dir.path, rx.url);
  const lines: LoggedLine[] = [];
  const queue = await createQueue({
    ...base,
    logger: recordingLogger(lines),
    endpoints: names.map((name) => ({ ...base.endpoints[0]!, name, headers: { 'X-Endpoint': name } })),
  });
  const app = queue.appender();
  for (let i = 0; i < SERIES; i++) app.append({ __name__: 'capped', i: String(i) }, 1_700_000_000_000, i);
  await app.commit();
  await queue.flush();
  await rx.waitFor((r) => r.totalSamples >= names.length * SERIES, 10_000);
  await queue.stop();
  assert.equal(rx.totalSamples, names.length * SERIES, 'each endpoint delivered every sample once');
  const threads = names.map(
    (name) => lines.find((l) => l.msg === 'endpoint started' && l.fields.endpoint === name)?.fields.delivery_thread,
  );
  const workers = Math.min(names.length, availableParallelism() - 1);
  assert.deepEqual(threads, [
    ...Array<string>(workers).fill('worker'),
    ...Array<string>(names.length - workers).fill('event-loop'),
  ]);
});

test('deliveryThread: a bad value is a config error naming the option', () => {
  assert.throws(
    () => resolveQueueOptions({ ...fastOptions('/tmp/x', 'http://127.0.0.1:1/w'), deliveryThread: 'threads' as never }),
    (err: unknown) => err instanceof InvalidConfigError && /deliveryThread: .*"worker", "event-loop"/.test(err.message),
  );
});

test('a delivery worker that dies: the error is logged and an endpoint on the event loop delivers everything', async (t) => {
  const { rx, dir } = await receiverAndDir(t, 'threaded-dies');
  const config = resolveQueueOptions(fastOptions(dir.path, rx.url));
  const ep = config.remoteWrite[0]!;
  const fileQueue = await createFileQueue({
    dir: join(dir.path, 'ep'),
    maxSignalsPerSegment: 100,
    batchIntervalMs: 50,
    fsync: 'never',
    fsyncIntervalMs: 1000,
    maxDiskBytes: 0,
    onDiskFull: 'drop_oldest',
    countSignals: countRecordSignals,
  });
  const lines: LoggedLine[] = [];
  const logger = recordingLogger(lines);
  let fallbacks = 0;
  const registry = new Registry();
  const endpoint = createThreadedEndpoint({
    config: ep,
    fileQueue,
    ttlMs: 0,
    externalLabels: {},
    logger,
    metrics: remoteStorageMetrics(registry),
    workerUrl: new URL('./fixtures/dying-delivery-worker.js', import.meta.url),
    fallback: (observeBatchDuration) => {
      fallbacks++;
      return createEndpoint({
        config: ep,
        fileQueue,
        ttlMs: 0,
        externalLabels: {},
        decodeRecord,
        logger,
        ...(observeBatchDuration ? { observeBatchDuration } : {}),
      });
    },
  });
  for (let k = 0; k < 5; k++) {
    const series = Array.from({ length: SERIES }, (_, i) => ({
      labels: { __name__: 'dies', i: String(i) },
      hash: i * 2654435761,
      samples: [[1_700_000_000_000 + k * 1000, k]] as [number, number][],
    }));
    await fileQueue.append(encodeRecord(buildRecord(series)), SERIES);
  }
  await fileQueue.seal();
  await rx.waitFor((r) => r.totalSamples >= 5 * SERIES, 10_000);
  const res = await endpoint.stop({ timeoutMs: 1000 });
  await fileQueue.close();
  assert.equal(fallbacks, 1);
  assert.equal(rx.totalSamples, 5 * SERIES);
  assert.equal(rx.orderViolations, 0);
  assert.deepEqual(res.abandonedPortions, []);
  const failed = lines.find((l) => l.level === 'error' && l.msg.startsWith('delivery worker failed'));
  assert.match(String(failed?.fields?.err), /crashed on purpose/);
  assert.equal(endpoint.stats().samples.sent, 5 * SERIES, 'stats come from the endpoint that took over');
  const text = await registry.metrics();
  assert.equal(metricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: 'ep' }), 5 * SERIES);
});

test('deliveryWorkers (the daemon leaves out its scan worker CPU): only the first N endpoints get a worker', async (t) => {
  const { rx, dir } = await receiverAndDir(t, 'threaded-count');
  const names = ['a', 'b'];
  const base = fastOptions(dir.path, rx.url);
  for (const n of [0, 1]) {
    const lines: LoggedLine[] = [];
    const config = resolveQueueOptions({
      ...base,
      dataDir: `${dir.path}/${n}`,
      endpoints: names.map((name) => ({ ...base.endpoints[0]!, name })),
    });
    const queue = await createManagedQueue(config, { logger: recordingLogger(lines), deliveryWorkers: n });
    const app = queue.appender();
    app.append({ __name__: 'counted', n: String(n) }, 1_700_000_000_000, n);
    await app.commit();
    await rx.waitFor((r) => r.received.has(seriesKey({ __name__: 'counted', n: String(n) })), 10_000);
    await queue.stop();
    const threads = names.map(
      (name) => lines.find((l) => l.msg === 'endpoint started' && l.fields.endpoint === name)?.fields.delivery_thread,
    );
    assert.deepEqual(
      threads,
      n === 0 ? ['event-loop', 'event-loop'] : ['worker', 'event-loop'],
      `deliveryWorkers ${n}`,
    );
  }
});
