import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatConfigError } from '../../src/config/config-error.js';
import { deriveEndpointName } from '../../src/config/endpoint-name.js';
import { parseConfig } from '../../src/config/parse.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/configs/', import.meta.url));
// Relative *_file paths resolve against this (absent) directory, so messages are stable.
const SOURCE = '/nonexistent-promspool-dir/promspool.yaml';
const RW = 'remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n';
const NAME_RULE =
  'must be 1-100 letters, digits, ".", "_" or "-", not starting with "." or "-" (it names a directory under storage.path)';
const SYNTAX = 'expected whole numbers with units y, w, d, h, m, s, ms in that order, e.g. "30s" or "1h30m"';

function errorsOf(yaml: string): string[] {
  const result = parseConfig(yaml, SOURCE);
  assert.equal(result.config, undefined, 'an invalid config must not produce a config');
  return result.errors.map(formatConfigError);
}

/** [what, yaml, every formatted error expected, in order] */
const INVALID: [string, string, string[]][] = [
  [
    'unknown top-level key, with did-you-mean',
    `stroage:\n  path: x\n${RW}`,
    ['stroage: unknown key, did you mean "storage"? (line 1)'],
  ],
  ['unknown top-level key, nothing close', `colour: red\n${RW}`, ['colour: unknown key (line 1)']],
  [
    'unknown nested key',
    `storage:\n  fsync_intervall: 2s\n${RW}`,
    ['storage.fsync_intervall: unknown key, did you mean "fsync_interval"? (line 2)'],
  ],
  [
    'unknown key in queue_config',
    `${RW}    queue_config:\n      max_shard: 3\n`,
    ['remote_write[0].queue_config.max_shard: unknown key, did you mean "max_shards"? (line 4)'],
  ],
  [
    'camelCase key in YAML',
    `${RW}    queueConfig: {}\n`,
    ['remote_write[0].queueConfig: unknown key, did you mean "queue_config"? (line 3)'],
  ],
  [
    'section that is not a mapping',
    `server: 9201\n${RW}`,
    ['server: expected a mapping, got a number (9201) (line 1)'],
  ],
  [
    'boolean written as yes',
    `receiver:\n  enabled: yes\n${RW}`,
    ['receiver.enabled: expected a boolean (true or false), got a string ("yes") (line 2)'],
  ],
  [
    'integer written as a word',
    `${RW}    queue_config:\n      max_shards: ten\n`,
    ['remote_write[0].queue_config.max_shards: expected an integer, got a string ("ten") (line 4)'],
  ],
  [
    'fractional integer',
    `${RW}    queue_config:\n      max_samples_per_send: 2000.5\n`,
    ['remote_write[0].queue_config.max_samples_per_send: expected an integer, got a number (2000.5) (line 4)'],
  ],
  [
    'remote_write that is not a list',
    'remote_write:\n  url: http://127.0.0.1:9090/api/v1/write\n',
    ['remote_write: expected a list, got a mapping (line 1)'],
  ],
  ['document that is a list', '- a\n- b\n', ['expected a mapping, got a list (line 1)']],
  [
    'negative duration',
    `server:\n  shutdown_timeout: -5s\n${RW}`,
    ['server.shutdown_timeout: invalid duration "-5s": durations cannot be negative (line 2)'],
  ],
  [
    'duration with a space',
    `storage:\n  ttl: 2 hours\n${RW}`,
    ['storage.ttl: invalid duration "2 hours": spaces are not allowed (line 2)'],
  ],
  [
    'duration without unit',
    `${RW}    remote_timeout: 30\n`,
    ['remote_write[0].remote_timeout: invalid duration "30": missing unit (did you mean "30s"?) (line 3)'],
  ],
  [
    'duration units out of order',
    `storage:\n  batch_interval: 5s1m\n${RW}`,
    [`storage.batch_interval: invalid duration "5s1m": ${SYNTAX} (line 2)`],
  ],
  [
    'zero where a positive duration is needed',
    `${RW}    queue_config:\n      batch_send_deadline: 0s\n`,
    ['remote_write[0].queue_config.batch_send_deadline: must be greater than 0, got 0s (line 4)'],
  ],
  [
    'size with a space',
    `storage:\n  max_disk_bytes: 10 GB\n${RW}`,
    ['storage.max_disk_bytes: invalid size "10 GB": spaces are not allowed (line 2)'],
  ],
  [
    'size with an unknown unit',
    `receiver:\n  max_body_bytes: 32MiBs\n${RW}`,
    [
      'receiver.max_body_bytes: invalid size "32MiBs": unknown unit "MiBs" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB) (line 2)',
    ],
  ],
  [
    'zero body size',
    `receiver:\n  max_body_bytes: 0\n${RW}`,
    ['receiver.max_body_bytes: must be greater than 0, got 0B (line 2)'],
  ],
  [
    'max_shards < min_shards (second endpoint, line 14)',
    [
      'server:',
      '  listen_address: 127.0.0.1:9201',
      'storage:',
      '  path: ./data',
      'remote_write:',
      '  - name: a',
      '    url: http://127.0.0.1:9090/api/v1/write',
      '  - name: b',
      '    url: http://127.0.0.1:9091/api/v1/write',
      '    remote_timeout: 10s',
      '    headers:',
      '      X-Scope-OrgID: t',
      '    queue_config:',
      '      max_shards: 0',
      '',
    ].join('\n'),
    ['remote_write[1].queue_config.max_shards: must be >= min_shards (1) (line 14)'],
  ],
  [
    'max_shards < explicit min_shards',
    `${RW}    queue_config:\n      min_shards: 8\n      max_shards: 4\n`,
    ['remote_write[0].queue_config.max_shards: must be >= min_shards (8) (line 5)'],
  ],
  [
    'min_shards of 0',
    `${RW}    queue_config:\n      min_shards: 0\n`,
    ['remote_write[0].queue_config.min_shards: must be >= 1, got 0 (line 4)'],
  ],
  [
    'more shards than virtual shards',
    `${RW}    queue_config:\n      max_shards: 300\n`,
    ['remote_write[0].queue_config.max_shards: must be <= 256, got 300 (line 4)'],
  ],
  [
    'min_backoff > max_backoff',
    `${RW}    queue_config:\n      min_backoff: 10s\n`,
    ['remote_write[0].queue_config.min_backoff: must be <= max_backoff (5s), got 10s (line 4)'],
  ],
  [
    'URL scheme not http(s)',
    'remote_write:\n  - url: ftp://127.0.0.1/write\n',
    ['remote_write[0].url: URL scheme must be http or https, got "ftp" (line 2)'],
  ],
  [
    'URL that does not parse',
    'remote_write:\n  - url: not a url\n',
    ['remote_write[0].url: invalid URL "not a url" (line 2)'],
  ],
  [
    'proxy_url scheme',
    `${RW}    proxy_url: socks5://127.0.0.1:1080\n`,
    ['remote_write[0].proxy_url: URL scheme must be http or https, got "socks5" (line 3)'],
  ],
  [
    'missing url',
    'remote_write:\n  - name: a\n    remote_timeout: 5s\n',
    ['remote_write[0].url: is required (line 2)'],
  ],
  ['empty remote_write', 'remote_write: []\n', ['remote_write: must list at least one endpoint (line 1)']],
  [
    'no remote_write at all',
    'server:\n  listen_address: 127.0.0.1:9201\n',
    ['remote_write: is required: list at least one endpoint to send to (line 1)'],
  ],
  [
    'duplicate endpoint names, ignoring case',
    'remote_write:\n  - name: a\n    url: http://h/1\n  - name: A\n    url: http://h/2\n',
    [
      'remote_write[1].name: duplicate endpoint name "A" (also used by remote_write[0]); names must be unique ignoring case, since each names a directory (line 4)',
    ],
  ],
  [
    'duplicate derived names (same URL twice)',
    'remote_write:\n  - url: http://h/1\n  - url: http://h/1\n',
    [
      `remote_write[1].name: the name derived from url, "${deriveEndpointName('http://h/1')}", is already used by remote_write[0]; give one of them a distinct name (line 3)`,
    ],
  ],
  [
    'name that is not filesystem-safe',
    'remote_write:\n  - name: ../etc\n    url: http://h/1\n',
    [`remote_write[0].name: ${NAME_RULE}, got "../etc" (line 2)`],
  ],
  [
    'oauth2 endpoint_params overwriting scope',
    `${RW}    oauth2:\n      client_id: c\n      token_url: https://auth.example/t\n      scopes: [a]\n      endpoint_params:\n        scope: b\n`,
    [
      'remote_write[0].oauth2.endpoint_params.scope: cannot overwrite the "scope" parameter, which scopes sets: give the scopes in one place (line 8)',
    ],
  ],
  [
    'a relabel action that does not exist',
    `${RW}    write_relabel_configs:\n      - action: dorp\n`,
    ['remote_write[0].write_relabel_configs[0].action: unknown relabel action "dorp" (did you mean "drop"?) (line 4)'],
  ],
  [
    'sigv4 access_key without secret_key',
    `${RW}    sigv4:\n      region: eu-west-1\n      access_key: AKIA\n`,
    [
      'remote_write[0].sigv4: access_key needs secret_key: give both, or neither to use the default AWS credential chain (line 3)',
    ],
  ],
  [
    'bearer_token_file that cannot be read',
    `${RW}    bearer_token_file: /nonexistent-promspool-dir/t\n`,
    ['remote_write[0].bearer_token_file: cannot read "/nonexistent-promspool-dir/t": no such file (line 3)'],
  ],
  [
    'unsupported discovery kind in a scrape config',
    `scrape_configs:\n  - job_name: a\n    ec2_sd_configs: []\n${RW}`,
    ['scrape_configs[0].ec2_sd_configs: ec2_sd_configs is not supported yet (line 3)'],
  ],
  [
    'unsupported tls_config.ca_ref',
    `${RW}    tls_config:\n      ca_ref: vault-ca\n`,
    ['remote_write[0].tls_config.ca_ref: ca_ref is not supported yet (line 4)'],
  ],
  [
    'reserved header, any case',
    `${RW}    headers:\n      content-type: text/plain\n`,
    ['remote_write[0].headers.content-type: content-type is a reserved header and cannot be set (line 4)'],
  ],
  [
    'reserved remote-write version header',
    `${RW}    headers:\n      X-Prometheus-Remote-Write-Version: 9.9.9\n`,
    [
      'remote_write[0].headers.X-Prometheus-Remote-Write-Version: X-Prometheus-Remote-Write-Version is a reserved header and cannot be set (line 4)',
    ],
  ],
  [
    'Authorization header',
    `${RW}    headers:\n      Authorization: Bearer x\n`,
    ['remote_write[0].headers.Authorization: set Authorization with basic_auth or authorization, not headers (line 4)'],
  ],
  [
    'password and password_file both',
    `${RW}    basic_auth:\n      username: u\n      password: p\n      password_file: pw.txt\n`,
    ['remote_write[0].basic_auth: password and password_file are mutually exclusive, set one (line 3)'],
  ],
  [
    'missing password_file',
    `${RW}    basic_auth:\n      username: u\n      password_file: missing-pw.txt\n`,
    [
      'remote_write[0].basic_auth.password_file: cannot read "/nonexistent-promspool-dir/missing-pw.txt": no such file (line 5)',
    ],
  ],
  [
    'blank password_file',
    `${RW}    basic_auth:\n      username: u\n      password_file: ${join(FIXTURES, 'blank.txt')}\n`,
    [`remote_write[0].basic_auth.password_file: "${join(FIXTURES, 'blank.txt')}" is empty (line 5)`],
  ],
  [
    'numeric password, not echoed back',
    `${RW}    basic_auth:\n      username: u\n      password: 123456\n`,
    ['remote_write[0].basic_auth.password: expected a string, got a number (quote the value) (line 5)'],
  ],
  [
    'credentials and credentials_file both',
    `${RW}    authorization:\n      credentials: x\n      credentials_file: t.txt\n`,
    ['remote_write[0].authorization: credentials and credentials_file are mutually exclusive, set one (line 3)'],
  ],
  [
    'authorization without credentials',
    `${RW}    authorization:\n      type: Bearer\n`,
    ['remote_write[0].authorization: one of credentials or credentials_file is required (line 3)'],
  ],
  [
    'authorization type Basic',
    `${RW}    authorization:\n      type: basic\n      credentials: x\n`,
    ['remote_write[0].authorization.type: cannot be "basic", use basic_auth instead (line 4)'],
  ],
  [
    'basic_auth and authorization both',
    `${RW}    basic_auth: { username: u, password: p }\n    authorization: { credentials: x }\n`,
    [
      'remote_write[0]: at most one of basic_auth, authorization, bearer_token, bearer_token_file, oauth2, sigv4, azuread or google_iam may be set, got basic_auth and authorization (line 2)',
    ],
  ],
  [
    'receiver basic_auth without a password',
    `receiver:\n  basic_auth:\n    username: u\n${RW}`,
    ['receiver.basic_auth: one of password or password_file is required (line 2)'],
  ],
  [
    'missing tls ca_file',
    `${RW}    tls_config:\n      ca_file: ca-missing.pem\n`,
    [
      'remote_write[0].tls_config.ca_file: cannot read "/nonexistent-promspool-dir/ca-missing.pem": no such file (line 4)',
    ],
  ],
  [
    'tls ca_file that is not PEM',
    `${RW}    tls_config:\n      ca_file: ${join(FIXTURES, 'password.txt')}\n`,
    [`remote_write[0].tls_config.ca_file: "${join(FIXTURES, 'password.txt')}" has no PEM "CERTIFICATE" block (line 4)`],
  ],
  [
    'tls client certificate without key',
    `${RW}    tls_config:\n      cert_file: ${join(FIXTURES, 'client.pem')}\n`,
    ['remote_write[0].tls_config: a client certificate needs key or key_file (line 3)'],
  ],
  [
    'tls max_version below min_version',
    `${RW}    tls_config:\n      min_version: TLS13\n      max_version: TLS12\n`,
    ['remote_write[0].tls_config.max_version: must be >= min_version (line 5)'],
  ],
  [
    'bad fsync enum',
    `storage:\n  fsync: sometimes\n${RW}`,
    ['storage.fsync: must be one of "always", "interval", "never", got "sometimes" (line 2)'],
  ],
  [
    'bad on_disk_full enum, with did-you-mean',
    `storage:\n  on_disk_full: drop_olde\n${RW}`,
    [
      'storage.on_disk_full: must be one of "drop_oldest", "reject", got "drop_olde" (did you mean "drop_oldest"?) (line 2)',
    ],
  ],
  [
    'protobuf_message_probe_interval must be positive',
    `${RW}    protobuf_message: io.prometheus.write.v2.Request\n    protobuf_message_probe_interval: 0s\n`,
    ['remote_write[0].protobuf_message_probe_interval: must be greater than 0, got 0s (line 4)'],
  ],
  [
    'bad protobuf_message',
    `${RW}    protobuf_message: prometheus.WriteRequestV2\n`,
    [
      'remote_write[0].protobuf_message: must be one of "prometheus.WriteRequest", "io.prometheus.write.v2.Request", got "prometheus.WriteRequestV2" (did you mean "prometheus.WriteRequest"?) (line 3)',
    ],
  ],
  [
    'listen address without port',
    `server:\n  listen_address: localhost\n${RW}`,
    [
      'server.listen_address: expected host:port, e.g. "127.0.0.1:9201", "[::1]:9201" or ":9201", got "localhost" (line 2)',
    ],
  ],
  [
    'listen address with port out of range',
    `server:\n  listen_address: 127.0.0.1:99999\n${RW}`,
    ['server.listen_address: port must be a number from 0 to 65535, got "99999" (line 2)'],
  ],
  [
    'receiver path without leading slash',
    `receiver:\n  path: api/v1/write\n${RW}`,
    ['receiver.path: must be a URL path starting with "/", got "api/v1/write" (line 2)'],
  ],
  [
    'external label with an empty name',
    `global:\n  external_labels:\n    "": x\n${RW}`,
    ['global.external_labels.: invalid label name, must be non-empty valid UTF-8 (line 3)'],
  ],
  [
    'external label with a UTF-8 name under the legacy scheme',
    `global:\n  metric_name_validation_scheme: legacy\n  external_labels:\n    foo-bar: x\n${RW}`,
    ['global.external_labels.foo-bar: invalid label name, must match [a-zA-Z_][a-zA-Z0-9_]* (line 4)'],
  ],
  [
    'an unknown metric_name_validation_scheme',
    `global:\n  metric_name_validation_scheme: utf-8\n${RW}`,
    [
      'global.metric_name_validation_scheme: must be one of "utf8", "legacy", got "utf-8" (did you mean "utf8"?) (line 2)',
    ],
  ],
  [
    'a metric_name_validation_scheme that is not a string',
    `global:\n  metric_name_validation_scheme: 8\n${RW}`,
    ['global.metric_name_validation_scheme: must be one of "utf8", "legacy", got a number (8) (line 2)'],
  ],
  [
    'external label with a reserved name',
    `global:\n  external_labels:\n    __tenant: x\n${RW}`,
    ['global.external_labels.__tenant: label names starting with "__" are reserved (line 3)'],
  ],
  [
    'YAML syntax error',
    `server:\n  listen_address: "127.0.0.1:9201\n${RW}`,
    // yaml reports an unclosed quote where the input ends.
    ['YAML syntax error: Missing closing "quote (line 5)'],
  ],
  [
    'YAML tab indentation',
    `${RW}server:\n\tlisten_address: 127.0.0.1:9201\n`,
    ['YAML syntax error: Tabs are not allowed as indentation (line 4)'],
  ],
  [
    'duplicate YAML key',
    `storage:\n  path: a\nstorage:\n  path: b\n${RW}`,
    ['YAML syntax error: Map keys must be unique (line 3)'],
  ],
];

