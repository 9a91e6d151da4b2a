import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { type Clock, sleep, systemClock } from './clock.js';
import { type DeliveryThread, type LibraryOptions, resolveQueueOptions } from './config/index.js';

import type { EndpointConfig, PromspoolConfig } from './config/types.js';
import { createEndpoint, type Endpoint, type EndpointOptions } from './endpoint/endpoint.js';
import { createThreadedEndpoint } from './endpoint/threaded-endpoint.js';
import { ClosedError } from './errors.js';
import { type DirLock, lockQueueDir } from './filequeue/dir-lock.js';
import { createFileQueue } from './filequeue/index.js';
import type { FileQueue } from './filequeue/types.js';
import { type Logger, silentLogger } from './logger.js';
import { remoteStorageMetrics } from './metrics/remote-storage-metrics.js';
import type {
  Appender,
  EndpointDetails,
  EndpointStats,
  ManagedQueue,
  Queue,
  QueueStats,
  SeriesRef,
} from './queue-types.js';
import { redactUrl } from './redact.js';
import type { IngestRelabelPlan } from './relay/ingest-relabel.js';
import { ingestRelabelPlan, RelayGrouping } from './relay/relay-route.js';
import type { AppendBatch } from './serialization/append-batch.js';
import { createAppender } from './serialization/appender.js';
import { countRecordSignals, decodeRecord } from './serialization/record-codec.js';
import { createSerializer, type Serializer } from './serialization/serializer.js';
import { createSeriesRegistry, type SeriesRegistry } from './serialization/series.js';
import type { Labels, SignalRecord } from './serialization/types.js';

/**
 * Committed batches that may wait for one endpoint's Serializer. Each holds one appender's
 * commit (typically a scrape or a receiver request), so 64 waiting commits are enough for the
 * group commit to gather everything that arrived during one write+fsync, while a stalled disk
 * stops callers after 64 commits instead of buffering without bound.
 */
const SERIALIZER_MAILBOX = 64;

export interface QueueDeps {
  registry?: Registry;
  logger?: Logger;
  clock?: Clock;
  /** promspool's version, for the User-Agent. */
  version?: string;
  /**
   * See `LibraryOptions.deliveryThread`; unset, {@link defaultDeliveryWorkers} endpoints get a
   * worker and the others deliver on the event loop. Always `event-loop` with a `clock`.
   */
  deliveryThread?: DeliveryThread;
  /**
   * How many endpoints deliver from a worker when `deliveryThread` is unset (default
   * {@link defaultDeliveryWorkers}): the daemon leaves out the CPU its relay scan worker takes.
   */
  deliveryWorkers?: number;
}

/**
 * How many endpoints deliver from a worker when `deliveryThread` is not set: one CPU is left to
 * the event loop, so on 2 CPUs one endpoint gets a worker, and on one CPU none (a worker there
 * only adds copying). Each worker costs ~30 MB of RSS, which a dozen endpoints on a small
 * machine should not pay for threads that cannot run at once.
 */
export function defaultDeliveryWorkers(): number {
  return Math.max(0, availableParallelism() - 1);
}

/**
 * Creates a durable remote-write queue: appends are written to disk under `dataDir/<endpoint
 * name>/` and delivered in the background to every endpoint, in order per series.
 *
 * @example
 * ```ts
 * const queue = await createQueue({ dataDir: './data', endpoints: [{ name: 'local', url: 'http://127.0.0.1:9090/api/v1/write' }] });
 * const app = queue.appender();
 * app.append({ __name__: 'up', job: 'app' }, Date.now(), 1);
 * await app.commit();
 * await queue.stop();
 * ```
 * @throws InvalidConfigError (code `ERR_INVALID_CONFIG`) listing every invalid option with its path.
 */
export async function createQueue(options: LibraryOptions): Promise<Queue> {
  const config = resolveQueueOptions(options);
  return createManagedQueue(config, {
    registry: options.registry,
    logger: options.logger,
    ...(options.deliveryThread === undefined ? {} : { deliveryThread: options.deliveryThread }),
  });
}

/** Internal: the queue the daemon runs, with config reload. */
export async function createManagedQueue(config: PromspoolConfig, deps: QueueDeps = {}): Promise<ManagedQueue> {
  const queue = new SpoolQueue(config, deps);
  await queue.start();
  return queue;
}

/** Everything one endpoint owns: its directory's FileQueue, its Serializer and its read side. */
class EndpointRuntime {
  private constructor(
    readonly config: EndpointConfig,
    private readonly lock: DirLock,
    readonly fileQueue: FileQueue,
    readonly serializer: Serializer,
    readonly endpoint: Endpoint,
    readonly deliveryThread: DeliveryThread,
  ) {}

