/**
 * `server.tls_config` (and the certificate checks shared with `remote_write[].tls_config`) as
 * the config loader sees it: files read and resolved against the config's directory, every
 * problem reported with its YAML path and line.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import { opensslAvailable, type TestCerts, testCerts } from '../helpers/tls-certs.js';

const skip = opensslAvailable() ? false : 'the openssl CLI is needed to make test certificates';

const REMOTE_WRITE = 'remote_write:\n  - url: http://127.0.0.1:1/w\n';

describe('server.tls_config', { skip }, () => {
  let certs: TestCerts;
  let dir: string;
  let configFile: string;
  before(async () => {
    certs = await testCerts();
    dir = await mkdtemp(join(tmpdir(), 'promspool-tls-config-'));
    configFile = join(dir, 'promspool.yaml');
    await writeFile(join(dir, 'server.pem'), certs.server.cert);
    await writeFile(join(dir, 'server-key.pem'), certs.server.key);
    await writeFile(
      join(dir, 'broken.pem'),
      `${certs.server.cert}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`,
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Errors of a config whose `server.tls_config` is `tls` (lines indented by 4). */
  function errorsOf(tls: string): string[] {
    return parseConfig(`server:\n  tls_config:\n${tls}${REMOTE_WRITE}`, configFile).errors.map(formatConfigError);
  }

  test('resolves files against the config directory and reads them; client_auth_type follows client_ca_file', () => {
    const plain = parseConfig(
      `server:\n  tls_config:\n    cert_file: server.pem\n    key_file: server-key.pem\n${REMOTE_WRITE}`,
      configFile,
    );
    assert.deepEqual(plain.errors, []);
    assert.deepEqual(plain.config?.server.tlsConfig, {
      certFile: join(dir, 'server.pem'),
      keyFile: join(dir, 'server-key.pem'),
      cert: certs.server.cert,
      key: certs.server.key,
      clientAuthType: 'NoClientCert',
    });
    const mtls = parseConfig(
      `server:\n  tls_config:\n    cert_file: server.pem\n    key_file: server-key.pem\n    client_ca_file: ${certs.ca.certFile}\n    min_version: TLS13\n${REMOTE_WRITE}`,
      configFile,
    );
    assert.deepEqual(mtls.errors, []);
    assert.deepEqual(mtls.config?.server.tlsConfig, {
      certFile: join(dir, 'server.pem'),
      keyFile: join(dir, 'server-key.pem'),
      cert: certs.server.cert,
      key: certs.server.key,
      clientCaFile: certs.ca.certFile,
      clientCa: certs.ca.cert,
      clientAuthType: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.3',
    });
  });

  test('missing, unreadable, mismatched and misplaced files', () => {
    assert.deepEqual(errorsOf('    cert_file: server.pem\n'), ['server.tls_config.key_file: is required (line 2)']);
    assert.deepEqual(errorsOf('    cert_file: nope.pem\n    key_file: server-key.pem\n'), [
      `server.tls_config.cert_file: cannot read ${JSON.stringify(join(dir, 'nope.pem'))}: no such file (line 3)`,
    ]);
    assert.deepEqual(errorsOf(`    cert_file: server.pem\n    key_file: ${certs.client.keyFile}\n`), [
      'server.tls_config.key_file: is not the private key of the certificate (key values mismatch) (line 4)',
    ]);
    assert.deepEqual(errorsOf('    cert_file: server-key.pem\n    key_file: server.pem\n'), [
      `server.tls_config.cert_file: ${JSON.stringify(join(dir, 'server-key.pem'))} has no PEM "CERTIFICATE" block (line 3)`,
      `server.tls_config.key_file: ${JSON.stringify(join(dir, 'server.pem'))} has no PEM "PRIVATE KEY" block (line 4)`,
    ]);
    assert.deepEqual(errorsOf('    cert_file: broken.pem\n    key_file: server-key.pem\n'), [
      `server.tls_config.cert_file: ${JSON.stringify(join(dir, 'broken.pem'))}: certificate 2 of 2 cannot be parsed (too long) (line 3)`,
    ]);
  });

  test('client_auth_type and client_ca_file must agree; versions are ordered', () => {
    const files = '    cert_file: server.pem\n    key_file: server-key.pem\n';
    assert.deepEqual(errorsOf(`${files}    client_auth_type: RequireAndVerifyClientCert\n`), [
      'server.tls_config.client_ca_file: is required with client_auth_type RequireAndVerifyClientCert (the CA that issues the client certificates) (line 2)',
    ]);
    assert.deepEqual(
      errorsOf(`${files}    client_auth_type: NoClientCert\n    client_ca_file: ${certs.ca.certFile}\n`),
      [
        'server.tls_config.client_auth_type: is NoClientCert, so client_ca_file would be ignored: use RequireAndVerifyClientCert or remove client_ca_file (line 5)',
      ],
    );
    assert.deepEqual(errorsOf(`${files}    client_auth_type: RequireAnyClientCert\n`), [
      'server.tls_config.client_auth_type: must be one of "NoClientCert", "RequireAndVerifyClientCert", got "RequireAnyClientCert" (did you mean "RequireAndVerifyClientCert"?) (line 5)',
    ]);
    assert.deepEqual(errorsOf(`${files}    min_version: TLS13\n    max_version: TLS12\n`), [
      'server.tls_config.max_version: must be >= min_version (line 6)',
    ]);
  });

  test('unknown and unsupported keys', () => {
    assert.deepEqual(
      errorsOf(
        '    cert_file: server.pem\n    key_file: server-key.pem\n    client_ca_fil: x\n    cipher_suites: [x]\n',
      ),
      [
        'server.tls_config.client_ca_fil: unknown key, did you mean "client_ca_file"? (line 5)',
        'server.tls_config.cipher_suites: cipher_suites is not supported yet (line 6)',
      ],
    );
  });

  test("an endpoint's client key must match its certificate too", () => {
    const { errors } = parseConfig(
      `remote_write:\n  - url: https://127.0.0.1:1/w\n    tls_config:\n      cert_file: ${certs.client.certFile}\n      key_file: ${certs.server.keyFile}\n`,
      configFile,
    );
    assert.deepEqual(errors.map(formatConfigError), [
      'remote_write[0].tls_config.key_file: is not the private key of the certificate (key values mismatch) (line 5)',
    ]);
  });
});
