/**
 * Per-request authentication of the remote-write client: credentials that are not fixed in the
 * config but obtained or computed for each request (an OAuth 2.0 token, a SigV4 signature).
 * Fixed credentials (`basic_auth`, `authorization`) are plain headers and need no hook: every
 * client (remote write, scrapes, HTTP and Kubernetes discovery) takes them from
 * {@link fixedAuthorization}.
 */
import type { HttpClientConfig } from '../config/types.js';
import { RetryableError } from '../errors.js';
import { abortable } from './abortable.js';
import type { OAuth2TokenSource } from './oauth2.js';
import type { RequestSigner, SignableRequest } from './sigv4.js';

/** `Basic <base64(username:password)>`, as Go's `SetBasicAuth` writes it. */
export function basicCredentials(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * The `Authorization` value of a client's fixed credentials: `basic_auth`, else `authorization`
 * (`bearer_token` included); undefined when it has neither.
 */
export function fixedAuthorization(config: Pick<HttpClientConfig, 'basicAuth' | 'authorization'>): string | undefined {
  if (config.basicAuth !== undefined) return basicCredentials(config.basicAuth.username, config.basicAuth.password);
  if (config.authorization !== undefined) return `${config.authorization.type} ${config.authorization.credentials}`;
  return undefined;
}

export interface RequestAuth {
  /**
   * Headers to add to `req` (sent exactly as given plus these). Rejects with a retryable error
   * when no credential can be had now, or with the signal's reason when it aborts first.
   */
  headers(req: SignableRequest, signal: AbortSignal): Promise<Record<string, string>>;
  /**
   * The receiver answered 401 to a request that carried `sent`. True when the credential was
   * dropped and the request is worth one more try with a new one.
   */
  rejected(sent: Record<string, string>): boolean;
  close(): Promise<void>;
}

/** `Authorization: Bearer <token>` from an OAuth 2.0 token source; a 401 drops the token. */
export function oauth2Auth(source: OAuth2TokenSource): RequestAuth {
  return {
    async headers(_req, signal) {
      return { Authorization: await source.authorization(signal) };
    },
    rejected(sent) {
      return sent.Authorization !== undefined && source.invalidate(sent.Authorization);
    },
    close: () => source.close(),
  };
}

/**
 * SigV4 signature headers. A signer that could not be created (no region) is passed as the error:
 * every request then fails with it, retryably, so the data waits on disk while the status page
 * says why.
 */
export function sigv4Auth(signer: RequestSigner | Error): RequestAuth {
  return {
    async headers(req, signal) {
      if (signer instanceof Error) {
        throw new RetryableError('ERR_SIGV4', signer.message, undefined, { cause: signer });
      }
      return abortable(signer.sign(req), signal);
    },
    // A signature is computed afresh for every request: nothing to drop.
    rejected: () => false,
    close: async () => {},
  };
}