  static async start(
    ep: EndpointConfig,
    config: PromspoolConfig,
    registry: Registry,
    logger: Logger,
    clock: Clock,
    version: string,
    deliveryThread: DeliveryThread,
  ): Promise<EndpointRuntime> {
    const log = logger.child({ endpoint: ep.name });
    const s = config.storage;
    const dir = join(s.path, ep.name);
    const lock = lockQueueDir(dir);
    let fileQueue: FileQueue;
    try {
      fileQueue = await createFileQueue({
        dir,
        maxSignalsPerSegment: s.maxSignalsToBatch,
        batchIntervalMs: s.batchIntervalMs,
        fsync: s.fsync,
        fsyncIntervalMs: s.fsyncIntervalMs,
        maxDiskBytes: s.maxDiskBytes,
        onDiskFull: s.onDiskFull,
        clock,
        logger: log,
        countSignals: countRecordSignals,
      });
    } catch (err) {
      lock.release();
      throw err;
    }
    const serializer = createSerializer({ fileQueue, mailboxCapacity: SERIALIZER_MAILBOX, logger: log });
    // stateDir: a 2.0 endpoint remembers a fallback to 1.0 in its queue directory.
    const common = {
      config: ep,
      fileQueue,
      ttlMs: s.ttlMs,
      externalLabels: config.externalLabels,
      version,
      stateDir: dir,
    };
    const inProcess: EndpointOptions = { ...common, decodeRecord: decodeDeferred, clock, logger: log };
    const endpoint =
      deliveryThread === 'worker'
        ? createThreadedEndpoint({
            ...common,
            logger: log,
            metrics: remoteStorageMetrics(registry),
            fallback: (observeBatchDuration) =>
              createEndpoint({ ...inProcess, ...(observeBatchDuration ? { observeBatchDuration } : {}) }),
          })
        : createEndpoint({ ...inProcess, metrics: remoteStorageMetrics(registry) });
    log.info('endpoint started', { url: redactUrl(ep.url), dir, delivery_thread: deliveryThread });
    return new EndpointRuntime(ep, lock, fileQueue, serializer, endpoint, deliveryThread);
  }

  /**
   * Two-phase stop. Soft: write what is queued, seal the open segment and keep delivering until
   * nothing is pending, the receiver fails (a failed attempt means waiting would only burn the
   * deadline: the data is safe on disk) or `timeoutMs` passes. Hard: stop the network, abandoning
   * requests still in flight (they stay unacknowledged on disk and are sent again on the next start).
   */
  async stop(timeoutMs: number, logger: Logger, clock: Clock, drain: boolean): Promise<void> {
    const deadline = clock.now() + timeoutMs;
    await this.serializer.stop();
    await this.fileQueue.seal();
    await this.fileQueue.flush();
    // A reload restarts the endpoint on the same directory at once: no point delivering the backlog first.
    const drained = drain ? await this.drain(deadline, clock) : false;
    const res = await this.endpoint.stop({ timeoutMs: Math.max(0, deadline - clock.now()) });
    await this.fileQueue.close();
    this.lock.release();
    const left = this.fileQueue.stats();
    logger.info('endpoint stopped', {
      endpoint: this.config.name,
      drained,
      segments_left: left.segments,
      abandoned_portions: res.abandonedPortions.length,
      unreleased_segments: res.unreleasedSegments.length,
    });
  }

  /** Waits until every segment is released; false if the receiver failed or the deadline came first. */
  private async drain(deadline: number, clock: Clock): Promise<boolean> {
    const failedAtStart = this.receiverHealth().failedAttempts;
    while (this.fileQueue.stats().segments > 0) {
      const health = this.receiverHealth();
      if (clock.now() >= deadline || health.backoff || health.failedAttempts > failedAtStart) return false;
      // Shutdown-only polling: the endpoint has no "idle" event, and 20 ms is far below any deadline.
      await sleep(clock, Math.min(20, Math.max(1, deadline - clock.now())), undefined, true);
    }
    return true;
  }

  private receiverHealth(): { failedAttempts: number; backoff: boolean } {
    let failedAttempts = 0;
    let backoff = false;
    for (const l of this.endpoint.stats().network.loops) {
      failedAttempts += l.failedAttempts;
      backoff ||= l.state === 'backoff';
    }
    return { failedAttempts, backoff };
  }

  details(): EndpointDetails {
    return { name: this.config.name, delivery: this.endpoint.stats(), disk: this.fileQueue.stats() };
  }

