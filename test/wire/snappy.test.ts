import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uncompressSync } from 'snappy';
import { PromspoolError } from '../../src/errors.js';
import { compressBlock, snappyUncompressedLength, uncompressBlock } from '../../src/wire/snappy.js';

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
