/**
 * No secret leaves the process: a daemon with the real queue, receiver credentials, endpoints
 * with credentials in their URL, basic auth from a file, a bearer token and a proxy URL with a
 * password, driven through start, accepted and refused writes, failing sends, the status page,
 * /metrics, a reload and shutdown. Every log line and response is then searched for each secret.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { httpRequest, postWrite, RW1_HEADERS } from './http-client.js';
import { type TestSeries, writeRequestV1 } from './rw-bodies.js';

const SECRETS = {
  receiverToken: 'RECEIVER-TOKEN-SECRET',
  receiverPassword: 'RECEIVER-PASSWORD-SECRET',
  urlPassword: 'URL-PASSWORD-SECRET',
  passwordFile: 'PW-FILE-SECRET',
  proxyPassword: 'PROXY-PASSWORD-SECRET',
  endpointToken: 'ENDPOINT-TOKEN-SECRET',
  wrongGuess: 'WRONG-GUESS-SECRET',
};

const basic = (userPass: string) => Buffer.from(userPass).toString('base64');

/** Every form a secret could leak in: as written, base64 inside Basic credentials, URL-encoded. */
const FORBIDDEN = [
  ...Object.values(SECRETS),
  basic(`prom:${SECRETS.receiverPassword}`),
  basic(`bob:${SECRETS.passwordFile}`),
  basic(`urluser:${SECRETS.urlPassword}`),
  basic(`proxyuser:${SECRETS.proxyPassword}`),
];

const ONE_SERIES: TestSeries[] = [{ labels: [['__name__', 'secret_test']], samples: [[1_700_000_000_000, 1]] }];

function configYaml(dataDir: string): string {
  const queue =
    '    queue_config: { min_shards: 1, max_shards: 1, batch_send_deadline: 20ms, min_backoff: 20ms, max_backoff: 50ms }\n';
  return `server:
  listen_address: 127.0.0.1:0
  shutdown_timeout: 2s
storage:
  path: ${dataDir}
  ttl: 0
  fsync: never
  batch_interval: 20ms
self_monitoring:
  enabled: false
receiver:
  enabled: true
  authorization:
    credentials_file: token
  basic_auth:
    username: prom
    password: ${SECRETS.receiverPassword}
remote_write:
  - name: urlcreds
    url: http://urluser:${SECRETS.urlPassword}@127.0.0.1:1/api/v1/write
${queue}  - name: fromfile
    url: http://127.0.0.1:1/api/v1/write
    basic_auth: { username: bob, password_file: pw }
    proxy_url: http://proxyuser:${SECRETS.proxyPassword}@127.0.0.1:2
${queue}  - name: bearer
    url: http://127.0.0.1:1/w
    authorization: { credentials: ${SECRETS.endpointToken} }
${queue}`;
}

test('secrets never appear in logs, the status page, /metrics or reload answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'promspool-secrets-'));
  const configFile = join(dir, 'promspool.yaml');
  await writeFile(join(dir, 'token'), `${SECRETS.receiverToken}\n`);
  await writeFile(join(dir, 'pw'), SECRETS.passwordFile);
  await writeFile(configFile, configYaml(join(dir, 'data')));
  const { config, errors } = loadConfigFile(configFile);
  assert.deepEqual(errors, []);
  assert.ok(config);

  const logs: string[] = [];
  // Resolves once every endpoint logged a failed send (so each has a lastError to show).
  const failing = new Set(['urlcreds', 'fromfile', 'bearer']);
  let allFailing!: () => void;
  const sendsFailed = new Promise<void>((resolve) => {
    allFailing = resolve;
  });
  const logger = createDaemonLogger({
    level: 'debug',
    format: 'json',
    write: (line) => {
      logs.push(line);
      const fields = JSON.parse(line) as Record<string, unknown>;
      if (String(fields.msg).startsWith('request failed') && failing.delete(String(fields.endpoint))) {
        if (failing.size === 0) allFailing();
      }
    },
  });
  const daemon = await startDaemon(config, { logger, configPath: configFile, collectDefaultMetrics: false });
  const outputs: string[] = [];
  try {
    const write = `${daemon.url}/api/v1/write`;
    const body = writeRequestV1(ONE_SERIES);
    const refused = await postWrite(write, body, { ...RW1_HEADERS, Authorization: `Bearer ${SECRETS.wrongGuess}` });
    assert.equal(refused.status, 401);
    outputs.push(refused.body, JSON.stringify(refused.headers));
    const ok = await postWrite(write, body, { ...RW1_HEADERS, Authorization: `Bearer ${SECRETS.receiverToken}` });
    assert.equal(ok.status, 204);
    const okBasic = await postWrite(write, body, {
      ...RW1_HEADERS,
      Authorization: `Basic ${basic(`prom:${SECRETS.receiverPassword}`)}`,
    });
    assert.equal(okBasic.status, 204);
    await sendsFailed;

    const status = await httpRequest(`${daemon.url}/`);
    assert.equal(status.status, 200);
    // The page does show the endpoints and their errors: the search below is not vacuous.
    assert.match(status.body, /urlcreds/);
    assert.match(status.body, /127\.0\.0\.1:1\/api\/v1\/write/);
    assert.match(status.body, /ECONNREFUSED/);
    const metrics = await httpRequest(`${daemon.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(
      metrics.body,
      /prometheus_remote_storage_samples_retried_total\{remote_name="urlcreds",url="[^"]*127\.0\.0\.1:1\/api\/v1\/write"\}/,
    );
    const reload = await httpRequest(`${daemon.url}/-/reload`, { method: 'POST' });
    assert.equal(reload.status, 200);
    // A failing reload echoes config errors: those must not quote secrets either.
    await writeFile(configFile, `${configYaml(join(dir, 'data'))}  - url: http://u:${SECRETS.urlPassword}@[bad\n`);
    const badReload = await httpRequest(`${daemon.url}/-/reload`, { method: 'POST' });
    assert.equal(badReload.status, 400);
    outputs.push(status.body, metrics.body, reload.body, badReload.body);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const everything = [...logs, ...outputs].join('\n');
  assert.ok(logs.length > 10, 'the daemon logged');
  assert.match(everything, /request failed/);
  const leaks = FORBIDDEN.filter((secret) => everything.includes(secret));
  const where = leaks.map((s) => [...logs, ...outputs].find((text) => text.includes(s)));
  assert.deepEqual(leaks, [], `secrets leaked in:\n${where.join('\n')}`);
});
