import { createLifecycle, type LifecycleTracker } from '../actors/lifecycle.js';
import type { ActorState } from '../actors/types.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { EndpointConfig } from '../config/types.js';
import { ClosedError, PromspoolError } from '../errors.js';
import type { DiskDropReasons, FileQueue, FileQueueStats, Segment } from '../filequeue/types.js';
import { type Logger, silentLogger } from '../logger.js';
import {
  type EndpointMetrics,
  type RemoteStorageMetrics,
  type RemoteStorageSnapshot,
  relayRecordsByWay,
  type SignalTotals,
} from '../metrics/remote-storage-metrics.js';
import { createNetworkManager, type NetworkManager, type NetworkStats } from '../network/manager.js';
import {
  type PortionOutcome,
  type PortionRef,
  type SendLoopStats,
  type SendWork,
  type SignalCounters,
  VIRTUAL_SHARDS,
} from '../network/types.js';
import { compileRelabeling } from '../relabel/index.js';
import { ackDropOnlyGroups, addIngestDrops } from '../relay/ingest-drops.js';
import { createRelayRoute, type RelayRoute, type RelayRouteStats, routedEncoderV2 } from '../relay/relay-route.js';
import { ingestRelabelOf, loadRawBody } from '../serialization/raw-record.js';
import type { MetadataEntry, SignalRecord } from '../serialization/types.js';
import { createWriteRequestEncoderV1 } from '../wire/rw1-encoder.js';
import { createWriteRequestEncoderV2 } from '../wire/rw2-encoder.js';
import { createRw2Transcoder, type Rw2Transcoder, type Rw2TranscoderStats } from '../wire/rw2-transcode-wasm.js';
import type { ProtobufMessage, WriteRequestEncoder } from '../wire/types.js';
import { type BacklogView, DeliveryHealthLog } from './delivery-health-log.js';
import {
  coalesceSamples,
  cutAndCount,
  dropSeries,
  groupByPartition,
  holdsSamplesOnly,
  leaveOutKinds,
  newestTimestamp,
  oldestTimestamp,
  SHARDS_PER_PARTITION,
  sameSeries,
  VshardCounts,
  vshardAtPlace,
} from './record-shaping.js';
import { type RelabelStats, WriteRelabeler } from './write-relabel.js';

/**
 * Records joined into one by {@link coalesceSamples} at most. Only records of one segment are
 * joined, so the segment bounds the memory anyway; this bounds one series' samples per work.
 */
const MAX_COALESCED_RECORDS = 64;

function hasAcks(seg: Segment, r: number): boolean {
  const acked = seg.acked.get(r);
  return acked !== undefined && acked.size > 0;
}

/** What an endpoint uses of its FileQueue (a delivery worker passes a proxy of these). */
export type EndpointFileQueue = Pick<FileQueue, 'next' | 'ack' | 'release' | 'stats'>;

export interface EndpointOptions {
  config: EndpointConfig;
  fileQueue: EndpointFileQueue;
  /** Samples older than this when read from disk are dropped (reason `ttl`); 0 = keep everything. */
  ttlMs: number;
  externalLabels: Record<string, string>;
  decodeRecord: (payload: Uint8Array) => SignalRecord;
  clock?: Clock;
  logger?: Logger;
  /** Registry-level metrics; the endpoint attaches itself with its name and url, and detaches on stop. */
  metrics?: RemoteStorageMetrics;
  /**
   * Default: the encoder of `message` (1.0 or 2.0) with `externalLabels`. A 2.0 endpoint asks for
   * both (1.0 after a fallback).
   */
  createEncoder?: (message: ProtobufMessage) => WriteRequestEncoder;
  /**
   * The endpoint's queue directory: a 2.0 endpoint that fell back to 1.0 remembers it there across
   * restarts. Default: not persisted.
   */
  stateDir?: string;
  /** Snappy block compression (default the wire's `compressBlock`). */
  compress?: (body: Uint8Array) => Uint8Array;
  /**
   * Segments decoded and not yet fully delivered that may be alive at once (default 2) per 16 send
   * loops running (see {@link LOOPS_PER_SEGMENT_ALLOWANCE}): the memory bound of the read side,
   * whatever the backlog on disk, plus the bytes of one segment read ahead. See {@link Endpoint}.
   */
  maxSegmentsInMemory?: number;
  /** Per SendLoop mailbox capacity in SendWork (default `DEFAULT_SEND_MAILBOX_CAPACITY`, 1024). */
  mailboxCapacity?: number;
  random?: () => number;
  /** promspool's version for the User-Agent. */
  version?: string;
  /**
   * Called with each delivered request's duration in seconds, when there is no `metrics` to
   * observe it (a delivery worker forwards these to the registry on the event loop).
   */
  observeBatchDuration?: (seconds: number) => void;
}

export interface EndpointStopResult {
  /** Portions handed to the network and not finished; they stay unacknowledged on disk. */
  abandonedPortions: PortionRef[];
  /** Segments read but not released (their unacked portions are sent again after a restart). */
  unreleasedSegments: number[];
}

