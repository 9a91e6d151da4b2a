/**
 * List + watch against the fake API server: events after the initial list, bookmarks, 410 Gone
 * (as an ERROR event and as the HTTP status), a dropped watch connection, failures with backoff on
 * the simulated clock, joined objects (a service change rebuilds its endpoints), namespaces and
 * selectors.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createKubernetesDiscoverer } from '../../../src/discovery/kubernetes/index.js';
import { INITIAL_BACKOFF_MS } from '../../../src/discovery/kubernetes/informer.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import { FakeApiServer, type FakeObject } from './fake-api-server.js';
import { AwaitableLogger, bySource, RunningDiscoverer, sdConfig } from './harness.js';

function pod(name: string, ip: string, namespace = 'default'): FakeObject {
  return {
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'img', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    },
    status: { podIP: ip, hostIP: '10.0.0.1', phase: 'Running' },
  };
}

/** The group role `pod` makes of {@link pod}. */
function podGroup(name: string, ip: string, namespace = 'default') {
  return {
    source: `pod/${namespace}/${name}`,
    labels: {
      __meta_kubernetes_pod_ip: ip,
      __meta_kubernetes_pod_ready: 'unknown',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_node_name: 'n1',
      __meta_kubernetes_pod_host_ip: '10.0.0.1',
      __meta_kubernetes_pod_uid: `uid-${name}`,
      __meta_kubernetes_pod_name: name,
      __meta_kubernetes_namespace: namespace,
    },
    targets: [
      {
        __address__: `${ip}:8080`,
        __meta_kubernetes_pod_container_name: 'c',
        __meta_kubernetes_pod_container_id: '',
        __meta_kubernetes_pod_container_image: 'img',
        __meta_kubernetes_pod_container_init: 'false',
        __meta_kubernetes_pod_container_port_number: '8080',
        __meta_kubernetes_pod_container_port_name: 'http',
        __meta_kubernetes_pod_container_port_protocol: 'TCP',
      },
    ],
  };
}

const gone = (source: string) => ({ source, labels: {}, targets: [] });

