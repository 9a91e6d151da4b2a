/**
 * docs/deploy/kubernetes/: every manifest parses, the objects are the ones the README describes,
 * and they agree with each other and with promspool: the embedded config passes the config
 * loader, the probes hit the daemon's endpoints on the listen port, the grace period covers the
 * shutdown phases, the queue directory is the volume, the shard count is the replica count (and
 * the pod name gives the shard index), and the ClusterRole allows every request the config's
 * Kubernetes discovery makes (run against the fake API server).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import type { PromspoolConfig } from '../../src/config/types.js';
import { resolveScrapeShard } from '../../src/daemon/scraping.js';
import { createKubernetesDiscoverer } from '../../src/discovery/kubernetes/index.js';
import { FakeApiServer } from '../discovery/kubernetes/fake-api-server.js';
import { RunningDiscoverer } from '../discovery/kubernetes/harness.js';

const DIR = new URL('../../../docs/deploy/kubernetes/', import.meta.url).pathname;

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field below.
type Manifest = { kind: string; metadata: { name: string; namespace?: string } } & Record<string, any>;

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      out.push(doc.toJS() as Manifest);
    }
  }
  return out;
}

const manifests = loadManifests();
const one = (kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0];
};
const statefulSet = one('StatefulSet');
const container = statefulSet.spec.template.spec.containers[0];
const configText: string = one('ConfigMap').data['promspool.yaml'];

function loadEmbeddedConfig(): PromspoolConfig {
  const result = parseConfig(configText, 'configmap.yaml');
  assert.deepEqual(result.errors, []);
  assert.ok(result.config);
  return result.config;
}

describe('docs/deploy/kubernetes manifests', () => {
  it('hold exactly the objects the README describes, in one namespace', () => {
    assert.deepEqual(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
      'ClusterRole/promspool',
      'ClusterRoleBinding/promspool',
      'ConfigMap/promspool-config',
      'PodDisruptionBudget/promspool',
      'Service/promspool',
      'Service/promspool-receiver',
      'ServiceAccount/promspool',
      'StatefulSet/promspool',
    ]);
    for (const m of manifests) {
      if (m.kind.startsWith('Cluster')) assert.equal(m.metadata.namespace, undefined);
      else assert.equal(m.metadata.namespace, 'monitoring', `${m.kind}/${m.metadata.name}`);
    }
  });

  it('wire together: service account, binding, config map volume, governing service', () => {
    const binding = one('ClusterRoleBinding');
    assert.equal(statefulSet.spec.template.spec.serviceAccountName, 'promspool');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'promspool', namespace: 'monitoring' }]);
    assert.equal(binding.roleRef.name, one('ClusterRole').metadata.name);
    const configVolume = statefulSet.spec.template.spec.volumes.find((v: Manifest) => v.name === 'config');
    assert.equal(configVolume.configMap.name, 'promspool-config');
    assert.ok(container.args.includes('--config=/etc/promspool/promspool.yaml'));
    assert.equal(container.volumeMounts.find((v: Manifest) => v.name === 'config').mountPath, '/etc/promspool');
    const governing = manifests.find((m) => m.kind === 'Service' && m.metadata.name === statefulSet.spec.serviceName);
    assert.equal(governing?.spec.clusterIP, 'None');
  });

  it('embed a promspool config the loader accepts, with kubernetes_sd_configs jobs', () => {
    const config = loadEmbeddedConfig();
    assert.deepEqual(
      (config.scrapeConfigs ?? []).map((s) => [
        s.jobName,
        s.serviceDiscovery.map((d) => d.kind === 'kubernetes' && d.role),
      ]),
      [
        ['kubernetes-pods', ['pod']],
        ['kubernetes-service-endpoints', ['endpointslice']],
      ],
    );
  });

  it('probe /-/ready and /-/healthy on the listen port; the queue directory is the volume', () => {
    const config = loadEmbeddedConfig();
    assert.equal(config.server.listenAddress.endsWith(':9201'), true);
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: 9201 }]);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/-/ready', port: 'http' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/-/healthy', port: 'http' });
    const dataMount = container.volumeMounts.find((v: Manifest) => v.name === 'data');
    assert.equal(dataMount.mountPath, config.storage.path);
    assert.deepEqual(
      statefulSet.spec.volumeClaimTemplates.map((c: Manifest) => c.metadata.name),
      ['data'],
    );
  });

  it('give shutdown time: preStop plus three phases of shutdown_timeout fit the grace period', () => {
    const config = loadEmbeddedConfig();
    const preStop = container.lifecycle.preStop.exec.command;
    assert.equal(preStop[0], 'sleep');
    const needed = Number(preStop[1]) + (3 * config.server.shutdownTimeoutMs) / 1000;
    assert.ok(
      statefulSet.spec.template.spec.terminationGracePeriodSeconds >= needed,
      `terminationGracePeriodSeconds must be >= ${needed}`,
    );
  });

  it('shard by replica: --scrape.shard-count is the replica count and each pod name gives its index', () => {
    const count = container.args.find((a: string) => a.startsWith('--scrape.shard-count='))?.split('=')[1];
    assert.equal(Number(count), statefulSet.spec.replicas);
    for (let i = 0; i < statefulSet.spec.replicas; i++) {
      assert.deepEqual(resolveScrapeShard(count, undefined, `${statefulSet.metadata.name}-${i}`), {
        index: i,
        count: statefulSet.spec.replicas,
      });
    }
  });

  it("allow every list and watch the config's Kubernetes discovery makes", async () => {
    const rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] = one('ClusterRole').rules;
    const allowed = (group: string, resource: string, verb: string) =>
      rules.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb));
    const groupOf: Record<string, string> = { endpointslices: 'discovery.k8s.io', ingresses: 'networking.k8s.io' };
    const server = await new FakeApiServer().start();
    try {
      for (const job of loadEmbeddedConfig().scrapeConfigs ?? []) {
        for (const sd of job.serviceDiscovery) {
          if (sd.kind !== 'kubernetes') continue;
          const from = server.requests.length;
          const d = new RunningDiscoverer(createKubernetesDiscoverer({ ...sd, apiServer: server.url }));
          await d.next();
          // Every listed resource is then watched: wait for those watches too.
          const listed = new Set(
            server.requests
              .slice(from)
              .filter((r) => !r.watch)
              .map((r) => r.resource),
          );
          for (const resource of listed) await server.waitForWatch(resource, from);
          await d.stop();
          const made = server.requests.slice(from);
          assert.ok(made.length > 0);
          for (const r of made) {
            const verb = r.watch ? 'watch' : 'list';
            assert.ok(
              allowed(groupOf[r.resource] ?? '', r.resource, verb),
              `${job.jobName}: ${verb} ${r.resource} not allowed`,
            );
          }
        }
      }
    } finally {
      await server.close();
    }
  });
});
