import { type Clock, sleep, systemClock } from '../clock.js';
import { DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS } from '../config/defaults.js';
import type { EndpointConfig } from '../config/types.js';
import { ClosedError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { MetadataEntry } from '../serialization/types.js';
import { compressBlock } from '../wire/snappy.js';
import type { ProtobufMessage, WriteRequestEncoder } from '../wire/types.js';
import { createRemoteWriteClient, type RemoteWriteClient } from './http-client.js';
import { ProtocolNegotiation, type ProtocolNegotiationStats } from './protocol-negotiation.js';
import { classifyStatus, parseRetryAfterMs, retryDelayMs } from './retry-policy.js';
import { type DeliveryEvents, type SendLoop, startSendLoop } from './send-loop.js';
import {
  type PortionDoneCallback,
  type PortionRef,
  type SendLoopStats,
  type SendWork,
  VIRTUAL_SHARDS,
  virtualShardOf,
} from './types.js';

export interface NetworkManagerOptions {
  config: EndpointConfig;
  /**
   * One encoder per SendLoop and message (and one for metadata): an encoder's output views its
   * own scratch buffer. Asked for `io.prometheus.write.v2.Request` only by an endpoint configured
   * with it (which sends 1.0 too after a fallback).
   */
  createEncoder: (message: ProtobufMessage) => WriteRequestEncoder;
  /**
   * 2.0 endpoints: the latest metadata of every family, sent inline with the series it names
   * (with `metadata_config.send`). Default none.
   */
  metadata?: () => readonly MetadataEntry[];
  /** 2.0 endpoints: the queue directory where a fallback to 1.0 is persisted (default: not persisted). */
  stateDir?: string;
  onPortionDone: PortionDoneCallback;
  /** Snappy block compression returning an owned buffer. Default: the wire's `compressBlock`. */
  compress?: (body: Uint8Array) => Uint8Array;
  /** promspool's version for the User-Agent. Default `0.1.0`. */
  version?: string;
  /** Per SendLoop mailbox capacity in SendWork (default 64). */
  mailboxCapacity?: number;
  observeBatchDuration?: (seconds: number) => void;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  /** Told of every loop's failures, drops and deliveries (see `SendLoopOptions.events`). */
  events?: DeliveryEvents;
}

export interface NetworkStopResult {
  /** Portions handed to the network and not finished: unacknowledged, so sent again after a restart. */
  abandonedPortions: PortionRef[];
}

export interface MetadataStats {
  /** Metadata entries delivered. */
  sent: number;
  /** Entries in metadata requests the receiver refused (4xx). */
  failed: number;
  requests: number;
}

export interface NetworkStats {
  shards: number;
  loops: SendLoopStats[];
  metadata: MetadataStats;
  /** The protocol negotiation of an endpoint configured with 2.0. */
  protocol?: ProtocolNegotiationStats;
}

/**
 * Outcome of one metadata send. `stopped`: the manager stopped before it was delivered.
 * `inline`: the endpoint sends 2.0, whose metadata travels with its series: nothing was sent.
 */
export type MetadataSendResult = 'sent' | 'dropped' | 'stopped' | 'inline';

/**
 * Shards one endpoint's traffic over SendLoops. Every series goes to its virtual shard's loop,
 * always the same one, so per-series order is kept across loops.
 */
export interface NetworkManager {
  /** Number of SendLoops. */
  readonly shards: number;
  /** Index of the loop that owns virtual shard `vshard`. */
  loopOf(vshard: number): number;
  /**
   * Hands work to its loop: `undefined` when the loop's mailbox took it at once (no promise made),
   * else a promise that waits while the mailbox is full (backpressure). Rejects with
   * `ClosedError` once stopping.
   */
  sendOrWait(work: SendWork): Promise<void> | undefined;
  /** Every loop sends what it holds without waiting for its batch deadline (see `SendLoop.flush`). */
  flush(): void;
  /**
   * Sends a metadata-only request (outside the SendLoops: metadata has no order to keep), retrying
   * like a SendLoop until delivered, refused, or the manager stops. Calls run one at a time, in
   * call order.
   */
  sendMetadata(entries: readonly MetadataEntry[]): Promise<MetadataSendResult>;
  /**
   * Two-phase stop of every loop (see `SendLoop.stop`) with one deadline, then closes the
   * connections. Later calls return the first result.
   */
  stop(opts: { timeoutMs: number }): Promise<NetworkStopResult>;
  stats(): NetworkStats;
}

/**
 * Creates the manager of one endpoint with `queue.minShards` SendLoops sharing one connection pool
 * of `queue.maxShards` connections (room for the resharding to come).
 */
export function createNetworkManager(opts: NetworkManagerOptions): NetworkManager {
  return new ShardedNetwork(opts);
}

const DEFAULT_VERSION = '0.1.0';

class ShardedNetwork implements NetworkManager {
  private readonly opts: NetworkManagerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly client: RemoteWriteClient;
  private readonly loops: SendLoop[] = [];
  /**
   * The one place that maps virtual shards to loops. Resharding will rewrite entries of this table
   * (after draining the loops that lose them); nothing else may compute a loop index.
   */
  private readonly vshardToLoop = new Uint16Array(VIRTUAL_SHARDS);
  private readonly metadataEncoder: WriteRequestEncoder;
  /** Set when the endpoint is configured with 2.0: shared by every loop. */
  private readonly negotiation: ProtocolNegotiation | undefined;
  private readonly compress: (body: Uint8Array) => Uint8Array;
  private readonly stopSignal = new AbortController();
  private metadataChain: Promise<unknown> = Promise.resolve();
  private readonly metadata: MetadataStats = { sent: 0, failed: 0, requests: 0 };
  private stopping: Promise<NetworkStopResult> | undefined;

  constructor(opts: NetworkManagerOptions) {
    this.opts = opts;
    const { config } = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ remote_name: config.name });
    this.compress = opts.compress ?? compressBlock;
    const shards = Math.max(1, config.queue.minShards);
    this.client = createRemoteWriteClient({
      config,
      connections: Math.max(shards, config.queue.maxShards) + 1, // +1: the metadata request
      version: opts.version ?? DEFAULT_VERSION,
      clock: this.clock,
      logger: this.log,
    });
    const v2 = config.protobufMessage === 'io.prometheus.write.v2.Request';
    this.negotiation = v2
      ? new ProtocolNegotiation({
          configured: config.protobufMessage,
          probeIntervalMs: config.protobufMessageProbeIntervalMs ?? DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS,
          ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }),
          clock: this.clock,
          logger: this.log,
        })
      : undefined;
    const metadata = opts.metadata ?? (() => NO_METADATA);
    for (let i = 0; i < shards; i++) {
      const negotiation =
        this.negotiation === undefined
          ? undefined
          : { state: this.negotiation, encoderV2: opts.createEncoder('io.prometheus.write.v2.Request'), metadata };
      this.loops.push(
        startSendLoop({
          name: `${config.name}/shard-${i}`,
          queue: config.queue,
          remoteTimeoutMs: config.remoteTimeoutMs,
          client: this.client,
          // A 2.0 endpoint's 1.0 encoder is for after a fallback.
          encoder: opts.createEncoder(v2 ? 'prometheus.WriteRequest' : config.protobufMessage),
          ...(negotiation === undefined ? {} : { negotiation }),
          compress: this.compress,
          onPortionDone: opts.onPortionDone,
          ...(opts.observeBatchDuration === undefined ? {} : { observeBatchDuration: opts.observeBatchDuration }),
          ...(opts.mailboxCapacity === undefined ? {} : { mailboxCapacity: opts.mailboxCapacity }),
          clock: this.clock,
          logger: opts.logger ?? silentLogger,
          ...(opts.random === undefined ? {} : { random: opts.random }),
          ...(opts.events === undefined ? {} : { events: opts.events }),
        }),
      );
    }
    for (let v = 0; v < VIRTUAL_SHARDS; v++) this.vshardToLoop[v] = v % shards;
    // Metadata requests exist in 1.0 only (2.0 sends it inline): a 2.0 endpoint sends them after a fallback.
    this.metadataEncoder = opts.createEncoder('prometheus.WriteRequest');
  }

  get shards(): number {
    return this.loops.length;
  }

  loopOf(vshard: number): number {
    return this.vshardToLoop[virtualShardOf(vshard)];
  }

  sendOrWait(work: SendWork): Promise<void> | undefined {
    return this.loops[this.vshardToLoop[work.portion.vshard]].sendOrWait(work);
  }

  flush(): void {
    for (const l of this.loops) l.flush();
  }

  sendMetadata(entries: readonly MetadataEntry[]): Promise<MetadataSendResult> {
    const next = this.metadataChain.then(() => this.sendMetadataNow(entries));
    this.metadataChain = next.catch(() => undefined);
    return next;
  }

  stop(opts: { timeoutMs: number }): Promise<NetworkStopResult> {
    if (this.stopping === undefined) this.stopping = this.stopOnce(opts.timeoutMs);
    return this.stopping;
  }

  stats(): NetworkStats {
    return {
      shards: this.loops.length,
      loops: this.loops.map((l) => l.stats()),
      metadata: { ...this.metadata },
      ...(this.negotiation === undefined ? {} : { protocol: this.negotiation.stats() }),
    };
  }

  private async stopOnce(timeoutMs: number): Promise<NetworkStopResult> {
    this.stopSignal.abort(new ClosedError(`network of ${this.opts.config.name}`));
    const results = await Promise.all(this.loops.map((l) => l.stop({ timeoutMs })));
    await this.metadataChain;
    await this.client.destroy().catch(() => undefined);
    const abandonedPortions: PortionRef[] = [];
    for (const r of results) abandonedPortions.push(...r.abandonedPortions);
    return { abandonedPortions };
  }

  private async sendMetadataNow(entries: readonly MetadataEntry[]): Promise<MetadataSendResult> {
    const q = this.opts.config.queue;
    const stop = this.stopSignal.signal;
    if (entries.length === 0) return 'sent';
    // On 2.0 the metadata went with the series; after a fallback to 1.0 it needs its requests again.
    // (Only the send loops move the protocol, a probe included: this only looks.)
    if (this.negotiation?.protobufMessage === 'io.prometheus.write.v2.Request') return 'inline';
    const body = this.compress(this.metadataEncoder.encode([], 0, entries));
    for (let retry = 1; !stop.aborted; retry++) {
      const ac = new AbortController();
      const onStop = () => ac.abort(stop.reason);
      stop.addEventListener('abort', onStop, { once: true });
      const timer = this.clock.setTimeout(
        () => ac.abort(new Error('metadata request timed out')),
        this.opts.config.remoteTimeoutMs,
      );
      let retryAfterMs: number | undefined;
      try {
        const res = await this.client.post(body, ac.signal, 'prometheus.WriteRequest');
        this.metadata.requests++;
        const verdict = classifyStatus(res.status, q.retryOnHttp429);
        if (verdict === 'success') {
          this.metadata.sent += entries.length;
          return 'sent';
        }
        if (verdict === 'drop') {
          this.metadata.failed += entries.length;
          this.log.warn('remote write refused metadata, dropping it', { status: res.status, message: res.message });
          return 'dropped';
        }
        retryAfterMs = parseRetryAfterMs(res.retryAfter, this.clock.now());
      } catch (err) {
        if (stop.aborted) break;
        this.log.debug('metadata request failed, retrying', { err: String(err) });
      } finally {
        this.clock.clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
      }
      try {
        await sleep(this.clock, retryDelayMs(retry, retryAfterMs, q, this.opts.random ?? Math.random), stop);
      } catch {
        break;
      }
    }
    return 'stopped';
  }
}

const NO_METADATA: readonly MetadataEntry[] = Object.freeze([]);
