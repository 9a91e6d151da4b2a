/**
 * The connection to the Kubernetes API server and its two requests, list and watch. Where the
 * server and credentials come from follows Prometheus: `kubeconfig_file`, else `api_server` with
 * the HTTP client keys, else in-cluster (the pod's service account).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import type { Clock } from '../../clock.js';
import type { HttpClientConfig, KubernetesSdConfig, TlsConfig } from '../../config/types.js';
import { fixedAuthorization } from '../../network/request-auth.js';
import { describeTlsFailure } from '../../network/tls.js';
import { createTransport, type Transport } from '../../network/transport.js';
import { loadKubeconfig } from './kubeconfig.js';
import type { KubeObject } from './objects.js';

/** undici's fetch (injectable for tests). */
export type FetchFunction = typeof undiciFetch;

/** Where the in-cluster configuration is read from (injectable for tests). */
export interface InClusterEnvironment {
  /** Default `process.env` (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT). */
  env?: NodeJS.ProcessEnv;
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount` (files `token`, `ca.crt`, `namespace`). */
  serviceAccountDir?: string;
}

/** The service account directory Kubernetes mounts into every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How often a token file is read again: client-go re-reads a bound service account token once a minute (kubelet rotates it). */
export const TOKEN_REREAD_MS = 60_000;

/**
 * undici header and body timeout. Longer than the longest watch (`timeoutSeconds` up to 600), so a
 * quiet watch on a server that sends no bookmarks is ended by the server, not cut as a failure.
 */
const REQUEST_TIMEOUT_MS = 11 * 60_000;

/** An HTTP error answer of the API server. */
export class ApiStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiStatusError';
  }
}

/** A list response: the items and the resource version to watch from. */
export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

/** One event of a watch stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; message?: string };
}

/** An open connection to one API server. */
export interface ApiClient {
  /** `GET path` for every page (`limit`/`continue`). */
  list(path: string, query: Record<string, string>, signal: AbortSignal): Promise<ListResult>;
  /** Streams watch events to `onEvent`; resolves when the server ends the stream. */
  watch(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
    onEvent: (e: WatchEvent) => void,
  ): Promise<void>;
  close(): Promise<void>;
}

/** Resolved connection settings. */
interface ConnectionSettings {
  server: string;
  tls?: TlsConfig;
  http: HttpClientConfig;
  /** Read again every {@link TOKEN_REREAD_MS}. */
  tokenFile?: string;
  token?: string;
}

/** What {@link createApiClient} needs besides the discovery config. */
export interface ApiClientDeps {
  clock: Clock;
  fetch?: FetchFunction;
  inCluster?: InClusterEnvironment;
}

/** The namespace of the pod promspool runs in (`namespaces.own_namespace`), from the service account. */
export function readOwnNamespace(inCluster: InClusterEnvironment | undefined): string {
  const file = join(inCluster?.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, 'namespace');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `kubernetes_sd_configs: could not determine the pod's namespace from ${file}: ${(err as Error).message}`,
    );
  }
  if (text === '') throw new Error(`kubernetes_sd_configs: could not read own namespace name (${file} is empty)`);
  return text;
}

function settingsFor(config: KubernetesSdConfig, inCluster: InClusterEnvironment | undefined): ConnectionSettings {
  if (config.kubeconfigFile !== undefined) {
    const k = loadKubeconfig(config.kubeconfigFile);
    const http: HttpClientConfig = {};
    if (k.username !== undefined) http.basicAuth = { username: k.username, password: k.password ?? '' };
    const tls: TlsConfig = { insecureSkipVerify: k.insecureSkipVerify };
    if (k.ca !== undefined) tls.ca = k.ca;
    if (k.cert !== undefined) tls.cert = k.cert;
    if (k.key !== undefined) tls.key = k.key;
    if (k.serverName !== undefined) tls.serverName = k.serverName;
    return {
      server: k.server,
      tls,
      http,
      ...(k.token === undefined ? {} : { token: k.token }),
      ...(k.tokenFile === undefined ? {} : { tokenFile: k.tokenFile }),
    };
  }
  if (config.apiServer !== undefined) {
    const { tlsConfig, ...http } = config;
    return { server: config.apiServer, http, ...(tlsConfig === undefined ? {} : { tls: tlsConfig }) };
  }
  const env = inCluster?.env ?? process.env;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || host === '' || port === undefined || port === '') {
    throw new Error(
      'kubernetes_sd_configs: not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT unset) and neither api_server nor kubeconfig_file is set',
    );
  }
  const dir = inCluster?.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const caFile = join(dir, 'ca.crt');
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new Error(`kubernetes_sd_configs: cannot read the service account CA ${caFile}: ${(err as Error).message}`);
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca, caFile, insecureSkipVerify: false },
    http: {},
    tokenFile: join(dir, 'token'),
  };
}

