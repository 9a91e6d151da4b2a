import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CacheEntry, isSeriesPartOfFamily, ScrapeCache } from '../../src/scrape/scrape-cache.js';

/** Looks up every series of one scrape (text as a body, one series per line) and adds the new ones. */
function scrape(cache: ScrapeCache, series: string[], appendAll = true): CacheEntry[] {
  const body = series.join('\n');
  const out: CacheEntry[] = [];
  let pos = 0;
  for (const s of series) {
    let e = cache.lookup(body, pos, pos + s.length);
    if (e === undefined) e = cache.add(body.slice(pos, pos + s.length), { __name__: s });
    if (appendAll) cache.trackStaleness(e);
    out.push(e);
    pos += s.length + 1;
  }
  return out;
}

describe('scrape cache', () => {
  it('finds a series at its previous position and anywhere else; flags a repeat within a scrape', () => {
    const cache = new ScrapeCache();
    const first = scrape(cache, ['a', 'b{x="1"}', 'c']);
    cache.iterDone(true);
    const second = scrape(cache, ['c', 'a', 'b{x="1"}']);
    assert.deepEqual(second, [first[2], first[0], first[1]]);
    const body = 'a';
    assert.equal(cache.lookup(body, 0, 1), first[0]);
    assert.equal(cache.wasDuplicate, true);
    assert.equal(cache.size, 3);
  });

  it('keeps copies of the raw text, not slices of the body', () => {
    const cache = new ScrapeCache();
    const body = `${'x'.repeat(1000)}\nseries_name{a="1"}`;
    const e = cache.add(body.slice(1001), undefined);
    assert.equal(e.key, 'series_name{a="1"}');
    assert.equal(cache.lookup(`${e.key}`, 0, e.key.length), e);
  });

  it('a successful scrape evicts series it did not see; a failed one keeps them', () => {
    const cache = new ScrapeCache();
    scrape(cache, ['a', 'b']);
    cache.iterDone(true);
    scrape(cache, ['a']);
    cache.iterDone(false);
    assert.equal(cache.size, 2, 'kept after a failed scrape');
    scrape(cache, ['a']);
    cache.iterDone(true);
    assert.equal(cache.size, 1);
  });

  it('a failing target with churning series is flushed once the cache more than doubles (plus 1,000)', () => {
    const cache = new ScrapeCache();
    scrape(cache, ['a']);
    cache.iterDone(true);
    scrape(
      cache,
      Array.from({ length: 1001 }, (_, i) => `churn${i}`),
    );
    cache.iterDone(false);
    assert.equal(cache.size, 1002, '1,002 entries are not above 2 x 1 + 1,000');
    scrape(
      cache,
      Array.from({ length: 10 }, (_, i) => `other${i}`),
    );
    cache.iterDone(false);
    assert.equal(cache.size, 10, 'forced flush: only the last scrape remains');
  });

  it('forEachStale lists the previous scrape series this one did not append', () => {
    const cache = new ScrapeCache();
    const [a, b, c] = scrape(cache, ['a', 'b', 'c']);
    cache.iterDone(true);
    scrape(cache, ['b']);
    const stale: CacheEntry[] = [];
    cache.forEachStale((e) => stale.push(e));
    assert.deepEqual(stale, [a, c]);
    cache.discardCurrent();
    stale.length = 0;
    cache.forEachStale((e) => stale.push(e));
    assert.deepEqual(stale, [a, b, c], 'after a rollback every series of the last scrape is stale');
  });

  it('appended timestamps are undone with the scrape', () => {
    const cache = new ScrapeCache();
    const [a] = scrape(cache, ['a']);
    cache.appended(a, 1000);
    cache.iterDone(true);
    scrape(cache, ['a']);
    cache.appended(a, 2000);
    assert.equal(a.lastTs, 2000);
    cache.discardCurrent();
    assert.equal(a.lastTs, 1000);
  });

  it('metadata is dirty until passed on, and again when it changes', () => {
    const cache = new ScrapeCache();
    const m = cache.setType('a', 'counter');
    assert.equal(m.dirty, true);
    m.dirty = false;
    cache.setType('a', 'counter');
    cache.setHelp('a', '');
    assert.equal(m.dirty, false);
    cache.setHelp('a', 'Help.');
    assert.equal(m.dirty, true);
    m.dirty = false;
    cache.markMetadataDirty();
    assert.equal(cache.getMetadata('a')?.dirty, true);
  });

  it("isSeriesPartOfFamily follows Prometheus' suffix rules", () => {
    const cases: [string, string, Parameters<typeof isSeriesPartOfFamily>[2], boolean][] = [
      ['a_total', 'a', 'counter', true],
      ['a_total', 'a_total', 'counter', true],
      ['a', 'a_total', 'counter', false],
      ['h_bucket', 'h', 'histogram', true],
      ['h_sum', 'h', 'histogram', true],
      ['h_count', 'h', 'histogram', true],
      ['h_total', 'h', 'histogram', false],
      ['g_gsum', 'g', 'gaugehistogram', true],
      ['s_sum', 's', 'summary', true],
      ['s', 's', 'summary', true],
      ['i_info', 'i', 'info', true],
      ['x', 'y', 'gauge', false],
      ['xy', 'x', 'gauge', false],
    ];
    for (const [name, family, type, want] of cases)
      assert.equal(isSeriesPartOfFamily(name, family, type), want, `${name} in ${family} (${type})`);
  });
});