/** Signal counters of one kind as the endpoint reports them. */
export interface DeliveryTotals {
  sent: number;
  failed: number;
  retried: number;
  /**
   * `dropped_series` (series dropped by write relabeling) is there only when the endpoint has
   * rules; `disabled_by_config` (left out by `send_exemplars`/`send_native_histograms: false`)
   * only for the kind switched off.
   */
  dropped: { ttl: number; too_old: number; '4xx': number; dropped_series?: number; disabled_by_config?: number };
}

export interface EndpointDeliveryStats {
  name: string;
  url: string;
  state: ActorState;
  segmentsRead: number;
  segmentsReleased: number;
  /** Decoded segments not yet released: at most `maxSegmentsInMemory`. */
  segmentsInMemory: number;
  portionsSent: number;
  portionsDropped: number;
  /** Portions acknowledged in an earlier run and therefore not sent again. */
  portionsSkipped: number;
  /** Records skipped because their CRC failed (given as null) or they could not be decoded. */
  corruptRecords: number;
  /** Records sent joined to the record before them (see `coalesceSamples`). */
  recordsCoalesced: number;
  /** Write relabeling's counters; undefined without `write_relabel_configs`. */
  relabel?: RelabelStats;
  /**
   * How the relayed (kind-2) records read went out (see `src/relay/relay-route.ts`); a delivery
   * worker's stats before its first report have none.
   */
  relay?: RelayRouteStats;
  /** A 2.0 endpoint's transcoder: records loaded (and loaded again), requests encoded and left to the 2.0 encoder. */
  transcoder?: Rw2TranscoderStats;
  samples: DeliveryTotals;
  histograms: DeliveryTotals;
  exemplars: DeliveryTotals;
  pendingSignals: number;
  bytes: number;
  highestReadTimestampMs: number;
  highestSentTimestampMs: number;
  oldestPendingTimestampMs: number;
  metadataFamilies: number;
  network: NetworkStats;
  lastError?: { message: string; atMs: number };
}

/** Send loops per `maxSegmentsInMemory` allowance of decoded segments (see `segmentAllowance`). */
const LOOPS_PER_SEGMENT_ALLOWANCE = 16;

/**
 * The read side of one endpoint: pulls sealed segments from its FileQueue, decodes them, cuts
 * what the ttl expired, splits each record into one SendWork per virtual shard and feeds the
 * NetworkManager; acknowledges portions as they finish and releases finished segments.
 *
 * Memory bound: the endpoint asks the FileQueue for a segment only while fewer than
 * `maxSegmentsInMemory` segments per 16 send loops (at most 4 × that with 64 loops) are decoded
 * and unreleased, and hands work to the network through bounded mailboxes (waiting when full). So
 * at most that many decoded segments (each at most `storage.max_signals_to_batch` signals), the
 * bytes of one more segment read ahead, and one request per SendLoop are in memory, however large
 * the backlog on disk.
 */
export interface Endpoint {
  readonly name: string;
  readonly state: ActorState;
  /**
   * Stops pulling, then stops the network two-phase (see `NetworkManager.stop`) and detaches the
   * metrics. The FileQueue is left open (its owner closes it). Later calls return the first result.
   */
  stop(opts: { timeoutMs: number }): Promise<EndpointStopResult>;
  stats(): EndpointDeliveryStats;
  /** The metric values of this endpoint now (what a scrape shows). */
  metricsSnapshot(): RemoteStorageSnapshot;
}

/** Creates and starts an endpoint. */
export function createEndpoint(opts: EndpointOptions): Endpoint {
  return new SegmentReader(opts);
}

interface SegmentState {
  readonly id: number;
  /** Portions handed to the network and not done. */
  outstanding: number;
  /** Still splitting records into work: not releasable yet even if `outstanding` is 0. */
  dispatching: boolean;
  /** Every record was handed over; false if a stop interrupted it (then it is never released). */
  complete: boolean;
  oldestTimestampMs: number;
}

/** Signal counters of one kind, all zero. */
export function emptyTotals(): DeliveryTotals {
  return { sent: 0, failed: 0, retried: 0, dropped: { ttl: 0, too_old: 0, '4xx': 0 } };
}

