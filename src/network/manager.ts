import { type Clock, sleep, systemClock, type TimerHandle } from '../clock.js';
import { DEFAULT_PROTOBUF_MESSAGE_PROBE_INTERVAL_MS } from '../config/defaults.js';
import type { EndpointConfig } from '../config/types.js';
import { ClosedError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { MetadataEntry } from '../serialization/types.js';
import { compressBlock } from '../wire/snappy.js';
import type { ProtobufMessage, WriteRequestEncoder } from '../wire/types.js';
import { createRemoteWriteClient, type RemoteWriteClient } from './http-client.js';
import { partitionOf, SHARD_PARTITIONS, STORED_GROUPS } from './partition.js';
import { ProtocolNegotiation, type ProtocolNegotiationStats } from './protocol-negotiation.js';
import { initialAssignment, rebalance } from './reshard-assignment.js';
import {
  FIRST_TICK_MS,
  RECOVERY_SUCCESSES,
  RECOVERY_TICK_MS,
  RESHARD_TICK_MS,
  type ReshardDecision,
  ReshardPolicy,
} from './reshard-policy.js';
import { classifyStatus, parseRetryAfterMs, retryDelayMs } from './retry-policy.js';
import { type DeliveryEvents, type SendLoop, startSendLoop } from './send-loop.js';
import {
  emptySignalCounters,
  type PortionDoneCallback,
  type PortionOutcome,
  type PortionRef,
  type SendLoopStats,
  type SendWork,
  type SignalCounters,
  VIRTUAL_SHARDS,
  virtualShardOf,
} from './types.js';

/** What the endpoint knows of its input, for the resharding policy (see `NetworkManagerOptions.rates`). */
export interface EndpointRates {
  /** Samples appended to this endpoint's queue since start, if counted. */
  samplesIn?: number;
  /** Samples appended and not yet finished (the backlog), if known. */
  pendingSamples?: number;
  /** Newest sample timestamp appended (or read), ms. */
  newestAppendedMs?: number;
}

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
  /**
   * The endpoint's input figures for the resharding policy, read once per tick. Without it the
   * policy sees only what the loops hold (a backlog on disk is then invisible to it).
   */
  rates?: () => EndpointRates;
  /** Interval between two resharding decisions (default {@link RESHARD_TICK_MS}); 0 turns the timer off (tests reshard by hand). */
  reshardTickMs?: number;
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
  /** Loops sending now. */
  shards: number;
  /**
   * The policy's last unrounded figure (Prometheus' `desired_shards`); `shards` before its first
   * measurement. Optional only for stand-in stats (a delivery worker's before its first report).
   */
  shardsDesired?: number;
  /** Reshards done since start (optional like `shardsDesired`). */
  reshards?: number;
  /** The loop counts the policy moves between: `min_shards`, and `min(max_shards, SHARD_PARTITIONS)`. */
  shardsMin?: number;
  shardsMax?: number;
  /**
   * One entry per loop slot ever used (`<name>/shard-<i>`): a slot's counters include those of
   * its stopped loops, so totals never go down when the count shrinks.
   */
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
  /** Number of SendLoops sending now (between `min_shards` and `min(max_shards, SHARD_PARTITIONS)`). */
  readonly shards: number;
  /** Index of the loop that owns virtual shard `vshard`. */
  loopOf(vshard: number): number;
  /**
   * {@link loopOf} for deciding to send a stored group whole (several partitions in one work), or
   * -1 while a reshard runs: such a work must be handed over before any of its partitions starts
   * moving (see {@link pinAssignment}), and every partition it carries must stay where it is.
   */
  wholeLoopOf(vshard: number): number;
  /**
   * The message sent now: the configured one, or 1.0 while a 2.0 endpoint is fallen back (read
   * without starting a probe).
   */
  sendingMessage(): ProtobufMessage;
  /**
   * Keeps the assignment as it is until the returned function is called: a reshard asked for
   * meanwhile waits before moving anything. Taken around the handing over of the works of a record
   * decided by {@link wholeLoopOf}, so that each of them reaches the one loop that owns all its
   * partitions. Hold it only while handing over (it delays resharding).
   */
  pinAssignment(): () => void;
  /**
   * Hands work to its loop: `undefined` when the loop's mailbox took it at once (no promise made),
   * else a promise that waits while the mailbox is full (backpressure). Rejects with
   * `ClosedError` once stopping.
   */
  sendOrWait(work: SendWork): Promise<void> | undefined;
  /** Every loop sends what it holds without waiting for its batch deadline (see `SendLoop.flush`). */
  flush(): void;
  /** Every loop sends its partial batch early only if it holds a portion `blocking` names (see `SendLoop.flushHolding`). */
  flushHolding(blocking: (portion: PortionRef) => boolean): void;
  /**
   * Moves to `loops` send loops (clamped to 1..SHARD_PARTITIONS): starts the new loops, moves
   * whole partitions (each drained on the loop losing it before its new loop sends any of its
   * series; new work for it is held meanwhile), then stops the loops left without partitions.
   * The policy calls it on its ticks; one reshard runs at a time (a call during one waits for it
   * and then reshards again). Resolves when done, or at stop.
   */
  reshardTo(loops: number, reason?: string): Promise<void>;
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
 * Creates the manager of one endpoint: `queue.minShards` SendLoops to start with, resharded
 * between `minShards` and `min(maxShards, SHARD_PARTITIONS)` by {@link ReshardPolicy}, sharing one
 * connection pool of as many connections as loops may run.
 */
export function createNetworkManager(opts: NetworkManagerOptions): NetworkManager {
  return new ShardedNetwork(opts);
}

const DEFAULT_VERSION = '0.1.0';

/** Work held by the manager while its partition moves between loops. */
interface HeldWork {
  readonly work: SendWork;
  resolve(): void;
  reject(err: unknown): void;
}

/** A move in progress: the partitions still draining, and who waits for the end. */
interface Reshard {
  readonly from: number;
  readonly to: number;
  readonly startedMs: number;
  readonly done: Promise<void>;
  finish(): void;
  movesLeft: number;
  moved: number;
}

class ShardedNetwork implements NetworkManager {
  private readonly opts: NetworkManagerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly client: RemoteWriteClient;
  /** Loop slots; `loops[i]` is undefined once slot i's loop was stopped by a scale-down. */
  private readonly loops: (SendLoop | undefined)[] = [];
  /** Counters of the stopped loops of each slot (see `NetworkStats.loops`). */
  private readonly retired: (SendLoopStats | undefined)[] = [];
  private activeLoops: number;
  private readonly minLoops: number;
  private readonly maxLoops: number;
  /**
   * The one place that maps virtual shards to loops, rewritten a partition at a time (all its
   * virtual shards together) once that partition drained on its old loop; nothing else may
   * compute a loop index.
   */
  private readonly vshardToLoop = new Uint16Array(VIRTUAL_SHARDS);
  /** Owner of each partition (the table above, by partition). */
  private owner: Uint16Array;
  /** Portions of each partition handed to a loop and not finished (done, or refused back). */
  private readonly outstanding = new Int32Array(SHARD_PARTITIONS);
  /** Per partition on the move: its new loop's slot; -1 when not moving. */
  private readonly movingTo = new Int16Array(SHARD_PARTITIONS).fill(-1);
  /** Per partition on the move: new work held until it drained, in arrival order. */
  private readonly held: (HeldWork[] | undefined)[] = new Array(SHARD_PARTITIONS).fill(undefined);
  private reshard: Reshard | undefined;
  /** A reshard was asked for and has not finished: {@link wholeLoopOf} answers -1. */
  private assignmentChanging = false;
  /** Pins taken by {@link pinAssignment} and not released. */
  private pins = 0;
  /** Called when the last pin is released (a reshard waits for it). */
  private onUnpinned: (() => void) | undefined;
  private reshardChain: Promise<void> = Promise.resolve();
  /** Reshards asked for and not finished (running or waiting for the one running). */
  private reshardsQueued = 0;
  private reshards = 0;
  private readonly policy: ReshardPolicy;
  private lastDecision: ReshardDecision | undefined;
  private tickTimer: TimerHandle | undefined;
  /** Interval of the policy's ticks; 0 when off. */
  private readonly tickMs: number;
  /** When the armed policy tick comes (clock ms). */
  private tickDueMs = 0;
  /** When the newest failed attempt of any loop ended (clock ms); -Infinity before any. */
  private lastFailureMs = Number.NEGATIVE_INFINITY;
  /** Requests delivered by all loops since the newest failed attempt. */
  private successesSinceFailure = 0;
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
    // Whole partitions move between loops, so no more loops than partitions (see partition.ts).
    this.minLoops = Math.min(SHARD_PARTITIONS, Math.max(1, config.queue.minShards));
    this.maxLoops = Math.min(SHARD_PARTITIONS, Math.max(this.minLoops, config.queue.maxShards));
    this.activeLoops = this.minLoops;
    this.policy = new ReshardPolicy({ minShards: this.minLoops, maxShards: this.maxLoops });
    this.client = createRemoteWriteClient({
      config,
      connections: this.maxLoops + 1, // +1: the metadata request
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
    for (let i = 0; i < this.minLoops; i++) this.loops.push(this.startLoop(i));
    this.owner = initialAssignment(this.minLoops, SHARD_PARTITIONS, STORED_GROUPS);
    for (let v = 0; v < VIRTUAL_SHARDS; v++) this.vshardToLoop[v] = this.owner[partitionOf(v)];
    // Metadata requests exist in 1.0 only (2.0 sends it inline): a 2.0 endpoint sends them after a fallback.
    this.metadataEncoder = opts.createEncoder('prometheus.WriteRequest');
    this.tickMs = opts.reshardTickMs ?? RESHARD_TICK_MS;
    if (this.tickMs > 0 && this.maxLoops > this.minLoops) this.armTick(Math.min(this.tickMs, FIRST_TICK_MS));
  }

  private startLoop(slot: number): SendLoop {
    const { opts } = this;
    const { config } = opts;
    const v2 = this.negotiation !== undefined;
    const negotiation =
      this.negotiation === undefined
        ? undefined
        : {
            state: this.negotiation,
            encoderV2: opts.createEncoder('io.prometheus.write.v2.Request'),
            metadata: opts.metadata ?? (() => NO_METADATA),
          };
    return startSendLoop({
      name: `${config.name}/shard-${slot}`,
      queue: config.queue,
      remoteTimeoutMs: config.remoteTimeoutMs,
      client: this.client,
      // A 2.0 endpoint's 1.0 encoder is for after a fallback.
      encoder: opts.createEncoder(v2 ? 'prometheus.WriteRequest' : config.protobufMessage),
      ...(negotiation === undefined ? {} : { negotiation }),
      compress: this.compress,
      onPortionDone: (portion, outcome) => this.portionDone(portion, outcome),
      ...(opts.observeBatchDuration === undefined ? {} : { observeBatchDuration: opts.observeBatchDuration }),
      ...(opts.mailboxCapacity === undefined ? {} : { mailboxCapacity: opts.mailboxCapacity }),
      clock: this.clock,
      logger: opts.logger ?? silentLogger,
      ...(opts.random === undefined ? {} : { random: opts.random }),
      ...(opts.events === undefined ? {} : { events: opts.events }),
      onAttempt: (delivered) => this.attempted(delivered),
    });
  }

  /**
   * Tracks failures and the deliveries after them for the policy. The delivery that ends a
   * failure's quiet time (the {@link RECOVERY_SUCCESSES}th after it) brings the next tick forward
   * to {@link RECOVERY_TICK_MS} from now: after an outage the backlog waits for loops.
   */
  private attempted(delivered: boolean): void {
    if (!delivered) {
      this.lastFailureMs = this.clock.now();
      this.successesSinceFailure = 0;
      return;
    }
    this.successesSinceFailure++;
    if (
      this.successesSinceFailure === RECOVERY_SUCCESSES &&
      this.lastFailureMs > Number.NEGATIVE_INFINITY &&
      this.tickTimer !== undefined &&
      this.reshardsQueued === 0 &&
      this.tickDueMs - this.clock.now() > RECOVERY_TICK_MS
    ) {
      this.clock.clearTimeout(this.tickTimer);
      this.armTick(RECOVERY_TICK_MS);
    }
  }

  /**
   * During a reshard, the larger of the old and new counts: every loop that may hold series then.
   * (The relay route sends a record as one whole group only when this is 1.)
   */
  get shards(): number {
    const rs = this.reshard;
    return rs === undefined ? this.activeLoops : Math.max(rs.from, rs.to);
  }

  loopOf(vshard: number): number {
    return this.vshardToLoop[virtualShardOf(vshard)];
  }

  wholeLoopOf(vshard: number): number {
    return this.assignmentChanging ? -1 : this.vshardToLoop[virtualShardOf(vshard)];
  }

  sendingMessage(): ProtobufMessage {
    return this.negotiation?.protobufMessage ?? 'prometheus.WriteRequest';
  }

  pinAssignment(): () => void {
    this.pins++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.pins === 0 && this.onUnpinned !== undefined) {
        const resume = this.onUnpinned;
        this.onUnpinned = undefined;
        resume();
      }
    };
  }

  sendOrWait(work: SendWork): Promise<void> | undefined {
    if (this.stopSignal.signal.aborted) return Promise.reject(this.stopSignal.signal.reason);
    const p = partitionOf(work.portion.vshard);
    const held = this.held[p];
    if (held !== undefined) {
      return new Promise<void>((resolve, reject) => held.push({ work, resolve, reject }));
    }
    return this.handOver(work);
  }

  /** Gives `work` to its partition's loop, counting its portions until they finish. */
  private handOver(work: SendWork): Promise<void> | undefined {
    // Counted by each portion's own partition, as `portionDone` uncounts them (a work carries
    // one partition by contract; counting each keeps a drain exact even if one did not).
    this.count(work, 1);
    const loop = this.loops[this.vshardToLoop[work.portion.vshard]] as SendLoop;
    const wait = loop.sendOrWait(work);
    return wait?.catch((err: unknown) => {
      // Refused by a closed mailbox: never reached the loop, so it is not outstanding there.
      this.count(work, -1);
      throw err;
    });
  }

  private count(work: SendWork, by: 1 | -1): void {
    this.outstanding[partitionOf(work.portion.vshard)] += by;
    const more = work.morePortions;
    if (more !== undefined) for (let i = 0; i < more.length; i++) this.outstanding[partitionOf(more[i].vshard)] += by;
  }

  private portionDone(portion: PortionRef, outcome: PortionOutcome): void {
    const p = partitionOf(portion.vshard);
    this.outstanding[p]--;
    this.opts.onPortionDone(portion, outcome);
    if (this.outstanding[p] === 0 && this.movingTo[p] >= 0) this.switchPartition(p);
  }

  flush(): void {
    for (const l of this.loops) l?.flush();
  }

  flushHolding(blocking: (portion: PortionRef) => boolean): void {
    for (const l of this.loops) l?.flushHolding(blocking);
  }

  reshardTo(loops: number, reason = 'requested'): Promise<void> {
    return this.enqueueReshard(() => this.reshardNow(loops, reason, undefined));
  }

  /** Runs reshards one at a time; one asked for while none runs starts synchronously (its moves are set up on return). */
  private enqueueReshard(fn: () => Promise<void>): Promise<void> {
    this.reshardsQueued++;
    const run = () =>
      fn().finally(() => {
        this.reshardsQueued--;
      });
    const next = this.reshardsQueued === 1 ? run() : this.reshardChain.then(run);
    this.reshardChain = next.catch(() => undefined);
    return next;
  }

  private armTick(ms: number): void {
    this.tickDueMs = this.clock.now() + ms;
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = undefined;
      if (this.stopSignal.signal.aborted) return;
      this.tick();
      this.armTick(this.tickMs);
    }, ms);
  }

  /** One policy tick: measure, decide, and start a reshard when the policy wants one. */
  private tick(): void {
    // A reshard in progress: its rates are the drain's, and one runs at a time.
    if (this.reshardsQueued > 0) return;
    const d = this.policy.tick(this.inputs(), this.activeLoops);
    this.lastDecision = d;
    if (d.target !== this.activeLoops) {
      this.enqueueReshard(() => this.reshardNow(d.target, d.reason, d)).catch((err: unknown) => {
        this.log.error('reshard failed', { err: String(err) });
      });
    }
  }

  private inputs() {
    let samplesOut = 0;
    let requestMs = 0;
    let failedAttempts = 0;
    let backoff = false;
    let newestSentMs = 0;
    let loopPending = 0;
    for (const s of this.slotStats()) {
      samplesOut += s.samples.sent + s.samples.failed + s.histograms.sent + s.histograms.failed;
      samplesOut += s.exemplars.sent + s.exemplars.failed;
      requestMs += s.requestMs;
      failedAttempts += s.failedAttempts;
      backoff ||= s.state === 'backoff';
      newestSentMs = Math.max(newestSentMs, s.highestSentTimestampMs);
      loopPending += s.pendingSignals;
    }
    const r = this.opts.rates?.() ?? {};
    return {
      nowMs: this.clock.now(),
      samplesOut,
      requestMs,
      failedAttempts,
      backoff,
      ...(this.lastFailureMs > Number.NEGATIVE_INFINITY
        ? { lastFailureMs: this.lastFailureMs, successesSinceFailure: this.successesSinceFailure }
        : {}),
      pendingSamples: r.pendingSamples ?? loopPending,
      ...(r.samplesIn === undefined ? {} : { samplesIn: r.samplesIn }),
      ...(r.newestAppendedMs === undefined ? {} : { newestAppendedMs: r.newestAppendedMs }),
      newestSentMs,
    };
  }

  private async reshardNow(target: number, reason: string, d: ReshardDecision | undefined): Promise<void> {
    const to = Math.min(SHARD_PARTITIONS, Math.max(1, Math.round(target)));
    const from = this.activeLoops;
    if (to === from || this.stopSignal.signal.aborted) return;
    this.assignmentChanging = true;
    try {
      // Stored groups being handed over were decided on the assignment as it is: let them reach
      // their loops before anything moves (no new ones start: wholeLoopOf answers -1 from now).
      if (this.pins > 0 && !(await this.untilUnpinned())) return;
      await this.moveTo(from, to, reason, d);
    } finally {
      this.assignmentChanging = false;
    }
  }

  /** Resolves true once no pin is held, false if the manager stops first. */
  private untilUnpinned(): Promise<boolean> {
    const signal = this.stopSignal.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onStop = () => {
        this.onUnpinned = undefined;
        resolve(false);
      };
      signal.addEventListener('abort', onStop, { once: true });
      this.onUnpinned = () => {
        signal.removeEventListener('abort', onStop);
        resolve(true);
      };
    });
  }

  private async moveTo(from: number, to: number, reason: string, d: ReshardDecision | undefined): Promise<void> {
    const figures =
      d === undefined
        ? {}
        : {
            desired: round3(d.desired),
            in_rate: Math.round(d.inRate),
            out_rate: Math.round(d.outRate),
            seconds_per_sample: d.timePerSample,
            backlog_samples: d.backlogSamples,
            behind_seconds: round3(d.behindSeconds),
          };
    this.log.info('resharding', { from, to, reason, ...figures });
    for (let i = from; i < to; i++) this.loops[i] = this.startLoop(i);
    const next = rebalance(this.owner, to, STORED_GROUPS);
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const rs: Reshard = { from, to, startedMs: this.clock.now(), done, finish, movesLeft: 0, moved: 0 };
    this.reshard = rs;
    const losing = new Set<number>();
    const moving: number[] = [];
    for (let p = 0; p < SHARD_PARTITIONS; p++) {
      if (next[p] === this.owner[p]) continue;
      this.movingTo[p] = next[p];
      this.held[p] = [];
      rs.movesLeft++;
      moving.push(p);
      losing.add(this.owner[p]);
    }
    // Their tails go now rather than at the batch deadline: the moving series wait for them.
    for (const l of losing) this.loops[l]?.flush();
    for (const p of moving) if (this.outstanding[p] === 0) this.switchPartition(p);
    if (rs.movesLeft > 0) {
      const signal = this.stopSignal.signal;
      let onStop: (() => void) | undefined;
      const stopped = new Promise<void>((resolve) => {
        onStop = () => resolve();
        signal.addEventListener('abort', onStop, { once: true });
      });
      await Promise.race([done, stopped]);
      if (onStop !== undefined) signal.removeEventListener('abort', onStop);
      if (rs.movesLeft > 0) return; // stopping: stop() rejects the held work and counts the rest
    }
    this.activeLoops = to;
    for (let i = to; i < from; i++) {
      const loop = this.loops[i] as SendLoop;
      this.loops[i] = undefined;
      // It owns nothing and every portion it had finished: nothing is abandoned here.
      const result = await loop.stop({ timeoutMs: this.opts.config.remoteTimeoutMs });
      this.retired[i] = addStats(this.retired[i], loop.stats());
      if (result.abandonedPortions.length > 0) {
        this.log.error('a retired send loop left portions unfinished', {
          loop: loop.name,
          portions: result.abandonedPortions.length,
        });
      }
    }
    this.loops.length = Math.max(to, this.retired.length);
    this.reshard = undefined;
    this.reshards++;
    if (this.tickTimer !== undefined && !this.stopSignal.signal.aborted) {
      // Measure afresh from now, a whole tick long.
      this.clock.clearTimeout(this.tickTimer);
      this.policy.resharded(this.inputs());
      this.armTick(this.tickMs);
    } else {
      this.policy.resharded();
    }
    this.log.info('resharded', {
      from,
      to,
      reason,
      partitions_moved: rs.moved,
      drain_ms: this.clock.now() - rs.startedMs,
    });
  }

  /** Partition `p` drained on its old loop: route it to its new one and release its held work in order. */
  private switchPartition(p: number): void {
    const to = this.movingTo[p];
    this.movingTo[p] = -1;
    this.owner[p] = to;
    for (let v = p; v < VIRTUAL_SHARDS; v += SHARD_PARTITIONS) this.vshardToLoop[v] = to;
    const held = this.held[p] ?? [];
    this.held[p] = undefined;
    // The new loop's mailbox admits waiting senders in call order, so this keeps their order.
    for (const h of held) {
      const wait = this.handOver(h.work);
      if (wait === undefined) h.resolve();
      else wait.then(h.resolve, h.reject);
    }
    const rs = this.reshard;
    if (rs !== undefined) {
      rs.moved++;
      if (--rs.movesLeft === 0) rs.finish();
    }
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
      shards: this.activeLoops,
      shardsDesired: this.lastDecision?.desired ?? this.activeLoops,
      reshards: this.reshards,
      shardsMin: this.minLoops,
      shardsMax: this.maxLoops,
      loops: this.slotStats(),
      metadata: { ...this.metadata },
      ...(this.negotiation === undefined ? {} : { protocol: this.negotiation.stats() }),
    };
  }

  /** Per slot: its loop's stats plus those of its stopped loops. */
  private slotStats(): SendLoopStats[] {
    const out: SendLoopStats[] = [];
    const slots = Math.max(this.loops.length, this.retired.length);
    for (let i = 0; i < slots; i++) {
      const live = this.loops[i]?.stats();
      const old = this.retired[i];
      if (live !== undefined) out.push(old === undefined ? live : addStats(old, live));
      else if (old !== undefined) out.push(old);
    }
    return out;
  }

  private async stopOnce(timeoutMs: number): Promise<NetworkStopResult> {
    const reason = new ClosedError(`network of ${this.opts.config.name}`);
    this.stopSignal.abort(reason);
    this.clock.clearTimeout(this.tickTimer);
    // Held work never reached a loop: refused like a closed mailbox's waiting senders (the
    // endpoint keeps it unacknowledged on disk).
    for (let p = 0; p < SHARD_PARTITIONS; p++) {
      const held = this.held[p];
      this.held[p] = undefined;
      this.movingTo[p] = -1;
      if (held !== undefined) for (const h of held) h.reject(reason);
    }
    const live = this.loops.filter((l): l is SendLoop => l !== undefined);
    const results = await Promise.all(live.map((l) => l.stop({ timeoutMs })));
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

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function addCounters(a: SignalCounters, b: SignalCounters): SignalCounters {
  const out = emptySignalCounters();
  for (const k of Object.keys(out) as (keyof SignalCounters)[]) out[k] = a[k] + b[k];
  return out;
}

/** A slot's stats: `live` (or the last stopped loop's) state and gauges, counters summed with `old`'s. */
function addStats(old: SendLoopStats | undefined, live: SendLoopStats): SendLoopStats {
  if (old === undefined) return live;
  return {
    ...live,
    mailboxFull: old.mailboxFull + live.mailboxFull,
    requests: old.requests + live.requests,
    requestMs: old.requestMs + live.requestMs,
    failedAttempts: old.failedAttempts + live.failedAttempts,
    samples: addCounters(old.samples, live.samples),
    histograms: addCounters(old.histograms, live.histograms),
    exemplars: addCounters(old.exemplars, live.exemplars),
    bytes: old.bytes + live.bytes,
    highestSentTimestampMs: Math.max(old.highestSentTimestampMs, live.highestSentTimestampMs),
    ...(live.writes === undefined || old.writes === undefined
      ? {}
      : {
          writes: {
            partial: old.writes.partial + live.writes.partial,
            nothingWritten: old.writes.nothingWritten + live.writes.nothingWritten,
            fallbackResends: old.writes.fallbackResends + live.writes.fallbackResends,
          },
        }),
    ...(live.lastError === undefined && old.lastError !== undefined ? { lastError: old.lastError } : {}),
  };
}
