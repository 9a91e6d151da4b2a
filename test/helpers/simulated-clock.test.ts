import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../src/clock.js';
import { SimulatedClock } from './simulated-clock.js';

describe('SimulatedClock', () => {
  it('starts at the given time and moves only on advance', () => {
    const clock = new SimulatedClock(1_000);
    assert.equal(clock.now(), 1_000);
    clock.advance(250);
    assert.equal(clock.now(), 1_250);
    assert.throws(() => clock.advance(-1), RangeError);
  });

  it('fires due timers in deadline order, each at its exact deadline; ties in set order', () => {
    const clock = new SimulatedClock();
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.now()}`);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b1'), 20);
    clock.setTimeout(at('b2'), 20);
    clock.setTimeout(at('late'), 31);
    assert.equal(clock.pending, 5);
    assert.equal(clock.nextDeadline(), 10);
    clock.advance(30);
    assert.deepEqual(fired, ['a@10', 'b1@20', 'b2@20', 'c@30']);
    assert.equal(clock.now(), 30);
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextDeadline(), 31);
    clock.advance(1);
    assert.deepEqual(fired.at(-1), 'late@31');
    assert.equal(clock.pending, 0);
    assert.equal(clock.nextDeadline(), undefined);
  });

  it('fires timers set by callbacks during an advance if they are due by its end', () => {
    const clock = new SimulatedClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 20);
      clock.setTimeout(() => fired.push(clock.now()), 0);
    }, 10);
    clock.advance(20);
    assert.deepEqual(fired, [10, 10, 15]);
    assert.equal(clock.nextDeadline(), 30);
    assert.equal(clock.pending, 1);
  });

  it('clearTimeout cancels a pending timer and is a no-op for fired, cleared or undefined handles', () => {
    const clock = new SimulatedClock();
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 10);
    const b = clock.setTimeout(() => fired.push('b'), 5);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    clock.clearTimeout(undefined);
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextDeadline(), 5);
    clock.advance(100);
    clock.clearTimeout(b);
    assert.deepEqual(fired, ['b']);
    assert.equal(clock.pending, 0);
  });

  it('treats negative or NaN delays as 0', () => {
    const clock = new SimulatedClock(5);
    let fired = 0;
    clock.setTimeout(() => fired++, -10);
    clock.setTimeout(() => fired++, Number.NaN);
    assert.equal(clock.nextDeadline(), 5);
    clock.advance(0);
    assert.equal(fired, 2);
  });

  it('propagates a callback exception, leaving now() at that deadline and later timers pending', () => {
    const clock = new SimulatedClock();
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimeout(() => {}, 20);
    assert.throws(() => clock.advance(50), /boom/);
    assert.equal(clock.now(), 10);
    assert.equal(clock.pending, 1);
  });

  it('advanceAndSettle lets awaiting code schedule its next timer at the exact virtual time', async () => {
    const times: number[] = [];
    const tick = async (clock: SimulatedClock) => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 10);
        times.push(clock.now());
      }
    };

    // Plain advance fires only the first sleep: its continuation runs after the advance ended
    // (so it sees now() = 30) and sets the second sleep from there.
    const plain = new SimulatedClock();
    const plainDone = tick(plain);
    plain.advance(30);
    await plain.settle();
    assert.deepEqual(times, [30]);
    assert.equal(plain.nextDeadline(), 40);
    plain.advance(100);
    await plain.settle();
    plain.advance(100);
    await plainDone;

    times.length = 0;
    const clock = new SimulatedClock();
    const done = tick(clock);
    await clock.advanceAndSettle(30);
    await done;
    assert.deepEqual(times, [10, 20, 30]);
    assert.equal(clock.pending, 0);
  });

  it('sleep on a SimulatedClock rejects with the abort reason and clears its timer', async () => {
    const clock = new SimulatedClock();
    const ac = new AbortController();
    const p = sleep(clock, 100, ac.signal);
    assert.equal(clock.pending, 1);
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(clock.pending, 0);
  });
});
