// promspool as a relay, run as the real CLI: a Prometheus agent scrapes a local target and
// remote-writes into promspool, which forwards to a real Prometheus and a real VictoriaMetrics
// (two remote_write entries); and a client pushes remote-write 1.0 and 2.0 straight into it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildWriteRequestV1, buildWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  makeTempDir,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import type { LabelMap } from './harness/prom-api.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus', 'victoria-metrics');

/** What the scrape target served: per scrape, its timestamp and the value of each series. */
interface Served {
  ts: number;
  a: number;
  b: number;
}

/**
 * A tiny exposition-format target. Every scrape serves new values with an explicit timestamp, so
 * the test knows exactly which (timestamp, value) pairs exist and can demand exactly those.
 */
async function startTarget(): Promise<{ server: Server; address: string; served: Served[] }> {
  const served: Served[] = [];
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const n = served.length + 1;
    const entry = { ts: Date.now(), a: n, b: n * 0.5 + 0.25 };
    served.push(entry);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(
      '# HELP relay_gauge A gauge served by the test target.\n# TYPE relay_gauge gauge\n' +
        `relay_gauge{kind="a"} ${entry.a} ${entry.ts}\nrelay_gauge{kind="b"} ${entry.b} ${entry.ts}\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, served };
}

const EXTERNAL = { relay: 'promspool' };

describe('promspool CLI relays to a real Prometheus and VictoriaMetrics', { skip }, () => {
  let vm: VictoriaMetricsInstance;
  let prom: PrometheusInstance;
  let agent: PrometheusInstance | undefined;
  let daemon: DaemonProcess;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('relay');
    [vm, prom, target] = await Promise.all([startVictoriaMetrics(), startPrometheus(), startTarget()]);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          externalLabels: EXTERNAL,
          endpoints: [
            { name: 'prometheus', url: prom.writeUrl },
            { name: 'victoria', url: vm.writeUrl },
          ],
        }),
    });
  });

  after(async () => {
    await agent?.stop();
    const exit = await daemon?.stop();
    await Promise.all([vm?.stop(), prom?.stop()]);
    await new Promise<void>((resolve) => (target ? target.server.close(() => resolve()) : resolve()));
    dir?.remove();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon?.tail());
  });

  it('a Prometheus agent scrapes a target and remote-writes into promspool: exact series and values arrive in both receivers', async (t) => {
    agent = await startPrometheus({
      agent: true,
      remoteWriteUrl: daemon.writeUrl,
      scrapeConfigs: [{ job_name: 'relay-target', static_configs: [{ targets: [target.address] }] }],
    });
    const started = Date.now();
    // Everything served up to the third scrape must arrive; later scrapes may or may not have yet.
    await waitUntil(() => target.served.length >= 3, { timeoutMs: 15_000, description: 'three scrapes' });
    const expected = target.served.slice(0, 3);
    const instance = target.address;
    const labels = (kind: string): LabelMap => ({
      __name__: 'relay_gauge',
      job: 'relay-target',
      instance,
      kind,
      ...EXTERNAL,
    });
    const valueAt = new Map(target.served.map((s) => [s.ts, s]));

    const exported = await waitUntil(() => vm.exportSeries('{__name__="relay_gauge"}'), {
      until: (r) => r.length === 2 && r.every((s) => expected.every((e) => s.timestamps.includes(e.ts))),
      timeoutMs: 20_000,
      intervalMs: 250,
      description: 'the first three scrapes in VictoriaMetrics',
    });
    t.diagnostic(
      `scrape -> agent -> promspool -> VictoriaMetrics: third scrape ${expected[2].ts - started} ms, ` +
        `all three in VictoriaMetrics ${Date.now() - started} ms after the agent started`,
    );
    assert.deepEqual(
      exported.map((s) => s.metric),
      [labels('a'), labels('b')],
    );
    for (const s of exported) {
      const kind = s.metric.kind as 'a' | 'b';
      assert.deepEqual(
        s.timestamps,
        [...s.timestamps].sort((x, y) => x - y),
      );
      // Every stored sample is one the target served, with the value served at that timestamp.
      assert.deepEqual(
        s.values,
        s.timestamps.map((ts) => valueAt.get(ts)?.[kind]),
      );
    }

    const fromProm = await waitUntil(() => prom.query('relay_gauge[10m]'), {
      until: (r) =>
        r.length === 2 && r.every((s) => expected.every((e) => s.samples.some((p) => p.timestampMs === e.ts))),
      timeoutMs: 20_000,
      intervalMs: 250,
      description: 'the first three scrapes in Prometheus',
    });
    const sorted = [...fromProm].sort((x, y) => (x.metric.kind < y.metric.kind ? -1 : 1));
    assert.deepEqual(
      sorted.map((s) => s.metric),
      [labels('a'), labels('b')],
    );
    for (const s of sorted) {
      const kind = s.metric.kind as 'a' | 'b';
      assert.deepEqual(
        s.samples.map((p) => p.value),
        s.samples.map((p) => valueAt.get(p.timestampMs)?.[kind]),
      );
    }

    // The agent's own per-target series come through too, with the target up.
    const up = await prom.query('up{job="relay-target"}');
    assert.deepEqual(
      up.map((s) => [s.metric, s.samples[0]?.value]),
      [[{ __name__: 'up', job: 'relay-target', instance, ...EXTERNAL }, 1]],
    );
    await agent.stop();
    agent = undefined;
  });

  it('2,000 series x 5 samples pushed as remote-write 1.0 and as 2.0: exact samples in VictoriaMetrics and Prometheus', async (t) => {
    const SERIES = 2000;
    const SAMPLES = 5;
    const t0 = Date.now() - 5 * 60_000;
    const tsOf = (k: number) => t0 + k * 10_000;
    const sampleValue = (i: number, k: number) => i * 10 + k;
    const request = (metric: string): SeriesInput[] =>
      Array.from({ length: SERIES }, (_, i) => ({
        labels: { __name__: metric, i: String(i) },
        samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [tsOf(k), sampleValue(i, k)]),
      }));

    const started = Date.now();
    const v1 = await postWrite(daemon.writeUrl, buildWriteRequestV1(request('relay_push_v1')), '1.0');
    assert.equal(v1.status, 204, v1.body.toString());
    const v2 = await postWrite(daemon.writeUrl, buildWriteRequestV2(request('relay_push_v2')), '2.0');
    assert.equal(v2.status, 204, v2.body.toString());
    assert.equal(v2.headers['x-prometheus-remote-write-samples-written'], String(SERIES * SAMPLES));

    const expectedTimestamps = Array.from({ length: SAMPLES }, (_, k) => tsOf(k));
    for (const metric of ['relay_push_v1', 'relay_push_v2']) {
      const exported = await waitUntil(() => vm.exportSeries(`{__name__="${metric}"}`), {
        until: (r) => r.reduce((n, s) => n + s.values.length, 0) >= SERIES * SAMPLES,
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `${SERIES * SAMPLES} samples of ${metric} in VictoriaMetrics`,
      });
      assert.equal(exported.length, SERIES);
      const seen = new Set<number>();
      for (const s of exported) {
        const i = Number(s.metric.i);
        seen.add(i);
        assert.deepEqual(s.metric, { __name__: metric, i: String(i), ...EXTERNAL });
        assert.deepEqual(s.timestamps, expectedTimestamps, `timestamps of ${metric} series ${i}`);
        assert.deepEqual(
          s.values,
          expectedTimestamps.map((_, k) => sampleValue(i, k)),
        );
      }
      assert.equal(seen.size, SERIES);

      const fromProm = await waitUntil(() => prom.query(`${metric}[10m]`), {
        until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= SERIES * SAMPLES,
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `${SERIES * SAMPLES} samples of ${metric} in Prometheus`,
      });
      assert.equal(fromProm.length, SERIES);
      for (const s of fromProm) {
        const i = Number(s.metric.i);
        assert.deepEqual(s.metric, { __name__: metric, i: String(i), ...EXTERNAL });
        assert.deepEqual(
          s.samples,
          expectedTimestamps.map((ts, k) => ({ timestampMs: ts, value: sampleValue(i, k) })),
        );
      }
    }
    t.diagnostic(`2 x ${SERIES * SAMPLES} pushed samples exact in both receivers after ${Date.now() - started} ms`);
  });
});
