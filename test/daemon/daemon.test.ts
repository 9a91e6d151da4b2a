import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest, postWrite } from './http-client.js';
import { writeRequestV1 } from './rw-bodies.js';
import { testConfig, testConfigYaml } from './test-config.js';

describe('daemon endpoints', () => {
  let daemon: Daemon;
  let queue: FakeQueue;
  let dir: string;
  let configPath: string;
  const logLines: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promspool-daemon-'));
    configPath = join(dir, 'promspool.yaml');
    writeFileSync(configPath, testConfigYaml());
    queue = new FakeQueue();
    queue.ready = false;
    daemon = await startDaemon(testConfig(), {
      queueFactory: async () => queue,
      configPath,
      logger: createDaemonLogger({ write: (l) => logLines.push(l) }),
    });
  });
  after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/-/healthy is 200; unknown paths 404', async () => {
    assert.equal((await httpRequest(`${daemon.url}/-/healthy`)).status, 200);
    assert.equal((await httpRequest(`${daemon.url}/nope`)).status, 404);
  });

  test('/-/ready is 503 until the queue is ready, then 200', async () => {
    assert.equal((await httpRequest(`${daemon.url}/-/ready`)).status, 503);
    queue.ready = true;
    assert.equal((await httpRequest(`${daemon.url}/-/ready`)).status, 200);
  });

  test('/metrics has process metrics and the receiver counter family', async () => {
    await postWrite(`${daemon.url}/api/v1/write`, writeRequestV1([{ labels: [['__name__', 'a']], samples: [[1, 1]] }]));
    const res = await httpRequest(`${daemon.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.body, /^# TYPE promspool_receiver_requests_total counter$/m);
    assert.match(res.body, /^promspool_receiver_requests_total\{code="204"\} 1$/m);
    assert.match(res.body, /^process_cpu_user_seconds_total /m);
    assert.match(res.body, /^promspool_config_last_reload_successful 1$/m);
  });

  test('POST /-/reload with a valid file applies it to the queue and the receiver', async () => {
    writeFileSync(configPath, testConfigYaml('', 'receiver:\n  enabled: true\n  path: /push\n'));
    const res = await httpRequest(`${daemon.url}/-/reload`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(queue.appliedConfigs.length, 1);
    assert.equal(queue.appliedConfigs[0].receiver.path, '/push');
    assert.equal(daemon.config.receiver.path, '/push');
    const body = writeRequestV1([{ labels: [['__name__', 'a']], samples: [[1, 1]] }]);
    assert.equal((await postWrite(`${daemon.url}/push`, body)).status, 204);
    assert.equal((await postWrite(`${daemon.url}/api/v1/write`, body)).status, 404);
  });

  test('POST /-/reload with an invalid file answers 400 with every error and keeps the old config', async () => {
    writeFileSync(
      configPath,
      `${testConfigYaml()}storage_typo: 1\n`.replace('shutdown_timeout: 5s', 'shutdown_timeout: soon'),
    );
    const before = logLines.length;
    const res = await httpRequest(`${daemon.url}/-/reload`, { method: 'POST' });
    assert.equal(res.status, 400);
    const lines = res.body.trim().split('\n');
    assert.equal(lines[0], 'configuration not reloaded:');
    assert.equal(lines.length, 3, res.body);
    assert.match(res.body, /server\.shutdown_timeout: .*\(line 3\)/);
    assert.match(res.body, /storage_typo.*\(line \d+\)/);
    assert.equal(queue.appliedConfigs.length, 1);
    assert.equal(daemon.config.receiver.path, '/push');
    const errorLines = logLines.slice(before).filter((l) => l.includes('level=error'));
    assert.equal(errorLines.length, 2);
    const metrics = await httpRequest(`${daemon.url}/metrics`);
    assert.match(metrics.body, /^promspool_config_last_reload_successful 0$/m);
  });

  test('reload(text) parses the given text', async () => {
    const result = await daemon.reload(testConfigYaml());
    assert.deepEqual(result, { ok: true });
    assert.equal(daemon.config.receiver.path, '/api/v1/write');
  });

  test('GET /-/reload is 405', async () => {
    const res = await httpRequest(`${daemon.url}/-/reload`);
    assert.equal(res.status, 405);
  });

  test('status page lists endpoints with credentials redacted', async () => {
    queue.statsValue = {
      endpoints: [
        {
          name: 'primary',
          url: 'https://user:topsecret@mimir.example/api/v1/push',
          pendingSegments: 3,
          pendingBytes: 5 * 1024 * 1024,
          pendingSamples: 12345,
          oldestPendingTimestampMs: 0,
          highestTimestampMs: Date.now(),
          highestSentTimestampMs: Date.now() - 120_000,
          samplesSent: 999,
          samplesDropped: { too_old: 4 },
          samplesRetried: 0,
          lastError: { message: 'POST https://user:topsecret@mimir.example/x?token=abc: 503', atMs: Date.now() - 5000 },
        },
      ],
    };
    const res = await httpRequest(`${daemon.url}/`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(res.body, /topsecret|token=abc/);
    assert.match(
      res.body,
      /<td>primary<\/td><td>https:\/\/user:redacted@mimir\.example\/api\/v1\/push<\/td><td>12345<\/td><td>5\.0 MiB<\/td><td>3<\/td>/,
    );
    assert.match(res.body, /too_old: 4/);
    assert.match(res.body, /&le; 2m0s/);
  });
});

test('self-monitoring feeds the registry into the queue with the daemon port in instance', async () => {
  const queue = new FakeQueue();
  const committed = new Promise<void>((r) => {
    queue.onCommit = r;
  });
  const config = testConfig();
  config.selfMonitoring = { enabled: true, intervalMs: 10 };
  const daemon = await startDaemon(config, {
    queueFactory: async () => queue,
    hostname: 'testhost',
    collectDefaultMetrics: false,
  });
  try {
    await committed;
  } finally {
    await daemon.stop();
  }
  const reload = queue.samples.find((s) => s.labels.__name__ === 'promspool_config_last_reload_successful');
  assert.deepEqual(reload?.labels, {
    __name__: 'promspool_config_last_reload_successful',
    job: 'promspool',
    instance: `testhost:${daemon.port}`,
  });
  assert.equal(reload?.value, 1);
});

test('a listen address in use makes startDaemon reject and stops the queue', async () => {
  const first = await startDaemon(testConfig(), {
    queueFactory: async () => new FakeQueue(),
    collectDefaultMetrics: false,
  });
  try {
    const config = testConfig();
    config.server.listenAddress = `127.0.0.1:${first.port}`;
    const queue = new FakeQueue();
    await assert.rejects(startDaemon(config, { queueFactory: async () => queue, collectDefaultMetrics: false }), {
      code: 'EADDRINUSE',
    });
    assert.equal(queue.stopCalls, 1);
  } finally {
    await first.stop();
  }
});

test('delivery workers: the CPUs left after the event loop and the relay scan workers, unless given', async () => {
  const cpus = availableParallelism();
  const cases: { opts: { relayScanWorkers?: number; deliveryWorkers?: number }; want: number }[] = [
    { opts: { relayScanWorkers: 1 }, want: Math.max(0, cpus - 2) },
    { opts: { relayScanWorkers: 0 }, want: Math.max(0, cpus - 1) },
    { opts: {}, want: Math.max(0, cpus - 1 - (cpus > 1 ? 1 : 0)) },
    { opts: { relayScanWorkers: 1, deliveryWorkers: 3 }, want: 3 },
  ];
  for (const { opts, want } of cases) {
    let asked: number | undefined;
    const daemon = await startDaemon(testConfig(), {
      queueFactory: async (_config, deps) => {
        asked = deps.deliveryWorkers;
        return new FakeQueue();
      },
      collectDefaultMetrics: false,
      ...opts,
    });
    await daemon.stop();
    assert.equal(asked, want, JSON.stringify(opts));
  }
});