class SegmentReader implements Endpoint {
  readonly name: string;
  private readonly opts: EndpointOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly lifecycle: LifecycleTracker;
  private readonly network: NetworkManager;
  private readonly maxSegments: number;
  /** Decides how each relayed record goes out; created with the network, whose loops it asks about. */
  private readonly route: RelayRoute;
  /** A 2.0 endpoint's transcoder of relayed records (see the relay route's `transcoded` way), shared by its loops. */
  private readonly transcoder: Rw2Transcoder | undefined;
  /** The endpoint's `write_relabel_configs` with its per-series cache; undefined without rules. */
  private readonly relabeler: WriteRelabeler | undefined;
  /** What `send_native_histograms`/`send_exemplars` keep. */
  private readonly keepKinds: { histograms: boolean; exemplars: boolean };
  private readonly segments = new Map<number, SegmentState>();
  private readonly counts = new VshardCounts();
  /** dispatchRecord's signals to send per virtual shard (-1: none), used before it first waits. */
  private readonly shardSignals = new Float64Array(VIRTUAL_SHARDS);
  private readonly stopPulling = new AbortController();
  private readonly metadata = new Map<string, MetadataEntry>();
  /** `metadata`'s values for the 2.0 encoder, made again only after a change. */
  private metadataArray: readonly MetadataEntry[] | undefined;
  private metadataTimer: TimerHandle | undefined;
  private metadataBusy = false;
  private roomWaiter: (() => void) | undefined;
  private dispatching = false;
  /** A segment read ahead when the reader stopped, never dispatched. */
  private readAheadId: number | undefined;
  private flushWhenDispatched = false;
  /** The FileQueue had no sealed segment for the reader's last `next` (it has read everything on disk). */
  private readerWaiting = false;
  /** Logs failures, recoveries and drops, rate-limited (see DeliveryHealthLog). */
  private readonly health: DeliveryHealthLog;
  private readonly metricsHandle: EndpointMetrics | undefined;
  private readonly done: Promise<void>;
  private stopping: Promise<EndpointStopResult> | undefined;
  private readonly c = {
    segmentsRead: 0,
    segmentsReleased: 0,
    portionsSent: 0,
    portionsDropped: 0,
    portionsSkipped: 0,
    corruptRecords: 0,
    recordsCoalesced: 0,
    ttlSamples: 0,
    ttlHistograms: 0,
    ttlExemplars: 0,
    relabelSamples: 0,
    relabelHistograms: 0,
    relabelExemplars: 0,
    unsentHistograms: 0,
    unsentExemplars: 0,
    highestReadTimestampMs: 0,
    lastError: undefined as { message: string; atMs: number } | undefined,
  };

