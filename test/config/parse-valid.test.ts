import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatConfigError } from '../../src/config/config-error.js';
import { deriveEndpointName } from '../../src/config/endpoint-name.js';
import { DEFAULT_CONFIG_YAML, defaultConfig, loadConfigFile } from '../../src/config/load.js';
import { parseConfig } from '../../src/config/parse.js';
import { YAML_SPECS } from '../../src/config/schema.js';
import type { PromspoolConfig } from '../../src/config/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/configs');

function parseClean(yaml: string, source?: string): PromspoolConfig {
  const { config, errors } = parseConfig(yaml, source);
  assert.deepEqual(errors.map(formatConfigError), []);
  assert.ok(config);
  return config;
}

describe('parseConfig applies defaults', () => {
  it('fills every default on a minimal config', () => {
    const config = parseClean('remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n');
    assert.deepEqual(config, {
      server: { listenAddress: '127.0.0.1:9201', shutdownTimeoutMs: 30_000 },
      storage: {
        path: './data',
        ttlMs: 7_200_000,
        maxSignalsToBatch: 50_000,
        batchIntervalMs: 5_000,
        fsync: 'interval',
        fsyncIntervalMs: 1_000,
        maxDiskBytes: 10 * 1024 ** 3,
        onDiskFull: 'drop_oldest',
      },
      externalLabels: {},
      receiver: { enabled: true, path: '/api/v1/write', maxBodyBytes: 32 * 1024 ** 2 },
      selfMonitoring: { enabled: true, intervalMs: 15_000 },
      nameValidationScheme: 'utf8',
      remoteWrite: [
        {
          name: deriveEndpointName('http://127.0.0.1:9090/api/v1/write'),
          url: 'http://127.0.0.1:9090/api/v1/write',
          protobufMessage: 'prometheus.WriteRequest',
          protobufMessageProbeIntervalMs: 3_600_000,
          remoteTimeoutMs: 30_000,
          headers: {},
          queue: {
            maxSamplesPerSend: 2000,
            capacity: 10_000,
            batchSendDeadlineMs: 5_000,
            minShards: 1,
            maxShards: 50,
            minBackoffMs: 30,
            maxBackoffMs: 5_000,
            retryOnHttp429: true,
            sampleAgeLimitMs: 0,
            maxRetryAfterMs: 300_000,
          },
          metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2000 },
          writeRelabelConfigs: [],
          sendExemplars: true,
          sendNativeHistograms: true,
          nameValidationScheme: 'utf8',
        },
      ],
    });
  });

  it('treats empty sections (null) as all defaults', () => {
    const config = parseClean(
      'server:\nstorage:\nreceiver:\nself_monitoring:\nremote_write:\n  - url: http://h/w\n    queue_config:\n',
    );
    assert.equal(config.server.listenAddress, '127.0.0.1:9201');
    assert.equal(config.remoteWrite[0].queue.maxShards, 50);
  });

  it('derives a stable, filesystem-safe name from the URL only', () => {
    const a = deriveEndpointName('https://mimir.example:8443/api/v1/push');
    assert.match(a, /^mimir\.example_8443-[0-9a-f]{8}$/);
    assert.equal(deriveEndpointName('https://mimir.example:8443/api/v1/push'), a);
    assert.notEqual(deriveEndpointName('https://mimir.example:8443/api/v1/push2'), a);
    assert.match(deriveEndpointName('http://[::1]:9090/w'), /^___1__9090-[0-9a-f]{8}$/);
  });
});

