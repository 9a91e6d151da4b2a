/**
 * The memory reserve: one reserve at a time, a new one a tick after the last was collected, none
 * after stop; and the V8 behaviour it relies on (a target only a FinalizationRegistry knows of
 * outlives young collections, and a full one frees it and its array-buffer memory).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exposedGc } from '../../src/daemon/memory-pacer.js';
import { startMemoryReserve } from '../../src/daemon/memory-reserve.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';

const MiB = 2 ** 20;

/** A reserve whose allocations and collections the test scripts. */
function scripted() {
  const clock = new SimulatedClock();
  const allocated: number[] = [];
  const collectors: (() => void)[] = [];
  const reserve = startMemoryReserve({
    bytes: 40 * MiB,
    clock,
    intervalMs: 50,
    allocate: (bytes) => {
      allocated.push(bytes);
      return {};
    },
    watch: (_target, onCollected) => {
      collectors.push(onCollected);
    },
  });
  return { clock, allocated, collectors, reserve };
}

describe('memory reserve', () => {
  it('holds one reserve, and makes the next one tick after the last was collected, not before', () => {
    const r = scripted();
    assert.deepEqual(r.allocated, [40 * MiB], 'one at the start');
    assert.deepEqual(r.reserve.stats(), { made: 1, heldBytes: 40 * MiB });
    r.clock.advance(500);
    assert.equal(r.allocated.length, 1, 'none while one is held');
    r.collectors[0]();
    assert.deepEqual(r.reserve.stats(), { made: 1, heldBytes: 0 });
    // The tick right after the collection waits (V8 releases the memory after it) ...
    r.clock.advance(50);
    assert.equal(r.allocated.length, 1);
    // ... and the next one makes the new reserve.
    r.clock.advance(50);
    assert.deepEqual(r.allocated, [40 * MiB, 40 * MiB]);
    assert.deepEqual(r.reserve.stats(), { made: 2, heldBytes: 40 * MiB });
  });

  it('makes nothing after stop, and ignores a collection reported after it', () => {
    const r = scripted();
    r.reserve.stop();
    assert.deepEqual(r.reserve.stats(), { made: 1, heldBytes: 0 });
    r.collectors[0]();
    r.clock.advance(1000);
    assert.equal(r.allocated.length, 1);
    assert.equal(r.clock.nextDeadline(), undefined, 'no timer left');
  });

  it('refuses a size malloc would make resident (32 MiB or less)', () => {
    for (const bytes of [0, 24 * MiB, 32 * MiB])
      assert.throws(
        () => startMemoryReserve({ bytes, clock: new SimulatedClock() }),
        new RegExp(`bytes must be more than 32 MiB .*, got ${bytes}$`),
      );
    const r = startMemoryReserve({ bytes: 32 * MiB + 1, clock: new SimulatedClock() });
    assert.equal(r.stats().heldBytes, 32 * MiB + 1);
    r.stop();
  });

  it('V8: a registered ArrayBuffer nothing else holds outlives young collections; a full one frees it', async () => {
    const minor = exposedGc('minor');
    const major = exposedGc('major');
    let collected!: () => void;
    const freed = new Promise<void>((resolve) => {
      collected = resolve;
    });
    let dead = false;
    const registry = new FinalizationRegistry(() => {
      dead = true;
      collected();
    });
    (() => registry.register(new ArrayBuffer(32 * MiB), 0))();
    for (let i = 0; i < 3; i++) {
      minor();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(dead, false, 'young collections keep it');
    const held = process.memoryUsage().arrayBuffers;
    major();
    await freed;
    assert.ok(held - process.memoryUsage().arrayBuffers >= 32 * MiB, 'a full collection released its bytes');
  });
});
