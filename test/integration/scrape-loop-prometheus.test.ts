// End to end: one scrape loop -> createQueue -> remote write -> a real Prometheus, read back
// through its query API: the scraped values, the report series, and the stale markers of a series
// that disappeared and of a failed scrape, as Prometheus stores them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createQueue } from '../../src/queue.js';
import { createScrapeClient } from '../../src/scrape/scrape-client.js';
import { startScrapeLoop } from '../../src/scrape/scrape-loop.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { fastOptions, tempDataDir } from '../queue/queue-helpers.js';
import { loopConfig, loopTarget, TestTarget } from '../scrape/loop-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus');

describe('a scrape loop delivers through the queue to a real Prometheus', { skip }, () => {
  let prom: PrometheusInstance;
  let server: TestTarget;

  before(async () => {
    prom = await startPrometheus();
    server = await TestTarget.start();
  });

  after(async () => {
    await server?.close();
    await prom?.stop();
  });

  it('values, report series and stale markers (series gone, scrape failed) as Prometheus stores them', async () => {
    const dir = await tempDataDir('scrape-loop');
    const queue = await createQueue(fastOptions(dir.path, prom.writeUrl, { name: 'prom' }));
    // Ten minutes in the past, so that every timestamp is accepted and queried as history.
    const clock = new SimulatedClock(Date.now() - 10 * 60_000);
    const config = loopConfig({ jobName: 'loop_it' });
    const target = loopTarget(server.url, { labels: { job: 'loop_it', instance: 't1' } });
    const client = createScrapeClient(config, { clock });
    const loop = startScrapeLoop({ target, config, client, sink: queue, clock });
    const scrape = async () => {
      const at = clock.nextDeadline()!;
      clock.advance(at - clock.now());
      await loop.idle();
      return at;
    };
    try {
      server.serve('# TYPE loop_it_a gauge\nloop_it_a{x="1"} 1\nloop_it_a{x="2"} 2\n');
      const t1 = await scrape();
      server.serve('# TYPE loop_it_a gauge\nloop_it_a{x="1"} 3\n');
      const t2 = await scrape();
      server.handler = (_req, res) => {
        res.statusCode = 500;
        res.end();
      };
      const t3 = await scrape();
      await loop.stop({ staleMarkers: false });
      await queue.flush();

      await waitUntil(async () => (await prom.query('up{job="loop_it"}', t3 + 1)).length, {
        until: (n) => n === 1,
        timeoutMs: 30_000,
        intervalMs: 200,
        description: 'up of the third scrape stored',
      });
      const values = async (promql: string, at: number) =>
        (await prom.query(promql, at))
          .map((s) => `${s.metric.x ?? ''}=${s.samples[0]?.value}`)
          .sort()
          .join(' ');
      assert.equal(await values('loop_it_a', t1 + 1), '1=1 2=2');
      // x="2" went stale at t2; x="1" at t3, when the scrape failed.
      assert.equal(await values('loop_it_a', t2 + 1), '1=3');
      assert.equal(await values('loop_it_a', t3 + 1), '');
      assert.equal(await values('up{job="loop_it",instance="t1"}', t1 + 1), '=1');
      assert.equal(await values('up{job="loop_it",instance="t1"}', t3 + 1), '=0');
      assert.equal(await values('scrape_samples_scraped{job="loop_it"}', t1 + 1), '=2');
      assert.equal(await values('scrape_series_added{job="loop_it"}', t2 + 1), '=0');
      // Raw samples: the stale markers are stored (the range selector leaves them out).
      const raw = await prom.query('loop_it_a{x="1"}[20m]', t3 + 1);
      assert.deepEqual(
        raw[0]?.samples.map((s) => [s.timestampMs, s.value]),
        [
          [t1, 1],
          [t2, 3],
        ],
      );
    } finally {
      await loop.stop({ staleMarkers: false });
      await client.close();
      await queue.stop();
      await dir.remove();
    }
  });
});
