/**
 * The endpoint's HTTP-client options on the wire, against local servers: redirects, `http_headers`
 * (values, secrets, files read at load), `proxy_connect_header` on CONNECT, `proxy_from_environment`,
 * `round_robin_dns` with an injected resolver, and HTTP/2 negotiated by TLS ALPN.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2cServer, createSecureServer } from 'node:http2';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import type { EndpointConfig } from '../../src/config/types.js';
import { RetryableError } from '../../src/errors.js';
import { createRemoteWriteClient, type RemoteWriteClientOptions } from '../../src/network/http-client.js';
import { createProxySelector } from '../../src/network/proxy.js';
import { NAMED_SERVER_NAME, opensslAvailable, testCerts } from '../helpers/tls-certs.js';
import { endpointConfig } from './harness.js';

const BODY = new Uint8Array([9, 8, 7, 6]);

interface Seen {
  server: string;
  path: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
  httpVersion: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

async function listen(
  host: string,
  port: number,
  seen: Seen[],
  handler: Handler,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = {
        server: host,
        path: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        httpVersion: req.httpVersion,
      };
      seen.push(s);
      handler(req, res, s);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function postWith(config: EndpointConfig, extra: Partial<RemoteWriteClientOptions> = {}) {
  const client = createRemoteWriteClient({ config, connections: 4, version: 't', ...extra });
  try {
    return await client.post(BODY, new AbortController().signal);
  } finally {
    await client.destroy();
  }
}

describe('follow_redirects', () => {
  const seen: Seen[] = [];
  let a: { port: number; close(): Promise<void> };
  let b: { port: number; close(): Promise<void> };
  before(async () => {
    b = await listen('127.0.0.1', 0, seen, (_req, res) => res.writeHead(204).end());
    a = await listen('127.0.0.1', 0, seen, (req, res) => {
      const [, code, where] = /^\/(\d+)(?:\/(.*))?$/.exec(req.url ?? '') ?? [];
      if (code === undefined) return void res.writeHead(204).end();
      // /307/other-host -> the other server under another host name; /loop -> itself.
      const location =
        where === 'other-host' ? `http://localhost:${b.port}/landed` : where === 'loop' ? `/${code}/loop` : '/landed';
      res.writeHead(Number(code), { Location: location }).end();
    });
  });
  after(async () => {
    await a.close();
    await b.close();
  });
  const at = (path: string, rest: Partial<EndpointConfig> = {}) =>
    endpointConfig(
      `http://127.0.0.1:${a.port}${path}`,
      {},
      {
        authorization: { type: 'Bearer', credentials: 'tok' },
        httpHeaders: { 'X-Tenant': { values: ['t1'], secrets: [], files: [] } },
        ...rest,
      },
    );

  for (const code of [307, 308]) {
    it(`follows a ${code} with the same body and credentials on the same host`, async () => {
      seen.length = 0;
      assert.equal((await postWith(at(`/${code}`))).status, 204);
      assert.deepEqual(
        seen.map((s) => [s.path, s.headers.authorization, s.body.equals(BODY)]),
        [
          [`/${code}`, 'Bearer tok', true],
          ['/landed', 'Bearer tok', true],
        ],
      );
    });
  }

  it('drops credentials after a redirect to another host, keeps other headers', async () => {
    seen.length = 0;
    assert.equal((await postWith(at('/307/other-host'))).status, 204);
    assert.deepEqual(
      seen.map((s) => [s.path, s.headers.authorization, s.headers['x-tenant'], s.body.equals(BODY)]),
      [
        ['/307/other-host', 'Bearer tok', 't1', true],
        ['/landed', undefined, 't1', true],
      ],
    );
  });

  for (const code of [301, 302, 303]) {
    it(`does not follow a ${code} (it would become a GET without the samples): retryable error`, async () => {
      await assert.rejects(postWith(at(`/${code}`)), (e: unknown) => {
        assert.ok(e instanceof RetryableError);
        assert.equal(e.code, 'ERR_REDIRECT');
        assert.equal(
          e.message,
          `http://127.0.0.1:${a.port} answered ${code} redirecting to http://127.0.0.1:${a.port}/landed: not followed, a ${code} would turn the POST into a GET without the samples (only 307 and 308 are followed); set url to the new location`,
        );
        return true;
      });
    });
  }

  it('stops after 10 redirects', async () => {
    seen.length = 0;
    await assert.rejects(postWith(at('/307/loop')), /stopped after 10 redirects/);
    assert.equal(seen.length, 11);
  });

  it('with follow_redirects: false, the 3xx is the answer', async () => {
    const res = await postWith(at('/307', { followRedirects: false }));
    assert.equal(res.status, 307);
    assert.equal(res.message, `redirect to http://127.0.0.1:${a.port}/landed not followed (follow_redirects is false)`);
  });
});

describe('http_headers and bearer_token from files', () => {
  let dir: string;
  const seen: Seen[] = [];
  let server: { port: number; close(): Promise<void> };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promspool-http-headers-'));
    await writeFile(join(dir, 'tenant'), ' from-file \n');
    await writeFile(join(dir, 'token'), 'bt\n');
    server = await listen('127.0.0.1', 0, seen, (_req, res) => res.writeHead(204).end());
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends values, secrets and trimmed file contents as separate header lines, plus headers of the same name', async () => {
    const yaml = [
      'remote_write:',
      `  - url: http://127.0.0.1:${server.port}/w`,
      '    bearer_token_file: token',
      '    headers: { X-Tenant: plain }',
      '    http_headers:',
      '      X-Tenant: { values: [v1], secrets: [s1], files: [tenant] }',
      '      X-Other: { values: [a, b] }',
    ].join('\n');
    const { config, errors } = parseConfig(yaml, join(dir, 'promspool.yaml'));
    assert.deepEqual(errors.map(formatConfigError), []);
    assert.ok(config);
    const ep = config.remoteWrite[0];
    assert.deepEqual(ep.httpHeaders, {
      'X-Tenant': { values: ['v1'], secrets: ['s1', 'from-file'], files: [join(dir, 'tenant')] },
      'X-Other': { values: ['a', 'b'], secrets: [], files: [] },
    });
    assert.deepEqual(ep.authorization, { type: 'Bearer', credentials: 'bt' });
    seen.length = 0;
    assert.equal((await postWith(ep)).status, 204);
    const lines = (name: string) =>
      seen[0].rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1].toLowerCase() === name);
    assert.deepEqual(lines('x-tenant'), ['plain', 'v1', 's1', 'from-file']);
    assert.deepEqual(lines('x-other'), ['a', 'b']);
    assert.equal(seen[0].headers.authorization, 'Bearer bt');
  });
});

describe('proxies', { skip: !opensslAvailable() && 'needs openssl for test certificates' }, () => {
  it('sends proxy_connect_header with CONNECT; proxy_from_environment picks HTTPS_PROXY', async () => {
    const certs = await testCerts();
    const receiver = createSecureServer(
      { cert: certs.namedServer.cert, key: certs.namedServer.key, allowHTTP1: true },
      (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(204).end());
      },
    );
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    const connects: { target: string; headers: IncomingMessage['headers'] }[] = [];
    const sockets = new Set<Socket>();
    const proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      connects.push({ target: req.url ?? '', headers: req.headers });
      // Every target is the local receiver: the client never resolves receiver.test itself.
      const upstream = netConnect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(client).add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const base = {
        tlsConfig: { ca: certs.ca.cert, insecureSkipVerify: false },
        proxyConnectHeader: { 'X-Proxy-Token': ['p1', 'p2'] },
      };
      const url = `https://${NAMED_SERVER_NAME}:${port}/w`;
      assert.equal((await postWith(endpointConfig(url, {}, { ...base, proxyUrl }))).status, 204);
      assert.equal(
        (
          await postWith(endpointConfig(url, {}, { ...base, proxyFromEnvironment: true }), {
            env: { HTTPS_PROXY: proxyUrl, HTTP_PROXY: 'http://127.0.0.1:1' },
          })
        ).status,
        204,
      );
      assert.deepEqual(
        connects.map((c) => [c.target, c.headers['x-proxy-token']]),
        [
          [`${NAMED_SERVER_NAME}:${port}`, 'p1, p2'],
          [`${NAMED_SERVER_NAME}:${port}`, 'p1, p2'],
        ],
      );
    } finally {
      for (const s of sockets) s.destroy();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('chooses the proxy as Go httpproxy does (no_proxy, environment, loopback)', () => {
    const explicit = createProxySelector({
      proxyUrl: 'http://p:3128',
      noProxy: 'example.com,.internal,10.0.0.0/8,1.2.3.4,svc:8080',
    });
    const cases: [string, string | undefined][] = [
      ['https://example.com/w', undefined],
      ['https://a.example.com/w', undefined],
      ['https://notexample.com/w', 'http://p:3128'],
      ['https://internal/w', 'http://p:3128'],
      ['https://x.internal/w', undefined],
      ['http://10.2.3.4/w', undefined],
      ['http://1.2.3.4/w', undefined],
      ['http://1.2.3.5/w', 'http://p:3128'],
      ['http://svc:8080/w', undefined],
      ['http://svc:9090/w', 'http://p:3128'],
      ['http://localhost:9090/w', undefined],
      ['http://127.0.0.1:9090/w', undefined],
    ];
    assert.deepEqual(
      cases.map(([u]) => [u, explicit(new URL(u))]),
      cases,
    );
    // proxy_url alone proxies everything, loopback included (Go's http.ProxyURL).
    assert.equal(createProxySelector({ proxyUrl: 'http://p:1' })(new URL('http://127.0.0.1/w')), 'http://p:1');
    const env = createProxySelector(
      { proxyFromEnvironment: true },
      { http_proxy: 'lower:1', HTTP_PROXY: 'upper:2', HTTPS_PROXY: 'https://s:3', NO_PROXY: '*.corp' },
    );
    assert.equal(env(new URL('http://h/w')), 'http://upper:2');
    assert.equal(env(new URL('https://h/w')), 'https://s:3');
    assert.equal(env(new URL('https://a.corp/w')), undefined);
    assert.equal(
      createProxySelector({ proxyFromEnvironment: true }, { NO_PROXY: '*', HTTP_PROXY: 'x:1' })(new URL('http://h/')),
      undefined,
    );
  });
});

describe('round_robin_dns', () => {
  it('spreads new connections over every address of the host', async (t) => {
    const seen: Seen[] = [];
    const held: ServerResponse[] = [];
    // Answer once all three requests are in, so the client needs three connections.
    const handler: Handler = (_req, res) => {
      held.push(res);
      if (held.length === 3) for (const r of held.splice(0)) r.writeHead(204).end();
    };
    const first = await listen('127.0.0.1', 0, seen, handler);
    let others: { port: number; close(): Promise<void> }[];
    try {
      others = [
        await listen('127.0.0.2', first.port, seen, handler),
        await listen('127.0.0.3', first.port, seen, handler),
      ];
    } catch {
      await first.close();
      t.skip('127.0.0.2 and 127.0.0.3 are not usable here');
      return;
    }
    const lookups: string[] = [];
    const resolver = async (host: string) => {
      lookups.push(host);
      return ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((address) => ({ address, family: 4 }));
    };
    const client = createRemoteWriteClient({
      config: endpointConfig(`http://rr.test:${first.port}/w`, {}, { roundRobinDns: true }),
      connections: 3,
      version: 't',
      resolver,
    });
    try {
      const results = await Promise.all([0, 1, 2].map(() => client.post(BODY, new AbortController().signal)));
      assert.deepEqual(
        results.map((r) => r.status),
        [204, 204, 204],
      );
      assert.deepEqual(lookups, ['rr.test', 'rr.test', 'rr.test']);
      assert.deepEqual(seen.map((s) => s.server).sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
      assert.equal(seen[0].headers.host, `rr.test:${first.port}`);
    } finally {
      await client.destroy();
      await Promise.all([first, ...others].map((s) => s.close()));
    }
  });
});

describe('enable_http2', { skip: !opensslAvailable() && 'needs openssl for test certificates' }, () => {
  it('negotiates h2 over TLS by default, HTTP/1.1 when disabled and over plain http', async () => {
    const certs = await testCerts();
    const versions: string[] = [];
    const onRequest = (
      req: { httpVersion: string; resume(): void; on(e: 'end', f: () => void): void },
      res: { writeHead(s: number): { end(): void } },
    ) => {
      versions.push(req.httpVersion);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    };
    const tls = createSecureServer({ cert: certs.server.cert, key: certs.server.key, allowHTTP1: true }, onRequest);
    const plain = createH2cServer(onRequest);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const tlsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/w`;
    const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/w`;
    const tlsConfig = { ca: certs.ca.cert, insecureSkipVerify: false };
    try {
      assert.equal((await postWith(endpointConfig(tlsUrl, {}, { tlsConfig }))).status, 204);
      assert.equal((await postWith(endpointConfig(tlsUrl, {}, { tlsConfig, enableHttp2: false }))).status, 204);
      // The h2c server speaks only HTTP/2 without TLS: a 1.1 request gets no answer, so only
      // the version it saw (none) tells; an http:// endpoint never tries h2c.
      await assert.rejects(postWith(endpointConfig(plainUrl, {}, { remoteTimeoutMs: 2_000 })));
      assert.deepEqual(versions, ['2.0', '1.1']);
    } finally {
      await new Promise((resolve) => tls.close(resolve));
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
