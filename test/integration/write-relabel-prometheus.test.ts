// write_relabel_configs end to end: remote-write 1.0 (stored as received, the relay path) and 2.0
// (decoded) pushed into the real CLI, relabeled per endpoint after the external labels are merged,
// and read back from a real Prometheus: exactly the kept series, with their new labels, every
// sample; the dropped ones counted in the daemon's own metrics.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildWriteRequestV1, buildWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';
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

const RULES = [
  // Drop every fifth series by name (10 of 50 per metric).
  { source_labels: ['__name__', 'i'], regex: 'relabel_push_v[12];\\d*[05]', action: 'drop' },
  { regex: 'tmp', action: 'labeldrop' },
  // Built from an external label: the rules see them merged.
  { source_labels: ['relay'], target_label: 'via', replacement: 'relay-$1' },
];
const SERIES = 50;
const SAMPLES = 4;

describe('write_relabel_configs through the CLI to a real Prometheus', { skip }, () => {
  let prom: PrometheusInstance;
  let daemon: DaemonProcess;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('write-relabel');
    prom = await startPrometheus();
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          externalLabels: { relay: 'promspool' },
          endpoints: [{ name: 'prometheus', url: prom.writeUrl, writeRelabelConfigs: RULES }],
        }),
    });
  });

  after(async () => {
    await daemon?.stop();
    await prom?.stop();
    dir?.remove();
  });

  it('delivers exactly the kept series with their new labels, and counts the dropped ones', async () => {
    const t0 = Date.now() - 5 * 60_000;
    const tsOf = (k: number) => t0 + k * 10_000;
    const request = (metric: string): SeriesInput[] =>
      Array.from({ length: SERIES }, (_, i) => ({
        labels: { __name__: metric, i: String(i), tmp: `t${i}` },
        samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [tsOf(k), i * 10 + k]),
      }));
    const v1 = await postWrite(daemon.writeUrl, buildWriteRequestV1(request('relabel_push_v1')), '1.0');
    assert.equal(v1.status, 204, v1.body.toString());
    const v2 = await postWrite(daemon.writeUrl, buildWriteRequestV2(request('relabel_push_v2')), '2.0');
    assert.equal(v2.status, 204, v2.body.toString());

    const kept = Array.from({ length: SERIES }, (_, i) => i).filter((i) => i % 5 !== 0);
    for (const metric of ['relabel_push_v1', 'relabel_push_v2']) {
      const got = await waitUntil(() => prom.query(`${metric}[10m]`), {
        until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= kept.length * SAMPLES,
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `${kept.length * SAMPLES} samples of ${metric} in Prometheus`,
      });
      assert.deepEqual(
        got.map((s) => Number(s.metric.i)).sort((a, b) => a - b),
        kept,
      );
      for (const s of got) {
        const i = Number(s.metric.i);
        assert.deepEqual(s.metric, { __name__: metric, i: String(i), relay: 'promspool', via: 'relay-promspool' });
        assert.deepEqual(
          s.samples,
          Array.from({ length: SAMPLES }, (_, k) => ({ timestampMs: tsOf(k), value: i * 10 + k })),
        );
      }
    }
    const dropped = 2 * (SERIES - kept.length) * SAMPLES;
    const metrics = await waitUntil(async () => (await fetch(`${daemon.url}/metrics`)).text(), {
      until: (text) =>
        metricValue(
          text,
          'prometheus_remote_storage_samples_dropped_total{remote_name="prometheus",url="' +
            prom.writeUrl +
            '",reason="dropped_series"}',
        ) === dropped,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: `${dropped} samples dropped by relabeling in /metrics`,
    });
    assert.equal(
      metricValue(
        metrics,
        `promspool_write_relabel_series_dropped_total{remote_name="prometheus",url="${prom.writeUrl}"}`,
      ),
      // The 2.0 push's series only: the 1.0 push is merged and relabeled at ingest (one endpoint,
      // external labels merged there too), whose decisions this counter does not count.
      SERIES - kept.length,
    );
  });

  it('reloads to new rules (a hashmod among them) without losing what it had', async () => {
    const { writeFile } = await import('node:fs/promises');
    const hashmodRules = [...RULES, { source_labels: ['i'], modulus: 4, target_label: 'shard', action: 'hashmod' }];
    await writeFile(
      daemon.configPath,
      daemonConfigYaml(daemon.port, {
        dataDir: `${dir.path}/data`,
        externalLabels: { relay: 'promspool' },
        endpoints: [{ name: 'prometheus', url: prom.writeUrl, writeRelabelConfigs: hashmodRules }],
      }),
    );
    const reloaded = await fetch(`${daemon.url}/-/reload`, { method: 'POST' });
    assert.equal(reloaded.status, 200, await reloaded.text());
    const t0 = Date.now() - 60_000;
    const series: SeriesInput[] = Array.from({ length: 12 }, (_, i) => ({
      labels: { __name__: 'relabel_after_reload', i: String(i) },
      samples: [[t0, i]],
    }));
    const pushed = await postWrite(daemon.writeUrl, buildWriteRequestV1(series), '1.0');
    assert.equal(pushed.status, 204, pushed.body.toString());
    const got = await waitUntil(() => prom.query('relabel_after_reload[10m]'), {
      until: (r) => r.length >= 12,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: '12 series of relabel_after_reload in Prometheus',
    });
    assert.equal(got.length, 12);
    for (const s of got) {
      // Prometheus' hashmod: MD5 of the value, its last 8 bytes big-endian, modulo the modulus.
      const digest = createHash('md5').update(s.metric.i).digest();
      const want = String(digest.readBigUInt64BE(8) % 4n);
      assert.equal(s.metric.shard, want, `series i=${s.metric.i}`);
      assert.equal(s.metric.via, 'relay-promspool');
    }
  });
});
