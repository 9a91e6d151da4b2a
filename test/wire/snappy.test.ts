import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uncompressSync } from 'snappy';
import { PromspoolError } from '../../src/errors.js';
import {
  compressBlock,
  joinSnappyElements,
  type SnappyElements,
  snappyHeaderBytes,
  snappyHeaderLength,
  snappyUncompressedLength,
  uncompressBlock,
} from '../../src/wire/snappy.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PromspoolError, `not a PromspoolError: ${err}`);
    return err.code;
  }
  return 'no error';
}

describe('snappy block', () => {
  it('round-trips and interoperates with the snappy package', () => {
    const input = Buffer.from('remote write '.repeat(1000));
    const packed = compressBlock(input);
    assert.ok(packed.length < input.length / 5);
    assert.deepEqual(uncompressBlock(packed, input.length), input);
    assert.deepEqual(uncompressSync(packed, { asBuffer: true }), input);
    assert.equal(snappyUncompressedLength(packed), input.length);
    assert.deepEqual(uncompressBlock(compressBlock(Buffer.alloc(0)), 0), Buffer.alloc(0));
  });

  it('rejects a 20-byte body claiming 1 GiB before allocating anything', () => {
    // varint(2^30) = 80 80 80 80 04, then garbage literal tags.
    const body = Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04]), Buffer.alloc(15, 0x00)]);
    assert.equal(body.length, 20);
    assert.equal(snappyUncompressedLength(body), 2 ** 30);
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(
      () => uncompressBlock(body, 32 * 1024 * 1024),
      (err: unknown) =>
        err instanceof PromspoolError &&
        err.code === 'ERR_BODY_TOO_LARGE' &&
        err.message === 'snappy block would uncompress to 1073741824 bytes, more than the limit of 33554432',
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  });

  it('refuses a block claiming more than snappy can expand to, even under maxBytes', () => {
    // 20 bytes claiming 30 MiB (varint 80 80 80 0f = 15 * 2^21): under a 32 MiB limit, but no 20-byte block holds that.
    const body = Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x0f]), Buffer.alloc(16, 0x00)]);
    assert.equal(snappyUncompressedLength(body), 30 * 2 ** 20);
    assert.equal(
      code(() => uncompressBlock(body, 32 * 2 ** 20)),
      'ERR_BAD_SNAPPY',
    );
    // The most compressible input there is (zeros, ~21.3x) still passes the bound.
    const zeros = Buffer.alloc(2 ** 20);
    assert.equal(uncompressBlock(compressBlock(zeros), 2 ** 21).length, 2 ** 20);
  });

  it('applies the limit exactly at maxBytes', () => {
    const packed = compressBlock(Buffer.alloc(100, 7));
    assert.equal(uncompressBlock(packed, 100).length, 100);
    assert.equal(
      code(() => uncompressBlock(packed, 99)),
      'ERR_BODY_TOO_LARGE',
    );
  });

  it('rejects malformed input with ERR_BAD_SNAPPY, never crashing', () => {
    assert.equal(
      code(() => uncompressBlock(Buffer.alloc(0), 100)),
      'ERR_BAD_SNAPPY',
    );
    assert.equal(
      code(() => uncompressBlock(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 100)),
      'ERR_BAD_SNAPPY',
    );
    assert.equal(
      code(() => uncompressBlock(Buffer.from([0x0a, 0x01, 0x02]), 100)),
      'ERR_BAD_SNAPPY',
    );
    const packed = compressBlock(Buffer.from('abcdefgh'.repeat(50)));
    assert.equal(
      code(() => uncompressBlock(packed.subarray(0, packed.length - 4), 1000)),
      'ERR_BAD_SNAPPY',
    );
    // Random bodies: whatever they claim, only our two codes may come out.
    let seed = 42;
    for (let i = 0; i < 500; i++) {
      const b = Buffer.alloc(1 + (i % 40));
      for (let j = 0; j < b.length; j++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        b[j] = seed >>> 24;
      }
      const c = code(() => uncompressBlock(b, 4096));
      assert.ok(['ERR_BAD_SNAPPY', 'ERR_BODY_TOO_LARGE', 'no error'].includes(c), c);
    }
  });
});

/** A whole snappy block's elements: everything after its header. */
function elementsOf(block: Uint8Array, rawLength: number): SnappyElements {
  const start = snappyHeaderBytes(block);
  assert.ok(start > 0);
  return { bytes: block, start, end: block.length, rawLength };
}

/** Deterministic pseudo-random bytes (incompressible: snappy writes them as literals). */
function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

/** The varint of `v` as a snappy header writes it, computed here. */
function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

