/**
 * The deployment's config end to end: the ConfigMap's promspool.yaml, run by the real CLI with its
 * Kubernetes discovery pointed (through a kubeconfig file) at the fake API server, scrapes an
 * annotated pod (a real Prometheus' own /metrics at the pod's IP and port) and delivers to that
 * Prometheus: `up` is stored with the labels the relabel rules derive from the pod. Deleting the
 * pod through the watch stream makes the series stale.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { FakeApiServer, type FakeObject } from '../discovery/kubernetes/fake-api-server.js';
import { type DaemonProcess, makeTempDir, startDaemonProcess, type TempDir } from '../integration/daemon-helpers.js';
import { receiversSkipReason } from '../integration/harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from '../integration/harness/prometheus.js';
import { waitUntil } from '../integration/harness/wait.js';

const CONFIGMAP = new URL('../../../docs/deploy/kubernetes/configmap.yaml', import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: the config is edited as free-form YAML.
type Yaml = Record<string, any>;

function annotatedPod(name: string, port: number, scrape: boolean): FakeObject {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      labels: { app: 'web' },
      annotations: scrape ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port) } : {},
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'main', image: 'img', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
    status: { podIP: '127.0.0.1', phase: 'Running' },
  };
}

describe('the Kubernetes deployment config, end to end', { skip: receiversSkipReason('prometheus') }, () => {
  let dir: TempDir;
  let prom: PrometheusInstance;
  let api: FakeApiServer;
  let daemon: DaemonProcess;

  before(async () => {
    dir = makeTempDir('k8s-e2e');
    prom = await startPrometheus();
    api = await new FakeApiServer().start();
    api.set('pods', [annotatedPod('web-0', prom.port, true), annotatedPod('web-1', prom.port + 1, false)]);
    for (const r of ['services', 'endpointslices']) api.set(r, []);
    const kubeconfig = join(dir.path, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        'current-context': 'test',
        contexts: [{ name: 'test', context: { cluster: 'fake', user: 'none' } }],
        clusters: [{ name: 'fake', cluster: { server: api.url } }],
        users: [{ name: 'none', user: {} }],
      }),
    );
    const configMap = parse(readFileSync(CONFIGMAP, 'utf8')) as Yaml;
    const configYaml = (port: number): string => {
      // The deployment's config, with only what a test machine needs changed: addresses, paths, pace.
      const config = parse(configMap.data['promspool.yaml']) as Yaml;
      config.server.listen_address = `127.0.0.1:${port}`;
      config.server.shutdown_timeout = '5s';
      config.storage.path = join(dir.path, 'data');
      config.storage.batch_interval = '200ms';
      config.global.scrape_interval = '1s';
      config.global.scrape_timeout = '900ms';
      config.remote_write = [
        { name: 'primary', url: prom.writeUrl, queue_config: { batch_send_deadline: '200ms', max_backoff: '200ms' } },
      ];
      for (const job of config.scrape_configs) {
        for (const sd of job.kubernetes_sd_configs) sd.kubeconfig_file = kubeconfig;
      }
      return stringify(config);
    };
    daemon = await startDaemonProcess({ configYaml, dir: dir.path });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await api?.close();
    await prom?.stop();
    dir?.remove();
    if (exit) assert.equal(exit.code, 0, daemon.tail());
  });

  it('scrapes the annotated pod at its annotated port with the labels the rules derive', async () => {
    const up = await waitUntil(() => prom.query('up{job="kubernetes-pods"}'), {
      timeoutMs: 30_000,
      until: (r) => r.length === 1 && r[0].samples[0]?.value === 1,
      description: 'up of the annotated pod in Prometheus',
    });
    assert.deepEqual(up[0].metric, {
      __name__: 'up',
      job: 'kubernetes-pods',
      instance: `127.0.0.1:${prom.port}`,
      app: 'web',
      namespace: 'shop',
      pod: 'web-0',
      // global.external_labels of the ConfigMap.
      cluster: 'example',
    });
    assert.equal((await prom.query('up{job="kubernetes-service-endpoints"}')).length, 0);
  });

  it('a pod deleted through the watch stops being scraped and its series go stale', async () => {
    api.emit('pods', 'DELETED', annotatedPod('web-0', prom.port, true));
    await waitUntil(() => prom.query('up{job="kubernetes-pods"}'), {
      timeoutMs: 30_000,
      until: (r) => r.length === 0,
      description: 'up of the deleted pod stale in Prometheus',
    });
  });
});
