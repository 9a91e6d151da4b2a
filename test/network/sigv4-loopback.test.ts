/**
 * Requests signed by createSigV4Signer, sent with undici to a loopback server that recomputes each
 * signature with the test's own SigV4 implementation (sigv4-verifier.ts, checked against AWS'
 * test suite) and answers 403 when it differs, as an AWS endpoint does.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { compressSync } from 'snappy';
import { request } from 'undici';
import type { SigV4Config } from '../../src/config/types.js';
import { createSigV4Signer } from '../../src/network/sigv4.js';
import { type ReceivedRequest, verifySigV4 } from './sigv4-verifier.js';

const REGION = 'us-west-2';
const ACCESS_KEY = 'AKIALOOPBACKEXAMPLE';
const SECRET_KEY = 'loopback/secret+key/EXAMPLE0123456789abcdef';
const TEMP_ACCESS_KEY = 'ASIATEMPORARYEXAMPLE';
const TEMP_SECRET_KEY = 'temporary/secret/EXAMPLE';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE//session+token==';

interface Seen {
  status: number;
  reason: string;
  headers: IncomingMessage['headers'];
  target: string;
  bodyLength: number;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

/** Remote-write headers as promspool sends them (src/wire/headers.ts), plus a user header. */
const REMOTE_WRITE_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'User-Agent': 'promspool/0.1.0',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
  'X-Scope-OrgID': 'tenant-1',
};

/** A remote-write-like body: a snappy block of protobuf-ish bytes. */
function snappyBody(seed: number, size: number): Uint8Array {
  const raw = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    // Mostly label-like repeated text with some noise, so snappy has something to do.
    raw[i] = i % 7 === 0 ? x >>> 24 : 0x61 + (i % 26);
  }
  return new Uint8Array(compressSync(raw));
}

describe('sigv4 against a loopback verifier', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  before(async () => {
    const secrets = new Map([
      [ACCESS_KEY, SECRET_KEY],
      [TEMP_ACCESS_KEY, TEMP_SECRET_KEY],
    ]);
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      const received: ReceivedRequest = {
        method: req.method ?? '',
        target: req.url ?? '',
        headers: pairs(req.rawHeaders),
        body,
      };
      const verdict = verifySigV4(received, { region: REGION, service: 'aps', secrets });
      const status = verdict.ok ? 204 : 403;
      seen.push({
        status,
        reason: verdict.ok ? '' : verdict.reason,
        headers: req.headers,
        target: received.target,
        bodyLength: body.length,
      });
      res.writeHead(status).end(verdict.ok ? undefined : verdict.reason);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const config = (over: Partial<SigV4Config> = {}): SigV4Config => ({
    region: REGION,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    useFipsStsEndpoint: false,
    serviceName: 'aps',
    ...over,
  });

  /** Signs and sends a POST as the HTTP client will: its headers plus the signer's. */
  async function post(
    signer: ReturnType<typeof createSigV4Signer>,
    url: URL,
    body: Uint8Array,
    extra: Record<string, string> = {},
  ): Promise<{ status: number; signed: Record<string, string>; seen: Seen }> {
    const headers = { ...REMOTE_WRITE_HEADERS, ...extra };
    const signed = await signer.sign({ method: 'POST', url, headers, body });
    const res = await request(url, { method: 'POST', headers: { ...headers, ...signed }, body });
    await res.body.dump();
    const last = seen[seen.length - 1];
    assert.equal(last.status, res.statusCode, last.reason);
    return { status: res.statusCode, signed, seen: last };
  }

  test('remote-write POSTs with snappy bodies are verified', async () => {
    const signer = createSigV4Signer(config(), { env: {} });
    const urls = [
      `${base}/workspaces/ws-0123abcd/api/v1/remote_write`,
      `${base}/api/v1/push?tenant=a&b=2&b=1&empty=&sp=x%20y`,
      `${base}/api//v1/./write/`,
      `${base}/path%20with%20spaces/ሴ/write`,
    ];
    for (const [i, url] of urls.entries()) {
      const body = snappyBody(i + 1, 2000 + 5000 * i);
      const { status, signed, seen: s } = await post(signer, new URL(url), body);
      assert.equal(status, 204, `${url}: ${s.reason}`);
      assert.equal(s.bodyLength, body.byteLength);
      assert.deepEqual(Object.keys(signed).sort(), ['Authorization', 'X-Amz-Date']);
      assert.match(
        signed.Authorization,
        /^AWS4-HMAC-SHA256 Credential=AKIALOOPBACKEXAMPLE\/\d{8}\/us-west-2\/aps\/aws4_request, SignedHeaders=content-encoding;content-length;content-type;host;x-amz-date;x-prometheus-remote-write-version;x-scope-orgid, Signature=[0-9a-f]{64}$/,
      );
      // What was signed is what went out: no X-Amz-Content-Sha256 (Prometheus sends none).
      assert.equal(s.headers['x-amz-content-sha256'], undefined);
    }
  });

  test('an empty body and a header left out of the signature (uber-trace-id) are verified', async () => {
    const signer = createSigV4Signer(config(), { env: {} });
    const { status, signed } = await post(signer, new URL(`${base}/api/v1/write`), new Uint8Array(0), {
      'uber-trace-id': 'abc:def:0:1',
    });
    assert.equal(status, 204);
    assert.doesNotMatch(signed.Authorization, /content-length|uber-trace-id/);
  });

  test('temporary credentials send and sign X-Amz-Security-Token', async () => {
    const signer = createSigV4Signer(config({ accessKey: undefined, secretKey: undefined }), {
      env: {},
      credentials: async () => ({
        accessKeyId: TEMP_ACCESS_KEY,
        secretAccessKey: TEMP_SECRET_KEY,
        sessionToken: SESSION_TOKEN,
      }),
    });
    const { status, signed, seen: s } = await post(signer, new URL(`${base}/api/v1/write`), snappyBody(9, 3000));
    assert.equal(status, 204);
    assert.equal(signed['X-Amz-Security-Token'], SESSION_TOKEN);
    assert.equal(s.headers['x-amz-security-token'], SESSION_TOKEN);
    assert.match(signed.Authorization, /SignedHeaders=[^,]*;x-amz-date;x-amz-security-token;/);
  });

  test('a wrong secret key gets 403', async () => {
    const signer = createSigV4Signer(config({ secretKey: 'not-the-secret' }), { env: {} });
    const { status, seen: s } = await post(signer, new URL(`${base}/api/v1/write`), snappyBody(3, 1000));
    assert.equal(status, 403);
    assert.match(s.reason, /^signature mismatch/);
  });

  test('a body changed after signing gets 403', async () => {
    const signer = createSigV4Signer(config(), { env: {} });
    const url = new URL(`${base}/api/v1/write`);
    const body = snappyBody(4, 1000);
    const signed = await signer.sign({ method: 'POST', url, headers: REMOTE_WRITE_HEADERS, body });
    const changed = body.slice();
    changed[changed.length - 1] ^= 1;
    const res = await request(url, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, ...signed }, body: changed });
    await res.body.dump();
    assert.equal(res.statusCode, 403);
  });

  test('another region in the scope gets 403', async () => {
    const signer = createSigV4Signer(config({ region: 'eu-central-1' }), { env: {} });
    const { status, seen: s } = await post(signer, new URL(`${base}/api/v1/write`), snappyBody(5, 1000));
    assert.equal(status, 403);
    assert.equal(s.reason, 'scope eu-central-1/aps');
  });
});
