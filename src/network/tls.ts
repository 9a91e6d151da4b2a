/**
 * TLS on the sending side: the connect options of an endpoint's `tls_config`, and turning Node's
 * terse TLS failures into messages that say what to change in the configuration.
 */
import { type ConnectionOptions, createSecureContext } from 'node:tls';
import type { buildConnector } from 'undici';
import type { TlsConfig } from '../config/types.js';
import { RetryableError } from '../errors.js';

/**
 * Options for `tls.connect` (undici's `connect` / `requestTls`). The secure context is built once
 * here: passing `ca`/`cert`/`key` instead would make Node parse the PEM again for every connection.
 * `ca` replaces the system roots, as Prometheus' `ca_file` does.
 */
export function clientTlsOptions(tls: TlsConfig): ConnectionOptions {
  const secureContext = createSecureContext({
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
  });
  return {
    secureContext,
    rejectUnauthorized: !tls.insecureSkipVerify,
    // Also the name the certificate is checked against (Node verifies `servername` when set).
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
  };
}

/**
 * Wraps an undici connector so that a TLS alert received after the handshake reaches the request
 * as itself. With TLS 1.3 a server refusing our client certificate says so only after the client
 * considers the handshake done; Node emits the alert as an `ERR_SSL_*` error and then `end`, and
 * undici reports the `end` ("other side closed"), losing the reason. Destroying the socket with
 * the alert makes it the error undici reports.
 */
export function surfaceTlsAlerts(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    connect(options, (...args) => {
      const socket = args[1];
      socket?.on('error', (err: NodeJS.ErrnoException) => {
        if (!socket.destroyed && typeof err.code === 'string' && err.code.startsWith('ERR_SSL_')) socket.destroy(err);
      });
      callback(...args);
    });
  };
}

/** Certificate-chain verification failures (OpenSSL's X509_V_ERR names, as Node reports them). */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);
const OTHER_VERIFY = new Set([
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** The hint for one failure code, or undefined when the code is not a TLS one. */
function hintFor(code: string, tls: TlsConfig | undefined): string | undefined {
  if (UNTRUSTED.has(code)) {
    return tls?.ca === undefined
      ? "the receiver's certificate is not signed by a trusted CA: set tls_config.ca_file to the CA that issued it"
      : "the receiver's certificate is not signed by the CA in tls_config.ca_file";
  }
  if (code === 'CERT_HAS_EXPIRED') return "the receiver's certificate has expired";
  if (code === 'CERT_NOT_YET_VALID') return "the receiver's certificate is not valid yet (check the clocks)";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return tls?.serverName === undefined
      ? "the receiver's certificate is not issued for this host: set tls_config.server_name to a name it is issued for"
      : `the receiver's certificate is not issued for tls_config.server_name "${tls.serverName}"`;
  }
  if (OTHER_VERIFY.has(code)) return "the receiver's certificate failed verification";
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
    return tls?.cert === undefined
      ? 'the receiver requires a client certificate: set tls_config.cert_file and tls_config.key_file'
      : 'the receiver refused the handshake';
  }
  if (
    code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' ||
    code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' ||
    code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN' ||
    code === 'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED'
  ) {
    return 'the receiver refused the client certificate in tls_config.cert_file';
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return 'the receiver does not speak TLS on this port (should the URL be http://?)';
  }
  if (
    code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' ||
    code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' ||
    code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'
  ) {
    return 'no TLS version is acceptable to both sides: check tls_config.min_version and max_version';
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') return 'TLS error';
  return undefined;
}

/**
 * A TLS failure of a request to `origin` as a retryable `ERR_TLS` error whose message names the
 * problem and the setting that fixes it; undefined when `err` is not a TLS failure. Retryable
 * because a receiver's certificate can be fixed on its side while the data waits on disk.
 */
export function describeTlsFailure(
  err: unknown,
  origin: string,
  tls: TlsConfig | undefined,
): RetryableError | undefined {
  // undici sometimes wraps the socket's error; the TLS code is on the innermost one.
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const { code, reason } = e as NodeJS.ErrnoException & { reason?: unknown };
    if (typeof code !== 'string') continue;
    // OpenSSL's errors carry a one-line `reason`; their message is a dump of its error queue.
    const opensslReason = /[0-9A-F]+:error:[0-9A-F]+:/.test(e.message) && typeof reason === 'string' && reason !== '';
    // A failed write reports an alert as EPROTO; its reason names it as the ERR_SSL_* code would.
    const effective = code === 'EPROTO' && opensslReason ? `ERR_SSL_${reason.toUpperCase().replace(/ /g, '_')}` : code;
    const hint = hintFor(effective, tls);
    if (hint === undefined) continue;
    const detail = (opensslReason ? reason : e.message).trim();
    return new RetryableError('ERR_TLS', `TLS with ${origin} failed: ${hint} (${effective}: ${detail})`, undefined, {
      cause: err,
    });
  }
  return undefined;
}
