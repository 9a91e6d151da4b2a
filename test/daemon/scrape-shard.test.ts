import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../../src/daemon/cli.js';
import { resolveScrapeShard, SHARD_HASH_LABEL, shardRelabelRules } from '../../src/daemon/scraping.js';
import { silentLogger } from '../../src/logger.js';
import { compileRelabeling } from '../../src/relabel/engine.js';
import { hashMod } from '../../src/relabel/hashmod.js';
import { ScrapeManager } from '../../src/scrape/scrape-manager.js';
import { populateTargetLabels } from '../../src/scrape/target-labels.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { FakeScrape, group, scrapeConfig } from '../scrape/pool-fakes.js';

describe('scrape sharding', () => {
  it('takes the index from the flags, or from the ordinal ending a StatefulSet hostname', () => {
    assert.equal(resolveScrapeShard(undefined, undefined, 'x'), undefined);
    assert.deepEqual(resolveScrapeShard('3', '1', 'x'), { index: 1, count: 3 });
    assert.deepEqual(resolveScrapeShard('3', undefined, 'promspool-2'), { index: 2, count: 3 });
    assert.deepEqual(resolveScrapeShard('12', undefined, 'my-agent-set-11'), { index: 11, count: 12 });
    assert.throws(() => resolveScrapeShard('3', undefined, 'promspool-3'), /--scrape.shard-index 3 must be below/);
    assert.throws(() => resolveScrapeShard('3', undefined, 'laptop'), /hostname is "laptop"/);
    assert.throws(() => resolveScrapeShard('0', '0', 'x'), /positive integer, got "0"/);
    assert.throws(() => resolveScrapeShard('3', '-1', 'x'), /non-negative integer/);
    assert.throws(() => resolveScrapeShard(undefined, '1', 'x'), /needs --scrape.shard-count/);
  });

  it('the CLI refuses an unusable shard with exit code 2 before starting', async () => {
    let err = '';
    const code = await main(['--scrape.shard-count', '2'], { hostname: 'promspool-5', stderr: (t) => (err += t) });
    assert.equal(code, 2);
    assert.match(err, /--scrape.shard-index 5 must be below --scrape.shard-count 2/);
  });

  it("N replicas scrape every target exactly once, each the targets whose __address__ hashmod N is its index, after the job's own rules", async () => {
    const count = 3;
    const addresses = Array.from({ length: 60 }, (_, i) => `10.0.${i >> 4}.${i}:9100`);
    const owner = new Map<string, number>();
    for (let index = 0; index < count; index++) {
      const fake = new FakeScrape();
      const manager = new ScrapeManager({
        components: (config) => {
          const relabeler = compileRelabeling(config.relabelConfigs, config.nameValidationScheme);
          return {
            ...fake.deps(),
            populate: (target, groupLabels) => populateTargetLabels(config, relabeler, target, groupLabels),
          };
        },
        clock: new SimulatedClock(0),
        logger: silentLogger,
        extraRelabelConfigs: shardRelabelRules({ index, count }),
      });
      // The job's own rule runs first: a target it drops is no shard's.
      await manager.applyConfig([
        scrapeConfig({
          relabelConfigs: [
            {
              sourceLabels: ['__address__'],
              separator: ';',
              regex: '10\\.0\\.0\\.0:9100',
              modulus: 0n,
              targetLabel: '',
              replacement: '$1',
              action: 'drop',
            },
          ],
        }),
      ]);
      fake.discoverers[0].send([group('0', addresses)]);
      await manager.whenReady();
      for (const loop of fake.running().values()) {
        const address = loop.target.labels.instance;
        assert.equal(owner.get(address), undefined, `${address} scraped twice`);
        owner.set(address, index);
        assert.equal(hashMod(address, BigInt(count)), String(index));
        assert.equal(SHARD_HASH_LABEL in loop.target.labels, false, 'the scratch label is not a target label');
      }
      await manager.stop();
    }
    assert.equal(owner.size, addresses.length - 1);
    assert.equal(owner.has('10.0.0.0:9100'), false);
    const perShard = [0, 1, 2].map((i) => [...owner.values()].filter((o) => o === i).length);
    assert.ok(
      perShard.every((n) => n > 0),
      `every shard has targets: ${perShard}`,
    );
  });
});
