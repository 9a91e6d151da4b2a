/**
 * `oauth2` client credentials against a local token endpoint and a local receiver, both node:http
 * servers on free loopback ports started here: what the token server is sent, token reuse,
 * refresh, and every failure rejecting retryably without a request going out unauthenticated.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Clock } from '../../src/clock.js';
import type { EndpointConfig, OAuth2Config } from '../../src/config/types.js';
import { RetryableError } from '../../src/errors.js';
import { createRemoteWriteClient } from '../../src/network/http-client.js';
import { parseTokenResponse } from '../../src/network/oauth2.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { endpointConfig } from './harness.js';

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

interface LocalServer {
  url: string;
  seen: Seen[];
  handle: (req: IncomingMessage, body: string, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function startServer(): Promise<LocalServer> {
  const self: LocalServer = {
    url: '',
    seen: [],
    handle: (_req, _body, res) => res.writeHead(204).end(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      self.seen.push({ headers: req.headers, body });
      self.handle(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

const BODY = new Uint8Array([1, 2, 3]);
const SECRET = 'client s3cret/+';

describe('oauth2 client credentials', () => {
  let tokens: LocalServer;
  let receiver: LocalServer;
  let issued: number;
  before(async () => {
    tokens = await startServer();
    receiver = await startServer();
  });
  after(async () => {
    await tokens.close();
    await receiver.close();
  });
  beforeEach(() => {
    tokens.seen.length = 0;
    receiver.seen.length = 0;
    issued = 0;
    tokens.handle = (_req, _body, res) =>
      json(res, 200, { access_token: `t${++issued}`, token_type: 'bearer', expires_in: 60 });
    receiver.handle = (_req, _body, res) => res.writeHead(204).end();
  });

  function oauth2(overrides: Partial<OAuth2Config> = {}): OAuth2Config {
    return {
      clientId: 'promspool',
      clientSecret: SECRET,
      scopes: ['metrics:write', 'tenant'],
      tokenUrl: `${tokens.url}/oauth2/token`,
      endpointParams: { audience: 'mimir' },
      ...overrides,
    };
  }
  function client(config: Partial<EndpointConfig> = {}, extra: { clock?: Clock; oauth2TimeoutMs?: number } = {}) {
    return createRemoteWriteClient({
      config: endpointConfig(`${receiver.url}/api/v1/write`, {}, { oauth2: oauth2(), ...config }),
      connections: 4,
      version: '1.2.3',
      ...extra,
    });
  }
  const signal = () => new AbortController().signal;

  it('fetches one token for concurrent requests, sends the form and Basic client auth, and the receiver gets Bearer', async () => {
    const c = client();
    try {
      const results = await Promise.all(Array.from({ length: 5 }, () => c.post(BODY, signal())));
      assert.deepEqual(
        results.map((r) => r.status),
        [204, 204, 204, 204, 204],
      );
      assert.equal(tokens.seen.length, 1);
      const [t] = tokens.seen;
      assert.equal(t.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(t.headers['user-agent'], 'promspool/1.2.3');
      // Go's url.QueryEscape of id and secret: space as +, / and + escaped.
      assert.equal(t.headers.authorization, `Basic ${Buffer.from('promspool:client+s3cret%2F%2B').toString('base64')}`);
      assert.deepEqual(Object.fromEntries(new URLSearchParams(t.body)), {
        grant_type: 'client_credentials',
        scope: 'metrics:write tenant',
        audience: 'mimir',
      });
      assert.deepEqual(
        receiver.seen.map((s) => s.headers.authorization),
        Array(5).fill('Bearer t1'),
      );
    } finally {
      await c.close();
    }
  });

  it('keeps the token until 10 s before expires_in, then fetches a new one', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const c = client({}, { clock });
    try {
      await c.post(BODY, signal());
      clock.advance(49_999);
      await c.post(BODY, signal());
      assert.equal(tokens.seen.length, 1);
      clock.advance(1);
      await c.post(BODY, signal());
      assert.equal(tokens.seen.length, 2);
      assert.deepEqual(
        receiver.seen.map((s) => s.headers.authorization),
        ['Bearer t1', 'Bearer t1', 'Bearer t2'],
      );
    } finally {
      await c.close();
    }
  });

  it('a 401 from the token server rejects retryably after trying the secret in the form; nothing is sent', async () => {
    tokens.handle = (_req, body, res) => json(res, 401, { error: 'invalid_client', echo: body });
    const c = client();
    try {
      const err = await c.post(BODY, signal()).then(
        () => assert.fail('must reject'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RetryableError);
      assert.equal(err.code, 'ERR_OAUTH2');
      assert.match(
        err.message,
        /^oauth2: token request to http:\/\/127\.0\.0\.1:\d+\/oauth2\/token failed: HTTP 401: /,
      );
      assert.ok(!err.message.includes('s3cret'), `the secret is redacted: ${err.message}`);
      assert.equal(tokens.seen.length, 2);
      assert.equal(tokens.seen[0].headers.authorization?.startsWith('Basic '), true);
      assert.equal(tokens.seen[1].headers.authorization, undefined);
      assert.deepEqual(Object.fromEntries(new URLSearchParams(tokens.seen[1].body)), {
        grant_type: 'client_credentials',
        scope: 'metrics:write tenant',
        audience: 'mimir',
        client_id: 'promspool',
        client_secret: SECRET,
      });
      assert.equal(receiver.seen.length, 0);
    } finally {
      await c.close();
    }
  });

  it('remembers that the token server wants the secret in the form', async () => {
    tokens.handle = (req, _body, res) =>
      req.headers.authorization === undefined
        ? json(res, 200, { access_token: `t${++issued}`, expires_in: 1 })
        : json(res, 400, {});
    const clock = new SimulatedClock(1_700_000_000_000);
    const c = client({}, { clock });
    try {
      await c.post(BODY, signal());
      clock.advance(1000);
      await c.post(BODY, signal());
      // Basic, form; then the form at once.
      assert.deepEqual(
        tokens.seen.map((s) => s.headers.authorization === undefined),
        [false, true, true],
      );
    } finally {
      await c.close();
    }
  });

  it('a token server that does not answer is bounded by the timeout', async () => {
    tokens.handle = () => {}; // never answers
    const c = client({}, { oauth2TimeoutMs: 150 });
    try {
      const started = Date.now();
      await assert.rejects(c.post(BODY, signal()), (e: unknown) => {
        assert.ok(e instanceof RetryableError);
        assert.equal(e.code, 'ERR_OAUTH2');
        assert.match(e.message, /no token within 150 ms \(the token server is slow or unreachable\)$/);
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
      assert.equal(receiver.seen.length, 0);
    } finally {
      await c.destroy();
    }
  });

  it('a token server that is down rejects retryably', async () => {
    const c = client({ oauth2: oauth2({ tokenUrl: 'http://127.0.0.1:1/token' }) });
    try {
      await assert.rejects(c.post(BODY, signal()), (e: unknown) => {
        assert.ok(e instanceof RetryableError);
        assert.match(e.message, /^oauth2: token request to http:\/\/127\.0\.0\.1:1\/token failed: .*ECONNREFUSED/);
        return true;
      });
    } finally {
      await c.close();
    }
  });

  it('garbage instead of a token rejects with a clear error', async () => {
    tokens.handle = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>oops');
    const c = client();
    try {
      await assert.rejects(c.post(BODY, signal()), (e: unknown) => {
        assert.ok(e instanceof RetryableError);
        assert.match(e.message, /failed: the answer is not a token \(.*\): "<html>oops"$/);
        return true;
      });
      assert.equal(receiver.seen.length, 0);
    } finally {
      await c.close();
    }
  });

  it('a 401 from the receiver drops the token: a new one is fetched and the request sent again', async () => {
    receiver.handle = (req, _body, res) => res.writeHead(req.headers.authorization === 'Bearer t1' ? 401 : 204).end();
    const c = client();
    try {
      const res = await c.post(BODY, signal());
      assert.equal(res.status, 204);
      assert.equal(tokens.seen.length, 2);
      assert.deepEqual(
        receiver.seen.map((s) => s.headers.authorization),
        ['Bearer t1', 'Bearer t2'],
      );
      // A receiver that refuses every token: one retry, then its 401 is the answer.
      receiver.handle = (_req, _body, res) => res.writeHead(401).end('no');
      const refused = await c.post(BODY, signal());
      assert.equal(refused.status, 401);
      assert.equal(tokens.seen.length, 3);
    } finally {
      await c.close();
    }
  });
});

describe('parseTokenResponse', () => {
  const now = 1_000_000;
  it('reads JSON and form answers, token types, expires_in as number or string', () => {
    assert.deepEqual(parseTokenResponse('{"access_token":"a","expires_in":3600}', 'application/json', now), {
      authorization: 'Bearer a',
      refreshAtMs: now + 3_590_000,
    });
    assert.deepEqual(
      parseTokenResponse('access_token=b&token_type=mac&expires_in=100', 'text/plain; charset=utf-8', now),
      {
        authorization: 'MAC b',
        refreshAtMs: now + 90_000,
      },
    );
    assert.deepEqual(parseTokenResponse('{"access_token":"c","token_type":"DPoP","expires_in":"8"}', '', now), {
      authorization: 'DPoP c',
      refreshAtMs: now + 4_000,
    });
    assert.deepEqual(parseTokenResponse('{"access_token":"d"}', 'application/json', now), {
      authorization: 'Bearer d',
      refreshAtMs: undefined,
    });
  });
  it('refuses answers without a token', () => {
    assert.throws(() => parseTokenResponse('{"token":"x"}', 'application/json', now), /the answer has no access_token/);
    assert.throws(() => parseTokenResponse('[1]', 'application/json', now), /not a JSON object/);
  });
});
