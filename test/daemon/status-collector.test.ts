import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '../../src/clock.js';
import type { PromspoolConfig } from '../../src/config/types.js';
import { type ReceiverCounts, StatusCollector } from '../../src/daemon/status-collector.js';
import { ENDPOINT_COLUMNS, endpointCells } from '../../src/daemon/status-format.js';
import { Ring } from '../../src/daemon/status-ring.js';
import { type DeliveryTotals, type EndpointDeliveryStats, emptyTotals } from '../../src/endpoint/endpoint.js';
import type { FileQueueStats } from '../../src/filequeue/types.js';
import type { EndpointDetails, EndpointStats } from '../../src/queue-types.js';
import type { RelayRouteStats } from '../../src/relay/relay-route.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { testConfig } from './test-config.js';

const T0 = 1_700_000_000_000;

function endpointStats(over: Partial<EndpointStats> = {}): EndpointStats {
  return {
    name: 'primary',
    url: 'http://127.0.0.1:1/api/v1/write',
    pendingSegments: 0,
    pendingBytes: 0,
    pendingSamples: 0,
    oldestPendingTimestampMs: 0,
    highestTimestampMs: 0,
    highestSentTimestampMs: 0,
    samplesSent: 0,
    samplesDropped: { ttl: 0, too_old: 0, '4xx': 0 },
    samplesRetried: 0,
    ...over,
  };
}

function totals(over: Partial<DeliveryTotals> = {}): DeliveryTotals {
  return { ...emptyTotals(), ...over };
}

/** Only the fields the collector reads are real; the rest of the two big stats objects is left out. */
function details(
  name: string,
  d: {
    samples?: DeliveryTotals;
    histograms?: DeliveryTotals;
    exemplars?: DeliveryTotals;
    shards?: number;
    relay?: RelayRouteStats;
  },
  diskDrops: { max_disk_bytes: number; disk_full: number } = { max_disk_bytes: 0, disk_full: 0 },
): EndpointDetails {
  const delivery = {
    samples: d.samples ?? totals(),
    histograms: d.histograms ?? totals(),
    exemplars: d.exemplars ?? totals(),
    bytes: 0,
    network: { shards: d.shards ?? 1, loops: [] },
    ...(d.relay === undefined ? {} : { relay: d.relay }),
  } as unknown as EndpointDeliveryStats;
  const disk = { droppedSignalsByReason: diskDrops } as unknown as FileQueueStats;
  return { name, delivery, disk };
}

class Source {
  endpoints: EndpointStats[] = [endpointStats()];
  details: EndpointDetails[] | undefined;
  receiver: ReceiverCounts = { requestsByCode: {}, signals: 0 };
  readonly queue = {
    ready: true,
    stats: () => ({ endpoints: this.endpoints }),
    endpointDetails: () => this.details ?? [],
  };
}

function collector(source: Source, clock: Clock, extra: { capacity?: number; config?: PromspoolConfig } = {}) {
  const config = extra.config ?? testConfig();
  return new StatusCollector({
    clock,
    queue: source.queue,
    config: () => config,
    receiverCounts: async () => source.receiver,
    version: '1.2.3',
    configSource: 'promspool.yaml',
    startedAtMs: T0,
    ...(extra.capacity === undefined ? {} : { capacity: extra.capacity }),
  });
}

describe('Ring', () => {
  test('keeps the newest `capacity` points, oldest first, missing ones as null', () => {
    const r = new Ring(3);
    assert.deepEqual(r.toArray(), []);
    assert.equal(r.last(), null);
    r.push(1);
    r.push(null);
    assert.deepEqual(r.toArray(), [1, null]);
    r.push(3);
    r.push(4);
    assert.deepEqual(r.toArray(), [null, 3, 4]);
    assert.equal(r.length, 3);
    assert.equal(r.at(0), null);
    assert.equal(r.at(3), null);
    assert.equal(r.last(), 4);
    assert.equal(r.isEmpty(), false);
    r.push(null);
    r.push(null);
    r.push(null);
    assert.equal(r.isEmpty(), true);
  });

  test('refuses a capacity below 1', () => {
    assert.throws(() => new Ring(0), /Ring capacity must be >= 1, got 0/);
  });
});

