import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { QueueConfig } from '../../src/config/types.js';
import { createRemoteWriteClient, type RemoteWriteClient } from '../../src/network/http-client.js';
import { type SendLoop, startSendLoop } from '../../src/network/send-loop.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import {
  compress,
  DoneRecorder,
  EventCount,
  endpointConfig,
  type LogLine,
  nextState,
  recordingLogger,
  workOf,
} from './harness.js';
import { createJsonEncoder } from './json-encoder.js';
import { buildRecord, samples } from './record-builder.js';
import { startTestReceiver, type TestReceiver } from './test-receiver.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('SendLoop', () => {
  let receiver: TestReceiver;
  let client: RemoteWriteClient;
  let clock: SimulatedClock;
  let done: DoneRecorder;
  let delivered: EventCount;
  let loop: SendLoop | undefined;
  let logs: LogLine[];

  beforeEach(async () => {
    receiver = await startTestReceiver();
    clock = new SimulatedClock(T0);
    done = new DoneRecorder();
    delivered = new EventCount();
    logs = [];
  });
  afterEach(async () => {
    await loop?.stop({ timeoutMs: 0 });
    loop = undefined;
    await client?.destroy();
    await receiver.close();
  });

  function start(queue: Partial<QueueConfig> = {}, remoteTimeoutMs = 30_000, random = () => 0): SendLoop {
    const config = endpointConfig(receiver.url, queue, { remoteTimeoutMs });
    client = createRemoteWriteClient({ config, connections: 2, version: 'test' });
    loop = startSendLoop({
      name: 'test/shard-0',
      queue: config.queue,
      remoteTimeoutMs,
      client,
      encoder: createJsonEncoder(),
      compress,
      onPortionDone: done.callback,
      observeBatchDuration: delivered.tick,
      clock,
      logger: recordingLogger(logs),
      random,
    });
    return loop;
  }

  it('splits one series across requests by size and reports the portion after its last slice', async () => {
    const l = start({ maxSamplesPerSend: 10, batchSendDeadlineMs: 5000 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(25) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await delivered.waitFor(2);
    assert.deepEqual(
      receiver.requests.map((r) => r.body.series[0].samples.length),
      [10, 10],
    );
    assert.equal(done.calls.length, 0, 'portion not done before its last slice');
    await clock.settle();
    // The rest (5) waits for the deadline, counted from when it became pending.
    assert.equal(clock.nextDeadline(), T0 + 5000);
    await clock.advanceAndSettle(4999);
    assert.equal(receiver.requests.length, 2);
    clock.advance(1);
    await done.waitFor(1);
    assert.deepEqual(receiver.requests[2].body.series[0].samples, samples(25).slice(20));
    assert.deepEqual(done.calls, [{ portion: { segmentId: 1, record: 0, vshard: 0 }, outcome: { status: 'sent' } }]);
    assert.equal(l.stats().samples.sent, 25);
    assert.equal(l.stats().requests, 3);
    assert.equal(l.stats().pendingSignals, 0);
  });

  it('sends a partial batch exactly at the deadline, several works in one request', async () => {
    const l = start({ maxSamplesPerSend: 100, batchSendDeadlineMs: 2000 });
    const r1 = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    const r2 = buildRecord([{ labels: { __name__: 'b' }, hash: 0, samples: samples(4, 5000) }]);
    await l.send(workOf(r1, { segmentId: 1, record: 0, vshard: 0 }));
    await clock.advanceAndSettle(500);
    await l.send(workOf(r2, { segmentId: 1, record: 1, vshard: 0 }));
    await clock.advanceAndSettle(1499);
    assert.equal(receiver.requests.length, 0);
    clock.advance(1);
    await done.waitFor(2);
    assert.equal(receiver.requests.length, 1);
    assert.deepEqual(
      receiver.requests[0].body.series.map((s) => [s.name, s.samples.length]),
      [
        ['a', 3],
        ['b', 4],
      ],
    );
    assert.deepEqual(
      done.calls.map((c) => c.portion.record),
      [0, 1],
    );
  });

  it('has exactly one request in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    receiver.replies = [{ status: 204, after: gate }];
    const l = start({ maxSamplesPerSend: 5 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(20) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await receiver.waitForRequests(1);
    await clock.settle(10);
    assert.equal(receiver.requests.length, 1, 'no second request while the first is unanswered');
    release();
    await done.waitFor(1);
    assert.equal(receiver.requests.length, 4);
    assert.equal(receiver.maxConcurrent, 1);
  });

  it('retries a 500 after the backoff and loses nothing', async () => {
    receiver.replies = [{ status: 500, body: 'try later' }];
    const l = start({ maxSamplesPerSend: 100, batchSendDeadlineMs: 0, minBackoffMs: 100, maxBackoffMs: 5000 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(7) }]);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await backoff;
    assert.equal(clock.nextDeadline(), clock.now() + 100); // random 0: the floor
    await clock.advanceAndSettle(99);
    assert.equal(receiver.requests.length, 1);
    clock.advance(1);
    await done.waitFor(1);
    assert.deepEqual(receiver.requests[1].body.series[0].samples, samples(7));
    const s = l.stats();
    assert.equal(s.samples.retried, 7);
    assert.equal(s.samples.sent, 7);
    assert.equal(s.samples.failed, 0);
    assert.equal(s.failedAttempts, 1);
    assert.equal(s.lastError?.message, 'HTTP 500: try later');
    assert.equal(l.state, 'running');
  });

  it('backs off exponentially with full jitter up to max_backoff', async () => {
    receiver.replies = [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }];
    const l = start({ batchSendDeadlineMs: 0, minBackoffMs: 100, maxBackoffMs: 500 }, 30_000, () => 0.5);
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(1) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    const waits: number[] = [];
    for (let i = 1; i <= 4; i++) {
      await nextState((f) => l.onStateChange(f), 'backoff');
      const wait = (clock.nextDeadline() ?? 0) - clock.now();
      waits.push(wait);
      clock.advance(wait);
      await receiver.waitForRequests(i + 1);
    }
    // retry n: uniform in [100, min(500, 100 * 2^n)], random 0.5
    assert.deepEqual(waits, [150, 250, 300, 300]);
    await done.waitFor(1);
  });

  it('honours Retry-After: 2 on a 429', async () => {
    receiver.replies = [{ status: 429, headers: { 'retry-after': '2' } }];
    const l = start({ batchSendDeadlineMs: 0 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(2) }]);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await backoff;
    assert.equal(clock.nextDeadline(), clock.now() + 2000);
    await clock.advanceAndSettle(1999);
    assert.equal(receiver.requests.length, 1);
    clock.advance(1);
    await done.waitFor(1);
    assert.equal(receiver.requests.length, 2);
    assert.equal(l.stats().samples.retried, 2);
  });

  it('caps Retry-After at max_retry_after and reads HTTP dates', async () => {
    receiver.replies = [
      { status: 503, headers: { 'retry-after': '3600' } },
      { status: 503, headers: { 'retry-after': new Date(T0 + 5000 + 3000).toUTCString() } },
    ];
    const l = start({ batchSendDeadlineMs: 0, maxRetryAfterMs: 5000 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(1) }]);
    let backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await backoff;
    assert.equal(clock.nextDeadline(), T0 + 5000);
    backoff = nextState((f) => l.onStateChange(f), 'backoff');
    clock.advance(5000);
    await backoff;
    assert.equal((clock.nextDeadline() ?? 0) - clock.now(), 3000);
    clock.advance(3000);
    await done.waitFor(1);
  });

  it('treats 429 as final when retry_on_http_429 is off', async () => {
    receiver.replies = [{ status: 429 }];
    const l = start({ batchSendDeadlineMs: 0, retryOnHttp429: false });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await done.waitFor(1);
    assert.deepEqual(done.calls[0].outcome, { status: 'dropped', reason: '4xx' });
    assert.equal(l.stats().samples.retried, 0);
  });

  it('drops a batch on 400, logs the first KiB of the answer, and keeps sending', async () => {
    const message = 'x'.repeat(3000);
    receiver.replies = [{ status: 400, body: message }];
    const l = start({ maxSamplesPerSend: 5, batchSendDeadlineMs: 0 });
    const r1 = buildRecord([{ labels: { __name__: 'bad' }, hash: 0, samples: samples(5) }]);
    const r2 = buildRecord([{ labels: { __name__: 'good' }, hash: 0, samples: samples(5) }]);
    await l.send(workOf(r1, { segmentId: 1, record: 0, vshard: 0 }));
    await l.send(workOf(r2, { segmentId: 1, record: 1, vshard: 0 }));
    await done.waitFor(2);
    assert.deepEqual(
      done.calls.map((c) => c.outcome),
      [{ status: 'dropped', reason: '4xx' }, { status: 'sent' }],
    );
    assert.deepEqual(
      receiver.requests.map((r) => r.body.series[0].name),
      ['bad', 'good'],
    );
    const s = l.stats();
    assert.equal(s.samples.failed, 5);
    assert.equal(s.samples.dropped4xx, 5);
    assert.equal(s.samples.sent, 5);
    assert.equal(s.samples.retried, 0);
    const warn = logs.find((x) => x.level === 'warn');
    assert.equal(warn?.fields?.status, 400);
    assert.equal(warn?.fields?.message, 'x'.repeat(1024));
  });

  it('marks a portion dropped when an earlier slice of it was refused', async () => {
    receiver.replies = [{ status: 400 }];
    const l = start({ maxSamplesPerSend: 4, batchSendDeadlineMs: 0 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(6) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await done.waitFor(1);
    assert.equal(receiver.requests.length, 2);
    assert.deepEqual(done.calls[0].outcome, { status: 'dropped', reason: '4xx' });
    assert.equal(l.stats().samples.sent, 2);
    assert.equal(l.stats().samples.dropped4xx, 4);
  });

  it('retries a network error (connection reset)', async () => {
    receiver.replies = ['reset'];
    const l = start({ batchSendDeadlineMs: 0, minBackoffMs: 50 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(4) }]);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await backoff;
    clock.advance(50);
    await done.waitFor(1);
    assert.deepEqual(receiver.requests[1].body.series[0].samples, samples(4));
    assert.equal(l.stats().samples.retried, 4);
    assert.equal(l.stats().samples.sent, 4);
  });

  it('aborts an attempt after remote_timeout and retries it', async () => {
    receiver.replies = ['hang'];
    const l = start({ batchSendDeadlineMs: 0, minBackoffMs: 50 }, 10_000);
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await receiver.waitForRequests(1);
    assert.equal(clock.nextDeadline(), clock.now() + 10_000);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    clock.advance(10_000);
    await backoff;
    assert.match(l.stats().lastError?.message ?? '', /remote_timeout/);
    clock.advance(50);
    await done.waitFor(1);
    assert.equal(receiver.requests.length, 2);
    assert.equal(l.stats().samples.retried, 3);
  });

  it('stop() during a backoff returns at once and abandons the work', async () => {
    receiver.replies = [{ status: 503 }];
    const l = start({ batchSendDeadlineMs: 0, minBackoffMs: 30_000, maxBackoffMs: 60_000 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(rec, { segmentId: 4, record: 2, vshard: 0 }));
    await l.send(workOf(rec, { segmentId: 4, record: 3, vshard: 0 }));
    await backoff;
    const before = clock.now();
    const result = await l.stop({ timeoutMs: 10_000 });
    assert.equal(clock.now(), before, 'no virtual time passed');
    assert.deepEqual(result.abandonedPortions, [
      { segmentId: 4, record: 2, vshard: 0 },
      { segmentId: 4, record: 3, vshard: 0 },
    ]);
    assert.equal(done.calls.length, 0);
    assert.equal(l.state, 'stopped');
    await assert.rejects(l.send(workOf(rec, { segmentId: 4, record: 4, vshard: 0 })), { code: 'ERR_CLOSED' });
  });

  it('flush() sends the partial batch at once; the batch after it waits for its deadline again', async () => {
    const l = start({ maxSamplesPerSend: 100, batchSendDeadlineMs: 60_000 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await clock.settle();
    assert.equal(receiver.requests.length, 0);
    assert.equal(clock.nextDeadline(), T0 + 60_000);
    l.flush();
    await done.waitFor(1);
    assert.equal(clock.now(), T0, 'no time passed');
    assert.equal(receiver.requests.length, 1);
    assert.deepEqual(receiver.requests[0].body.series[0].samples, samples(3));

    await l.send(workOf(rec, { segmentId: 1, record: 1, vshard: 0 }));
    await clock.advanceAndSettle(59_999);
    assert.equal(receiver.requests.length, 1, 'the next batch keeps its deadline');
    clock.advance(1);
    await done.waitFor(2);
    assert.equal(receiver.requests.length, 2);
  });

  it('flush() covers everything held when it came, over several batches, behind a request in flight', async () => {
    let release!: () => void;
    receiver.replies = [{ status: 204, after: new Promise<void>((r) => (release = r)) }];
    const l = start({ maxSamplesPerSend: 4, batchSendDeadlineMs: 60_000 });
    const a = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(4) }]);
    const b = buildRecord([{ labels: { __name__: 'b' }, hash: 0, samples: samples(6) }]);
    await l.send(workOf(a, { segmentId: 1, record: 0, vshard: 0 })); // a full batch: sent, held by the receiver
    await receiver.waitForRequests(1);
    await l.send(workOf(b, { segmentId: 1, record: 1, vshard: 0 })); // then a full batch of 4 and a partial of 2
    l.flush();
    release();
    // Real time, bounded: without the flush covering the partial batch it would wait 60 s of clock.
    const finished = await Promise.race([
      done.waitFor(2).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5_000).unref()),
    ]);
    assert.ok(finished, 'every portion held at flush time was sent');
    assert.equal(clock.now(), T0, 'no deadline had to pass');
    assert.deepEqual(
      receiver.requests.map((r) => r.body.series.map((x) => x.samples.length)),
      [[4], [4], [2]],
    );
  });

  it('flushHolding() sends a partial batch only if it holds a named portion; one of newer portions keeps its deadline', async () => {
    const l = start({ maxSamplesPerSend: 4, batchSendDeadlineMs: 60_000 });
    const a = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    const b = buildRecord([{ labels: { __name__: 'b' }, hash: 0, samples: samples(3) }]);
    // Segment 1's 3 samples and segment 2's first: a full batch of 4, then segment 2's 2 left.
    await l.send(workOf(a, { segmentId: 1, record: 0, vshard: 0 }));
    await l.send(workOf(b, { segmentId: 2, record: 0, vshard: 0 }));
    await done.waitFor(1);
    await clock.settle();
    assert.deepEqual(
      done.calls.map((c) => c.portion.segmentId),
      [1],
    );
    // Segment 1 is finished: a flush for it leaves segment 2's partial batch to fill or its deadline.
    l.flushHolding((p) => p.segmentId <= 1);
    await clock.settle();
    assert.equal(receiver.requests.length, 1);
    assert.equal(clock.nextDeadline(), T0 + 60_000);
    // Segment 2's tail now blocks: it goes at once.
    l.flushHolding((p) => p.segmentId <= 2);
    await done.waitFor(2);
    assert.equal(clock.now(), T0, 'no deadline had to pass');
    assert.deepEqual(
      receiver.requests.map((r) => r.body.series.map((x) => x.samples.length)),
      [[3, 1], [2]],
    );
  });

  it('flush() with nothing held leaves the next batch its deadline', async () => {
    const l = start({ maxSamplesPerSend: 100, batchSendDeadlineMs: 1000 });
    l.flush();
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(2) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await clock.advanceAndSettle(999);
    assert.equal(receiver.requests.length, 0);
    clock.advance(1);
    await done.waitFor(1);
    assert.equal(receiver.requests.length, 1);
  });

  it('stop() flushes the partial batch without waiting for its deadline', async () => {
    const l = start({ batchSendDeadlineMs: 60_000 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await clock.settle();
    const result = await l.stop({ timeoutMs: 10_000 });
    assert.deepEqual(result.abandonedPortions, []);
    assert.equal(done.calls.length, 1);
    assert.equal(receiver.requests.length, 1);
  });

  it('stop() aborts a request still in flight at the deadline', async () => {
    receiver.replies = ['hang'];
    const l = start({ batchSendDeadlineMs: 0 });
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await receiver.waitForRequests(1);
    const stopped = l.stop({ timeoutMs: 2000 });
    await clock.advanceAndSettle(1999);
    assert.equal(l.state, 'draining');
    clock.advance(1);
    const result = await stopped;
    assert.deepEqual(result.abandonedPortions, [{ segmentId: 1, record: 0, vshard: 0 }]);
    assert.equal(done.calls.length, 0);
  });

  it('drops samples older than sample_age_limit at send time', async () => {
    const l = start({ batchSendDeadlineMs: 0, sampleAgeLimitMs: 1000 });
    // Cutoff T0-1000: the first 10 (T0-2000, T0-1900, ...) are too old, the next 10 are kept.
    const ts: [number, number][] = [];
    for (let i = 0; i < 10; i++) ts.push([T0 - 2000 + i * 100, i]);
    for (let i = 10; i < 20; i++) ts.push([T0 - 1000 + (i - 10) * 100, i]);
    // Interleave one old sample among kept ones: compaction must keep the order of the rest.
    ts.splice(12, 0, [T0 - 5000, 99]);
    const rec = buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: ts }]);
    await l.send(workOf(rec, { segmentId: 1, record: 0, vshard: 0 }));
    await done.waitFor(1);
    const sent = receiver.requests[0].body.series[0].samples;
    assert.equal(sent.length, 10);
    assert.ok(sent.every(([t]) => t >= T0 - 1000));
    assert.deepEqual(
      sent.map(([, v]) => v),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    );
    assert.equal(l.stats().samples.droppedTooOld, 11);
    assert.equal(l.stats().samples.sent, 10);
  });
});
