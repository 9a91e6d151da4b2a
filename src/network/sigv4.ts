import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';
import type { SigV4Config } from '../config/types.js';
import { PromspoolError, RetryableError } from '../errors.js';
import { type AwsSharedFiles, awsSharedFiles, resolveAwsRegion } from './aws-region.js';

/** A request as the HTTP client sends it; `headers` are the ones it sets itself (any case). */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Signs outgoing requests. */
export interface RequestSigner {
  /**
   * Headers to add to this request (Authorization, X-Amz-Date, X-Amz-Security-Token when the
   * credentials are temporary). Rejects with a retryable error when credentials cannot be
   * obtained.
   */
  sign(req: SignableRequest): Promise<Record<string, string>>;
}

/** What {@link createSigV4Signer} takes from its environment; defaults are the process's own. */
export interface SigV4SignerDeps {
  /** Clock for the signing date and credential expiry, in ms since the epoch. */
  now?: () => number;
  /** Source credentials instead of `access_key`/`secret_key` or the default chain (`role_arn` still applies on top). */
  credentials?: AwsCredentialIdentityProvider;
  /** The environment the region and the default credential chain are read from. */
  env?: NodeJS.ProcessEnv;
}

/** Prometheus' default `service_name`: Amazon Managed Service for Prometheus. */
export const DEFAULT_SIGV4_SERVICE = 'aps';

/**
 * Headers left out of the signature although sent, as in Prometheus (`sigv4HeaderDenylist`):
 * tracing headers a proxy may rewrite. The signer's own unsignable list (user-agent,
 * authorization, hop-by-hop headers, `x-amzn-trace-id`) applies too.
 */
const UNSIGNED_HEADERS = new Set(['uber-trace-id']);

/** The headers the signer adds, in their usual spelling. */
const ADDED_HEADERS: ReadonlyArray<[string, string]> = [
  ['authorization', 'Authorization'],
  ['x-amz-date', 'X-Amz-Date'],
  ['x-amz-security-token', 'X-Amz-Security-Token'],
  ['x-amz-content-sha256', 'X-Amz-Content-Sha256'],
];

/**
 * A SigV4 signer for `remote_write` `sigv4`, with the semantics of Prometheus' round tripper
 * (github.com/prometheus/sigv4) and AWS' own signer (`@smithy/signature-v4`):
 * - region: `sigv4.region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the profile's region in
 *   the shared config file; none throws `ERR_SIGV4_REGION` here, at creation;
 * - credentials: `access_key`/`secret_key`, else the default chain
 *   (`defaultCredentialChain` of aws-credentials.ts: environment, shared files with `profile`, web identity,
 *   container, instance metadata); with `role_arn`, STS AssumeRole over those (`external_id`,
 *   `use_fips_sts_endpoint`). Cached and refreshed before expiry (`cachedCredentials`);
 * - signed: host (from the URL, as the HTTP client sends it), content-length when the body is not
 *   empty (as Go's signer does), x-amz-date, x-amz-security-token, and every request header but
 *   the unsignable ones. The payload hash is in the signature, not sent as `X-Amz-Content-Sha256`
 *   (Prometheus does not send it; AMP does not need it). The path is normalised and
 *   double-encoded for the signature as AWS services expect.
 *
 * The HTTP client must send the request exactly as given to `sign` plus the returned headers, and
 * a `Uint8Array` body (undici sends its content-length). The AWS SDK is loaded on the first `sign`.
 */
export function createSigV4Signer(config: SigV4Config, deps: SigV4SignerDeps = {}): RequestSigner {
  const env = deps.env ?? process.env;
  const now = deps.now ?? Date.now;
  const files = awsSharedFiles(config.profile, env);
  const resolved = resolveAwsRegion(config.region, files, env);
  if (resolved === undefined) {
    throw new PromspoolError(
      'ERR_SIGV4_REGION',
      `sigv4: no AWS region: set sigv4.region, AWS_REGION or AWS_DEFAULT_REGION, or region in profile "${files.profile}" of ${files.configFile}`,
    );
  }
  const { region } = resolved;
  let ready: Promise<SignatureV4> | undefined;
  const signer = (): Promise<SignatureV4> => {
    ready ??= buildSigner(config, deps, files, region, env, now).catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  return {
    async sign(req) {
      return signedHeaders(await signer(), toHttpRequest(req), new Date(now()));
    },
  };
}

/**
 * AWS' signer over the configured credentials. Loaded on the first request: the AWS SDK modules
 * take ~160 ms and ~15 MB to import (Node 20.20), which a promspool without `sigv4` never pays.
 */
async function buildSigner(
  config: SigV4Config,
  deps: SigV4SignerDeps,
  files: AwsSharedFiles,
  region: string,
  env: NodeJS.ProcessEnv,
  now: () => number,
): Promise<SignatureV4> {
  const [{ SignatureV4 }, { Hash }, aws] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@smithy/hash-node'),
    import('./aws-credentials.js'),
  ]);
  let source: AwsCredentialIdentityProvider;
  if (deps.credentials !== undefined) {
    source = deps.credentials;
  } else if (config.accessKey && config.secretKey) {
    const identity = { accessKeyId: config.accessKey, secretAccessKey: config.secretKey };
    source = async () => identity;
  } else {
    source = aws.cachedCredentials(aws.defaultCredentialChain(files, region, env), now);
  }
  const credentials =
    config.roleArn === undefined || config.roleArn === ''
      ? source
      : aws.cachedCredentials(
          aws.assumeRoleProvider(aws.assumeRoleOptions({ ...config, roleArn: config.roleArn }, region, source, env)),
          now,
        );
  return new SignatureV4({
    service: config.serviceName || DEFAULT_SIGV4_SERVICE,
    region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
}

/**
 * The request as the signer sees it: lower-cased headers without Prometheus' unsigned ones, the
 * `host` the HTTP client sends (the URL's host and port, no credentials), `content-length` of a
 * non-empty body, the path and the decoded query parameters (repeated keys kept in order).
 */
export function toHttpRequest(req: SignableRequest): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    if (UNSIGNED_HEADERS.has(lower) || lower === 'host' || lower === 'content-length') continue;
    headers[lower] = value;
  }
  headers.host = req.url.host;
  if (req.body.byteLength > 0) headers['content-length'] = String(req.body.byteLength);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of req.url.searchParams) {
    const seen = query[key];
    if (seen === undefined) query[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else query[key] = [seen, value];
  }
  return {
    method: req.method.toUpperCase(),
    protocol: req.url.protocol,
    hostname: req.url.hostname,
    port: req.url.port === '' ? undefined : Number(req.url.port),
    path: req.url.pathname,
    query,
    headers,
    body: req.body,
  };
}

/**
 * Signs `request` as it is (no header added but the signer's own) at `date` and returns the
 * headers the signature added, in their usual spelling. The entry point AWS' test vectors are
 * checked through. Credential failures come back as {@link RetryableError}.
 */
export async function signedHeaders(
  signer: SignatureV4,
  request: HttpRequest,
  date: Date,
): Promise<Record<string, string>> {
  let signed: HttpRequest;
  try {
    signed = await signer.sign(request, { signingDate: date });
  } catch (err) {
    if (err instanceof RetryableError) throw err;
    // The signer validates credentials (a provider answering without keys) and the region.
    throw new RetryableError(
      'ERR_SIGV4_SIGN',
      `sigv4: signing failed: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      {
        cause: err,
      },
    );
  }
  const added: Record<string, string> = {};
  for (const [lower, spelled] of ADDED_HEADERS) {
    const value = signed.headers[lower];
    if (value !== undefined) added[spelled] = value;
  }
  return added;
}
