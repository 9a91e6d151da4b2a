/**
 * A Kubernetes API server stand-in on 127.0.0.1 for discovery tests: serves collections (all
 * namespaces or one) from recorded JSON objects, holds watch requests open and streams the events a
 * test pushes as newline-delimited JSON, and can answer 410 Gone, fail requests, drop watch
 * connections, require a bearer token and speak TLS. Every request is recorded; tests await
 * requests (e.g. "the watch is open") instead of sleeping.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A Kubernetes object as the fixtures hold it. */
export type FakeObject = {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string } & Record<string, unknown>;
} & Record<string, unknown>;

/** One request the server saw. */
export interface RecordedRequest {
  /** Collection name, e.g. `pods`. */
  resource: string;
  /** Namespace of the collection path; '' for all namespaces or cluster-scoped. */
  namespace: string;
  watch: boolean;
  query: URLSearchParams;
  authorization: string | undefined;
}

interface Watcher {
  resource: string;
  namespace: string;
  res: ServerResponse;
}

/** Failures to answer the next matching requests with. */
interface Injected {
  resource: string;
  watch: boolean;
  status: number;
}

export interface FakeApiServerOptions {
  /** Serve HTTPS with this certificate; with `clientCa`, require a client certificate it signed. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Refuse (401) requests without `Authorization: Bearer <token>`; a function is asked per request. */
  token?: string | (() => string);
}

const PATH = /^\/(?:api\/v1|apis\/[^/]+\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)$/u;

/** The fake API server. */
export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, FakeObject[]>();
  private readonly watchers = new Set<Watcher>();
  private readonly injected: Injected[] = [];
  private readonly waiters: {
    match: (r: RecordedRequest) => boolean;
    from: number;
    resolve: (r: RecordedRequest) => void;
  }[] = [];
  private version = 100;
  private server!: Server;
  url = '';

  constructor(private readonly opts: FakeApiServerOptions = {}) {}

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server =
      this.opts.tls === undefined
        ? createHttpServer(handler)
        : createHttpsServer(
            {
              cert: this.opts.tls.cert,
              key: this.opts.tls.key,
              ...(this.opts.tls.clientCa === undefined
                ? {}
                : { ca: this.opts.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
            },
            handler,
          );
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as AddressInfo;
    this.url = `${this.opts.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Sets the objects of a collection (as the next list returns them). */
  set(resource: string, objects: FakeObject[]): void {
    this.objects.set(
      resource,
      objects.map((o) => this.stamp(o)),
    );
  }

  /** The current resource version (what a list reports). */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** Applies an event to the stored objects and streams it to the matching open watches. */
  emit(resource: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: FakeObject): void {
    const stamped = this.stamp(object);
    const key = (o: FakeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const list = (this.objects.get(resource) ?? []).filter((o) => key(o) !== key(stamped));
    if (type !== 'DELETED') list.push(stamped);
    this.objects.set(resource, list);
    this.stream(resource, stamped.metadata?.namespace ?? '', { type, object: stamped });
  }

  /** Streams a raw event (BOOKMARK, ERROR) to the open watches of `resource`. */
  emitRaw(resource: string, event: { type: string; object: unknown }): void {
    this.stream(resource, undefined, event);
  }

  /** Answers the next request of `resource` (a watch when `watch`) with `status`. */
  failNext(resource: string, watch: boolean, status: number): void {
    this.injected.push({ resource, watch, status });
  }

  /** Destroys every open watch connection (a dropped connection, not a clean end). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** Ends every open watch cleanly (as the server's `timeoutSeconds` does). */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Resolves with the first request (already seen from index `from`, or coming) that matches. */
  waitFor(match: (r: RecordedRequest) => boolean, from = 0): Promise<RecordedRequest> {
    const seen = this.requests.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, from, resolve }));
  }

  /** Resolves once a watch of `resource` is open, counting only requests from index `from`. */
  waitForWatch(resource: string, from = 0): Promise<RecordedRequest> {
    return this.waitFor((r) => r.resource === resource && r.watch, from);
  }

  private stamp(o: FakeObject): FakeObject {
    this.version++;
    return { ...o, metadata: { ...o.metadata, resourceVersion: String(this.version) } };
  }

  private stream(resource: string, namespace: string | undefined, event: unknown): void {
    for (const w of this.watchers) {
      if (w.resource !== resource) continue;
      if (namespace !== undefined && w.namespace !== '' && w.namespace !== namespace) continue;
      w.res.write(`${JSON.stringify(event)}\n`);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = PATH.exec(url.pathname);
    const rec: RecordedRequest = {
      resource: m?.[2] ?? '',
      namespace: m?.[1] ?? '',
      watch: url.searchParams.get('watch') === 'true',
      query: url.searchParams,
      authorization: req.headers.authorization,
    };
    const token = typeof this.opts.token === 'function' ? this.opts.token() : this.opts.token;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      this.record(rec);
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"kind":"Status","code":401}');
      return;
    }
    if (m === null) {
      this.record(rec);
      res.writeHead(404).end();
      return;
    }
    const fail = this.injected.findIndex((f) => f.resource === rec.resource && f.watch === rec.watch);
    if (fail >= 0) {
      const { status } = this.injected.splice(fail, 1)[0];
      res.writeHead(status, { 'content-type': 'application/json' }).end(`{"kind":"Status","code":${status}}`);
      this.record(rec);
      return;
    }
    if (rec.watch) {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const w: Watcher = { resource: rec.resource, namespace: rec.namespace, res };
      this.watchers.add(w);
      res.on('close', () => this.watchers.delete(w));
      this.record(rec);
      return;
    }
    const items = (this.objects.get(rec.resource) ?? []).filter(
      (o) => rec.namespace === '' || o.metadata?.namespace === rec.namespace,
    );
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: this.resourceVersion }, items }));
    this.record(rec);
  }

  private record(rec: RecordedRequest): void {
    this.requests.push(rec);
    for (const w of [...this.waiters]) {
      if (this.requests.length - 1 < w.from || !w.match(rec)) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(rec);
    }
  }
}
