import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { ScrapePool, targetLimitError } from '../../src/scrape/scrape-pool.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { FakeScrape, group, handoffId, scrapeConfig } from './pool-fakes.js';

/** Lets the pool's promise chains run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

function startPool(fake: FakeScrape, over: Parameters<typeof scrapeConfig>[0] = {}, keepDroppedTargets?: number) {
  const clock = new SimulatedClock(0);
  const pool = new ScrapePool({
    config: scrapeConfig(over),
    deps: fake.deps(),
    clock,
    logger: silentLogger,
    updateDelayMs: 5000,
    keepDroppedTargets,
  });
  pool.start();
  return { pool, clock };
}

describe('ScrapePool', () => {
  it('starts one loop per target once the discoverer reported its initial set', async () => {
    const fake = new FakeScrape();
    const { pool } = startPool(fake);
    assert.equal(pool.synced, false);
    fake.discoverers[0].send([group('a', ['h1:1', 'h2:1'])]);
    await pool.whenSynced();
    assert.deepEqual([...fake.running().keys()], ['h1:1', 'h2:1']);
    assert.deepEqual(
      pool.activeTargets().map((t) => [t.target.url, t.status.health]),
      [
        ['http://h1:1/metrics', 'up'],
        ['http://h2:1/metrics', 'up'],
      ],
    );
  });

  it('a discoverer reporting during run() (static) syncs once, at once; one that cannot be created finds nothing', async () => {
    const fake = new FakeScrape();
    const clock = new SimulatedClock(0);
    let syncs = 0;
    const deps = fake.deps();
    const pool = new ScrapePool({
      config: scrapeConfig({
        serviceDiscovery: [
          { kind: 'static', groups: [] },
          { kind: 'http', url: 'http://x', refreshIntervalMs: 1 } as never,
        ],
      }),
      deps: {
        ...deps,
        createDiscoverer: (sd) => {
          if (sd.kind === 'http') throw new Error('bad');
          return { run: async (onUpdate) => onUpdate([group('s', ['h1:1'])]) };
        },
      },
      clock,
      logger: silentLogger,
      events: { synced: () => syncs++ },
    });
    pool.start();
    await pool.whenSynced();
    await settle();
    assert.equal(syncs, 1);
    assert.deepEqual([...fake.running().keys()], ['h1:1']);
    assert.equal(clock.nextDeadline(), undefined, 'no fallback sync left pending');
    await pool.stop({ staleMarkers: false });
  });

  it('syncs after the update delay when a discoverer never reports', async () => {
    const fake = new FakeScrape();
    const { pool, clock } = startPool(fake, {
      serviceDiscovery: [
        { kind: 'static', groups: [] },
        { kind: 'file', files: ['x.json'], refreshIntervalMs: 300_000 },
      ],
    });
    fake.discoverers[0].send([group('a', ['h1:1'])]);
    await settle();
    assert.equal(pool.synced, false);
    clock.advance(4999);
    await settle();
    assert.equal(pool.synced, false);
    clock.advance(1);
    await pool.whenSynced();
    assert.deepEqual([...fake.running().keys()], ['h1:1']);
  });

  it('deduplicates the same target found in two groups and merges group labels under the target', async () => {
    const fake = new FakeScrape();
    const { pool } = startPool(fake);
    fake.discoverers[0].send([
      group('a', ['h1:1'], { zone: 'x' }),
      group('b', ['h1:1'], { zone: 'x' }),
      { source: 'c', targets: [{ __address__: 'h2:1', zone: 'own' }], labels: { zone: 'group' } },
    ]);
    await pool.whenSynced();
    assert.equal(fake.loops.length, 2);
    assert.deepEqual(
      pool.activeTargets().map((t) => t.target.labels),
      [
        { instance: 'h1:1', job: 'job1', zone: 'x' },
        { instance: 'h2:1', job: 'job1', zone: 'own' },
      ],
    );
  });

  it('coalesces later changes for the update delay; a gone target stops with stale markers, a kept one is untouched', async () => {
    const fake = new FakeScrape();
    const { pool, clock } = startPool(fake);
    fake.discoverers[0].send([group('a', ['h1:1', 'h2:1'])]);
    await pool.whenSynced();
    const [h1, h2] = fake.loops;
    fake.discoverers[0].send([group('a', ['h1:1', 'h3:1'])]);
    clock.advance(1000);
    fake.discoverers[0].send([group('b', ['h4:1'])]);
    clock.advance(3999);
    await settle();
    assert.equal(fake.loops.length, 2, 'nothing applied before the delay');
    clock.advance(1);
    await settle();
    assert.deepEqual([...fake.running().keys()], ['h1:1', 'h3:1', 'h4:1']);
    assert.equal(h1.stoppedWith, undefined);
    assert.deepEqual(h2.stoppedWith, { staleMarkers: true });
  });

  it('a group sent with no targets removes its targets', async () => {
    const fake = new FakeScrape();
    const { pool, clock } = startPool(fake);
    fake.discoverers[0].send([group('a', ['h1:1']), group('b', ['h2:1'])]);
    await pool.whenSynced();
    fake.discoverers[0].send([group('a', [])]);
    clock.advance(5000);
    await settle();
    assert.deepEqual([...fake.running().keys()], ['h2:1']);
    assert.equal(pool.discoveredTargetCount(), 1);
  });

  it('keeps dropped targets up to keepDroppedTargets and counts them all; an invalid target is neither', async () => {
    const fake = new FakeScrape();
    const { pool } = startPool(fake, {}, 2);
    fake.discoverers[0].send([
      group('a', ['h1:1', 'h2:1', 'h3:1'], { drop: 'yes' }),
      { source: 'b', targets: [{ __address__: 'h4:1', bad: 'yes' }], labels: {} },
      group('c', ['h5:1']),
    ]);
    await pool.whenSynced();
    const dropped = pool.droppedTargets();
    assert.equal(dropped.count, 3);
    assert.deepEqual(
      dropped.discoveredLabels.map((l) => l.__address__),
      ['h1:1', 'h2:1'],
    );
    assert.deepEqual([...fake.running().keys()], ['h5:1']);
  });

  it('over target_limit every scrape fails with the reason (forced error); back under it, scraping resumes', async () => {
    const fake = new FakeScrape();
    const { pool, clock } = startPool(fake, { targetLimit: 2 });
    fake.discoverers[0].send([group('a', ['h1:1', 'h2:1'])]);
    await pool.whenSynced();
    assert.equal(fake.forcedError, undefined);
    fake.discoverers[0].send([group('a', ['h1:1', 'h2:1', 'h3:1'])]);
    clock.advance(5000);
    await settle();
    const error = targetLimitError(3, 2);
    assert.equal(error, 'target_limit exceeded (number of targets: 3, limit: 2)');
    assert.equal(fake.forcedError, error);
    // Every target keeps a loop (whose scrapes fail), as Prometheus keeps them.
    assert.deepEqual([...fake.running().keys()], ['h1:1', 'h2:1', 'h3:1']);
    fake.discoverers[0].send([group('a', ['h1:1'])]);
    clock.advance(5000);
    await settle();
    assert.equal(fake.forcedError, undefined);
    assert.deepEqual([...fake.running().keys()], ['h1:1']);
  });

  it('reload with the same discovery: every kept target is restarted with the handoff of its old loop, without stale markers', async () => {
    const fake = new FakeScrape();
    const { pool } = startPool(fake);
    fake.discoverers[0].send([group('a', ['h1:1', 'h2:1'])]);
    await pool.whenSynced();
    const [h1, h2] = fake.loops;
    h1.hold();
    const replaced = pool.reload(scrapeConfig({ sampleLimit: 10 }), fake.deps(1));
    await settle();
    // h1's scrape in progress holds its replacement back; h2 is replaced at once.
    assert.deepEqual(h1.stoppedWith, { staleMarkers: false });
    assert.deepEqual(h2.stoppedWith, { staleMarkers: false });
    assert.deepEqual(
      fake.loops.slice(2).map((l) => [l.target.labels.instance, handoffId(l.startedWith), l.version]),
      [['h2:1', 2, 1]],
    );
    h1.release();
    await replaced;
    assert.deepEqual(
      fake.loops.slice(2).map((l) => [l.target.labels.instance, handoffId(l.startedWith), l.version]),
      [
        ['h2:1', 2, 1],
        ['h1:1', 1, 1],
      ],
    );
    assert.equal(fake.discoverers.length, 1, 'discovery kept');
    assert.equal(fake.discoverers[0].running, true);
  });

  it('reload with changed discovery: old loops keep scraping until the new discoverer reports, then hand over', async () => {
    const fake = new FakeScrape();
    const { pool } = startPool(fake);
    fake.discoverers[0].send([group('a', ['h1:1', 'h2:1'])]);
    await pool.whenSynced();
    const [h1, h2] = fake.loops;
    const replaced = pool.reload(
      scrapeConfig({ serviceDiscovery: [{ kind: 'static', groups: [{ targets: ['h1:1'], labels: {} }] }] }),
      fake.deps(1),
    );
    await settle();
    assert.equal(fake.discoverers[0].running, false, 'old discoverer stopped');
    assert.equal(h1.stoppedWith, undefined);
    assert.equal(h2.stoppedWith, undefined);
    fake.discoverers[1].send([group('0', ['h1:1'])]);
    await replaced;
    assert.deepEqual(h1.stoppedWith, { staleMarkers: false });
    assert.deepEqual(h2.stoppedWith, { staleMarkers: true });
    const [next] = fake.loops.slice(2);
    assert.deepEqual([next.target.labels.instance, handoffId(next.startedWith), next.version], ['h1:1', 1, 1]);
  });

  it('a target whose interval changed keeps its series: its loop is replaced with a handoff, no stale markers', async () => {
    const fake = new FakeScrape();
    const { pool, clock } = startPool(fake);
    fake.discoverers[0].send([group('a', ['h1:1'])]);
    await pool.whenSynced();
    const [h1] = fake.loops;
    fake.discoverers[0].send([group('a', ['h1:1'], { __interval_ms: '5000' })]);
    clock.advance(5000);
    await settle();
    assert.deepEqual(h1.stoppedWith, { staleMarkers: false });
    const [next] = fake.loops.slice(1);
    assert.deepEqual([next.target.intervalMs, handoffId(next.startedWith)], [5000, 1]);
    assert.equal(pool.activeTargets()[0].target.intervalMs, 5000);
  });

  it('stop without stale markers waits for scrapes in progress and stops discovery', async () => {
    const fake = new FakeScrape();
    const { pool } = startPool(fake);
    fake.discoverers[0].send([group('a', ['h1:1'])]);
    await pool.whenSynced();
    const [h1] = fake.loops;
    h1.hold();
    let stopped = false;
    const stopping = pool.stop({ staleMarkers: false }).then(() => {
      stopped = true;
    });
    await settle();
    assert.equal(stopped, false);
    h1.release();
    await stopping;
    assert.deepEqual(h1.stoppedWith, { staleMarkers: false });
    assert.equal(fake.discoverers[0].running, false);
  });
});
