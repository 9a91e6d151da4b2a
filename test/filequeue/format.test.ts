import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseQueueFileName, queueFileName } from '../../src/filequeue/file-names.js';
import {
  checkSegmentHeader,
  encodeRecordHeader,
  encodeSegmentHeader,
  parseRecords,
  RESYNC_CRC_BASE_BYTES,
  RESYNC_CRC_FACTOR,
  SEGMENT_HEADER_BYTES,
} from '../../src/filequeue/format.js';
import { createFileQueue } from '../../src/filequeue/index.js';
import { bytes, options, tempDir } from './helpers.js';

const GOLDEN = new URL('../../../test/fixtures/segments/v1-golden.committed', import.meta.url);
const GOLDEN_PAYLOADS = [
  new TextEncoder().encode('promspool golden record 0'),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 255),
];

describe('segment format v1', () => {
  it('header is magic PSQS, version 1, compression, zero reserved bytes', () => {
    assert.equal(encodeSegmentHeader(1).toString('hex'), '50535153010100000000000000000000');
    assert.equal(encodeSegmentHeader(7)[5], 7);
    assert.throws(() => encodeSegmentHeader(256), RangeError);
    assert.deepEqual(checkSegmentHeader(encodeSegmentHeader(3)), { ok: true, header: { version: 1, compression: 3 } });
    const v2 = encodeSegmentHeader(1);
    v2[4] = 2;
    assert.deepEqual(checkSegmentHeader(v2), {
      ok: false,
      reason: 'unknown format version 2 (this build reads 1..1)',
    });
    assert.equal(checkSegmentHeader(Buffer.from('PSQ')).ok, false);
    assert.equal(checkSegmentHeader(Buffer.alloc(16)).ok, false);
  });

  it('file names are zero-padded ids that sort like the ids; short ids still parse', () => {
    assert.equal(queueFileName(42, 'committed'), '0000000000000042.committed');
    assert.deepEqual(parseQueueFileName('0000000000000042.acks'), { id: 42, kind: 'acks' });
    assert.deepEqual(parseQueueFileName('7.open'), { id: 7, kind: 'open' });
    assert.equal(parseQueueFileName('7.open.tmp'), undefined);
    assert.equal(parseQueueFileName('x7.open'), undefined);
    assert.equal(parseQueueFileName('12345678901234567.open'), undefined);
  });

  it('a zero length ends framing as a torn tail (zero-filled space is not records)', () => {
    const buf = Buffer.concat([encodeSegmentHeader(1), Buffer.alloc(64)]);
    const parsed = parseRecords(buf);
    assert.equal(parsed.records.length, 0);
    assert.equal(parsed.tornTail, true);
    assert.equal(parsed.validEnd, SEGMENT_HEADER_BYTES);
  });
});

/** A segment of records whose payloads are `sizes` bytes of a pattern unique to each record. */
function segment(sizes: number[]): { buf: Buffer; starts: number[]; payloads: Buffer[] } {
  const parts: Buffer[] = [encodeSegmentHeader(1)];
  const starts: number[] = [];
  const payloads: Buffer[] = [];
  let at = SEGMENT_HEADER_BYTES;
  for (const [i, size] of sizes.entries()) {
    const p = Buffer.from(Uint8Array.from({ length: size }, (_, k) => (k * 7 + i * 53 + 1) & 255));
    const h = Buffer.alloc(8);
    encodeRecordHeader(p, h);
    parts.push(h, p);
    starts.push(at);
    payloads.push(p);
    at += 8 + size;
  }
  return { buf: Buffer.concat(parts), starts, payloads };
}

