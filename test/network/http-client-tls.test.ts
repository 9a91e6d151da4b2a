/**
 * The sending side over real TLS: a local HTTPS receiver with certificates from a throwaway CA,
 * the remote-write client alone (every failure's message) and createQueue end to end (samples
 * delivered; the TLS failure in the log and in the endpoint's lastError). Also proxy_url, through
 * a small HTTP proxy written here that tunnels CONNECT and forwards absolute-form requests.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { uncompressSync } from 'snappy';
import type { EndpointConfig, TlsConfig } from '../../src/config/types.js';
import { RetryableError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { createRemoteWriteClient } from '../../src/network/http-client.js';
import { createQueue } from '../../src/queue.js';
import { decodeV1WithProtobufjs } from '../helpers/fake-receiver.js';
import { CLIENT_CN, NAMED_SERVER_NAME, opensslAvailable, type TestCerts, testCerts } from '../helpers/tls-certs.js';
import { fastOptions, tempDataDir } from '../queue/queue-helpers.js';
import { compress, endpointConfig } from './harness.js';

const skip = opensslAvailable() ? false : 'the openssl CLI is needed to make test certificates';

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** SNI the client sent (false when none). */
  servername: string | false;
  /** Common name of the client certificate, if one was presented. */
  peerCn: string | undefined;
  authorized: boolean;
}

interface HttpsReceiver {
  origin: string;
  port: number;
  requests: SeenRequest[];
  /** Resolves once `n` requests have been answered. */
  waitForRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

/** An HTTPS server answering 204 to everything and recording what it saw. */
async function startHttpsReceiver(options: ServerOptions): Promise<HttpsReceiver> {
  const requests: SeenRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = createHttpsServer(options, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        servername: socket.servername ?? false,
        peerCn: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : undefined,
        authorized: socket.authorized,
      });
      res.writeHead(204).end();
      for (const w of waiters.splice(0)) {
        if (requests.length >= w.n) w.resolve();
        else waiters.push(w);
      }
    });
  });
  // Failed handshakes are what several tests provoke; they must not crash the server.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    requests,
    waitForRequests: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface SeenByProxy {
  method: string;
  target: string;
  proxyAuthorization: string | undefined;
}

/** A minimal forward proxy: CONNECT tunnels and absolute-form HTTP requests, both to 127.0.0.1 only. */
async function startProxy(): Promise<{ url: string; seen: SeenByProxy[]; close(): Promise<void> }> {
  const seen: SeenByProxy[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      target: req.url ?? '',
      proxyAuthorization: req.headers['proxy-authorization'],
    });
    const target = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    seen.push({ method: 'CONNECT', target: req.url ?? '', proxyAuthorization: req.headers['proxy-authorization'] });
    const [, port] = (req.url ?? '').split(':');
    const upstream = netConnect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(client).add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const BODY = compress(Buffer.from('not decoded by these receivers'));

function tlsConfig(t: Partial<TlsConfig>): TlsConfig {
  return { insecureSkipVerify: false, ...t };
}

/** One POST through a fresh client; the client is destroyed afterwards whatever happened. */
async function postOnce(config: EndpointConfig): Promise<number> {
  const client = createRemoteWriteClient({ config, connections: 1, version: '1.2.3' });
  try {
    return (await client.post(BODY, new AbortController().signal)).status;
  } finally {
    await client.destroy();
  }
}

/** Asserts that one POST fails with a retryable ERR_TLS error whose message is exactly `message`. */
async function assertTlsFailure(config: EndpointConfig, message: RegExp): Promise<void> {
  await assert.rejects(postOnce(config), (err: unknown) => {
    assert.ok(err instanceof RetryableError, `not retryable: ${String(err)}`);
    assert.equal(err.code, 'ERR_TLS');
    assert.match(err.message, message);
    return true;
  });
}