  constructor(opts: EndpointOptions) {
    this.opts = opts;
    const { config } = opts;
    this.name = config.name;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ remote_name: config.name });
    this.maxSegments = Math.max(1, opts.maxSegmentsInMemory ?? 2);
    this.lifecycle = createLifecycle();
    this.metricsHandle = opts.metrics?.attach({ remoteName: config.name, url: config.url }, () =>
      this.metricsSnapshot(),
    );
    const v2 = config.protobufMessage === 'io.prometheus.write.v2.Request';
    this.transcoder =
      v2 && opts.createEncoder === undefined ? createRw2Transcoder({ externalLabels: opts.externalLabels }) : undefined;
    const transcoder = this.transcoder;
    const createEncoder =
      opts.createEncoder ??
      ((message: ProtobufMessage) => {
        if (message !== 'io.prometheus.write.v2.Request')
          return createWriteRequestEncoderV1({ externalLabels: opts.externalLabels });
        const encoder = createWriteRequestEncoderV2({ externalLabels: opts.externalLabels });
        return transcoder === undefined ? encoder : routedEncoderV2(encoder, transcoder);
      });
    this.relabeler =
      config.writeRelabelConfigs.length === 0
        ? undefined
        : new WriteRelabeler(
            compileRelabeling(config.writeRelabelConfigs, config.nameValidationScheme),
            opts.externalLabels,
          );
    this.keepKinds = { histograms: config.sendNativeHistograms, exemplars: config.sendExemplars };
    this.health = new DeliveryHealthLog({ logger: this.log, clock: this.clock, backlog: () => this.backlog() });
    const handle = this.metricsHandle;
    const observeBatchDuration =
      handle === undefined ? opts.observeBatchDuration : (sec: number) => handle.observeBatchDuration(sec);
    this.network = createNetworkManager({
      config,
      createEncoder,
      // 2.0 carries metadata inline, with the series it names; `metadata_config.send` decides whether.
      ...(v2 && config.metadata.send ? { metadata: () => this.metadataList() } : {}),
      ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }),
      onPortionDone: (portion, outcome) => this.portionDone(portion, outcome),
      ...(opts.compress === undefined ? {} : { compress: opts.compress }),
      ...(opts.version === undefined ? {} : { version: opts.version }),
      ...(opts.mailboxCapacity === undefined ? {} : { mailboxCapacity: opts.mailboxCapacity }),
      ...(observeBatchDuration === undefined ? {} : { observeBatchDuration }),
      clock: this.clock,
      logger: opts.logger ?? silentLogger,
      ...(opts.random === undefined ? {} : { random: opts.random }),
      events: this.health,
      // The resharding policy's input: the backlog on disk and the newest sample read.
      rates: () => {
        const pending = this.backlog().samples;
        return {
          newestAppendedMs: this.c.highestReadTimestampMs,
          ...(pending === undefined ? {} : { pendingSamples: pending }),
        };
      },
    });
    this.route = createRelayRoute({
      config,
      externalLabels: opts.externalLabels,
      customEncoder: opts.createEncoder !== undefined,
      transcodes: this.transcoder !== undefined,
      network: this.network,
      onForeignRules: (recordDigest, ownDigest) =>
        this.log.warn(
          'records relabeled at ingest under other write_relabel_configs (changed since they were written): ' +
            "sent with this endpoint's current rules applied on top; the series those rules dropped stay dropped",
          { record_rules: recordDigest, current_rules: ownDigest ?? 'none' },
        ),
    });
    this.done = this.run();
    if (config.metadata.send) this.armMetadataTimer();
  }

  get state(): ActorState {
    return this.lifecycle.state;
  }

  stop(opts: { timeoutMs: number }): Promise<EndpointStopResult> {
    if (this.stopping === undefined) this.stopping = this.stopOnce(opts.timeoutMs);
    return this.stopping;
  }

  private async stopOnce(timeoutMs: number): Promise<EndpointStopResult> {
    this.lifecycle.send({ type: 'DRAIN' });
    this.stopPulling.abort(new ClosedError(`endpoint ${this.name}`));
    this.clock.clearTimeout(this.metadataTimer);
    this.roomWaiter?.();
    // Stopping the network closes the loops' mailboxes, which also frees a dispatch waiting on one.
    const net = await this.network.stop({ timeoutMs });
    await this.done;
    this.health.stop();
    this.relabeler?.dispose();
    this.metricsHandle?.detach();
    this.lifecycle.send({ type: 'STOPPED' });
    const unreleased = [...this.segments.keys()];
    if (this.readAheadId !== undefined) unreleased.push(this.readAheadId);
    return { abandonedPortions: net.abandonedPortions, unreleasedSegments: unreleased };
  }

  private async run(): Promise<void> {
    this.lifecycle.send({ type: 'STARTED' });
    const signal = this.stopPulling.signal;
    const fq = this.opts.fileQueue;
    let next = fq.next(signal, this.caughtUp);
    try {
      while (!signal.aborted) {
        await this.waitForRoom();
        if (signal.aborted) break;
        const seg = await next;
        if (seg === null || signal.aborted) break;
        this.readerWaiting = false;
        // Read ahead while this one is dispatched: a segment read goes through the libuv pool
        // (open, stat, read, close), ~2 ms per 400 KB segment measured while the pool also
        // deletes delivered files, which the loops otherwise spent waiting. One segment's bytes
        // more in memory, undecoded.
        this.dispatching = true;
        next = fq.next(signal, this.caughtUp);
        try {
          await this.dispatchSegment(seg);
        } finally {
          this.dispatching = false;
        }
        if (this.flushWhenDispatched) {
          this.flushWhenDispatched = false;
          this.network.flush();
        }
      }
    } catch (err) {
      if (!(err instanceof ClosedError) || !signal.aborted) {
        this.noteError(err);
        this.log.error('endpoint reader failed', { err: String(err) });
      }
    } finally {
      // A segment read ahead and never dispatched stays on disk, unreleased, like the rest.
      const unread = await next.catch(() => null);
      if (unread !== null) this.readAheadId = unread.id;
    }
  }

  /**
   * The FileQueue has no sealed segment for the reader: it caught up with the disk. What the
   * loops hold is then all there is for now, so it goes at once rather than at
   * batch_send_deadline (the data already waited up to batch_interval to be sealed; a drained
   * backlog's last batches would otherwise idle for the whole deadline). While a segment is still
   * being handed out, that happens once it is.
   */
  private readonly caughtUp = (): void => {
    this.readerWaiting = true;
    if (this.segments.size === 0) this.health.caughtUp();
    if (this.dispatching) this.flushWhenDispatched = true;
    else this.network.flush();
  };

  /** Resolves when fewer than {@link segmentAllowance} segments are alive (or on stop). */
  private waitForRoom(): Promise<void> {
    if (this.segments.size < this.segmentAllowance()) return Promise.resolve();
    // Nothing more can be read until a segment finishes: a loop holding the oldest segment's last
    // portions in a partial batch sends it now, not at its deadline, or the backlog drains at one
    // pair of segments per batch_send_deadline. Only those: a partial batch of the newer
    // segment's tail waits to fill with the segment read next (flushing every loop here made
    // requests average ~1,100 of 2,000 samples while catching up with 16 loops).
    const oldest = this.segments.keys().next().value as number;
    this.network.flushHolding((p) => p.segmentId <= oldest);
    return new Promise((resolve) => {
      this.roomWaiter = () => {
        this.roomWaiter = undefined;
        resolve();
      };
    });
  }

  /**
   * Segments that may be alive: `maxSegments` per {@link LOOPS_PER_SEGMENT_ALLOWANCE} loops. A
   * segment is released only when its slowest portion is delivered, so the segments alive bound
   * what is in flight: on bench/reshard (2.5 MB segments of ~50,000 samples, 64 groups per record)
   * 50 loops at ~200 ms per request were fed ~134 requests/s of the ~245 they could send with 2.
   */
  private segmentAllowance(): number {
    return this.maxSegments * Math.ceil(this.network.shards / LOOPS_PER_SEGMENT_ALLOWANCE);
  }

  private async dispatchSegment(seg: Segment): Promise<void> {
    const st: SegmentState = {
      id: seg.id,
      outstanding: 0,
      dispatching: true,
      complete: false,
      oldestTimestampMs: Number.POSITIVE_INFINITY,
    };
    this.segments.set(seg.id, st);
    this.c.segmentsRead++;
    const ttlMs = this.opts.ttlMs;
    try {
      // Record `r`, when the search for records to coalesce with already decoded it.
      let ahead: SignalRecord | undefined;
      for (let r = 0; r < seg.records.length; ) {
        if (this.stopPulling.signal.aborted) return;
        const payload = seg.records[r];
        if (payload === null) {
          this.c.corruptRecords++;
          r++;
          continue;
        }
        const cutoff = ttlMs > 0 ? this.clock.now() - ttlMs : Number.NEGATIVE_INFINITY;
        let rec: SignalRecord;
        let whole = false;
        try {
          rec = ahead ?? this.opts.decodeRecord(payload);
          ahead = undefined;
          const way = this.route.decide(rec, seg.acked.get(r), cutoff);
          whole = way === 'stored-bytes';
          // A relayed record not sent as its groups needs its body (in the transcoder, or else
          // decoded here); a damaged one is counted here.
          if (!whole && !(way === 'transcoded' && (this.transcoder as Rw2Transcoder).load(rec))) loadRawBody(rec);
        } catch (err) {
          if (!(err instanceof PromspoolError) || err.code !== 'ERR_CORRUPT_RECORD') throw err;
          this.c.corruptRecords++;
          this.log.warn('skipping a corrupt record', { segment: seg.id, record: r, err: err.message });
          r++;
          continue;
        }
        // Relabeled at ingest (kind-2 version 3): its dropped series are counted below; under this
        // endpoint's rules it is not relabeled again. Never coalesced: each record carries its drops.
        const mark = ingestRelabelOf(rec);
        let run: SignalRecord[] = [rec];
        if (!whole && mark === undefined && holdsSamplesOnly(rec) && !hasAcks(seg, r)) {
          const found = this.coalescible(seg, r, rec);
          run = found.records;
          ahead = found.next;
        }
        for (const x of run) {
          for (const m of x.metadata) {
            const had = this.metadata.get(m.metricFamilyName);
            if (had !== undefined && had.type === m.type && had.help === m.help && had.unit === m.unit) continue;
            this.metadata.set(m.metricFamilyName, m);
            // The 2.0 encoder's list is made again only when something changed (records repeat it).
            this.metadataArray = undefined;
          }
        }
        const records = run.length;
        if (records > 1) {
          coalesceSamples(run);
          this.c.recordsCoalesced += records - 1;
        }
        // Write relabeling decides each series (once per series, then from its cache) before the cut:
        // dropped series are left out of the record's portions and counted, changed ones carry
        // their new labels to the encoder.
        // Relabeled at ingest under this endpoint's digest: its series carry the external labels
        // already, which the encoders must not merge again (a rule may have dropped one).
        const here = mark !== undefined && this.route.relabeledHere(rec);
        if (here) rec.externalLabelsMerged = true;
        const dropped = here ? undefined : this.relabeler?.apply(rec).dropped;
        cutAndCount(rec, cutoff, this.counts);
        if (dropped !== undefined) dropSeries(rec, dropped, this.counts);
        if (mark !== undefined) {
          addIngestDrops(mark, this.counts);
          // Sent as its groups: no acked portion (see the route), so every drop counts now, and a
          // virtual shard whose series were all dropped in a group that goes out empty is done.
          if (whole) {
            this.c.relabelSamples += ackDropOnlyGroups(rec, this.counts, (v) => this.opts.fileQueue.ack(seg.id, r, v));
          }
        }
        if (!this.keepKinds.histograms || !this.keepKinds.exemplars) {
          leaveOutKinds(rec, this.keepKinds, dropped, this.counts);
        }
        st.oldestTimestampMs = Math.min(st.oldestTimestampMs, oldestTimestamp(rec));
        this.c.highestReadTimestampMs = Math.max(this.c.highestReadTimestampMs, newestTimestamp(rec));
        if (whole) await this.dispatchGroups(seg, r, rec, st);
        else await this.dispatchRecord(seg, r, rec, st, records, dropped);
        r += records;
      }
      st.complete = !this.stopPulling.signal.aborted;
    } finally {
      st.dispatching = false;
      this.maybeRelease(st);
    }
  }

  /**
   * `rec` (record `r` of `seg`) and the records after it that can be coalesced with it
   * ({@link coalesceSamples}): the same series, samples only, nothing acked in an earlier run.
   * `next` is the record after them when it was decoded here and not joined: the caller's next.
   * A record that does not decode ends the run; the caller decodes it again and counts it.
   */
  private coalescible(
    seg: Segment,
    r: number,
    rec: SignalRecord,
  ): { records: SignalRecord[]; next: SignalRecord | undefined } {
    const records = [rec];
    for (let q = r + 1; q < seg.records.length && records.length < MAX_COALESCED_RECORDS; q++) {
      const payload = seg.records[q];
      if (payload === null || hasAcks(seg, q)) break;
      let next: SignalRecord;
      try {
        next = this.opts.decodeRecord(payload);
      } catch {
        break;
      }
      if (!holdsSamplesOnly(next) || ingestRelabelOf(next) !== undefined || !sameSeries(rec, next))
        return { records, next };
      records.push(next);
    }
    return { records, next: undefined };
  }

  /**
   * Hands `rec` to the network as one work per partition (the unit a loop is assigned), carrying
   * a portion per virtual shard of it that has something to send. `records` > 1: `rec` holds the
   * samples of records `r .. r + records - 1` (coalesced, none acked before), and each work
   * carries its shards' portions of every one of them.
   *
   * One work per partition rather than per shard (4 shards each): works wait in the loops'
   * mailboxes long enough to be promoted, and a work per shard (256 per record, each with its
   * series as a subarray) was most of the 2.0 relay's old-space garbage (docs/performance.md).
   */
  private async dispatchRecord(
    seg: Segment,
    r: number,
    rec: SignalRecord,
    st: SegmentState,
    records: number,
    dropped: Uint8Array | undefined,
  ): Promise<void> {
    const counts = this.counts;
    const acked = seg.acked.get(r);
    // Signals to send per shard (-1: nothing to send), read below before anything waits:
    // `counts` is reused by the next record while sends wait.
    const send = this.shardSignals;
    let any = false;
    for (let v = 0; v < counts.before.length; v++) {
      send[v] = -1;
      if (counts.before[v] === 0) continue;
      if (acked?.has(v)) {
        this.c.portionsSkipped++;
        continue;
      }
      this.c.ttlSamples += counts.cutSamples[v];
      this.c.ttlHistograms += counts.cutHistograms[v];
      this.c.ttlExemplars += counts.cutExemplars[v];
      this.c.relabelSamples += counts.relabelSamples[v];
      this.c.relabelHistograms += counts.relabelHistograms[v];
      this.c.relabelExemplars += counts.relabelExemplars[v];
      this.c.unsentHistograms += counts.unsentHistograms[v];
      this.c.unsentExemplars += counts.unsentExemplars[v];
      if (counts.after[v] === 0) {
        // Everything in it expired or was dropped: done, with its drop counted.
        for (let k = 0; k < records; k++) this.opts.fileQueue.ack(seg.id, r + k, v);
        continue;
      }
      send[v] = counts.after[v];
      any = true;
    }
    if (!any) return;
    const g = groupByPartition(rec, counts, dropped);
    // Each partition's shards with something to send, as one work; a shard of it that has series
    // but nothing to send (acked, or all cut) splits it, as its series are not the work's.
    const works: SendWork[] = [];
    const vshards: number[] = [];
    let from = 0;
    let to = 0;
    let signals = 0;
    const flush = () => {
      if (vshards.length === 0) return;
      const portion: PortionRef = { segmentId: seg.id, record: r, vshard: vshards[0] };
      const series = g.order.subarray(from, to);
      const more = vshards.length * records - 1;
      if (more === 0) {
        works.push({ record: rec, series, portion, signals });
      } else {
        const morePortions = new Array<PortionRef>(more);
        let m = 0;
        for (const vshard of vshards) {
          for (let k = 0; k < records; k++) {
            if (vshard !== vshards[0] || k > 0) morePortions[m++] = { segmentId: seg.id, record: r + k, vshard };
          }
        }
        works.push({ record: rec, series, portion, morePortions, signals });
      }
      vshards.length = 0;
      signals = 0;
    };
    for (let k = 0; k < VIRTUAL_SHARDS; k++) {
      if (k % SHARDS_PER_PARTITION === 0) flush();
      const v = vshardAtPlace(k);
      if (send[v] < 0) {
        if (g.start[k + 1] > g.start[k]) flush();
        continue;
      }
      if (vshards.length === 0) from = g.start[k];
      to = g.start[k + 1];
      vshards.push(v);
      signals += send[v];
    }
    flush();
    for (const work of works) {
      const n = 1 + (work.morePortions?.length ?? 0);
      st.outstanding += n;
      try {
        // A promise (and a turn of the microtask queue) per work only when a mailbox is full.
        const wait = this.network.sendOrWait(work);
        if (wait !== undefined) await wait;
      } catch (err) {
        st.outstanding -= n; // never reached the network: stays unacked on disk
        throw err;
      }
    }
  }

  /** {@link dispatchRecord} for a record the route sends as its stored bytes: one work per non-empty group. */
  private async dispatchGroups(seg: Segment, r: number, rec: SignalRecord, st: SegmentState): Promise<void> {
    const works = this.route.storedWorks(rec, seg.id, r, this.counts.before);
    // The route decided on the loop assignment as it is now: when a group carries several of the
    // network's partitions, keep it until every group reached its loop (a reshard waits).
    const unpin = this.route.spansPartitions(rec) ? this.network.pinAssignment() : undefined;
    try {
      for (const work of works) {
        const n = 1 + (work.morePortions?.length ?? 0);
        st.outstanding += n;
        try {
          const wait = this.network.sendOrWait(work);
          if (wait !== undefined) await wait;
        } catch (err) {
          st.outstanding -= n; // never reached the network: stays unacked on disk
          throw err;
        }
      }
    } finally {
      unpin?.();
    }
  }

  private portionDone(portion: PortionRef, outcome: PortionOutcome): void {
    if (outcome.status === 'sent') this.c.portionsSent++;
    else this.c.portionsDropped++;
    this.opts.fileQueue.ack(portion.segmentId, portion.record, portion.vshard);
    const st = this.segments.get(portion.segmentId);
    if (st === undefined) return;
    st.outstanding--;
    this.maybeRelease(st);
  }

  private maybeRelease(st: SegmentState): void {
    // A stop in the middle of a segment leaves it unreleased: its unsent portions were never acked.
    if (st.dispatching || !st.complete || st.outstanding > 0) return;
    this.segments.delete(st.id);
    this.opts.fileQueue.release(st.id);
    this.c.segmentsReleased++;
    if (this.readerWaiting && this.segments.size === 0) this.health.caughtUp();
    this.roomWaiter?.();
  }

  private armMetadataTimer(): void {
    this.metadataTimer = this.clock.setTimeout(() => {
      if (this.stopPulling.signal.aborted) return;
      this.armMetadataTimer();
      void this.sendMetadata();
    }, this.opts.config.metadata.sendIntervalMs);
  }

  /** The latest metadata of every family seen, as the 2.0 encoder takes it. */
  private metadataList(): readonly MetadataEntry[] {
    this.metadataArray ??= [...this.metadata.values()];
    return this.metadataArray;
  }

  /** Sends the latest metadata of every family seen, in requests of at most `metadata.maxSamplesPerSend` entries. */
  private async sendMetadata(): Promise<void> {
    if (this.metadataBusy || this.metadata.size === 0) return;
    this.metadataBusy = true;
    try {
      const entries = [...this.metadata.values()];
      const per = Math.max(1, this.opts.config.metadata.maxSamplesPerSend);
      for (let i = 0; i < entries.length; i += per) {
        const result = await this.network.sendMetadata(entries.slice(i, i + per));
        // `inline`: the endpoint sends 2.0, whose series carry their metadata.
        if (result === 'stopped' || result === 'inline') return;
      }
    } finally {
      this.metadataBusy = false;
    }
  }

  /** The backlog for the delivery log: on disk (when the FileQueue is here) and the oldest sample read. */
  private backlog(): BacklogView {
    let samples: number | undefined;
    try {
      samples = this.opts.fileQueue.stats().pendingSignals;
    } catch {
      // A delivery worker's FileQueue stays on the event loop, which adds the backlog to the line.
    }
    let oldest = Number.POSITIVE_INFINITY;
    for (const st of this.segments.values()) oldest = Math.min(oldest, st.oldestTimestampMs);
    return { ...(samples === undefined ? {} : { samples }), oldestPendingMs: Number.isFinite(oldest) ? oldest : 0 };
  }

  private noteError(err: unknown): void {
    this.c.lastError = { message: err instanceof Error ? err.message : String(err), atMs: this.clock.now() };
  }

  stats(): EndpointDeliveryStats {
    const net = this.network.stats();
    const c = this.c;
    const samples = totals(net.loops, 'samples', c.ttlSamples);
    const histograms = totals(net.loops, 'histograms', c.ttlHistograms);
    const exemplars = totals(net.loops, 'exemplars', c.ttlExemplars);
    // Also without rules: records relabeled at ingest under earlier rules carry their drops.
    if (this.relabeler !== undefined || c.relabelSamples > 0) {
      samples.dropped.dropped_series = c.relabelSamples;
      histograms.dropped.dropped_series = c.relabelHistograms;
      exemplars.dropped.dropped_series = c.relabelExemplars;
    }
    if (!this.keepKinds.histograms) histograms.dropped.disabled_by_config = c.unsentHistograms;
    if (!this.keepKinds.exemplars) exemplars.dropped.disabled_by_config = c.unsentExemplars;
    let pending = 0;
    let bytes = 0;
    let highestSent = 0;
    let lastError = c.lastError;
    for (const l of net.loops) {
      pending += l.pendingSignals;
      bytes += l.bytes;
      highestSent = Math.max(highestSent, l.highestSentTimestampMs);
      if (l.lastError !== undefined && (lastError === undefined || l.lastError.atMs >= lastError.atMs)) {
        lastError = l.lastError;
      }
    }
    let oldest = Number.POSITIVE_INFINITY;
    for (const st of this.segments.values()) oldest = Math.min(oldest, st.oldestTimestampMs);
    return {
      name: this.name,
      url: this.opts.config.url,
      state: this.lifecycle.state,
      segmentsRead: c.segmentsRead,
      segmentsReleased: c.segmentsReleased,
      segmentsInMemory: this.segments.size,
      portionsSent: c.portionsSent,
      portionsDropped: c.portionsDropped,
      portionsSkipped: c.portionsSkipped,
      corruptRecords: c.corruptRecords,
      recordsCoalesced: c.recordsCoalesced,
      ...(this.relabeler === undefined ? {} : { relabel: { ...this.relabeler.stats } }),
      relay: { ...this.route.stats },
      ...(this.transcoder === undefined ? {} : { transcoder: { ...this.transcoder.stats } }),
      samples,
      histograms,
      exemplars,
      pendingSignals: pending,
      bytes,
      highestReadTimestampMs: c.highestReadTimestampMs,
      highestSentTimestampMs: highestSent,
      oldestPendingTimestampMs: Number.isFinite(oldest) ? oldest : 0,
      metadataFamilies: this.metadata.size,
      network: net,
      ...(lastError === undefined ? {} : { lastError }),
    };
  }

  metricsSnapshot(): RemoteStorageSnapshot {
    return endpointMetricsSnapshot(this.stats(), this.opts.fileQueue.stats(), this.opts.config);
  }
}

