import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelBlockCache } from '../../src/wire/label-block-cache.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('LabelBlockCache', () => {
  it('finds label bytes it was given, at any offset, with their name slot and slot pairs', () => {
    const c = new LabelBlockCache(1 << 20);
    const b = bytes('xxjob=api;pod=a1yy');
    const h = c.hashOf(b, 2, 14);
    assert.equal(c.find(b, 2, 14, h), -1);
    c.add(b, 2, 14, h, 7, Int32Array.from([1, 2, 3, 4]), 2);
    const other = bytes('job=api;pod=a1');
    assert.equal(c.find(other, 0, 14, c.hashOf(other, 0, 14)), 2);
    assert.equal(c.nameSlot, 7);
    assert.deepEqual([...c.slots.subarray(c.slotsAt, c.slotsAt + 4)], [1, 2, 3, 4]);
  });

  it('never takes other bytes of the same hash and length for a hit (entries are verified by bytes)', () => {
    const c = new LabelBlockCache(1 << 20);
    const a = bytes('pod=a1');
    const b = bytes('pod=b1');
    // The same hash forced for both: only a byte compare tells them apart.
    c.add(a, 0, a.length, 42, 1, Int32Array.from([10, 11]), 1);
    assert.equal(c.find(b, 0, b.length, 42), -1);
    c.add(b, 0, b.length, 42, 2, Int32Array.from([20, 21]), 1);
    assert.equal(c.find(b, 0, b.length, 42), 1);
    assert.equal(c.slots[c.slotsAt], 20);
    assert.equal(c.find(a, 0, a.length, 42), 1);
    assert.equal(c.slots[c.slotsAt], 10);
  });

  it('grows past its first sizes, and starts over when its bytes bound is reached', () => {
    const c = new LabelBlockCache(64 * 1024);
    const blocks = Array.from({ length: 3000 }, (_x, i) => bytes(`__name__=m;pod=pod-${i}`));
    for (const [i, b] of blocks.entries()) {
      c.add(b, 0, b.length, c.hashOf(b, 0, b.length), i, Int32Array.from([i, i + 1]), 1);
    }
    // 3000 entries of ~50 bytes do not fit in 64 KiB: the first ones were forgotten, the last are kept.
    assert.equal(c.find(blocks[0], 0, blocks[0].length, c.hashOf(blocks[0], 0, blocks[0].length)), -1);
    const last = blocks[2999];
    assert.equal(c.find(last, 0, last.length, c.hashOf(last, 0, last.length)), 1);
    assert.equal(c.nameSlot, 2999);
    c.clear();
    assert.equal(c.find(last, 0, last.length, c.hashOf(last, 0, last.length)), -1);
  });
});
