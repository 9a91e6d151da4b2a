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

  it('up to 16 loops keeps the 4 partitions of each stored group on one loop; beyond, assigns partitions one by one', () => {
    for (let n = 1; n <= 64; n++) {
      const owner = rebalance(initialAssignment(1, 64, 16), n, 16);
      const c = counts(owner, n);
      if (n <= 16) {
        for (let p = 0; p < 64; p++) assert.equal(owner[p], owner[p % 16], `n=${n} partition ${p}`);
        for (let i = 0; i < n; i++) assert.equal(c[i], 4 * quotaOf(i, n, 16), `n=${n} loop ${i}`);
      } else {
        for (let i = 0; i < n; i++) assert.equal(c[i], quotaOf(i, n, 64), `n=${n} loop ${i}`);
      }
    }
    for (let n = 1; n <= 16; n++) {
      const owner = initialAssignment(n, 64, 16);
      for (let p = 0; p < 64; p++) assert.equal(owner[p], (p % 16) % n, `initial n=${n} partition ${p}`);
    }
    assert.deepEqual(
      Array.from(initialAssignment(20, 64, 16).subarray(0, 24)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 1, 2, 3],
    );
  });

  it('16 -> 24 loops moves one partition off each loop (16 moves), and 24 -> 16 moves exactly those back', () => {
    const sixteen = initialAssignment(16, 64, 16);
    const wide = rebalance(sixteen, 24, 16);
    const moved: number[] = [];
    for (let p = 0; p < 64; p++) if (sixteen[p] !== wide[p]) moved.push(p);
    assert.deepEqual(moved, [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]);
    assert.deepEqual(counts(wide, 24), [...new Array(16).fill(3), ...new Array(8).fill(2)]);
    const back = rebalance(wide, 16, 16);
    assert.deepEqual(back, sixteen);
  });

  it('refuses a loop count outside 1..partitions', () => {
    assert.throws(() => rebalance(initialAssignment(1, 64), 0), /1\.\.64, got 0/);
    assert.throws(() => rebalance(initialAssignment(1, 64), 65), /1\.\.64, got 65/);
  });
});