/**
 * Connects (lazily) to the API server `config` names. Throws when the settings cannot be resolved
 * (no cluster, unreadable kubeconfig or CA); the caller retries with backoff.
 */
export function createApiClient(config: KubernetesSdConfig, deps: ApiClientDeps): ApiClient {
  const settings = settingsFor(config, deps.inCluster);
  if (settings.http.oauth2 !== undefined) {
    throw new Error('kubernetes_sd_configs: oauth2 is not supported for the Kubernetes API server yet');
  }
  const base = new URL(settings.server);
  const transport: Transport = createTransport({
    ...(settings.tls === undefined ? {} : { tls: settings.tls }),
    proxy: settings.http,
    enableHttp2: false,
    connections: 16,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const doFetch = deps.fetch ?? undiciFetch;
  let token = settings.token;
  let tokenReadAt = Number.NEGATIVE_INFINITY;

  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { Accept: 'application/json' };
    for (const [name, v] of Object.entries(settings.http.httpHeaders ?? {})) {
      const values = [...v.values, ...v.secrets];
      if (values.length > 0) h[name] = values.join(', ');
    }
    if (settings.tokenFile !== undefined && deps.clock.now() - tokenReadAt >= TOKEN_REREAD_MS) {
      try {
        token = readFileSync(settings.tokenFile, 'utf8').trim();
        tokenReadAt = deps.clock.now();
      } catch (err) {
        // Keep the last token: a rotation in progress must not stop discovery.
        if (token === undefined) {
          throw new Error(
            `kubernetes_sd_configs: cannot read token file ${settings.tokenFile}: ${(err as Error).message}`,
          );
        }
      }
    }
    const fixed = fixedAuthorization(settings.http);
    if (fixed !== undefined) {
      h.Authorization = fixed;
    } else if (token !== undefined && token !== '') {
      h.Authorization = `Bearer ${token}`;
    }
    return h;
  };

  const get = async (path: string, query: Record<string, string>, signal: AbortSignal) => {
    const url = new URL(base.pathname.replace(/\/$/u, '') + path, base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    let res: Awaited<ReturnType<FetchFunction>>;
    try {
      res = await doFetch(url, {
        headers: headers(),
        signal,
        dispatcher: transport.dispatcherFor(url),
        redirect: settings.http.followRedirects === false ? 'manual' : 'follow',
      });
    } catch (err) {
      if (signal.aborted) throw err;
      // fetch says only "fetch failed"; the reason is its cause (a TLS failure is explained with the setting to fix).
      const tlsFailure = describeTlsFailure(err, base.origin, settings.tls);
      const cause = (err as Error).cause;
      const reason = tlsFailure?.message ?? (cause instanceof Error ? cause.message : (err as Error).message);
      throw new Error(`GET ${url.pathname}: ${reason}`, { cause: err });
    }
    if (res.status !== 200) {
      const body = (await res.text().catch(() => '')).slice(0, 512);
      throw new ApiStatusError(res.status, `GET ${url.pathname}${url.search}: HTTP ${res.status}: ${body}`);
    }
    return { res, url };
  };

  return {
    async list(path, query, signal) {
      const items: KubeObject[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const q = { ...query, limit: '500', ...(cont === undefined ? {} : { continue: cont }) };
        const { res } = await get(path, q, signal);
        const body = (await res.json()) as {
          items?: KubeObject[];
          metadata?: { resourceVersion?: string; continue?: string };
        };
        items.push(...(body.items ?? []));
        resourceVersion = body.metadata?.resourceVersion ?? '';
        cont = body.metadata?.continue === '' ? undefined : body.metadata?.continue;
      } while (cont !== undefined);
      return { items, resourceVersion };
    },
    async watch(path, query, signal, onEvent) {
      const { res, url } = await get(path, { ...query, watch: 'true' }, signal);
      if (res.body === null) return;
      const decoder = new TextDecoder();
      let pending = '';
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== '') {
            let event: WatchEvent;
            try {
              event = JSON.parse(line) as WatchEvent;
            } catch {
              throw new Error(`watch ${url.pathname}: invalid JSON event: ${line.slice(0, 200)}`);
            }
            onEvent(event);
          }
          nl = pending.indexOf('\n');
        }
      }
    },
    close: () => transport.close(),
  };
}
