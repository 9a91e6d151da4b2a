/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4) for `remote_write` `oauth2`, with the
 * behaviour of the Go library Prometheus uses (golang.org/x/oauth2/clientcredentials): the client
 * authenticates with HTTP Basic first and, if the token server refuses that, with `client_id` and
 * `client_secret` in the form (remembered once one works); JSON or form-encoded answers; a token
 * is used until shortly before `expires_in` runs out.
 *
 * Failures never lose data: every one rejects with a retryable `ERR_OAUTH2` error, so the send
 * loop keeps the batch and retries it like a 5xx, and its `lastError` says what went wrong.
 */
import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from '../clock.js';
import type { OAuth2Config } from '../config/types.js';
import { RetryableError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { redactSecrets, redactUrl } from '../redact.js';
import { abortable } from './abortable.js';
import { createTransport, type Transport } from './transport.js';

/** A token is refreshed this long before it expires (Go's oauth2 `expiryDelta`)... */
export const TOKEN_EXPIRY_DELTA_MS = 10_000;
/** Bytes of a token server's refusal kept for the message. */
const ERROR_BODY_LIMIT = 512;
/** Largest token response read (a token is a few KB at most). */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

export interface OAuth2TokenSourceOptions {
  config: OAuth2Config;
  /** Bound on one token request (both auth styles together). */
  timeoutMs: number;
  /** promspool's version for the User-Agent. */
  version: string;
  clock?: Clock;
  logger?: Logger;
  /** Environment for `proxy_from_environment`. */
  env?: NodeJS.ProcessEnv;
}

/** Hands out the current token, fetching it when there is none or it is about to expire. */
export interface OAuth2TokenSource {
  /**
   * The `Authorization` header value (`Bearer <token>`). Concurrent callers share one fetch.
   * Rejects with a retryable `ERR_OAUTH2` error when no token can be had, or with the signal's
   * reason when it aborts first (the fetch goes on for the others).
   */
  authorization(signal?: AbortSignal): Promise<string>;
  /** The receiver refused `authorization`: forget it if it is still the cached one. True if it was. */
  invalidate(authorization: string): boolean;
  close(): Promise<void>;
}

interface CachedToken {
  authorization: string;
  /** ms since the epoch after which it is refreshed; undefined: never (no `expires_in`). */
  refreshAtMs: number | undefined;
}

type AuthStyle = 'header' | 'params';

export function createOAuth2TokenSource(opts: OAuth2TokenSourceOptions): OAuth2TokenSource {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = (opts.logger ?? silentLogger).child({ component: 'oauth2' });
  const tokenUrl = new URL(config.tokenUrl);
  const shownUrl = redactUrl(config.tokenUrl);
  // As sent (form and Basic spellings) too: a token server may echo the request in its error.
  const secrets = [
    config.clientSecret,
    new URLSearchParams({ s: config.clientSecret }).toString().slice(2),
    queryEscape(config.clientSecret),
  ];
  // Go's token transport: its own TLS and proxy settings, HTTP/1.1.
  const transport: Transport = createTransport({
    ...(config.tlsConfig === undefined ? {} : { tls: config.tlsConfig }),
    proxy: config,
    enableHttp2: false,
    connections: 2,
    timeoutMs: opts.timeoutMs,
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  let cached: CachedToken | undefined;
  let inflight: Promise<CachedToken> | undefined;
  let authStyle: AuthStyle | undefined;

  const fail = (what: string, cause?: unknown): RetryableError =>
    new RetryableError(
      'ERR_OAUTH2',
      redactSecrets(`oauth2: token request to ${shownUrl} failed: ${what}`, secrets),
      undefined,
      {
        cause,
      },
    );

  /** One POST to the token URL in `style`; resolves the token or rejects with ERR_OAUTH2 (`refused` set for a non-2xx). */
  async function request(style: AuthStyle, signal: AbortSignal): Promise<CachedToken> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (config.scopes.length > 0) form.set('scope', config.scopes.join(' '));
    for (const [k, v] of Object.entries(config.endpointParams)) form.set(k, v);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      'User-Agent': `promspool/${opts.version}`,
    };
    if (style === 'header') {
      const user = `${queryEscape(config.clientId)}:${queryEscape(config.clientSecret)}`;
      headers.Authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    } else {
      form.set('client_id', config.clientId);
      if (config.clientSecret !== '') form.set('client_secret', config.clientSecret);
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await transport.dispatcherFor(tokenUrl).request({
        origin: tokenUrl.origin,
        path: `${tokenUrl.pathname}${tokenUrl.search}`,
        method: 'POST',
        headers,
        body: form.toString(),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw fail(err instanceof Error ? err.message : String(err), err);
    }
    const text = await readLimited(res.body, MAX_TOKEN_RESPONSE_BYTES);
    if (res.statusCode < 200 || res.statusCode > 299) {
      const detail = text.length > ERROR_BODY_LIMIT ? `${text.slice(0, ERROR_BODY_LIMIT)}...` : text;
      throw Object.assign(fail(`HTTP ${res.statusCode}${detail.trim() === '' ? '' : `: ${detail.trim()}`}`), {
        refused: true,
      });
    }
    const contentType = String(res.headers['content-type'] ?? '');
    return parseTokenResponse(text, contentType, clock.now(), fail);
  }

  async function fetchToken(): Promise<CachedToken> {
    const ac = new AbortController();
    const timer = clock.setTimeout(() => {
      ac.abort(fail(`no token within ${opts.timeoutMs} ms (the token server is slow or unreachable)`));
    }, opts.timeoutMs);
    try {
      const first: AuthStyle = authStyle ?? 'header';
      let token: CachedToken;
      try {
        token = await request(first, ac.signal);
      } catch (err) {
        // As Go's auto-detection: a refusal of Basic auth is tried again with the secret in the form.
        if (authStyle !== undefined || !(err as { refused?: boolean }).refused) throw err;
        token = await request('params', ac.signal);
        authStyle = 'params';
        return token;
      }
      authStyle ??= first;
      return token;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  function current(): string | undefined {
    if (cached === undefined) return undefined;
    if (cached.refreshAtMs !== undefined && clock.now() >= cached.refreshAtMs) return undefined;
    return cached.authorization;
  }

  return {
    async authorization(signal) {
      const now = current();
      if (now !== undefined) return now;
      if (inflight === undefined) {
        inflight = fetchToken().then(
          (token) => {
            inflight = undefined;
            cached = token;
            log.debug('oauth2 token fetched', { token_url: shownUrl, refresh_in_ms: token.refreshAtMs });
            return token;
          },
          (err: unknown) => {
            inflight = undefined;
            log.warn('oauth2 token request failed; the batch waits and is retried', { token_url: shownUrl, err });
            throw err;
          },
        );
      }
      const token = await abortable(inflight, signal);
      return token.authorization;
    },
    invalidate(authorization) {
      if (cached?.authorization !== authorization) return false;
      cached = undefined;
      return true;
    },
    close: () => transport.close(),
  };
}

/**
 * A token endpoint's answer: JSON, or form-encoded when the server says `text/plain` or
 * `application/x-www-form-urlencoded` (as Go's oauth2 reads it). `access_token` is required;
 * `expires_in` (seconds, a number or numeric string) is optional: without it the token is kept
 * until the receiver refuses it.
 */
export function parseTokenResponse(
  text: string,
  contentType: string,
  nowMs: number,
  fail: (what: string) => Error = (what) => new RetryableError('ERR_OAUTH2', `oauth2: ${what}`),
): CachedToken {
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  let fields: Record<string, unknown>;
  if (mediaType === 'application/x-www-form-urlencoded' || mediaType === 'text/plain') {
    fields = Object.fromEntries(new URLSearchParams(text));
  } else {
    try {
      fields = JSON.parse(text);
    } catch (e) {
      throw fail(`the answer is not a token (${(e as Error).message}): ${JSON.stringify(text.slice(0, 100))}`);
    }
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      throw fail(`the answer is not a JSON object: ${JSON.stringify(text.slice(0, 100))}`);
    }
  }
  const accessToken = fields.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') throw fail('the answer has no access_token');
  if (/[\r\n\0]/.test(accessToken)) throw fail('the access_token contains CR, LF or NUL');
  const rawType = typeof fields.token_type === 'string' ? fields.token_type : '';
  const type = tokenType(rawType);
  const expiresIn = Number(fields.expires_in ?? 0);
  let refreshAtMs: number | undefined;
  if (Number.isFinite(expiresIn) && expiresIn > 0) {
    const lifetimeMs = Math.min(expiresIn, 2 ** 31 - 1) * 1000;
    // Short-lived tokens would otherwise never be used: refresh them after half their life.
    refreshAtMs = nowMs + lifetimeMs - Math.min(TOKEN_EXPIRY_DELTA_MS, lifetimeMs / 2);
  }
  return { authorization: `${type} ${accessToken}`, refreshAtMs };
}

/** Go's `Token.Type()`: canonical spellings of bearer, mac and basic; Bearer when absent. */
function tokenType(raw: string): string {
  switch (raw.toLowerCase()) {
    case '':
    case 'bearer':
      return 'Bearer';
    case 'mac':
      return 'MAC';
    case 'basic':
      return 'Basic';
    default:
      return raw;
  }
}

/** Go's `url.QueryEscape` (used for the Basic credentials): space as `+`, everything but unreserved escaped. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
