/**
 * `POST <receiver.path>`: the remote-write receiver. Answers 204 only after the appender's commit
 * resolved, i.e. once the samples are durable in every endpoint's queue, so a pushing Prometheus
 * retries anything promspool has not made safe.
 *
 * Memory is bounded by a semaphore taken before the body is read: at most `maxConcurrentBodies`
 * bodies (each at most `max_body_bytes` compressed and again decompressed) are in memory; other
 * requests wait with their bytes still in the kernel's socket buffers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, systemClock } from '../clock.js';
import type { ReceiverConfig } from '../config/types.js';
import { PromspoolError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Appender, ManagedQueue, Queue } from '../queue-types.js';
import { ERR_BODY_TOO_LARGE, readCappedBody } from './body-reader.js';
import { isSnappyEncoding, type RemoteWriteVersion, remoteWriteVersion } from './content-negotiation.js';
import type { IngestCounts, Ingester } from './ingest.js';
import { createReceiverAuth, type ReceiverAuth } from './receiver-auth.js';
import type { DaemonMetrics } from './receiver-metrics.js';
import { RefusalLog, type RefusalReason } from './refusal-log.js';
import { createRelayScanner, type RelayScanner } from './relay-scanner.js';
import { createSemaphore, type Semaphore } from './semaphore.js';

/** Decompresses a snappy block, refusing (ERR_BODY_TOO_LARGE) one that declares more than `maxBytes`. */
export type Uncompress = (compressed: Uint8Array, maxBytes: number) => Uint8Array | Promise<Uint8Array>;

export interface ReceiverOptions {
  config: ReceiverConfig;
  queue: Pick<Queue, 'appender'>;
  ingester: Ingester;
  uncompress: Uncompress;
  metrics: DaemonMetrics;
  logger: Logger;
  /** Bodies read/decoded/committed at once; further requests wait. */
  maxConcurrentBodies: number;
  /**
   * The relay fast path: a 1.0 request that {@link scanWriteRequestV1} accepts is appended as
   * the bytes it came in (a kind-2 record), without decoding it into an appender, while the queue
   * says `storesRawRequests`. Absent: every request is decoded.
   */
  rawRequests?: Pick<ManagedQueue, 'appendRecord' | 'storesRawRequests' | 'rawRecordGroups' | 'ingestRelabel'>;
  /** Where the fast path's uncompress and scan run; default on the event loop, with `uncompress`. */
  relayScanner?: RelayScanner;
  /** Times the rate limiting of refusal lines (see RefusalLog); default the system clock. */
  clock?: Clock;
}

export interface RemoteWriteReceiver {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Takes effect for requests that arrive afterwards. */
  setConfig(config: ReceiverConfig): void;
  /** From now on every request is answered 503. */
  refuse(): void;
  /** Requests being handled right now (waiting for a permit included). */
  readonly inFlight: number;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
}

export function createRemoteWriteReceiver(options: ReceiverOptions): RemoteWriteReceiver {
  return new Receiver(options);
}

class Receiver implements RemoteWriteReceiver {
  private config: ReceiverConfig;
  private auth: ReceiverAuth;
  private refusing = false;
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly permits: Semaphore;
  // Appenders are reusable after commit/rollback; one per permit at most, so the pool stays small.
  private readonly freeAppenders: Appender[] = [];
  private readonly relayScanner: RelayScanner;
  /** Refused requests, logged at most once a minute per reason. */
  private readonly refusals: RefusalLog;

  constructor(private readonly o: ReceiverOptions) {
    this.refusals = new RefusalLog({ logger: o.logger, clock: o.clock ?? systemClock });
    this.config = o.config;
    this.auth = createReceiverAuth(o.config);
    this.permits = createSemaphore(o.maxConcurrentBodies);
    this.relayScanner =
      o.relayScanner ?? createRelayScanner({ workers: 0, uncompress: o.uncompress, logger: o.logger });
  }

