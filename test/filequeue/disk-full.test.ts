import assert from 'node:assert/strict';
import { readdirSync, statSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskFullError } from '../../src/errors.js';
import type { FileOps } from '../../src/filequeue/index.js';
import { bytes, payload, settle, useQueueDir } from './helpers.js';

/** A writev that fails with ENOSPC on chosen calls, after writing `partial` bytes of them for real. */
function failingWrites(partial = 0): { ops: Partial<FileOps>; failOn: Set<number>; calls: () => number } {
  let calls = 0;
  const failOn = new Set<number>();
  const ops: Partial<FileOps> = {
    writev(fd, buffers, position) {
      calls++;
      if (failOn.has(calls)) {
        if (partial > 0) writevSync(fd, [Buffer.concat(buffers).subarray(0, partial)], position);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return writevSync(fd, buffers as Uint8Array[], position);
    },
  };
  return { ops, failOn, calls: () => calls };
}

/** Record of 100 bytes whose first byte says how many signals it holds. */
function rec(seed: number, signals: number): Uint8Array {
  const p = payload(seed, 100);
  p[0] = signals;
  return p;
}

describe('disk cap and ENOSPC', () => {
  const dir = useQueueDir();
  const open = dir.open;
  const files = () => readdirSync(dir.path).sort();
  const openFile = () => join(dir.path, '0000000000000001.open');

  it('reject: the append over max_disk_bytes fails with ERR_DISK_FULL and writes nothing', async () => {
    const q = await open({ maxDiskBytes: 16 + 3 * 108, onDiskFull: 'reject' });
    for (let i = 0; i < 3; i++) await q.append(rec(i, 1), 1);
    assert.equal(q.stats().diskBytes, 340);
    await assert.rejects(q.append(rec(3, 1), 1), (err: unknown) => {
      assert.ok(err instanceof DiskFullError);
      assert.equal(err.code, 'ERR_DISK_FULL');
      return true;
    });
    assert.equal(statSync(openFile()).size, 340);
    assert.equal(q.stats().rejectedAppends, 1);
    assert.equal(q.stats().droppedSignals, 0);
  });

  it('drop_oldest: whole oldest segments go, dropped signals counted exactly', async () => {
    // 2 records per segment (5 signals each): a sealed segment is 16 + 2 * 108 = 232 bytes.
    const q = await open({ maxDiskBytes: 700, onDiskFull: 'drop_oldest', maxSignalsPerSegment: 10 });
    for (let i = 0; i < 6; i++) await q.append(rec(i, 5), 5);
    assert.equal(q.stats().diskBytes, 696);
    await q.append(rec(6, 5), 5); // needs 124 bytes: segment 1 is dropped
    assert.deepEqual(files(), ['0000000000000002.committed', '0000000000000003.committed', '0000000000000004.open']);
    assert.equal(q.stats().droppedSignals, 10);
    assert.deepEqual(q.stats().droppedSignalsByReason, { max_disk_bytes: 10, disk_full: 0 });
    assert.equal(q.stats().pendingSignals, 25);
    // Ack and release of the dropped segment are no-ops.
    q.ack(1, 0, 3);
    q.release(1);
    await settle();
    assert.equal(q.stats().segments, 3);
    assert.equal(files().includes('0000000000000001.acks'), false);
    assert.equal((await q.next())?.id, 2);
    assert.equal(q.stats().rejectedAppends, 0);
  });

  it('drop_oldest keeps a segment the reader holds (it is being delivered) and drops the next oldest', async () => {
    const q = await open({ maxDiskBytes: 700, onDiskFull: 'drop_oldest', maxSignalsPerSegment: 10 });
    for (let i = 0; i < 6; i++) await q.append(rec(i, 5), 5);
    const held = await q.next();
    assert.equal(held?.id, 1);
    await q.append(rec(6, 5), 5); // needs 124 bytes: segment 2 goes, not the held 1
    assert.deepEqual(files(), ['0000000000000001.committed', '0000000000000003.committed', '0000000000000004.open']);
    assert.equal(q.stats().droppedSignals, 10);
    // The held segment finishes as usual once its portions are delivered.
    q.ack(1, 0, 0);
    q.release(1);
    await q.deletions();
    assert.deepEqual(files(), ['0000000000000003.committed', '0000000000000004.open']);
    assert.equal(q.stats().pendingSignals, 15);
    assert.equal((await q.next())?.id, 3);
  });

  it('drop_oldest counts signals of segments from an earlier run with countSignals', async () => {
    const first = await open({ maxSignalsPerSegment: 14 });
    for (let i = 0; i < 4; i++) await first.append(rec(i, 7), 7);
    await first.close();
    const q = await open({
      maxDiskBytes: 2 * 232,
      onDiskFull: 'drop_oldest',
      countSignals: (p) => p[0],
    });
    assert.equal(q.stats().pendingSignals, 0); // not known until read
    await q.append(rec(9, 1), 1);
    assert.equal(q.stats().droppedSignals, 14);
    assert.equal(files()[0], '0000000000000002.committed');
  });

  it('drop_oldest seals and drops the open segment when it is all that is left', async () => {
    const q = await open({ maxDiskBytes: 16 + 3 * 108, onDiskFull: 'drop_oldest', maxSignalsPerSegment: 1000 });
    for (let i = 0; i < 3; i++) await q.append(rec(i, 2), 2);
    await q.append(rec(3, 2), 2);
    assert.deepEqual(files(), ['0000000000000002.open']);
    assert.equal(q.stats().droppedSignals, 6);
    await q.seal();
    assert.deepEqual((await q.next())?.records.map(bytes), [bytes(rec(3, 2))]);
  });

  it('a record bigger than the cap on its own is rejected without dropping anything', async () => {
    const q = await open({ maxDiskBytes: 200, onDiskFull: 'drop_oldest' });
    await q.append(rec(0, 1), 1);
    await assert.rejects(q.append(payload(1, 177), 1), DiskFullError);
    assert.equal(q.stats().droppedSignals, 0);
    assert.equal(q.stats().rejectedAppends, 1);
    assert.equal(statSync(openFile()).size, 124);
  });

  for (const partial of [0, 5, 50]) {
    it(`ENOSPC on a write (${partial} bytes got out) leaves no half record; appends work again after`, async () => {
      const inject = failingWrites(partial);
      const q = await open({ fileOps: inject.ops, onDiskFull: 'reject' });
      await q.append(rec(0, 1), 1);
      await q.append(rec(1, 1), 1);
      inject.failOn.add(inject.calls() + 1);
      await assert.rejects(q.append(rec(2, 1), 1), (err: unknown) => {
        assert.ok(err instanceof DiskFullError);
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOSPC');
        return true;
      });
      assert.equal(statSync(openFile()).size, 16 + 2 * 108);
      assert.equal(q.stats().rejectedAppends, 1);
      await q.append(rec(3, 1), 1);
      await q.seal();
      assert.deepEqual((await q.next())?.records.map(bytes), [rec(0, 1), rec(1, 1), rec(3, 1)].map(bytes));
    });
  }

  it('ENOSPC on the first record of a segment leaves an empty file, then recovers', async () => {
    const inject = failingWrites(10);
    inject.failOn.add(1);
    const q = await open({ fileOps: inject.ops });
    await assert.rejects(q.append(rec(0, 1), 1), DiskFullError);
    assert.equal(statSync(openFile()).size, 0);
    assert.equal(q.stats().segments, 0);
    assert.equal(q.stats().diskBytes, 0);
    await q.append(rec(1, 1), 1);
    await q.seal();
    assert.deepEqual((await q.next())?.records.map(bytes), [bytes(rec(1, 1))]);
  });

  it('ENOSPC under drop_oldest drops the oldest sealed segment and retries once', async () => {
    const inject = failingWrites(20);
    const q = await open({ fileOps: inject.ops, onDiskFull: 'drop_oldest', maxSignalsPerSegment: 6 });
    for (let i = 0; i < 4; i++) await q.append(rec(i, 3), 3); // segments 1 and 2 sealed
    inject.failOn.add(inject.calls() + 1);
    await q.append(rec(4, 3), 3);
    assert.equal(q.stats().droppedSignals, 6);
    assert.deepEqual(q.stats().droppedSignalsByReason, { max_disk_bytes: 0, disk_full: 6 });
    assert.equal(q.stats().rejectedAppends, 0);
    assert.deepEqual(files(), ['0000000000000002.committed', '0000000000000003.open']);
    // Fails twice in a row: one drop, one retry, then DiskFullError.
    inject.failOn.add(inject.calls() + 1);
    inject.failOn.add(inject.calls() + 2);
    await assert.rejects(q.append(rec(5, 3), 3), DiskFullError);
    assert.equal(q.stats().droppedSignals, 12);
    assert.equal(q.stats().rejectedAppends, 1);
    assert.deepEqual(files(), ['0000000000000003.open']);
    assert.equal(statSync(join(dir.path, '0000000000000003.open')).size, 16 + 108);
  });

  it('ENOSPC under drop_oldest with nothing to drop rejects', async () => {
    const inject = failingWrites();
    const q = await open({ fileOps: inject.ops, onDiskFull: 'drop_oldest' });
    await q.append(rec(0, 1), 1);
    inject.failOn.add(inject.calls() + 1);
    await assert.rejects(q.append(rec(1, 1), 1), DiskFullError);
    assert.equal(q.stats().droppedSignals, 0);
    assert.equal(statSync(openFile()).size, 124);
  });

  it('ENOSPC from fdatasync under always rejects the append with DiskFullError', async () => {
    const q = await open({
      fsync: 'always',
      fileOps: {
        fdatasync: async () => {
          throw Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' });
        },
        fsyncDir: async () => {},
      },
    });
    await assert.rejects(q.append(rec(0, 1), 1), DiskFullError);
  });
});
