/**
 * The daemon serving HTTPS (`server.tls_config`): remote-write pushes over TLS, client
 * certificates required and verified, certificates re-read on reload, and promspool's own
 * remote-write client talking to the daemon over mutual TLS with a bearer token.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { compressSync } from 'snappy';
import { parseConfig } from '../../src/config/parse.js';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { createRemoteWriteClient } from '../../src/network/http-client.js';
import { NAMED_SERVER_NAME, opensslAvailable, type TestCerts, testCerts } from '../helpers/tls-certs.js';
import { endpointConfig } from '../network/harness.js';
import { FakeQueue } from './fake-queue.js';
import { RW1_HEADERS } from './http-client.js';
import { type TestSeries, writeRequestV1 } from './rw-bodies.js';
import { testConfigYaml } from './test-config.js';

const skip = opensslAvailable() ? false : 'the openssl CLI is needed to make test certificates';

const ONE_SERIES: TestSeries[] = [{ labels: [['__name__', 'tls_up']], samples: [[1_700_000_000_000, 1]] }];

interface TlsClientOptions {
  ca?: string;
  cert?: string;
  key?: string;
}

interface TlsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The certificate the server presented. */
  peer: PeerCertificate;
}

/** One HTTPS request on a fresh connection (no agent: no TLS session or socket reuse between calls). */
function tlsRequest(
  url: string,
  tls: TlsClientOptions,
  opts: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false, ...tls },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), peer }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const postV1 = (url: string, tls: TlsClientOptions, headers: Record<string, string> = {}) =>
  tlsRequest(`${url}/api/v1/write`, tls, {
    method: 'POST',
    headers: { ...RW1_HEADERS, ...headers },
    body: compressSync(writeRequestV1(ONE_SERIES)),
  });

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Parses the test YAML with `server` holding `tls` (already indented by 2) and `receiver`. */
function tlsConfigYaml(tls: string, receiver = 'receiver:\n  enabled: true\n'): string {
  return testConfigYaml('', receiver).replace(
    '  shutdown_timeout: 5s\n',
    `  shutdown_timeout: 5s\n  tls_config:\n${tls}`,
  );
}

async function startWith(
  yaml: string,
  configPath?: string,
): Promise<{ daemon: Daemon; queue: FakeQueue; logs: string[] }> {
  const { config, errors } = parseConfig(yaml, configPath);
  assert.deepEqual(errors, []);
  assert.ok(config);
  const queue = new FakeQueue();
  const logs: string[] = [];
  const daemon = await startDaemon(config, {
    queueFactory: async () => queue,
    collectDefaultMetrics: false,
    configPath,
    logger: createDaemonLogger({ level: 'debug', write: (line) => logs.push(line) }),
  });
  return { daemon, queue, logs };
}

