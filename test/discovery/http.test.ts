import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createHttpDiscoverer } from '../../src/discovery/http.js';
import type { Logger } from '../../src/logger.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { opensslAvailable, testCerts } from '../helpers/tls-certs.js';
import { UpdateQueue } from './update-queue.js';

const REFRESH = 60_000;

/** What the fake SD server answers next, and the requests it saw. */
let answer: { status: number; type: string; body: string } = { status: 200, type: 'application/json', body: '[]' };
const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/sd' }).end();
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function errorWaiter(lines: LoggedLine[]): { logger: Logger; next(): Promise<LoggedLine> } {
  const base = recordingLogger(lines);
  let waiter: ((l: LoggedLine) => void) | undefined;
  return {
    logger: {
      ...base,
      error(msg, fields) {
        base.error(msg, fields);
        const w = waiter;
        waiter = undefined;
        w?.(lines[lines.length - 1]);
      },
    },
    next: () =>
      new Promise((resolve) => {
        waiter = resolve;
      }),
  };
}

describe('http discovery', () => {
  it('reads the list, sends Prometheus headers, reports changes, keeps the last groups on failure', async () => {
    const url = `${base}/sd`;
    const lines: LoggedLine[] = [];
    const log = errorWaiter(lines);
    const clock = new SimulatedClock();
    answer = {
      status: 200,
      type: 'application/json; charset=utf-8',
      body: JSON.stringify([
        { targets: ['a:1'], labels: { env: 'prod' } },
        { targets: ['b:1', 'b:2'], labels: {} },
      ]),
    };
    requests.length = 0;
    const d = createHttpDiscoverer(
      { url, refreshIntervalMs: REFRESH, authorization: { type: 'Bearer', credentials: 'tok' } },
      { clock, logger: log.logger, version: '1.2.3' },
    );
    const q = new UpdateQueue(d);
    try {
      assert.deepEqual(await q.next(), [
        { source: `${url}:0`, targets: [{ __address__: 'a:1' }], labels: { env: 'prod', __meta_url: url } },
        { source: `${url}:1`, targets: [{ __address__: 'b:1' }, { __address__: 'b:2' }], labels: { __meta_url: url } },
      ]);
      assert.equal(requests.length, 1);
      const h = requests[0].headers;
      assert.deepEqual(
        [h.accept, h.authorization, h['user-agent'], h['x-prometheus-refresh-interval-seconds']],
        ['application/json', 'Bearer tok', 'promspool/1.2.3', '60'],
      );

      // Not JSON: counted and logged; nothing reported, the groups stay.
      answer = { status: 200, type: 'text/plain', body: '[]' };
      let failed = log.next();
      await clock.advanceAndSettle(REFRESH);
      assert.equal((await failed).fields.err, 'unsupported content type "text/plain"');
      answer = { status: 503, type: 'application/json', body: '' };
      failed = log.next();
      await clock.advanceAndSettle(REFRESH);
      assert.equal((await failed).fields.err, 'server returned HTTP status 503');
      assert.deepEqual(d.stats, { failures: 2, updates: 1, targets: 3 });
      assert.equal(q.pending, 0);

      // A shorter list: the changed group, and the gone index as an empty group.
      answer = { status: 200, type: 'application/json', body: JSON.stringify([{ targets: ['a:9'] }]) };
      const next = q.next();
      await clock.advanceAndSettle(REFRESH);
      assert.deepEqual(await next, [
        { source: `${url}:0`, targets: [{ __address__: 'a:9' }], labels: { __meta_url: url } },
        { source: `${url}:1`, targets: [], labels: {} },
      ]);
      assert.deepEqual(d.stats, { failures: 2, updates: 2, targets: 1 });
    } finally {
      await q.stop();
    }
  });

  it('reports an empty set first when the first refresh fails; follows redirects', async () => {
    const clock = new SimulatedClock();
    answer = { status: 500, type: 'application/json', body: '' };
    const d = createHttpDiscoverer({ url: `${base}/redirect`, refreshIntervalMs: REFRESH }, { clock });
    const q = new UpdateQueue(d);
    try {
      assert.deepEqual(await q.next(), []);
      assert.equal(d.stats.failures, 1);
      answer = { status: 200, type: 'application/json', body: '[{"targets": ["r:1"]}]' };
      const next = q.next();
      await clock.advanceAndSettle(REFRESH);
      assert.deepEqual(await next, [
        {
          source: `${base}/redirect:0`,
          targets: [{ __address__: 'r:1' }],
          labels: { __meta_url: `${base}/redirect` },
        },
      ]);
    } finally {
      await q.stop();
    }
  });

  it('refuses invalid groups with the element at fault', async () => {
    const lines: LoggedLine[] = [];
    const log = errorWaiter(lines);
    answer = { status: 200, type: 'application/json', body: '[{"targets": "a:1"}]' };
    const d = createHttpDiscoverer(
      { url: `${base}/sd`, refreshIntervalMs: REFRESH },
      { clock: new SimulatedClock(), logger: log.logger },
    );
    const failed = log.next();
    const q = new UpdateQueue(d);
    try {
      assert.equal((await failed).fields.err, '[0].targets: expected a list of "host:port" strings');
      assert.deepEqual(await q.next(), []);
    } finally {
      await q.stop();
    }
  });
});

describe('http discovery over TLS', {
  skip: opensslAvailable() ? false : 'the openssl CLI is needed to make test certificates',
}, () => {
  it('verifies the server with tls_config.ca and presents the client certificate', async () => {
    const certs = await testCerts();
    const seen: unknown[] = [];
    const tlsServer = createHttpsServer(
      {
        cert: certs.server.cert,
        key: certs.server.key,
        ca: certs.ca.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seen.push(peer.subject?.CN);
        res.writeHead(200, { 'content-type': 'application/json' }).end('[{"targets": ["tls:1"]}]');
      },
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/sd`;
    const d = createHttpDiscoverer(
      {
        url,
        refreshIntervalMs: REFRESH,
        tlsConfig: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, insecureSkipVerify: false },
      },
      { clock: new SimulatedClock() },
    );
    const q = new UpdateQueue(d);
    try {
      assert.deepEqual(await q.next(), [
        { source: `${url}:0`, targets: [{ __address__: 'tls:1' }], labels: { __meta_url: url } },
      ]);
      assert.deepEqual(seen, ['promspool-test-client']);
    } finally {
      await q.stop();
      await new Promise((resolve) => tlsServer.close(resolve));
    }
  });
});
