import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BASELINE_BYTES, memoryBudget } from '../../src/daemon/memory-budget.js';
import { startMemoryPacer } from '../../src/daemon/memory-pacer.js';
import { createSeriesCache } from '../../src/daemon/series-cache.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';

const MiB = 2 ** 20;

/** A pacer over scripted array-buffer and RSS levels; `collected` counts the collections. */
function scripted(opts: { slack: number; rssBytes?: number; ab0?: number }) {
  const clock = new SimulatedClock();
  const level = { ab: opts.ab0 ?? 0, rss: 0 };
  let collected = 0;
  const pacer = startMemoryPacer({
    slackBytes: opts.slack,
    rssBytes: opts.rssBytes,
    clock,
    intervalMs: 50,
    arrayBuffers: () => level.ab,
    rss: () => level.rss,
    collect: () => {
      collected++;
    },
  });
  return { clock, level, pacer, collected: () => collected };
}

describe('memory pacer', () => {
  it('collects once the array buffers grew by the slack since the level it measured last', () => {
    const p = scripted({ slack: 10 * MiB });
    p.level.ab = 9 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 0);
    p.level.ab = 10 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 1);
    // The next tick measures what the collection left (V8 frees the buffers after it).
    p.level.ab = 3 * MiB;
    p.clock.advance(50);
    p.level.ab = 12 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 1);
    p.level.ab = 13 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 2);
    assert.deepEqual(p.pacer.stats(), { collections: 2 });
    p.pacer.stop();
  });

  it('measures growth from a lower level when V8 collected on its own', () => {
    const p = scripted({ slack: 10 * MiB, ab0: 5 * MiB });
    p.level.ab = 14 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 0);
    p.level.ab = 1 * MiB;
    p.clock.advance(50);
    p.level.ab = 10 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 0);
    p.level.ab = 11 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 1);
    p.pacer.stop();
  });

  it('above rssBytes collects at most once per second, and not at all below it', () => {
    const p = scripted({ slack: 100 * MiB, rssBytes: 200 * MiB });
    p.level.rss = 200 * MiB;
    p.clock.advance(1000);
    assert.equal(p.collected(), 0);
    p.level.rss = 201 * MiB;
    p.clock.advance(50);
    assert.equal(p.collected(), 1);
    // Freed malloc memory may stay resident: still above, but a second has not passed.
    p.clock.advance(900);
    assert.equal(p.collected(), 1);
    p.clock.advance(100);
    assert.equal(p.collected(), 2);
    p.pacer.stop();
  });

  it('stop() leaves no timer behind', () => {
    const p = scripted({ slack: MiB });
    assert.equal(p.clock.pending, 1);
    p.pacer.stop();
    assert.equal(p.clock.pending, 0);
  });

  it('refuses a slack that is not positive', () => {
    assert.throws(
      () => startMemoryPacer({ slackBytes: 0, clock: new SimulatedClock() }),
      /slackBytes must be > 0, got 0/,
    );
  });
});

describe('memoryBudget (storage.max_memory_bytes)', () => {
  it('without a limit keeps the cache defaults, paces nothing and holds no memory reserve', () => {
    assert.deepEqual(memoryBudget(0), {
      maxCachedBytes: 256 * MiB,
      maxCachedSeries: 1_000_000,
      pacerSlackBytes: undefined,
      pacerRssBytes: undefined,
      reserveBytes: 0,
    });
  });

  it('gives the cache an eighth of the limit, paces on a quarter of what the baseline leaves, holds a 40 MiB reserve', () => {
    assert.deepEqual(memoryBudget(256 * MiB), {
      maxCachedBytes: 32 * MiB,
      maxCachedSeries: Math.floor((32 * MiB) / 400),
      pacerSlackBytes: (256 * MiB - BASELINE_BYTES) / 4,
      pacerRssBytes: Math.floor(256 * MiB * 0.9),
      reserveBytes: 40 * MiB,
    });
    // Below the baseline: the smallest slack, a 1 MiB cache.
    const tiny = memoryBudget(64 * MiB);
    assert.equal(tiny.pacerSlackBytes, 4 * MiB);
    assert.equal(tiny.maxCachedBytes, 8 * MiB);
    // A large limit never raises the cache above its defaults.
    assert.equal(memoryBudget(16 * 1024 * MiB).maxCachedBytes, 256 * MiB);
    assert.equal(memoryBudget(16 * 1024 * MiB).maxCachedSeries, Math.floor((256 * MiB) / 400));
  });

  it('the series cache sized by a limit holds at most its bounds on a workload that fills the default one', () => {
    const budget = memoryBudget(128 * MiB);
    const bounded = createSeriesCache({ maxSeries: budget.maxCachedSeries, maxBytes: budget.maxCachedBytes });
    const unbounded = createSeriesCache();
    const ref = { labels: {} };
    let maxBytes = 0;
    let maxSeries = 0;
    // 200,000 series of ~100 label bytes, each seen twice (so the cache admits them).
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 200_000; i++) {
        const key = Buffer.from(`{__name__="m${i % 50}",instance="host-${i}:9100",job="node",zone="eu-${i % 7}"}`);
        for (const c of [bounded, unbounded])
          if (c.get(key, 0, key.length) === undefined) c.setAfterMiss(key, 0, key.length, ref);
        const s = bounded.stats();
        maxBytes = Math.max(maxBytes, s.bytes);
        maxSeries = Math.max(maxSeries, s.series);
      }
    }
    assert.ok(maxSeries <= budget.maxCachedSeries, `${maxSeries} series cached, bound ${budget.maxCachedSeries}`);
    assert.ok(maxBytes <= budget.maxCachedBytes, `${maxBytes} bytes cached, bound ${budget.maxCachedBytes}`);
    assert.equal(unbounded.stats().series, 200_000);
    assert.ok(budget.maxCachedSeries < 200_000);
  });
});
