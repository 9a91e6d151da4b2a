// `node bin/promspool.js` with no arguments in a directory without promspool.yaml: the built-in
// default config (receiver 127.0.0.1:9201, endpoint 127.0.0.1:9090, self-monitoring every 15s,
// data in ./data). With nothing on 9090 it keeps running, queueing its own metrics on disk, and
// stops with exit 0 on SIGTERM, leaving the undelivered data in ./data.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { type CliProcess, makeTempDir, metricValue, spawnCli } from './daemon-helpers.js';
import { httpRequest } from './harness/http.js';
import { waitUntil } from './harness/wait.js';

const RECEIVER_PORT = 9201;
const ENDPOINT_PORT = 9090;
const SERIES_LABELS = '{remote_name="default",url="http://127.0.0.1:9090/api/v1/write"}';

/** Whether 127.0.0.1:`port` can be bound right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const dir = makeTempDir('default');
let daemon: CliProcess | undefined;

after(async () => {
  await daemon?.kill9();
  dir.remove();
});

it('built-in default: ready on 127.0.0.1:9201, says so, queues its own metrics to ./data while 9090 is down, exits 0 on SIGTERM', async (t) => {
  const [receiverFree, endpointFree] = await Promise.all([portFree(RECEIVER_PORT), portFree(ENDPOINT_PORT)]);
  if (!receiverFree || !endpointFree) {
    const busy = [!receiverFree && RECEIVER_PORT, !endpointFree && ENDPOINT_PORT].filter(Boolean).join(' and ');
    const message = `port ${busy} on 127.0.0.1 is in use on this machine; the built-in default config needs 9201 free and nothing on 9090`;
    console.error(`\n!!! SKIPPING daemon-default: ${message}\n`);
    t.skip(message);
    return;
  }
  const started = Date.now();
  daemon = spawnCli([], dir.path);
  const isRaw = (text: string) => (l: { msg: string }) => l.msg.includes(text);
  await daemon.waitForLog(isRaw('msg=listening address=127.0.0.1:9201'), 20_000);
  const logs = daemon.logs().map((l) => l.msg);
  assert.ok(
    logs.some((l) =>
      l.includes('msg="no --config given and no ./promspool.yaml: running the built-in default configuration"'),
    ),
    daemon.tail(),
  );
  assert.ok(
    logs.some((l) => l.includes('msg="starting promspool"') && l.includes('config="built-in default"')),
    daemon.tail(),
  );
  assert.ok(
    logs.some(
      (l) =>
        l.includes('msg="endpoint started"') &&
        l.includes('endpoint=default') &&
        l.includes('url=http://127.0.0.1:9090/api/v1/write') &&
        l.includes('dir=data/default'),
    ),
    daemon.tail(),
  );
  const base = `http://127.0.0.1:${RECEIVER_PORT}`;
  assert.equal((await httpRequest(`${base}/-/ready`)).status, 200);

  // The first self-monitoring snapshot comes after 15s; its segment seals 5s later and the sends
  // to 9090 fail and are retried. The data waits on disk under ./data/default.
  const metrics = await waitUntil(async () => (await httpRequest(`${base}/metrics`)).body.toString(), {
    until: (text) =>
      (metricValue(text, `prometheus_remote_storage_samples_retried_total${SERIES_LABELS}`) ?? 0) > 0 &&
      (metricValue(text, `promspool_queue_pending_bytes${SERIES_LABELS}`) ?? 0) > 0,
    timeoutMs: 40_000,
    intervalMs: 500,
    description: 'self-monitoring data queued and its sends to 9090 retried',
  });
  assert.equal(metricValue(metrics, `prometheus_remote_storage_samples_total${SERIES_LABELS}`), 0, 'nothing delivered');
  assert.ok((metricValue(metrics, `prometheus_remote_storage_samples_pending${SERIES_LABELS}`) ?? 0) > 0);
  const segments = readdirSync(join(dir.path, 'data', 'default')).filter((f) => /^\d+\.(open|committed)$/.test(f));
  assert.ok(segments.length > 0, 'a segment in ./data/default');
  assert.equal(daemon.exitInfo, undefined, 'still running');
  assert.equal((await httpRequest(`${base}/-/healthy`)).status, 200);
  const status = (await httpRequest(`${base}/`)).body.toString();
  assert.match(status, /ECONNREFUSED 127\.0\.0\.1:9090/, 'the status page shows why nothing is sent');

  const stopAt = Date.now();
  daemon.signal('SIGTERM');
  const exit = await daemon.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, daemon.tail());
  assert.ok(
    daemon.logs().some((l) => l.msg.includes('msg="shutdown complete"')),
    daemon.tail(),
  );
  const left = readdirSync(join(dir.path, 'data', 'default')).filter((f) => /^\d+\.committed$/.test(f));
  assert.ok(left.length > 0, 'the undelivered data stays on disk');
  t.diagnostic(`queued and retrying after ${stopAt - started} ms; SIGTERM to exit ${Date.now() - stopAt} ms`);
});
