// Disk limits at the queue level, receiver down: max_disk_bytes holds (measured on disk after
// every commit), drop_oldest drops whole oldest segments and counts them exactly, reject refuses
// commits with ERR_DISK_FULL and recovers once the backlog drains, and ENOSPC (injected through
// FileOps, and a real one on a 2 MiB tmpfs when mount is permitted) behaves like the cap.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, statSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Registry } from 'prom-client';
import { type LibraryOptions, resolveQueueOptions } from '../../src/config/index.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { PromspoolError } from '../../src/errors.js';
import { createFileQueue, type FileOps, inspectQueueDir } from '../../src/filequeue/index.js';
import { remoteStorageMetrics } from '../../src/metrics/remote-storage-metrics.js';
import { createQueue } from '../../src/queue.js';
import type { Appender, Queue } from '../../src/queue-types.js';
import { createAppender } from '../../src/serialization/appender.js';
import { countRecordSignals, decodeRecord } from '../../src/serialization/record-codec.js';
import { createSerializer } from '../../src/serialization/serializer.js';
import { createSeriesRegistry } from '../../src/serialization/series.js';
import { type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import { fastOptions, metricValue, startGate, tempDataDir } from '../queue/queue-helpers.js';

const SERIES = 50;
const T0 = 1_700_000_000_000;

/** Commit `k` appends SERIES samples at T0 + k seconds (value k): its samples are identifiable by timestamp. */
async function commitStep(app: Appender, k: number): Promise<void> {
  for (let i = 0; i < SERIES; i++) app.append({ __name__: 'disk_limit', i: String(i) }, T0 + k * 1_000, k);
  await app.commit();
}

/** Sum of the sizes of every file in `dir`. */
function dirBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) n += statSync(join(dir, name)).size;
  return n;
}

/** The commit steps (`k`) whose samples the receiver holds, each with the number of series it arrived for. */
function receivedSteps(rx: FakeReceiver): Map<number, number> {
  const out = new Map<number, number>();
  for (const samples of rx.received.values()) {
    for (const s of samples) out.set((s.ts - T0) / 1_000, (out.get((s.ts - T0) / 1_000) ?? 0) + 1);
  }
  return out;
}

/** Polls `cond` every 10 ms (stats have no event to await) until true; fails after `timeoutMs`. */
async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A queue whose receiver is down (its connections are cut) until `up()` starts forwarding to a fake receiver. */
async function queueWithReceiverDown(
  t: TestContext,
  persistence: NonNullable<LibraryOptions['persistence']>,
  mounted?: { dir: string; unmount(): Promise<void> },
): Promise<{ queue: Queue; dir: string; rx: FakeReceiver; up(): Promise<void> }> {
  const rx = await startFakeReceiver();
  t.after(() => rx.close());
  const gate = await startGate();
  const data = mounted === undefined ? await tempDataDir('disk') : { path: mounted.dir, remove: mounted.unmount };
  const queue = await createQueue(
    fastOptions(
      data.path,
      `http://127.0.0.1:${gate.port}/api/v1/write`,
      { queueConfig: { maxBackoff: '50ms', minShards: 1, maxShards: 1 } },
      { persistence: { batchInterval: '1h', fsync: 'never', ...persistence } },
    ),
  );
  t.after(async () => {
    await queue.stop();
    await gate.close();
    await data.remove();
  });
  return {
    queue,
    dir: join(data.path, 'ep'),
    rx,
    up: async () => gate.open(rx.port),
  };
}