describe('kubernetes discovery list + watch', () => {
  let server: FakeApiServer;
  let clock: SimulatedClock;
  let logs: AwaitableLogger;
  before(async () => {
    server = await new FakeApiServer().start();
  });
  after(() => server.close());
  beforeEach(() => {
    server.dropWatches();
    for (const r of ['pods', 'services', 'endpoints', 'endpointslices', 'nodes', 'namespaces']) server.set(r, []);
    clock = new SimulatedClock(1_000_000);
    logs = new AwaitableLogger();
  });

  const start = (fields: Parameters<typeof sdConfig>[0] = {}) => {
    const discoverer = createKubernetesDiscoverer(sdConfig({ apiServer: server.url, ...fields }), {
      clock,
      logger: logs.logger,
    });
    return { discoverer, running: new RunningDiscoverer(discoverer) };
  };

  it('reports the full set first, then each watch event as the changed group', async () => {
    server.set('pods', [pod('a', '10.1.0.1')]);
    const from = server.requests.length;
    const { running } = start();
    try {
      assert.deepEqual(await running.next(), [podGroup('a', '10.1.0.1')]);
      const watch = await server.waitForWatch('pods', from);
      assert.equal(watch.query.get('resourceVersion'), server.resourceVersion);
      assert.equal(watch.query.get('allowWatchBookmarks'), 'true');

      server.emit('pods', 'ADDED', pod('b', '10.1.0.2'));
      assert.deepEqual(await running.next(), [podGroup('b', '10.1.0.2')]);
      server.emit('pods', 'MODIFIED', pod('a', '10.1.0.9'));
      assert.deepEqual(await running.next(), [podGroup('a', '10.1.0.9')]);
      server.emit('pods', 'DELETED', pod('b', '10.1.0.2'));
      assert.deepEqual(await running.next(), [gone('pod/default/b')]);
      // An update that changes nothing discovery reports is not reported.
      server.emit('pods', 'MODIFIED', pod('a', '10.1.0.9'));
      server.emit('pods', 'ADDED', pod('c', '10.1.0.3'));
      assert.deepEqual(await running.next(), [podGroup('c', '10.1.0.3')]);
      assert.equal(running.untaken, 0);
    } finally {
      await running.stop();
    }
  });

  it('resumes a watch the server ended from the last version seen, a bookmark included', async () => {
    const from = server.requests.length;
    const { running } = start();
    try {
      assert.deepEqual(await running.next(), []);
      await server.waitForWatch('pods', from);
      server.emitRaw('pods', { type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '4242' } } });
      const before = server.requests.length;
      server.endWatches();
      const again = await server.waitForWatch('pods', before);
      assert.equal(again.query.get('resourceVersion'), '4242');
      // Resumed, not listed again.
      assert.equal(server.requests.slice(before).filter((r) => !r.watch).length, 0);
      assert.equal(logs.count('failed'), 0);
    } finally {
      await running.stop();
    }
  });

  it('a watch the server ends without any event is resumed only after the backoff', async () => {
    const from = server.requests.length;
    const { discoverer, running } = start();
    try {
      await running.next();
      await server.waitForWatch('pods', from);
      const before = server.requests.length;
      server.endWatches();
      await logs.waitFor('watch ended without events');
      assert.equal(clock.nextDeadline(), clock.now() + INITIAL_BACKOFF_MS);
      assert.equal(server.requests.length, before);
      clock.advance(INITIAL_BACKOFF_MS);
      await server.waitForWatch('pods', before);
      assert.equal(discoverer.stats.failures, 0);
    } finally {
      await running.stop();
    }
  });

  it('lists again on a 410 Gone ERROR event and reports what vanished meanwhile', async () => {
    server.set('pods', [pod('a', '10.1.0.1'), pod('b', '10.1.0.2')]);
    const from = server.requests.length;
    const { discoverer, running } = start();
    try {
      assert.equal((await running.next()).length, 2);
      await server.waitForWatch('pods', from);
      // b is deleted while the watch misses it; the server then says the version is too old.
      server.set('pods', [pod('a', '10.1.0.1')]);
      const before = server.requests.length;
      server.emitRaw('pods', {
        type: 'ERROR',
        object: { kind: 'Status', code: 410, message: 'too old resource version' },
      });
      assert.deepEqual(await running.next(), [gone('pod/default/b')]);
      const after = server.requests.slice(before);
      assert.deepEqual(
        after.map((r) => r.watch),
        [false, true].slice(0, after.length),
      );
      assert.equal(discoverer.stats.failures, 0);
      assert.equal(logs.count('resource version too old'), 1);
    } finally {
      await running.stop();
    }
  });

  it('lists again when the watch request itself answers 410', async () => {
    server.set('pods', [pod('a', '10.1.0.1')]);
    server.failNext('pods', true, 410);
    const from = server.requests.length;
    const { discoverer, running } = start();
    try {
      assert.deepEqual(await running.next(), [podGroup('a', '10.1.0.1')]);
      // list, watch (410), list, watch: the second watch is the fourth request.
      await server.waitForWatch('pods', from + 2);
      assert.deepEqual(
        server.requests.slice(from).map((r) => (r.watch ? 'watch' : 'list')),
        ['list', 'watch', 'list', 'watch'],
      );
      assert.equal(discoverer.stats.failures, 0);
    } finally {
      await running.stop();
    }
  });

  it('a dropped watch connection is a failure: logged, counted, retried after the backoff from the last version', async () => {
    server.set('pods', [pod('a', '10.1.0.1')]);
    const from = server.requests.length;
    const { discoverer, running } = start();
    try {
      await running.next();
      await server.waitForWatch('pods', from);
      server.emit('pods', 'ADDED', pod('b', '10.1.0.2'));
      await running.next();
      const lastVersion = server.resourceVersion;
      const before = server.requests.length;
      server.dropWatches();
      await logs.waitFor('list or watch failed');
      assert.equal(discoverer.stats.failures, 1);
      assert.equal(clock.nextDeadline(), clock.now() + INITIAL_BACKOFF_MS);
      clock.advance(INITIAL_BACKOFF_MS - 1);
      assert.equal(server.requests.length, before);
      clock.advance(1);
      const again = await server.waitForWatch('pods', before);
      assert.equal(again.query.get('resourceVersion'), lastVersion);
      server.emit('pods', 'DELETED', pod('a', '10.1.0.1'));
      assert.deepEqual(await running.next(), [gone('pod/default/a')]);
    } finally {
      await running.stop();
    }
  });

  it('failures back off exponentially; the first full set waits for a list that succeeds', async () => {
    server.set('pods', [pod('a', '10.1.0.1')]);
    server.failNext('pods', false, 500);
    server.failNext('pods', false, 503);
    const { discoverer, running } = start();
    try {
      await logs.waitFor('list or watch failed');
      assert.equal(clock.nextDeadline(), clock.now() + INITIAL_BACKOFF_MS);
      clock.advance(INITIAL_BACKOFF_MS);
      await logs.waitFor('list or watch failed', 1);
      assert.equal(clock.nextDeadline(), clock.now() + 2 * INITIAL_BACKOFF_MS);
      assert.equal(running.untaken, 0);
      assert.match(String(logs.lines.find((l) => l.msg.includes('failed'))?.fields.err), /HTTP 500/);
      clock.advance(2 * INITIAL_BACKOFF_MS);
      assert.deepEqual(await running.next(), [podGroup('a', '10.1.0.1')]);
      assert.equal(discoverer.stats.failures, 2);
      assert.equal(discoverer.stats.targets, 1);
    } finally {
      await running.stop();
    }
  });

  it('role endpoints: a change of the joined service rebuilds the group', async () => {
    const endpoints = {
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.2.0.1' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
    };
    server.set('endpoints', [endpoints]);
    server.set('services', [{ metadata: { name: 'web', namespace: 'default' } }]);
    const from = server.requests.length;
    const { running } = start({ role: 'endpoints' });
    try {
      const first = bySource(await running.next());
      assert.equal(first['endpoints/default/web'].labels.__meta_kubernetes_service_name, 'web');
      await server.waitForWatch('services', from);
      server.emit('services', 'MODIFIED', {
        metadata: { name: 'web', namespace: 'default', labels: { tier: 'front' } },
      });
      const [g] = await running.next();
      assert.deepEqual(g.labels, {
        __meta_kubernetes_namespace: 'default',
        __meta_kubernetes_service_name: 'web',
        __meta_kubernetes_service_label_tier: 'front',
        __meta_kubernetes_service_labelpresent_tier: 'true',
        __meta_kubernetes_endpoints_name: 'web',
      });
      server.emit('services', 'DELETED', { metadata: { name: 'web', namespace: 'default' } });
      const [h] = await running.next();
      assert.deepEqual(h.labels, { __meta_kubernetes_namespace: 'default', __meta_kubernetes_endpoints_name: 'web' });
    } finally {
      await running.stop();
    }
  });

  it('attach_metadata.node: a node label change rebuilds only the groups of pods on that node', async () => {
    const onNode = (name: string, node: string) => ({
      ...pod(name, '10.1.0.1'),
      spec: { ...(pod(name, '').spec as object), nodeName: node },
    });
    server.set('nodes', [{ metadata: { name: 'n1' } }, { metadata: { name: 'n2' } }]);
    server.set('pods', [onNode('a', 'n1'), onNode('b', 'n2')]);
    const from = server.requests.length;
    const { running } = start({ attachMetadata: { node: true, namespace: false } });
    try {
      const first = bySource(await running.next());
      assert.equal(first['pod/default/a'].labels.__meta_kubernetes_node_name, 'n1');
      await server.waitForWatch('nodes', from);
      server.emit('nodes', 'MODIFIED', { metadata: { name: 'n2', labels: { zone: 'z2' } } });
      const [g] = await running.next();
      assert.equal(g.source, 'pod/default/b');
      assert.equal(g.labels.__meta_kubernetes_node_label_zone, 'z2');
      // The node goes away: its pods are left out (as Prometheus filters pods of unknown nodes).
      server.emit('nodes', 'DELETED', { metadata: { name: 'n2' } });
      assert.deepEqual(await running.next(), [gone('pod/default/b')]);
      assert.equal(running.untaken, 0);
    } finally {
      await running.stop();
    }
  });

  it('role endpointslice: a change of a pod behind a slice rebuilds that slice only', async () => {
    const slice = (name: string, podName: string) => ({
      metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.1.0.1'], targetRef: { kind: 'Pod', namespace: 'default', name: podName } }],
    });
    server.set('endpointslices', [slice('s1', 'a'), slice('s2', 'b')]);
    server.set('pods', [pod('a', '10.1.0.1'), pod('b', '10.1.0.2')]);
    const from = server.requests.length;
    const { running } = start({ role: 'endpointslice' });
    try {
      assert.equal((await running.next()).length, 2);
      await server.waitForWatch('pods', from);
      server.emit('pods', 'MODIFIED', { ...pod('b', '10.1.0.2'), status: { podIP: '10.1.0.2', phase: 'Failed' } });
      const [g] = await running.next();
      assert.equal(g.source, 'endpointslice/default/s2');
      assert.equal(g.targets[0].__meta_kubernetes_pod_phase, 'Failed');
      assert.equal(running.untaken, 0);
    } finally {
      await running.stop();
    }
  });

  it('own_namespace without a readable namespace file: logged, counted, an empty first set', async () => {
    const discoverer = createKubernetesDiscoverer(
      sdConfig({ apiServer: server.url, namespaces: { ownNamespace: true, names: [] } }),
      { clock, logger: logs.logger, inCluster: { serviceAccountDir: '/nonexistent/promspool-test' } },
    );
    const running = new RunningDiscoverer(discoverer);
    try {
      assert.deepEqual(await running.next(), []);
      assert.equal(discoverer.stats.failures, 1);
      assert.match(
        String(logs.lines.find((l) => l.msg === 'kubernetes discovery cannot start')?.fields.err),
        /could not determine the pod's namespace from \/nonexistent\/promspool-test\/namespace/,
      );
    } finally {
      await running.stop();
    }
  });

  it('watches each named namespace with the selectors of each resource role', async () => {
    server.set('pods', [pod('a', '10.1.0.1', 'ns1'), pod('b', '10.1.0.2', 'ns2'), pod('c', '10.1.0.3', 'ns3')]);
    const from = server.requests.length;
    const { running } = start({
      role: 'endpoints',
      namespaces: { ownNamespace: false, names: ['ns1', 'ns2', 'ns1'] },
      selectors: [
        { role: 'pod', label: 'app=web', field: 'status.phase=Running' },
        { role: 'endpoints', label: 'team in (a,b)' },
      ],
    });
    try {
      await running.next();
      const lists = server.requests
        .slice(from)
        .filter((r) => !r.watch)
        .map(
          (r) =>
            `${r.resource} ${r.namespace} ${r.query.get('labelSelector') ?? '-'} ${r.query.get('fieldSelector') ?? '-'}`,
        )
        .sort();
      assert.deepEqual(lists, [
        'endpoints ns1 team in (a,b) -',
        'endpoints ns2 team in (a,b) -',
        'pods ns1 app=web status.phase=Running',
        'pods ns2 app=web status.phase=Running',
        'services ns1 - -',
        'services ns2 - -',
      ]);
    } finally {
      await running.stop();
    }
  });
});