describe('StatusCollector', () => {
  test('samples at start and every 10 s on an unref-able timer, keeps 360 points, stops', async () => {
    const clock = new SimulatedClock(T0);
    const keepAlive: (boolean | undefined)[] = [];
    const recording: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms, k) => {
        keepAlive.push(k);
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (h) => clock.clearTimeout(h),
    };
    const c = collector(new Source(), recording);
    c.start();
    await clock.settle();
    let s = await c.status();
    assert.deepEqual(s.history.timestampsMs, [T0]);
    assert.equal(s.history.intervalMs, 10_000);
    assert.equal(s.history.capacity, 360);
    await clock.advanceAndSettle(25_000);
    s = await c.status();
    assert.deepEqual(s.history.timestampsMs, [T0, T0 + 10_000, T0 + 20_000]);
    await clock.advanceAndSettle(400 * 10_000);
    s = await c.status();
    assert.equal(s.history.timestampsMs.length, 360);
    assert.equal(s.history.timestampsMs.at(-1), T0 + 4_020_000);
    assert.equal(s.endpoints[0].history.backlogSamples.length, 360);
    assert.ok(
      keepAlive.every((k) => !k),
      'no timer keeps the process alive',
    );
    c.stop();
    assert.equal(clock.pending, 0);
    await clock.advanceAndSettle(60_000);
    assert.equal((await c.status()).history.timestampsMs.length, 360);
  });

  test('send, receive, failure and drop rates from the counters; history rates per step', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    src.details = [details('primary', {})];
    const c = collector(src, clock);
    await c.sample();
    assert.equal((await c.status()).endpoints[0].rates.sentSamplesPerSecond, null, 'no window yet');

    clock.advance(10_000);
    // 1,000 samples sent, 20 failed, 30 dropped too_old, 5 histograms sent, 50 waiting, 10 dropped at the disk cap.
    src.endpoints = [
      endpointStats({
        samplesSent: 1000,
        pendingSamples: 50,
        pendingBytes: 4096,
        samplesDropped: { ttl: 0, too_old: 30, '4xx': 0, max_disk_bytes: 10, corrupt_records: 7 },
      }),
    ];
    src.details = [
      details(
        'primary',
        {
          samples: totals({ sent: 1000, failed: 20, dropped: { ttl: 0, too_old: 30, '4xx': 0 } }),
          histograms: totals({ sent: 5 }),
          shards: 3,
        },
        { max_disk_bytes: 10, disk_full: 0 },
      ),
    ];
    await c.sample();
    clock.advance(5_000);
    src.endpoints = [endpointStats({ ...src.endpoints[0], samplesSent: 1600 })];
    src.details = [
      details(
        'primary',
        {
          samples: totals({ sent: 1600, failed: 20, dropped: { ttl: 0, too_old: 30, '4xx': 0 } }),
          histograms: totals({ sent: 5 }),
          shards: 3,
        },
        { max_disk_bytes: 10, disk_full: 0 },
      ),
    ];
    const s = await c.status();
    const e = s.endpoints[0];
    assert.deepEqual(e.history.sentSamplesPerSecond, [null, 100]);
    // received = sent 1000 + failed 20 + dropped 30 + histograms 5 + disk drops 10 + pending 50.
    assert.deepEqual(e.history.receivedSignalsPerSecond, [null, 111.5]);
    assert.deepEqual(e.history.failedSamplesPerSecond, [null, 2]);
    // Samples dropped: too_old 30 + max_disk_bytes 10 (corrupt_records counts records, not samples).
    assert.deepEqual(e.history.droppedSamplesPerSecond, [null, 4]);
    assert.deepEqual(e.history.backlogSamples, [0, 50]);
    assert.deepEqual(e.history.backlogBytes, [0, 4096]);
    // Now (15 s) against the newest point at least 10 s old: the first one.
    assert.equal(e.rates.sentSamplesPerSecond, 1600 / 15);
    assert.equal(e.rates.failedSamplesPerSecond, 20 / 15);
    assert.equal(e.shards, 3);
    assert.deepEqual(e.samples, {
      sent: 1600,
      failed: 20,
      retried: 0,
      dropped: { ttl: 0, too_old: 30, '4xx': 0, max_disk_bytes: 10, corrupt_records: 7 },
    });
    assert.deepEqual(e.histograms, { sent: 5, failed: 0, retried: 0, dropped: { ttl: 0, too_old: 0, '4xx': 0 } });
  });

  test('relay: null until a relayed record was read, then the counts by way; the cell names the ways used', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    const c = collector(src, clock);
    const relayOf = async (relay: RelayRouteStats | undefined) => {
      src.details = [details('primary', relay === undefined ? {} : { relay })];
      const e = (await c.status()).endpoints[0];
      return { relay: e.relay, cell: endpointCells(e, T0)[ENDPOINT_COLUMNS.indexOf('relayed records')] };
    };
    // A delivery worker before its first report, then an endpoint that read only kind-1 records.
    assert.deepEqual(await relayOf(undefined), { relay: null, cell: '' });
    assert.deepEqual(await relayOf({ storedBytes: 0, storedLabels: 0, transcoded: 0, decoded: 0 }), {
      relay: null,
      cell: '',
    });
    assert.deepEqual(await relayOf({ storedBytes: 12, storedLabels: 3, transcoded: 0, decoded: 1 }), {
      relay: { storedBytes: 12, storedLabels: 3, transcoded: 0, decoded: 1 },
      cell: 'stored-bytes: 12, stored-labels: 3, decoded: 1',
    });
    assert.deepEqual(await relayOf({ storedBytes: 0, storedLabels: 0, transcoded: 7, decoded: 0 }), {
      relay: { storedBytes: 0, storedLabels: 0, transcoded: 7, decoded: 0 },
      cell: 'transcoded: 7',
    });
  });

  test('a counter that went down (endpoint restarted by a reload) counts from 0', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    src.endpoints = [endpointStats({ samplesSent: 1000 })];
    const c = collector(src, clock);
    await c.sample();
    clock.advance(10_000);
    src.endpoints = [endpointStats({ samplesSent: 200 })];
    await c.sample();
    assert.deepEqual((await c.status()).endpoints[0].history.sentSamplesPerSecond, [null, 20]);
  });

  test('without the queue’s details: what stats() has, the rest null', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    src.endpoints = [endpointStats({ samplesSent: 10, pendingSamples: 5 })];
    const c = collector(src, clock);
    await c.sample();
    clock.advance(2_000);
    src.endpoints = [endpointStats({ samplesSent: 30, pendingSamples: 5 })];
    const e = (await c.status()).endpoints[0];
    assert.equal(e.shards, null);
    assert.equal(e.samples.failed, null);
    assert.equal(e.histograms, null);
    assert.equal(e.bytesSent, null);
    assert.equal(e.rates.failedSamplesPerSecond, null);
    // Younger than one interval: against the oldest point, 2 s back.
    assert.equal(e.rates.sentSamplesPerSecond, 10);
    assert.equal(e.rates.receivedSignalsPerSecond, 10);
  });

  test('no rate over less than a second', async () => {
    const clock = new SimulatedClock(T0);
    const c = collector(new Source(), clock);
    await c.sample();
    clock.advance(999);
    assert.equal((await c.status()).endpoints[0].rates.sentSamplesPerSecond, null);
    clock.advance(1);
    assert.equal((await c.status()).endpoints[0].rates.sentSamplesPerSecond, 0);
  });

  test('an endpoint added later has nulls before it; a removed one keeps its history until it ages out', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    const c = collector(src, clock, { capacity: 3 });
    await c.sample();
    clock.advance(10_000);
    src.endpoints = [endpointStats(), endpointStats({ name: 'second', pendingSamples: 7 })];
    await c.sample();
    let s = await c.status();
    assert.deepEqual(
      s.endpoints.map((e) => [e.name, e.history.backlogSamples]),
      [
        ['primary', [0, 0]],
        ['second', [null, 7]],
      ],
    );
    src.endpoints = [endpointStats()];
    for (let i = 0; i < 2; i++) {
      clock.advance(10_000);
      await c.sample();
    }
    s = await c.status();
    assert.deepEqual(
      s.endpoints.map((e) => e.name),
      ['primary'],
    );
    // Still held (the point with 7 is in the last 3), then gone once it leaves the ring.
    const held = (c as unknown as { endpoints: Map<string, unknown> }).endpoints;
    assert.equal(held.has('second'), true);
    clock.advance(10_000);
    await c.sample();
    assert.equal(held.has('second'), false);
  });

  test('last error: failing since the first error of a run, over once samples go out again; URLs redacted', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    const c = collector(src, clock);
    const err = (atMs: number) => ({
      message: `POST https://user:hunter2@mimir.example/api/v1/push?token=abc: connect ECONNREFUSED`,
      atMs,
    });
    src.endpoints = [endpointStats({ pendingSamples: 100, lastError: err(T0 + 5_000) })];
    clock.advance(10_000);
    await c.sample();
    let e = (await c.status()).endpoints[0];
    assert.deepEqual(e.lastError, {
      message: 'POST https://user:redacted@mimir.example/api/v1/push?token=redacted: connect ECONNREFUSED',
      atMs: T0 + 5_000,
      failing: true,
      failingSinceMs: T0 + 5_000,
    });
    clock.advance(10_000);
    src.endpoints = [endpointStats({ pendingSamples: 100, lastError: err(T0 + 18_000) })];
    await c.sample();
    e = (await c.status()).endpoints[0];
    assert.equal(e.lastError?.failingSinceMs, T0 + 5_000);
    assert.equal(e.lastError?.atMs, T0 + 18_000);
    // No new error, samples delivered: recovered.
    clock.advance(10_000);
    src.endpoints = [endpointStats({ samplesSent: 100, pendingSamples: 0, lastError: err(T0 + 18_000) })];
    await c.sample();
    e = (await c.status()).endpoints[0];
    assert.deepEqual(
      { failing: e.lastError?.failing, since: e.lastError?.failingSinceMs },
      { failing: false, since: null },
    );
    // A new error later starts a new run.
    clock.advance(10_000);
    src.endpoints = [endpointStats({ samplesSent: 100, pendingSamples: 10, lastError: err(T0 + 35_000) })];
    e = (await c.status()).endpoints[0];
    assert.equal(e.lastError?.failingSinceMs, T0 + 35_000);
  });

  test('disk used against max_disk_bytes (0: no limit); oldest pending age', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    src.endpoints = [
      endpointStats({ pendingBytes: 256 * 1024, pendingSamples: 3, oldestPendingTimestampMs: T0 - 90_000 }),
    ];
    const limited = await collector(src, clock, { config: withMaxDisk(1024 * 1024) }).status();
    assert.deepEqual(limited.endpoints[0].disk, { usedBytes: 256 * 1024, maxBytes: 1024 * 1024, usedRatio: 0.25 });
    assert.equal(limited.storage.maxDiskBytes, 1024 * 1024);
    assert.equal(limited.endpoints[0].backlog.oldestPendingAgeSeconds, 90);
    assert.equal(limited.endpoints[0].backlog.oldestPendingTimestampMs, T0 - 90_000);
    const unlimited = await collector(src, clock, { config: withMaxDisk(0) }).status();
    assert.deepEqual(unlimited.endpoints[0].disk, { usedBytes: 256 * 1024, maxBytes: 0, usedRatio: null });
  });

  test('receiver: request rates by status code and signal rate', async () => {
    const clock = new SimulatedClock(T0);
    const src = new Source();
    src.receiver = { requestsByCode: { '204': 10 }, signals: 100 };
    const c = collector(src, clock);
    await c.sample();
    clock.advance(10_000);
    src.receiver = { requestsByCode: { '204': 60, '400': 5 }, signals: 600 };
    await c.sample();
    clock.advance(10_000);
    src.receiver = { requestsByCode: { '204': 110, '400': 5, '429': 1 }, signals: 1100 };
    const r = (await c.status()).receiver;
    assert.deepEqual(r.requests, { '204': 110, '400': 5, '429': 1 });
    // 400 and 429 appeared with their first request: 0 before that.
    assert.deepEqual(r.requestsPerSecond, { '204': 5, '400': 0, '429': 0.1 });
    assert.equal(r.signalsPerSecond, 50);
    assert.deepEqual(r.history.requestsPerSecond, { '204': [null, 5], '400': [null, 0.5], '429': [null, null] });
    assert.deepEqual(r.history.signalsPerSecond, [null, 50]);
    assert.deepEqual({ enabled: r.enabled, path: r.path }, { enabled: true, path: '/api/v1/write' });
  });
});

function withMaxDisk(bytes: number): PromspoolConfig {
  const config = testConfig();
  return { ...config, storage: { ...config.storage, maxDiskBytes: bytes } };
}