describe('remote-write client over TLS', { skip }, () => {
  let certs: TestCerts;
  let plain: HttpsReceiver;
  let named: HttpsReceiver;
  let mtls: HttpsReceiver;
  let tls12Only: HttpsReceiver;
  let tls13Only: HttpsReceiver;
  before(async () => {
    certs = await testCerts();
    plain = await startHttpsReceiver({ cert: certs.server.cert, key: certs.server.key });
    named = await startHttpsReceiver({ cert: certs.namedServer.cert, key: certs.namedServer.key });
    mtls = await startHttpsReceiver({
      cert: certs.server.cert,
      key: certs.server.key,
      ca: certs.ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    tls12Only = await startHttpsReceiver({ cert: certs.server.cert, key: certs.server.key, maxVersion: 'TLSv1.2' });
    tls13Only = await startHttpsReceiver({ cert: certs.server.cert, key: certs.server.key, minVersion: 'TLSv1.3' });
  });
  after(async () => {
    await Promise.all([plain, named, mtls, tls12Only, tls13Only].map((r) => r?.close()));
  });

  const url = (r: HttpsReceiver) => `${r.origin}/api/v1/write`;

  it('trusts the receiver with tls_config.ca and delivers', async () => {
    const config = endpointConfig(url(plain), {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert }) });
    const before = plain.requests.length;
    assert.equal(await postOnce(config), 204);
    assert.equal(plain.requests.length, before + 1);
    assert.deepEqual(plain.requests[before].body, Buffer.from(BODY));
    assert.equal(plain.requests[before].url, '/api/v1/write');
  });

  it('fails retryably naming the untrusted certificate without a CA, and with the wrong CA', async () => {
    await assertTlsFailure(
      endpointConfig(url(plain)),
      new RegExp(
        `^TLS with ${plain.origin} failed: the receiver's certificate is not signed by a trusted CA: ` +
          'set tls_config.ca_file to the CA that issued it \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\\)$',
      ),
    );
    await assertTlsFailure(
      endpointConfig(url(plain), {}, { tlsConfig: tlsConfig({ ca: certs.otherCa.cert }) }),
      new RegExp(
        `^TLS with ${plain.origin} failed: the receiver's certificate is not signed by the CA in tls_config.ca_file ` +
          '\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\\)$',
      ),
    );
  });

  it('skips verification with insecure_skip_verify', async () => {
    const config = endpointConfig(url(plain), {}, { tlsConfig: tlsConfig({ insecureSkipVerify: true }) });
    assert.equal(await postOnce(config), 204);
  });

  it('verifies against server_name and sends it as SNI', async () => {
    const before = named.requests.length;
    const config = endpointConfig(
      url(named),
      {},
      { tlsConfig: tlsConfig({ ca: certs.ca.cert, serverName: NAMED_SERVER_NAME }) },
    );
    assert.equal(await postOnce(config), 204);
    assert.equal(named.requests[before].servername, NAMED_SERVER_NAME);
    await assertTlsFailure(
      endpointConfig(url(named), {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert }) }),
      new RegExp(
        `^TLS with ${named.origin} failed: the receiver's certificate is not issued for this host: ` +
          "set tls_config.server_name to a name it is issued for \\(ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: 127\\.0\\.0\\.1 is not in the cert's list:\\)$",
      ),
    );
    await assertTlsFailure(
      endpointConfig(url(plain), {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert, serverName: 'elsewhere.test' }) }),
      /^TLS with https:\/\/127\.0\.0\.1:\d+ failed: the receiver's certificate is not issued for tls_config\.server_name "elsewhere\.test" \(ERR_TLS_CERT_ALTNAME_INVALID: /,
    );
  });

  it('presents the client certificate to a receiver that requires one', async () => {
    const before = mtls.requests.length;
    const withCert = endpointConfig(
      url(mtls),
      {},
      { tlsConfig: tlsConfig({ ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }) },
    );
    assert.equal(await postOnce(withCert), 204);
    assert.equal(mtls.requests[before].peerCn, CLIENT_CN);
    assert.equal(mtls.requests[before].authorized, true);
    await assertTlsFailure(
      endpointConfig(url(mtls), {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert }) }),
      new RegExp(
        `^TLS with ${mtls.origin} failed: the receiver requires a client certificate: set tls_config.cert_file and tls_config.key_file ` +
          '\\(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required\\)$',
      ),
    );
    // A certificate from another CA is refused. Node's TLS server checks it after the handshake
    // and just closes the connection (Go's sends a "bad certificate" alert, which the client
    // reports as ERR_TLS), so all the client can tell here is that the connection was closed.
    await assert.rejects(
      postOnce(
        endpointConfig(
          url(mtls),
          {},
          { tlsConfig: tlsConfig({ ca: certs.ca.cert, cert: certs.otherClient.cert, key: certs.otherClient.key }) },
        ),
      ),
      { code: 'UND_ERR_SOCKET', message: 'other side closed' },
    );
    assert.equal(mtls.requests.length, before + 1);
  });

  it('names a TLS version mismatch and a receiver that does not speak TLS', async () => {
    await assertTlsFailure(
      endpointConfig(url(tls12Only), {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert, minVersion: 'TLSv1.3' }) }),
      /^TLS with https:\/\/127\.0\.0\.1:\d+ failed: no TLS version is acceptable to both sides: check tls_config\.min_version and max_version \(ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: /,
    );
    // The other way round the alert arrives as a failed write (EPROTO): named the same.
    await assertTlsFailure(
      endpointConfig(url(tls13Only), {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert, maxVersion: 'TLSv1.2' }) }),
      /^TLS with https:\/\/127\.0\.0\.1:\d+ failed: no TLS version is acceptable to both sides: check tls_config\.min_version and max_version \(ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: tlsv1 alert protocol version\)$/,
    );
    const http = createHttpServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    try {
      await assertTlsFailure(
        endpointConfig(`https://127.0.0.1:${port}/w`, {}, { tlsConfig: tlsConfig({ ca: certs.ca.cert }) }),
        new RegExp(
          `^TLS with https://127\\.0\\.0\\.1:${port} failed: the receiver does not speak TLS on this port \\(should the URL be http://\\?\\) \\(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\\)$`,
        ),
      );
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('sends https through proxy_url with CONNECT, and http as forwarded requests, with proxy credentials', async () => {
    const proxy = await startProxy();
    const http = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const httpPort = (http.address() as AddressInfo).port;
    try {
      const before = plain.requests.length;
      const viaProxy = endpointConfig(
        url(plain),
        {},
        { tlsConfig: tlsConfig({ ca: certs.ca.cert }), proxyUrl: proxy.url.replace('http://', 'http://pu:pp@') },
      );
      assert.equal(await postOnce(viaProxy), 204);
      assert.equal(plain.requests.length, before + 1);
      assert.deepEqual(plain.requests[before].body, Buffer.from(BODY));
      const plainAuth = `Basic ${Buffer.from('pu:pp').toString('base64')}`;
      assert.deepEqual(proxy.seen, [
        { method: 'CONNECT', target: `127.0.0.1:${plain.port}`, proxyAuthorization: plainAuth },
      ]);
      // The receiver's TLS is still verified end to end through the tunnel.
      await assertTlsFailure(
        endpointConfig(url(plain), {}, { proxyUrl: proxy.url }),
        /^TLS with https:\/\/127\.0\.0\.1:\d+ failed: the receiver's certificate is not signed by a trusted CA/,
      );
      proxy.seen.length = 0;
      assert.equal(
        await postOnce(endpointConfig(`http://127.0.0.1:${httpPort}/api/v1/write?x=1`, {}, { proxyUrl: proxy.url })),
        204,
      );
      assert.deepEqual(proxy.seen, [
        { method: 'POST', target: `http://127.0.0.1:${httpPort}/api/v1/write?x=1`, proxyAuthorization: undefined },
      ]);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await proxy.close();
    }
  });
});

