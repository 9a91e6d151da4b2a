import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FileQueue, Segment } from '../../src/filequeue/index.js';
import { payload, settle, useQueueDir } from './helpers.js';

const ACKS = '0000000000000001.acks';

function ackedAsObject(seg: Segment | null): Record<number, number[]> {
  const out: Record<number, number[]> = {};
  for (const [record, portions] of seg?.acked ?? []) out[record] = [...portions].sort((a, b) => a - b);
  return out;
}

describe('acks and release', () => {
  const dir = useQueueDir();
  const open = dir.open;
  async function withOneSegment(): Promise<FileQueue> {
    const q = await open();
    for (let i = 0; i < 3; i++) await q.append(payload(i), 1);
    await q.seal();
    return q;
  }

  it('acks are batched into <id>.acks and reloaded after reopen', async () => {
    const q = await withOneSegment();
    const seg = await q.next();
    assert.ok(seg);
    const before = q.stats().diskBytes;
    q.ack(seg.id, 0, 3);
    q.ack(seg.id, 0, 200);
    q.ack(seg.id, 2, 0);
    await settle();
    // 8-byte header + 3 entries of 8 bytes, written in one go.
    assert.equal(statSync(join(dir.path, ACKS)).size, 32);
    assert.equal(q.stats().diskBytes, before + 32);
    await q.close();

    const r = await open();
    assert.equal(r.stats().diskBytes, before + 32);
    const again = await r.next();
    assert.deepEqual(ackedAsObject(again), { 0: [3, 200], 2: [0] });
    r.ack(1, 1, 255);
    await r.close();
    const r2 = await open();
    assert.deepEqual(ackedAsObject(await r2.next()), { 0: [3, 200], 1: [255], 2: [0] });
  });

  it('a torn or damaged ack entry is skipped; later acks stay readable', async () => {
    const q = await withOneSegment();
    await q.next();
    q.ack(1, 0, 1);
    q.ack(1, 1, 1);
    await q.close();
    const path = join(dir.path, ACKS);
    const buf = readFileSync(path);
    buf[8] ^= 0x10; // first entry's record index
    writeFileSync(path, buf);
    appendFileSync(path, Buffer.from([1, 2, 3])); // a torn entry from a crash
    const r = await open();
    assert.deepEqual(ackedAsObject(await r.next()), { 1: [1] });
    r.ack(1, 2, 9);
    await r.close();
    assert.equal(statSync(path).size, 8 + 3 * 8);
    const r2 = await open();
    assert.deepEqual(ackedAsObject(await r2.next()), { 1: [1], 2: [9] });
  });

  it('release deletes the segment and its acks; unknown ids are no-ops', async () => {
    const q = await withOneSegment();
    const seg = await q.next();
    assert.ok(seg);
    q.ack(seg.id, 0, 0);
    await settle();
    assert.deepEqual(readdirSync(dir.path).sort(), ['0000000000000001.acks', '0000000000000001.committed']);
    q.release(seg.id);
    await q.deletions();
    assert.deepEqual(readdirSync(dir.path), []);
    assert.equal(q.stats().diskBytes, 0);
    assert.equal(q.stats().segments, 0);
    q.release(seg.id);
    q.release(99);
    q.ack(seg.id, 1, 1);
    q.ack(99, 1, 1);
    await settle();
    assert.deepEqual(readdirSync(dir.path), []);
  });

  it('rejects portions outside 0..255', async () => {
    const q = await withOneSegment();
    await q.next();
    assert.throws(() => q.ack(1, 0, 256), RangeError);
    assert.throws(() => q.ack(1, -1, 0), RangeError);
    assert.throws(() => q.ack(1, 0, 1.5), RangeError);
  });

  it('acks of the open segment are no-ops; orphan ack files are removed at start-up', async () => {
    const q = await open();
    await q.append(payload(1), 1);
    q.ack(1, 0, 0);
    await settle();
    assert.equal(existsSync(join(dir.path, ACKS)), false);
    await q.close();
    writeFileSync(join(dir.path, '0000000000000007.acks'), Buffer.alloc(16));
    await open();
    assert.deepEqual(readdirSync(dir.path), ['0000000000000001.committed']);
  });
});
