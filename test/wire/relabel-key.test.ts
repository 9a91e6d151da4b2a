import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWasmRelayScan, type WasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, b: number) => ((x << BigInt(b)) | (x >> BigInt(64 - b))) & MASK;

/**
 * SipHash with 128-bit output, `c` compression and `d` finalization rounds, from the paper (BigInt,
 * written apart from the C): the reference the write relabel cache's key is checked against.
 */
function sipHash128(k0: bigint, k1: bigint, bytes: Uint8Array, c: number, d: number): [bigint, bigint] {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1 ^ 0xeen;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const rounds = (n: number) => {
    for (let r = 0; r < n; r++) {
      v0 = (v0 + v1) & MASK;
      v1 = rotl(v1, 13) ^ v0;
      v0 = rotl(v0, 32);
      v2 = (v2 + v3) & MASK;
      v3 = rotl(v3, 16) ^ v2;
      v0 = (v0 + v3) & MASK;
      v3 = rotl(v3, 21) ^ v0;
      v2 = (v2 + v1) & MASK;
      v1 = rotl(v1, 17) ^ v2;
      v2 = rotl(v2, 32);
    }
  };
  const b = Buffer.from(bytes);
  const blocks = b.length >> 3;
  for (let i = 0; i < blocks; i++) {
    const m = b.readBigUInt64LE(8 * i);
    v3 ^= m;
    rounds(c);
    v0 ^= m;
  }
  let last = BigInt(b.length & 0xff) << 56n;
  for (let i = 0; i < (b.length & 7); i++) last |= BigInt(b[8 * blocks + i]) << BigInt(8 * i);
  v3 ^= last;
  rounds(c);
  v0 ^= last;
  v2 ^= 0xeen;
  rounds(d);
  const out0 = v0 ^ v1 ^ v2 ^ v3;
  v1 ^= 0xddn;
  rounds(d);
  return [out0, v0 ^ v1 ^ v2 ^ v3];
}

const K0 = 0x0706050403020100n;
const K1 = 0x0f0e0d0c0b0a0908n;

function instance(seed?: readonly [bigint, bigint]): WasmRelayScan {
  const wasm = createWasmRelayScan();
  assert.ok(wasm, 'WebAssembly is available');
  wasm.enableRelabelCache(16, 1024, seed === undefined ? {} : { seed });
  return wasm;
}

describe('the write relabel cache key (rw1-raw-scan.c relabel_key)', () => {
  it("the reference is SipHash: the paper authors' 128-bit test vector for SipHash-2-4", () => {
    // vectors_sip128[0] of the reference implementation: key 00..0f, empty message.
    const [a, b] = sipHash128(K0, K1, new Uint8Array(0), 2, 4);
    const out = Buffer.alloc(16);
    out.writeBigUInt64LE(a, 0);
    out.writeBigUInt64LE(b, 8);
    assert.equal(out.toString('hex'), 'a3817f04ba25a8e66df67214c7550293');
  });

  it('is SipHash-1-3-128 of the bytes under the seed, for every length 0-300 (tail and block paths)', () => {
    const wasm = instance([K0, K1]);
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let len = 0; len <= 300; len++) {
      const m = bytes.subarray(0, len);
      assert.deepEqual(wasm.relabelKey(m), sipHash128(K0, K1, m, 1, 3), `length ${len}`);
    }
  });

  it('depends on the seed, which each cache draws at random', () => {
    const bytes = Buffer.from('\n\x1b\n\x08__name__\x12\x0fhttp_requests_x');
    const a = instance().relabelKey(bytes);
    const b = instance().relabelKey(bytes);
    assert.notDeepEqual(a, b);
    assert.deepEqual(instance([1n, 2n]).relabelKey(bytes), sipHash128(1n, 2n, bytes, 1, 3));
  });
});
