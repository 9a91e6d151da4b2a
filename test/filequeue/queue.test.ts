import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClosedError } from '../../src/errors.js';
import { createFileQueue } from '../../src/filequeue/index.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { bytes, options, payload, settle, useQueueDir } from './helpers.js';

describe('FileQueue append, seal, next', () => {
  const dir = useQueueDir();
  const open = dir.open;

  it('seals at maxSignalsPerSegment signals and offers segments oldest first', async () => {
    const q = await open({ maxSignalsPerSegment: 10 });
    await q.append(payload(1), 4);
    await q.append(payload(2), 4);
    assert.deepEqual(readdirSync(dir.path), ['0000000000000001.open']);
    await q.append(payload(3), 2); // 10 signals: sealed
    await q.append(payload(4), 30); // one record over the limit: sealed alone
    await q.append(payload(5), 1);
    await q.seal();
    assert.deepEqual(readdirSync(dir.path).sort(), [
      '0000000000000001.committed',
      '0000000000000002.committed',
      '0000000000000003.committed',
    ]);
    const s1 = await q.next();
    const s2 = await q.next();
    const s3 = await q.next();
    assert.deepEqual(
      [s1, s2, s3].map((s) => s?.id),
      [1, 2, 3],
    );
    assert.deepEqual(s1?.records.map(bytes), [bytes(payload(1)), bytes(payload(2)), bytes(payload(3))]);
    assert.deepEqual(s2?.records.map(bytes), [bytes(payload(4))]);
    assert.deepEqual(s3?.records.map(bytes), [bytes(payload(5))]);
    assert.equal(s1?.corruptRecords, 0);
    assert.equal(s1?.compression, 1);
    assert.equal(s1?.acked.size, 0);
    const st = q.stats();
    assert.equal(st.segments, 3);
    assert.equal(st.pendingSignals, 41);
  });

  it('seals batchIntervalMs after the first record, on the injected clock', async () => {
    const clock = new SimulatedClock();
    const q = await open({ clock, batchIntervalMs: 5000 });
    await q.append(payload(1), 1);
    clock.advance(3000);
    await q.append(payload(2), 1); // the deadline counts from the first record, not the last
    clock.advance(1999);
    await settle();
    assert.deepEqual(readdirSync(dir.path), ['0000000000000001.open']);
    clock.advance(1);
    const seg = await q.next();
    assert.equal(seg?.id, 1);
    assert.equal(seg?.records.length, 2);
    assert.equal(clock.pending, 0);
    // A new segment gets its own deadline.
    await q.append(payload(3), 1);
    assert.equal(clock.pending, 1);
    clock.advance(5000);
    assert.equal((await q.next())?.id, 2);
  });

  it('next() waits for a segment, and resolves null on abort and on close', async () => {
    const q = await open();
    const waiting = q.next();
    await q.append(payload(1), 1);
    await q.seal();
    assert.equal((await waiting)?.id, 1);

    const ac = new AbortController();
    const aborted = q.next(ac.signal);
    ac.abort();
    assert.equal(await aborted, null);

    const closing = q.next();
    await q.close();
    assert.equal(await closing, null);
    assert.equal(await q.next(), null);
    await assert.rejects(q.append(payload(2), 1), ClosedError);
  });

  it('next() calls onWait only when it has to wait for a segment', async () => {
    const q = await open();
    await q.append(payload(1), 1);
    await q.seal();
    let waits = 0;
    const onWait = () => waits++;
    assert.equal((await q.next(undefined, onWait))?.id, 1);
    assert.equal(waits, 0, 'a segment was ready');
    const waiting = q.next(undefined, onWait);
    assert.equal(waits, 1, 'called before waiting');
    await q.append(payload(2), 1);
    await q.seal();
    assert.equal((await waiting)?.id, 2);
    assert.equal(waits, 1);
    await q.close();
  });

  it('seal() with no record does nothing; empty payloads are refused', async () => {
    const q = await open();
    await q.seal();
    assert.deepEqual(readdirSync(dir.path), []);
    await assert.rejects(q.append(new Uint8Array(0), 1), RangeError);
    assert.equal(q.stats().segments, 0);
  });

  it('reopen after a clean close yields exactly the records, the open segment sealed', async () => {
    const q = await open({ maxSignalsPerSegment: 2 });
    for (let i = 0; i < 5; i++) await q.append(payload(i), 1);
    await q.close();
    assert.deepEqual(readdirSync(dir.path).sort(), [
      '0000000000000001.committed',
      '0000000000000002.committed',
      '0000000000000003.open',
    ]);
    const r = await open();
    assert.equal(r.stats().segments, 3);
    assert.equal(r.stats().truncatedTails, 0);
    const got: (number[] | null)[] = [];
    for (let i = 0; i < 3; i++) got.push(...((await r.next())?.records.map(bytes) ?? []));
    assert.deepEqual(
      got,
      [0, 1, 2, 3, 4].map((i) => bytes(payload(i))),
    );
    // New segments continue after the highest id.
    await r.append(payload(9), 1);
    await r.seal();
    assert.equal((await r.next())?.id, 4);
  });

  it('reopen after an unclean stop (no close) yields exactly the written records', async () => {
    const q = await createFileQueue(options(dir.path, { fsync: 'always', maxSignalsPerSegment: 3 }));
    for (let i = 0; i < 7; i++) await q.append(payload(i, 100 + i), 1);
    // No close: the process "dies" here.
    const r = await open();
    const got: (number[] | null)[] = [];
    for (let i = 0; i < 3; i++) got.push(...((await r.next())?.records.map(bytes) ?? []));
    assert.deepEqual(
      got,
      [0, 1, 2, 3, 4, 5, 6].map((i) => bytes(payload(i, 100 + i))),
    );
    assert.equal(r.stats().truncatedTails, 0);
    assert.equal(r.stats().corruptRecords, 0);
  });

  it('stats count bytes of segments and the open segment', async () => {
    const q = await open();
    await q.append(payload(1, 100), 3);
    // 16-byte header + 8-byte record header + 100
    assert.equal(q.stats().diskBytes, 124);
    assert.equal(q.stats().segments, 1);
    assert.equal(q.stats().pendingSignals, 3);
    await q.seal();
    assert.equal(q.stats().diskBytes, 124);
    const seg = await q.next();
    assert.ok(seg);
    q.release(seg.id);
    assert.deepEqual(q.stats(), {
      segments: 0,
      diskBytes: 0,
      maxDiskBytes: 0,
      pendingSignals: 0,
      corruptRecords: 0,
      truncatedTails: 0,
      droppedSignals: 0,
      droppedSignalsByReason: { max_disk_bytes: 0, disk_full: 0 },
      rejectedAppends: 0,
      fsyncs: 0,
      fsyncSeconds: 0,
    });
    // A released segment's files are deleted off the event loop.
    await q.deletions();
    assert.deepEqual(readdirSync(dir.path), []);
  });

  it('leaves foreign files alone and ids skip past every queue file', async () => {
    writeFileSync(join(dir.path, 'README'), 'hello');
    writeFileSync(join(dir.path, '12.corrupt'), 'junk');
    writeFileSync(join(dir.path, '0000000000000007.committed.bak'), 'x');
    const q = await open();
    await q.append(payload(1), 1);
    await q.seal();
    assert.equal((await q.next())?.id, 13);
    q.release(13);
    await q.close();
    assert.deepEqual(readdirSync(dir.path).sort(), ['0000000000000007.committed.bak', '12.corrupt', 'README']);
  });
});
