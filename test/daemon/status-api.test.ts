/**
 * The daemon's status routes over HTTP: `GET /api/v1/status`, the page at `/` rendered from it
 * (its table complete without JavaScript) and the `/static/` files the page loads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { Script } from 'node:vm';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { ENDPOINT_COLUMNS } from '../../src/daemon/status-format.js';
import type { StatusResponse } from '../../src/daemon/status-types.js';
import type { EndpointStats } from '../../src/queue-types.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest, postWrite } from './http-client.js';
import { writeRequestV1 } from './rw-bodies.js';
import { testConfig } from './test-config.js';

const T0 = 1_700_000_000_000;

function stats(over: Partial<EndpointStats>): EndpointStats {
  return {
    name: 'primary',
    url: 'http://user:secret@127.0.0.1:1/api/v1/write',
    pendingSegments: 2,
    pendingBytes: 3 * 1024,
    pendingSamples: 40,
    oldestPendingTimestampMs: T0 - 30_000,
    highestTimestampMs: T0,
    highestSentTimestampMs: T0 - 1_000,
    samplesSent: 0,
    samplesDropped: { ttl: 0, too_old: 2, '4xx': 0 },
    samplesRetried: 0,
    ...over,
  };
}

/**
 * The keys of `value`, nested, as `a.b.c` paths; an array of objects by its first element's;
 * maps keyed by data (drop reasons, status codes) and arrays of numbers count as leaves.
 */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    return first !== null && typeof first === 'object' ? keyPaths(first, prefix) : [prefix];
  }
  if (value === null || typeof value !== 'object') return [prefix];
  if (/(^|\.)(dropped|requests|requestsPerSecond)$/.test(prefix)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keyPaths(v, prefix === '' ? k : `${prefix}.${k}`));
}