describe('joinSnappyElements', () => {
  it('joins independently compressed blocks into one that uncompresses to their concatenation', () => {
    const raws = [
      randomBytes(5000, 1),
      Buffer.from('remote write '.repeat(700)), // copies reaching back inside its own output
      Buffer.alloc(0),
      Buffer.alloc(70_000, 7), // long runs of copies, over 64 KiB (more than one snappy fragment)
      randomBytes(3, 2),
      Buffer.from('abcabcabcabd'.repeat(20)),
    ];
    const parts: SnappyElements[] = raws.map((r) => elementsOf(compressBlock(r), r.length));
    // Empty parts as the writer makes them (no bytes at all), at the start, in the middle and at the end.
    const none: SnappyElements = { bytes: new Uint8Array(0), start: 0, end: 0, rawLength: 0 };
    const all = [none, ...parts.slice(0, 3), none, ...parts.slice(3), none];
    const expected = Buffer.concat(raws);
    const joined = joinSnappyElements(all);
    assert.deepEqual(uncompressBlock(joined, 1 << 20), expected);
    assert.deepEqual(uncompressSync(joined, { asBuffer: true }), expected, 'the snappy package reads it too');
    assert.equal(snappyUncompressedLength(joined), expected.length);
    const size = parts.reduce((a, p) => a + p.end - p.start, 0);
    assert.equal(joined.length, snappyHeaderLength(expected.length) + size, 'no byte added but the header');

    // Every part alone, and every prefix by `count`.
    for (let i = 0; i < all.length; i++) {
      assert.deepEqual(
        uncompressBlock(joinSnappyElements([all[i]]), 1 << 20),
        Buffer.concat(all[i] === none ? [] : [raws[parts.indexOf(all[i])]]),
        `part ${i} alone`,
      );
      const prefix = all.slice(0, i + 1);
      const want = Buffer.concat(prefix.filter((p) => p !== none).map((p) => raws[parts.indexOf(p)]));
      assert.deepEqual(uncompressBlock(joinSnappyElements(all, i + 1), 1 << 20), want, `first ${i + 1} parts`);
    }
    // Reordered parts give the reordered concatenation.
    const reversed = [...parts].reverse();
    assert.deepEqual(uncompressBlock(joinSnappyElements(reversed), 1 << 20), Buffer.concat([...raws].reverse()));
  });

  it('reads only bytes[start, end) of each part', () => {
    const a = Buffer.from('first part, '.repeat(30));
    const b = randomBytes(200, 9);
    const ca = compressBlock(a);
    const cb = compressBlock(b);
    // Both blocks' elements inside one larger buffer, with junk around them and their headers left out.
    const junk = Buffer.alloc(17, 0xff);
    const ha = snappyHeaderBytes(ca);
    const hb = snappyHeaderBytes(cb);
    const holder = Buffer.concat([junk, ca.subarray(ha), junk, cb.subarray(hb), junk]);
    const startA = junk.length;
    const startB = startA + ca.length - ha + junk.length;
    const parts: SnappyElements[] = [
      { bytes: holder, start: startA, end: startA + ca.length - ha, rawLength: a.length },
      { bytes: holder.subarray(0), start: startB, end: startB + cb.length - hb, rawLength: b.length },
    ];
    assert.deepEqual(uncompressBlock(joinSnappyElements(parts), 4096), Buffer.concat([a, b]));
    // An empty-raw part whose start === end somewhere inside a buffer.
    const empty: SnappyElements = { bytes: holder, start: 5, end: 5, rawLength: 0 };
    assert.deepEqual(uncompressBlock(joinSnappyElements([empty, parts[1], empty]), 4096), b);
    assert.deepEqual([...joinSnappyElements([empty])], [0x00]);
    assert.deepEqual([...joinSnappyElements([])], [0x00]);
  });

  it('writes headers of 1 to 5 bytes, as snappyHeaderLength and snappyHeaderBytes count them', () => {
    const cases: [number, number][] = [
      [0, 1],
      [1, 1],
      [127, 1],
      [128, 2],
      [16383, 2],
      [16384, 3],
      [2 ** 21 - 1, 3],
      [2 ** 21, 4],
      [2 ** 28 - 1, 4],
      [2 ** 28, 5],
      [2 ** 32 - 1, 5],
    ];
    for (const [raw, bytes] of cases) {
      assert.equal(snappyHeaderLength(raw), bytes, `snappyHeaderLength(${raw})`);
      // What the join writes for parts summing to `raw` (the content of the parts does not matter here).
      const half = Math.floor(raw / 2);
      const header = joinSnappyElements([
        { bytes: new Uint8Array(0), start: 0, end: 0, rawLength: half },
        { bytes: new Uint8Array(0), start: 0, end: 0, rawLength: raw - half },
      ]);
      assert.deepEqual([...header], varint(raw), `header the join writes for ${raw}`);
      assert.equal(snappyHeaderBytes(header), bytes, `snappyHeaderBytes of the join's header for ${raw}`);
      assert.equal(snappyUncompressedLength(header), raw, `snappyUncompressedLength of the join's header for ${raw}`);
    }
  });

  it('agrees with the header of real blocks up to 2^28 bytes', () => {
    for (const raw of [0, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28]) {
      const block = compressBlock(Buffer.alloc(raw, 0x61));
      assert.equal(snappyHeaderBytes(block), snappyHeaderLength(raw), `real block of ${raw}`);
      assert.deepEqual(
        [...block.subarray(0, snappyHeaderLength(raw))],
        varint(raw),
        `header of a real block of ${raw}`,
      );
      // Its elements, joined with another block's, keep a header the same reader accepts.
      const joined = joinSnappyElements([elementsOf(block, raw), elementsOf(compressBlock(Buffer.from('x')), 1)]);
      assert.equal(snappyHeaderBytes(joined), snappyHeaderLength(raw + 1));
      assert.equal(snappyUncompressedLength(joined), raw + 1);
      if (raw <= 2 ** 21) {
        const out = uncompressBlock(joined, 2 ** 22);
        assert.equal(out.length, raw + 1);
        assert.equal(out[out.length - 1], 0x78);
        assert.ok(out.subarray(0, raw).every((x) => x === 0x61));
      }
    }
  });

  it('snappyHeaderBytes returns -1 for a malformed header', () => {
    assert.equal(snappyHeaderBytes(Buffer.alloc(6, 0xff)), -1);
    assert.equal(snappyHeaderBytes(Buffer.alloc(0)), -1, 'empty');
    assert.equal(snappyHeaderBytes(Buffer.from([0x80, 0x80])), -1, 'cut short');
    assert.equal(snappyHeaderBytes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10])), -1, 'past 32 bits');
    assert.equal(snappyHeaderBytes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 5, '2^32 - 1');
    assert.equal(snappyHeaderBytes(Buffer.from([0x05, 0xff])), 1);
  });
});
