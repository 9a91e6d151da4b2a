import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ClosedError } from '../../src/errors.js';
import { createNetworkManager, type NetworkManager } from '../../src/network/manager.js';
import { SHARD_PARTITIONS, STORED_GROUPS } from '../../src/network/partition.js';
import type { PortionRef } from '../../src/network/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { type FakeReceiver, type RequestInfo, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import {
  compress,
  DoneRecorder,
  EventCount,
  endpointConfig,
  type LogLine,
  recordingLogger,
  workOf,
} from './harness.js';
import { buildRecord } from './record-builder.js';

const encoderOf = () => createWriteRequestEncoderV1({ externalLabels: {} });
const VSHARDS = 256;

/** Round `r`'s record: one series per virtual shard (hash = vshard), `perSeries` samples each at r*perSeries + i. */
function roundRecord(r: number, perSeries: number): SignalRecord {
  return buildRecord(
    Array.from({ length: VSHARDS }, (_, v) => ({
      labels: { __name__: 'm', v: String(v) },
      hash: v,
      samples: Array.from({ length: perSeries }, (_, i) => [r * perSeries + i, i] as [number, number]),
    })),
  );
}

/** Hands every virtual shard's work of one round to the manager like the endpoint does: in order, awaiting backpressure. */
async function dispatchRound(net: NetworkManager, r: number, rec: SignalRecord): Promise<void> {
  for (let v = 0; v < VSHARDS; v++) {
    const wait = net.sendOrWait(workOf(rec, { segmentId: r, record: 0, vshard: v }, [v]));
    if (wait !== undefined) await wait;
  }
}

/**
 * Hands one round to the manager as the endpoint hands a relayed record: when every stored group's
 * virtual shards go through one loop now (`wholeLoopOf`), one work per group carrying all its
 * portions, handed over under a pin; otherwise one work per virtual shard. Returns whether whole.
 */
async function dispatchGroupsRound(net: NetworkManager, r: number, rec: SignalRecord): Promise<boolean> {
  let whole = true;
  for (let k = 0; k < STORED_GROUPS && whole; k++) {
    const loop = net.wholeLoopOf(k);
    for (let v = k; v < VSHARDS; v += STORED_GROUPS) if (loop < 0 || net.wholeLoopOf(v) !== loop) whole = false;
  }
  if (!whole) {
    await dispatchRound(net, r, rec);
    return false;
  }
  const unpin = net.pinAssignment();
  try {
    for (let k = 0; k < STORED_GROUPS; k++) {
      const vshards = Array.from({ length: VSHARDS / STORED_GROUPS }, (_, j) => k + j * STORED_GROUPS);
      const work = {
        ...workOf(rec, { segmentId: r, record: 0, vshard: k }, vshards),
        morePortions: vshards.slice(1).map((vshard) => ({ segmentId: r, record: 0, vshard })),
      };
      const wait = net.sendOrWait(work);
      if (wait !== undefined) await wait;
    }
  } finally {
    unpin();
  }
  return true;
}

/** A manager of up to 64 loops against `receiver`, resharded only when a test asks (no policy ticks). */
function loadedNetwork(
  receiver: FakeReceiver,
  done: DoneRecorder,
  logs: LogLine[],
  opts: { maxSamplesPerSend: number; mailboxCapacity: number },
): NetworkManager {
  return createNetworkManager({
    config: endpointConfig(receiver.url, {
      maxSamplesPerSend: opts.maxSamplesPerSend,
      minShards: 1,
      maxShards: 64,
      batchSendDeadlineMs: 5,
    }),
    createEncoder: encoderOf,
    onPortionDone: done.callback,
    compress,
    logger: recordingLogger(logs),
    reshardTickMs: 0,
    mailboxCapacity: opts.mailboxCapacity,
  });
}