describe('parseConfig reads every key', () => {
  it('returns exactly what a full config says', () => {
    const yaml = `
server:
  listen_address: "[::1]:9300"
  shutdown_timeout: 1m
storage:
  path: /var/lib/promspool
  ttl: 0
  max_signals_to_batch: 500
  batch_interval: 2s
  fsync: always
  fsync_interval: 250ms
  max_disk_bytes: 512MB
  on_disk_full: reject
global:
  external_labels: { cluster: eu1, replica: 1 }
  metric_name_validation_scheme: legacy
receiver:
  enabled: false
  path: /receive
  max_body_bytes: 1048576
  authorization: { credentials_file: token.txt }
  basic_auth: { username_file: username.txt, password_file: password.txt }
self_monitoring:
  enabled: false
  interval: 1m30s
remote_write:
  - name: primary
    url: https://mimir.example/api/v1/push
    protobuf_message: prometheus.WriteRequest
    protobuf_message_probe_interval: 30m
    remote_timeout: 10s
    headers: { X-Scope-OrgID: team-a }
    basic_auth: { username: u, password_file: password.txt }
    tls_config:
      ca_file: ca.pem
      cert_file: client.pem
      key_file: client-key.pem
      server_name: mimir.internal
      insecure_skip_verify: true
      min_version: TLS12
      max_version: TLS13
    proxy_url: http://proxy:3128
    queue_config:
      max_samples_per_send: 500
      capacity: 2500
      batch_send_deadline: 1s
      min_shards: 2
      max_shards: 8
      min_backoff: 100ms
      max_backoff: 10s
      retry_on_http_429: false
      sample_age_limit: 1h
      max_retry_after: 1m
    metadata_config: { send: false, send_interval: 5m, max_samples_per_send: 100 }
  - url: http://127.0.0.1:8428/api/v1/write
    authorization: { type: Token, credentials: abc }
`;
    const config = parseClean(yaml, join(FIXTURES, 'promspool.yaml'));
    const pem = (f: string) => readFileSync(join(FIXTURES, f), 'utf8');
    assert.deepEqual(config, {
      server: { listenAddress: '[::1]:9300', shutdownTimeoutMs: 60_000 },
      storage: {
        path: '/var/lib/promspool',
        ttlMs: 0,
        maxSignalsToBatch: 500,
        batchIntervalMs: 2_000,
        fsync: 'always',
        fsyncIntervalMs: 250,
        maxDiskBytes: 512_000_000,
        onDiskFull: 'reject',
      },
      externalLabels: { cluster: 'eu1', replica: '1' },
      receiver: {
        enabled: false,
        path: '/receive',
        maxBodyBytes: 1_048_576,
        authorization: { type: 'Bearer', credentials: 'tok-123' },
        basicAuth: { username: 'alice', password: 's3cret' },
      },
      selfMonitoring: { enabled: false, intervalMs: 90_000 },
      nameValidationScheme: 'legacy',
      remoteWrite: [
        {
          name: 'primary',
          url: 'https://mimir.example/api/v1/push',
          protobufMessage: 'prometheus.WriteRequest',
          protobufMessageProbeIntervalMs: 1_800_000,
          remoteTimeoutMs: 10_000,
          headers: { 'X-Scope-OrgID': 'team-a' },
          basicAuth: { username: 'u', password: 's3cret' },
          tlsConfig: {
            ca: pem('ca.pem'),
            cert: pem('client.pem'),
            key: pem('client-key.pem'),
            caFile: join(FIXTURES, 'ca.pem'),
            certFile: join(FIXTURES, 'client.pem'),
            keyFile: join(FIXTURES, 'client-key.pem'),
            serverName: 'mimir.internal',
            insecureSkipVerify: true,
            minVersion: 'TLSv1.2',
            maxVersion: 'TLSv1.3',
          },
          proxyUrl: 'http://proxy:3128',
          queue: {
            maxSamplesPerSend: 500,
            capacity: 2500,
            batchSendDeadlineMs: 1_000,
            minShards: 2,
            maxShards: 8,
            minBackoffMs: 100,
            maxBackoffMs: 10_000,
            retryOnHttp429: false,
            sampleAgeLimitMs: 3_600_000,
            maxRetryAfterMs: 60_000,
          },
          metadata: { send: false, sendIntervalMs: 300_000, maxSamplesPerSend: 100 },
          writeRelabelConfigs: [],
          sendExemplars: true,
          sendNativeHistograms: true,
          nameValidationScheme: 'legacy',
        },
        {
          name: deriveEndpointName('http://127.0.0.1:8428/api/v1/write'),
          url: 'http://127.0.0.1:8428/api/v1/write',
          protobufMessage: 'prometheus.WriteRequest',
          protobufMessageProbeIntervalMs: 3_600_000,
          remoteTimeoutMs: 30_000,
          headers: {},
          authorization: { type: 'Token', credentials: 'abc' },
          queue: {
            maxSamplesPerSend: 2000,
            capacity: 10_000,
            batchSendDeadlineMs: 5_000,
            minShards: 1,
            maxShards: 50,
            minBackoffMs: 30,
            maxBackoffMs: 5_000,
            retryOnHttp429: true,
            sampleAgeLimitMs: 0,
            maxRetryAfterMs: 300_000,
          },
          metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2000 },
          writeRelabelConfigs: [],
          sendExemplars: true,
          sendNativeHistograms: true,
          nameValidationScheme: 'legacy',
        },
      ],
    });
  });

  it('accepts YAML anchors and merge keys', () => {
    const config = parseClean(
      [
        'remote_write:',
        '  - url: http://h/1',
        '    queue_config: &q { max_shards: 4 }',
        '  - url: http://h/2',
        '    queue_config: { <<: *q, min_shards: 2 }',
        '',
      ].join('\n'),
    );
    assert.equal(config.remoteWrite[0].queue.maxShards, 4);
    assert.equal(config.remoteWrite[1].queue.maxShards, 4);
    assert.equal(config.remoteWrite[1].queue.minShards, 2);
  });
});

