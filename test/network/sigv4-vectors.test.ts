/**
 * AWS' published Signature Version 4 test suite (test/fixtures/sigv4/SOURCE.md) through the
 * signer's lower-level entry point (signedHeaders: the request signed as given), through the
 * public sign() where a vector is a request promspool can send, and through the test's own
 * verifier (so that the verifier the loopback tests rely on is itself checked).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HeaderBag, HttpRequest } from '@smithy/types';
import { createSigV4Signer, signedHeaders } from '../../src/network/sigv4.js';
import { computeSigV4, type ReceivedRequest } from './sigv4-verifier.js';

const SUITE = join(fileURLToPath(new URL('.', import.meta.url)), '../../../test/fixtures/sigv4/aws4_testsuite');
const DATE = new Date('2015-08-30T12:36:00Z');
const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
/** The session token of get-vanilla-with-session-token (its .creq). */
const VANILLA_SESSION_TOKEN = '6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267';

/**
 * Vectors the signer is not run on, and why. Everything else must match exactly.
 * post-sts-header-after adds the token after signing; AWS' signers (Go's, which Prometheus uses,
 * and JavaScript's) always sign X-Amz-Security-Token, as AMP expects.
 */
const NOT_APPLICABLE = new Map([
  ['post-sts-header-after', 'the token is added after signing; SDK signers always sign it'],
]);

interface Vector {
  name: string;
  request: ReceivedRequest;
  canonicalRequest: string;
  stringToSign: string;
  authorization: string;
}

function loadVectors(): Vector[] {
  const vectors: Vector[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      const file = (ext: string): string => readFileSync(join(path, `${entry.name}.${ext}`), 'utf8');
      let raw: string;
      try {
        raw = file('req');
      } catch {
        walk(path);
        continue;
      }
      vectors.push({
        name: entry.name,
        request: parseRequest(raw),
        canonicalRequest: file('creq'),
        stringToSign: file('sts'),
        authorization: file('authz'),
      });
    }
  };
  walk(SUITE);
  return vectors.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A .req file: request line, header lines (an indented line continues the previous value), blank line, body. */
function parseRequest(raw: string): ReceivedRequest {
  const blank = raw.indexOf('\n\n');
  const head = blank < 0 ? raw : raw.slice(0, blank);
  const body = blank < 0 ? '' : raw.slice(blank + 2);
  const [requestLine, ...lines] = head.split('\n');
  const match = /^(\S+) (.*) HTTP\/1\.1$/.exec(requestLine);
  assert.ok(match, `request line ${requestLine}`);
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    // Some files end their headers with a newline and no body.
    if (line === '') continue;
    if (/^\s/.test(line)) {
      const last = headers[headers.length - 1];
      last[1] = `${last[1]}\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    headers.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  return { method: match[1], target: match[2], headers, body: Buffer.from(body, 'utf8') };
}

/** The vector as the signer's HttpRequest: repeated headers joined with `,`, the query decoded. */
function toSignerRequest(req: ReceivedRequest): HttpRequest {
  const headers: HeaderBag = {};
  for (const [name, value] of req.headers) {
    const lower = name.toLowerCase();
    headers[lower] = headers[lower] === undefined ? value : `${headers[lower]},${value}`;
  }
  const q = req.target.indexOf('?');
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(q < 0 ? '' : req.target.slice(q + 1))) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return {
    method: req.method,
    protocol: 'https:',
    hostname: headers.host,
    path: q < 0 ? req.target : req.target.slice(0, q),
    query,
    headers,
    body: req.body,
  };
}

/** AWS' signer with its canonical request and string to sign kept for the assertions. */
class TracedSignatureV4 extends SignatureV4 {
  canonicalRequest = '';
  stringToSign = '';
  protected override createCanonicalRequest(request: HttpRequest, headers: HeaderBag, payloadHash: string): string {
    this.canonicalRequest = super.createCanonicalRequest(request, headers, payloadHash);
    return this.canonicalRequest;
  }
  protected override async createStringToSign(
    longDate: string,
    credentialScope: string,
    canonicalRequest: string,
    algorithmIdentifier: string,
  ): Promise<string> {
    this.stringToSign = await super.createStringToSign(
      longDate,
      credentialScope,
      canonicalRequest,
      algorithmIdentifier,
    );
    return this.stringToSign;
  }
}

function sessionTokenOf(v: Vector): string | undefined {
  if (v.name === 'get-vanilla-with-session-token') return VANILLA_SESSION_TOKEN;
  return v.request.headers.find(([name]) => name.toLowerCase() === 'x-amz-security-token')?.[1];
}

const vectors = loadVectors();

describe('AWS SigV4 test suite', () => {
  test('the suite is all there', () => {
    assert.equal(vectors.length, 34);
  });

  for (const v of vectors) {
    const skip = NOT_APPLICABLE.get(v.name);
    test(`${v.name}: AWS' signer (lower-level entry point)`, { skip }, async () => {
      const sessionToken = sessionTokenOf(v);
      const credentials: AwsCredentialIdentity = {
        accessKeyId: ACCESS_KEY,
        secretAccessKey: SECRET_KEY,
        ...(sessionToken === undefined ? {} : { sessionToken }),
      };
      const signer = new TracedSignatureV4({
        service: 'service',
        region: 'us-east-1',
        credentials,
        sha256: Hash.bind(null, 'sha256'),
        applyChecksum: false,
      });
      const added = await signedHeaders(signer, toSignerRequest(v.request), DATE);
      assert.equal(signer.canonicalRequest, v.canonicalRequest);
      assert.equal(signer.stringToSign, v.stringToSign);
      assert.equal(added.Authorization, v.authorization);
      assert.equal(added['X-Amz-Date'], '20150830T123600Z');
      assert.equal(added['X-Amz-Security-Token'], sessionToken);
    });

    test(`${v.name}: the test's verifier`, () => {
      const [, signedList] = /SignedHeaders=([^,]+),/.exec(v.authorization) ?? [];
      // get-vanilla-with-session-token's .req leaves out the token its .creq signs (see its .sreq).
      const token = sessionTokenOf(v);
      const sent = v.request.headers.some(([name]) => name.toLowerCase() === 'x-amz-security-token');
      const request =
        token === undefined || sent
          ? v.request
          : { ...v.request, headers: [...v.request.headers, ['X-Amz-Security-Token', token] as [string, string]] };
      const parts = computeSigV4(request, signedList.split(';'), {
        date: '20150830',
        amzDate: '20150830T123600Z',
        region: 'us-east-1',
        service: 'service',
        secretKey: SECRET_KEY,
      });
      assert.equal(parts.canonicalRequest, v.canonicalRequest);
      assert.equal(parts.stringToSign, v.stringToSign);
      assert.equal(parts.signature, /Signature=([0-9a-f]+)$/.exec(v.authorization)?.[1]);
    });
  }
});

