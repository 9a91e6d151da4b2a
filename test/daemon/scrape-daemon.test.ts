/**
 * The daemon scraping into its queue: real loops and HTTP client against a local target, a
 * discoverer driven by the test, the fake queue. Covers readiness, /api/v1/targets, /targets,
 * self-metrics and the shutdown order (scrapes stop first, no stale markers).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ScrapeConfig } from '../../src/config/types.js';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import type { TargetsJson } from '../../src/daemon/targets-api.js';
import type { Discoverer } from '../../src/discovery/types.js';
import { scrapeConfig } from '../scrape/pool-fakes.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest } from './http-client.js';
import { testConfig } from './test-config.js';

const EXPOSITION = '# TYPE demo_total counter\ndemo_total{kind="a"} 7\n';

/** Resolves once `check()` holds after some commit; rejects after `timeoutMs`. */
function waitForCommit(queue: FakeQueue, check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const previous = queue.onCommit;
    const done = (err?: Error) => {
      clearTimeout(timer);
      queue.onCommit = previous;
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${what} not seen within ${timeoutMs} ms`)), timeoutMs);
    queue.onCommit = () => {
      previous?.();
      // The commit's samples are recorded once it resolves: look after this turn.
      setImmediate(() => {
        if (check()) done();
      });
    };
    if (check()) done();
  });
}

describe('daemon scraping', () => {
  let target: Server;
  let targetAddress: string;
  let daemon: Daemon;
  let queue: FakeQueue;
  let discovererStarted!: () => void;
  const discovering = new Promise<void>((r) => {
    discovererStarted = r;
  });

  before(async () => {
    target = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(EXPOSITION);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetAddress = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    queue = new FakeQueue();
    const job: ScrapeConfig = scrapeConfig({
      jobName: 'demo',
      // Long enough that a loaded machine does not time a scrape out.
      scrapeIntervalMs: 500,
      scrapeTimeoutMs: 450,
      scrapeProtocols: ['PrometheusText0.0.4'],
      serviceDiscovery: [{ kind: 'file', files: ['unused.json'], refreshIntervalMs: 60_000 }],
    });
    const config = { ...testConfig(), scrapeConfigs: [job] };
    daemon = await startDaemon(config, {
      queueFactory: async () => queue,
      hostname: 'promspool-test',
      collectDefaultMetrics: false,
      scrape: {
        updateDelayMs: 60_000,
        createDiscoverer: (): Discoverer => ({
          run(onUpdate, signal) {
            onUpdate([{ source: 'f', targets: [{ __address__: targetAddress }], labels: { team: 'x' } }]);
            discovererStarted();
            return new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
          },
        }),
      },
    });
  });
  after(async () => {
    await daemon.stop();
    await new Promise((r) => target.close(r));
  });

  test('started once the job applied its first targets: ready, and scraping into the queue', async () => {
    await discovering;
    assert.equal(daemon.scrapeManager.ready, true);
    assert.equal((await httpRequest(`${daemon.url}/-/ready`)).status, 200);
    await waitForCommit(
      queue,
      () => queue.samples.some((s) => s.labels.__name__ === 'demo_total'),
      10_000,
      'demo_total scraped',
    );
    const demo = queue.samples.find((s) => s.labels.__name__ === 'demo_total')!;
    assert.deepEqual(demo.labels, {
      __name__: 'demo_total',
      instance: targetAddress,
      job: 'demo',
      kind: 'a',
      team: 'x',
    });
    assert.equal(demo.value, 7);
    const up = queue.samples.find((s) => s.labels.__name__ === 'up' && s.timestampMs === demo.timestampMs)!;
    assert.deepEqual([up.labels, up.value], [{ __name__: 'up', instance: targetAddress, job: 'demo', team: 'x' }, 1]);
  });

  test('/api/v1/targets answers in Prometheus shape; state filters', async () => {
    const res = await httpRequest(`${daemon.url}/api/v1/targets`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = JSON.parse(res.body) as TargetsJson;
    assert.equal(body.status, 'success');
    assert.equal(body.data.activeTargets.length, 1);
    const t = body.data.activeTargets[0];
    assert.deepEqual(Object.keys(t).sort(), [
      'discoveredLabels',
      'globalUrl',
      'health',
      'labels',
      'lastError',
      'lastScrape',
      'lastScrapeDuration',
      'scrapeInterval',
      'scrapePool',
      'scrapeTimeout',
      'scrapeUrl',
    ]);
    assert.equal(t.scrapePool, 'demo');
    assert.equal(t.scrapeUrl, `http://${targetAddress}/metrics`);
    assert.equal(t.globalUrl, `http://promspool-test:${targetAddress.split(':')[1]}/metrics`);
    assert.equal(t.health, 'up');
    assert.equal(t.lastError, '');
    assert.deepEqual(t.labels, { instance: targetAddress, job: 'demo', team: 'x' });
    assert.equal(t.discoveredLabels.__address__, targetAddress);
    assert.equal(t.discoveredLabels.__scrape_interval__, '500ms');
    assert.equal(t.scrapeInterval, '500ms');
    assert.equal(t.scrapeTimeout, '450ms');
    assert.ok(Date.parse(t.lastScrape) > 0, t.lastScrape);
    assert.ok(t.lastScrapeDuration >= 0 && t.lastScrapeDuration < 1);
    assert.deepEqual(body.data.droppedTargetCounts, { demo: 0 });

    const dropped = JSON.parse((await httpRequest(`${daemon.url}/api/v1/targets?state=dropped`)).body) as TargetsJson;
    assert.deepEqual(dropped.data.activeTargets, []);
    const other = JSON.parse((await httpRequest(`${daemon.url}/api/v1/targets?scrapePool=nope`)).body) as TargetsJson;
    assert.deepEqual(other.data, { activeTargets: [], droppedTargets: [], droppedTargetCounts: {} });
  });

  test('/targets is server-rendered HTML listing the target; the status page links to it', async () => {
    const page = await httpRequest(`${daemon.url}/targets`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.ok(page.body.includes(`http://${targetAddress}/metrics`));
    assert.ok(page.body.includes('demo (1/1 up)'));
    assert.ok(!page.body.includes('<script'), 'no JavaScript needed');
    const status = await httpRequest(`${daemon.url}/`);
    assert.ok(status.body.includes('<a href="/targets">targets</a>'));
  });

  test('/metrics has the scrape and discovery self-metrics', async () => {
    const text = (await httpRequest(`${daemon.url}/metrics`)).body;
    assert.match(text, /^promspool_scrapes_total\{scrape_job="demo"\} [1-9]\d*$/m);
    assert.match(text, /^prometheus_target_scrape_pool_targets\{scrape_job="demo"\} 1$/m);
    assert.match(text, /^prometheus_sd_discovered_targets\{config="demo",name="scrape"\} 1$/m);
  });

  test('stop: scraping stops first and writes no stale markers', async () => {
    await daemon.stop();
    const stale = queue.samples.filter((s) => Number.isNaN(s.value));
    assert.deepEqual(stale, []);
    assert.equal(queue.stopCalls, 1);
    const count = queue.samples.length;
    // Longer than an interval: a loop still running would have scraped.
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(queue.samples.length, count, 'no scrape after stop');
  });
});

