// createQueue across a stop and a new start on the same dataDir: the backlog left on disk is
// delivered by the next queue, in order, with duplicates only where a segment was partly
// delivered; delivered segments leave no files behind. Plus the API's input checks.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type TestContext, test } from 'node:test';
import { inspectQueueDir } from '../../src/filequeue/index.js';
import { createQueue } from '../../src/queue.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { DataSet, fastOptions, startGate, tempDataDir } from './queue-helpers.js';

/**
 * One segment per commit: a segment is sealed once it holds `SERIES` signals and each commit is
 * exactly that (commits are awaited one by one, so no group commit merges two). Segment ids start
 * at 1 in a fresh directory, so segment `id` holds timestamp index `id - 1`.
 */
const SERIES = 2_000;
const TIMESTAMPS = 10;

function optionsFor(dataDir: string, url: string, shutdownTimeout = '2s') {
  return fastOptions(
    dataDir,
    url,
    {},
    { shutdownTimeout, persistence: { batchInterval: '10s', maxSignalsToBatch: SERIES, fsync: 'never' } },
  );
}

async function queueFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'ep'))).sort();
}

/** Ids of the `.committed` segments in the endpoint directory. */
async function committedIds(dir: string): Promise<number[]> {
  return (await queueFiles(dir)).filter((f) => f.endsWith('.committed')).map((f) => Number(f.split('.')[0]));
}

/**
 * Checks that, per series, the samples received (first occurrences, in arrival order) are exactly
 * `data`'s, in timestamp order, and returns every repeated arrival as `{ key, tsIndex }`.
 */
function checkDeliveredOnce(rx: FakeReceiver, data: DataSet): { key: string; tsIndex: number }[] {
  assert.equal(rx.decodeErrors, 0);
  const duplicates: { key: string; tsIndex: number }[] = [];
  for (let i = 0; i < data.series; i++) {
    const key = seriesKey(data.labels[i]!);
    const firsts: { ts: number; value: number }[] = [];
    const seen = new Set<number>();
    for (const x of rx.received.get(key) ?? []) {
      if (seen.has(x.ts)) {
        duplicates.push({ key, tsIndex: (x.ts - data.t0) / data.stepMs });
        continue;
      }
      seen.add(x.ts);
      firsts.push({ ts: x.ts, value: x.value });
    }
    assert.deepEqual(
      firsts,
      Array.from({ length: data.timestamps }, (_, k) => ({ ts: data.ts(k), value: data.value(i, k) })),
      `samples of ${key}`,
    );
  }
  assert.equal(rx.received.size, data.series);
  return duplicates;
}

async function withDir(t: TestContext, name: string): Promise<string> {
  const dir = await tempDataDir(name);
  t.after(() => dir.remove());
  return dir.path;
}

test('stopped while the receiver is down, restarted with it up: everything arrives once, in order, and no segment is left', async (t) => {
  const dir = await withDir(t, 'restart-down');
  const gate = await startGate();
  t.after(() => gate.close());
  const url = `http://127.0.0.1:${gate.port}/api/v1/write`;
  const data = new DataSet('restart_down', SERIES, TIMESTAMPS, 1_700_000_000_000, 1_000);

  const first = await createQueue(optionsFor(dir, url));
  await data.append(first);
  const stopStart = performance.now();
  await first.stop();
  const stopMs = performance.now() - stopStart;
  // Nothing could be sent: every segment is still there, in commit order, none with acks.
  assert.deepEqual(
    await committedIds(dir),
    Array.from({ length: TIMESTAMPS }, (_, k) => k + 1),
  );
  assert.deepEqual(
    (await queueFiles(dir)).filter((f) => !f.endsWith('.committed')),
    [],
  );
  assert.equal(first.stats().endpoints[0]!.samplesSent, 0);

  const rx = await startFakeReceiver();
  t.after(() => rx.close());
  gate.open(rx.port);
  const second = await createQueue(optionsFor(dir, url));
  await rx.waitFor((r) => r.totalSamples >= data.total, 20_000);
  await second.stop();

  assert.deepEqual(checkDeliveredOnce(rx, data), []);
  assert.equal(rx.orderViolations, 0);
  assert.equal(rx.totalSamples, data.total);
  assert.equal(second.stats().endpoints[0]!.samplesSent, data.total);
  assert.deepEqual(await queueFiles(dir), [], 'delivered segments and their ack files are deleted');
  console.log(`# restart-down: first stop took ${stopMs.toFixed(0)} ms`);
});

