/**
 * The daemon's HTTP server: routing and the small endpoints. The remote-write receiver itself is
 * in receiver.ts. Node's own header and request timeouts bound how long a slow client can hold a
 * connection (and, on the write path, a body permit).
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import type { ServerTlsConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { RemoteWriteReceiver } from './receiver.js';
import type { StaticAsset } from './status-assets.js';
import type { StatusResponse } from './status-types.js';

/** Limits of the HTTP server that are not (yet) config keys. */
export interface ServerLimits {
  /** Remote-write bodies read, decoded and committed at once. */
  maxConcurrentBodies: number;
  /** Whole request (headers and body) must arrive within this, else 408 and the socket is closed. */
  requestTimeoutMs: number;
  /** Headers must arrive within this. */
  headersTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = {
  // Two cores: more parallel decodes would only queue on the CPU while holding more memory.
  maxConcurrentBodies: 4,
  // A 32 MiB body at 1 MB/s still fits; anything slower is treated as an attack or a broken client.
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 10_000,
  // Longer than Prometheus' idle connection timeout would close it from our side mid-reuse; 5s is Node's default.
  keepAliveTimeoutMs: 5_000,
};

/** Outcome of a reload as the HTTP endpoint reports it. */
export type ReloadResult = { ok: true } | { ok: false; status: 400 | 500; errors: string[] };

export interface DaemonRoutes {
  /** Current receiver path and whether it is enabled (may change on reload). */
  receiverPath(): string | undefined;
  receiver: RemoteWriteReceiver;
  registry: Registry;
  isReady(): boolean;
  isStopping(): boolean;
  reload(): Promise<ReloadResult>;
  /** The HTML of `GET /`. */
  statusPage(): Promise<string>;
  /** What `GET /api/v1/status` answers. */
  status(): Promise<StatusResponse>;
  /** The HTML of `GET /targets`. */
  targetsPage(): string;
  /** What `GET /api/v1/targets` answers for the query string `search` (Prometheus' shape). */
  targets(search: string): unknown;
  /** A file under `/static/` (the status page's script, uPlot), or undefined for 404. */
  staticAsset(path: string): StaticAsset | undefined;
  logger: Logger;
}

/**
 * The keys and certificates of `server.tls_config` as a secure context's options: what
 * `server.setSecureContext()` takes on reload.
 */
export function serverSecureContextOptions(tls: ServerTlsConfig): SecureContextOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
  };
}

/** All TLS options of the server, client certificate verification included. */
export function serverTlsOptions(tls: ServerTlsConfig, limits: ServerLimits): TlsOptions {
  const verifyClients = tls.clientAuthType === 'RequireAndVerifyClientCert';
  return {
    ...serverSecureContextOptions(tls),
    requestCert: verifyClients,
    rejectUnauthorized: verifyClients,
    // A client that never finishes its handshake holds a socket like one that never sends headers.
    handshakeTimeout: limits.headersTimeoutMs,
  };
}

/** Plain HTTP, or HTTPS when `tls` is given (`server.tls_config`). */
export function createDaemonServer(
  routes: DaemonRoutes,
  limits: ServerLimits,
  tls?: ServerTlsConfig,
): Server | HttpsServer {
  const options: ServerOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node enforces the two timeouts above only this often (default 30s): check every second.
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs, limits.requestTimeoutMs),
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(routes, req, res).catch((err) => {
      routes.logger.error('HTTP handler failed', { err, path: req.url });
      if (!res.headersSent) text(res, 500, 'internal error');
      else res.destroy();
    });
  };
  if (tls === undefined) return createServer(options, handler);
  const server: HttpsServer = createHttpsServer({ ...options, ...serverTlsOptions(tls, limits) }, handler);
  // Failed handshakes (scanners, clients without a valid certificate) are the client's problem;
  // debug level so they can be found when setting up client certificates, without flooding logs.
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
    routes.logger.debug('TLS handshake with a client failed', {
      code: err.code,
      reason: (err as { reason?: unknown }).reason ?? err.message,
      remote: socket.remoteAddress,
    });
  });
  return server;
}

async function route(r: DaemonRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';

  const writePath = r.receiverPath();
  if (writePath !== undefined && path === writePath) {
    if (method !== 'POST') return methodNotAllowed(res, 'POST');
    return r.receiver.handle(req, res);
  }
  switch (path) {
    case '/metrics': {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      const body = await r.registry.metrics();
      res.writeHead(200, { 'Content-Type': r.registry.contentType }).end(method === 'HEAD' ? undefined : body);
      return;
    }
    case '/-/healthy':
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      return text(res, 200, 'promspool is healthy.');
    case '/-/ready':
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      if (r.isStopping()) return text(res, 503, 'promspool is shutting down.');
      return r.isReady() ? text(res, 200, 'promspool is ready.') : text(res, 503, 'promspool is not ready.');
    case '/-/reload': {
      // Prometheus accepts PUT too; tools written for it keep working.
      if (method !== 'POST' && method !== 'PUT') return methodNotAllowed(res, 'POST, PUT');
      req.resume();
      const result = await r.reload();
      if (result.ok) return text(res, 200, 'configuration reloaded');
      return text(res, result.status, `configuration not reloaded:\n${result.errors.join('\n')}`);
    }
    case '/': {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      const page = await r.statusPage();
      // The numbers are of this moment: a cached copy would show a stale backlog as current.
      res
        .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
        .end(method === 'HEAD' ? undefined : page);
      return;
    }
    case '/api/v1/status': {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      const body = JSON.stringify(await r.status());
      res
        .writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
        .end(method === 'HEAD' ? undefined : body);
      return;
    }
    case '/targets': {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      res
        .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
        .end(method === 'HEAD' ? undefined : r.targetsPage());
      return;
    }
    case '/api/v1/targets': {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      const body = JSON.stringify(r.targets(q < 0 ? '' : url.slice(q + 1)));
      res
        .writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
        .end(method === 'HEAD' ? undefined : body);
      return;
    }
    default: {
      const asset = path.startsWith('/static/') ? r.staticAsset(path) : undefined;
      if (asset === undefined) return text(res, 404, 'not found');
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      // Fixed for the life of the process; a restart may bring a new version, so not forever.
      res
        .writeHead(200, { 'Content-Type': asset.contentType, 'Cache-Control': 'max-age=300' })
        .end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
  }
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  text(res, 405, 'method not allowed');
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${body}\n`);
}
