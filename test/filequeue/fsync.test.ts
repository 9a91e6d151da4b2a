import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileOps } from '../../src/filequeue/index.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { payload, settle, useQueueDir } from './helpers.js';

/** fdatasync that waits until the test lets it finish; fsyncDir that finishes at once. Both counted. */
function gatedSyncs(gated: boolean) {
  const gates: Array<() => void> = [];
  const counts = { fdatasync: 0, fsyncDir: 0 };
  const ops: Partial<FileOps> = {
    fdatasync: () => {
      counts.fdatasync++;
      return gated ? new Promise<void>((resolve) => gates.push(resolve)) : Promise.resolve();
    },
    fsyncDir: async () => {
      counts.fsyncDir++;
    },
  };
  const release = () => {
    const g = gates.shift();
    assert.ok(g, 'no fsync is waiting');
    g();
  };
  return { ops, counts, gates, release };
}

/** Tracks whether a promise settled, without awaiting it. */
function track(p: Promise<void>) {
  const t = { done: false, failed: undefined as unknown };
  p.then(
    () => {
      t.done = true;
    },
    (err) => {
      t.failed = err;
    },
  );
  return t;
}

describe('fsync policies', () => {
  const dir = useQueueDir();
  const open = dir.open;

  it('always: N concurrent appends share a couple of fsyncs (group commit)', async () => {
    const sync = gatedSyncs(true);
    const q = await open({ fsync: 'always', fileOps: sync.ops });
    const n = 50;
    const appends = Array.from({ length: n }, (_, i) => track(q.append(payload(i), 1)));
    await settle();
    assert.equal(appends.filter((a) => a.done).length, 0, 'nothing resolves before an fsync');
    let rounds = 0;
    while (appends.some((a) => !a.done) && rounds++ < 10) {
      sync.release();
      await settle();
    }
    assert.equal(appends.filter((a) => a.done).length, n);
    // The first append's fsync, then one more for the 49 that arrived while it ran.
    assert.equal(sync.counts.fdatasync, 2);
    assert.equal(sync.counts.fsyncDir, 1, 'the new segment name is made durable once');
    assert.equal(q.stats().fsyncs, sync.counts.fdatasync + sync.counts.fsyncDir);
  });

  it('always: an append that arrives during an fsync waits for the next one', async () => {
    const sync = gatedSyncs(true);
    const q = await open({ fsync: 'always', fileOps: sync.ops });
    const a1 = track(q.append(payload(1), 1));
    await settle();
    assert.equal(sync.gates.length, 1);
    const a2 = track(q.append(payload(2), 1));
    await settle();
    sync.release();
    await settle();
    assert.equal(a1.done, true);
    assert.equal(a2.done, false);
    assert.equal(sync.gates.length, 1, 'a second fsync covers the late append');
    sync.release();
    await settle();
    assert.equal(a2.done, true);
    assert.equal(sync.counts.fdatasync, 2);
  });

  it('always: a failed fsync rejects the appends it covered', async () => {
    const q = await open({
      fsync: 'always',
      fileOps: {
        fdatasync: async () => {
          throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        },
        fsyncDir: async () => {},
      },
    });
    await assert.rejects(q.append(payload(1), 1), /EIO/);
  });

  it('interval: appends resolve at once; fdatasync at most every fsyncIntervalMs', async () => {
    const clock = new SimulatedClock();
    const sync = gatedSyncs(false);
    const q = await open({ fsync: 'interval', fsyncIntervalMs: 1000, clock, fileOps: sync.ops });
    for (let i = 0; i < 5; i++) await q.append(payload(i), 1);
    assert.equal(sync.counts.fdatasync, 0);
    clock.advance(999);
    await settle();
    assert.equal(sync.counts.fdatasync, 0);
    clock.advance(1);
    await settle();
    assert.equal(sync.counts.fdatasync, 1);
    clock.advance(5000);
    await settle();
    assert.equal(sync.counts.fdatasync, 1, 'nothing new written: no timer, no fsync');
    await q.append(payload(9), 1);
    clock.advance(1000);
    await settle();
    assert.equal(sync.counts.fdatasync, 2);
  });

  it('interval: seals fdatasync their data at once; renames and deletions share one directory fsync per fsync_interval', async () => {
    const clock = new SimulatedClock();
    const sync = gatedSyncs(false);
    const q = await open({
      fsync: 'interval',
      fsyncIntervalMs: 1000,
      clock,
      fileOps: sync.ops,
      maxSignalsPerSegment: 1,
    });
    for (let i = 0; i < 3; i++) await q.append(payload(i), 1);
    await q.seal();
    assert.equal(sync.counts.fdatasync, 3, 'each sealed segment is fdatasynced before its rename');
    assert.equal(sync.counts.fsyncDir, 0, 'no directory fsync per seal');
    const segs = [];
    for (let i = 0; i < 3; i++) {
      const s = await q.next(new AbortController().signal);
      assert.ok(s !== null);
      segs.push(s);
    }
    for (const s of segs) q.release(s.id);
    await q.deletions();
    assert.equal(sync.counts.fsyncDir, 0, 'nor per deletion');
    clock.advance(999);
    await settle();
    assert.equal(sync.counts.fsyncDir, 0);
    clock.advance(1);
    await settle();
    assert.equal(sync.counts.fsyncDir, 1, 'one for the 3 renames and 3 deletions');
    clock.advance(5000);
    await settle();
    assert.equal(sync.counts.fsyncDir, 1, 'nothing new: no timer, no fsync');
    await q.close();
    assert.equal(sync.counts.fsyncDir, 2, 'close fsyncs the directory');
  });

  it('always: every seal and every deletion fsyncs the directory before going on', async () => {
    const sync = gatedSyncs(false);
    const q = await open({ fsync: 'always', fileOps: sync.ops, maxSignalsPerSegment: 1 });
    await q.append(payload(1), 1);
    await q.seal();
    // The new file's name with the append, the rename with the seal.
    assert.equal(sync.counts.fsyncDir, 2);
    const s = await q.next(new AbortController().signal);
    assert.ok(s !== null);
    q.release(s.id);
    await q.deletions();
    assert.equal(sync.counts.fsyncDir, 3);
  });

  it('never: no fsync on append or seal; flush() fsyncs what was written', async () => {
    const sync = gatedSyncs(false);
    const q = await open({ fsync: 'never', fileOps: sync.ops, maxSignalsPerSegment: 2 });
    for (let i = 0; i < 3; i++) await q.append(payload(i), 1);
    await q.seal();
    assert.deepEqual(sync.counts, { fdatasync: 0, fsyncDir: 0 });
    await q.flush();
    // Two sealed segments' data plus the directory.
    assert.deepEqual(sync.counts, { fdatasync: 2, fsyncDir: 1 });
    await q.flush();
    assert.deepEqual(sync.counts, { fdatasync: 2, fsyncDir: 2 });
  });

  it('close() fsyncs the open segment and leaves it unsealed', async () => {
    const sync = gatedSyncs(false);
    const q = await open({ fsync: 'never', fileOps: sync.ops });
    await q.append(payload(1), 1);
    await q.close();
    assert.equal(sync.counts.fdatasync, 1);
  });
});
