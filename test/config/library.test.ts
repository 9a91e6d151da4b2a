import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { formatConfigError, InvalidConfigError } from '../../src/config/config-error.js';
import { DEFAULT_QUEUE_CONFIG, DEFAULT_STORAGE_CONFIG } from '../../src/config/defaults.js';
import { checkQueueOptions, type LibraryOptions, resolveQueueOptions } from '../../src/config/library.js';
import { silentLogger } from '../../src/logger.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/configs/', import.meta.url));

function problems(options: unknown): string[] {
  const { config, errors } = checkQueueOptions(options);
  assert.equal(config, undefined);
  return errors.map(formatConfigError);
}

describe('resolveQueueOptions', () => {
  it('resolves minimal options with the YAML defaults, receiver and self-monitoring off', () => {
    const config = resolveQueueOptions({
      dataDir: '/tmp/q',
      endpoints: [{ name: 'a', url: 'http://127.0.0.1:9090/w' }],
    });
    assert.deepEqual(config.storage, { ...DEFAULT_STORAGE_CONFIG, path: '/tmp/q' });
    assert.deepEqual(config.remoteWrite[0].queue, DEFAULT_QUEUE_CONFIG);
    assert.equal(config.remoteWrite[0].name, 'a');
    assert.equal(config.receiver.enabled, false);
    assert.equal(config.selfMonitoring.enabled, false);
    assert.equal(config.server.shutdownTimeoutMs, 30_000);
    assert.deepEqual(config.externalLabels, {});
    assert.equal(config.nameValidationScheme, 'utf8');
  });

  it('takes remote-write 2.0 with its probe interval (default 1h)', () => {
    const config = resolveQueueOptions({
      dataDir: '/tmp/q',
      endpoints: [
        { name: 'a', url: 'http://127.0.0.1:9090/w', protobufMessage: 'io.prometheus.write.v2.Request' },
        {
          name: 'b',
          url: 'http://127.0.0.1:9090/w',
          protobufMessage: 'io.prometheus.write.v2.Request',
          protobufMessageProbeInterval: '5m',
        },
      ],
    });
    assert.deepEqual(
      config.remoteWrite.map((e) => [e.protobufMessage, e.protobufMessageProbeIntervalMs]),
      [
        ['io.prometheus.write.v2.Request', 3_600_000],
        ['io.prometheus.write.v2.Request', 300_000],
      ],
    );
  });

  it('takes nameValidationScheme, and checks external labels by it', () => {
    const base = { dataDir: '/tmp/q', endpoints: [{ url: 'http://127.0.0.1:9090/w' }] };
    const utf8 = resolveQueueOptions({ ...base, externalLabels: { 'k8s.cluster': 'eu1', 地域: '東京' } });
    assert.equal(utf8.nameValidationScheme, 'utf8');
    assert.deepEqual(utf8.externalLabels, { 'k8s.cluster': 'eu1', 地域: '東京' });
    assert.equal(resolveQueueOptions({ ...base, nameValidationScheme: 'legacy' }).nameValidationScheme, 'legacy');
    assert.deepEqual(
      checkQueueOptions({ ...base, nameValidationScheme: 'legacy', externalLabels: { 'k8s.cluster': 'eu1' } }).errors,
      [{ path: 'externalLabels.k8s.cluster', message: 'invalid label name, must match [a-zA-Z_][a-zA-Z0-9_]*' }],
    );
    assert.deepEqual(checkQueueOptions({ ...base, nameValidationScheme: 'UTF8' }).errors, [
      { path: 'nameValidationScheme', message: 'must be one of "utf8", "legacy", got "UTF8" (did you mean "utf8"?)' },
    ]);
  });

  it('takes camelCase keys, durations as ms or strings, sizes as bytes or strings', () => {
    const options: LibraryOptions = {
      dataDir: './spool',
      ttl: '30m',
      shutdownTimeout: 5_000,
      externalLabels: { cluster: 'eu1' },
      persistence: {
        maxSignalsToBatch: 100,
        batchInterval: 250,
        fsync: 'always',
        fsyncInterval: '2s',
        maxDiskBytes: '1GiB',
        onDiskFull: 'reject',
      },
      registry: new Registry(),
      logger: silentLogger,
      endpoints: [
        {
          name: 'primary',
          url: 'https://mimir.example/api/v1/push',
          protobufMessage: 'prometheus.WriteRequest',
          remoteTimeout: '10s',
          headers: { 'X-Scope-OrgID': 'a' },
          basicAuth: { username: 'u', passwordFile: join(FIXTURES, 'password.txt') },
          tlsConfig: { caFile: join(FIXTURES, 'ca.pem'), minVersion: 'TLS13' },
          proxyUrl: 'http://proxy:3128',
          queueConfig: { maxShards: 4, minBackoff: 100, maxBackoff: '1s', retryOnHttp429: false, maxRetryAfter: '1m' },
          metadataConfig: { send: false, sendInterval: 30_000 },
        },
      ],
    };
    const config = resolveQueueOptions(options);
    assert.deepEqual(config.storage, {
      path: './spool',
      ttlMs: 1_800_000,
      maxSignalsToBatch: 100,
      batchIntervalMs: 250,
      fsync: 'always',
      fsyncIntervalMs: 2_000,
      maxDiskBytes: 1024 ** 3,
      onDiskFull: 'reject',
    });
    assert.equal(config.server.shutdownTimeoutMs, 5_000);
    assert.deepEqual(config.externalLabels, { cluster: 'eu1' });
    const e = config.remoteWrite[0];
    assert.equal(e.protobufMessage, 'prometheus.WriteRequest');
    assert.equal(e.remoteTimeoutMs, 10_000);
    assert.deepEqual(e.basicAuth, { username: 'u', password: 's3cret' });
    assert.equal(e.tlsConfig?.minVersion, 'TLSv1.3');
    assert.equal(e.tlsConfig?.caFile, join(FIXTURES, 'ca.pem'));
    assert.deepEqual(e.queue, {
      ...DEFAULT_QUEUE_CONFIG,
      maxShards: 4,
      minBackoffMs: 100,
      maxBackoffMs: 1_000,
      retryOnHttp429: false,
      maxRetryAfterMs: 60_000,
    });
    assert.deepEqual(e.metadata, { send: false, sendIntervalMs: 30_000, maxSamplesPerSend: 2000 });
  });

  it('throws InvalidConfigError listing every problem with its camelCase path', () => {
    const options = {
      dataDir: '/tmp/q',
      ttl: -1,
      endpoints: [
        { name: 'a', url: 'http://h/1', queueConfig: { minShards: 5, maxShards: 2 } },
        { name: 'A', url: 'ftp://h/2', basicAuth: { password: 'p', passwordFile: 'x' } },
      ],
    } as unknown as LibraryOptions;
    let thrown: unknown;
    try {
      resolveQueueOptions(options);
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof InvalidConfigError);
    assert.equal(thrown.code, 'ERR_INVALID_CONFIG');
    const expected = [
      'ttl: expected a non-negative whole number of milliseconds, got -1',
      'endpoints[0].queueConfig.maxShards: must be >= minShards (5)',
      'endpoints[1].url: URL scheme must be http or https, got "ftp"',
      'endpoints[1].name: duplicate endpoint name "A" (also used by endpoints[0]); names must be unique ignoring case, since each names a directory',
      'endpoints[1].basicAuth: password and passwordFile are mutually exclusive, set one',
    ];
    assert.deepEqual(thrown.errors.map(formatConfigError), expected);
    assert.equal(thrown.message, `invalid queue options (5 problems):\n${expected.map((l) => `  ${l}`).join('\n')}`);
  });
});

