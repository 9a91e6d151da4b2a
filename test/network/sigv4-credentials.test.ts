/**
 * Where createSigV4Signer gets its region and credentials: the injected environment, shared
 * credentials/config files with a profile, STS AssumeRole for role_arn (against a loopback fake
 * STS that verifies the AssumeRole request's own signature), and the cache in front of them.
 * Instance metadata is always disabled (AWS_EC2_METADATA_DISABLED): nothing leaves loopback.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SigV4Config } from '../../src/config/types.js';
import { PromspoolError, RetryableError } from '../../src/errors.js';
import {
  type AwsCredentialIdentity,
  assumeRoleOptions,
  assumeRoleProvider,
  CREDENTIALS_REFRESH_WINDOW_MS,
  cachedCredentials,
} from '../../src/network/aws-credentials.js';
import { createSigV4Signer, type RequestSigner } from '../../src/network/sigv4.js';
import { type ReceivedRequest, verifySigV4 } from './sigv4-verifier.js';

const NOW = Date.parse('2026-03-01T10:00:00Z');
const URL_AMP = new URL('https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write');

const baseConfig = (over: Partial<SigV4Config> = {}): SigV4Config => ({
  useFipsStsEndpoint: false,
  serviceName: 'aps',
  ...over,
});

/** An environment with no credentials of its own: shared files in an empty temp HOME, no IMDS. */
function emptyEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

/** Signs a small request and checks it against the test's verifier with the given secrets. */
async function signAndVerify(
  signer: RequestSigner,
  region: string,
  secrets: Record<string, string>,
): Promise<{ signed: Record<string, string>; accessKey: string }> {
  const headers = { 'Content-Type': 'application/x-protobuf' };
  const body = new Uint8Array([1, 2, 3, 4]);
  const signed = await signer.sign({ method: 'POST', url: URL_AMP, headers, body });
  const received: ReceivedRequest = {
    method: 'POST',
    target: URL_AMP.pathname,
    headers: [['Host', URL_AMP.host], ['Content-Length', '4'], ...Object.entries(headers), ...Object.entries(signed)],
    body,
  };
  const verdict = verifySigV4(received, { region, service: 'aps', secrets: new Map(Object.entries(secrets)) });
  assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
  return { signed, accessKey: verdict.accessKey };
}

describe('sigv4 region', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'sigv4-region-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test('sigv4.region wins over the environment', async () => {
    const signer = createSigV4Signer(baseConfig({ region: 'eu-west-1', accessKey: 'AK', secretKey: 'SK' }), {
      env: emptyEnv(home, { AWS_REGION: 'us-east-2' }),
      now: () => NOW,
    });
    await signAndVerify(signer, 'eu-west-1', { AK: 'SK' });
  });

  test('AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    const both = createSigV4Signer(baseConfig({ accessKey: 'AK', secretKey: 'SK' }), {
      env: emptyEnv(home, { AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'ca-central-1' }),
    });
    await signAndVerify(both, 'us-east-2', { AK: 'SK' });
    const fallback = createSigV4Signer(baseConfig({ accessKey: 'AK', secretKey: 'SK' }), {
      env: emptyEnv(home, { AWS_DEFAULT_REGION: 'ca-central-1' }),
    });
    await signAndVerify(fallback, 'ca-central-1', { AK: 'SK' });
  });

  test('no region anywhere fails at creation, naming where to set one', () => {
    assert.throws(
      () => createSigV4Signer(baseConfig({ accessKey: 'AK', secretKey: 'SK' }), { env: emptyEnv(home) }),
      (err: unknown) =>
        err instanceof PromspoolError &&
        err.code === 'ERR_SIGV4_REGION' &&
        err.message ===
          `sigv4: no AWS region: set sigv4.region, AWS_REGION or AWS_DEFAULT_REGION, or region in profile "default" of ${join(home, '.aws', 'config')}`,
    );
  });
});

