import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseQueueFileName, queueFileName } from '../../src/filequeue/file-names.js';
import {
  checkSegmentHeader,
  encodeSegmentHeader,
  parseRecords,
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
