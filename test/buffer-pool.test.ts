/**
 * ArrayBufferPool: a buffer is handed out once until given back, the smallest kept one that fits
 * is reused, sizes round as configured, and what is kept is bounded in count and size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrayBufferPool } from '../src/buffer-pool.js';

describe('ArrayBufferPool', () => {
  it('hands out a view of the asked length at the start of a power-of-two buffer from minBytes', () => {
    const pool = new ArrayBufferPool(4, 1 << 20, 1024);
    const v = pool.take(1500);
    assert.equal(v.length, 1500);
    assert.equal(v.byteOffset, 0);
    assert.equal(v.buffer.byteLength, 2048);
    assert.equal(pool.take(10).buffer.byteLength, 1024);
  });

  it('rounds to a multiple of step when given one', () => {
    const pool = new ArrayBufferPool(4, 1 << 20, 1024, 1024);
    assert.equal(pool.take(2049).buffer.byteLength, 3072);
    assert.equal(pool.take(100).buffer.byteLength, 1024);
  });

  it('reuses a given-back buffer, the smallest that fits, and never hands one out twice', () => {
    const pool = new ArrayBufferPool(4, 1 << 20, 1024);
    const small = pool.take(1000).buffer as ArrayBuffer;
    const large = pool.take(4000).buffer as ArrayBuffer;
    assert.equal(pool.give(large), true);
    assert.equal(pool.give(small), true);
    assert.equal(pool.kept, 2);
    const a = pool.take(900);
    assert.equal(a.buffer, small, 'the smallest buffer that fits');
    const b = pool.take(900);
    assert.equal(b.buffer, large, 'then the next one');
    assert.equal(pool.kept, 0);
    const c = pool.take(900);
    assert.notEqual(c.buffer, small);
    assert.notEqual(c.buffer, large);
  });

  it('refuses a buffer it already keeps, so it cannot go to two holders', () => {
    const pool = new ArrayBufferPool(4, 1 << 20, 1024);
    const b = pool.take(100).buffer as ArrayBuffer;
    assert.equal(pool.give(b), true);
    assert.equal(pool.give(b), false);
    assert.equal(pool.kept, 1);
    assert.equal(pool.take(100).buffer, b);
    assert.notEqual(pool.take(100).buffer, b);
  });

  it('keeps at most maxKept buffers, none larger than maxKeptBytes, none detached', () => {
    const pool = new ArrayBufferPool(2, 4096, 1024);
    const bufs = [1, 2, 3].map(() => pool.take(1024).buffer as ArrayBuffer);
    assert.deepEqual(
      bufs.map((b) => pool.give(b)),
      [true, true, false],
    );
    assert.equal(pool.kept, 2);
    // Too large: made at its exact size, and not kept.
    const big = pool.take(5000);
    assert.equal(big.buffer.byteLength, 5000);
    const fresh = new ArrayBufferPool(2, 4096, 1024);
    assert.equal(fresh.give(big.buffer as ArrayBuffer), false);
    const moved = fresh.take(100).buffer as ArrayBuffer;
    structuredClone(moved, { transfer: [moved] });
    assert.equal(moved.byteLength, 0);
    assert.equal(fresh.give(moved), false, 'a detached buffer is not kept');
    assert.equal(fresh.kept, 0);
  });
});
