import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/clock.js';
import type { QueueConfig } from '../../src/config/types.js';
import { createEndpoint, type Endpoint, type EndpointOptions } from '../../src/endpoint/endpoint.js';
import { PromspoolError } from '../../src/errors.js';
import type { Segment } from '../../src/filequeue/types.js';
import { remoteStorageMetrics } from '../../src/metrics/remote-storage-metrics.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { compress, endpointConfig } from '../network/harness.js';
import { createJsonEncoder } from '../network/json-encoder.js';
import { buildRecord, samples } from '../network/record-builder.js';
import { startTestReceiver, type TestReceiver } from '../network/test-receiver.js';
import { FakeFileQueue, RecordTokens, segment } from './fake-file-queue.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('Endpoint', () => {
  let receiver: TestReceiver;
  let clock: SimulatedClock;
  let tokens: RecordTokens<SignalRecord>;
  let endpoint: Endpoint | undefined;

  beforeEach(async () => {
    receiver = await startTestReceiver();
    clock = new SimulatedClock(T0);
    tokens = new RecordTokens();
  });
  afterEach(async () => {
    await endpoint?.stop({ timeoutMs: 0 });
    endpoint = undefined;
    await receiver.close();
  });

  const decode = (payload: Uint8Array): SignalRecord => {
    const r = tokens.lookup(payload);
    if (r === 'corrupt') throw new PromspoolError('ERR_CORRUPT_RECORD', 'bad record');
    return r;
  };

  function start(fq: FakeFileQueue, queue: Partial<QueueConfig> = {}, extra: Partial<EndpointOptions> = {}): Endpoint {
    endpoint = createEndpoint({
      config: endpointConfig(receiver.url, { batchSendDeadlineMs: 0, ...queue }),
      fileQueue: fq,
      ttlMs: 0,
      externalLabels: {},
      decodeRecord: decode,
      clock,
      createEncoder: createJsonEncoder,
      compress,
      random: () => 0,
      ...extra,
    });
    return endpoint;
  }

  it('acks every portion once and releases the segment after the last', async () => {
    const r0 = buildRecord([
      { labels: { __name__: 'a' }, hash: 1, samples: samples(2) },
      { labels: { __name__: 'b' }, hash: 2, samples: samples(3) },
      { labels: { __name__: 'c' }, hash: 257, samples: samples(1) }, // vshard 1 as well
    ]);
    const r1 = buildRecord([{ labels: { __name__: 'd' }, hash: 3, samples: samples(4) }]);
    const fq = new FakeFileQueue([segment(7, [tokens.token(r0), tokens.token(r1)])]);
    const ep = start(fq);
    await fq.waitForReleases(1);
    assert.deepEqual([...fq.acks].sort(), [
      [7, 0, 1],
      [7, 0, 2],
      [7, 1, 3],
    ]);
    assert.deepEqual(fq.releases, [7]);
    const s = ep.stats();
    assert.equal(s.samples.sent, 10);
    assert.equal(s.portionsSent, 3);
    assert.equal(s.segmentsInMemory, 0);
    assert.equal(s.pendingSignals, 0);
    const names = receiver.requests.flatMap((r) => r.body.series.map((x) => x.name)).sort();
    assert.deepEqual(names, ['a', 'b', 'c', 'd']);
  });

  it('skips portions acked in an earlier run', async () => {
    const r0 = buildRecord([
      { labels: { __name__: 'done' }, hash: 1, samples: samples(2) },
      { labels: { __name__: 'todo' }, hash: 2, samples: samples(3) },
    ]);
    const fq = new FakeFileQueue([segment(1, [tokens.token(r0)], [[0, [1]]])]);
    const ep = start(fq);
    await fq.waitForReleases(1);
    assert.deepEqual(fq.acks, [[1, 0, 2]]);
    assert.deepEqual(
      receiver.requests.flatMap((r) => r.body.series.map((x) => x.name)),
      ['todo'],
    );
    assert.equal(ep.stats().portionsSkipped, 1);
    assert.equal(ep.stats().samples.sent, 3);
  });

  it("sends a partition's shards as one work, each shard acked, split where a shard was acked before", async () => {
    // Partition 0 holds shards 0, 64, 128 and 192 (64 partitions); 64 was acked in an earlier run.
    const r0 = buildRecord([
      { labels: { __name__: 'v128' }, hash: 128, samples: samples(1) },
      { labels: { __name__: 'v1' }, hash: 1, samples: samples(5) },
      { labels: { __name__: 'v0' }, hash: 0, samples: samples(2) },
      { labels: { __name__: 'v64' }, hash: 64, samples: samples(3) },
      { labels: { __name__: 'v192' }, hash: 192, samples: samples(4) },
    ]);
    const fq = new FakeFileQueue([segment(2, [tokens.token(r0)], [[0, [64]]])]);
    const ep = start(fq, { batchSendDeadlineMs: 3_600_000, maxSamplesPerSend: 100, minShards: 1, maxShards: 1 });
    await fq.waitForReleases(1);
    assert.deepEqual([...fq.acks].sort(), [
      [2, 0, 0],
      [2, 0, 1],
      [2, 0, 128],
      [2, 0, 192],
    ]);
    // One request, its series in the works' order: partition 0's shard 0 (the acked 64 ends that
    // work), then 128 and 192 together, then partition 1's shard 1.
    assert.deepEqual(
      receiver.requests.map((r) => r.body.series.map((x) => x.name)),
      [['v0', 'v128', 'v192', 'v1']],
    );
    const s = ep.stats();
    assert.equal(s.portionsSkipped, 1);
    assert.equal(s.portionsSent, 4);
    assert.equal(s.samples.sent, 12);
  });

  it('releases a segment whose portions were all acked before without sending anything', async () => {
    const r0 = buildRecord([{ labels: { __name__: 'x' }, hash: 5, samples: samples(2) }]);
    const fq = new FakeFileQueue([segment(3, [tokens.token(r0)], [[0, [5]]])]);
    start(fq);
    await fq.waitForReleases(1);
    assert.deepEqual(fq.acks, []);
    assert.equal(receiver.requests.length, 0);
  });

  it('drops samples older than the ttl at read time and counts them exactly', async () => {
    const mixed: [number, number][] = [
      [T0 - 5000, 1],
      [T0 - 500, 2],
      [T0 - 4000, 3],
      [T0 - 100, 4],
      [T0 - 1001, 5],
    ];
    const r0 = buildRecord([
      { labels: { __name__: 'mixed' }, hash: 1, samples: mixed },
      { labels: { __name__: 'stale' }, hash: 2, samples: samples(4, T0 - 10_000) },
      { labels: { __name__: 'fresh' }, hash: 1, samples: samples(2, T0 - 10) },
    ]);
    const fq = new FakeFileQueue([segment(1, [tokens.token(r0)])]);
    const ep = start(fq, {}, { ttlMs: 1000 });
    await fq.waitForReleases(1);
    // vshard 2 lost everything to the ttl: acked without a request.
    assert.deepEqual([...fq.acks].sort(), [
      [1, 0, 1],
      [1, 0, 2],
    ]);
    const sent = Object.fromEntries(receiver.requests.flatMap((r) => r.body.series.map((x) => [x.name, x.samples])));
    assert.deepEqual(sent, {
      mixed: [
        [T0 - 500, 2],
        [T0 - 100, 4],
      ],
      fresh: samples(2, T0 - 10),
    });
    const s = ep.stats();
    assert.equal(s.samples.dropped.ttl, 7);
    assert.equal(s.samples.sent, 4);
  });

  it('counts corrupt records (CRC failures and undecodable payloads) and delivers the rest', async () => {
    const good = buildRecord([{ labels: { __name__: 'ok' }, hash: 9, samples: samples(2) }]);
    const fq = new FakeFileQueue([segment(2, [null, tokens.token('corrupt'), tokens.token(good)])]);
    const ep = start(fq);
    await fq.waitForReleases(1);
    assert.equal(ep.stats().corruptRecords, 2);
    assert.deepEqual(fq.acks, [[2, 2, 9]]);
    assert.equal(ep.metricsSnapshot().recordsCorrupt, 2);
  });

  it('keeps at most maxSegmentsInMemory segments while the receiver is stalled', async () => {
    receiver.replies = Array.from({ length: 10 }, () => 'hang' as const);
    const segs: Segment[] = [];
    for (let i = 1; i <= 1000; i++) {
      const rec = buildRecord([{ labels: { __name__: 's' }, hash: 0, samples: [[T0 + i, i]] }]);
      segs.push(segment(i, [tokens.token(rec)]));
    }
    const fq = new FakeFileQueue(segs);
    const ep = start(fq, {}, { maxSegmentsInMemory: 3, mailboxCapacity: 1 });
    await receiver.waitForRequests(1);
    await clock.settle(20);
    // 3 decoded, and the bytes of a 4th read ahead.
    assert.equal(fq.pulled, 4);
    assert.equal(ep.stats().segmentsInMemory, 3);
    const result = await ep.stop({ timeoutMs: 0 });
    endpoint = undefined;
    // 1 in flight, 2 in the mailbox (capacity 1); 3 was waiting for room and never reached the
    // network; 4 was read ahead and never dispatched.
    assert.deepEqual(
      result.abandonedPortions.map((p) => p.segmentId),
      [1, 2],
    );
    assert.deepEqual(result.unreleasedSegments, [1, 2, 3, 4]);
    assert.deepEqual(fq.acks, []);
    assert.deepEqual(fq.releases, []);
    assert.equal(fq.pulled, 4);
  });

  it('allows maxSegmentsInMemory segments per 16 send loops', async () => {
    receiver.replies = Array.from({ length: 100 }, () => 'hang' as const);
    for (const [loops, allowed] of [
      [16, 2],
      [17, 4],
      [50, 8],
    ] as const) {
      const segs: Segment[] = [];
      for (let i = 1; i <= 40; i++) {
        const rec = buildRecord([{ labels: { __name__: 's' }, hash: i, samples: [[T0 + i, i]] }]);
        segs.push(segment(i, [tokens.token(rec)]));
      }
      const fq = new FakeFileQueue(segs);
      const ep = start(fq, { minShards: loops, maxShards: loops }, { maxSegmentsInMemory: 2 });
      await clock.settle(20);
      assert.equal(ep.stats().segmentsInMemory, allowed, `${loops} loops`);
      // And the bytes of one more read ahead.
      assert.equal(fq.pulled, allowed + 1, `${loops} loops`);
      await ep.stop({ timeoutMs: 0 });
      endpoint = undefined;
    }
  });

  it('drains a backlog without waiting for batch deadlines when the segments in memory hold partial batches', async () => {
    // 20 segments of 8 series (one per loop-vshard), 1 sample each: every loop's batch stays
    // partial (max 100), so only a flush lets the segments in memory finish and the next be read.
    const segs: Segment[] = [];
    for (let i = 1; i <= 20; i++) {
      const rec = buildRecord(
        Array.from({ length: 8 }, (_, k) => ({ labels: { __name__: `s${k}` }, hash: k, samples: [[T0 + i, i]] })),
      );
      segs.push(segment(i, [tokens.token(rec)]));
    }
    const fq = new FakeFileQueue(segs);
    const ep = start(
      fq,
      { batchSendDeadlineMs: 3_600_000, maxSamplesPerSend: 100, minShards: 8, maxShards: 8 },
      { maxSegmentsInMemory: 2 },
    );
    await fq.waitForReleases(20);
    assert.equal(clock.now(), T0, 'no deadline had to pass');
    assert.equal(ep.stats().samples.sent, 160);
  });

  it('sends the partial batches at once when it has read everything on disk, not at batch_send_deadline', async () => {
    // One segment of 8 series over 8 loops: each loop holds a partial batch and nothing more comes.
    const rec = buildRecord(
      Array.from({ length: 8 }, (_, k) => ({ labels: { __name__: `s${k}` }, hash: k, samples: [[T0 + k, k]] })),
    );
    const fq = new FakeFileQueue([segment(1, [tokens.token(rec)])]);
    const ep = start(fq, { batchSendDeadlineMs: 3_600_000, maxSamplesPerSend: 100, minShards: 8, maxShards: 8 });
    await fq.waitForReleases(1);
    assert.equal(clock.now(), T0, 'no deadline had to pass');
    assert.equal(ep.stats().samples.sent, 8);
    assert.equal(receiver.requests.length, 8);
  });

  it('keeps each series in order across 4 shards through retries', async () => {
    // Every third request fails with a 500 and is retried.
    receiver.replies = Array.from({ length: 500 }, (_, i) => (i % 3 === 1 ? { status: 500 } : { status: 204 }));
    const segs: Segment[] = [];
    const seriesCount = 40;
    for (let seg = 0; seg < 10; seg++) {
      const series = Array.from({ length: seriesCount }, (_, k) => ({
        labels: { __name__: `s${k}` },
        hash: Math.imul(k + 1, 2654435761) >>> 0,
        samples: samples(3, 1000 + seg * 3),
      }));
      segs.push(segment(seg + 1, [tokens.token(buildRecord(series))]));
    }
    const fq = new FakeFileQueue(segs);
    const ep = start(
      fq,
      { minShards: 4, maxShards: 4, maxSamplesPerSend: 7, minBackoffMs: 1, maxBackoffMs: 2 },
      { clock: systemClock },
    );
    await fq.waitForReleases(10);
    const accepted = receiver.requests.filter((_, i) => i % 3 !== 1);
    const perSeries = new Map<string, number[]>();
    for (const req of accepted) {
      for (const s of req.body.series) {
        const list = perSeries.get(s.name) ?? [];
        list.push(...s.samples.map(([t]) => t));
        perSeries.set(s.name, list);
      }
    }
    assert.equal(perSeries.size, seriesCount);
    const expected = Array.from({ length: 30 }, (_, i) => 1000 + i);
    for (const [name, ts] of perSeries) assert.deepEqual(ts, expected, `series ${name}`);
    const s = ep.stats();
    assert.equal(s.network.shards, 4);
    assert.equal(s.samples.sent, 1200);
    assert.ok(
      s.network.loops.every((l) => l.requests > 0),
      'every shard carried traffic',
    );
    assert.equal(
      s.samples.retried,
      receiver.requests
        .filter((_, i) => i % 3 === 1)
        .reduce((n, r) => n + r.body.series.reduce((m, x) => m + x.samples.length, 0), 0),
    );
  });

  it('sends the latest metadata per family every send_interval', async () => {
    const r0 = buildRecord(
      [{ labels: { __name__: 'a' }, hash: 1, samples: samples(1) }],
      [
        { metricFamilyName: 'a', type: 'counter', help: 'old', unit: '' },
        { metricFamilyName: 'b', type: 'gauge', help: 'b', unit: '' },
      ],
    );
    const fq = new FakeFileQueue([segment(1, [tokens.token(r0)])]);
    const ep = createEndpoint({
      config: endpointConfig(
        receiver.url,
        { batchSendDeadlineMs: 0 },
        { metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 1 } },
      ),
      fileQueue: fq,
      ttlMs: 0,
      externalLabels: {},
      decodeRecord: decode,
      clock,
      createEncoder: createJsonEncoder,
      compress,
    });
    endpoint = ep;
    await fq.waitForReleases(1);
    assert.equal(receiver.requests.length, 1);
    clock.advance(60_000);
    await receiver.waitForRequests(3);
    assert.deepEqual(
      receiver.requests.slice(1).map((r) => r.body.metadata),
      [['a'], ['b']],
    );
    await clock.settle();
    assert.equal(ep.stats().network.metadata.sent, 2);
  });

  it('exposes Prometheus-compatible metrics after a run', async () => {
    receiver.replies = [{ status: 400, body: 'out of order' }];
    const registry = new Registry();
    const metrics = remoteStorageMetrics(registry);
    assert.equal(remoteStorageMetrics(registry), metrics, 'one metrics object per registry');
    const r0 = buildRecord([{ labels: { __name__: 'a' }, hash: 1, samples: samples(5) }]);
    const r1 = buildRecord([{ labels: { __name__: 'b' }, hash: 1, samples: samples(3) }]);
    const fq = new FakeFileQueue([segment(1, [tokens.token(r0)]), segment(2, [tokens.token(r1)])]);
    start(fq, { maxSamplesPerSend: 5 }, { metrics });
    await fq.waitForReleases(2);
    const text = await registry.metrics();
    const line = (name: string) => text.split('\n').find((l) => l.startsWith(name) && l.includes('remote_name="test"'));
    const value = (name: string) => Number(line(name)?.split(' ').pop());
    assert.equal(value('prometheus_remote_storage_samples_total{'), 3);
    assert.equal(value('prometheus_remote_storage_samples_failed_total{'), 5);
    assert.equal(
      value(`prometheus_remote_storage_samples_dropped_total{remote_name="test",url="${receiver.url}",reason="4xx"}`),
      5,
    );
    assert.equal(value('prometheus_remote_storage_samples_retried_total{'), 0);
    assert.equal(value('prometheus_remote_storage_shards{'), 1);
    assert.equal(value('prometheus_remote_storage_shards_max{'), 4);
    assert.equal(value('prometheus_remote_storage_samples_pending{'), 0);
    assert.equal(value('prometheus_remote_storage_sent_batch_duration_seconds_count{'), 1);
    assert.equal(value('prometheus_remote_storage_queue_highest_sent_timestamp_seconds{'), 1.002);
    assert.equal(value('promspool_mailbox_depth{'), 0);
    assert.match(line('promspool_mailbox_depth{') ?? '', /actor="test\/shard-0"/);
    assert.ok(value('prometheus_remote_storage_bytes_total{') > 0);
    // A second endpoint on the same registry (a reload, or a second queue) does not throw.
    const again = remoteStorageMetrics(registry).attach({ remoteName: 'other', url: 'http://x' }, () =>
      endpoint!.metricsSnapshot(),
    );
    again.detach();
    await endpoint!.stop({ timeoutMs: 0 });
    endpoint = undefined;
    // Counters survive the endpoint's detach (a reload continues them); its gauges are gone.
    const after = await registry.metrics();
    assert.match(after, /prometheus_remote_storage_samples_total\{remote_name="test",url="[^"]+"\} 3/);
    assert.doesNotMatch(after, /prometheus_remote_storage_shards\{remote_name="test"/);
  });
});
