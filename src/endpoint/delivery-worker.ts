/**
 * Worker thread of {@link createThreadedEndpoint}: one endpoint's read side and network (decode,
 * shape, encode, snappy, HTTP), fed with segments by the event loop, which keeps the FileQueue.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FileQueueStats, Segment } from '../filequeue/types.js';
import type { Logger } from '../logger.js';
import { decodeRecord } from '../serialization/record-codec.js';
import type { DeliveryWorkerInit, FromWorker, ToWorker } from './delivery-protocol.js';
import { createEndpoint, type Endpoint, type EndpointFileQueue } from './endpoint.js';

const port = parentPort;
if (port === null) throw new Error('delivery-worker runs as a worker thread');
const init = workerData as DeliveryWorkerInit;

/** Stats are sent on their own this often when no progress carries them (retries, backoff). */
const IDLE_STATS_EVERY_MS = 200;

function post(msg: FromWorker): void {
  port!.postMessage(msg);
}

/**
 * Logs through the event loop's logger. Before every line the stats go out, so what a line
 * reports (a failed request, a lastError) is already in `stats()` when it is read. The endpoint
 * and network only log failures and state changes, never per request, so this stays rare.
 */
class PortLogger implements Logger {
  constructor(
    private readonly fields: Record<string, unknown> | undefined,
    private readonly beforeLine: () => void,
  ) {}
  private send(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.beforeLine();
    const all = this.fields === undefined ? fields : { ...this.fields, ...fields };
    // Values that do not clone (errors, functions) are sent as text.
    const safe: Record<string, unknown> | undefined = all === undefined ? undefined : {};
    if (all !== undefined) {
      for (const [k, v] of Object.entries(all)) safe![k] = typeof v === 'object' && v !== null ? String(v) : v;
    }
    post({ t: 'log', level, msg, fields: safe });
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.send('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.send('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.send('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.send('error', msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new PortLogger(this.fields === undefined ? fields : { ...this.fields, ...fields }, this.beforeLine);
  }
}

interface PendingNext {
  resolve: (s: Segment | null) => void;
  onWait: (() => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * The FileQueue as the endpoint sees it: `next` asks the event loop; acks and releases are
 * batched per turn of this thread's event loop and posted with the stats as they are after them,
 * so what the event loop sees of the FileQueue (pending segments, files deleted) and the stats
 * agree, and both trail a delivery by one message. Batching per turn keeps it to one message per
 * answered request or fewer (~1.5% of the worker's time in the library benchmark).
 */
class FileQueueProxy implements EndpointFileQueue {
  private nextReq = 0;
  private readonly pending = new Map<number, PendingNext>();
  private acks: number[] = [];
  private releases: number[] = [];
  private durations: number[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  endpoint: Endpoint | undefined;

  next(signal?: AbortSignal, onWait?: () => void): Promise<Segment | null> {
    const req = this.nextReq++;
    return new Promise((resolve) => {
      const onAbort = () => post({ t: 'abortNext', req });
      this.pending.set(req, { resolve, onWait, signal, onAbort });
      post({ t: 'next', req });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  answer(req: number, segment: Segment | null): void {
    const p = this.pending.get(req);
    if (p === undefined) return;
    this.pending.delete(req);
    p.signal?.removeEventListener('abort', p.onAbort);
    p.resolve(segment);
  }

  waiting(req: number): void {
    this.pending.get(req)?.onWait?.();
  }

  ack(segmentId: number, record: number, portion: number): void {
    this.acks.push(segmentId, record, portion);
    this.schedule();
  }

  release(segmentId: number): void {
    this.releases.push(segmentId);
    this.schedule();
  }

  observeBatchDuration(seconds: number): void {
    this.durations.push(seconds);
  }

  /** Only `metricsSnapshot` reads it, and the event loop computes that (it has the FileQueue). */
  stats(): FileQueueStats {
    throw new Error('FileQueue stats are kept on the event loop');
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Posts what is batched, with the stats; called early (a log line, stop), it replaces the scheduled post. */
  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    post({
      t: 'progress',
      acks: this.acks,
      releases: this.releases,
      batchDurations: this.durations,
      stats: this.endpoint?.stats(),
    });
    this.acks = [];
    this.releases = [];
    this.durations = [];
  }
}

const fq = new FileQueueProxy();
const endpoint = createEndpoint({
  config: init.config,
  fileQueue: fq,
  ttlMs: init.ttlMs,
  externalLabels: init.externalLabels,
  // A relayed record's body is uncompressed only if it is not sent as its groups.
  decodeRecord: (payload) => decodeRecord(payload, { deferRawBody: true }),
  logger: new PortLogger(undefined, () => fq.flush()),
  observeBatchDuration: (s) => fq.observeBatchDuration(s),
  ...(init.version === undefined ? {} : { version: init.version }),
  ...(init.stateDir === undefined ? {} : { stateDir: init.stateDir }),
});
fq.endpoint = endpoint;

// Retries, backoff and failures change the stats without any ack: keep the event loop's copy fresh.
const idleStats = setInterval(() => fq.flush(), IDLE_STATS_EVERY_MS);

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'segment':
      fq.answer(msg.req, msg.segment);
      break;
    case 'waiting':
      fq.waiting(msg.req);
      break;
    case 'stop':
      void endpoint.stop({ timeoutMs: msg.timeoutMs }).then((result) => {
        clearInterval(idleStats);
        fq.flush();
        post({ t: 'stopped', result, stats: endpoint.stats() });
      });
      break;
  }
});
