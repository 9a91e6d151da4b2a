import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readInt64, readLength, varintCursor } from '../../src/wire/varint-reader.js';

/** Unsigned LEB128 of `v` (BigInt, so 64-bit two's complement works for negatives). */
function varint(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

describe('varint reader', () => {
  it('reads lengths of 1 to 5 bytes up to 2^32-1 and says where they end', () => {
    for (const v of [0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1]) {
      const bytes = Uint8Array.from([0xaa, ...varint(BigInt(v)), 0xbb]);
      assert.equal(readLength(bytes, 1, bytes.length), v);
      assert.equal(varintCursor.end, bytes.length - 1, `end of ${v}`);
    }
  });

  it('refuses lengths over 32 bits, truncated ones and ones passing the limit', () => {
    const big = Uint8Array.from(varint(2n ** 32n));
    assert.equal(readLength(big, 0, big.length), -1);
    assert.equal(varintCursor.end, -1);
    const bytes = Uint8Array.from(varint(300n));
    assert.equal(readLength(bytes, 0, 1), -1);
    assert.equal(readLength(Uint8Array.from([0x80, 0x80]), 0, 2), -1);
  });

  it('reads int64 timestamps, negative ones as two-complement over 10 bytes', () => {
    for (const v of [0n, 1n, -1n, 1_700_000_000_000n, -1_700_000_000_000n, 2n ** 31n, -(2n ** 31n), 2n ** 52n]) {
      const bytes = Uint8Array.from(varint(v));
      assert.equal(readInt64(bytes, 0, bytes.length), Number(v), `value ${v}`);
      assert.equal(varintCursor.end, bytes.length);
    }
    const truncated = Uint8Array.from(varint(-1n)).subarray(0, 9);
    assert.equal(readInt64(truncated, 0, truncated.length), 0);
    assert.equal(varintCursor.end, -1);
  });
});
