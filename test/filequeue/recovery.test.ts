import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createFileQueue, type FileQueue } from '../../src/filequeue/index.js';
import { bytes, options, payload, tempDir } from './helpers.js';

const OPEN = '0000000000000001.open';
const COMMITTED = '0000000000000001.committed';

/** Writes `payloads` with the real writer and returns the bytes of the resulting `.open` file. */
async function segmentBytes(sizes: number[]): Promise<Buffer> {
  const dir = tempDir();
  try {
    const q = await createFileQueue(options(dir.path));
    for (const [i, size] of sizes.entries()) await q.append(payload(i, size), 1);
    await q.close();
    return readFileSync(join(dir.path, OPEN));
  } finally {
    dir.remove();
  }
}

describe('start-up recovery', () => {
  let dir: ReturnType<typeof tempDir>;
  const opened: FileQueue[] = [];
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close();
    dir.remove();
  });
  async function open(over: Parameters<typeof options>[1] = {}): Promise<FileQueue> {
    const q = await createFileQueue(options(dir.path, over));
    opened.push(q);
    return q;
  }

  it('a crash at every byte offset of the last record keeps exactly the whole records before it', async () => {
    const sizes = [40, 50, 60];
    const full = await segmentBytes(sizes);
    const lastStart = 16 + (8 + 40) + (8 + 50);
    assert.equal(full.length, lastStart + 8 + 60);
    for (let cut = lastStart; cut < full.length; cut++) {
      const d = tempDir();
      try {
        writeFileSync(join(d.path, OPEN), full.subarray(0, cut));
        const q = await createFileQueue(options(d.path));
        assert.deepEqual(readdirSync(d.path), [COMMITTED], `cut at ${cut}`);
        assert.equal(statSync(join(d.path, COMMITTED)).size, lastStart, `cut at ${cut}`);
        assert.equal(q.stats().truncatedTails, cut > lastStart ? 1 : 0, `cut at ${cut}`);
        const seg = await q.next();
        assert.deepEqual(seg?.records.map(bytes), [bytes(payload(0, 40)), bytes(payload(1, 50))], `cut at ${cut}`);
        assert.equal(seg?.corruptRecords, 0);
        await q.close();
      } finally {
        d.remove();
      }
    }
  });

  it('an .open whose first record is torn (or that has no record) is deleted', async () => {
    const full = await segmentBytes([30]);
    for (const cut of [0, 5, 16, 20, 24, 40, full.length - 1]) {
      const d = tempDir();
      try {
        writeFileSync(join(d.path, OPEN), full.subarray(0, cut));
        const q = await createFileQueue(options(d.path));
        assert.deepEqual(readdirSync(d.path), [], `cut at ${cut}`);
        assert.equal(q.stats().truncatedTails, cut === 0 || cut === 16 ? 0 : 1, `cut at ${cut}`);
        assert.equal(q.stats().segments, 0);
        await q.close();
      } finally {
        d.remove();
      }
    }
  });

  it('a last record whose CRC fails is cut as a torn tail; one in the middle is kept and read as null', async () => {
    const full = await segmentBytes([20, 20, 20]);
    const rec = (i: number) => 16 + i * 28;
    const lastBad = Buffer.from(full);
    lastBad[rec(2) + 8 + 3] ^= 0xff;
    writeFileSync(join(dir.path, OPEN), lastBad);
    const q = await open();
    assert.equal(q.stats().truncatedTails, 1);
    assert.equal(statSync(join(dir.path, COMMITTED)).size, rec(2));
    assert.equal((await q.next())?.records.length, 2);
    await q.close();
    dir.remove();

    dir = tempDir();
    const midBad = Buffer.from(full);
    midBad[rec(1) + 8] ^= 0x01;
    writeFileSync(join(dir.path, OPEN), midBad);
    const r = await open();
    assert.equal(r.stats().truncatedTails, 0);
    const seg = await r.next();
    assert.deepEqual(seg?.records.map(bytes), [bytes(payload(0, 20)), null, bytes(payload(2, 20))]);
    assert.equal(seg?.corruptRecords, 1);
    assert.equal(r.stats().corruptRecords, 1);
  });

  it('a flipped byte inside a committed record makes that record null and counted, the others read back', async () => {
    const full = await segmentBytes([64, 64, 64, 64]);
    const rec = (i: number) => 16 + i * 72;
    for (const [where, what] of [
      [rec(1) + 8 + 10, 'payload'],
      [rec(2) + 5, 'crc'],
    ] as const) {
      const d = tempDir();
      try {
        const bad = Buffer.from(full);
        bad[where] ^= 0x40;
        writeFileSync(join(d.path, COMMITTED), bad);
        const q = await createFileQueue(options(d.path));
        const seg = await q.next();
        const expected = [0, 1, 2, 3].map((i) => bytes(payload(i, 64)));
        expected[what === 'payload' ? 1 : 2] = null;
        assert.deepEqual(seg?.records.map(bytes), expected, what);
        assert.equal(seg?.corruptRecords, 1);
        assert.equal(q.stats().corruptRecords, 1);
        await q.close();
      } finally {
        d.remove();
      }
    }
  });

  it('a committed length pointing past the end loses only that record (the next one is found by resync)', async () => {
    const full = await segmentBytes([10, 10, 10]);
    full.writeUInt32LE(0xffffff00, 16 + 18);
    writeFileSync(join(dir.path, COMMITTED), full);
    const q = await open();
    const seg = await q.next();
    assert.deepEqual(seg?.records.map(bytes), [bytes(payload(0, 10)), null, bytes(payload(2, 10))]);
    assert.equal(seg?.corruptRecords, 1);
    assert.equal(q.stats().corruptRecords, 1);
  });

  it('a committed last length pointing past the end counts as one corrupt tail', async () => {
    const full = await segmentBytes([10, 10, 10]);
    full.writeUInt32LE(11, 16 + 2 * 18);
    writeFileSync(join(dir.path, COMMITTED), full);
    const q = await open();
    const seg = await q.next();
    assert.deepEqual(seg?.records.map(bytes), [bytes(payload(0, 10)), bytes(payload(1, 10))]);
    assert.equal(seg?.corruptRecords, 1);
    assert.equal(q.stats().corruptRecords, 1);
  });

  it('a damaged first length of an .open keeps (and does not cut) the records after it; indexes survive a restart', async () => {
    const full = await segmentBytes([30, 40, 50, 60]);
    full[16 + 3] ^= 0x80; // record 0's length += 2^31
    writeFileSync(join(dir.path, OPEN), full);
    const q = await open();
    assert.equal(q.stats().truncatedTails, 0);
    assert.deepEqual(readdirSync(dir.path), [COMMITTED]);
    assert.equal(statSync(join(dir.path, COMMITTED)).size, full.length);
    const want = [null, bytes(payload(1, 40)), bytes(payload(2, 50)), bytes(payload(3, 60))];
    const seg = await q.next();
    assert.deepEqual(seg?.records.map(bytes), want);
    assert.equal(seg?.corruptRecords, 1);
    q.ack(1, 2, 0);
    await q.close();
    opened.splice(0);
    const again = await open();
    const seg2 = await again.next();
    assert.deepEqual(seg2?.records.map(bytes), want);
    assert.deepEqual([...(seg2?.acked.keys() ?? [])], [2]);
  });

  it('an .open with a damaged length and a torn tail is cut after its last valid record only', async () => {
    const full = await segmentBytes([30, 40, 50]);
    const rec = (i: number) => 16 + [0, 38, 86][i]!;
    full[rec(1) + 1] ^= 0x04; // record 1's length += 1024: runs past the end
    const torn = full.subarray(0, full.length - 7); // and record 2 is torn
    writeFileSync(join(dir.path, OPEN), torn);
    const q = await open();
    assert.equal(q.stats().truncatedTails, 1);
    assert.equal(statSync(join(dir.path, COMMITTED)).size, rec(1));
    const seg = await q.next();
    assert.deepEqual(seg?.records.map(bytes), [bytes(payload(0, 30))]);
    assert.equal(seg?.corruptRecords, 0);
  });

  it('a committed segment with a bad header or unknown version is renamed .corrupt and skipped', async () => {
    const full = await segmentBytes([10, 10]);
    const badMagic = Buffer.from(full);
    badMagic[0] = 0x58;
    const newer = Buffer.from(full);
    newer[4] = 9;
    writeFileSync(join(dir.path, '0000000000000001.committed'), badMagic);
    writeFileSync(join(dir.path, '0000000000000002.committed'), newer);
    writeFileSync(join(dir.path, '0000000000000003.committed'), full);
    const q = await open();
    const seg = await q.next();
    assert.equal(seg?.id, 3);
    assert.equal(seg?.records.length, 2);
    // Two records each, counted as corrupt as best we can.
    assert.equal(q.stats().corruptRecords, 4);
    assert.deepEqual(readdirSync(dir.path).sort(), [
      '0000000000000001.corrupt',
      '0000000000000002.corrupt',
      '0000000000000003.committed',
    ]);
  });

  it('an .open with a bad header is renamed .corrupt at start-up', async () => {
    const full = await segmentBytes([10]);
    full[1] = 0;
    writeFileSync(join(dir.path, OPEN), full);
    const q = await open();
    assert.deepEqual(readdirSync(dir.path), ['0000000000000001.corrupt']);
    assert.equal(q.stats().corruptRecords, 1);
    assert.equal(q.stats().segments, 0);
  });

  it('start-up does not read committed segments (only stats them)', async () => {
    // Garbage named like a segment: start-up must not notice; next() finds out and skips it.
    writeFileSync(join(dir.path, COMMITTED), Buffer.alloc(4096, 0x41));
    writeFileSync(join(dir.path, '0000000000000002.committed'), await segmentBytes([10]));
    const q = await open();
    assert.equal(q.stats().segments, 2);
    assert.equal(q.stats().diskBytes, 4096 + 34);
    assert.equal(q.stats().corruptRecords, 0);
    assert.equal((await q.next())?.id, 2);
    assert.ok(q.stats().corruptRecords >= 1);
    assert.equal(q.stats().segments, 1);
  });
});
