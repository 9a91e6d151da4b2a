import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { int64Size, ScratchWriter, sint64Size } from '../../src/wire/proto-writer.js';

/** Values either side of every varint length boundary, up to 2^63, and negatives. */
const values: number[] = [0, 1, -1, -(2 ** 40), Number.MAX_SAFE_INTEGER, 1_700_000_000_000];
for (let bits = 7; bits <= 63; bits += 7) values.push(2 ** bits - 1, 2 ** bits, 2 ** bits + 1);

describe('proto-writer sizes', () => {
  it('int64Size and sint64Size are the bytes int64 and sint64 write', () => {
    const w = new ScratchWriter(64);
    for (const v of values) {
      if (v > Number.MAX_SAFE_INTEGER && v !== 2 ** Math.round(Math.log2(v))) continue; // not exact in a double
      w.reset();
      w.int64(v);
      assert.equal(int64Size(v), w.pos, `int64Size(${v})`);
      if (Math.abs(v) <= 2 ** 52) {
        w.reset();
        w.sint64(v);
        assert.equal(sint64Size(v), w.pos, `sint64Size(${v})`);
      }
    }
  });

  it('a millisecond timestamp takes 6 bytes, 2^35 - 1 five', () => {
    assert.equal(int64Size(1_700_000_000_000), 6);
    assert.equal(int64Size(2 ** 35 - 1), 5);
    assert.equal(int64Size(2 ** 35), 6);
    assert.equal(int64Size(2 ** 63), 10);
  });
});