/**
 * Vectors that are requests as promspool sends them (only host and x-amz-date signed; no body, so
 * no content-length) through createSigV4Signer().sign(): the same Authorization.
 */
describe('sign() on the vectors it can send', () => {
  const cases = [
    'get-vanilla',
    'get-vanilla-query',
    'get-vanilla-query-order-key',
    'get-vanilla-query-order-value',
    'get-vanilla-query-unreserved',
    'get-vanilla-utf8-query',
    'post-vanilla',
    'post-vanilla-query',
    'get-vanilla-with-session-token',
  ];
  for (const name of cases) {
    test(name, async () => {
      const v = vectors.find((x) => x.name === name);
      assert.ok(v);
      const token = sessionTokenOf(v);
      const signer = createSigV4Signer(
        { region: 'us-east-1', serviceName: 'service', useFipsStsEndpoint: false },
        {
          now: () => DATE.getTime(),
          env: {},
          credentials: async () => ({
            accessKeyId: ACCESS_KEY,
            secretAccessKey: SECRET_KEY,
            ...(token === undefined ? {} : { sessionToken: token }),
          }),
        },
      );
      const url = new URL(v.request.target, 'https://example.amazonaws.com');
      const added = await signer.sign({ method: v.request.method, url, headers: {}, body: v.request.body });
      const expected: Record<string, string> = { Authorization: v.authorization, 'X-Amz-Date': '20150830T123600Z' };
      if (token !== undefined) expected['X-Amz-Security-Token'] = token;
      assert.deepEqual(added, expected);
    });
  }

  test('static access_key and secret_key sign as the vector', async () => {
    const v = vectors.find((x) => x.name === 'get-vanilla');
    assert.ok(v);
    const signer = createSigV4Signer(
      {
        region: 'us-east-1',
        serviceName: 'service',
        accessKey: ACCESS_KEY,
        secretKey: SECRET_KEY,
        useFipsStsEndpoint: false,
      },
      { now: () => DATE.getTime(), env: {} },
    );
    const added = await signer.sign({
      method: 'GET',
      url: new URL('https://example.amazonaws.com/'),
      headers: {},
      body: new Uint8Array(0),
    });
    assert.equal(added.Authorization, v.authorization);
  });
});
