import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SegmentMirror } from '../../src/filequeue/segment-mirror.js';
import { bytes, payload, useQueueDir } from './helpers.js';

/** Flips one byte of every record payload in a committed segment file (header 16, frame 8). */
function damageFile(path: string): void {
  const buf = readFileSync(path);
  let at = 16;
  while (at + 8 <= buf.length) {
    const len = buf.readUInt32LE(at);
    buf[at + 8] ^= 0xff;
    at += 8 + len;
  }
  writeFileSync(path, buf);
}

const committed = (dir: string, id: number) => join(dir, `${String(id).padStart(16, '0')}.committed`);

describe('FileQueue: segments handed to the reader from memory', () => {
  const dir = useQueueDir();

  it('a segment this process wrote comes back as appended without reading its file', async () => {
    const q = await dir.open({ maxSignalsPerSegment: 10 });
    const reused = payload(1, 300);
    await q.append(reused, 5);
    // The caller reuses its buffer: the queue must have copied the record.
    reused.fill(0);
    await q.append(payload(2, 70_000), 5); // sealed; the mirror grows past its first size
    damageFile(committed(dir.path, 1));
    const s = await q.next();
    assert.deepEqual(s?.records.map(bytes), [bytes(payload(1, 300)), bytes(payload(2, 70_000))]);
    assert.equal(s?.corruptRecords, 0);
    assert.equal(q.stats().corruptRecords, 0);
    // One buffer of its own for all records, so a delivery worker can take it without a copy.
    assert.equal(s?.records[0]?.buffer, s?.records[1]?.buffer);
    assert.ok((s?.records[0]?.buffer.byteLength ?? 0) > Buffer.poolSize);
  });

  it('maxMirroredBytes 0 reads every segment from its file (a damaged file shows)', async () => {
    const q = await dir.open({ maxSignalsPerSegment: 10, maxMirroredBytes: 0 });
    await q.append(payload(1), 10);
    damageFile(committed(dir.path, 1));
    const s = await q.next();
    assert.deepEqual(s?.records, [null]);
    assert.equal(s?.corruptRecords, 1);
  });

  it('a segment opened while sealed ones wait for the reader is read from its file', async () => {
    const q = await dir.open({ maxSignalsPerSegment: 1 });
    await q.append(payload(1, 100), 1); // segment 1: the reader keeps up (nothing waiting)
    await q.append(payload(2, 100), 1); // segment 2: opened while segment 1 waits
    damageFile(committed(dir.path, 1));
    damageFile(committed(dir.path, 2));
    const s1 = await q.next();
    const s2 = await q.next();
    assert.deepEqual(s1?.records.map(bytes), [bytes(payload(1, 100))]);
    assert.deepEqual(s2?.records, [null]);
    assert.equal(q.stats().corruptRecords, 1);
    // Caught up again: segment 3 is kept in memory.
    await q.append(payload(3, 100), 1);
    damageFile(committed(dir.path, 3));
    const s3 = await q.next();
    assert.deepEqual(s3?.records.map(bytes), [bytes(payload(3, 100))]);
  });

  it('a segment larger than maxMirroredBytes is read from its file', async () => {
    const q = await dir.open({ maxSignalsPerSegment: 2, maxMirroredBytes: 150 });
    await q.append(payload(1, 100), 1);
    await q.append(payload(2, 100), 1); // 200 bytes: past the bound, sealed
    damageFile(committed(dir.path, 1));
    const s = await q.next();
    assert.deepEqual(s?.records, [null, null]);
  });
});

describe('SegmentMirror', () => {
  it('refuses a record past its bound and keeps the ones before', () => {
    const m = new SegmentMirror(4, 10);
    assert.equal(m.add(Uint8Array.of(1, 2, 3)), true);
    assert.equal(m.add(Uint8Array.of(4, 5, 6, 7, 8)), true);
    assert.equal(m.add(Uint8Array.of(9, 9, 9)), false);
    assert.equal(m.bytes, 8);
    assert.deepEqual(m.records().map(bytes), [
      [1, 2, 3],
      [4, 5, 6, 7, 8],
    ]);
  });
});

