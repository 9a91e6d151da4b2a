/**
 * Checks the receiver's optional credentials. Comparisons go through SHA-256 digests and
 * `timingSafeEqual`, so neither the content nor the length of a wrong guess shows in timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ReceiverConfig } from '../config/types.js';

export interface ReceiverAuth {
  /** True when no credentials are configured, or the Authorization header matches one that is. */
  check(authorizationHeader: string | undefined): boolean;
  readonly required: boolean;
}

export function createReceiverAuth(receiver: Pick<ReceiverConfig, 'authorization' | 'basicAuth'>): ReceiverAuth {
  const accepted: Buffer[] = [];
  if (receiver.authorization) {
    const type = receiver.authorization.type || 'Bearer';
    accepted.push(digest(normalizeScheme(`${type} ${receiver.authorization.credentials}`)));
  }
  if (receiver.basicAuth) {
    const { username, password } = receiver.basicAuth;
    accepted.push(digest(normalizeScheme(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`)));
  }
  const required = accepted.length > 0;
  return {
    required,
    check(header) {
      if (!required) return true;
      if (!header) return false;
      const got = digest(normalizeScheme(header.trim()));
      let ok = false;
      // Compare against every accepted value (no early exit) so timing does not say which matched.
      for (const want of accepted) ok = timingSafeEqual(got, want) || ok;
      return ok;
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

// The scheme is case-insensitive (RFC 9110), the credentials are not. Spaces after the scheme
// are not part of the credentials either.
function normalizeScheme(header: string): string {
  const space = header.indexOf(' ');
  if (space < 0) return header;
  return `${header.slice(0, space).toLowerCase()} ${header.slice(space + 1).trimStart()}`;
}