/** An endpoint's metric values from its delivery stats and its FileQueue's stats. */
export function endpointMetricsSnapshot(
  s: EndpointDeliveryStats,
  fq: FileQueueStats,
  config: EndpointConfig,
): RemoteStorageSnapshot {
  const q = config.queue;
  return {
    samples: withDiskDrops(s.samples, fq.droppedSignalsByReason),
    histograms: s.histograms,
    exemplars: s.exemplars,
    pendingSignals: s.pendingSignals,
    metadataSent: s.network.metadata.sent,
    metadataFailed: s.network.metadata.failed,
    bytes: s.bytes,
    shards: s.network.shards,
    shardsDesired: s.network.shardsDesired ?? s.network.shards,
    shardsMin: s.network.shardsMin ?? q.minShards,
    shardsMax: s.network.shardsMax ?? q.maxShards,
    highestTimestampMs: s.highestReadTimestampMs,
    highestSentTimestampMs: s.highestSentTimestampMs,
    queueSegments: fq.segments,
    queuePendingBytes: fq.diskBytes,
    ...(fq.maxDiskBytes === undefined ? {} : { queueMaxDiskBytes: fq.maxDiskBytes }),
    oldestPendingTimestampMs: s.oldestPendingTimestampMs,
    recordsCorrupt: s.corruptRecords,
    ...(s.relabel === undefined ? {} : { relabelSeriesDropped: s.relabel.seriesDropped }),
    relayRecords: relayRecordsByWay(s.relay),
    mailboxes: s.network.loops.map((l) => ({ actor: l.name, depth: l.mailboxDepth, fullCount: l.mailboxFull })),
    ...(s.network.protocol === undefined ? {} : { protocol: protocolSnapshot(s.network) }),
  };
}

