import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { ScrapeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { ScrapeManager } from '../../src/scrape/scrape-manager.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { FakeScrape, group, handoffId, scrapeConfig } from './pool-fakes.js';

function startManager() {
  const fakes = new Map<string, FakeScrape>();
  const versions = new Map<string, number>();
  const closed: string[] = [];
  const registry = new Registry();
  const manager = new ScrapeManager({
    components: (config: ScrapeConfig) => {
      const job = config.jobName;
      let fake = fakes.get(job);
      if (fake === undefined) {
        fake = new FakeScrape();
        fakes.set(job, fake);
      }
      const version = (versions.get(job) ?? -1) + 1;
      versions.set(job, version);
      return { ...fake.deps(version), close: () => closed.push(`${job}@${version}`) };
    },
    clock: new SimulatedClock(0),
    logger: silentLogger,
    registry,
    updateDelayMs: 5000,
  });
  return { manager, fakes, closed, registry };
}

describe('ScrapeManager', () => {
  it('reload: unchanged job untouched, changed job hands over, removed job stops with stale markers', async () => {
    const { manager, fakes, closed } = startManager();
    const a = scrapeConfig({ jobName: 'a' });
    const b = scrapeConfig({ jobName: 'b' });
    const c = scrapeConfig({ jobName: 'c' });
    await manager.applyConfig([a, b, c]);
    for (const job of ['a', 'b', 'c']) fakes.get(job)!.discoverers[0].send([group('0', [`${job}:1`])]);
    await manager.whenReady();
    assert.equal(manager.ready, true);

    await manager.applyConfig([scrapeConfig({ jobName: 'a' }), scrapeConfig({ jobName: 'b', sampleLimit: 5 })]);
    // c stopped with stale markers before applyConfig resolved.
    assert.deepEqual(fakes.get('c')!.loops[0].stoppedWith, { staleMarkers: true });
    assert.ok(closed.includes('c@0'));
    assert.deepEqual(manager.jobNames, ['a', 'b']);
    await new Promise((r) => setImmediate(r));
    assert.equal(fakes.get('a')!.loops.length, 1);
    assert.equal(fakes.get('a')!.loops[0].stoppedWith, undefined);
    const [oldB, newB] = fakes.get('b')!.loops;
    assert.deepEqual(oldB.stoppedWith, { staleMarkers: false });
    assert.deepEqual([handoffId(newB.startedWith), newB.version], [1, 1]);
    // b's old client closed once every loop of it was replaced; a's was never touched.
    assert.deepEqual(closed.sort(), ['b@0', 'c@0']);

    await manager.stop();
    assert.deepEqual(fakes.get('a')!.loops[0].stoppedWith, { staleMarkers: false });
    assert.deepEqual(newB.stoppedWith, { staleMarkers: false });
  });

  it('lists targets per job in config order and exports pool and discovery metrics', async () => {
    const { manager, fakes, registry } = startManager();
    await manager.applyConfig([scrapeConfig({ jobName: 'z', targetLimit: 1 }), scrapeConfig({ jobName: 'y' })]);
    fakes.get('z')!.discoverers[0].send([group('0', ['z:1', 'z:2'])]);
    fakes.get('y')!.discoverers[0].send([group('0', ['y:1']), group('1', ['y:2'], { drop: 'yes' })]);
    await manager.whenReady();
    const jobs = manager.targets();
    assert.deepEqual(
      jobs.map((j) => [j.jobName, j.active.length, j.dropped.count]),
      [
        ['z', 2, 0],
        ['y', 1, 1],
      ],
    );
    const text = await registry.metrics();
    for (const line of [
      'prometheus_target_scrape_pools_total 2',
      'prometheus_target_scrape_pool_targets{scrape_job="z"} 2',
      'prometheus_target_scrape_pool_targets{scrape_job="y"} 1',
      'prometheus_target_scrape_pool_target_limit{scrape_job="z"} 1',
      'prometheus_target_scrape_pool_exceeded_target_limit_total 1',
      'prometheus_sd_discovered_targets{config="z",name="scrape"} 2',
      'prometheus_sd_discovered_targets{config="y",name="scrape"} 2',
      'prometheus_sd_received_updates_total{name="scrape"} 2',
    ]) {
      assert.ok(text.includes(`${line}\n`), `${line} in\n${text}`);
    }
    await manager.stop();
  });

  it('a job whose components cannot be built is logged and left out; the others run', async () => {
    const fake = new FakeScrape();
    const manager = new ScrapeManager({
      components: (config) => {
        if (config.jobName === 'broken') throw new Error('tls_config.ca_file: no such file');
        return fake.deps();
      },
      clock: new SimulatedClock(0),
      logger: silentLogger,
    });
    await manager.applyConfig([scrapeConfig({ jobName: 'broken' }), scrapeConfig({ jobName: 'ok' })]);
    assert.deepEqual(manager.jobNames, ['ok']);
    await manager.stop();
  });
});
