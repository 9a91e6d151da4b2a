/**
 * An independent SigV4 verifier for tests: AWS' documented algorithm written out with node:crypto,
 * sharing no code with the signer under test (which is AWS' `@smithy/signature-v4`). It is checked
 * against AWS' published test vectors in sigv4-vectors.test.ts, then used by a loopback server that
 * answers 403 to a request whose signature it cannot reproduce.
 */
import { createHash, createHmac } from 'node:crypto';

/** A request as received: the request-target as sent, headers in order (names any case), the body. */
export interface ReceivedRequest {
  method: string;
  /** The request-target: path and query as on the request line, not decoded. */
  target: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export interface SigV4Parts {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/** RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8 bytes, upper case. */
function uriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The canonical URI of AWS services other than S3: dot segments removed and empty segments
 * dropped (RFC 3986 5.2.4 plus collapsed slashes), then the path text URI-encoded once more.
 */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return uriEncode(`/${segments.join('/')}${trailing}`, true);
}

/** Query parameters decoded (`+` as a space, as form decoding does), encoded, sorted by key then value. */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    pairs.push([uriEncode(decode(rawKey), false), uriEncode(decode(rawValue), false)]);
  }
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Header values by lower-cased name: repeated headers joined with `,`, whitespace runs collapsed, trimmed. */
export function canonicalHeaderValues(headers: Array<[string, string]>): Map<string, string> {
  const values = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    const list = values.get(lower) ?? [];
    list.push(value.replace(/\s+/g, ' ').trim());
    values.set(lower, list);
  }
  return new Map([...values].map(([name, list]) => [name, list.join(',')]));
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Canonical request, string to sign and signature of `req` over `signedHeaders` (lower case, sorted). */
export function computeSigV4(
  req: ReceivedRequest,
  signedHeaders: string[],
  scope: { date: string; amzDate: string; region: string; service: string; secretKey: string },
): SigV4Parts {
  const q = req.target.indexOf('?');
  const path = q < 0 ? req.target : req.target.slice(0, q);
  const query = q < 0 ? '' : req.target.slice(q + 1);
  const values = canonicalHeaderValues(req.headers);
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${values.get(name) ?? ''}\n`).join('');
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  const canonicalRequest = [
    req.method,
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    scope.amzDate,
    credentialScope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${scope.secretKey}`, scope.date), scope.region), scope.service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return { canonicalRequest, stringToSign, signature };
}

export type Verdict = { ok: true; accessKey: string; signedHeaders: string[] } | { ok: false; reason: string };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/**
 * Verifies `req` as an AWS endpoint would: the Authorization header's scope (region and service
 * as expected, date that of X-Amz-Date), the headers that must be signed (host, x-amz-date,
 * x-amz-security-token and content-type when sent), a known access key, and the signature.
 */
export function verifySigV4(
  req: ReceivedRequest,
  expected: { region: string; service: string; secrets: Map<string, string> },
): Verdict {
  const values = canonicalHeaderValues(req.headers);
  const auth = AUTHORIZATION.exec(values.get('authorization') ?? '');
  if (!auth) return { ok: false, reason: 'no AWS4-HMAC-SHA256 Authorization header' };
  const [, accessKey, date, region, service, signedList, signature] = auth;
  const amzDate = values.get('x-amz-date') ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) return { ok: false, reason: 'bad X-Amz-Date' };
  if (region !== expected.region || service !== expected.service) {
    return { ok: false, reason: `scope ${region}/${service}` };
  }
  const signedHeaders = signedList.split(';');
  if ([...signedHeaders].sort().join(';') !== signedList) return { ok: false, reason: 'SignedHeaders not sorted' };
  for (const name of ['host', 'x-amz-date', 'x-amz-security-token', 'content-type']) {
    if ((name === 'host' || values.has(name)) && !signedHeaders.includes(name)) {
      return { ok: false, reason: `${name} is not signed` };
    }
  }
  const secretKey = expected.secrets.get(accessKey);
  if (secretKey === undefined) return { ok: false, reason: `unknown access key ${accessKey}` };
  const parts = computeSigV4(req, signedHeaders, { date, amzDate, region, service, secretKey });
  if (parts.signature !== signature)
    return { ok: false, reason: `signature mismatch; canonical request:\n${parts.canonicalRequest}` };
  return { ok: true, accessKey, signedHeaders };
}