/** The JSON example of the status API in docs/operations.md. */
function documentedExample(): StatusResponse {
  const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('### The status page and `/api/v1/status`'));
  const block = /```json\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'docs/operations.md: no JSON example under "The status page and /api/v1/status"');
  return JSON.parse(block[1]) as StatusResponse;
}

/** The text of each cell of the row `<tr data-endpoint="name">`. */
function rowCells(html: string, name: string): string[] {
  const row = new RegExp(`<tr data-endpoint="${name}">(.*?)</tr>`).exec(html);
  assert.ok(row, `no row for ${name} in:\n${html}`);
  return [...row[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]);
}

describe('status routes', () => {
  let daemon: Daemon;
  let queue: FakeQueue;
  const clock = new SimulatedClock(T0);

  before(async () => {
    queue = new FakeQueue();
    queue.statsValue = { endpoints: [stats({ samplesSent: 0 })] };
    daemon = await startDaemon(testConfig(), { queueFactory: async () => queue, clock, collectDefaultMetrics: false });
    await clock.settle();
  });
  after(async () => {
    await daemon.stop();
  });

  test('GET /api/v1/status: JSON of the endpoints, receiver and history; rates from sampled counters', async () => {
    assert.equal((await postWrite(`${daemon.url}/api/v1/write`, writeRequestV1([]))).status, 204);
    await clock.advanceAndSettle(10_000);
    queue.statsValue = {
      endpoints: [
        stats({
          samplesSent: 1000,
          lastError: { message: 'POST http://user:secret@127.0.0.1:1/x: 503', atMs: T0 + 9_000 },
        }),
      ],
    };
    await clock.advanceAndSettle(5_000);
    const res = await httpRequest(`${daemon.url}/api/v1/status`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    const s = JSON.parse(res.body) as StatusResponse;
    assert.equal(s.nowMs, T0 + 15_000);
    assert.equal(s.startedAtMs, T0);
    assert.deepEqual(s.history.timestampsMs, [T0, T0 + 10_000]);
    assert.equal(s.endpoints.length, 1);
    const e = s.endpoints[0];
    assert.equal(e.url, 'http://user:redacted@127.0.0.1:1/api/v1/write');
    assert.deepEqual(e.backlog, {
      samples: 40,
      bytes: 3072,
      segments: 2,
      oldestPendingTimestampMs: T0 - 30_000,
      oldestPendingAgeSeconds: 45,
    });
    // The fake queue's counters went 0 -> 1000 after the second point: 1000 over the 15 s since the first.
    assert.equal(e.rates.sentSamplesPerSecond, 1000 / 15);
    assert.deepEqual(e.history.sentSamplesPerSecond, [null, 0]);
    assert.equal(e.lastError?.message, 'POST http://user:redacted@127.0.0.1:1/x: 503');
    assert.equal(e.lastError?.failingSinceMs, T0 + 9_000);
    assert.deepEqual(e.disk, {
      usedBytes: 3072,
      maxBytes: s.storage.maxDiskBytes,
      usedRatio: 3072 / s.storage.maxDiskBytes,
    });
    assert.deepEqual(s.receiver.requests, { '204': 1 });
    assert.equal(s.receiver.path, '/api/v1/write');
    assert.doesNotMatch(res.body, /secret/);
  });

  test('the example in docs/operations.md has exactly the keys of a real answer', async () => {
    const s = JSON.parse((await httpRequest(`${daemon.url}/api/v1/status`)).body) as StatusResponse;
    const doc = documentedExample();
    // The fake queue has no per-kind details: take the documented kinds' keys from the samples'.
    const real = keyPaths(s).filter((k) => !/^endpoints\.(histograms|exemplars)$/.test(k));
    // Nor relay counts (null here): the documented ones are collapsed to their key and checked below.
    const documented = keyPaths(doc)
      .filter((k) => !/^endpoints\.(histograms|exemplars)\./.test(k))
      .map((k) => k.replace(/^endpoints\.relay\..*/, 'endpoints.relay'));
    const norm = (paths: string[]) => [...new Set(paths)].sort();
    assert.deepEqual(norm(documented), norm(real));
    assert.deepEqual(Object.keys(doc.endpoints[0].histograms ?? {}), Object.keys(s.endpoints[0].samples));
    assert.equal(s.endpoints[0].relay, null);
    assert.deepEqual(Object.keys(doc.endpoints[0].relay ?? {}), [
      'storedBytes',
      'storedLabels',
      'transcoded',
      'decoded',
    ]);
  });

  test('GET / renders the same numbers as a table, send rate included, and links the script', async () => {
    const res = await httpRequest(`${daemon.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const cells = rowCells(res.body, 'primary');
    assert.equal(cells.length, ENDPOINT_COLUMNS.length);
    const byColumn = Object.fromEntries(ENDPOINT_COLUMNS.map((c, i) => [c, cells[i]]));
    assert.deepEqual(byColumn, {
      name: 'primary',
      url: 'http://user:redacted@127.0.0.1:1/api/v1/write',
      'pending samples': '40',
      'pending bytes': '3.0 KiB',
      segments: '2',
      'oldest pending': '45s',
      'send rate': '66.7/s',
      // received = sent + dropped + pending: 1042 over 15 s, less the 42 there at the first point.
      'receive rate': '66.7/s',
      sent: '1000',
      failed: '-',
      dropped: 'too_old: 2',
      shards: '-',
      disk: '3.0 KiB of 10.0 GiB (0.0%)',
      'relayed records': '',
      'last error': 'POST http://user:redacted@127.0.0.1:1/x: 503 (6s ago, failing for 6s)',
    });
    assert.match(res.body, /<td class="err">POST/);
    assert.match(
      res.body,
      /<tbody id="receiver-requests"><tr><td>204<\/td><td>1<\/td><td>0\.1\/s<\/td><\/tr><\/tbody>/,
    );
    assert.match(
      res.body,
      /<script src="\/static\/uplot\.min\.js"><\/script>\n<script src="\/static\/status\.js"><\/script>/,
    );
    assert.match(res.body, /<div class="chart" data-endpoint="primary"><\/div>/);
    assert.doesNotMatch(res.body, /secret/);
  });

  test('HEAD answers without a body; other methods 405', async () => {
    for (const path of ['/', '/api/v1/status', '/static/status.js']) {
      const head = await httpRequest(`${daemon.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200, path);
      assert.equal(head.body, '', path);
      const post = await httpRequest(`${daemon.url}${path}`, { method: 'POST' });
      assert.equal(post.status, 405, path);
      assert.equal(post.headers.allow, 'GET', path);
    }
  });

  test('/static/: the page script (valid JavaScript) and uPlot from the installed package; 404 otherwise', async () => {
    const script = await httpRequest(`${daemon.url}/static/status.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.doesNotThrow(() => new Script(script.body, { filename: 'status.js' }));
    assert.match(script.body, /statusClient\(5000\);/);
    const resolve = createRequire(import.meta.url).resolve;
    const js = await httpRequest(`${daemon.url}/static/uplot.min.js`);
    assert.equal(js.status, 200);
    assert.equal(js.body, readFileSync(resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    const css = await httpRequest(`${daemon.url}/static/uplot.min.css`);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.body, readFileSync(resolve('uplot/dist/uPlot.min.css'), 'utf8'));
    assert.equal((await httpRequest(`${daemon.url}/static/nope.js`)).status, 404);
    assert.equal((await httpRequest(`${daemon.url}/static/../package.json`)).status, 404);
  });
});