test('drop_oldest: max_disk_bytes holds after every commit; whole oldest segments dropped, counted exactly', async (t) => {
  const maxDiskBytes = 24 * 1024;
  const { queue, dir, rx, up } = await queueWithReceiverDown(t, {
    maxSignalsToBatch: 2 * SERIES,
    maxDiskBytes,
    onDiskFull: 'drop_oldest',
  });
  const app = queue.appender();
  const steps = 300;
  let worst = 0;
  let biggestSegment = 0;
  for (let k = 0; k < steps; k++) {
    await commitStep(app, k);
    worst = Math.max(worst, dirBytes(dir));
    for (const name of readdirSync(dir)) biggestSegment = Math.max(biggestSegment, statSync(join(dir, name)).size);
  }
  const st = queue.stats().endpoints[0]!;
  const dropped = st.samplesDropped.max_disk_bytes ?? 0;
  console.log(
    `# drop_oldest: ${steps * SERIES} samples committed, ${dropped} dropped; largest dir ${worst} B (cap ${maxDiskBytes}, segment <= ${biggestSegment} B)`,
  );
  assert.ok(worst <= maxDiskBytes + biggestSegment, `directory reached ${worst} bytes`);
  assert.ok(dropped > 0, 'the cap was reached');
  assert.equal(dropped % (2 * SERIES), 0, 'whole segments (2 commits each) are dropped');
  assert.equal(st.samplesDropped.disk_full ?? 0, 0, 'no real ENOSPC here');
  const text = await queue.registry.metrics();
  assert.equal(
    metricValue(text, 'prometheus_remote_storage_samples_dropped_total', {
      remote_name: 'ep',
      reason: 'max_disk_bytes',
    }),
    dropped,
  );

  await up();
  await queue.flush();
  await waitUntil(() => queue.stats().endpoints[0]!.pendingSegments === 0, 20_000, 'backlog drained');
  const got = receivedSteps(rx);
  let delivered = 0;
  for (const n of got.values()) delivered += n;
  // Every step arrived whole (all series) or not at all. The lost ones are the oldest, except
  // that segments the sender already held in memory (at most 3, of 2 steps each: 2 being sent and
  // 1 read ahead) are kept and delivered rather than dropped. In-process the reader takes the first
  // three at once; a delivery worker asks for them later, one at a time, so they can sit anywhere
  // among the dropped ones.
  for (const [k, n] of got) assert.equal(n, SERIES, `step ${k} arrived for ${n} series`);
  const missing = [...Array(steps).keys()].filter((k) => !got.has(k));
  const last = missing[missing.length - 1] ?? -1;
  const heldSteps = [...Array(last + 1).keys()].filter((k) => got.has(k));
  assert.ok(heldSteps.length <= 6, `steps kept among the dropped ones (${heldSteps}) are at most the 3 held segments`);
  for (const k of heldSteps) assert.ok(got.has(k ^ 1), `step ${k} was kept without the other step of its segment`);
  assert.equal(rx.orderViolations, 0);
  console.log(`# drop_oldest: delivered ${delivered}, dropped ${dropped}, committed ${steps * SERIES}`);
  assert.equal(
    missing.length * SERIES,
    dropped,
    'what is missing at the receiver is exactly what was counted as dropped',
  );
  assert.equal(delivered + dropped, steps * SERIES);
});

test('reject: commit fails with ERR_DISK_FULL, nothing half-written, and commits work again once the backlog drains', async (t) => {
  const maxDiskBytes = 16 * 1024;
  const { queue, dir, rx, up } = await queueWithReceiverDown(t, {
    maxSignalsToBatch: 2 * SERIES,
    maxDiskBytes,
    onDiskFull: 'reject',
    // Under reject nothing seals the open segment early: the batch interval must, for it to be sent.
    batchInterval: '100ms',
  });
  const app = queue.appender();
  const accepted: number[] = [];
  let rejected: number | undefined;
  for (let k = 0; k < 500 && rejected === undefined; k++) {
    try {
      await commitStep(app, k);
      accepted.push(k);
    } catch (err) {
      assert.ok(err instanceof PromspoolError, String(err));
      assert.equal(err.code, 'ERR_DISK_FULL');
      rejected = k;
      app.rollback();
    }
    assert.ok(dirBytes(dir) <= maxDiskBytes, `directory at ${dirBytes(dir)} bytes`);
  }
  assert.ok(rejected !== undefined, 'the cap was reached');
  // A second try while still full is refused too (not queued, not half-written).
  await assert.rejects(commitStep(app, rejected), (err: unknown) => (err as PromspoolError).code === 'ERR_DISK_FULL');
  app.rollback();
  const report = await inspectQueueDir(dir);
  for (const s of report.segments) {
    assert.equal(s.corruptRecords, 0, `${s.file}: corrupt records`);
    assert.equal(s.tailBytes, 0, `${s.file}: bytes after the last whole record`);
  }
  const text = await queue.registry.metrics();
  assert.equal(
    metricValue(text, 'prometheus_remote_storage_samples_dropped_total', {
      remote_name: 'ep',
      reason: 'max_disk_bytes',
    }) ?? 0,
    0,
    'reject drops nothing',
  );

  await up();
  await waitUntil(() => rx.totalSamples >= accepted.length * SERIES, 20_000, 'backlog delivered');
  // The queue takes commits again by itself once delivery freed the space.
  await commitStep(app, rejected);
  accepted.push(rejected);
  await queue.flush();
  await waitUntil(() => rx.totalSamples >= accepted.length * SERIES, 20_000, 'the retried commit delivered');
  const got = receivedSteps(rx);
  assert.deepEqual(
    [...got.keys()].sort((a, b) => a - b),
    accepted,
  );
  for (const [k, n] of got) assert.equal(n, SERIES, `step ${k}`);
  assert.equal(rx.totalSamples, accepted.length * SERIES, 'no duplicates, nothing of a rejected commit');
  console.log(
    `# reject: ${accepted.length - 1} commits accepted before the cap, commit ${rejected} refused, accepted after draining`,
  );
});

