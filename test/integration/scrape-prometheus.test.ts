// The daemon as a Prometheus agent, end to end: a pasted prometheus.yml (global scrape settings,
// static_configs and file_sd_configs jobs, remote_write), run by the real CLI, scraping a real
// Prometheus' own /metrics and a real VictoriaMetrics' /metrics and delivering to that Prometheus.
// What Prometheus stored is compared with what the targets exposed (series, up, job/instance); a
// target removed from the file_sd file goes stale; a reload that changes a job keeps its series
// going without stale markers; /api/v1/targets has the keys and types of Prometheus' own answer.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TargetsJson } from '../../src/daemon/targets-api.js';
import { createParser, negotiateFormat } from '../../src/scrape/index.js';
import { type DaemonProcess, makeTempDir, metricValue, startDaemonProcess, type TempDir } from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

/** Every series a target exposes now (text format), as sorted label-set keys, and the metric names. */
async function exposed(url: string): Promise<{ series: Set<string>; names: Set<string> }> {
  const res = await httpRequest(url, { headers: { Accept: 'text/plain;version=0.0.4' } });
  assert.equal(res.status, 200);
  const choice = negotiateFormat(res.headers['content-type']);
  assert.ok(choice.ok && choice.format !== 'protobuf', `Content-Type ${res.headers['content-type']}`);
  const p = createParser(choice.format as 'text-0.0.4', res.body);
  const series = new Set<string>();
  const names = new Set<string>();
  for (let k = p.next(); k !== undefined; k = p.next()) {
    if (k !== 'series') continue;
    // An empty label value is no label in Prometheus' data model: it is not stored.
    const labels = Object.fromEntries(
      p
        .labels()
        .filter((l) => l.value !== '')
        .map((l) => [l.name, l.value]),
    );
    series.add(key(labels));
    names.add(labels.__name__);
  }
  return { series, names };
}

function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function without(labels: Record<string, string>, ...names: string[]): Record<string, string> {
  const out = { ...labels };
  for (const n of names) delete out[n];
  return out;
}

