/**
 * Credentials and headers on the sending side, from YAML to the wire: the endpoint is parsed from
 * a config (so `*_file` secrets are read and trimmed as in the daemon) and one POST is made to a
 * local receiver, which records the headers exactly as they arrived.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import type { EndpointConfig } from '../../src/config/types.js';
import { createRemoteWriteClient } from '../../src/network/http-client.js';
import { compress, endpointConfig } from './harness.js';
import { startTestReceiver, type TestReceiver } from './test-receiver.js';

const BODY = compress(Buffer.from(JSON.stringify({ series: [], metadata: [] })));

/** The first endpoint of a config whose `remote_write[0]` is `entry` (YAML lines, indented by 4). */
function endpointFromYaml(entry: string, configFile: string): EndpointConfig {
  const { config, errors } = parseConfig(`remote_write:\n  - ${entry.trim()}\n`, configFile);
  assert.deepEqual(errors.map(formatConfigError), []);
  assert.ok(config);
  return config.remoteWrite[0];
}

function basic(userPass: string): string {
  return `Basic ${Buffer.from(userPass).toString('base64')}`;
}

describe('remote-write client credentials and headers', () => {
  let receiver: TestReceiver;
  let dir: string;
  let configFile: string;
  before(async () => {
    receiver = await startTestReceiver();
    dir = await mkdtemp(join(tmpdir(), 'promspool-auth-'));
    configFile = join(dir, 'promspool.yaml');
    // Trailing newlines and spaces, as editors and `echo` leave them: trimmed like Prometheus does.
    await writeFile(join(dir, 'password'), 'pa:ss wörd\n');
    await writeFile(join(dir, 'username'), '  file-user \n');
    await writeFile(join(dir, 'token'), 'tok-from-file\r\n');
  });
  after(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Headers the receiver got for one POST with `config`. */
  async function headersSent(config: EndpointConfig): Promise<Record<string, string | string[] | undefined>> {
    const client = createRemoteWriteClient({ config, connections: 1, version: '0.0.1' });
    try {
      const n = receiver.requests.length;
      const res = await client.post(BODY, new AbortController().signal);
      assert.equal(res.status, 204);
      return receiver.requests[n].headers;
    } finally {
      await client.close();
    }
  }

  const at = (path: string) => `${receiver.url.replace('/api/v1/write', '')}${path}`;

  it('basic_auth with password and with password_file / username_file (relative to the config file)', async () => {
    const inline = endpointFromYaml(
      `url: ${at('/api/v1/write')}\n    basic_auth: { username: alice, password: "s3cr:et" }`,
      configFile,
    );
    assert.equal((await headersSent(inline)).authorization, basic('alice:s3cr:et'));
    const fromFiles = endpointFromYaml(
      `url: ${at('/api/v1/write')}\n    basic_auth: { username_file: username, password_file: ${join(dir, 'password')} }`,
      configFile,
    );
    assert.equal((await headersSent(fromFiles)).authorization, basic('file-user:pa:ss wörd'));
  });

  it('authorization: Bearer by default, credentials_file, and another scheme', async () => {
    const bearer = endpointFromYaml(`url: ${at('/w')}\n    authorization: { credentials: abc.def }`, configFile);
    assert.equal((await headersSent(bearer)).authorization, 'Bearer abc.def');
    const fromFile = endpointFromYaml(`url: ${at('/w')}\n    authorization: { credentials_file: token }`, configFile);
    assert.equal((await headersSent(fromFile)).authorization, 'Bearer tok-from-file');
    const other = endpointFromYaml(
      `url: ${at('/w')}\n    authorization: { type: Token, credentials: xyz }`,
      configFile,
    );
    assert.equal((await headersSent(other)).authorization, 'Token xyz');
  });

  it('credentials in the URL are sent as basic auth unless basic_auth or authorization is set', async () => {
    const withUserinfo = at('/api/v1/write').replace('http://', 'http://url%20user:p%40ss@');
    assert.equal((await headersSent(endpointConfig(withUserinfo))).authorization, basic('url user:p@ss'));
    const overridden = endpointConfig(withUserinfo, {}, { authorization: { type: 'Bearer', credentials: 'wins' } });
    assert.equal((await headersSent(overridden)).authorization, 'Bearer wins');
    assert.equal((await headersSent(endpointConfig(at('/api/v1/write')))).authorization, undefined);
  });

  it('the loader moves URL credentials into basic auth, so the URL it keeps has no password', async () => {
    const fromUrl = endpointFromYaml(
      `url: ${at('/api/v1/write?x=1').replace('http://', 'http://url%20user:p%40ss@')}`,
      configFile,
    );
    assert.equal(fromUrl.url, at('/api/v1/write?x=1'));
    assert.deepEqual(fromUrl.basicAuth, { username: 'url user', password: 'p@ss' });
    assert.equal((await headersSent(fromUrl)).authorization, basic('url user:p@ss'));
    const explicit = endpointFromYaml(
      `url: ${at('/w').replace('http://', 'http://a:b@')}\n    authorization: { credentials: explicit }`,
      configFile,
    );
    assert.equal(explicit.url, at('/w'));
    assert.equal(explicit.basicAuth, undefined);
    assert.equal((await headersSent(explicit)).authorization, 'Bearer explicit');
  });

  it('sends user headers next to the protocol ones', async () => {
    const config = endpointFromYaml(
      `url: ${at('/api/v1/write?tenant=a')}\n    headers: { X-Scope-OrgID: team-a, X-Extra: "1" }`,
      configFile,
    );
    const n = receiver.requests.length;
    const h = await headersSent(config);
    assert.equal(h['x-scope-orgid'], 'team-a');
    assert.equal(h['x-extra'], '1');
    assert.equal(h['content-type'], 'application/x-protobuf');
    assert.equal(h['content-encoding'], 'snappy');
    assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(h['user-agent'], 'promspool/0.0.1');
    assert.equal(h.authorization, undefined);
    assert.equal(receiver.requests.length, n + 1);
  });

  it('refuses reserved headers in the config, and drops them if a config skipped validation', async () => {
    const { errors } = parseConfig(
      `remote_write:\n  - url: ${at('/w')}\n    headers: { Authorization: Bearer x, Content-Type: text/plain, user-agent: me, Host: h, X-Ok: y }\n`,
    );
    assert.deepEqual(
      errors.map((e) => `${e.path}: ${e.message}`),
      [
        'remote_write[0].headers.Authorization: set Authorization with basic_auth or authorization, not headers',
        'remote_write[0].headers.Content-Type: Content-Type is a reserved header and cannot be set',
        'remote_write[0].headers.user-agent: user-agent is a reserved header and cannot be set',
        'remote_write[0].headers.Host: Host is a reserved header and cannot be set',
      ],
    );
    const unchecked = endpointConfig(
      at('/w'),
      {},
      {
        headers: {
          authorization: 'Bearer stolen',
          'Content-Encoding': 'gzip',
          'X-Prometheus-Remote-Write-Version': '9',
          'USER-AGENT': 'me',
          'X-Ok': 'y',
        },
        basicAuth: { username: 'u', password: 'p' },
      },
    );
    const h = await headersSent(unchecked);
    assert.equal(h.authorization, basic('u:p'));
    assert.equal(h['content-encoding'], 'snappy');
    assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(h['user-agent'], 'promspool/0.0.1');
    assert.equal(h['x-ok'], 'y');
  });

  it('reports an unreadable or empty secret file at load, naming the key and the file', async () => {
    await writeFile(join(dir, 'empty'), ' \n');
    const { errors } = parseConfig(
      `remote_write:\n  - url: ${at('/w')}\n    basic_auth: { username: u, password_file: missing }\n  - url: ${at('/x')}\n    authorization: { credentials_file: empty }\n`,
      configFile,
    );
    assert.deepEqual(
      errors.map((e) => `${e.path}: ${e.message}`),
      [
        `remote_write[0].basic_auth.password_file: cannot read ${JSON.stringify(join(dir, 'missing'))}: no such file`,
        `remote_write[1].authorization.credentials_file: ${JSON.stringify(join(dir, 'empty'))} is empty`,
      ],
    );
  });
});