describe('daemon over HTTPS', { skip }, () => {
  let certs: TestCerts;
  let d: Awaited<ReturnType<typeof startWith>>;
  before(async () => {
    certs = await testCerts();
    d = await startWith(
      tlsConfigYaml(`    cert_file: ${certs.server.certFile}\n    key_file: ${certs.server.keyFile}\n`),
    );
  });
  after(() => d?.daemon.stop());

  test('serves https on its URL; a push trusted through the CA is stored', async () => {
    assert.match(d.daemon.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await postV1(d.daemon.url, { ca: certs.ca.cert });
    assert.equal(res.status, 204);
    assert.equal(res.peer.fingerprint256, fingerprintOf(certs.server.cert));
    assert.deepEqual(d.queue.samples, [{ labels: { __name__: 'tls_up' }, timestampMs: 1_700_000_000_000, value: 1 }]);
    assert.equal(
      (await tlsRequest(`${d.daemon.url}/-/healthy`, { ca: certs.ca.cert })).body,
      'promspool is healthy.\n',
    );
    assert.match(d.logs.join(''), /msg="?listening"? .*tls=on/);
  });

  test('a client that does not trust the CA, or speaks plain HTTP, gets nothing stored', async () => {
    await assert.rejects(postV1(d.daemon.url, {}), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await assert.rejects(postV1(d.daemon.url, { ca: certs.otherCa.cert }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    assert.equal(d.queue.samples.length, 1);
  });
});

describe('daemon requiring client certificates', { skip }, () => {
  let certs: TestCerts;
  let d: Awaited<ReturnType<typeof startWith>>;
  before(async () => {
    certs = await testCerts();
    d = await startWith(
      tlsConfigYaml(
        `    cert_file: ${certs.server.certFile}\n    key_file: ${certs.server.keyFile}\n    client_ca_file: ${certs.ca.certFile}\n    min_version: TLS13\n`,
        'receiver:\n  enabled: true\n  authorization:\n    credentials: mtls-and-token\n',
      ),
    );
  });
  after(() => d?.daemon.stop());

  test('accepts a certificate signed by client_ca_file, refuses none or another CA', async () => {
    const withCert = { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key };
    assert.equal((await postV1(d.daemon.url, withCert, { Authorization: 'Bearer mtls-and-token' })).status, 204);
    // Certificates do not replace the receiver's credentials: both are checked.
    const noToken = await postV1(d.daemon.url, withCert);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers['www-authenticate'], 'Bearer');
    await assert.rejects(postV1(d.daemon.url, { ca: certs.ca.cert }, { Authorization: 'Bearer mtls-and-token' }), {
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    });
    await assert.rejects(
      postV1(
        d.daemon.url,
        { ca: certs.ca.cert, cert: certs.otherClient.cert, key: certs.otherClient.key },
        { Authorization: 'Bearer mtls-and-token' },
      ),
      // Node's TLS server checks the certificate after the handshake and closes the connection.
      { code: 'ECONNRESET' },
    );
    assert.equal(d.queue.samples.length, 1);
  });

  test("promspool's own remote-write client delivers over mutual TLS with a bearer token", async () => {
    const config = endpointConfig(
      `${d.daemon.url}/api/v1/write`,
      {},
      {
        authorization: { type: 'Bearer', credentials: 'mtls-and-token' },
        tlsConfig: { insecureSkipVerify: false, ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key },
      },
    );
    const client = createRemoteWriteClient({ config, connections: 1, version: 'test' });
    try {
      const before = d.queue.samples.length;
      const res = await client.post(compressSync(writeRequestV1(ONE_SERIES)), new AbortController().signal);
      assert.deepEqual(res, { status: 204, retryAfter: undefined, message: '' });
      assert.equal(d.queue.samples.length, before + 1);
    } finally {
      await client.close();
    }
  });

  test('a failed client handshake is logged at debug level with its reason', () => {
    const lines = d.logs.filter((l) => l.includes('TLS handshake with a client failed'));
    assert.ok(lines.length >= 1, d.logs.join(''));
    assert.match(lines.join(''), /ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE/);
  });

  test('TLS 1.2 clients are refused by min_version TLS13', async () => {
    await assert.rejects(
      tlsRequest(`${d.daemon.url}/-/healthy`, {
        ca: certs.ca.cert,
        cert: certs.client.cert,
        key: certs.client.key,
        ...{ maxVersion: 'TLSv1.2' },
      }),
      { code: 'EPROTO', message: /tlsv1 alert protocol version/ },
    );
  });
});

describe('reloading server.tls_config', { skip }, () => {
  let certs: TestCerts;
  let dir: string;
  let d: Awaited<ReturnType<typeof startWith>>;
  const configYaml = tlsConfigYaml('    cert_file: server.pem\n    key_file: server-key.pem\n');
  before(async () => {
    certs = await testCerts();
    dir = await mkdtemp(join(tmpdir(), 'promspool-tls-reload-'));
    await copyFile(certs.server.certFile, join(dir, 'server.pem'));
    await copyFile(certs.server.keyFile, join(dir, 'server-key.pem'));
    await writeFile(join(dir, 'promspool.yaml'), configYaml);
    d = await startWith(configYaml, join(dir, 'promspool.yaml'));
  });
  after(async () => {
    await d?.daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const servedFingerprint = async () =>
    (await tlsRequest(`${d.daemon.url}/-/healthy`, { rejectUnauthorized: false } as TlsClientOptions)).peer
      .fingerprint256;

  test('re-reads rotated files on reload; new connections get the new certificate', async () => {
    assert.equal(await servedFingerprint(), fingerprintOf(certs.server.cert));
    await copyFile(certs.namedServer.certFile, join(dir, 'server.pem'));
    await copyFile(certs.namedServer.keyFile, join(dir, 'server-key.pem'));
    assert.deepEqual(await d.daemon.reload(), { ok: true });
    assert.equal(await servedFingerprint(), fingerprintOf(certs.namedServer.cert));
    const res = await tlsRequest(`${d.daemon.url}/-/healthy`, {
      ca: certs.ca.cert,
      servername: NAMED_SERVER_NAME,
    } as TlsClientOptions);
    assert.equal(res.status, 200);
    assert.equal(res.peer.subject.CN, NAMED_SERVER_NAME);
  });

  test('a key that does not match its certificate fails the reload and keeps the running certificate', async () => {
    await copyFile(certs.server.certFile, join(dir, 'server.pem'));
    const result = await d.daemon.reload();
    assert.deepEqual(result, {
      ok: false,
      status: 400,
      errors: ['server.tls_config.key_file: is not the private key of the certificate (key values mismatch) (line 6)'],
    });
    assert.equal(await servedFingerprint(), fingerprintOf(certs.namedServer.cert));
  });

  test('turning TLS off or changing client_auth_type is reported as needing a restart', async () => {
    await copyFile(certs.server.keyFile, join(dir, 'server-key.pem'));
    assert.deepEqual(await d.daemon.reload(testConfigYaml()), { ok: true });
    assert.match(d.logs.join(''), /server\.tls_config was removed; it takes effect only after a restart/);
    assert.equal(await servedFingerprint(), fingerprintOf(certs.namedServer.cert));
    const withClientCa = tlsConfigYaml(
      `    cert_file: ${join(dir, 'server.pem')}\n    key_file: ${join(dir, 'server-key.pem')}\n    client_ca_file: ${certs.ca.certFile}\n`,
    );
    assert.deepEqual(await d.daemon.reload(withClientCa), { ok: true });
    assert.match(d.logs.join(''), /server\.tls_config\.client_auth_type changed; it takes effect only after a restart/);
    // Neither applied: the same certificate, and still no client certificate asked for.
    assert.equal(await servedFingerprint(), fingerprintOf(certs.namedServer.cert));
  });
});