/** A 2.0 endpoint's negotiation and written-count totals for the metrics. */
function protocolSnapshot(net: NetworkStats): RemoteStorageSnapshot['protocol'] {
  const p = net.protocol!;
  let partialWrites = 0;
  let nothingWritten = 0;
  for (const l of net.loops) {
    partialWrites += l.writes?.partial ?? 0;
    nothingWritten += l.writes?.nothingWritten ?? 0;
  }
  return {
    protobufMessage: p.protobufMessage,
    fallbacks: { ...p.fallbacks },
    probes: p.probes,
    partialWrites,
    nothingWritten,
  };
}

function totals(loops: SendLoopStats[], kind: 'samples' | 'histograms' | 'exemplars', ttl: number): DeliveryTotals {
  const t = emptyTotals();
  t.dropped.ttl = ttl;
  for (const l of loops) {
    const k: SignalCounters = l[kind];
    t.sent += k.sent;
    t.failed += k.failed;
    t.retried += k.retried;
    t.dropped.too_old += k.droppedTooOld;
    t.dropped['4xx'] += k.dropped4xx;
  }
  return t;
}

/** FileQueue `drop_oldest` drops count as samples dropped with reason `disk_full`. */
function withDiskDrops(t: DeliveryTotals, disk: DiskDropReasons): SignalTotals {
  return { sent: t.sent, failed: t.failed, retried: t.retried, dropped: { ...t.dropped, ...disk } };
}