describe('resynchronisation after a damaged record', () => {
  const sizes = [40, 50, 60, 70, 80];

  it('a length pointing past the end loses only that record: one null, indexes of the rest unchanged', () => {
    const { buf, starts, payloads } = segment(sizes);
    buf.writeUInt32LE(0xfffffff0, starts[1]!);
    const parsed = parseRecords(buf);
    assert.deepEqual(parsed.records.map(bytes), [payloads[0], null, payloads[2], payloads[3], payloads[4]].map(bytes));
    assert.equal(parsed.crcFailures, 1);
    assert.equal(parsed.resyncs, 1);
    assert.equal(parsed.tornTail, false);
    assert.equal(parsed.validEnd, buf.length);
  });

  it('a length shortened into its own payload skips the damaged region as ONE null record', () => {
    const { buf, starts, payloads } = segment(sizes);
    buf.writeUInt32LE(13, starts[0]!);
    const parsed = parseRecords(buf);
    assert.deepEqual(parsed.records.map(bytes), [null, ...payloads.slice(1)].map(bytes));
    assert.equal(parsed.resyncs, 1);
  });

  it('a zero length in the middle is skipped, not the end of the records', () => {
    const { buf, starts, payloads } = segment(sizes);
    buf.fill(0, starts[2]!, starts[2]! + 20);
    const parsed = parseRecords(buf);
    assert.deepEqual(parsed.records.map(bytes), [payloads[0], payloads[1], null, payloads[3], payloads[4]].map(bytes));
  });

  it('damaged payloads with intact lengths keep one null per record (framing followed, no resync)', () => {
    const { buf, starts, payloads } = segment(sizes);
    buf[starts[1]! + 8 + 5]! ^= 0xff;
    buf[starts[2]! + 8 + 5]! ^= 0xff;
    buf[starts[4]! + 8 + 5]! ^= 0xff;
    const parsed = parseRecords(buf);
    assert.deepEqual(parsed.records.map(bytes), [payloads[0], null, null, payloads[3], null].map(bytes));
    assert.equal(parsed.crcFailures, 3);
    assert.equal(parsed.resyncs, 0);
    assert.equal(parsed.tornTail, false);
    assert.equal(parsed.validEnd, starts[4]);
    assert.equal(parsed.recordsToValidEnd, 4);
  });

  it('damage with no valid record after it is a torn tail, not a record', () => {
    const { buf, starts, payloads } = segment(sizes);
    buf.writeUInt32LE(0x7fffffff, starts[3]!);
    buf[starts[4]! + 8]! ^= 0x01;
    const parsed = parseRecords(buf);
    assert.deepEqual(parsed.records.map(bytes), payloads.slice(0, 3).map(bytes));
    assert.equal(parsed.tornTail, true);
    assert.equal(parsed.framedEnd, starts[3]);
    assert.equal(parsed.validEnd, starts[3]);
  });

  it('a damaged last payload followed by garbage is a null record plus a torn tail', () => {
    const { buf, starts, payloads } = segment(sizes);
    buf[starts[4]! + 8 + 1]! ^= 0x01;
    const parsed = parseRecords(Buffer.concat([buf, Buffer.from([0xee, 0xee, 0xee, 0x7e, 1, 2, 3])]));
    assert.deepEqual(parsed.records.map(bytes), [...payloads.slice(0, 4), null].map(bytes));
    assert.equal(parsed.crcFailures, 1);
    assert.equal(parsed.framedEnd, buf.length);
    assert.equal(parsed.tornTail, true);
    assert.equal(parsed.validEnd, starts[4]);
  });

  it('the same bytes give the same records, and cutting after the last valid record changes none of them', () => {
    const { buf, starts } = segment([...sizes, 30, 30, 30]);
    buf.writeUInt32LE(0x00010000 + 40, starts[0]!);
    buf.fill(0x5a, starts[3]! + 2, starts[4]! + 3);
    buf[starts[6]! + 9]! ^= 0x10;
    const torn = Buffer.concat([buf, Buffer.from([9, 0, 0, 0, 1, 2])]);
    const a = parseRecords(torn);
    const b = parseRecords(Buffer.from(torn));
    assert.deepEqual(a.records.map(bytes), b.records.map(bytes));
    assert.equal(a.tornTail, true);
    const cut = parseRecords(torn.subarray(0, a.validEnd));
    assert.deepEqual(cut.records.map(bytes), a.records.slice(0, a.recordsToValidEnd).map(bytes));
    assert.equal(cut.tornTail, false);
    // 0: null (length), 1, 2, null (3 and 4 smashed), 5, null (6 payload), 7.
    assert.deepEqual(
      a.records.map((r) => r !== null),
      [false, true, true, false, true, false, true],
    );
  });

  it('bytes crafted so that every offset looks like a record stop at the CRC work bound', () => {
    // u32 at offsets 0 and 3 mod 4 are 257 and 65792: both "fit", none has a matching CRC.
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i += 4) body.set([1, 1, 0, 0], i);
    const { buf: good } = segment([100]);
    const buf = Buffer.concat([encodeSegmentHeader(1), body, good.subarray(SEGMENT_HEADER_BYTES)]);
    const started = process.hrtime.bigint();
    const parsed = parseRecords(buf);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(parsed.resyncBudgetExhausted, true);
    assert.equal(parsed.tornTail, true);
    // The first frame (length 257) is framed, as one CRC failure; its end frames nothing, and the
    // search from there stops at the bound: the rest, valid record included, is the torn tail.
    assert.deepEqual(parsed.records, [null]);
    assert.equal(parsed.framedEnd, SEGMENT_HEADER_BYTES + 8 + 257);
    assert.equal(parsed.validEnd, SEGMENT_HEADER_BYTES);
    assert.ok(parsed.crcBytes <= RESYNC_CRC_FACTOR * (buf.length - SEGMENT_HEADER_BYTES) + RESYNC_CRC_BASE_BYTES);
    // Unbounded, this input costs about 17 GB of CRC.
    assert.ok(ms < 2_000, `took ${ms} ms`);
  });

  it('random garbage between records is skipped cheaply, in one pass', () => {
    const { buf, payloads } = segment([100, 100]);
    const garbage = Buffer.from(Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 2654435761) >>> 24));
    const mixed = Buffer.concat([buf.subarray(0, 16 + 108), garbage, buf.subarray(16 + 108)]);
    const parsed = parseRecords(mixed);
    assert.deepEqual(parsed.records.map(bytes), [payloads[0], null, payloads[1]].map(bytes));
    assert.equal(parsed.resyncBudgetExhausted, false);
    assert.ok(parsed.crcBytes < 4 * mixed.length, `crcBytes ${parsed.crcBytes}`);
  });
});

