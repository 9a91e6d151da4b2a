import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import type { QueueConfig } from '../../src/config/types.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createNetworkManager } from '../../src/network/manager.js';
import { SHARD_PARTITIONS, STORED_GROUPS, storedGroupOf } from '../../src/network/partition.js';
import { VIRTUAL_SHARDS } from '../../src/network/types.js';
import type { RelayRouteStats } from '../../src/relay/relay-route.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord, encodeRecord } from '../../src/serialization/record-codec.js';
import { hashLabelPairs } from '../../src/serialization/series.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import { encodeWriteRequestV1, type SeriesInput, sortedLabelPairs } from '../helpers/remote-write-client.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord } from '../network/record-builder.js';
import { FakeFileQueue, segment } from './fake-file-queue.js';

const SERIES = 60;
const SAMPLES_PER_SERIES = 2;

/** One relayed request per step: every series with `SAMPLES_PER_SERIES` samples at `step`'s timestamps. */
function relayedRecord(step: number, groups: number, baseMs: number, stepMs = 10): Uint8Array {
  const series: SeriesInput[] = Array.from({ length: SERIES }, (_, k) => ({
    labels: { __name__: 'relayed', k: String(k), job: 'j' },
    samples: Array.from({ length: SAMPLES_PER_SERIES }, (_, i): [number, number] => [
      baseMs + step * stepMs + i,
      step * 10 + i,
    ]),
  }));
  const body = encodeWriteRequestV1(series);
  const scan = scanWriteRequestV1(body);
  assert.ok(scan, 'the scan accepts the request');
  return encodeRawRecord(compressBlock(body), scan, { body, groups });
}

interface Run {
  receiver: FakeReceiver;
  compressCalls: number;
  corrupt: number;
  acks: [number, number, number][];
  ttlDropped: number;
  relay: RelayRouteStats | undefined;
}

/** Delivers `segments` (payloads per segment) through an endpoint of `queue`, counting compress calls. */
async function deliver(
  segments: Uint8Array[][],
  queue: Partial<QueueConfig>,
  opts: { externalLabels?: Record<string, string>; ttlMs?: number } = {},
): Promise<Run> {
  const receiver = await startFakeReceiver();
  const fq = new FakeFileQueue(segments.map((records, i) => segment(i + 1, records)));
  let compressCalls = 0;
  const ep = createEndpoint({
    config: endpointConfig(receiver.url, { batchSendDeadlineMs: 0, maxSamplesPerSend: 2000, ...queue }),
    fileQueue: fq,
    ttlMs: opts.ttlMs ?? 0,
    externalLabels: opts.externalLabels ?? {},
    decodeRecord: (p) => decodeRecord(p, { deferRawBody: true }),
    compress: (b) => {
      compressCalls++;
      return compressBlock(b);
    },
    clock: systemClock,
  });
  try {
    await fq.waitForReleases(segments.length);
    const stats = ep.stats();
    return {
      receiver,
      compressCalls,
      corrupt: stats.corruptRecords,
      acks: fq.acks,
      ttlDropped: stats.samples.dropped.ttl,
      relay: stats.relay,
    };
  } finally {
    await ep.stop({ timeoutMs: 0 });
    await receiver.close();
  }
}

/** Sends `steps` relayed records (one per segment, `groups` groups each) through an endpoint of `queue`. */
function relay(
  groups: number,
  queue: Partial<QueueConfig>,
  opts: {
    steps?: number;
    externalLabels?: Record<string, string>;
    ttlMs?: number;
    baseMs?: number;
    stepMs?: number;
  } = {},
): Promise<Run> {
  const baseMs = opts.baseMs ?? Date.now();
  const segments = Array.from({ length: opts.steps ?? 4 }, (_, s) => [relayedRecord(s, groups, baseMs, opts.stepMs)]);
  return deliver(segments, queue, opts);
}

/** Every series got the samples of steps `[firstStep, steps)`, in order, once. */
function assertAllInOrder(r: Run, steps = 4, firstStep = 0): void {
  const n = (steps - firstStep) * SAMPLES_PER_SERIES;
  assert.equal(r.receiver.totalSamples, SERIES * n);
  assert.equal(r.receiver.orderViolations, 0);
  assert.equal(r.receiver.received.size, SERIES);
  for (const [key, got] of r.receiver.received) {
    assert.match(key, /__name__="relayed"/);
    assert.deepEqual(
      got.map((x) => x.value),
      Array.from({ length: n }, (_, i) => (firstStep + Math.floor(i / SAMPLES_PER_SERIES)) * 10 + (i % 2)),
      `samples of ${key}`,
    );
  }
}

