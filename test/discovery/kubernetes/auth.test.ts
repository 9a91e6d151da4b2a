/**
 * Reaching the API server: in-cluster (service account token and CA over TLS, the token read
 * again after {@link TOKEN_REREAD_MS}, `own_namespace`), a kubeconfig file (inline CA data and a
 * token; relative file paths), and `api_server` with the HTTP client keys. The fake API server
 * speaks TLS with a certificate signed by the test CA and refuses requests without the token.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN_REREAD_MS } from '../../../src/discovery/kubernetes/api-client.js';
import { createKubernetesDiscoverer } from '../../../src/discovery/kubernetes/index.js';
import { loadKubeconfig } from '../../../src/discovery/kubernetes/kubeconfig.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import { opensslAvailable, type TestCerts, testCerts } from '../../helpers/tls-certs.js';
import { FakeApiServer } from './fake-api-server.js';
import { AwaitableLogger, RunningDiscoverer, sdConfig } from './harness.js';

const service = (namespace: string) => ({
  metadata: { name: 'api', namespace },
  spec: { type: 'ClusterIP', clusterIP: '10.0.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
});

describe('kubernetes discovery authentication', { skip: opensslAvailable() ? false : 'openssl CLI not found' }, () => {
  let certs: TestCerts;
  let server: FakeApiServer;
  let expectedToken = 'token-1';
  let dir: string;
  before(async () => {
    certs = await testCerts();
    server = await new FakeApiServer({
      tls: { cert: certs.server.cert, key: certs.server.key },
      token: () => expectedToken,
    }).start();
    server.set('services', [service('monitoring'), service('other')]);
    dir = mkdtempSync(join(tmpdir(), 'promspool-k8s-auth-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('in-cluster: service account token and CA over TLS, own namespace, the token read again after a minute', async () => {
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'token-1\n');
    writeFileSync(join(sa, 'ca.crt'), certs.ca.cert);
    writeFileSync(join(sa, 'namespace'), 'monitoring');
    const port = new URL(server.url).port;
    const clock = new SimulatedClock(5_000_000);
    const logs = new AwaitableLogger();
    const from = server.requests.length;
    const d = new RunningDiscoverer(
      createKubernetesDiscoverer(sdConfig({ role: 'service', namespaces: { ownNamespace: true, names: [] } }), {
        clock,
        logger: logs.logger,
        inCluster: {
          env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
          serviceAccountDir: sa,
        },
      }),
    );
    try {
      const first = await d.next();
      assert.deepEqual(
        first.map((g) => g.source),
        ['svc/monitoring/api'],
      );
      const watch = await server.waitForWatch('services', from);
      assert.equal(watch.namespace, 'monitoring');
      assert.equal(watch.authorization, 'Bearer token-1');

      // kubelet rotates the token: the file changes and the server wants the new one.
      writeFileSync(join(sa, 'token'), 'token-2');
      expectedToken = 'token-2';
      clock.advance(TOKEN_REREAD_MS - 1);
      let before = server.requests.length;
      // A bookmark, so the ended watch is resumed at once (not after a backoff).
      server.emitRaw('services', { type: 'BOOKMARK', object: { kind: 'Service', metadata: { resourceVersion: '7' } } });
      server.endWatches();
      assert.equal(server.requests.length, before);
      // Not yet a minute: the old token is still sent (and refused here), a failure that backs off.
      await logs.waitFor('list or watch failed');
      assert.equal(server.requests[before].authorization, 'Bearer token-1');
      assert.equal(server.requests[before].query.get('watch'), 'true');
      // After the backoff a minute has passed: the token is read again.
      before = server.requests.length;
      clock.advance(1_000);
      const resumed = await server.waitForWatch('services', before);
      assert.equal(resumed.authorization, 'Bearer token-2');
    } finally {
      expectedToken = 'token-1';
      await d.stop();
    }
  });

  it('kubeconfig_file: server, inline CA data and token of the current context', async () => {
    const file = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: test',
        'contexts:',
        '- name: other',
        '  context: { cluster: nowhere, user: nobody }',
        '- name: test',
        '  context: { cluster: fake, user: sa, namespace: monitoring }',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${server.url}`,
        `    certificate-authority-data: ${Buffer.from(certs.ca.cert).toString('base64')}`,
        'users:',
        '- name: sa',
        '  user:',
        '    token: token-1',
        '',
      ].join('\n'),
    );
    const from = server.requests.length;
    const d = new RunningDiscoverer(createKubernetesDiscoverer(sdConfig({ role: 'service', kubeconfigFile: file })));
    try {
      const first = await d.next();
      assert.deepEqual(first.map((g) => g.source).sort(), ['svc/monitoring/api', 'svc/other/api']);
      const list = await server.waitFor((r) => r.resource === 'services', from);
      assert.equal(list.authorization, 'Bearer token-1');
      assert.equal(list.namespace, '');
    } finally {
      await d.stop();
    }
  });

  it('kubeconfig_file: client certificate and key (inline data) for a server that requires them', async () => {
    const mtls = await new FakeApiServer({
      tls: { cert: certs.server.cert, key: certs.server.key, clientCa: certs.ca.cert },
    }).start();
    try {
      mtls.set('services', [service('default')]);
      const file = join(dir, 'kubeconfig-mtls.yaml');
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      writeFileSync(
        file,
        [
          'current-context: c',
          'contexts: [{ name: c, context: { cluster: k, user: u } }]',
          `clusters: [{ name: k, cluster: { server: "${mtls.url}", certificate-authority-data: ${b64(certs.ca.cert)} } }]`,
          `users: [{ name: u, user: { client-certificate-data: ${b64(certs.client.cert)}, client-key-data: ${b64(certs.client.key)} } }]`,
        ].join('\n'),
      );
      const d = new RunningDiscoverer(createKubernetesDiscoverer(sdConfig({ role: 'service', kubeconfigFile: file })));
      try {
        assert.deepEqual(
          (await d.next()).map((g) => g.source),
          ['svc/default/api'],
        );
        assert.equal((await mtls.waitFor((r) => r.resource === 'services')).authorization, undefined);
      } finally {
        await d.stop();
      }
    } finally {
      await mtls.close();
    }
  });

  it('kubeconfig files: relative paths resolve against the kubeconfig directory, -data is base64', () => {
    const sub = join(dir, 'kc');
    mkdirSync(sub);
    writeFileSync(join(sub, 'ca.pem'), 'CA FROM FILE');
    writeFileSync(join(sub, 'client.pem'), 'CERT FROM FILE');
    writeFileSync(join(sub, 'tok'), 'x');
    const file = join(sub, 'config');
    writeFileSync(
      file,
      [
        'current-context: c',
        'contexts: [{ name: c, context: { cluster: k, user: u } }]',
        'clusters: [{ name: k, cluster: { server: "https://k.example:6443", certificate-authority: ca.pem, tls-server-name: kube, insecure-skip-tls-verify: false } }]',
        `users: [{ name: u, user: { client-certificate: client.pem, client-key-data: ${Buffer.from('KEY DATA').toString('base64')}, tokenFile: tok, username: admin, password: secret } }]`,
      ].join('\n'),
    );
    assert.deepEqual(loadKubeconfig(file), {
      server: 'https://k.example:6443',
      ca: 'CA FROM FILE',
      cert: 'CERT FROM FILE',
      key: 'KEY DATA',
      insecureSkipVerify: false,
      serverName: 'kube',
      tokenFile: join(sub, 'tok'),
      username: 'admin',
      password: 'secret',
    });
    writeFileSync(file, 'current-context: missing\ncontexts: []\n');
    assert.throws(() => loadKubeconfig(file), new RegExp(`kubeconfig ${file}: context "missing" not found`));
  });

  it('api_server with authorization and tls_config', async () => {
    const from = server.requests.length;
    const d = new RunningDiscoverer(
      createKubernetesDiscoverer(
        sdConfig({
          role: 'service',
          apiServer: server.url,
          authorization: { type: 'Bearer', credentials: 'token-1' },
          tlsConfig: { ca: certs.ca.cert, insecureSkipVerify: false },
          namespaces: { ownNamespace: false, names: ['other'] },
        }),
      ),
    );
    try {
      assert.deepEqual(
        (await d.next()).map((g) => g.source),
        ['svc/other/api'],
      );
      assert.equal((await server.waitForWatch('services', from)).authorization, 'Bearer token-1');
    } finally {
      await d.stop();
    }
  });

  it('a server certificate the CA did not sign is a failure, logged and retried', async () => {
    const logs = new AwaitableLogger();
    const clock = new SimulatedClock();
    const d = new RunningDiscoverer(
      createKubernetesDiscoverer(
        sdConfig({
          role: 'service',
          apiServer: server.url,
          tlsConfig: { ca: certs.otherCa.cert, insecureSkipVerify: false },
        }),
        { clock, logger: logs.logger },
      ),
    );
    try {
      await logs.waitFor('list or watch failed');
      assert.equal(d.untaken, 0);
      assert.equal(logs.lines[0].fields.path, '/api/v1/services');
      assert.match(
        String(logs.lines[0].fields.err),
        /^GET \/api\/v1\/services: TLS with https:\/\/127\.0\.0\.1:\d+ failed/,
      );
    } finally {
      await d.stop();
    }
  });
});