describe('golden file v1-golden.committed (must read back byte-exact forever)', () => {
  it('has the exact bytes it was written with', () => {
    const buf = readFileSync(GOLDEN);
    assert.equal(buf.length, 1321);
    assert.equal(
      createHash('sha256').update(buf).digest('hex'),
      'a60d1cb494eaa7456b608b284bbb14925434f558e8dc8ab80b35003e623c0558',
    );
    // First record header, by hand: length 25, crc32("promspool golden record 0") = 0x1ebadce7.
    assert.equal(buf.subarray(16, 24).toString('hex'), '19000000e7dcba1e');
  });

  it('parses to the fixed payloads', () => {
    const buf = readFileSync(GOLDEN);
    assert.deepEqual(checkSegmentHeader(buf), { ok: true, header: { version: 1, compression: 1 } });
    const parsed = parseRecords(buf);
    assert.equal(parsed.tornTail, false);
    assert.equal(parsed.crcFailures, 0);
    assert.deepEqual(parsed.records.map(bytes), GOLDEN_PAYLOADS.map(bytes));
  });

  it('a queue opened on it hands out the fixed payloads', async () => {
    const dir = tempDir();
    try {
      copyFileSync(GOLDEN, join(dir.path, '0000000000000001.committed'));
      const q = await createFileQueue(options(dir.path));
      const seg = await q.next();
      assert.equal(seg?.id, 1);
      assert.equal(seg?.compression, 1);
      assert.equal(seg?.corruptRecords, 0);
      assert.deepEqual(seg?.records.map(bytes), GOLDEN_PAYLOADS.map(bytes));
      await q.close();
    } finally {
      dir.remove();
    }
  });

  it('the current writer still produces exactly these bytes for version 1', async () => {
    const dir = tempDir();
    try {
      const q = await createFileQueue(options(dir.path, { compression: 1 }));
      for (const [i, p] of GOLDEN_PAYLOADS.entries()) await q.append(p, i + 1);
      await q.seal();
      await q.close();
      assert.deepEqual(readdirSync(dir.path), ['0000000000000001.committed']);
      assert.ok(readFileSync(join(dir.path, '0000000000000001.committed')).equals(readFileSync(GOLDEN)));
    } finally {
      dir.remove();
    }
  });
});
