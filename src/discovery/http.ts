/**
 * `http_sd_configs` (Prometheus' discovery/http): every `refresh_interval` a GET of `url` that must
 * answer 200 with `Content-Type: application/json` and a JSON list of `{ targets, labels }`. Group
 * `i` is named `<url>:<i>` and labelled `__meta_url`; groups beyond the new list's length are
 * reported empty. A failed refresh is counted and logged, and the last groups stay in effect.
 * The HTTP client keys (auth, TLS, proxy, headers, redirects) are the scrape configs' own.
 */
import type { Dispatcher } from 'undici';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { HttpClientConfig } from '../config/types.js';
import { type Logger, silentLogger } from '../logger.js';
import { OAUTH2_TOKEN_TIMEOUT_MS } from '../network/http-client.js';
import { createOAuth2TokenSource } from '../network/oauth2.js';
import { fixedAuthorization, oauth2Auth, type RequestAuth } from '../network/request-auth.js';
import { createTransport } from '../network/transport.js';
import { redactUrl } from '../redact.js';
import { GroupSet } from './group-set.js';
import { readTargetGroupList } from './target-group-list.js';
import type { Discoverer, DiscoveryStats, TargetGroup } from './types.js';
import { untilAborted } from './until-aborted.js';

/** The label naming the URL a target came from. */
export const URL_LABEL = '__meta_url';
/** Largest response read; a bigger one fails the refresh (memory stays bounded). */
export const HTTP_SD_BODY_LIMIT = 64 * 1024 * 1024;
/** Redirects followed, as Go's client. */
const MAX_REDIRECTS = 10;
/** Prometheus' `matchContentType`. */
const JSON_CONTENT_TYPE = /^application\/json(;\s*charset=("utf-8"|utf-8))?$/i;

export type HttpSdConfig = { url: string; refreshIntervalMs: number } & HttpClientConfig;

export interface HttpDiscovererDeps {
  clock?: Clock;
  logger?: Logger;
  /** promspool's version, for the User-Agent. */
  version?: string;
  /** Environment for `proxy_from_environment`. */
  env?: NodeJS.ProcessEnv;
}

export interface HttpDiscoverer extends Discoverer {
  readonly stats: DiscoveryStats;
}

export function createHttpDiscoverer(config: HttpSdConfig, deps: HttpDiscovererDeps = {}): HttpDiscoverer {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const stats: DiscoveryStats = { failures: 0, updates: 0, targets: 0 };
  const shownUrl = redactUrl(config.url);
  return {
    stats,
    async run(onUpdate, signal) {
      if (signal.aborted) return;
      const fetcher = createFetcher(config, clock, logger, deps);
      const set = new GroupSet();
      let first = true;
      const refresh = async (): Promise<void> => {
        let groups: TargetGroup[];
        try {
          groups = await fetcher.fetchGroups(signal);
        } catch (e) {
          if (signal.aborted) return;
          stats.failures++;
          logger.error('http_sd: refresh failed, keeping the last targets', {
            url: shownUrl,
            err: e instanceof Error ? e.message : String(e),
          });
          if (first) {
            // The contract: the full set first, even when it is empty.
            first = false;
            onUpdate([]);
          }
          return;
        }
        // Indices beyond the new length are gone: the set reports them empty, as Prometheus does.
        const changed = set.replace(groups);
        stats.updates++;
        stats.targets = set.targets;
        if (signal.aborted) return;
        if (first) onUpdate(set.all());
        else if (changed.length > 0) onUpdate(changed);
        first = false;
      };
      let timer: TimerHandle | undefined;
      let running: Promise<void> = Promise.resolve();
      // A fixed period (Prometheus' ticker), so the next refresh is due whatever this one takes.
      const tick = (): void => {
        timer = clock.setTimeout(tick, config.refreshIntervalMs);
        running = running.then(refresh);
      };
      tick();
      await untilAborted(signal);
      clock.clearTimeout(timer);
      await running;
      await fetcher.close();
    },
  };
}

interface Fetcher {
  fetchGroups(signal: AbortSignal): Promise<TargetGroup[]>;
  close(): Promise<void>;
}