  get inFlight(): number {
    return this.active;
  }

  setConfig(config: ReceiverConfig): void {
    this.config = config;
    this.auth = createReceiverAuth(config);
  }

  refuse(): void {
    this.refusing = true;
  }

  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.active++;
    this.o.metrics.receiverInFlight.inc();
    try {
      await this.process(req, res);
    } finally {
      this.active--;
      this.o.metrics.receiverInFlight.dec();
      if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async process(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const config = this.config;
    const version = remoteWriteVersion(req.headers['content-type']);
    // Every 2.0 answer says what was written (the spec's X-Prometheus-Remote-Write-*-Written):
    // nothing, unless the request is committed below. A refused request is rolled back whole.
    if (version === '2.0') writtenHeaders(res, NOTHING_WRITTEN);
    if (this.refusing) return this.refuse503(req, res);
    if (!this.auth.check(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', config.basicAuth ? 'Basic realm="promspool"' : 'Bearer');
      return this.refused(req, res, 401, 'unauthorized', 'unauthorized', true);
    }
    if (version === undefined) {
      const msg = `unsupported content type ${JSON.stringify(req.headers['content-type'])}`;
      return this.refused(req, res, 415, 'bad_request', msg, true);
    }
    if (!isSnappyEncoding(req.headers['content-encoding'])) {
      return this.refused(req, res, 415, 'bad_request', 'Content-Encoding must be snappy', true);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > config.maxBodyBytes) {
      const msg = `body larger than receiver.max_body_bytes (${config.maxBodyBytes})`;
      return this.refused(req, res, 413, 'too_large', msg, true);
    }

    const release = await this.permits.acquire();
    try {
      // Re-checked: shutdown may have begun while this request waited for a permit.
      if (this.refusing) return this.refuse503(req, res);
      let counts: IngestCounts;
      let raw: Uint8Array;
      const rawRequests = this.o.rawRequests;
      try {
        const body = await readCappedBody(req, config.maxBodyBytes);
        if (version === '1.0' && rawRequests?.storesRawRequests) {
          const groups = rawRequests.rawRecordGroups;
          const scan = await this.relayScanner.scan(body, config.maxBodyBytes, groups, rawRequests.ingestRelabel);
          if (scan.kind === 'record')
            return this.appendAsReceived(req, res, rawRequests, scan.payload, scan.samples, scan.received);
          raw = scan.body;
        } else {
          raw = await this.o.uncompress(body, config.maxBodyBytes);
        }
      } catch (err) {
        return this.replyDecodeError(req, res, err);
      }
      const appender = this.freeAppenders.pop() ?? this.o.queue.appender();
      try {
        counts = this.o.ingester.ingest(version, raw, appender);
      } catch (err) {
        appender.rollback();
        this.freeAppenders.push(appender);
        return this.replyDecodeError(req, res, err);
      }
      try {
        await appender.commit();
      } catch (err) {
        appender.rollback();
        this.freeAppenders.push(appender);
        return this.replyCommitError(req, res, err);
      }
      this.freeAppenders.push(appender);
      this.countSignals(counts);
      if (version === '2.0') writtenHeaders(res, counts);
      return this.reply(res, 204, '', false);
    } finally {
      release();
    }
  }

  /** The fast path's commit: one record, durable in every endpoint's queue before the 204. */
  private async appendAsReceived(
    req: IncomingMessage,
    res: ServerResponse,
    target: Pick<ManagedQueue, 'appendRecord'>,
    payload: Uint8Array,
    samples: number,
    received: number,
  ): Promise<number> {
    try {
      await target.appendRecord(payload, samples);
    } catch (err) {
      return this.replyCommitError(req, res, err);
    } finally {
      // Settled: every queue wrote (and mirrored) a copy or gave up, so the buffer can be reused.
      this.relayScanner.release(payload);
    }
    this.o.metrics.receiverSignals.inc({ type: 'sample' }, received);
    this.o.metrics.receiverRawRequests.inc();
    return this.reply(res, 204, '', false);
  }

  private replyDecodeError(req: IncomingMessage, res: ServerResponse, err: unknown): number {
    const code = err instanceof PromspoolError ? err.code : undefined;
    if (code === ERR_BODY_TOO_LARGE) return this.refused(req, res, 413, 'too_large', (err as Error).message, true);
    if (code === 'ERR_CLIENT_ABORTED') {
      return this.refused(req, res, 400, 'bad_request', 'client closed the connection', true);
    }
    if (err instanceof PromspoolError || err instanceof TypeError || err instanceof RangeError) {
      return this.refused(req, res, 400, 'bad_request', err.message, false);
    }
    this.o.logger.error('remote-write request failed', { err });
    return this.reply(res, 500, 'internal error', false);
  }

  private replyCommitError(req: IncomingMessage, res: ServerResponse, err: unknown): number {
    const code = err instanceof PromspoolError ? err.code : undefined;
    if (code === 'ERR_DISK_FULL') {
      const reason = isDiskFullCause((err as Error).cause) ? 'disk_full' : 'queue_full';
      return this.refused(req, res, 429, reason, (err as Error).message, false);
    }
    if (code === 'ERR_CLOSED') return this.refuse503(req, res);
    this.o.logger.error('remote-write commit failed', { err });
    return this.reply(res, 500, 'commit failed', false);
  }

  private countSignals(c: IngestCounts): void {
    const m = this.o.metrics.receiverSignals;
    if (c.samples) m.inc({ type: 'sample' }, c.samples);
    if (c.histograms) m.inc({ type: 'histogram' }, c.histograms);
    if (c.exemplars) m.inc({ type: 'exemplar' }, c.exemplars);
  }

  private refuse503(req: IncomingMessage, res: ServerResponse): number {
    return this.refused(req, res, 503, 'shutting_down', 'shutting down', true);
  }

  /** Answers a refusal and logs it (rate-limited per reason, see RefusalLog); returns `status`. */
  private refused(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    reason: RefusalReason,
    message: string,
    closeConnection: boolean,
  ): number {
    const s = req.socket;
    const client = s.remoteAddress === undefined ? undefined : `${s.remoteAddress}:${s.remotePort}`;
    this.refusals.refused(reason, { status, error: message, ...(client === undefined ? {} : { client }) });
    return this.reply(res, status, message, closeConnection);
  }

  /** Answers and counts; returns `status`. */
  private reply(res: ServerResponse, status: number, reason: string, closeConnection: boolean): number {
    this.o.metrics.receiverRequests.inc({ code: String(status) });
    if (res.headersSent) return status;
    // When the body was not read to the end, closing is cheaper than letting Node drain it.
    if (closeConnection) res.setHeader('Connection', 'close');
    if (status === 204) {
      res.writeHead(204).end();
      return status;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${reason}\n`);
    return status;
  }
}

/** A DiskFullError caused by the disk itself (ENOSPC/EDQUOT), not by `max_disk_bytes`; possibly wrapped. */
function isDiskFullCause(cause: unknown): boolean {
  for (let c = cause, depth = 0; typeof c === 'object' && c !== null && depth < 4; depth++) {
    const code = (c as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    c = (c as { cause?: unknown }).cause;
  }
  return false;
}

const NOTHING_WRITTEN: IngestCounts = { samples: 0, histograms: 0, exemplars: 0, metadata: 0 };

function writtenHeaders(res: ServerResponse, c: IngestCounts): void {
  res.setHeader('X-Prometheus-Remote-Write-Samples-Written', String(c.samples));
  res.setHeader('X-Prometheus-Remote-Write-Histograms-Written', String(c.histograms));
  res.setHeader('X-Prometheus-Remote-Write-Exemplars-Written', String(c.exemplars));
}

export type { RemoteWriteVersion };