describe('FileQueue: mirror buffers reused', () => {
  const dir = useQueueDir();

  it("a released segment's mirror buffer holds a later segment, never one still held by the reader", async () => {
    const q = await dir.open({ maxSignalsPerSegment: 2 });
    await q.append(payload(1, 1000), 1);
    await q.append(payload(2, 1000), 1); // segment 1 sealed
    const s1 = await q.next();
    assert.ok(s1);
    const first = s1.records[0]?.buffer;
    // Segment 2 is written while the reader holds segment 1: another buffer, segment 1 intact.
    await q.append(payload(3, 1000), 1);
    await q.append(payload(4, 1000), 1);
    const s2 = await q.next();
    assert.ok(s2);
    assert.notEqual(s2.records[0]?.buffer, first);
    assert.deepEqual(s1.records.map(bytes), [bytes(payload(1, 1000)), bytes(payload(2, 1000))]);
    q.release(s1.id);
    // Segment 3 takes segment 1's buffer back, and holds exactly its own records.
    await q.append(payload(5, 700), 1);
    await q.append(payload(6, 900), 1);
    const s3 = await q.next();
    assert.ok(s3);
    assert.equal(s3.records[0]?.buffer, first);
    assert.deepEqual(s3.records.map(bytes), [bytes(payload(5, 700)), bytes(payload(6, 900))]);
    assert.deepEqual(s2.records.map(bytes), [bytes(payload(3, 1000)), bytes(payload(4, 1000))]);
  });

  it('a segment handed out but never released keeps its buffer', async () => {
    const q = await dir.open({ maxSignalsPerSegment: 1 });
    const held: Uint8Array[][] = [];
    for (let i = 1; i <= 4; i++) {
      await q.append(payload(i, 500), 1);
      const s = await q.next();
      assert.ok(s);
      held.push(s.records as Uint8Array[]);
    }
    assert.equal(new Set(held.map((r) => r[0].buffer)).size, 4, 'four buffers: none was reused');
    assert.deepEqual(
      held.map((r) => bytes(r[0])),
      [1, 2, 3, 4].map((i) => bytes(payload(i, 500))),
    );
  });
});

describe('FileQueue: segments read back from their files into reused buffers', () => {
  const dir = useQueueDir();

  it("a segment read from its file lends its buffer until released, then a later segment's records lie in it", async () => {
    const q = await dir.open({ maxSignalsPerSegment: 1 });
    await q.append(payload(1, 400), 1); // segment 1: mirrored
    await q.append(payload(2, 400), 1); // segment 2: opened while segment 1 waits, so read from its file
    const s1 = await q.next();
    const s2 = await q.next();
    assert.ok(s1 && s2);
    assert.deepEqual(s2.records.map(bytes), [bytes(payload(2, 400))]);
    const fileBuffer = s2.records[0]?.buffer;
    assert.notEqual(fileBuffer, s1.records[0]?.buffer);
    // Not released yet: segment 3 goes elsewhere, and segment 2 still reads as written.
    await q.append(payload(3, 400), 1);
    const s3 = await q.next();
    assert.ok(s3);
    assert.notEqual(s3.records[0]?.buffer, fileBuffer);
    assert.deepEqual(s2.records.map(bytes), [bytes(payload(2, 400))]);
    q.release(s1.id);
    q.release(s2.id);
    q.release(s3.id);
    // The released buffers (segment 1's mirror, segment 2's file read, segment 3's mirror) are
    // reused; two are kept, and each later segment holds exactly its own record.
    const later: (number[] | null)[] = [];
    const buffers: ArrayBufferLike[] = [];
    for (let i = 4; i <= 6; i++) {
      await q.append(payload(i, 300 + i), 1);
      const s = await q.next();
      assert.ok(s);
      // Read before the release: after it, the buffer holds the next segment.
      later.push(bytes(s.records[0]));
      buffers.push((s.records[0] as Uint8Array).buffer);
      q.release(s.id);
    }
    assert.deepEqual(
      later,
      [4, 5, 6].map((i) => bytes(payload(i, 300 + i))),
    );
    assert.ok(buffers.includes(fileBuffer as ArrayBufferLike), "segment 2's buffer came back");
  });
});
