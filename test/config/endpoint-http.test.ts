/**
 * The HTTP-client keys of `remote_write` as pasted from real setups (Grafana Cloud, Mimir with
 * oauth2, AWS Managed Prometheus with sigv4), and every way of getting them wrong, with path and line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import type { EndpointConfig } from '../../src/config/types.js';

const SOURCE = '/nonexistent-promspool-dir/promspool.yaml';
const RW = 'remote_write:\n  - url: https://rw.example/api/v1/push\n';

function endpoint(yaml: string): EndpointConfig {
  const { config, errors } = parseConfig(yaml, SOURCE);
  assert.deepEqual(errors.map(formatConfigError), []);
  assert.ok(config);
  return config.remoteWrite[0];
}

function errorsOf(yaml: string): string[] {
  const result = parseConfig(yaml, SOURCE);
  assert.equal(result.config, undefined);
  return result.errors.map(formatConfigError);
}

describe('pasted remote_write blocks load', () => {
  it('Grafana Cloud (basic_auth, follow_redirects, enable_http2)', () => {
    const ep = endpoint(`remote_write:
  - url: https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push
    basic_auth:
      username: "123456"
      password: glc_eyJvIjoiMTIzIn0=
    follow_redirects: true
    enable_http2: true
`);
    assert.deepEqual(ep.basicAuth, { username: '123456', password: 'glc_eyJvIjoiMTIzIn0=' });
    assert.equal(ep.followRedirects, true);
    assert.equal(ep.enableHttp2, true);
  });

  it('Mimir with oauth2 and headers', () => {
    const ep = endpoint(`remote_write:
  - url: https://mimir.example/api/v1/push
    headers:
      X-Scope-OrgID: team-a
    oauth2:
      client_id: promspool
      client_secret: s3cret
      token_url: https://auth.example/realms/metrics/protocol/openid-connect/token
      scopes: [openid, metrics]
      endpoint_params:
        audience: mimir
      tls_config:
        insecure_skip_verify: false
      proxy_url: http://proxy.example:3128
      no_proxy: auth.internal
`);
    assert.deepEqual(ep.headers, { 'X-Scope-OrgID': 'team-a' });
    assert.deepEqual(ep.oauth2, {
      clientId: 'promspool',
      clientSecret: 's3cret',
      scopes: ['openid', 'metrics'],
      tokenUrl: 'https://auth.example/realms/metrics/protocol/openid-connect/token',
      endpointParams: { audience: 'mimir' },
      proxyUrl: 'http://proxy.example:3128',
      noProxy: 'auth.internal',
      tlsConfig: { insecureSkipVerify: false },
    });
    assert.equal(ep.basicAuth, undefined);
  });

  it('AWS Managed Prometheus with sigv4', () => {
    const ep = endpoint(`remote_write:
  - url: https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write
    sigv4:
      region: us-east-1
      role_arn: arn:aws:iam::123456789012:role/prometheus
    queue_config:
      max_samples_per_send: 1000
`);
    assert.deepEqual(ep.sigv4, {
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/prometheus',
      useFipsStsEndpoint: false,
      serviceName: 'aps',
    });
    const keys = endpoint(`${RW}    sigv4: { access_key: AKIA, secret_key: abc, profile: p, service_name: custom }\n`);
    assert.deepEqual(keys.sigv4, {
      accessKey: 'AKIA',
      secretKey: 'abc',
      profile: 'p',
      useFipsStsEndpoint: false,
      serviceName: 'custom',
    });
  });

  it('proxy and DNS keys; defaults stay out of the config', () => {
    const ep = endpoint(
      `${RW}    proxy_url: http://p:3128\n    no_proxy: .internal\n    proxy_connect_header: { Proxy-Authorization: [Basic eA==] }\n    round_robin_dns: true\n    bearer_token: tok\n`,
    );
    assert.equal(ep.proxyUrl, 'http://p:3128');
    assert.equal(ep.noProxy, '.internal');
    assert.deepEqual(ep.proxyConnectHeader, { 'Proxy-Authorization': ['Basic eA=='] });
    assert.equal(ep.roundRobinDns, true);
    assert.deepEqual(ep.authorization, { type: 'Bearer', credentials: 'tok' });
    const plain = endpoint(RW);
    for (const k of ['followRedirects', 'enableHttp2', 'roundRobinDns', 'httpHeaders', 'oauth2', 'sigv4'] as const) {
      assert.equal(plain[k], undefined, k);
    }
  });
});

/** [what, yaml after the url line, expected errors] */
const INVALID: [string, string, string[]][] = [
  [
    'bearer_token and bearer_token_file',
    '    bearer_token: a\n    bearer_token_file: f\n',
    [
      'remote_write[0]: at most one of basic_auth, authorization, bearer_token, bearer_token_file, oauth2, sigv4, azuread or google_iam may be set, got bearer_token and bearer_token_file (line 2)',
      'remote_write[0]: bearer_token and bearer_token_file are mutually exclusive, set one (line 2)',
    ],
  ],
  [
    'oauth2 with basic_auth',
    '    basic_auth: { username: u, password: p }\n    oauth2: { client_id: c, token_url: https://t/ }\n',
    [
      'remote_write[0]: at most one of basic_auth, authorization, bearer_token, bearer_token_file, oauth2, sigv4, azuread or google_iam may be set, got basic_auth and oauth2 (line 2)',
    ],
  ],
  [
    'azuread',
    '    azuread: { cloud: AzurePublic }\n',
    [
      'remote_write[0].azuread: is not supported: it gets tokens from Azure AD (managed identity, workload identity or the Azure SDK), which promspool can neither reach nor test here; use oauth2 with the Azure AD token URL and a client secret instead (line 3)',
    ],
  ],
  [
    'google_iam',
    '    google_iam: { credentials_file: f }\n',
    [
      'remote_write[0].google_iam: is not supported: it gets tokens from Google Cloud credentials (the metadata server or a service account through the Google SDK), which promspool can neither reach nor test here; use oauth2 or authorization with a token you refresh instead (line 3)',
    ],
  ],
  [
    'oauth2 without client_id, bad token_url, both secrets, unknown key',
    '    oauth2:\n      token_url: ftp://t/\n      client_secret: a\n      client_secret_file: b\n      scope: x\n',
    [
      'remote_write[0].oauth2.client_id: is required (line 3)',
      'remote_write[0].oauth2: client_secret and client_secret_file are mutually exclusive, set one (line 3)',
      'remote_write[0].oauth2.token_url: URL scheme must be http or https, got "ftp" (line 4)',
      'remote_write[0].oauth2.scope: unknown key, did you mean "scopes"? (line 7)',
    ],
  ],
  [
    'oauth2 unreadable client_secret_file',
    '    oauth2: { client_id: c, token_url: "https://t/", client_secret_file: nope }\n',
    ['remote_write[0].oauth2.client_secret_file: cannot read "/nonexistent-promspool-dir/nope": no such file (line 3)'],
  ],
  [
    'oauth2 JWT grant',
    '    oauth2: { client_id: c, token_url: "https://t/", grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer" }\n',
    [
      'remote_write[0].oauth2.grant_type: must be "client_credentials", got "urn:ietf:params:oauth:grant-type:jwt-bearer" (the JWT bearer grant is not supported) (line 3)',
    ],
  ],
  [
    'sigv4 external_id without role_arn',
    '    sigv4:\n      external_id: x\n',
    ['remote_write[0].sigv4.external_id: can only be used with role_arn (line 4)'],
  ],
  [
    'http_headers: reserved, Authorization, bad name, unreadable file, bad value, not a list',
    [
      '    http_headers:',
      '      Content-Encoding: { values: [gzip] }',
      '      authorization: { secrets: [x] }',
      '      "bad name": { values: [x] }',
      '      X-File: { files: [missing] }',
      '      X-Nl: { values: ["a\\nb"] }',
      '      X-Str: { values: abc }',
      '      X-Empty: {}',
      '',
    ].join('\n'),
    [
      'remote_write[0].http_headers.Content-Encoding: Content-Encoding is a reserved header and cannot be set (line 4)',
      'remote_write[0].http_headers.authorization: set Authorization with one of basic_auth, authorization, oauth2, sigv4, not http_headers (line 5)',
      'remote_write[0].http_headers.bad name: invalid header name (line 6)',
      'remote_write[0].http_headers.X-File.files[0]: cannot read "/nonexistent-promspool-dir/missing": no such file (line 7)',
      'remote_write[0].http_headers.X-Nl.values[0]: header values cannot contain CR, LF or NUL (line 8)',
      'remote_write[0].http_headers.X-Str.values: expected a list of strings, got a string ("abc") (line 9)',
      'remote_write[0].http_headers.X-Empty: sets no value: give values, secrets or files (line 10)',
    ],
  ],
  [
    'proxy rules',
    '    proxy_from_environment: true\n    proxy_url: http://p:1\n    no_proxy: x\n',
    [
      'remote_write[0].proxy_from_environment: cannot be used with proxy_url: the environment names the proxy (line 3)',
      'remote_write[0].no_proxy: cannot be used with proxy_from_environment: set NO_PROXY instead (line 5)',
    ],
  ],
  [
    'no_proxy and proxy_connect_header without a proxy',
    '    no_proxy: x\n    proxy_connect_header: { X-A: [b] }\n',
    [
      'remote_write[0].no_proxy: needs proxy_url: without a proxy everything is reached directly (line 3)',
      'remote_write[0].proxy_connect_header: needs proxy_url or proxy_from_environment: it is sent to the proxy (line 4)',
    ],
  ],
  [
    'proxy_connect_header value not a list, secret not echoed',
    '    proxy_url: http://p:1\n    proxy_connect_header: { X-A: 12345 }\n',
    ['remote_write[0].proxy_connect_header.X-A: expected a list of strings, got a number (line 4)'],
  ],
  [
    'follow_redirects not a boolean',
    '    follow_redirects: "yes"\n',
    ['remote_write[0].follow_redirects: expected a boolean (true or false), got a string ("yes") (line 3)'],
  ],
];

describe('HTTP-client keys: errors with path and line', () => {
  for (const [what, rest, expected] of INVALID) {
    it(what, () => {
      assert.deepEqual(errorsOf(RW + rest), expected);
    });
  }
});
