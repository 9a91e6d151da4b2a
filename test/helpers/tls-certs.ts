/**
 * Throwaway X.509 material for TLS tests, made with the `openssl` CLI at test time (node:crypto
 * can make keys but not certificates) in a temp dir that is removed when the process exits.
 * Generated once per test process: every caller shares the same files.
 *
 * - `ca`: the test CA; `server` (SAN `localhost`, `127.0.0.1`) and `client` are signed by it.
 * - `namedServer`: signed by `ca`, valid only for `receiver.test` (for `server_name` tests).
 * - `otherCa` and `otherClient`: a second CA and a client certificate it signed, which a server
 *   trusting only `ca` must refuse.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as files and as PEM text. */
export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestCerts {
  /** The temp dir holding every file. */
  dir: string;
  ca: CertPair;
  server: CertPair;
  namedServer: CertPair;
  client: CertPair;
  otherCa: CertPair;
  otherClient: CertPair;
}

/** The name `namedServer` is valid for (and nothing else). */
export const NAMED_SERVER_NAME = 'receiver.test';

/** Common name of `client`, so a server can check who connected. */
export const CLIENT_CN = 'promspool-test-client';

let cached: Promise<TestCerts> | undefined;

/** Whether the `openssl` CLI can be run; tests that need certificates skip without it. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The shared test certificates, generated on first call. */
export function testCerts(): Promise<TestCerts> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // P-256 keys: generated in milliseconds, unlike RSA.
  const ca = await selfSignedCa(dir, 'ca', 'promspool test CA');
  const otherCa = await selfSignedCa(dir, 'other-ca', 'promspool other CA');
  const [server, namedServer, client, otherClient] = await Promise.all([
    signed(dir, 'server', 'localhost', ca, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
    signed(
      dir,
      'named-server',
      NAMED_SERVER_NAME,
      ca,
      `subjectAltName=DNS:${NAMED_SERVER_NAME}\nextendedKeyUsage=serverAuth\n`,
    ),
    signed(dir, 'client', CLIENT_CN, ca, 'extendedKeyUsage=clientAuth\n'),
    signed(dir, 'other-client', 'intruder', otherCa, 'extendedKeyUsage=clientAuth\n'),
  ]);
  return { dir, ca, server, namedServer, client, otherCa, otherClient };
}

function pair(dir: string, name: string): CertPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

async function selfSignedCa(dir: string, name: string, cn: string): Promise<CertPair> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.crt`),
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair(dir, name);
}

async function signed(dir: string, name: string, cn: string, ca: CertPair, extensions: string): Promise<CertPair> {
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  await run('openssl', [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    csr,
    '-subj',
    `/CN=${cn}`,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    // A random serial per certificate; no .srl file shared between the parallel signings.
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    join(dir, `${name}.crt`),
  ]);
  return pair(dir, name);
}
