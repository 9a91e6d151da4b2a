/**
 * The HTTP side of scraping: one client per scrape job (its targets share the connection pools,
 * TLS, proxy and credentials), doing what Prometheus' `targetScraper.scrape`/`readResponse` do: a
 * GET with the Accept header built from `scrape_protocols`, `Accept-Encoding` per
 * `enable_compression`, `X-Prometheus-Scrape-Timeout-Seconds`, the whole exchange bounded by the
 * target's timeout, and the body read under `body_size_limit` (the decompressed size for gzip, so a
 * gzip bomb stops at the limit). Every failure rejects with a {@link ScrapeFailure} whose `reason`
 * names its class for the counters and whose message is what /targets shows.
 */
import { constants as bufferConstants } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { createGunzip } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from '../clock.js';
import type { ScrapeConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import { OAUTH2_TOKEN_TIMEOUT_MS } from '../network/http-client.js';
import { createOAuth2TokenSource } from '../network/oauth2.js';
import { fixedAuthorization, oauth2Auth, type RequestAuth } from '../network/request-auth.js';
import { describeTlsFailure } from '../network/tls.js';
import { createTransport } from '../network/transport.js';
import { redactUrl } from '../redact.js';
import { acceptHeader } from './content-type.js';

/** Why a scrape failed, as the loop counts failures (`promspool_scrape_failures_total{reason}`). */
export type ScrapeFailureReason =
  | 'timeout'
  | 'http_status'
  | 'network'
  | 'redirect'
  | 'body_size_limit'
  | 'decompression'
  | 'content_type'
  | 'parse'
  | 'sample_limit'
  | 'label_limit'
  | 'label_name_length_limit'
  | 'label_value_length_limit'
  | 'bucket_limit'
  | 'invalid_series'
  | 'forced';

/** A failed scrape: `message` is the target's last error, `reason` its class. */
export class ScrapeFailure extends Error {
  constructor(
    readonly reason: ScrapeFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ScrapeFailure';
  }
}

/** One successful HTTP exchange: the (decompressed) body and its Content-Type. */
export interface ScrapeResponse {
  readonly body: Buffer;
  /** The Content-Type header; undefined when absent. */
  readonly contentType: string | undefined;
  /** Bytes received on the wire (compressed size for gzip). */
  readonly wireBytes: number;
}

/** Fetches targets of one job. */
export interface ScrapeClient {
  /**
   * GETs `url` within `timeoutMs` (on the client's clock). Rejects with a {@link ScrapeFailure}
   * on any failure (also when `signal` aborts: reason `forced`).
   */
  scrape(url: string, timeoutMs: number, signal?: AbortSignal): Promise<ScrapeResponse>;
  /** Lets in-flight scrapes finish, then closes the connections. */
  close(): Promise<void>;
}

export interface ScrapeClientOptions {
  /** promspool's version, for `User-Agent: promspool/<version>`. */
  version?: string;
  /** The timeout clock (tests pass a simulated one). Default the system clock. */
  clock?: Clock;
  /** Where `oauth2` failures are logged. */
  logger?: Logger;
  /** Environment for `proxy_from_environment`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Connections per target origin. Default 2 (one scrape at a time, plus a spare across a stop). */
  connections?: number;
}

/** Redirects followed before a scrape fails, as Go's client (`stopped after 10 redirects`). */
export const MAX_SCRAPE_REDIRECTS = 10;

/**
 * Largest body ever read, whatever `body_size_limit` says: a body is parsed as one string, and V8
 * cannot make a longer one, so a bigger body could never be scraped (and would only hold memory).
 */
export const HARD_BODY_LIMIT: number = bufferConstants.MAX_STRING_LENGTH;

/** Go's `strconv.FormatFloat(seconds, 'f', -1, 64)` for a whole number of milliseconds. */
export function formatTimeoutSeconds(ms: number): string {
  return String(ms / 1000);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SENSITIVE_ON_REDIRECT = ['authorization', 'www-authenticate', 'cookie', 'cookie2'];

/**
 * The client of one scrape job. Credentials: `basic_auth`, `authorization` and `http_headers` as
 * fixed headers, `oauth2` per request; TLS and proxies through the shared transport
 * (src/network/transport.ts).
 */
export function createScrapeClient(config: ScrapeConfig, opts: ScrapeClientOptions = {}): ScrapeClient {
  const clock = opts.clock ?? systemClock;
  const tls = config.tlsConfig;
  const transport = createTransport({
    ...(tls === undefined ? {} : { tls }),
    proxy: config,
    enableHttp2: config.enableHttp2 ?? true,
    connections: opts.connections ?? 2,
    // undici's own timers are a backstop on the real clock; the scrape timeout proper is ours.
    timeoutMs: Math.max(config.scrapeTimeoutMs, 1),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  const auth: RequestAuth | undefined =
    config.oauth2 === undefined
      ? undefined
      : oauth2Auth(
          createOAuth2TokenSource({
            config: config.oauth2,
            timeoutMs: Math.max(1, Math.min(OAUTH2_TOKEN_TIMEOUT_MS, config.scrapeTimeoutMs)),
            version: opts.version ?? '0.0.0',
            clock,
            ...(opts.logger === undefined ? {} : { logger: opts.logger }),
            ...(opts.env === undefined ? {} : { env: opts.env }),
          }),
        );
  const baseHeaders: Record<string, string | string[]> = {};
  // Lower-cased, so the scrape's own headers below replace a user's header of the same name
  // instead of going out beside it.
  for (const [name, h] of Object.entries(config.httpHeaders ?? {})) {
    const values = [...h.values, ...h.secrets];
    baseHeaders[name.toLowerCase()] = values.length === 1 ? values[0] : values;
  }
  // Prometheus 3 names its escaping scheme: UTF-8 names as they are, or escaped to underscores.
  baseHeaders.accept = acceptHeader(
    config.scrapeProtocols,
    config.nameValidationScheme === 'utf8' ? 'allow-utf-8' : 'underscores',
  );
  baseHeaders['accept-encoding'] = config.enableCompression ? 'gzip' : 'identity';
  baseHeaders['user-agent'] = `promspool/${opts.version ?? '0.0.0'}`;
  const fixed = fixedAuthorization(config);
  if (fixed !== undefined) baseHeaders.authorization = fixed;
  const followRedirects = config.followRedirects ?? true;
  const limit = config.bodySizeLimitBytes > 0 ? Math.min(config.bodySizeLimitBytes, HARD_BODY_LIMIT) : HARD_BODY_LIMIT;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  async function exchange(target: URL, timeoutMs: number, signal: AbortSignal): Promise<ScrapeResponse> {
    const headers: Record<string, string | string[]> = {
      ...baseHeaders,
      'x-prometheus-scrape-timeout-seconds': formatTimeoutSeconds(timeoutMs),
    };
    let url = target;
    let crossHost = false;
    for (let redirects = 0; ; ) {
      const sent = { ...headers };
      if (crossHost) for (const name of SENSITIVE_ON_REDIRECT) delete sent[name];
      else if (auth !== undefined) {
        Object.assign(sent, await auth.headers({ method: 'GET', url, headers: {}, body: new Uint8Array(0) }, signal));
      }
      let res: Dispatcher.ResponseData;
      try {
        res = await transport.dispatcherFor(url).request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: sent,
          signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw networkFailure(err, url, tls);
      }
      const status = res.statusCode;
      const location = first(res.headers.location);
      if (REDIRECTS.has(status) && location !== undefined && followRedirects) {
        await res.body.dump().catch(() => {});
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new ScrapeFailure('redirect', `invalid redirect location ${JSON.stringify(location.slice(0, 200))}`);
        }
        if (++redirects > MAX_SCRAPE_REDIRECTS) {
          throw new ScrapeFailure(
            'redirect',
            `Get "${redactUrl(target.href)}": stopped after ${MAX_SCRAPE_REDIRECTS} redirects`,
          );
        }
        crossHost ||= next.hostname.toLowerCase() !== target.hostname.toLowerCase();
        url = next;
        continue;
      }
      if (status !== 200) {
        await res.body.dump().catch(() => {});
        throw new ScrapeFailure(
          'http_status',
          `server returned HTTP status ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd(),
        );
      }
      const gzip = first(res.headers['content-encoding'])?.trim().toLowerCase() === 'gzip';
      // Compressed input larger than the limit (plus gzip's framing) cannot inflate below it.
      const wireLimit = gzip ? Math.min(limit + 64 * 1024, HARD_BODY_LIMIT) : limit;
      const declared = Number(first(res.headers['content-length']) ?? Number.NaN);
      const raw = await readBounded(res.body, wireLimit, signal, Number.isSafeInteger(declared) ? declared : undefined);
      let body = raw;
      if (gzip) body = await inflateBounded(raw, limit, signal);
      // Prometheus refuses a body of exactly the limit too (it cannot tell it from a longer one).
      if (body.length >= limit && config.bodySizeLimitBytes > 0) throw bodyTooLarge(limit);
      return { body, contentType: first(res.headers['content-type']), wireBytes: raw.length };
    }
  }

  return {
    async scrape(rawUrl, timeoutMs, outer) {
      const url = new URL(rawUrl);
      const controller = new AbortController();
      const deadline = () =>
        new ScrapeFailure(
          'timeout',
          `Get "${redactUrl(url.href)}": context deadline exceeded (timeout ${timeoutMs}ms)`,
        );
      const timer = clock.setTimeout(() => controller.abort(deadline()), timeoutMs);
      const onAbort = () => controller.abort(new ScrapeFailure('forced', 'scrape aborted: the loop is stopping'));
      if (outer?.aborted) onAbort();
      outer?.addEventListener('abort', onAbort, { once: true });
      inFlight++;
      try {
        return await exchange(url, timeoutMs, controller.signal);
      } catch (err) {
        if (controller.signal.aborted && controller.signal.reason instanceof ScrapeFailure)
          throw controller.signal.reason;
        const failure = networkFailure(err, url, tls);
        // undici's header and body timers (a backstop set to the same timeout) can fire before ours
        // when the event loop is late: the same deadline, in the same words, whichever fires first.
        throw failure.reason === 'timeout' ? deadline() : failure;
      } finally {
        clock.clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
        if (--inFlight === 0) idle?.();
      }
    },
    async close() {
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      await Promise.all([transport.close(), auth?.close()]);
    },
  };
}

/**
 * Inflates a gzip body on the thread pool, chunk by chunk, failing as soon as the output passes
 * `limit` bytes or `signal` aborts (the scrape's timeout). Inflating a bomb up to the default limit
 * (512 MiB) takes seconds: synchronously it stalled every other target and the API; whole, it held
 * the full limit however early the timeout came.
 */
function inflateBounded(raw: Buffer, limit: number, signal: AbortSignal): Promise<Buffer> {
  if (signal.aborted) return Promise.reject(signal.reason);
  // 1 MiB of output per trip to the thread pool (the default 16 KiB made hundreds of trips, each
  // waiting its turn on a busy event loop: a 10 MiB limit took over a second).
  const gz = createGunzip({ chunkSize: 1 << 20 });
  const chunks: Buffer[] = [];
  let size = 0;
  let onAbort = () => {};
  return new Promise<Buffer>((resolve, reject) => {
    onAbort = () => {
      gz.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    gz.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        gz.destroy();
        reject(bodyTooLarge(limit));
      } else chunks.push(chunk);
    });
    gz.on('error', (err) => {
      reject(new ScrapeFailure('decompression', `decompressing the gzip body: ${err.message}`, { cause: err }));
    });
    gz.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    gz.end(raw);
  }).finally(() => signal.removeEventListener('abort', onAbort));
}

function bodyTooLarge(limit: number): ScrapeFailure {
  return new ScrapeFailure(
    'body_size_limit',
    `body size limit exceeded (limit: ${limit} bytes${limit === HARD_BODY_LIMIT ? ', the largest body promspool can parse' : ''})`,
  );
}

function networkFailure(err: unknown, url: URL, tls: ScrapeConfig['tlsConfig']): ScrapeFailure {
  if (err instanceof ScrapeFailure) return err;
  const described = describeTlsFailure(err, url.origin, tls) ?? err;
  const message = described instanceof Error ? described.message : String(described);
  const code = (err as { code?: string } | undefined)?.code;
  const reason = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : 'network';
  return new ScrapeFailure(reason, `Get "${redactUrl(url.href)}": ${message}`, { cause: err });
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Reads `body` whole, failing (and dropping the connection) as soon as it passes `limit` bytes. */
async function readBounded(
  body: Dispatcher.ResponseData['body'],
  limit: number,
  signal: AbortSignal,
  declared: number | undefined,
): Promise<Buffer> {
  if (declared !== undefined && declared > limit) {
    // Announced too large (a 2 GB body): refused without reading it. Destroying an unread body
    // emits an error nobody listens to yet, which would crash the process.
    body.on('error', () => {});
    body.destroy();
    throw bodyTooLarge(limit);
  }
  // With a Content-Length the chunks are copied once into a buffer of that size (no concat).
  const whole = declared !== undefined && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size + chunk.length > limit) {
        body.on('error', () => {});
        body.destroy();
        throw bodyTooLarge(limit);
      }
      if (whole !== undefined && size + chunk.length <= whole.length) chunk.copy(whole, size);
      else chunks.push(chunk);
      size += chunk.length;
    }
  } catch (err) {
    if (err instanceof ScrapeFailure) throw err;
    if (signal.aborted) throw signal.reason;
    throw err;
  }
  if (whole !== undefined) {
    // undici fails a body that is not as long as announced; a shorter one is cut to what came.
    if (chunks.length === 0) return whole.subarray(0, size);
    return Buffer.concat([whole.subarray(0, Math.min(size, whole.length)), ...chunks]);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}