/** Each (segment, record, virtual shard) holding series was acked exactly once. */
function assertAckedOnce(acks: [number, number, number][], steps = 4): void {
  const seen = new Set<string>();
  for (const a of acks) {
    const k = a.join('/');
    assert.ok(!seen.has(k), `acked twice: ${k}`);
    seen.add(k);
  }
  for (let s = 1; s <= steps; s++)
    assert.ok(
      acks.some((a) => a[0] === s),
      `segment ${s} acked`,
    );
}

/** Whether the network an endpoint of `queue` starts assigns each stored group's virtual shards to one loop. */
async function ownsWholeGroups(queue: Partial<QueueConfig>): Promise<boolean> {
  const net = createNetworkManager({
    config: endpointConfig('http://127.0.0.1:1/api/v1/write', queue),
    createEncoder: () => createWriteRequestEncoderV1({ externalLabels: {} }),
    onPortionDone: () => undefined,
  });
  try {
    for (let v = 0; v < VIRTUAL_SHARDS; v++) if (net.loopOf(v) !== net.loopOf(storedGroupOf(v))) return false;
    return true;
  } finally {
    await net.stop({ timeoutMs: 0 });
  }
}

describe('Endpoint: relayed records sent as their groups', () => {
  it('sends the groups as they are when each loop owns whole groups: nothing compressed again', async () => {
    for (const [groups, shards] of [
      [4, 4],
      [4, 2],
      [1, 1],
    ]) {
      const r = await relay(groups, { minShards: shards, maxShards: shards });
      assertAllInOrder(r);
      assertAckedOnce(r.acks);
      assert.equal(r.compressCalls, 0, `${groups} groups over ${shards} loops`);
      assert.equal(r.corrupt, 0);
    }
  });

  it('sends a partitioned record as its stored bytes with 1, 3 and 4 loops and as stored labels with 24, each series in order, every sample once', async () => {
    for (const loops of [1, 3, 4, 24]) {
      const queue = { minShards: loops, maxShards: loops };
      const r = await relay(STORED_GROUPS, queue, { steps: 6 });
      assertAllInOrder(r, 6);
      assertAckedOnce(r.acks, 6);
      assert.equal(r.corrupt, 0);
      // Up to 16 loops the network keeps each stored group on one loop; beyond, a group's
      // partitions are spread over loops and the route copies the series instead.
      const whole = await ownsWholeGroups(queue);
      assert.equal(whole, loops <= STORED_GROUPS, `${loops} loops own whole groups`);
      assert.deepEqual(
        r.relay,
        whole
          ? { storedBytes: 6, storedLabels: 0, transcoded: 0, decoded: 0 }
          : { storedBytes: 0, storedLabels: 6, transcoded: 0, decoded: 0 },
        `${loops} loops`,
      );
      if (whole) assert.equal(r.compressCalls, 0, `${loops} loops: nothing compressed again`);
    }
  });

  it('sends a record of one group per partition (written while behind) as its stored bytes with 3, 24 and 64 loops', async () => {
    for (const loops of [3, 24, 64]) {
      const r = await relay(SHARD_PARTITIONS, { minShards: loops, maxShards: loops }, { steps: 6 });
      assertAllInOrder(r, 6);
      assertAckedOnce(r.acks, 6);
      assert.equal(r.corrupt, 0);
      assert.deepEqual(r.relay, { storedBytes: 6, storedLabels: 0, transcoded: 0, decoded: 0 }, `${loops} loops`);
      assert.equal(r.compressCalls, 0, `${loops} loops: nothing compressed again`);
    }
  });

  it('encodes the series again where the groups do not fit: loops, external labels, sample age, request size', async () => {
    const cases: { name: string; groups: number; queue: Partial<QueueConfig>; ext?: Record<string, string> }[] = [
      { name: '4 groups over 3 loops', groups: 4, queue: { minShards: 3, maxShards: 3 } },
      { name: 'external labels', groups: 2, queue: { minShards: 2, maxShards: 2 }, ext: { cluster: 'c1' } },
      { name: 'sample age limit', groups: 2, queue: { minShards: 2, maxShards: 2, sampleAgeLimitMs: 3_600_000 } },
      { name: 'groups larger than a request', groups: 1, queue: { minShards: 1, maxShards: 1, maxSamplesPerSend: 50 } },
    ];
    for (const c of cases) {
      const r = await relay(c.groups, c.queue, c.ext ? { externalLabels: c.ext } : {});
      assertAllInOrder(r);
      assertAckedOnce(r.acks);
      assert.ok(r.compressCalls > 0, `${c.name}: encoded and compressed`);
      if (c.ext) for (const key of r.receiver.received.keys()) assert.match(key, /cluster="c1"/);
    }
  });

  it('acks a record the ttl cut whole without sending it; the younger ones go as their groups', async () => {
    // Steps a minute apart, the first 150 s old: with a ttl of 100 s only it is dropped.
    const r = await relay(
      2,
      { minShards: 2, maxShards: 2 },
      { ttlMs: 100_000, baseMs: Date.now() - 150_000, stepMs: 60_000 },
    );
    assertAllInOrder(r, 4, 1);
    assert.equal(r.ttlDropped, SERIES * SAMPLES_PER_SERIES);
    assertAckedOnce(r.acks);
    assert.equal(r.compressCalls, 0);
  });

  it('encodes the rest of a record the ttl cut in part', async () => {
    const now = Date.now();
    const series: SeriesInput[] = Array.from({ length: SERIES }, (_, k) => ({
      labels: { __name__: 'mixed', k: String(k) },
      // Odd series are 150 s old, even ones fresh.
      samples: [[now - (k % 2) * 150_000, k]],
    }));
    const body = encodeWriteRequestV1(series);
    const scan = scanWriteRequestV1(body);
    assert.ok(scan);
    const r = await deliver(
      [[encodeRawRecord(compressBlock(body), scan, { body, groups: 2 })]],
      { minShards: 2, maxShards: 2 },
      { ttlMs: 100_000 },
    );
    assert.equal(r.receiver.totalSamples, SERIES / 2);
    for (const key of r.receiver.received.keys()) assert.equal(Number(/k="(\d+)"/.exec(key)?.[1]) % 2, 0, key);
    assert.equal(r.ttlDropped, SERIES / 2);
    assert.ok(r.compressCalls > 0);
  });

  it('keeps each series in order between decoded records and relayed ones in the same loops', async () => {
    const base = Date.now();
    // Steps 0 and 2 as kind-1 records of the same series (same hashes), 1 and 3 relayed.
    const kind1 = (step: number): Uint8Array =>
      encodeRecord(
        buildRecord(
          Array.from({ length: SERIES }, (_, k) => {
            const labels = { __name__: 'relayed', k: String(k), job: 'j' };
            return {
              labels,
              hash: hashLabelPairs(sortedLabelPairs(labels).flat()),
              samples: Array.from({ length: SAMPLES_PER_SERIES }, (_, i): [number, number] => [
                base + step * 10 + i,
                step * 10 + i,
              ]),
            };
          }),
        ),
      );
    // Requests of 100 samples: batches close where a decoded record meets a relayed one.
    const r = await deliver(
      [
        [kind1(0), relayedRecord(1, 4, base)],
        [kind1(2), relayedRecord(3, 4, base)],
      ],
      { minShards: 4, maxShards: 4, maxSamplesPerSend: 100 },
    );
    assertAllInOrder(r);
    assertAckedOnce(r.acks, 2);
  });

  it('counts a relayed record whose block is damaged as corrupt when it must be uncompressed', async () => {
    const good = relayedRecord(0, 4, Date.now());
    const bad = Buffer.from(relayedRecord(1, 4, Date.now()));
    // Damage the elements (not the table): the block no longer uncompresses.
    bad.fill(0xff, bad.length - 40, bad.length - 20);
    // 3 loops do not own whole groups of 4: the records are uncompressed.
    const r = await deliver([[good, bad]], { minShards: 3, maxShards: 3 });
    assert.equal(r.corrupt, 1);
    assert.equal(r.receiver.totalSamples, SERIES * SAMPLES_PER_SERIES);
  });
});
