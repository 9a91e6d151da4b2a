/**
 * The receiver's credentials read from files: bearer token and basic auth, 401 with
 * WWW-Authenticate, the scheme case-insensitive, odd headers refused without error, and a reload
 * re-reading the files.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { createReceiverAuth } from '../../src/daemon/receiver-auth.js';
import { FakeQueue } from './fake-queue.js';
import { postWrite, RW1_HEADERS } from './http-client.js';
import { type TestSeries, writeRequestV1 } from './rw-bodies.js';
import { testConfigYaml } from './test-config.js';

const ONE_SERIES: TestSeries[] = [{ labels: [['__name__', 'auth_up']], samples: [[1_700_000_000_000, 1]] }];

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

async function startFromFile(
  configFile: string,
  receiver: string,
): Promise<{ daemon: Daemon; queue: FakeQueue; write: string }> {
  const { config, errors } = parseConfig(testConfigYaml('', receiver), configFile);
  assert.deepEqual(errors, []);
  assert.ok(config);
  const queue = new FakeQueue();
  const daemon = await startDaemon(config, {
    queueFactory: async () => queue,
    collectDefaultMetrics: false,
    configPath: configFile,
  });
  return { daemon, queue, write: `${daemon.url}/api/v1/write` };
}

describe('receiver credentials from files', () => {
  let dir: string;
  let configFile: string;
  let d: Awaited<ReturnType<typeof startFromFile>>;
  const receiverYaml =
    'receiver:\n  enabled: true\n  authorization:\n    credentials_file: token\n  basic_auth:\n    username: prom\n    password_file: secrets/pw\n';
  const post = (authorization?: string) =>
    postWrite(
      d.write,
      writeRequestV1(ONE_SERIES),
      authorization === undefined ? RW1_HEADERS : { ...RW1_HEADERS, Authorization: authorization },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promspool-receiver-auth-'));
    configFile = join(dir, 'promspool.yaml');
    await writeFile(join(dir, 'token'), 'file-token-1\n');
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'pw'), '  pw from file\n');
    await writeFile(configFile, testConfigYaml('', receiverYaml));
    d = await startFromFile(configFile, receiverYaml);
  });
  after(async () => {
    await d?.daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('401 with a Basic challenge when missing or wrong; nothing stored', async () => {
    for (const auth of [
      undefined,
      'Bearer file-token-',
      'Bearer file-token-1x',
      'Bearer  file-token-2',
      basic('prom:pw from fil'),
      basic('prom: pw from file'),
      basic('Prom:pw from file'),
      `Basic ${'A'.repeat(8000)}`,
      'file-token-1',
      'Token file-token-1',
    ]) {
      const res = await post(auth);
      assert.equal(res.status, 401, String(auth));
      assert.equal(res.headers['www-authenticate'], 'Basic realm="promspool"', String(auth));
    }
    assert.equal(d.queue.samples.length, 0);
  });

  test('204 with the trimmed token or password from the files, any scheme case', async () => {
    for (const auth of [
      'Bearer file-token-1',
      'BEARER file-token-1',
      basic('prom:pw from file'),
      `basic ${basic('prom:pw from file').slice(6)}`,
    ]) {
      assert.equal((await post(auth)).status, 204, auth);
    }
    assert.equal(d.queue.samples.length, 4);
  });

  test('a reload re-reads the files: the old token stops working, the new one works', async () => {
    await writeFile(join(dir, 'token'), 'file-token-2');
    assert.deepEqual(await d.daemon.reload(), { ok: true });
    assert.equal((await post('Bearer file-token-1')).status, 401);
    assert.equal((await post('Bearer file-token-2')).status, 204);
    assert.equal((await post(basic('prom:pw from file'))).status, 204);
  });

  test('an emptied secret file fails the reload and keeps the running credentials', async () => {
    await writeFile(join(dir, 'token'), '\n');
    const result = await d.daemon.reload();
    assert.deepEqual(result, {
      ok: false,
      status: 400,
      errors: [`receiver.authorization.credentials_file: ${JSON.stringify(join(dir, 'token'))} is empty (line 11)`],
    });
    assert.equal((await post('Bearer file-token-2')).status, 204);
  });
});

test('a bearer-only receiver challenges with Bearer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'promspool-receiver-bearer-'));
  try {
    const d = await startFromFile(
      join(dir, 'promspool.yaml'),
      'receiver:\n  enabled: true\n  authorization:\n    type: Bearer\n    credentials: t\n',
    );
    try {
      const res = await postWrite(d.write, writeRequestV1(ONE_SERIES), { ...RW1_HEADERS, Authorization: 'Bearer x' });
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    } finally {
      await d.daemon.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('credentials of any length are compared without throwing (digests have equal length)', () => {
  const auth = createReceiverAuth({ authorization: { type: 'Token', credentials: 'k' } });
  for (const header of [
    '',
    'Token',
    'Token k',
    'token k',
    `Token ${'k'.repeat(100_000)}`,
    'Token \u00e9',
    ' Token  k ',
  ]) {
    const expected = header === 'Token k' || header === 'token k' || header === ' Token  k ';
    assert.equal(auth.check(header), expected, JSON.stringify(header.slice(0, 20)));
  }
});
