// External labels merged at ingest (issue 17) through the real CLI to real Prometheus servers:
// `global.external_labels` and one write relabel rule, the same for both endpoints, so the relay
// scan merges the external labels and applies the rule once as it stores each 1.0 body. One
// endpoint sends the stored groups as they are (stored bytes); the other has a sample age limit,
// so its encoder copies each series' stored labels (stored labels) and must not merge the external
// labels again: the rule drops one of them (`replica`), which a second merge would put back.
// Read back through Prometheus' API: exactly the series pushed, each with its own `cluster` where
// it had one and the external one otherwise, no `replica`, every sample.
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
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus');

const EXTERNAL = { cluster: 'eu-west-1', replica: 'a' };
const RULES = [{ regex: 'replica', action: 'labeldrop' }];
const SERIES = 30;
const SAMPLES = 3;
const PUSHES = 2;

describe('external labels merged at ingest, through the CLI to real Prometheus servers', { skip }, () => {
  let bytesProm: PrometheusInstance;
  let labelsProm: PrometheusInstance;
  let daemon: DaemonProcess;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('external-labels-ingest');
    [bytesProm, labelsProm] = await Promise.all([startPrometheus(), startPrometheus()]);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          externalLabels: EXTERNAL,
          endpoints: [
            {
              name: 'stored-bytes',
              url: bytesProm.writeUrl,
              writeRelabelConfigs: RULES,
              queueConfig: { min_shards: 2, max_shards: 2 },
            },
            {
              name: 'stored-labels',
              url: labelsProm.writeUrl,
              writeRelabelConfigs: RULES,
              queueConfig: { min_shards: 2, max_shards: 2, sample_age_limit: '1h' },
            },
          ],
        }),
    });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await Promise.all([bytesProm?.stop(), labelsProm?.stop()]);
    dir?.remove();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon?.tail());
  });

  it('delivers every series with the external labels merged once: its own cluster kept, replica dropped', async () => {
    const t0 = Date.now() - 5 * 60_000;
    const tsOf = (p: number, k: number) => t0 + (p * SAMPLES + k) * 10_000;
    // Every fifth series carries its own cluster (and a replica of its own, dropped by the rule too).
    const ownCluster = (i: number) => i % 5 === 0;
    const push = (p: number): SeriesInput[] =>
      Array.from({ length: SERIES }, (_, i) => ({
        labels: {
          __name__: 'ext_ingest_metric',
          i: String(i),
          ...(ownCluster(i) ? { cluster: `own-${i}`, replica: 'z' } : {}),
        },
        samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [tsOf(p, k), i * 100 + p * 10 + k]),
      }));
    for (let p = 0; p < PUSHES; p++) {
      const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(push(p)), '1.0');
      assert.equal(res.status, 204, res.body.toString());
    }
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'promspool_receiver_requests_stored_as_received_total'), PUSHES);

    for (const prom of [bytesProm, labelsProm]) {
      const got = await waitUntil(() => prom.query('ext_ingest_metric[10m]'), {
        until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= SERIES * SAMPLES * PUSHES,
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `${SERIES * SAMPLES * PUSHES} samples of ext_ingest_metric in ${prom.writeUrl}`,
      });
      assert.deepEqual(
        got.map((s) => Number(s.metric.i)).sort((a, b) => a - b),
        Array.from({ length: SERIES }, (_, i) => i),
      );
      for (const s of got) {
        const i = Number(s.metric.i);
        assert.deepEqual(s.metric, {
          __name__: 'ext_ingest_metric',
          i: String(i),
          cluster: ownCluster(i) ? `own-${i}` : 'eu-west-1',
        });
        assert.deepEqual(
          s.samples,
          Array.from({ length: PUSHES * SAMPLES }, (_, n) => ({
            timestampMs: tsOf(Math.floor(n / SAMPLES), n % SAMPLES),
            value: i * 100 + Math.floor(n / SAMPLES) * 10 + (n % SAMPLES),
          })),
        );
      }
    }
  });
});