/**
 * A simulated disk of `capacity` bytes for the queue directory: a write that would take the
 * directory past it writes nothing (or, if `partial`, part of it) and throws ENOSPC, like a full
 * filesystem. `full = true` fails every write, whatever the size.
 */
function simulatedDisk(dir: () => string, capacity: number): { ops: Partial<FileOps>; full: boolean; enospc: number } {
  const disk = {
    full: false,
    enospc: 0,
    ops: {
      writev(fd: number, buffers: readonly Uint8Array[], position: number): number {
        let len = 0;
        for (const b of buffers) len += b.length;
        if (disk.full || dirBytes(dir()) + len > capacity) {
          disk.enospc++;
          // Half of the first buffer goes out, as a real short write before ENOSPC would.
          const first = buffers[0];
          if (first && first.length > 1) writevSync(fd, [first.subarray(0, first.length >> 1)], position);
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return writevSync(fd, buffers as Uint8Array[], position);
      },
    } satisfies Partial<FileOps>,
  };
  return disk;
}

test('injected ENOSPC behaves like the cap (drop_oldest counts disk_full) and the queue recovers when the disk frees', async (t) => {
  // createQueue has no FileOps hook, so this wires the same parts EndpointRuntime wires
  // (FileQueue -> Serializer -> Endpoint) around a FileQueue whose writes go to a simulated disk.
  const rx = await startFakeReceiver();
  t.after(() => rx.close());
  const gate = await startGate();
  const data = await tempDataDir('enospc');
  const dir = join(data.path, 'ep');
  const disk = simulatedDisk(() => dir, 20 * 1024);
  const config = resolveQueueOptions(
    fastOptions(data.path, `http://127.0.0.1:${gate.port}/api/v1/write`, {
      queueConfig: { maxBackoff: '50ms', minShards: 1, maxShards: 1 },
    }),
  );
  const registry = new Registry();
  const fileQueue = await createFileQueue({
    dir,
    maxSignalsPerSegment: 2 * SERIES,
    batchIntervalMs: 3_600_000,
    fsync: 'never',
    fsyncIntervalMs: 1_000,
    maxDiskBytes: 0,
    onDiskFull: 'drop_oldest',
    countSignals: countRecordSignals,
    fileOps: disk.ops,
  });
  const serializer = createSerializer({ fileQueue, mailboxCapacity: 64 });
  const endpoint = createEndpoint({
    config: config.remoteWrite[0]!,
    fileQueue,
    ttlMs: 0,
    externalLabels: {},
    decodeRecord,
    metrics: remoteStorageMetrics(registry),
  });
  const app = createAppender({ registry: createSeriesRegistry(), submit: (b) => serializer.submit(b) });
  t.after(async () => {
    await serializer.stop();
    await endpoint.stop({ timeoutMs: 500 });
    await fileQueue.close();
    await gate.close();
    await data.remove();
  });

  // Phase 1: the simulated disk fills; drop_oldest frees it segment by segment.
  const steps = 200;
  for (let k = 0; k < steps; k++) await commitStep(app, k);
  const fq = fileQueue.stats();
  assert.ok(disk.enospc > 0, 'the simulated disk filled up');
  assert.ok(fq.droppedSignalsByReason.disk_full > 0);
  assert.equal(fq.droppedSignalsByReason.max_disk_bytes, 0);
  assert.ok(dirBytes(dir) <= 20 * 1024);
  const text = await registry.metrics();
  assert.equal(
    metricValue(text, 'prometheus_remote_storage_samples_dropped_total', { reason: 'disk_full' }),
    fq.droppedSignalsByReason.disk_full,
  );

  // Phase 2: every write fails: the commit is refused (after dropping one more segment), nothing half-written.
  disk.full = true;
  await assert.rejects(commitStep(app, steps), (err: unknown) => (err as PromspoolError).code === 'ERR_DISK_FULL');
  app.rollback();
  for (const s of (await inspectQueueDir(dir)).segments) {
    assert.equal(s.tailBytes, 0, `${s.file}: a half-written record was left`);
    assert.equal(s.corruptRecords, 0, `${s.file}: corrupt`);
  }
  // Phase 3: the disk frees; the next commit works without a restart.
  disk.full = false;
  await commitStep(app, steps + 1);
  await fileQueue.seal();
  gate.open(rx.port);
  const dropped = () => fileQueue.stats().droppedSignalsByReason.disk_full;
  await waitUntil(() => fileQueue.stats().segments === 0, 20_000, 'backlog drained');
  const got = receivedSteps(rx);
  let delivered = 0;
  for (const n of got.values()) delivered += n;
  for (const [k, n] of got) assert.equal(n, SERIES, `step ${k}`);
  assert.ok(got.has(steps + 1), 'the commit after the disk freed was delivered');
  assert.ok(!got.has(steps), 'nothing of the refused commit');
  console.log(
    `# injected ENOSPC: ${disk.enospc} ENOSPC writes, ${dropped()} samples dropped (disk_full), ${delivered} delivered of ${(steps + 1) * SERIES} accepted`,
  );
  assert.equal(delivered + dropped(), (steps + 1) * SERIES, 'each accepted sample delivered or counted dropped, once');
});

/**
 * Mounts a tmpfs of `size` at a new directory, or says why not. The caller unmounts (after the
 * queue on it has stopped: test.after hooks run in the order they were added).
 */
function mountTmpfs(size: string): { dir: string; unmount(): Promise<void> } | { skip: string } {
  const base = join(process.env.TMPDIR ?? '/tmp', `promspool-tmpfs-${process.pid}-${Date.now()}`);
  mkdirSync(base);
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', base], { encoding: 'utf8' });
  if (res.status !== 0) {
    rmdirSync(base);
    return { skip: `cannot mount a tmpfs here (${(res.stderr || res.error?.message || '').trim()})` };
  }
  return {
    dir: base,
    unmount: async () => {
      spawnSync('umount', [base]);
      rmdirSync(base);
    },
  };
}

test('real ENOSPC on a 2 MiB tmpfs: reject refuses commits, then recovers by itself once delivered', async (t) => {
  const m = mountTmpfs('2m');
  if ('skip' in m) {
    t.skip(m.skip);
    return;
  }
  const { queue, dir, rx, up } = await queueWithReceiverDown(
    t,
    { maxSignalsToBatch: 20 * SERIES, maxDiskBytes: 0, onDiskFull: 'reject', batchInterval: '100ms' },
    m,
  );
  const app = queue.appender();
  const accepted: number[] = [];
  let refused: number | undefined;
  // Distinct label values make records incompressible enough to fill 2 MiB in a few hundred commits.
  for (let k = 0; k < 5_000 && refused === undefined; k++) {
    try {
      for (let i = 0; i < SERIES; i++) {
        app.append({ __name__: 'disk_limit', i: String(i), pad: `${k}-${i}-${'x'.repeat(200)}` }, T0 + k * 1_000, k);
      }
      await app.commit();
      accepted.push(k);
    } catch (err) {
      assert.equal((err as PromspoolError).code, 'ERR_DISK_FULL', String(err));
      refused = k;
      app.rollback();
    }
  }
  assert.ok(refused !== undefined, 'the tmpfs filled up');
  for (const s of (await inspectQueueDir(dir)).segments) assert.equal(s.tailBytes, 0, `${s.file}: half-written`);
  await up();
  await waitUntil(() => rx.totalSamples >= accepted.length * SERIES, 30_000, 'backlog delivered');
  await waitUntil(() => queue.stats().endpoints[0]!.pendingSegments <= 1, 30_000, 'segments released');
  app.append({ __name__: 'disk_limit', i: '0', pad: 'after' }, T0 + 10_000_000, 1);
  await app.commit();
  await queue.flush();
  await waitUntil(() => rx.totalSamples >= accepted.length * SERIES + 1, 30_000, 'the commit after recovery delivered');
  assert.equal(rx.totalSamples, accepted.length * SERIES + 1, 'no duplicates, nothing of the refused commit');
  console.log(`# tmpfs 2m: ${accepted.length} commits (${accepted.length * SERIES} samples) fit before ENOSPC`);
});