describe('parseConfig rejects invalid configs with path and line', () => {
  it(`has a table of at least 35 cases (${INVALID.length})`, () => {
    assert.ok(INVALID.length >= 35);
  });
  for (const [what, yaml, expected] of INVALID) {
    it(what, () => {
      assert.deepEqual(errorsOf(yaml), expected);
    });
  }
});

describe('parseConfig reports every error at once', () => {
  it('collects errors from every section, in line order', () => {
    const yaml = [
      'remote_wirte: []', // 1
      'server:', // 2
      '  listen_address: localhost', // 3
      '  shutdown_timeout: -5s', // 4
      'storage:', // 5
      '  fsync: sometimes', // 6
      'remote_write:', // 7
      '  - url: ftp://x/y', // 8
      '    name: a', // 9
      '    queue_config:', // 10
      '      min_shards: 5', // 11
      '      max_shards: 2', // 12
      '    headers: { User-Agent: me }', // 13
      '  - name: A', // 14
      '    url: http://h/2', // 15
      '    basic_auth: { username: u, password_file: nope.txt }', // 16
      '',
    ].join('\n');
    assert.deepEqual(errorsOf(yaml), [
      'remote_wirte: unknown key, did you mean "remote_write"? (line 1)',
      'server.listen_address: expected host:port, e.g. "127.0.0.1:9201", "[::1]:9201" or ":9201", got "localhost" (line 3)',
      'server.shutdown_timeout: invalid duration "-5s": durations cannot be negative (line 4)',
      'storage.fsync: must be one of "always", "interval", "never", got "sometimes" (line 6)',
      'remote_write[0].url: URL scheme must be http or https, got "ftp" (line 8)',
      'remote_write[0].queue_config.max_shards: must be >= min_shards (5) (line 12)',
      'remote_write[0].headers.User-Agent: User-Agent is a reserved header and cannot be set (line 13)',
      'remote_write[1].name: duplicate endpoint name "A" (also used by remote_write[0]); names must be unique ignoring case, since each names a directory (line 14)',
      'remote_write[1].basic_auth.password_file: cannot read "/nonexistent-promspool-dir/nope.txt": no such file (line 16)',
    ]);
  });

  it('returns structured errors with path, line and message', () => {
    const result = parseConfig(`${RW}    queue_config:\n      max_shards: 0\n`);
    assert.deepEqual(result, {
      errors: [{ path: 'remote_write[0].queue_config.max_shards', line: 4, message: 'must be >= min_shards (1)' }],
      warnings: [],
    });
  });

  it('reports an empty document as missing remote_write, without a line', () => {
    assert.deepEqual(parseConfig('').errors, [
      { path: 'remote_write', message: 'is required: list at least one endpoint to send to' },
    ]);
  });
});