/** The Prometheus type name of a JSON value (for comparing answers' shapes). */
function shape(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

describe('scraping real Prometheus and VictoriaMetrics targets into a real Prometheus', {
  skip: receiversSkipReason('prometheus', 'victoria-metrics'),
}, () => {
  let dir: TempDir;
  let prom: PrometheusInstance;
  let vm: VictoriaMetricsInstance;
  let daemon: DaemonProcess;
  let promAddress: string;
  let vmAddress: string;
  let targetsFile: string;
  let yaml: (port: number, promJobExtra?: string) => string;

  before(async () => {
    dir = makeTempDir('scrape-prom');
    vm = await startVictoriaMetrics();
    vmAddress = new URL(vm.url).host;
    // Prometheus itself scrapes VictoriaMetrics too: its /api/v1/targets is the reference shape.
    prom = await startPrometheus({
      scrapeConfigs: [{ job_name: 'reference', static_configs: [{ targets: [vmAddress] }] }],
    });
    promAddress = new URL(prom.url).host;
    targetsFile = join(dir.path, 'targets.json');
    writeFileSync(targetsFile, JSON.stringify([{ targets: [vmAddress], labels: { env: 'test' } }]));
    yaml = (port, promJobExtra = '') => `# promspool's own sections
server:
  listen_address: 127.0.0.1:${port}
  shutdown_timeout: 10s
storage:
  path: ${JSON.stringify(join(dir.path, 'data'))}
  batch_interval: 200ms
self_monitoring:
  enabled: false
# as in a prometheus.yml
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['${promAddress}']
${promJobExtra}  - job_name: vm
    file_sd_configs:
      - files: [${JSON.stringify(targetsFile)}]
        refresh_interval: 1s
remote_write:
  - url: ${prom.writeUrl}
    queue_config:
      batch_send_deadline: 200ms
      min_backoff: 20ms
      max_backoff: 200ms
`;
    daemon = await startDaemonProcess({ configYaml: (port) => yaml(port), dir: dir.path });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await prom?.stop();
    await vm?.stop();
    dir?.remove();
    if (exit) assert.equal(exit.code, 0, daemon.tail());
  });

  it('stores up=1 with job and instance for both targets', async () => {
    const up = await waitUntil(() => prom.query('up{job=~"prometheus|vm"}'), {
      timeoutMs: 30_000,
      until: (r) => r.length === 2 && r.every((s) => s.samples[0]?.value === 1),
      description: 'up of both jobs in Prometheus',
    });
    assert.deepEqual(
      up.map((s) => s.metric).sort((a, b) => a.job.localeCompare(b.job)),
      [
        { __name__: 'up', instance: promAddress, job: 'prometheus' },
        { __name__: 'up', env: 'test', instance: vmAddress, job: 'vm' },
      ],
    );
    for (const name of ['scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling']) {
      const r = await prom.query(`${name}{job="vm"}`);
      assert.equal(r.length, 1, name);
    }
  });

  it("stores every series the targets expose, with the target's labels", async () => {
    const vmExposed = await exposed(`${vm.url}/metrics`);
    const promExposed = await exposed(`${prom.url}/metrics`);
    const since = Date.now();
    // Two scrapes after the fetch have been delivered.
    await waitUntil(() => prom.query(`count_over_time(up{job="vm"}[${Math.ceil((Date.now() - since) / 1000) + 1}s])`), {
      timeoutMs: 30_000,
      until: (r) => (r[0]?.samples[0]?.value ?? 0) >= 3,
      description: 'three scrapes of vm after the fetch',
    });
    const stored = await prom.series('{job="vm"}', { startMs: since - 60_000 });
    const storedVm = new Set(stored.map((l) => key(without(l, 'job', 'instance', 'env'))));
    const missing = [...vmExposed.series].filter((s) => !storedVm.has(s));
    assert.deepEqual(missing, [], `${missing.length} of ${vmExposed.series.size} VictoriaMetrics series not stored`);
    for (const l of stored) assert.deepEqual([l.job, l.instance, l.env], ['vm', vmAddress, 'test']);

    // Prometheus' own series change as it serves requests (new handlers, durations): compare names.
    const promStored = await prom.series('{job="prometheus"}', { startMs: since - 60_000 });
    const promNames = new Set(promStored.map((l) => l.__name__));
    const missingNames = [...promExposed.names].filter((n) => !promNames.has(n));
    assert.deepEqual(missingNames, [], 'Prometheus metric names not stored');
    for (const l of promStored) assert.deepEqual([l.job, l.instance], ['prometheus', promAddress]);
  });

  it("answers /api/v1/targets with the keys and types of Prometheus' own answer", async () => {
    const reference = await waitUntil(
      async () => JSON.parse((await httpRequest(`${prom.url}/api/v1/targets`)).body.toString()) as TargetsJson,
      {
        until: (r) => r.data.activeTargets.some((t) => t.health === 'up'),
        description: "Prometheus' own target up",
      },
    );
    const ours = JSON.parse((await httpRequest(`${daemon.url}/api/v1/targets`)).body.toString()) as TargetsJson;
    assert.equal(ours.status, reference.status);
    const refTarget = reference.data.activeTargets[0] as unknown as Record<string, unknown>;
    const vmTarget = ours.data.activeTargets.find((t) => t.scrapePool === 'vm')!;
    const ourTarget = vmTarget as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(refTarget)) {
      assert.ok(k in ourTarget, `activeTargets[].${k} missing`);
      assert.equal(shape(ourTarget[k]), shape(v), `activeTargets[].${k}`);
    }
    assert.deepEqual(
      Object.keys(ours.data).filter((k) => !(k in reference.data)),
      ['droppedTargetCounts'],
    );
    // The same target, scraped by both: the same URL, labels (but the job) and timing.
    const refVm = reference.data.activeTargets[0];
    assert.equal(vmTarget.scrapeUrl, refVm.scrapeUrl);
    assert.equal(vmTarget.globalUrl, refVm.globalUrl);
    assert.deepEqual(without(vmTarget.labels, 'job', 'env'), without(refVm.labels, 'job'));
    assert.deepEqual([vmTarget.scrapeInterval, vmTarget.scrapeTimeout, vmTarget.health], ['1s', '900ms', 'up']);
    assert.equal(vmTarget.discoveredLabels.__address__, refVm.discoveredLabels.__address__);
    assert.equal(vmTarget.discoveredLabels.__meta_filepath, targetsFile);
  });

  it('a reload that changes a job keeps its series going without stale markers', async () => {
    writeFileSync(daemon.configPath, yaml(daemon.port, '    sample_limit: 1000000\n'));
    const reloadedAt = Date.now();
    const res = await httpRequest(`${daemon.url}/-/reload`, { method: 'POST' });
    assert.equal(res.status, 200, res.body.toString());
    // Samples after the reload arrive, with no gap longer than two intervals around it.
    const r = await waitUntil(() => prom.query('up{job="prometheus"}[20s]'), {
      timeoutMs: 30_000,
      until: (x) => (x[0]?.samples ?? []).filter((s) => s.timestampMs > reloadedAt + 1000).length >= 2,
      description: 'two scrapes of prometheus after the reload',
    });
    const times = r[0].samples.map((s) => s.timestampMs);
    for (let i = 1; i < times.length; i++)
      assert.ok(times[i] - times[i - 1] <= 2000, `gap ${times[i] - times[i - 1]} ms`);
    const metrics = (await httpRequest(`${daemon.url}/metrics`)).body.toString();
    assert.equal(metricValue(metrics, 'promspool_scrape_stale_markers_total{scrape_job="prometheus"}') ?? 0, 0);
    assert.equal(metricValue(metrics, 'prometheus_target_scrape_pool_reloads_total'), 1);
  });

  it('a target removed from the file_sd file goes stale', async () => {
    writeFileSync(targetsFile, JSON.stringify([]));
    const removedAt = Date.now();
    // Prometheus answers nothing for a series whose last sample is a stale marker.
    await waitUntil(() => prom.query('up{job="vm"}'), {
      timeoutMs: 30_000,
      until: (x) => x.length === 0,
      description: 'up{job="vm"} stale',
    });
    const kept = await prom.query('up{job="vm"}[5m]');
    assert.equal(kept.length, 1, 'the data before the removal is kept');
    const metrics = (await httpRequest(`${daemon.url}/metrics`)).body.toString();
    assert.ok((metricValue(metrics, 'promspool_scrape_stale_markers_total{scrape_job="vm"}') ?? 0) > 0);
    assert.equal(metricValue(metrics, 'prometheus_sd_discovered_targets{config="vm",name="scrape"}'), 0);
    assert.equal(metricValue(metrics, 'prometheus_sd_discovered_targets{config="prometheus",name="scrape"}'), 1);
    assert.equal(metricValue(metrics, 'prometheus_sd_refresh_failures_total{config="vm",mechanism="file"}'), 0);
    // The other job goes on.
    const up = await prom.query('up{job="prometheus"}', Date.now());
    assert.equal(up[0]?.samples[0]?.value, 1);
    const targets = JSON.parse((await httpRequest(`${daemon.url}/api/v1/targets`)).body.toString()) as TargetsJson;
    assert.deepEqual(
      targets.data.activeTargets.map((t) => t.scrapePool),
      ['prometheus'],
      `removed ${Date.now() - removedAt} ms ago`,
    );
  });

  it('shutdown: the last scrapes are delivered and no stale markers are written', async () => {
    const stoppingAt = Date.now();
    const exit = await daemon.stop();
    assert.equal(exit.code, 0, daemon.tail());
    const up = await prom.query('up{job="prometheus"}');
    assert.equal(up.length, 1, 'not stale: Prometheus still answers the series');
    assert.equal(up[0].samples[0].value, 1);
    const last = await prom.query('timestamp(up{job="prometheus"})');
    const lastMs = last[0].samples[0].value * 1000;
    assert.ok(lastMs >= stoppingAt - 1500, `last scrape ${stoppingAt - lastMs} ms before the stop`);
  });
});
