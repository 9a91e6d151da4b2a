import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FifoQueue, nextPowerOfTwo } from '../../src/actors/fifo-queue.js';

describe('FifoQueue', () => {
  it('keeps FIFO order while growing from a wrapped-around state', () => {
    const q = new FifoQueue<number>(4);
    const out: number[] = [];
    let next = 0;
    for (let i = 0; i < 3; i++) q.push(next++);
    out.push(q.shift()!, q.shift()!);
    for (let i = 0; i < 40; i++) q.push(next++);
    assert.equal(q.length, 41);
    for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v);
    assert.deepEqual(
      out,
      Array.from({ length: next }, (_, i) => i),
    );
    assert.equal(q.length, 0);
  });

  it('nextPowerOfTwo rounds up', () => {
    assert.deepEqual([0, 1, 2, 3, 5, 64, 65, 1000].map(nextPowerOfTwo), [1, 1, 2, 4, 8, 64, 128, 1024]);
  });
});
