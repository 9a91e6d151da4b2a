/**
 * An endpoint whose read side and network run in a worker thread (`delivery-worker.ts`), while
 * the FileQueue stays on the event loop with the appenders and the Serializer.
 *
 * Why: in-process, delivery (record decode, request encode, snappy, HTTP) is about half of the
 * event loop's work, so a busy appender and a busy sender queue behind each other on one core.
 * With the worker, the event loop only appends, writes and reads files, and applies acks.
 *
 * The FileQueue is not shared: the worker asks for each segment (`next`), which is read here and
 * moved to it (its buffer is transferred, not copied); acks and releases come back batched per
 * turn of the worker's loop, in order, with the stats as they are after them (and every 200 ms on
 * their own, for retries and backoff). So `stats()` agrees with the FileQueue here and trails a
 * delivery by one message: a caller who saw the receiver get a sample may read `stats()` a moment
 * before it counts that sample as sent. If the worker dies, an endpoint on the event loop takes over; the segments the
 * worker held stay on disk unreleased and are sent again after the next start (at least once).
 */
import { Worker } from 'node:worker_threads';
import type { ActorState } from '../actors/types.js';
import type { EndpointConfig } from '../config/types.js';
import type { FileQueue, Segment } from '../filequeue/types.js';
import { type Logger, silentLogger } from '../logger.js';
import type {
  EndpointMetrics,
  RemoteStorageMetrics,
  RemoteStorageSnapshot,
} from '../metrics/remote-storage-metrics.js';
import { BACKLOG_LOG_MESSAGES } from './delivery-health-log.js';
import type { DeliveryWorkerInit, FromWorker, SegmentMessage, ToWorker } from './delivery-protocol.js';
import {
  type Endpoint,
  type EndpointDeliveryStats,
  type EndpointStopResult,
  emptyTotals,
  endpointMetricsSnapshot,
} from './endpoint.js';

export interface ThreadedEndpointOptions {
  config: EndpointConfig;
  fileQueue: FileQueue;
  ttlMs: number;
  externalLabels: Record<string, string>;
  logger?: Logger;
  metrics?: RemoteStorageMetrics;
  version?: string;
  /** The endpoint's queue directory (see `EndpointOptions.stateDir`). */
  stateDir?: string;
  /** The endpoint on the event loop that takes over if the worker dies (without `metrics`: they stay attached here). */
  fallback: (observeBatchDuration: ((seconds: number) => void) | undefined) => Endpoint;
  /** For tests: the worker script (default delivery-worker.js beside this module). */
  workerUrl?: URL;
}

/**
 * The one ArrayBuffer every record of a segment lies in, when it can be moved to the worker
 * instead of copied: the FileQueue reads a segment into a buffer of its own and keeps no
 * reference once it hands the segment out. A buffer no larger than `Buffer.poolSize` may be a
 * pool slab shared with other Buffers, so it is copied.
 */
function movableBuffer(records: readonly (Uint8Array | null)[]): ArrayBuffer | undefined {
  let ab: ArrayBufferLike | undefined;
  for (const r of records) {
    if (r === null) continue;
    if (ab === undefined) ab = r.buffer;
    else if (r.buffer !== ab) return undefined;
  }
  if (ab === undefined || !(ab instanceof ArrayBuffer) || ab.byteLength <= Buffer.poolSize) return undefined;
  return ab;
}

/** Creates an endpoint delivering from a worker thread; see the module comment. */
export function createThreadedEndpoint(opts: ThreadedEndpointOptions): Endpoint {
  return new ThreadedEndpoint(opts);
}

function initialStats(config: EndpointConfig): EndpointDeliveryStats {
  return {
    name: config.name,
    url: config.url,
    state: 'starting',
    segmentsRead: 0,
    segmentsReleased: 0,
    segmentsInMemory: 0,
    portionsSent: 0,
    portionsDropped: 0,
    portionsSkipped: 0,
    corruptRecords: 0,
    recordsCoalesced: 0,
    samples: emptyTotals(),
    histograms: emptyTotals(),
    exemplars: emptyTotals(),
    pendingSignals: 0,
    bytes: 0,
    highestReadTimestampMs: 0,
    highestSentTimestampMs: 0,
    oldestPendingTimestampMs: 0,
    metadataFamilies: 0,
    // The network runs `min_shards` loops from its start (no dynamic resharding).
    network: { shards: Math.max(1, config.queue.minShards), loops: [], metadata: { sent: 0, failed: 0, requests: 0 } },
  };
}

class ThreadedEndpoint implements Endpoint {
  readonly name: string;
  private readonly worker: Worker;
  private readonly log: Logger;
  private readonly metricsHandle: EndpointMetrics | undefined;
  private latest: EndpointDeliveryStats;
  /** `next` requests of the worker being served: each can be aborted. */
  private readonly nexts = new Map<number, AbortController>();
  /** Set once the worker died: the event-loop endpoint delivering instead. */
  private fallback: Endpoint | undefined;
  private stopping: Promise<EndpointStopResult> | undefined;
  private stoppedWith: ((r: EndpointStopResult) => void) | undefined;
  private exited = false;

