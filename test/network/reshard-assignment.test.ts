import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialAssignment, quotaOf, rebalance } from '../../src/network/reshard-assignment.js';

function counts(owner: Uint16Array, loops: number): number[] {
  const c = new Array<number>(loops).fill(0);
  for (const o of owner) c[o]++;
  return c;
}

describe('reshard assignment', () => {
  it('balances every loop count from 1 to the partition count', () => {
    for (let n = 1; n <= 64; n++) {
      const c = counts(rebalance(initialAssignment(1, 64), n), n);
      for (let i = 0; i < n; i++) assert.equal(c[i], quotaOf(i, n, 64), `n=${n} loop ${i}`);
    }
  });

  it('moves only what must move: growing 4 -> 5 moves 12 of 64 partitions, shrinking 5 -> 4 the 12 back', () => {
    const four = initialAssignment(4, 64);
    const five = rebalance(four, 5);
    let moved = 0;
    for (let p = 0; p < 64; p++) if (four[p] !== five[p]) moved++;
    // Loop 4 gets its quota of 64/5 -> 12 partitions; no other partition moves.
    assert.equal(moved, 12);
    for (let p = 0; p < 64; p++) if (four[p] !== five[p]) assert.equal(five[p], 4);
    const back = rebalance(five, 4);
    let movedBack = 0;
    for (let p = 0; p < 64; p++) if (back[p] !== five[p]) movedBack++;
    assert.equal(movedBack, 12);
    assert.deepEqual(counts(back, 4), [16, 16, 16, 16]);
  });

  it('refuses a loop count outside 1..partitions', () => {
    assert.throws(() => rebalance(initialAssignment(1, 64), 0), /1\.\.64, got 0/);
    assert.throws(() => rebalance(initialAssignment(1, 64), 65), /1\.\.64, got 65/);
  });
});
