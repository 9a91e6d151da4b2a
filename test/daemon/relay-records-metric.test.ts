// `promspool_relay_records_total` for an endpoint that delivers from a worker thread: the relay
// route's counts are made in the worker and reach the daemon's /metrics with its stats.
// (test/integration/daemon-relay-ways.test.ts covers the CLI, whose endpoints deliver on the event
// loop on 2 CPUs.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { startFakeReceiver } from '../helpers/fake-receiver.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { waitUntil } from '../integration/harness/wait.js';
import { httpRequest, postWrite } from './http-client.js';
import { type TestSeries, writeRequestV1 } from './rw-bodies.js';

const REQUESTS = 5;
const SERIES = 30;
const WAYS = ['stored-bytes', 'stored-labels', 'transcoded', 'decoded'] as const;

function request(r: number, nowMs: number): TestSeries[] {
  return Array.from({ length: SERIES }, (_, i) => ({
    labels: [
      ['__name__', 'threaded_relay'],
      ['i', String(i)],
    ],
    samples: [[nowMs - 60_000 + r * 1000, r]],
  }));
}

/** The value of `promspool_relay_records_total{remote_name="threaded",...,way}`. */
function wayValue(text: string, way: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith('promspool_relay_records_total{') && l.includes(`way="${way}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('a delivery worker endpoint: relayed records by way reach /metrics (stored-bytes, the rest 0)', async (t) => {
  const rx = await startFakeReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'promspool-relay-metric-'));
  t.after(async () => {
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { config, errors } = parseConfig(`server:
  listen_address: 127.0.0.1:0
  shutdown_timeout: 5s
storage:
  path: ${JSON.stringify(join(dir, 'data'))}
  batch_interval: 50ms
global:
  external_labels:
    cluster: eu-1
self_monitoring:
  enabled: false
receiver:
  enabled: true
remote_write:
  - name: threaded
    url: ${rx.url}
    queue_config:
      min_shards: 1
      max_shards: 1
      batch_send_deadline: 50ms
`);
  assert.ok(config, JSON.stringify(errors));
  const lines: LoggedLine[] = [];
  const daemon = await startDaemon(config, {
    logger: recordingLogger(lines),
    collectDefaultMetrics: false,
    deliveryWorkers: 1,
  });
  try {
    assert.equal(lines.find((l) => l.msg === 'endpoint started')?.fields?.delivery_thread, 'worker');
    const now = Date.now();
    for (let r = 0; r < REQUESTS; r++) {
      const res = await postWrite(`${daemon.url}/api/v1/write`, writeRequestV1(request(r, now)));
      assert.equal(res.status, 204, res.body);
    }
    await rx.waitFor((x) => x.totalSamples >= REQUESTS * SERIES, 10_000);
    assert.equal(rx.totalSamples, REQUESTS * SERIES);
    for (const key of rx.received.keys()) assert.match(key, /cluster="eu-1"/);
    // The worker's stats reach the event loop with its next report (at most 200 ms later).
    const text = await waitUntil(() => httpRequest(`${daemon.url}/metrics`).then((res) => res.body), {
      until: (body) => wayValue(body, 'stored-bytes') === REQUESTS,
      timeoutMs: 5_000,
      intervalMs: 50,
      description: `${REQUESTS} stored-bytes records in /metrics`,
    });
    assert.match(text, /^promspool_receiver_requests_stored_as_received_total 5$/m);
    assert.deepEqual(Object.fromEntries(WAYS.map((way) => [way, wayValue(text, way)])), {
      'stored-bytes': REQUESTS,
      'stored-labels': 0,
      transcoded: 0,
      decoded: 0,
    });
  } finally {
    await daemon.stop();
  }
});
