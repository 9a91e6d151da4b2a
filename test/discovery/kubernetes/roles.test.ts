/**
 * The target groups of every role, case by case, as Prometheus' own discovery tests expect them
 * (test/fixtures/kubernetes/cases.json): the objects are served by the fake API server and the
 * first update of the discoverer must be exactly the expected groups.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { KubernetesSdConfig } from '../../../src/config/types.js';
import { createKubernetesDiscoverer } from '../../../src/discovery/kubernetes/index.js';
import type { TargetGroup } from '../../../src/discovery/types.js';
import { FakeApiServer, type FakeObject } from './fake-api-server.js';
import { bySource, RunningDiscoverer, sdConfig } from './harness.js';

interface Case {
  name: string;
  prometheusTest: string;
  config: Partial<KubernetesSdConfig>;
  objects: Record<string, FakeObject[]>;
  expected: TargetGroup[];
}

const cases = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/kubernetes/cases.json', import.meta.url), 'utf8'),
) as Case[];

describe('kubernetes discovery roles (cases from Prometheus)', () => {
  let server: FakeApiServer;
  before(async () => {
    server = await new FakeApiServer().start();
  });
  after(() => server.close());

  for (const c of cases) {
    it(`${c.name} (${c.prometheusTest})`, async () => {
      for (const r of ['nodes', 'namespaces', 'pods', 'services', 'endpoints', 'endpointslices', 'ingresses']) {
        server.set(r, c.objects[r] ?? []);
      }
      const d = new RunningDiscoverer(createKubernetesDiscoverer(sdConfig({ ...c.config, apiServer: server.url })));
      try {
        // Exact labels, and targets in order (Prometheus' tests compare the slices).
        assert.deepEqual(bySource(await d.next()), bySource(c.expected));
      } finally {
        await d.stop();
      }
    });
  }
});