describe('sigv4 credentials from the environment and shared files', () => {
  let dir: string;
  let credentialsFile: string;
  let configFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigv4-creds-'));
    credentialsFile = join(dir, 'credentials');
    configFile = join(dir, 'config');
    writeFileSync(
      credentialsFile,
      [
        '[default]',
        'aws_access_key_id = AKIDEFAULTPROFILE',
        'aws_secret_access_key = default/secret',
        '',
        '[team]',
        'aws_access_key_id = AKIDTEAMPROFILE',
        'aws_secret_access_key = team/secret',
        '',
        '[temp]',
        'aws_access_key_id = ASIATEMPPROFILE',
        'aws_secret_access_key = temp/secret',
        'aws_session_token = temp-session-token',
        '',
      ].join('\n'),
    );
    writeFileSync(
      configFile,
      ['[default]', 'region = us-east-1', '', '[profile team]', '# a comment', 'region = ap-southeast-2', ''].join(
        '\n',
      ),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fileEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
    emptyEnv(dir, { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: configFile, ...extra });

  test('AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the injected env', async () => {
    const signer = createSigV4Signer(baseConfig({ region: 'eu-west-1' }), {
      env: emptyEnv(dir, { AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'env/secret' }),
    });
    const { signed, accessKey } = await signAndVerify(signer, 'eu-west-1', { AKIDFROMENV: 'env/secret' });
    assert.equal(accessKey, 'AKIDFROMENV');
    assert.equal(signed['X-Amz-Security-Token'], undefined);
  });

  test('AWS_SESSION_TOKEN becomes X-Amz-Security-Token', async () => {
    const signer = createSigV4Signer(baseConfig({ region: 'eu-west-1' }), {
      env: emptyEnv(dir, {
        AWS_ACCESS_KEY_ID: 'ASIAFROMENV',
        AWS_SECRET_ACCESS_KEY: 'env/secret',
        AWS_SESSION_TOKEN: 'env-session-token',
      }),
    });
    const { signed } = await signAndVerify(signer, 'eu-west-1', { ASIAFROMENV: 'env/secret' });
    assert.equal(signed['X-Amz-Security-Token'], 'env-session-token');
  });

  test('the environment beats the default profile of the shared files', async () => {
    const signer = createSigV4Signer(baseConfig(), {
      env: fileEnv({ AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'env/secret' }),
    });
    const { accessKey } = await signAndVerify(signer, 'us-east-1', { AKIDFROMENV: 'env/secret' });
    assert.equal(accessKey, 'AKIDFROMENV');
  });

  test('the default profile, with the region of its config file', async () => {
    const signer = createSigV4Signer(baseConfig(), { env: fileEnv() });
    const { accessKey } = await signAndVerify(signer, 'us-east-1', { AKIDEFAULTPROFILE: 'default/secret' });
    assert.equal(accessKey, 'AKIDEFAULTPROFILE');
  });

  test('sigv4.profile chooses the profile and its region, over the environment keys (as the SDKs do)', async () => {
    const signer = createSigV4Signer(baseConfig({ profile: 'team' }), {
      env: fileEnv({ AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'env/secret' }),
    });
    const { accessKey } = await signAndVerify(signer, 'ap-southeast-2', { AKIDTEAMPROFILE: 'team/secret' });
    assert.equal(accessKey, 'AKIDTEAMPROFILE');
  });

  test('AWS_PROFILE chooses the profile too', async () => {
    const signer = createSigV4Signer(baseConfig(), { env: fileEnv({ AWS_PROFILE: 'team' }) });
    const { accessKey } = await signAndVerify(signer, 'ap-southeast-2', { AKIDTEAMPROFILE: 'team/secret' });
    assert.equal(accessKey, 'AKIDTEAMPROFILE');
  });

  test("a profile's aws_session_token becomes X-Amz-Security-Token", async () => {
    const signer = createSigV4Signer(baseConfig({ profile: 'temp', region: 'eu-west-1' }), { env: fileEnv() });
    const { signed } = await signAndVerify(signer, 'eu-west-1', { ASIATEMPPROFILE: 'temp/secret' });
    assert.equal(signed['X-Amz-Security-Token'], 'temp-session-token');
  });

  test('no credentials anywhere: sign() rejects, retryable, saying what was tried', async () => {
    const missing = join(dir, 'missing');
    const signer = createSigV4Signer(baseConfig({ region: 'eu-west-1' }), {
      env: emptyEnv(dir, { AWS_SHARED_CREDENTIALS_FILE: join(missing, 'c'), AWS_CONFIG_FILE: join(missing, 'f') }),
    });
    await assert.rejects(
      signer.sign({ method: 'POST', url: URL_AMP, headers: {}, body: new Uint8Array(1) }),
      (err: unknown) => {
        assert.ok(err instanceof RetryableError);
        assert.equal(err.code, 'ERR_SIGV4_CREDENTIALS');
        assert.match(err.message, /^sigv4: no AWS credentials \(configure sigv4 access_key and secret_key/);
        assert.match(err.message, /environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; /);
        assert.match(err.message, /profile "default" \(/);
        assert.match(
          err.message,
          /web identity: skipped, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set; /,
        );
        assert.match(err.message, /EC2 instance metadata: skipped, AWS_EC2_METADATA_DISABLED is set$/);
        return true;
      },
    );
  });

  test('a profile named but absent: rejects naming it', async () => {
    const signer = createSigV4Signer(baseConfig({ profile: 'nope', region: 'eu-west-1' }), { env: fileEnv() });
    await assert.rejects(
      signer.sign({ method: 'POST', url: URL_AMP, headers: {}, body: new Uint8Array(1) }),
      (err: unknown) => {
        assert.ok(err instanceof RetryableError);
        assert.match(err.message, /environment: skipped, profile "nope" is chosen; profile "nope" \(/);
        return true;
      },
    );
  });

  test('secrets never appear in errors', async () => {
    const signer = createSigV4Signer(baseConfig({ profile: 'nope', region: 'eu-west-1' }), {
      env: fileEnv({ AWS_SECRET_ACCESS_KEY: 'env/secret-only' }),
    });
    await assert.rejects(
      signer.sign({ method: 'POST', url: URL_AMP, headers: {}, body: new Uint8Array(1) }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        for (const secret of ['secret-only', 'team/secret', 'default/secret', 'temp/secret']) {
          assert.ok(!err.message.includes(secret), secret);
        }
        return true;
      },
    );
  });
});

describe('sigv4 credential cache', () => {
  const creds = (id: string, expiresAt?: number): AwsCredentialIdentity => ({
    accessKeyId: id,
    secretAccessKey: `${id}-secret`,
    ...(expiresAt === undefined ? {} : { expiration: new Date(expiresAt) }),
  });

  test('credentials without expiry are fetched once', async () => {
    let calls = 0;
    const cached = cachedCredentials(
      async () => creds(`AK${++calls}`),
      () => NOW,
    );
    const got = await Promise.all([cached(), cached(), cached()]);
    assert.deepEqual(
      got.map((c) => c.accessKeyId),
      ['AK1', 'AK1', 'AK1'],
    );
    assert.equal((await cached()).accessKeyId, 'AK1');
    assert.equal(calls, 1);
  });

  test('refreshed inside the window before expiry; a failed refresh keeps unexpired ones; expired ones are not used', async () => {
    let now = NOW;
    const answers: Array<AwsCredentialIdentity | Error> = [
      creds('AK1', NOW + 60 * 60_000),
      new Error('sts down'),
      creds('AK2', NOW + 2 * 60 * 60_000),
      new Error('sts down again'),
    ];
    let calls = 0;
    const cached = cachedCredentials(
      async () => {
        const next = answers[calls++];
        if (next instanceof Error) throw next;
        return next;
      },
      () => now,
    );
    assert.equal((await cached()).accessKeyId, 'AK1');
    now = NOW + 60 * 60_000 - CREDENTIALS_REFRESH_WINDOW_MS - 1;
    assert.equal((await cached()).accessKeyId, 'AK1');
    assert.equal(calls, 1);
    now = NOW + 60 * 60_000 - CREDENTIALS_REFRESH_WINDOW_MS + 1;
    assert.equal((await cached()).accessKeyId, 'AK1', 'refresh failed: the old ones still sign');
    assert.equal(calls, 2);
    assert.equal((await cached()).accessKeyId, 'AK2', 'the next call refreshes');
    assert.equal(calls, 3);
    now = NOW + 2 * 60 * 60_000;
    await assert.rejects(cached(), /sts down again/);
    assert.equal(calls, 4);
  });
});

describe('sigv4 role_arn (STS AssumeRole)', () => {
  let sts: Server;
  let stsUrl: string;
  const calls: Array<{ params: URLSearchParams; verdict: string }> = [];
  const STS_REGION = 'eu-west-1';

  before(async () => {
    sts = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers: Array<[string, string]> = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
        // The AssumeRole call is itself signed (service sts) with the source credentials.
        const verdict = verifySigV4(
          { method: req.method ?? '', target: req.url ?? '', headers, body },
          { region: STS_REGION, service: 'sts', secrets: new Map([['AKIDSOURCE', 'source/secret']]) },
        );
        const params = new URLSearchParams(body.toString('utf8'));
        const action = params.get('Action');
        // AssumeRoleWithWebIdentity is not signed: the web identity token is the proof.
        const accepted =
          action === 'AssumeRoleWithWebIdentity' ? params.get('WebIdentityToken') === 'oidc-token' : verdict.ok;
        calls.push({ params, verdict: accepted ? 'ok' : verdict.ok ? 'bad web identity token' : verdict.reason });
        if (!accepted) {
          res.writeHead(403, { 'content-type': 'text/xml' });
          res.end(
            '<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error><RequestId>r1</RequestId></ErrorResponse>',
          );
          return;
        }
        const n = calls.length;
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>
<Credentials><AccessKeyId>ASIAROLE${n}</AccessKeyId><SecretAccessKey>role/secret/${n}</SecretAccessKey>
<SessionToken>role-session-token-${n}</SessionToken><Expiration>${new Date(NOW + 60 * 60_000).toISOString()}</Expiration></Credentials>
<AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>${params.get('RoleArn')}/s</Arn></AssumedRoleUser>
</${action}Result><ResponseMetadata><RequestId>r${n}</RequestId></ResponseMetadata></${action}Response>`,
        );
      });
    });
    await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
    stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => sts.close(() => resolve())));

  test('the STS client gets the role, the external id, the region and the FIPS switch', () => {
    const source = async (): Promise<AwsCredentialIdentity> => ({ accessKeyId: 'A', secretAccessKey: 'S' });
    const options = assumeRoleOptions(
      { roleArn: 'arn:aws:iam::123456789012:role/prom', externalId: 'ext-42', useFipsStsEndpoint: true },
      'us-gov-west-1',
      source,
      {},
    );
    assert.equal(options.params.RoleArn, 'arn:aws:iam::123456789012:role/prom');
    assert.equal(options.params.ExternalId, 'ext-42');
    assert.match(options.params.RoleSessionName ?? '', /^promspool-\d+$/);
    assert.equal(options.masterCredentials, source);
    assert.deepEqual(options.clientConfig, { region: 'us-gov-west-1', useFipsEndpoint: true });
    const plain = assumeRoleOptions({ roleArn: 'arn:r', useFipsStsEndpoint: false }, 'eu-west-1', source, {
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1',
    });
    assert.equal('ExternalId' in plain.params, false);
    assert.deepEqual(plain.clientConfig, {
      region: 'eu-west-1',
      useFipsEndpoint: false,
      endpoint: 'http://127.0.0.1:1',
    });
  });

  test('use_fips_sts_endpoint sends AssumeRole to the FIPS STS host', async () => {
    let host = '';
    const options = assumeRoleOptions(
      { roleArn: 'arn:aws:iam::123456789012:role/prom', useFipsStsEndpoint: true },
      'us-east-1',
      async () => ({ accessKeyId: 'A', secretAccessKey: 'S' }),
      {},
    );
    // Stops the request once the endpoint is resolved: nothing leaves the process.
    options.clientPlugins = [
      {
        applyToStack: (stack) => {
          stack.add(
            () => async (args) => {
              host = (args.request as { hostname: string }).hostname;
              throw new Error('stopped before sending');
            },
            { step: 'finalizeRequest', priority: 'low' },
          );
        },
      },
    ];
    await assert.rejects(assumeRoleProvider(options)(), /stopped before sending/);
    assert.equal(host, 'sts-fips.us-east-1.amazonaws.com');
  });

  test('role_arn assumes the role with the source credentials and signs with the role credentials', async () => {
    calls.length = 0;
    const signer = createSigV4Signer(
      baseConfig({
        region: STS_REGION,
        accessKey: 'AKIDSOURCE',
        secretKey: 'source/secret',
        roleArn: 'arn:aws:iam::123456789012:role/prometheus-writer',
        externalId: 'ext-id-7',
      }),
      { env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_STS: stsUrl }, now: () => NOW },
    );
    const first = await signAndVerify(signer, STS_REGION, { ASIAROLE1: 'role/secret/1' });
    assert.equal(first.accessKey, 'ASIAROLE1');
    assert.equal(first.signed['X-Amz-Security-Token'], 'role-session-token-1');
    // Cached: a second request does not call STS again.
    await signAndVerify(signer, STS_REGION, { ASIAROLE1: 'role/secret/1' });
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call.verdict, 'ok');
    assert.equal(call.params.get('Action'), 'AssumeRole');
    assert.equal(call.params.get('RoleArn'), 'arn:aws:iam::123456789012:role/prometheus-writer');
    assert.equal(call.params.get('ExternalId'), 'ext-id-7');
    assert.match(call.params.get('RoleSessionName') ?? '', /^promspool-\d+$/);
  });

  test('an STS that refuses: sign() rejects, retryable, naming the role', async () => {
    calls.length = 0;
    const signer = createSigV4Signer(
      baseConfig({ region: STS_REGION, accessKey: 'AKIDSOURCE', secretKey: 'wrong', roleArn: 'arn:aws:iam::1:role/r' }),
      { env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_STS: stsUrl }, now: () => NOW },
    );
    await assert.rejects(
      signer.sign({ method: 'POST', url: URL_AMP, headers: {}, body: new Uint8Array(1) }),
      (err: unknown) => {
        assert.ok(err instanceof RetryableError);
        assert.equal(err.code, 'ERR_SIGV4_ASSUME_ROLE');
        assert.match(err.message, /^sigv4: STS AssumeRole of arn:aws:iam::1:role\/r failed: bad signature$/);
        return true;
      },
    );
    assert.match(calls[0].verdict, /^signature mismatch/);
  });

  test('web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN) from the injected env', async () => {
    calls.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'sigv4-webid-'));
    try {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'oidc-token');
      const signer = createSigV4Signer(baseConfig({ region: STS_REGION }), {
        env: emptyEnv(dir, {
          AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
          AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/eks-writer',
          AWS_ROLE_SESSION_NAME: 'pod-1',
          AWS_ENDPOINT_URL_STS: stsUrl,
        }),
        now: () => NOW,
      });
      const { accessKey, signed } = await signAndVerify(signer, STS_REGION, { ASIAROLE1: 'role/secret/1' });
      assert.equal(accessKey, 'ASIAROLE1');
      assert.equal(signed['X-Amz-Security-Token'], 'role-session-token-1');
      assert.equal(calls.length, 1);
      assert.equal(calls[0].params.get('Action'), 'AssumeRoleWithWebIdentity');
      assert.equal(calls[0].params.get('RoleArn'), 'arn:aws:iam::123456789012:role/eks-writer');
      assert.equal(calls[0].params.get('RoleSessionName'), 'pod-1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sigv4 container credentials endpoint', () => {
  test('AWS_CONTAINER_CREDENTIALS_FULL_URI and its authorization token, from the injected env', async () => {
    const seen: Array<{ url: string; authorization: string | undefined }> = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          AccessKeyId: 'ASIACONTAINER',
          SecretAccessKey: 'container/secret',
          Token: 'container-token',
          Expiration: new Date(Date.now() + 60 * 60_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'sigv4-container-'));
    try {
      const port = (server.address() as AddressInfo).port;
      const signer = createSigV4Signer(baseConfig({ region: 'eu-west-1' }), {
        env: emptyEnv(dir, {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/v2/credentials/task`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth',
        }),
      });
      const { accessKey, signed } = await signAndVerify(signer, 'eu-west-1', { ASIACONTAINER: 'container/secret' });
      assert.equal(accessKey, 'ASIACONTAINER');
      assert.equal(signed['X-Amz-Security-Token'], 'container-token');
      assert.deepEqual(seen, [{ url: '/v2/credentials/task', authorization: 'container-auth' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
