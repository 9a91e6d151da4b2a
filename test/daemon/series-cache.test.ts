import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSeriesCache } from '../../src/daemon/series-cache.js';
import type { SeriesRef } from '../../src/queue-types.js';
import { hashBytes } from '../../src/wire/hash-bytes.js';

const ref = (name: string): SeriesRef => ({ labels: { __name__: name } });
const key = (s: string): Buffer => Buffer.from(s);

/** get, and on a miss store `r` like the ingester does; returns whether it hit. */
function touch(cache: ReturnType<typeof createSeriesCache>, k: Buffer, r: SeriesRef): boolean {
  if (cache.get(k, 0, k.length) !== undefined) return true;
  cache.setAfterMiss(k, 0, k.length, r);
  return false;
}

describe('series cache', () => {
  it('misses, stores after the miss, then hits with the same ref, at any offset of any buffer', () => {
    const cache = createSeriesCache();
    const a = ref('a');
    const body = Buffer.from('xxlabels-of-ayy');
    assert.equal(cache.get(body, 2, 13), undefined);
    cache.setAfterMiss(body, 2, 13, a);
    assert.equal(cache.get(key('labels-of-a'), 0, 11), a);
    assert.equal(cache.get(new Uint8Array(key('labels-of-a')), 0, 11), a);
    assert.equal(cache.get(key('labels-of-b'), 0, 11), undefined);
    assert.equal(cache.get(key('labels-of-a'), 0, 10), undefined);
    assert.deepEqual(cache.stats(), { series: 1, bytes: 11, hits: 2, misses: 3, rotations: 0 });
  });

  it('keeps colliding keys apart: a hash match is confirmed byte by byte', () => {
    const cache = createSeriesCache({ hash: () => 42 });
    const [a, b, c] = [ref('a'), ref('b'), ref('c')];
    assert.equal(touch(cache, key('aaaa'), a), false);
    assert.equal(touch(cache, key('bbbb'), b), false);
    assert.equal(touch(cache, key('cc'), c), false);
    assert.equal(cache.get(key('aaaa'), 0, 4), a);
    assert.equal(cache.get(key('bbbb'), 0, 4), b);
    assert.equal(cache.get(key('cc'), 0, 2), c);
    assert.equal(cache.get(key('aaab'), 0, 4), undefined);
    assert.equal(cache.stats().series, 3);
  });

  it('finds colliding keys in the old generation too, and promotes them', () => {
    const cache = createSeriesCache({ hash: () => 7, maxSeries: 4 });
    const refs = ['k0', 'k1', 'k2'].map(ref);
    for (let i = 0; i < 3; i++) touch(cache, key(`k${i}`), refs[i]);
    // Generations of 2: k0, k1 in the old one, k2 in the young one.
    assert.equal(cache.stats().rotations, 1);
    assert.equal(cache.get(key('k0'), 0, 2), refs[0]);
    assert.equal(cache.get(key('k1'), 0, 2), refs[1]);
    assert.equal(cache.get(key('k2'), 0, 2), refs[2]);
  });

  it('never holds more than maxSeries series, and forgets the oldest', () => {
    const cache = createSeriesCache({ maxSeries: 4 });
    for (let i = 0; i < 10; i++) {
      const k = key(`series-${i}`);
      touch(cache, k, ref(String(i)));
      // Looked up again: hits dominate, so admission stays open and eviction alone is tested.
      assert.equal(cache.get(k, 0, k.length)?.labels.__name__, String(i));
      assert.ok(cache.stats().series <= 4, `after ${i}: ${cache.stats().series}`);
    }
    // Generations of 2: the young one holds 8 and 9, the old one 6 and 7.
    assert.equal(cache.stats().series, 4);
    assert.equal(cache.stats().rotations, 4);
    // Each get below may promote and so rotate: 7 (old, promoted: rotates, 6 is dropped), then 9
    // and 8, now in the old generation.
    for (const i of [7, 9, 8]) assert.equal(cache.get(key(`series-${i}`), 0, 8)?.labels.__name__, String(i));
    for (let i = 0; i < 7; i++) assert.equal(cache.get(key(`series-${i}`), 0, 8), undefined, `series-${i}`);
  });

  it('never holds more than maxBytes key bytes; a key over half the bound is not stored', () => {
    const cache = createSeriesCache({ maxBytes: 40 });
    for (let i = 0; i < 20; i++) {
      touch(cache, key(`key-${String(i).padStart(3, '0')}`), ref(String(i)));
      assert.ok(cache.stats().bytes <= 40, `after ${i}: ${cache.stats().bytes} bytes`);
    }
    assert.equal(cache.stats().bytes, 21);
    assert.equal(touch(cache, key('k'.repeat(21)), ref('big')), false);
    assert.equal(touch(cache, key('k'.repeat(21)), ref('big')), false);
  });

  it('keeps hitting every series of a round-robin working set up to maxSeries / 2', () => {
    const cache = createSeriesCache({ maxSeries: 100 });
    const keys = Array.from({ length: 50 }, (_x, i) => key(`s${i}`));
    for (const k of keys) touch(cache, k, ref('x'));
    const before = cache.stats();
    for (let round = 0; round < 5; round++) for (const k of keys) touch(cache, k, ref('x'));
    assert.equal(cache.stats().misses, before.misses);
    assert.equal(cache.stats().hits, 250);
  });

  it('keeps hitting part of a round-robin working set larger than maxSeries (no thrash to 0%)', () => {
    const cache = createSeriesCache({ maxSeries: 100 });
    const keys = Array.from({ length: 150 }, (_x, i) => key(`s${i}`));
    for (let round = 0; round < 20; round++) for (const k of keys) touch(cache, k, ref('x'));
    const before = cache.stats();
    for (let round = 0; round < 10; round++) for (const k of keys) touch(cache, k, ref('x'));
    const hits = cache.stats().hits - before.hits;
    // A pure recency policy would hit 0 of these 1,500 lookups; ~50 of the 150 stay cached.
    assert.ok(hits >= 400, `${hits} hits of 1500`);
    assert.ok(cache.stats().series <= 100);
  });

  it('recovers full admission once the working set shrinks again', () => {
    const cache = createSeriesCache({ maxSeries: 100 });
    const big = Array.from({ length: 400 }, (_x, i) => key(`big${i}`));
    for (let round = 0; round < 5; round++) for (const k of big) touch(cache, k, ref('x'));
    const small = Array.from({ length: 40 }, (_x, i) => key(`small${i}`));
    for (let round = 0; round < 200; round++) for (const k of small) touch(cache, k, ref('x'));
    const before = cache.stats();
    for (const k of small) touch(cache, k, ref('x'));
    assert.equal(cache.stats().hits - before.hits, 40);
  });

  it('rejects bounds that cannot hold two generations', () => {
    assert.throws(() => createSeriesCache({ maxSeries: 1 }), RangeError);
    assert.throws(() => createSeriesCache({ maxBytes: 1.5 }), RangeError);
  });

  it('hashes every byte of the range and only those (the wire hash it uses by default)', () => {
    // hashBytes(buf, start, length): the range [2, 13) is start 2, length 11.
    const buf = Buffer.from('0123456789abcdef');
    const h = hashBytes(buf, 2, 11);
    assert.equal(hashBytes(Buffer.from('__23456789abc__'), 2, 11), h);
    for (let i = 2; i < 13; i++) {
      const changed = Buffer.from(buf);
      changed[i] ^= 1;
      assert.notEqual(hashBytes(changed, 2, 11), h, `byte ${i}`);
    }
    assert.notEqual(hashBytes(buf, 2, 10), hashBytes(buf, 2, 11));
    assert.equal(hashBytes(buf, 5, 0), hashBytes(Buffer.alloc(0), 0, 0));
  });
});