  stats(): EndpointStats {
    const d = this.endpoint.stats();
    const fq = this.fileQueue.stats();
    const dropped: Record<string, number> = { ...d.samples.dropped };
    Object.assign(dropped, fq.droppedSignalsByReason);
    if (d.corruptRecords > 0) dropped.corrupt_records = d.corruptRecords;
    return {
      name: this.config.name,
      url: redactUrl(this.config.url),
      pendingSegments: fq.segments,
      pendingBytes: fq.diskBytes,
      pendingSamples: Math.max(fq.pendingSignals, d.pendingSignals),
      oldestPendingTimestampMs: d.oldestPendingTimestampMs,
      highestTimestampMs: d.highestReadTimestampMs,
      highestSentTimestampMs: d.highestSentTimestampMs,
      samplesSent: d.samples.sent,
      samplesDropped: dropped,
      samplesRetried: d.samples.retried,
      lastError: d.lastError,
    };
  }
}

/** Same endpoint, same settings: a reload leaves it running untouched. */
function sameEndpoint(a: EndpointConfig, b: EndpointConfig): boolean {
  return JSON.stringify(a, withBigInts) === JSON.stringify(b, withBigInts);
}

/** A hashmod rule's `modulus` is a bigint, which JSON.stringify refuses by default. */
function withBigInts(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

class SpoolQueue implements ManagedQueue {
  readonly registry: Registry;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly version: string;
  /** `deliveryThread` as asked; undefined: the first `deliveryWorkers` endpoints get a worker. */
  private readonly deliveryThread: DeliveryThread | undefined;
  private readonly deliveryWorkers: number;
  /** Names are validated by the scheme the queue started with (cached handles were validated by it). */
  private readonly series_: SeriesRegistry;
  private config: PromspoolConfig;
  private runtimes = new Map<string, EndpointRuntime>();
  /** {@link rawRecordGroups} for the endpoints in `runtimes`; undefined after they change. */
  private relayGroups: RelayGrouping | undefined;
  /** {@link ingestRelabel} for the endpoints in `runtimes` (null: none); undefined after they change. */
  private ingestRelabelPlan: IngestRelabelPlan | null | undefined;
  private stopping: Promise<void> | undefined;
  private started = false;
  /** Serializes start/applyConfig/stop so a reload never races a shutdown. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  /**
   * Set while a reload swaps runtimes. A commit arriving then waits for it: a changed endpoint is
   * briefly absent from `runtimes`, and fanning out without it would acknowledge data that endpoint
   * never gets (with a single endpoint, data written nowhere).
   */
  private reconfiguring: Promise<void> | undefined;

  constructor(config: PromspoolConfig, deps: QueueDeps) {
    this.config = config;
    this.series_ = createSeriesRegistry({ nameValidationScheme: config.nameValidationScheme });
    this.registry = deps.registry ?? new Registry();
    this.logger = deps.logger ?? silentLogger;
    this.clock = deps.clock ?? systemClock;
    this.version = deps.version ?? '0.1.0';
    // A worker cannot run on an injected clock: tests that pass one keep delivery here.
    this.deliveryThread = deps.clock !== undefined ? 'event-loop' : deps.deliveryThread;
    this.deliveryWorkers = deps.deliveryWorkers ?? defaultDeliveryWorkers();
  }

  get ready(): boolean {
    return this.started && this.stopping === undefined;
  }

  async start(): Promise<void> {
    try {
      for (const ep of this.config.remoteWrite) {
        this.runtimes.set(ep.name, await this.startRuntime(ep, this.config));
      }
    } catch (err) {
      // A half-started queue must not leave files open or loops running.
      await Promise.allSettled([...this.runtimes.values()].map((r) => r.stop(0, this.logger, this.clock, false)));
      this.runtimes.clear();
      throw err;
    } finally {
      this.relayGroups = undefined;
      this.ingestRelabelPlan = undefined;
    }
    this.started = true;
  }

  private startRuntime(ep: EndpointConfig, config: PromspoolConfig): Promise<EndpointRuntime> {
    return EndpointRuntime.start(ep, config, this.registry, this.logger, this.clock, this.version, this.threadFor());
  }

  /** Where the next endpoint started delivers: as asked, or a worker while fewer than the default run. */
  private threadFor(): DeliveryThread {
    if (this.deliveryThread !== undefined) return this.deliveryThread;
    let workers = 0;
    for (const rt of this.runtimes.values()) if (rt.deliveryThread === 'worker') workers++;
    return workers < this.deliveryWorkers ? 'worker' : 'event-loop';
  }

  appender(): Appender {
    return createAppender({ registry: this.series_, submit: (batch) => this.submit(batch) });
  }

  series(labels: Labels): SeriesRef {
    return this.series_.resolve(labels);
  }

  /** Fans one committed batch out to every endpoint; resolves once durable in all of them. */
  private submit(batch: AppendBatch): Promise<void> {
    if (this.stopping !== undefined) return Promise.reject(new ClosedError('queue'));
    if (this.reconfiguring !== undefined) return this.reconfiguring.then(() => this.submit(batch));
    const rts = [...this.runtimes.values()];
    if (rts.length === 1) return rts[0]!.serializer.submit(batch);
    // allSettled, not all: the appender reuses the batch as soon as this settles, so every
    // serializer must be done with it even when one endpoint fails fast (e.g. DiskFullError).
    return Promise.allSettled(rts.map((r) => r.serializer.submit(batch))).then((results) => {
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    });
  }

  appendRecord(payload: Uint8Array, signals: number): Promise<void> {
    if (this.stopping !== undefined) return Promise.reject(new ClosedError('queue'));
    if (this.reconfiguring !== undefined) return this.reconfiguring.then(() => this.appendRecord(payload, signals));
    const rts = [...this.runtimes.values()];
    if (rts.length === 1) return rts[0]!.fileQueue.append(payload, signals);
    return Promise.allSettled(rts.map((r) => r.fileQueue.append(payload, signals))).then((results) => {
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    });
  }

  get rawRecordGroups(): number {
    // The relay route decides (1 group, 16, or 64 while an endpoint catches up) from the endpoints
    // running; asked per relayed request, so kept until the endpoints change.
    this.relayGroups ??= new RelayGrouping(
      [...this.runtimes.values()].map((rt) => ({
        config: rt.config,
        pendingSignals: () => rt.fileQueue.stats().pendingSignals,
        loops: () => rt.endpoint.stats().network.shards,
      })),
      this.config.externalLabels,
    );
    return this.relayGroups.groups(this.clock.now());
  }

  get ingestRelabel(): IngestRelabelPlan | undefined {
    // The relay route decides (src/relay/relay-route.ts); asked per relayed request, so kept
    // until the endpoints change (null: decided, none).
    if (this.ingestRelabelPlan === undefined)
      this.ingestRelabelPlan =
        ingestRelabelPlan(
          [...this.runtimes.values()].map((rt) => rt.config),
          this.config.externalLabels,
        ) ?? null;
    return this.ingestRelabelPlan ?? undefined;
  }

  get storesRawRequests(): boolean {
    // Every sender copes with kind-2 records (external labels are merged into their label bytes;
    // write relabel rules are applied at ingest or at send time, see src/relay/relay-route.ts).
    return true;
  }

  async flush(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.fileQueue.flush()));
  }

  stats(): QueueStats {
    return { endpoints: [...this.runtimes.values()].map((r) => r.stats()) };
  }

  endpointDetails(): EndpointDetails[] {
    return [...this.runtimes.values()].map((r) => r.details());
  }

  applyConfig(next: PromspoolConfig): Promise<void> {
    const run = this.lifecycle.then(async () => {
      let done!: () => void;
      const gate = new Promise<void>((resolve) => {
        done = resolve;
      });
      this.reconfiguring = gate;
      try {
        await this.reconfigure(next);
      } finally {
        this.relayGroups = undefined;
        this.ingestRelabelPlan = undefined;
        this.reconfiguring = undefined;
        done();
      }
    });
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private async reconfigure(next: PromspoolConfig): Promise<void> {
    if (this.stopping !== undefined) throw new ClosedError('queue');
    const globalChanged =
      JSON.stringify(next.storage) !== JSON.stringify(this.config.storage) ||
      JSON.stringify(next.externalLabels) !== JSON.stringify(this.config.externalLabels);
    const timeout = next.server.shutdownTimeoutMs;
    const wanted = new Map(next.remoteWrite.map((e) => [e.name, e]));
    for (const [name, rt] of this.runtimes) {
      const ep = wanted.get(name);
      if (ep !== undefined && !globalChanged && sameEndpoint(ep, rt.config)) continue;
      // Removed or changed: stop it. Its directory stays: a removed endpoint's backlog is kept for
      // an operator to inspect or re-add; a changed one restarts on the same directory below.
      this.runtimes.delete(name);
      await rt.stop(timeout, this.logger, this.clock, false);
      if (ep === undefined) {
        this.logger.warn('endpoint removed; its queue directory is kept', {
          endpoint: name,
          dir: join(this.config.storage.path, name),
        });
      }
    }
    this.config = next;
    for (const ep of next.remoteWrite) {
      if (!this.runtimes.has(ep.name)) this.runtimes.set(ep.name, await this.startRuntime(ep, next));
    }
  }

  stop(): Promise<void> {
    if (this.stopping === undefined) {
      this.stopping = this.lifecycle.then(async () => {
        const timeout = this.config.server.shutdownTimeoutMs;
        await Promise.all([...this.runtimes.values()].map((r) => r.stop(timeout, this.logger, this.clock, true)));
      });
    }
    return this.stopping;
  }
}

/** The endpoint's decoder: a relayed record's body is uncompressed only if it is not sent as its groups. */
function decodeDeferred(payload: Uint8Array): SignalRecord {
  return decodeRecord(payload, { deferRawBody: true });
}
