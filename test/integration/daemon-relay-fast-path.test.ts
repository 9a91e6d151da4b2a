// The relay fast path end to end, as the real CLI: without external labels, a Prometheus-shaped
// remote-write 1.0 request is stored as received and its series copied to the wire unchanged.
// A request the fast path does not take (one with exemplars) goes through the decoding path; both
// must arrive exactly in a real Prometheus and a real VictoriaMetrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  makeTempDir,
  metricValue,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus', 'victoria-metrics');

describe('relay fast path: requests stored as received arrive exactly in real receivers', { skip }, () => {
  let vm: VictoriaMetricsInstance;
  let prom: PrometheusInstance;
  let daemon: DaemonProcess;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('relay-fast');
    [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          endpoints: [
            { name: 'prometheus', url: prom.writeUrl, queueConfig: { min_shards: 4, max_shards: 4 } },
            { name: 'victoria', url: vm.writeUrl, queueConfig: { min_shards: 4, max_shards: 4 } },
          ],
        }),
    });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await Promise.all([vm?.stop(), prom?.stop()]);
    dir?.remove();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon?.tail());
  });

  it('3 pushes of 1,000 series x 4 samples (fast path) and one with exemplars (decoded): exact, in order', async (t) => {
    const SERIES = 1000;
    const SAMPLES = 4;
    const PUSHES = 3;
    const t0 = Date.now() - 10 * 60_000;
    const tsOf = (push: number, k: number) => t0 + (push * SAMPLES + k) * 5_000;
    const sampleValue = (i: number, push: number, k: number) => i * 1000 + push * SAMPLES + k + 0.5;
    const push = (p: number): SeriesInput[] =>
      Array.from({ length: SERIES }, (_, i) => ({
        labels: { __name__: 'fast_path_metric', i: String(i), pod: `pod-${i % 7}`, zone: 'eu-1' },
        samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [tsOf(p, k), sampleValue(i, p, k)]),
      }));
    for (let p = 0; p < PUSHES; p++) {
      const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(push(p)), '1.0');
      assert.equal(res.status, 204, res.body.toString());
    }
    // Not Prometheus-shaped for the fast path: exemplars. Same series names, later timestamps.
    const decoded: SeriesInput[] = push(PUSHES).map((s) => ({
      ...s,
      exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestampMs: tsOf(PUSHES, 0) }],
    }));
    const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(decoded), '1.0');
    assert.equal(res.status, 204, res.body.toString());

    const metrics = (await fetch(`${daemon.url}/metrics`).then((r) => r.text())) as string;
    assert.equal(metricValue(metrics, 'promspool_receiver_requests_stored_as_received_total'), PUSHES);
    assert.equal(
      metricValue(metrics, 'promspool_receiver_samples_total{type="sample"}'),
      (PUSHES + 1) * SERIES * SAMPLES,
    );

    const total = (PUSHES + 1) * SERIES * SAMPLES;
    const expectedTs = Array.from({ length: (PUSHES + 1) * SAMPLES }, (_, n) => t0 + n * 5_000);
    const expectedValues = (i: number) =>
      Array.from({ length: (PUSHES + 1) * SAMPLES }, (_, n) => sampleValue(i, Math.floor(n / SAMPLES), n % SAMPLES));

    const exported = await waitUntil(() => vm.exportSeries('{__name__="fast_path_metric"}'), {
      until: (r) => r.reduce((n, s) => n + s.values.length, 0) >= total,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `${total} samples in VictoriaMetrics`,
    });
    assert.equal(exported.length, SERIES);
    for (const s of exported) {
      const i = Number(s.metric.i);
      assert.deepEqual(s.metric, { __name__: 'fast_path_metric', i: String(i), pod: `pod-${i % 7}`, zone: 'eu-1' });
      assert.deepEqual(s.timestamps, expectedTs, `timestamps of series ${i}`);
      assert.deepEqual(s.values, expectedValues(i), `values of series ${i}`);
    }

    const fromProm = await waitUntil(() => prom.query('fast_path_metric[30m]'), {
      until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= total,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `${total} samples in Prometheus`,
    });
    assert.equal(fromProm.length, SERIES);
    for (const s of fromProm) {
      const i = Number(s.metric.i);
      assert.deepEqual(
        s.samples,
        expectedTs.map((ts, n) => ({ timestampMs: ts, value: expectedValues(i)[n] })),
      );
    }
    t.diagnostic(`${total} samples exact in both receivers; ${PUSHES} of ${PUSHES + 1} requests took the fast path`);
  });
});