describe('built-in default and example config', () => {
  it('DEFAULT_CONFIG_YAML parses clean to the documented default', () => {
    const config = parseClean(DEFAULT_CONFIG_YAML);
    assert.deepEqual(defaultConfig(), config);
    assert.equal(config.server.listenAddress, '127.0.0.1:9201');
    assert.equal(config.storage.path, './data');
    assert.equal(config.receiver.enabled, true);
    assert.deepEqual(config.selfMonitoring, { enabled: true, intervalMs: 15_000 });
    assert.deepEqual(
      config.remoteWrite.map((e) => [e.name, e.url]),
      [['default', 'http://127.0.0.1:9090/api/v1/write']],
    );
  });

  const examplePath = join(ROOT, 'promspool.example.yaml');
  const example = readFileSync(examplePath, 'utf8');

  it('promspool.example.yaml parses clean', () => {
    const config = parseClean(example, examplePath);
    assert.deepEqual(
      config.remoteWrite.map((e) => [e.name, e.url, e.protobufMessage]),
      [
        ['primary', 'https://mimir.example/api/v1/push', 'prometheus.WriteRequest'],
        ['backup', 'http://victoria.example:8428/api/v1/write', 'prometheus.WriteRequest'],
      ],
    );
    assert.deepEqual(config.externalLabels, { cluster: 'eu1', replica: '1' });
  });

  it('promspool.example.yaml mentions every key parseConfig accepts', () => {
    const missing: string[] = [];
    for (const [where, spec] of Object.entries(YAML_SPECS)) {
      for (const key of spec.known) {
        // Active (`key:`) or commented out (`# key:`), at any indentation.
        if (!new RegExp(`^[ \\t#-]*${key}:`, 'm').test(example)) missing.push(where ? `${where}.${key}` : key);
      }
    }
    assert.deepEqual(missing, []);
  });
});

describe('loadConfigFile', () => {
  it('says clearly when the file does not exist', () => {
    assert.deepEqual(loadConfigFile('/nonexistent-promspool-dir/promspool.yaml'), {
      errors: [
        { path: '', message: 'cannot read config file "/nonexistent-promspool-dir/promspool.yaml": no such file' },
      ],
    });
  });

  it('reads a file and resolves *_file paths against its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promspool-config-'));
    try {
      await writeFile(join(dir, 'pw'), 'hunter2\n');
      await writeFile(
        join(dir, 'promspool.yaml'),
        'remote_write:\n  - url: http://h/w\n    basic_auth: { username: u, password_file: pw }\n',
      );
      const { config, errors } = loadConfigFile(join(dir, 'promspool.yaml'));
      assert.deepEqual(errors, []);
      assert.deepEqual(config?.remoteWrite[0].basicAuth, { username: 'u', password: 'hunter2' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a directory given as the config file', () => {
    assert.deepEqual(loadConfigFile(FIXTURES).errors, [
      { path: '', message: `cannot read config file ${JSON.stringify(FIXTURES)}: is a directory` },
    ]);
  });
});
