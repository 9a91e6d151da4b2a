/**
 * Load-time checks of PEM certificates and keys, so a wrong or broken file is reported with its
 * config path when the configuration is read, not as a handshake failure later.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Why `pem` is not a usable list of certificates, or undefined. Every block is parsed. */
export function certificatesProblem(pem: string): string | undefined {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return 'has no complete PEM "CERTIFICATE" block';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (e) {
      const which = blocks.length === 1 ? 'its certificate' : `certificate ${i + 1} of ${blocks.length}`;
      return `${which} cannot be parsed (${opensslReason(e)})`;
    }
  }
  return undefined;
}

/**
 * Why `cert` and `key` cannot be used together (`keyKey` names the key setting for the message),
 * or undefined. Catches a key of another certificate and keys that cannot be read (encrypted, corrupt).
 */
export function keyPairProblem(cert: string, key: string, keyKey: string): string | undefined {
  try {
    createSecureContext({ cert, key });
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      return `is not the private key of the certificate (${opensslReason(e)})`;
    }
    return `cannot be used as the certificate's private key (${opensslReason(e)}; ${keyKey} must be an unencrypted PEM key)`;
  }
}

/** OpenSSL's one-line reason ("key values mismatch") rather than its coded message. */
function opensslReason(e: unknown): string {
  const reason = (e as { reason?: unknown } | undefined)?.reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  return e instanceof Error ? e.message : String(e);
}