function createFetcher(config: HttpSdConfig, clock: Clock, logger: Logger, deps: HttpDiscovererDeps): Fetcher {
  // Prometheus bounds each request by the refresh interval.
  const timeoutMs = config.refreshIntervalMs;
  const transport = createTransport({
    ...(config.tlsConfig === undefined ? {} : { tls: config.tlsConfig }),
    proxy: config,
    enableHttp2: config.enableHttp2 ?? true,
    connections: 1,
    timeoutMs,
    ...(deps.env === undefined ? {} : { env: deps.env }),
  });
  const auth: RequestAuth | undefined =
    config.oauth2 === undefined
      ? undefined
      : oauth2Auth(
          createOAuth2TokenSource({
            config: config.oauth2,
            timeoutMs: Math.min(OAUTH2_TOKEN_TIMEOUT_MS, timeoutMs),
            version: deps.version ?? '0.0.0',
            clock,
            logger,
            ...(deps.env === undefined ? {} : { env: deps.env }),
          }),
        );
  const headers: Record<string, string | string[]> = {
    accept: 'application/json',
    'user-agent': `promspool/${deps.version ?? '0.0.0'}`,
    'x-prometheus-refresh-interval-seconds': String(config.refreshIntervalMs / 1000),
  };
  for (const [name, h] of Object.entries(config.httpHeaders ?? {})) {
    const values = [...h.values, ...h.secrets];
    headers[name] = values.length === 1 ? values[0] : values;
  }
  const fixed = fixedAuthorization(config);
  if (fixed !== undefined) headers.authorization = fixed;

  return {
    async fetchGroups(outer) {
      const controller = new AbortController();
      const onAbort = () => controller.abort(outer.reason);
      outer.addEventListener('abort', onAbort, { once: true });
      const timer = clock.setTimeout(
        () => controller.abort(new Error(`no answer within ${timeoutMs} ms (refresh_interval)`)),
        timeoutMs,
      );
      try {
        const body = await get(new URL(config.url), controller.signal);
        let value: unknown;
        try {
          value = JSON.parse(body);
        } catch (e) {
          throw new Error(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (value === null) throw new Error('the answer is null, not a list of target groups');
        const list = readTargetGroupList(value);
        if ('error' in list) throw new Error(`${list.error.path || 'top level'}: ${list.error.message}`);
        return list.groups.map((g, i) => ({
          source: `${config.url}:${i}`,
          targets: g.targets.map((t) => ({ __address__: t })),
          labels: { ...g.labels, [URL_LABEL]: config.url },
        }));
      } catch (e) {
        throw controller.signal.aborted && !outer.aborted ? controller.signal.reason : e;
      } finally {
        clock.clearTimeout(timer);
        outer.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      await auth?.close();
      await transport.close();
    },
  };

  async function get(start: URL, signal: AbortSignal): Promise<string> {
    let url = start;
    for (let redirects = 0; ; redirects++) {
      const sent = { ...headers };
      if (auth !== undefined && url.host === start.host) {
        Object.assign(sent, await auth.headers({ method: 'GET', url, headers: {}, body: new Uint8Array(0) }, signal));
      }
      if (url.host !== start.host) delete sent.authorization;
      const res: Dispatcher.ResponseData = await transport.dispatcherFor(url).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: sent,
        signal,
      });
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && typeof location === 'string') {
        await res.body.dump();
        if (config.followRedirects === false)
          throw new Error(`server returned HTTP status ${res.statusCode} (a redirect, and follow_redirects is false)`);
        if (redirects >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
        url = new URL(location, url);
        continue;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`server returned HTTP status ${res.statusCode}`);
      }
      const type = res.headers['content-type'];
      const contentType = Array.isArray(type) ? type[0] : type;
      if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType.trim())) {
        await res.body.dump();
        throw new Error(`unsupported content type ${JSON.stringify(contentType ?? '')}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > HTTP_SD_BODY_LIMIT) {
          res.body.destroy();
          throw new Error(`the answer is larger than ${HTTP_SD_BODY_LIMIT} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    }
  }
}