describe('checkQueueOptions rejects', () => {
  const cases: [string, unknown, string[]][] = [
    ['a non-object', 'x', ['expected a mapping, got a string ("x")']],
    ['nothing', undefined, ['options are required: { dataDir, endpoints }']],
    ['missing dataDir and endpoints', {}, ['dataDir: is required', 'endpoints: is required']],
    ['empty endpoints', { dataDir: 'd', endpoints: [] }, ['endpoints: must list at least one endpoint']],
    [
      'snake_case keys, with the camelCase suggestion',
      { data_dir: 'd', endpoints: [{ url: 'http://h/w', queue_config: {} }] },
      [
        'data_dir: unknown key, did you mean "dataDir"?',
        'dataDir: is required',
        'endpoints[0].queue_config: unknown key, did you mean "queueConfig"?',
      ],
    ],
    [
      'a relabel rule in camelCase, checked as Prometheus does',
      {
        dataDir: 'd',
        endpoints: [
          { url: 'http://h/w', writeRelabelConfigs: [{ action: 'hashmod', sourceLabels: ['a'], targetLabel: 'b' }] },
        ],
      },
      ['endpoints[0].writeRelabelConfigs[0].modulus: relabel configuration for hashmod requires non-zero modulus'],
    ],
    [
      'fractional and negative numbers',
      {
        dataDir: 'd',
        persistence: { maxDiskBytes: -1, batchInterval: 1.5 },
        endpoints: [{ url: 'http://h/w', queueConfig: { minBackoff: '1m', maxSamplesPerSend: 0 } }],
      },
      [
        'persistence.batchInterval: expected a non-negative whole number of milliseconds, got 1.5',
        'persistence.maxDiskBytes: expected a non-negative whole number of bytes, got -1',
        'endpoints[0].queueConfig.maxSamplesPerSend: must be >= 1, got 0',
        'endpoints[0].queueConfig.minBackoff: must be <= maxBackoff (5s), got 1m',
      ],
    ],
    [
      'path and ttl inside persistence (they are top-level dataDir and ttl)',
      { dataDir: 'd', persistence: { path: 'x', ttl: '1h' }, endpoints: [{ url: 'http://h/w' }] },
      ['persistence.path: unknown key', 'persistence.ttl: unknown key'],
    ],
    [
      'an Authorization header',
      { dataDir: 'd', endpoints: [{ url: 'http://h/w', headers: { authorization: 'Bearer x' } }] },
      ['endpoints[0].headers.authorization: set Authorization with basicAuth or authorization, not headers'],
    ],
    [
      'a registry and logger that are not',
      { dataDir: 'd', endpoints: [{ url: 'http://h/w' }], registry: {}, logger: console },
      [
        'registry: must be an object with methods registerMetric, metrics (missing registerMetric, metrics)',
        'logger: must be an object with methods debug, info, warn, error, child (missing child)',
      ],
    ],
  ];
  for (const [what, options, expected] of cases) {
    it(what, () => {
      assert.deepEqual(problems(options), expected);
    });
  }
});
