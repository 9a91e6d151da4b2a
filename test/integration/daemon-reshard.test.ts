// Resharding end to end, as the real CLI, into a real Prometheus behind a WAN-like link: every
// request reaches Prometheus 100 ms after it was sent, and the link is down (503) while a backlog
// builds. After it comes back the endpoint grows past 16 send loops (the backlog is then written in
// one group per partition) and catches up. Prometheus refuses a sample older than its series' newest
// (out of order) with a 400, which promspool counts as dropped: so every sample arriving exactly,
// with none dropped, shows that no series was reordered across the reshards.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  makeTempDir,
  metricSum,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus');

/** A link to `target`: answers 503 while `down`, else forwards each request and answers after `delayMs`. */
interface WanLink {
  readonly url: string;
  down: boolean;
  forwarded: number;
  close(): Promise<void>;
}

async function startWanLink(target: string, delayMs: number): Promise<WanLink> {
  const link = { down: true, forwarded: 0 } as WanLink & { server: Server };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (link.down) {
        res.writeHead(503).end('link down');
        return;
      }
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'content-encoding', 'x-prometheus-remote-write-version']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const sent = Date.now();
      fetch(target, { method: 'POST', headers, body: Buffer.concat(chunks) })
        .then(async (r) => {
          const body = await r.text();
          link.forwarded++;
          setTimeout(() => res.writeHead(r.status).end(body), Math.max(0, delayMs - (Date.now() - sent)));
        })
        .catch((err: unknown) => res.writeHead(502).end(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(link, {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('resharding past 16 loops into a real Prometheus behind a 100 ms link', { skip }, () => {
  let prom: PrometheusInstance;
  let link: WanLink;
  let daemon: DaemonProcess;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('reshard');
    prom = await startPrometheus();
    link = await startWanLink(prom.writeUrl, 100);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          endpoints: [
            {
              name: 'wan',
              url: link.url,
              // 50 samples per request: a 40,000-sample backlog is "far behind" (wideGroupsBacklog),
              // and 200,000 need more than 16 loops at 100 ms per request.
              queueConfig: { min_shards: 1, max_shards: 40, max_samples_per_send: 50 },
            },
          ],
        }),
    });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await link?.close();
    await prom?.stop();
    dir?.remove();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon?.tail());
  });

  it('200,000 samples backlogged while the link is down arrive exactly, with none refused as out of order', async (t) => {
    const SERIES = 1000;
    const PUSHES = 100;
    const SAMPLES = 2;
    const t0 = Date.now() - 30 * 60_000;
    const tsOf = (p: number, k: number) => t0 + (p * SAMPLES + k) * 1000;
    for (let p = 0; p < PUSHES; p++) {
      const series: SeriesInput[] = Array.from({ length: SERIES }, (_, i) => ({
        labels: { __name__: 'reshard_metric', i: String(i), job: 'wan' },
        samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [tsOf(p, k), p * SAMPLES + k]),
      }));
      const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(series), '1.0');
      assert.equal(res.status, 204, res.body.toString());
    }
    const total = SERIES * PUSHES * SAMPLES;
    // Each push was answered once stored: the whole backlog is on disk before the link comes back.
    link.down = false;

    const fromProm = await waitUntil(() => prom.query('reshard_metric[2h]'), {
      until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= total,
      timeoutMs: 90_000,
      intervalMs: 500,
      description: `${total} samples in Prometheus`,
    });
    assert.equal(fromProm.length, SERIES);
    const expected = Array.from({ length: PUSHES * SAMPLES }, (_, n) => ({ timestampMs: t0 + n * 1000, value: n }));
    for (const s of fromProm) assert.deepEqual(s.samples, expected, `series ${s.metric.i}`);

    const metrics = await fetch(`${daemon.url}/metrics`).then((r) => r.text());
    assert.equal(metricSum(metrics, 'prometheus_remote_storage_samples_total'), total, 'sent once each');
    assert.equal(metricSum(metrics, 'prometheus_remote_storage_samples_failed_total'), 0, 'none refused');
    assert.equal(metricSum(metrics, 'prometheus_remote_storage_samples_dropped_total'), 0, 'none dropped');
    assert.equal(metricSum(metrics, 'prometheus_remote_storage_shards_max'), 40);
    const grown = daemon
      .logs()
      .filter((l) => l.msg === 'resharded')
      .map((l) => Number(l.to));
    assert.ok(
      grown.some((to) => to > 16),
      `grew past 16 loops: ${JSON.stringify(grown)}\n${daemon.tail(30)}`,
    );
    t.diagnostic(`reshards to ${grown.join(', ')}; ${link.forwarded} requests forwarded`);
  });
});