test('stopped with requests in flight: after the restart, duplicates come only from segments that were partly delivered', async (t) => {
  const dir = await withDir(t, 'restart-inflight');
  const rx = await startFakeReceiver();
  t.after(() => rx.close());
  // The first 6 requests are answered at once; later ones are held for 1 s and then accepted,
  // although the queue has given up on them by then: "written, but the answer was lost".
  const ANSWERED = 6;
  // Resolved when the 4th held request arrives: it is in flight when the stop begins, so at least
  // it is abandoned (others may be too: the stop's soft phase sends what the shards hold). The
  // receiver's waitFor only wakes on answers, hence this event on arrival.
  let allHeld!: () => void;
  const heldInFlight = new Promise<void>((resolve) => {
    allHeld = resolve;
  });
  rx.script((req) => {
    if (req.index === ANSWERED + 3) allHeld();
    return req.index < ANSWERED ? { status: 204 } : { status: 204, delayMs: 1_000 };
  });
  const data = new DataSet('restart_inflight', SERIES, TIMESTAMPS, 1_700_000_000_000, 1_000);

  const first = await createQueue(optionsFor(dir, rx.url, '100ms'));
  await data.append(first);
  await heldInFlight;
  await first.stop();
  await rx.waitFor((r) => r.acceptedRequests === r.requests, 5_000);
  const heldRequests = rx.requests - ANSWERED;
  const receivedBeforeRestart = rx.totalSamples;

  // Segments still on disk were not fully acknowledged; those the receiver already has samples of
  // were partly delivered.
  const report = await inspectQueueDir(join(dir, 'ep'));
  const leftIds = report.segments.map((s) => s.id);
  assert.ok(leftIds.length > 0 && leftIds.length <= TIMESTAMPS);
  assert.ok(
    report.segments.every((s) => s.state === 'committed' && s.corruptRecords === 0),
    'clean segments',
  );
  const receivedTsIndexes = new Set<number>();
  for (const list of rx.received.values()) for (const x of list) receivedTsIndexes.add((x.ts - data.t0) / data.stepMs);
  const partlyDelivered = new Set(leftIds.filter((id) => receivedTsIndexes.has(id - 1)));
  assert.ok(partlyDelivered.size > 0);

  const second = await createQueue(optionsFor(dir, rx.url));
  rx.script(undefined);
  await rx.waitFor((r) => {
    // Done when every series has all its timestamps (duplicates make totals unreliable).
    for (const list of r.received.values()) if (new Set(list.map((x) => x.ts)).size < data.timestamps) return false;
    return r.received.size === data.series;
  }, 20_000);
  await second.stop();

  const duplicates = checkDeliveredOnce(rx, data);
  const dupSegments = new Set(duplicates.map((d) => d.tsIndex + 1));
  assert.ok(duplicates.length > 0, 'the held requests were accepted and are sent again');
  for (const id of dupSegments)
    assert.ok(partlyDelivered.has(id), `duplicate from segment ${id}, not partly delivered`);
  // Fully delivered segments (released before the stop) are never sent again.
  for (let id = 1; id <= TIMESTAMPS; id++) if (!leftIds.includes(id)) assert.ok(!dupSegments.has(id));
  assert.equal(rx.totalSamples, data.total + duplicates.length);
  assert.deepEqual(await queueFiles(dir), [], 'delivered segments and their ack files are deleted');
  console.log(
    `# restart-inflight: ${heldRequests} requests held 1 s (the last abandoned by the stop), ${receivedBeforeRestart} samples before restart, ` +
      `segments left ${leftIds.join(',')} (partly delivered ${[...partlyDelivered].join(',')}), ` +
      `${duplicates.length} duplicates from segments ${[...dupSegments].join(',')}`,
  );
});

test('invalid options are rejected with an error naming each path', async (t) => {
  const dir = await withDir(t, 'options');
  await assert.rejects(
    createQueue({
      dataDir: dir,
      endpoints: [{ url: 'ftp://127.0.0.1/x' }, { url: 'http://127.0.0.1:1/w', queueConfig: { minShards: 0 } }],
    }),
    (err: Error & { code?: string; errors?: { path: string }[] }) => {
      assert.equal(err.code, 'ERR_INVALID_CONFIG');
      const paths = (err.errors ?? []).map((e) => e.path);
      assert.ok(paths.includes('endpoints[0].url'), paths.join(', '));
      assert.ok(paths.includes('endpoints[1].queueConfig.minShards'), paths.join(', '));
      assert.match(err.message, /endpoints\[0\]\.url: /);
      return true;
    },
  );
  await assert.rejects(
    // snake_case is the YAML spelling: refused, with the camelCase suggestion.
    createQueue({ dataDir: dir, endpoints: [{ url: 'http://127.0.0.1:1/w', remote_timeout: '1s' } as never] }),
    (err: Error & { errors?: { path: string; message: string }[] }) => {
      assert.equal(err.errors?.[0]?.path, 'endpoints[0].remote_timeout');
      assert.match(err.errors?.[0]?.message ?? '', /remoteTimeout/);
      return true;
    },
  );
  await assert.rejects(createQueue({ endpoints: [] } as never), (err: Error & { errors?: { path: string }[] }) => {
    assert.ok((err.errors ?? []).some((e) => e.path === 'dataDir'));
    return true;
  });
  // Nothing was created for the rejected queues.
  assert.deepEqual(await readdir(dir), []);
});

test('invalid labels throw TypeError naming the label; commit after stop rejects with ERR_CLOSED', async (t) => {
  const dir = await withDir(t, 'api');
  const rx = await startFakeReceiver();
  t.after(() => rx.close());
  const queue = await createQueue(fastOptions(dir, rx.url));
  const app = queue.appender();
  // Names are UTF-8 by default (Prometheus 3): only an empty or ill-formed one is refused.
  assert.throws(() => app.append({ __name__: 'm', '': 'x' }, 1, 1), {
    name: 'TypeError',
    message: /label name ""/,
  });
  assert.throws(() => app.append({ __name__: 'm', job: '' }, 1, 1), { name: 'TypeError', message: /\bjob\b/ });
  assert.throws(() => app.append({ job: 'x' }, 1, 1), { name: 'TypeError', message: /__name__/ });
  assert.throws(() => app.append({ __name__: 'm' }, Number.NaN, 1), { name: 'TypeError', message: /timestampMs/ });
  // A refused append changed nothing: the next commit carries only the good sample.
  app.append({ __name__: 'm', job: 'ok' }, 1_700_000_000_000, 1);
  await app.commit();
  await rx.waitFor((r) => r.totalSamples >= 1, 5_000);
  await queue.stop();
  assert.equal(rx.totalSamples, 1);

  app.append({ __name__: 'm', job: 'late' }, 1_700_000_000_001, 2);
  await assert.rejects(app.commit(), { code: 'ERR_CLOSED' });
});