/** Every series of `rounds` rounds of {@link roundRecord} arrived once and in order, and each portion finished once. */
function assertRoundsDelivered(receiver: FakeReceiver, done: DoneRecorder, rounds: number, perSeries: number): void {
  assert.equal(receiver.orderViolations, 0);
  assert.equal(receiver.totalSamples, rounds * VSHARDS * perSeries);
  for (let v = 0; v < VSHARDS; v++) {
    assert.deepEqual(
      receiver.received.get(seriesKey({ __name__: 'm', v: String(v) }))?.map((x) => x.ts),
      Array.from({ length: rounds * perSeries }, (_, i) => i),
      `series ${v}`,
    );
  }
  const seen = new Set(done.calls.map((c) => `${c.portion.segmentId}/${c.portion.vshard}`));
  assert.equal(seen.size, rounds * VSHARDS);
  assert.equal(done.calls.length, rounds * VSHARDS);
  assert.ok(done.calls.every((c) => c.outcome.status === 'sent'));
}

describe('NetworkManager resharding', () => {
  let receiver: FakeReceiver | undefined;
  let net: NetworkManager | undefined;
  afterEach(async () => {
    await net?.stop({ timeoutMs: 0 });
    net = undefined;
    await receiver?.close();
    receiver = undefined;
  });

  it('keeps every series in order, delivers every sample once, across reshards under load', async () => {
    receiver = await startFakeReceiver();
    // A WAN-like receiver: each answer a little later, so works pile up in the loops while they move.
    receiver.script(() => ({ status: 204, delayMs: 3 }));
    const logs: LogLine[] = [];
    const done = new DoneRecorder();
    net = loadedNetwork(receiver, done, logs, { maxSamplesPerSend: 50, mailboxCapacity: 16 });
    const m = net;
    const rounds = 24;
    const perSeries = 7;
    // Loop counts up to the most there can be (one partition each): the plan reads the constant.
    const P = SHARD_PARTITIONS;
    const plan = new Map<number, number>([
      [2, Math.min(4, P)],
      [5, Math.min(13, P)],
      [8, 2],
      [11, P],
      [14, 1],
      [17, Math.min(5, P)],
      [20, 3],
    ]);
    const reshards: Promise<void>[] = [];
    for (let r = 0; r < rounds; r++) {
      const to = plan.get(r);
      // Not awaited: the reshard runs while this and the next rounds are dispatched.
      if (to !== undefined) reshards.push(m.reshardTo(to, 'test'));
      await dispatchRound(m, r, roundRecord(r, perSeries));
    }
    await Promise.all(reshards);
    m.flush();
    await done.waitFor(rounds * VSHARDS);

    assertRoundsDelivered(receiver, done, rounds, perSeries);

    const s = m.stats();
    assert.equal(s.reshards, plan.size);
    assert.equal(s.shards, 3);
    assert.equal(m.shards, 3);
    // Slots of stopped loops keep their counters: the totals are exact.
    assert.equal(
      s.loops.reduce((n, l) => n + l.samples.sent, 0),
      rounds * VSHARDS * perSeries,
    );
    assert.equal(s.loops.length, P);
    // Every partition's virtual shards share one loop.
    for (let v = 0; v < VSHARDS; v++) assert.equal(m.loopOf(v), m.loopOf(v % SHARD_PARTITIONS));
    const infos = logs.filter((l) => l.level === 'info' && l.msg === 'resharded');
    const counts = [1, ...plan.values()];
    assert.deepEqual(
      infos.map((l) => [l.fields?.from, l.fields?.to, l.fields?.reason]),
      [...plan.values()].map((to, i) => [counts[i], to, 'test']),
    );
  });

  it('keeps every series in order when works carry whole stored groups, across reshards over and under 16 loops', async () => {
    receiver = await startFakeReceiver();
    receiver.script(() => ({ status: 204, delayMs: 3 }));
    const logs: LogLine[] = [];
    const done = new DoneRecorder();
    net = loadedNetwork(receiver, done, logs, { maxSamplesPerSend: 200, mailboxCapacity: 4 });
    const m = net;
    const rounds = 30;
    const perSeries = 3;
    const plan = new Map<number, number>([
      [2, 4],
      [5, 24],
      [9, 16],
      [13, 40],
      [17, 1],
      [21, 64],
      [25, 13],
    ]);
    const reshards: Promise<void>[] = [];
    let wholeRounds = 0;
    let splitRounds = 0;
    for (let r = 0; r < rounds; r++) {
      const to = plan.get(r);
      if (to !== undefined) reshards.push(m.reshardTo(to, 'test'));
      if (await dispatchGroupsRound(m, r, roundRecord(r, perSeries))) wholeRounds++;
      else splitRounds++;
    }
    await Promise.all(reshards);
    m.flush();
    await done.waitFor(rounds * VSHARDS);

    // Both ways were taken: whole groups on up to 16 loops, one work per virtual shard beyond and
    // while a reshard ran.
    assert.ok(wholeRounds > 0 && splitRounds > 0, `whole ${wholeRounds}, split ${splitRounds}`);
    assertRoundsDelivered(receiver, done, rounds, perSeries);
    assert.equal(m.stats().reshards, plan.size);
    assert.equal(m.shards, 13);
    // Back under 16 loops, each stored group is on one loop again.
    for (let v = 0; v < VSHARDS; v++) assert.equal(m.wholeLoopOf(v), m.wholeLoopOf(v % STORED_GROUPS));
    const infos = logs.filter((l) => l.level === 'info' && l.msg === 'resharded');
    assert.deepEqual(
      infos.map((l) => l.fields?.to),
      [...plan.values()],
    );
  });

  it('a reshard waits for the pinned assignment; wholeLoopOf answers -1 from the moment it is asked for', async () => {
    receiver = await startFakeReceiver();
    const done = new DoneRecorder();
    net = createNetworkManager({
      config: endpointConfig(receiver.url, { maxSamplesPerSend: 50, minShards: 1, maxShards: 64 }),
      createEncoder: encoderOf,
      onPortionDone: done.callback,
      compress,
      reshardTickMs: 0,
    });
    const m = net;
    assert.equal(m.wholeLoopOf(5), 0);
    const unpin = m.pinAssignment();
    let finished = false;
    const resharding = m.reshardTo(20, 'test').then(() => {
      finished = true;
    });
    assert.equal(m.wholeLoopOf(5), -1, 'the assignment is about to change');
    // Nothing moved while pinned: the loop count and every owner are as before.
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(finished, false);
    for (let v = 0; v < VSHARDS; v++) assert.equal(m.loopOf(v), 0);
    unpin();
    unpin(); // releasing twice counts once
    await resharding;
    assert.equal(m.shards, 20);
    const owners = new Set<number>();
    for (let v = 0; v < VSHARDS; v++) {
      assert.equal(m.wholeLoopOf(v), m.loopOf(v), 'steady again');
      owners.add(m.loopOf(v));
    }
    assert.equal(owners.size, 20);
    // A second pin and a stop: the waiting reshard ends without moving anything.
    const unpin2 = m.pinAssignment();
    const second = m.reshardTo(2, 'test');
    await m.stop({ timeoutMs: 0 });
    await second;
    assert.equal(m.stats().reshards, 1);
    unpin2();
    net = undefined;
  });

  it('holds new work of a moving partition until its old loop finished it, then sends it on the new loop', async () => {
    receiver = await startFakeReceiver();
    const arrived = new EventCount();
    // The first request is answered only when the test says so.
    let first = true;
    receiver.script(() => {
      arrived.tick();
      if (!first) return { status: 204 };
      first = false;
      return { status: 204, delayMs: 200 };
    });
    const done = new DoneRecorder();
    net = createNetworkManager({
      config: endpointConfig(receiver.url, { maxSamplesPerSend: 50, minShards: 1, maxShards: 4 }),
      createEncoder: encoderOf,
      onPortionDone: done.callback,
      compress,
      reshardTickMs: 0,
    });
    const m = net;
    const rec0 = roundRecord(0, 50);
    const rec1 = roundRecord(1, 50);
    // The last partition moves in 1 -> 4 (loop 0 keeps the first quarter of them).
    const mv = SHARD_PARTITIONS - 1;
    assert.equal(m.sendOrWait(workOf(rec0, { segmentId: 0, record: 0, vshard: mv }, [mv])), undefined);
    await arrived.waitFor(1);
    const resharding = m.reshardTo(4, 'test');
    let released = false;
    const held = m.sendOrWait(workOf(rec1, { segmentId: 1, record: 0, vshard: mv }, [mv]));
    assert.ok(held !== undefined, 'work of a moving partition is held');
    void held.then(() => {
      released = true;
    });
    // A partition that stays (0) goes straight to its loop.
    assert.equal(m.sendOrWait(workOf(rec1, { segmentId: 1, record: 0, vshard: 0 }, [0])), undefined);
    assert.equal(m.shards, 4);
    assert.equal(released, false);
    await resharding;
    await held;
    await done.waitFor(3);
    assert.deepEqual(
      done.calls.map((c) => `${c.portion.segmentId}/${c.portion.vshard}`).sort(),
      [`0/${mv}`, '1/0', `1/${mv}`].sort(),
    );
    // Segment 0's work for the moving vshard finished before segment 1's went out.
    const i0 = done.calls.findIndex((c) => c.portion.segmentId === 0);
    const i1 = done.calls.findIndex((c) => c.portion.segmentId === 1 && c.portion.vshard === mv);
    assert.ok(i0 < i1);
    assert.equal(m.loopOf(mv), 3);
    assert.equal(receiver.orderViolations, 0);
    assert.deepEqual(
      receiver.received.get(seriesKey({ __name__: 'm', v: String(mv) }))?.map((s) => s.ts),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('a stop during a reshard refuses the held work and counts what the loops held as abandoned', async () => {
    receiver = await startFakeReceiver();
    const arrived = new EventCount();
    receiver.script(() => {
      arrived.tick();
      return { status: 204, delayMs: 60_000 };
    });
    const done = new DoneRecorder();
    net = createNetworkManager({
      config: endpointConfig(receiver.url, { maxSamplesPerSend: 50, minShards: 1, maxShards: 4 }),
      createEncoder: encoderOf,
      onPortionDone: done.callback,
      compress,
      reshardTickMs: 0,
    });
    const m = net;
    const rec0 = roundRecord(0, 50);
    const rec1 = roundRecord(1, 50);
    // Two partitions that move in 1 -> 4 (the last two), both on loop 0 until then.
    const a = SHARD_PARTITIONS - 1;
    const b = SHARD_PARTITIONS - 2;
    m.sendOrWait(workOf(rec0, { segmentId: 0, record: 0, vshard: a }, [a]));
    m.sendOrWait(workOf(rec0, { segmentId: 0, record: 0, vshard: b }, [b]));
    await arrived.waitFor(1);
    const resharding = m.reshardTo(4, 'test');
    const held = m.sendOrWait(workOf(rec1, { segmentId: 1, record: 0, vshard: a }, [a]));
    assert.ok(held !== undefined);
    const heldResult = held.then(
      () => 'resolved',
      (err: unknown) => (err instanceof ClosedError ? 'closed' : String(err)),
    );
    const result = await m.stop({ timeoutMs: 0 });
    await resharding;
    assert.equal(await heldResult, 'closed');
    const key = (p: PortionRef) => `${p.segmentId}/${p.vshard}`;
    assert.deepEqual(result.abandonedPortions.map(key).sort(), [`0/${a}`, `0/${b}`].sort());
    assert.equal(done.calls.length, 0);
    assert.equal(m.stats().reshards, 0);
    net = undefined;
  });
});

describe('NetworkManager resharding policy', () => {
  let receiver: FakeReceiver | undefined;
  let net: NetworkManager | undefined;
  afterEach(async () => {
    await net?.stop({ timeoutMs: 0 });
    net = undefined;
    await receiver?.close();
    receiver = undefined;
  });

  /**
   * A manager on a simulated clock whose receiver takes 100 ms of that clock per request, with a
   * backlog the endpoint reports through `rates`, and a tick every second.
   */
  async function slowReceiverSetup(status: (req: RequestInfo) => number, reshardTickMs = 1000) {
    const clock = new SimulatedClock(1_000_000);
    receiver = await startFakeReceiver();
    const requests = new EventCount();
    receiver.script((req) => {
      clock.advance(100);
      requests.tick();
      return { status: status(req) };
    });
    const logs: LogLine[] = [];
    const failures = new EventCount();
    const done = new DoneRecorder();
    net = createNetworkManager({
      config: endpointConfig(receiver.url, {
        maxSamplesPerSend: 50,
        minShards: 1,
        maxShards: 4,
        minBackoffMs: 200,
        maxBackoffMs: 200,
      }),
      createEncoder: encoderOf,
      onPortionDone: done.callback,
      compress,
      clock,
      random: () => 0,
      logger: recordingLogger(logs),
      reshardTickMs,
      events: { failed: failures.tick, dropped: () => undefined, delivered: () => undefined },
      rates: () => ({ pendingSamples: 10_000_000, newestAppendedMs: clock.now() }),
    });
    return { clock, requests, logs, failures, done, net };
  }

  it('scales up on a slow receiver with a backlog, logging the reason and the figures at info', async () => {
    const { requests, logs, done, net: m } = await slowReceiverSetup(() => 204);
    // 30 full requests of 50 samples, one loop: 3 s of simulated request time, 3 ticks.
    for (let r = 0; r < 30; r++) {
      const wait = m.sendOrWait(workOf(roundRecord(r, 50), { segmentId: r, record: 0, vshard: 0 }, [0]));
      if (wait !== undefined) await wait;
    }
    await requests.waitFor(30);
    await done.waitFor(30);
    const line = logs.find((l) => l.msg === 'resharding');
    assert.ok(line !== undefined, JSON.stringify(logs.map((l) => l.msg)));
    assert.equal(line.level, 'info');
    assert.equal(line.fields?.reason, 'scale_up');
    assert.equal(line.fields?.from, 1);
    assert.equal(line.fields?.to, 4);
    // 10M pending × 5% per second = 500,000 samples/s to catch up at 2 ms per sample (100 ms / 50).
    assert.ok((line.fields?.desired as number) > 4);
    assert.equal(line.fields?.seconds_per_sample, 0.002);
    assert.equal(line.fields?.backlog_samples, 10_000_000);
    assert.equal(receiver?.orderViolations, 0);
  });

  it('scales up 1 s after the 10th delivery following failed attempts, not after the quiet time', async () => {
    const T0 = 1_000_000;
    let scaledAt: number | undefined;
    let m: NetworkManager | undefined;
    // The first 3 requests are refused (400: failed attempts without a backoff), then all delivered.
    // 5 s ticks (the default): the first at T0 + 1 s, the next due at T0 + 6 s.
    const setup = await slowReceiverSetup((req) => {
      if (scaledAt === undefined && m !== undefined && m.shards > 1) scaledAt = setup.clock.now();
      return req.index < 3 ? 400 : 204;
    }, 5000);
    m = setup.net;
    const works = 40;
    for (let r = 0; r < works; r++) {
      m.sendOrWait(workOf(roundRecord(r, 50), { segmentId: r, record: 0, vshard: 0 }, [0]));
    }
    await setup.done.waitFor(works);
    // Requests take 100 ms each: the failures end at T0 + 0.3 s, the 10th delivery after them at
    // T0 + 1.3 s, and the tick 1 s later scales up. Without it the tick at T0 + 6 s would still be
    // in the 10 s quiet time.
    assert.ok(scaledAt !== undefined && scaledAt <= T0 + 3_000, `scaled at T0 + ${(scaledAt ?? 0) - T0} ms`);
    const line = setup.logs.find((l) => l.msg === 'resharding');
    assert.equal(line?.fields?.reason, 'scale_up');
    assert.equal(receiver?.orderViolations, 0);
  });

  it('never reshards while the receiver fails, even when some requests get through', async () => {
    const { clock, failures, logs, done, net: m } = await slowReceiverSetup((req) => (req.index % 2 === 1 ? 503 : 204));
    // Every other request fails: samples flow (the backlog alone would scale up), but retries keep coming.
    const works = 20;
    for (let r = 0; r < works; r++) {
      m.sendOrWait(workOf(roundRecord(r, 50), { segmentId: r, record: 0, vshard: 0 }, [0]));
    }
    for (let seen = 0; done.calls.length < works; ) {
      // A failure puts the loop to sleep for its 200 ms backoff (set before the event reaches here): wake it.
      await Promise.race([failures.waitFor(seen + 1), done.waitFor(works)]);
      if (failures.count > seen) {
        seen = failures.count;
        await clock.advanceAndSettle(200);
      }
    }
    assert.ok(failures.count >= works - 1, `failures ${failures.count}`);
    assert.equal(m.stats().reshards, 0);
    assert.equal(m.shards, 1);
    assert.deepEqual(
      logs.filter((l) => l.msg === 'resharding'),
      [],
    );
    assert.equal(receiver?.orderViolations, 0);
  });
});