/** A logger that resolves `failure` with the `err` field of the first failed-request line. */
function failureLogger(): { logger: Logger; failure: Promise<string> } {
  let resolve!: (err: string) => void;
  const failure = new Promise<string>((r) => {
    resolve = r;
  });
  const line = (msg: string, fields?: Record<string, unknown>) => {
    if (msg.startsWith('request failed') && typeof fields?.err === 'string') resolve(fields.err);
  };
  const logger: Logger = { debug: line, info: line, warn: line, error: line, child: () => logger };
  return { logger, failure };
}

describe('createQueue over TLS', { skip }, () => {
  let certs: TestCerts;
  let receiver: HttpsReceiver;
  before(async () => {
    certs = await testCerts();
    receiver = await startHttpsReceiver({ cert: certs.server.cert, key: certs.server.key });
  });
  after(() => receiver?.close());

  it('delivers samples to an https receiver trusted through tlsConfig.caFile', async () => {
    const dir = await tempDataDir('tls-ok');
    const queue = await createQueue(
      fastOptions(dir.path, `${receiver.origin}/api/v1/write`, {
        tlsConfig: { caFile: certs.ca.certFile },
        queueConfig: { minShards: 1, maxShards: 1 },
      }),
    );
    try {
      const before = receiver.requests.length;
      const app = queue.appender();
      app.append({ __name__: 'tls_test', n: '1' }, 1_700_000_000_000, 1.5);
      app.append({ __name__: 'tls_test', n: '1' }, 1_700_000_001_000, 2.5);
      await app.commit();
      // The two samples may be split over requests; gather them until both arrived (bounded).
      const samples: [string, number, number][] = [];
      for (let n = before + 1; samples.length < 2 && n <= before + 2; n++) {
        await receiver.waitForRequests(n);
        const seen = receiver.requests[n - 1];
        assert.equal(seen.headers['content-encoding'], 'snappy');
        const { series } = decodeV1WithProtobufjs(uncompressSync(seen.body, { asBuffer: true }) as Buffer);
        for (const x of series) for (const v of x.samples) samples.push([x.key, v.ts, v.value]);
      }
      const key = '{__name__="tls_test",n="1"}';
      assert.deepEqual(samples, [
        [key, 1_700_000_000_000, 1.5],
        [key, 1_700_000_001_000, 2.5],
      ]);
    } finally {
      await queue.stop();
      await dir.remove();
    }
  });

  it('without the CA: the TLS failure is logged, kept as lastError, and the data stays queued', async () => {
    const dir = await tempDataDir('tls-fail');
    const { logger, failure } = failureLogger();
    const queue = await createQueue(
      fastOptions(
        dir.path,
        `${receiver.origin}/api/v1/write`,
        { queueConfig: { minShards: 1, maxShards: 1, minBackoff: '1s', maxBackoff: '1s' } },
        { logger },
      ),
    );
    try {
      const app = queue.appender();
      app.append({ __name__: 'tls_test', n: '2' }, 1_700_000_000_000, 1);
      await app.commit();
      const expected =
        `TLS with ${receiver.origin} failed: the receiver's certificate is not signed by a trusted CA: ` +
        'set tls_config.ca_file to the CA that issued it (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate)';
      assert.equal(await failure, expected);
      const [ep] = queue.stats().endpoints;
      assert.equal(ep.lastError?.message, expected);
      assert.equal(ep.samplesSent, 0);
      assert.equal(ep.pendingSamples, 1);
    } finally {
      await queue.stop();
      await dir.remove();
    }
  });
});
