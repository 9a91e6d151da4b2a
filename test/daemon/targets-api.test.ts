import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globalUrl, targetsJson } from '../../src/daemon/targets-api.js';
import { renderTargetsPage } from '../../src/daemon/targets-page.js';
import type { JobTargets } from '../../src/scrape/scrape-manager.js';
import { scrapeConfig } from '../scrape/pool-fakes.js';

const jobs: JobTargets[] = [
  {
    jobName: 'a',
    config: scrapeConfig({ jobName: 'a' }),
    active: [
      {
        target: {
          labels: { instance: 'h:1', job: 'a', note: '<b>' },
          discoveredLabels: { __address__: 'h:1', job: 'a' },
          url: 'http://h:1/metrics',
          intervalMs: 90_000,
          timeoutMs: 10_000,
        },
        status: { health: 'unknown', lastError: '', lastScrapeMs: 0, lastScrapeDurationMs: 0, lastSamples: 0 },
      },
    ],
    dropped: { discoveredLabels: [{ __address__: 'd:1', job: 'a' }], count: 3 },
  },
];

describe('/api/v1/targets', () => {
  it("a target never scraped has Go's zero time, durations as Prometheus prints them", () => {
    const body = targetsJson(jobs, '', 'node1');
    assert.deepEqual(body.data.activeTargets, [
      {
        discoveredLabels: { __address__: 'h:1', job: 'a' },
        labels: { instance: 'h:1', job: 'a', note: '<b>' },
        scrapePool: 'a',
        scrapeUrl: 'http://h:1/metrics',
        globalUrl: 'http://h:1/metrics',
        lastError: '',
        lastScrape: '0001-01-01T00:00:00Z',
        lastScrapeDuration: 0,
        health: 'unknown',
        scrapeInterval: '1m30s',
        scrapeTimeout: '10s',
      },
    ]);
    assert.deepEqual(body.data.droppedTargets, [
      { discoveredLabels: { __address__: 'd:1', job: 'a' }, scrapePool: 'a' },
    ]);
    assert.deepEqual(body.data.droppedTargetCounts, { a: 3 });
  });

  it('state=active leaves out dropped targets, state=dropped the active ones, an unknown state reads as any', () => {
    assert.equal(targetsJson(jobs, 'state=active', 'n').data.droppedTargets.length, 0);
    assert.equal(targetsJson(jobs, 'state=active', 'n').data.activeTargets.length, 1);
    assert.equal(targetsJson(jobs, 'state=Dropped', 'n').data.activeTargets.length, 0);
    assert.equal(targetsJson(jobs, 'state=dropped', 'n').data.droppedTargets.length, 1);
    const any = targetsJson(jobs, 'state=whatever', 'n').data;
    assert.deepEqual([any.activeTargets.length, any.droppedTargets.length], [1, 1]);
  });

  it('globalUrl replaces a loopback host by the hostname', () => {
    assert.equal(globalUrl('http://127.0.0.1:9090/metrics?a=b', 'node1'), 'http://node1:9090/metrics?a=b');
    assert.equal(globalUrl('http://localhost:9090/metrics', 'node1'), 'http://node1:9090/metrics');
    assert.equal(globalUrl('http://10.0.0.1:9090/metrics', 'node1'), 'http://10.0.0.1:9090/metrics');
  });

  it('/targets escapes labels and says how many were dropped', () => {
    const html = renderTargetsPage({ jobs, nowMs: 0, version: 'v' });
    assert.ok(html.includes('note="&#60;b&#62;"'));
    assert.ok(!html.includes('<b>'));
    assert.ok(html.includes('3 targets dropped by relabeling'));
    assert.ok(html.includes('a (0/1 up)'));
  });
});