describe('daemon scraping over target_limit', () => {
  test('every scrape fails with the reason: up 0 for each target, shown on /api/v1/targets', async () => {
    const target = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(EXPOSITION);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const port = (target.address() as AddressInfo).port;
    // Two targets on the same server (different addresses), one allowed.
    const addresses = [`127.0.0.1:${port}`, `localhost:${port}`];
    const queue = new FakeQueue();
    const job = scrapeConfig({
      jobName: 'limited',
      scrapeIntervalMs: 500,
      scrapeTimeoutMs: 450,
      targetLimit: 1,
      scrapeProtocols: ['PrometheusText0.0.4'],
    });
    const daemon = await startDaemon(
      { ...testConfig(), scrapeConfigs: [job] },
      {
        queueFactory: async () => queue,
        collectDefaultMetrics: false,
        scrape: {
          createDiscoverer: (): Discoverer => ({
            run(onUpdate, signal) {
              onUpdate([{ source: 's', targets: addresses.map((a) => ({ __address__: a })), labels: {} }]);
              return new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
            },
          }),
        },
      },
    );
    try {
      const ups = () => queue.samples.filter((s) => s.labels.__name__ === 'up');
      await waitForCommit(queue, () => new Set(ups().map((s) => s.labels.instance)).size === 2, 10_000, 'up of both');
      assert.deepEqual(
        ups().map((s) => s.value),
        ups().map(() => 0),
      );
      assert.equal(
        queue.samples.some((s) => s.labels.__name__ === 'demo_total'),
        false,
        'nothing of the targets appended',
      );
      const error = 'target_limit exceeded (number of targets: 2, limit: 1)';
      const body = JSON.parse((await httpRequest(`${daemon.url}/api/v1/targets`)).body) as TargetsJson;
      assert.deepEqual(
        body.data.activeTargets.map((t) => [t.health, t.lastError]),
        [
          ['down', error],
          ['down', error],
        ],
      );
      const metrics = (await httpRequest(`${daemon.url}/metrics`)).body;
      assert.match(metrics, /^promspool_scrape_failures_total\{scrape_job="limited",reason="forced"\} [1-9]/m);
      assert.match(metrics, /^prometheus_target_scrape_pool_exceeded_target_limit_total 1$/m);
    } finally {
      await daemon.stop();
      await new Promise((r) => target.close(r));
    }
  });
});