  constructor(private readonly opts: ThreadedEndpointOptions) {
    const { config } = opts;
    this.name = config.name;
    this.log = (opts.logger ?? silentLogger).child({ remote_name: config.name });
    this.latest = initialStats(config);
    this.metricsHandle = opts.metrics?.attach({ remoteName: config.name, url: config.url }, () =>
      this.metricsSnapshot(),
    );
    const init: DeliveryWorkerInit = {
      config,
      ttlMs: opts.ttlMs,
      externalLabels: opts.externalLabels,
      ...(opts.version === undefined ? {} : { version: opts.version }),
      ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }),
    };
    this.worker = new Worker(opts.workerUrl ?? new URL('./delivery-worker.js', import.meta.url), { workerData: init });
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => this.lost(err));
    this.worker.on('exit', (code) => this.lost(new Error(`delivery worker exited with code ${code}`)));
    // Like an in-process endpoint, delivery alone does not keep the process alive; stop() does.
    this.worker.unref();
  }

  get state(): ActorState {
    return this.fallback?.state ?? this.latest.state;
  }

  stats(): EndpointDeliveryStats {
    return this.fallback?.stats() ?? this.latest;
  }

  metricsSnapshot(): RemoteStorageSnapshot {
    return endpointMetricsSnapshot(this.stats(), this.opts.fileQueue.stats(), this.opts.config);
  }

  stop(opts: { timeoutMs: number }): Promise<EndpointStopResult> {
    if (this.stopping === undefined) this.stopping = this.stopOnce(opts.timeoutMs);
    return this.stopping;
  }

  private async stopOnce(timeoutMs: number): Promise<EndpointStopResult> {
    let result: EndpointStopResult;
    if (this.fallback === undefined) {
      this.worker.ref();
      const stopped = new Promise<EndpointStopResult>((resolve) => {
        this.stoppedWith = resolve;
      });
      this.post({ t: 'stop', timeoutMs });
      result = await stopped;
      this.exited = true;
      for (const ac of this.nexts.values()) ac.abort();
      await this.worker.terminate();
    }
    if (this.fallback !== undefined) result = await this.fallback.stop({ timeoutMs });
    this.metricsHandle?.detach();
    return result!;
  }

  private post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.t) {
      case 'next':
        void this.serveNext(msg.req);
        break;
      case 'abortNext':
        this.nexts.get(msg.req)?.abort();
        break;
      case 'progress': {
        const fq = this.opts.fileQueue;
        const a = msg.acks;
        for (let i = 0; i < a.length; i += 3) fq.ack(a[i], a[i + 1], a[i + 2]);
        for (const id of msg.releases) fq.release(id);
        const h = this.metricsHandle;
        if (h !== undefined) for (const d of msg.batchDurations) h.observeBatchDuration(d);
        if (msg.stats !== undefined) this.latest = msg.stats;
        break;
      }
      case 'log':
        // The worker has no FileQueue to read the backlog on disk from: it is added here.
        if (BACKLOG_LOG_MESSAGES.has(msg.msg)) {
          this.log[msg.level](msg.msg, { ...msg.fields, backlog_samples: this.opts.fileQueue.stats().pendingSignals });
        } else {
          this.log[msg.level](msg.msg, msg.fields);
        }
        break;
      case 'stopped':
        this.latest = msg.stats;
        this.stoppedWith?.(msg.result);
        break;
    }
  }

  private async serveNext(req: number): Promise<void> {
    const ac = new AbortController();
    this.nexts.set(req, ac);
    let seg: Segment | null;
    try {
      seg = await this.opts.fileQueue.next(ac.signal, () => {
        if (!this.exited) this.post({ t: 'waiting', req });
      });
    } catch (err) {
      // The FileQueue closed under the reader: the worker's endpoint sees "no more segments".
      this.log.warn('delivery worker: reading the next segment failed', { err: String(err) });
      seg = null;
    } finally {
      this.nexts.delete(req);
    }
    if (this.exited) return;
    const segment: SegmentMessage | null =
      seg === null
        ? null
        : {
            id: seg.id,
            records: seg.records as (Uint8Array | null)[],
            acked: seg.acked as Map<number, Set<number>>,
            corruptRecords: seg.corruptRecords,
            ...(seg.compression === undefined ? {} : { compression: seg.compression }),
          };
    const moved = segment === null ? undefined : movableBuffer(segment.records);
    this.worker.postMessage({ t: 'segment', req, segment } satisfies ToWorker, moved === undefined ? [] : [moved]);
  }

  /** The worker failed or exited unasked: an endpoint on the event loop delivers from now on. */
  private lost(err: Error): void {
    if (this.exited) return;
    this.exited = true;
    for (const ac of this.nexts.values()) ac.abort();
    this.log.error('delivery worker failed; delivering on the event loop from now on', {
      err: String(err),
      held_segments: this.latest.segmentsInMemory,
    });
    const h = this.metricsHandle;
    this.fallback = this.opts.fallback(h === undefined ? undefined : (s) => h.observeBatchDuration(s));
    // A stop waiting for the worker's answer gets the fallback's instead.
    if (this.stoppedWith !== undefined) {
      const resolve = this.stoppedWith;
      this.stoppedWith = undefined;
      void this.fallback.stop({ timeoutMs: 0 }).then(resolve);
    }
  }
}
