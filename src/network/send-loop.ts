import { createLifecycle, type LifecycleTracker } from '../actors/lifecycle.js';
import { createMailbox } from '../actors/mailbox.js';
import type { ActorState, Mailbox } from '../actors/types.js';
import { type Clock, sleep, systemClock, type TimerHandle } from '../clock.js';
import type { QueueConfig } from '../config/types.js';
import { ClosedError, RetryableError } from '../errors.js';
import { LogThrottle } from '../log-throttle.js';
import { type Logger, silentLogger } from '../logger.js';
import type { MetadataEntry } from '../serialization/types.js';
import { joinSnappyElements } from '../wire/snappy.js';
import type { ProtobufMessage, WriteRequestEncoder } from '../wire/types.js';
import { type AgeCut, BatchBuilder } from './batch-builder.js';
import type { PostResult, RemoteWriteClient } from './http-client.js';
import type { FallbackReason, ProtocolNegotiation, WrittenCounts } from './protocol-negotiation.js';
import { classifyStatus, parseRetryAfterMs, retryDelayMs } from './retry-policy.js';
import {
  emptySignalCounters,
  type PortionDoneCallback,
  type PortionOutcome,
  type PortionRef,
  portionsOf,
  SENT,
  type SendLoopStats,
  type SendWork,
} from './types.js';

/** A failed attempt that will be retried. */
export interface DeliveryFailure {
  /** What went wrong: the error's message, or `HTTP <status>: <body>`. */
  error: string;
  /** The error's code (e.g. `ECONNREFUSED`, `ERR_TIMEOUT`), if it has one. */
  code?: string;
  /** The receiver's HTTP status, if it answered. */
  status?: number;
  /** Wait before the next attempt. */
  retryInMs: number;
}

/** A batch the receiver refused with a non-retryable status: dropped. */
export interface DeliveryDrop {
  status: number;
  error: string;
  samples: number;
  histograms: number;
  exemplars: number;
}

/**
 * What happens to a loop's requests, for whoever reports delivery health (the endpoint's log).
 * Called synchronously from the loop; `loop` is the loop's name.
 */
export interface DeliveryEvents {
  failed(loop: string, failure: DeliveryFailure): void;
  dropped(loop: string, drop: DeliveryDrop): void;
  /** A request was delivered (2xx) with `signals` samples, histograms and exemplars. */
  delivered(loop: string, signals: number): void;
}

export interface SendLoopOptions {
  /** Names the loop in logs and stats, e.g. `primary/shard-0`. */
  name: string;
  queue: QueueConfig;
  /** Per attempt: the request is aborted (and retried) when no answer came within this time. */
  remoteTimeoutMs: number;
  client: RemoteWriteClient;
  /**
   * This loop's own encoder: its output views a scratch buffer reused by the next `encode`. With
   * `negotiation`, the 1.0 encoder.
   */
  encoder: WriteRequestEncoder;
  /** Set for an endpoint configured with `io.prometheus.write.v2.Request`: see {@link LoopNegotiation}. */
  negotiation?: LoopNegotiation;
  /** Snappy block compression; must return a buffer it owns (it is kept for retries). */
  compress: (body: Uint8Array) => Uint8Array;
  onPortionDone: PortionDoneCallback;
  /**
   * Called after every attempt that counts: true when delivered (2xx), false when it failed or was
   * refused (each one `failedAttempts` counts). The resharding policy's view of a recovery.
   */
  onAttempt?: (delivered: boolean) => void;
  /** Called once per delivered request with its duration in seconds (for `sent_batch_duration_seconds`). */
  observeBatchDuration?: (seconds: number) => void;
  /** SendWork the mailbox holds before `send` waits. Default {@link DEFAULT_SEND_MAILBOX_CAPACITY}. */
  mailboxCapacity?: number;
  clock?: Clock;
  logger?: Logger;
  /** Uniform in [0, 1): the backoff jitter. Injectable so tests pin the delays. */
  random?: () => number;
  /** Told of every failure, drop and delivery; without it a refused batch is logged here at warn. */
  events?: DeliveryEvents;
}

/**
 * What a loop of a 2.0 endpoint needs to send 2.0 and fall back to 1.0: the endpoint's shared
 * protocol state, this loop's own 2.0 encoder, and the metadata that travels inline.
 */
export interface LoopNegotiation {
  state: ProtocolNegotiation;
  encoderV2: WriteRequestEncoder;
  /** The latest metadata of every family (the 2.0 encoder puts those of the request's series inline); empty when `metadata_config.send` is false. */
  metadata: () => readonly MetadataEntry[];
}

/** What a stopped loop left undone: their data is still on disk, unacknowledged. */
export interface SendLoopStopResult {
  abandonedPortions: PortionRef[];
}

/**
 * One shard's sender: takes SendWork from its bounded mailbox, batches it, and has exactly one
 * request in flight at any time, so the order of every series it owns is the order on the wire.
 */
export interface SendLoop {
  readonly name: string;
  readonly state: ActorState;
  /** Queues work; waits while the mailbox is full (backpressure). Rejects with `ClosedError` once stopping. */
  send(work: SendWork): Promise<void>;
  /** {@link send} without a promise when the work fits at once (then `undefined`). */
  sendOrWait(work: SendWork): Promise<void> | undefined;
  /**
   * Sends what the loop holds (the batch being built, and the batches after it up to the first
   * that is not full) as soon as the request in flight (if any) is done, without waiting for
   * `batch_send_deadline`: the caller has nothing more to give until these portions finish.
   * Batches after that wait for their deadline again.
   */
  flush(): void;
  /**
   * {@link flush} narrowed to what blocks a release: the batch at the end of what the loop holds
   * goes early only if it carries a portion for which `blocking` is true (batches before it are
   * full and go anyway). A partial batch of newer portions keeps its deadline, so it can still
   * fill with the work that follows. Replaces an earlier such call's predicate.
   */
  flushHolding(blocking: (portion: PortionRef) => boolean): void;
  /** Calls `listener` on every lifecycle change (starting, running, backoff, draining, stopped). */
  onStateChange(listener: (state: ActorState) => void): () => void;
  /**
   * Two-phase stop. Soft: no new work; what is queued and in flight is sent, the partial batch at
   * once without waiting for its deadline. Hard, after `timeoutMs` on the clock: the request in
   * flight is aborted. A loop in backoff (or whose request fails while draining) stops at once:
   * the receiver is failing and the data is safe on disk. Later calls return the first result.
   */
  stop(opts: { timeoutMs: number }): Promise<SendLoopStopResult>;
  stats(): SendLoopStats;
}

/**
 * Default SendLoop mailbox capacity, in SendWork. A record split per virtual shard made up to 256
 * of them, 256 / N per loop of N (the endpoint now makes one per partition, up to 64); with the endpoint's 2 segments in memory
 * of 5 records each (10,000 signals in requests of 2,000 series) that is up to 640 per loop at 4
 * loops. A mailbox that holds them all means one loop waiting for its receiver never holds up the
 * endpoint, and through it the other loops (64 did: a 10M-sample backlog drained at 0.85-0.97M
 * samples/s, 1.09-1.22M with 1024). Memory stays bounded by the segments in memory: a SendWork
 * only points into its record (~100 bytes).
 */
export const DEFAULT_SEND_MAILBOX_CAPACITY = 1024;

/** Starts a SendLoop; it runs until {@link SendLoop.stop}. */
export function startSendLoop(opts: SendLoopOptions): SendLoop {
  return new SendLoopActor(opts);
}

const DROPPED_4XX: PortionOutcome = Object.freeze({ status: 'dropped', reason: '4xx' });

class SendLoopActor implements SendLoop {
  readonly name: string;
  private readonly opts: SendLoopOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly mailbox: Mailbox<SendWork>;
  private readonly lifecycle: LifecycleTracker;
  private readonly batch: BatchBuilder;
  /** Aborts backoff sleeps and the request in flight: the hard stop. */
  private readonly hardStop = new AbortController();
  private inflight: AbortController | undefined;
  /** A pending `mailbox.receive()`, kept across waits so no message is ever taken twice or lost. */
  private receiving: Promise<void> | undefined;
  private inputEnded = false;
  private draining = false;
  /** Set by flush(): the batch being built goes without waiting for its deadline. */
  private flushRequested = false;
  /** Set by flushHolding(): a partial batch holding such a portion goes without waiting for its deadline. */
  private flushBlocking: ((portion: PortionRef) => boolean) | undefined;
  /** Ends a waitForInput early (flush). */
  private wakeWait: (() => void) | undefined;
  private batchStartedAt: number | undefined;
  /** Signals of the work sent to the mailbox and not yet taken from it (including senders waiting). */
  private queuedSignals = 0;
  /** Works part of which was in a refused (4xx) request: their outcome is `dropped` too. */
  private readonly refused = new Set<SendWork>();
  private readonly done: Promise<SendWork[]>;
  private stopping: Promise<SendLoopStopResult> | undefined;
  private readonly counters = {
    requests: 0,
    requestMs: 0,
    failedAttempts: 0,
    samples: emptySignalCounters(),
    histograms: emptySignalCounters(),
    exemplars: emptySignalCounters(),
    bytes: 0,
    highestSentTimestampMs: 0,
    lastError: undefined as { message: string; atMs: number } | undefined,
    /** 2.0 answers whose written counts fell short of the request (some written). */
    partialWrites: 0,
    /** 2xx answers to non-empty 2.0 requests whose counts say nothing was written. */
    nothingWritten: 0,
    /** Batches sent again as 1.0 after their 2.0 request was not understood. */
    fallbackResends: 0,
  };
  /** Warns about short written counts at most once a minute (a receiver may do it on every request). */
  private readonly shortWrites: LogThrottle<Record<string, unknown>>;

  constructor(opts: SendLoopOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ actor: opts.name });
    this.random = opts.random ?? Math.random;
    this.mailbox = createMailbox<SendWork>(
      opts.mailboxCapacity ?? DEFAULT_SEND_MAILBOX_CAPACITY,
      `mailbox of ${opts.name}`,
    );
    this.lifecycle = createLifecycle();
    // Works sent as their snappy elements cannot be cut by age: only loops that never cut take them so.
    // Whole series as runs where the 2.0 encoder takes them (the relay's transcoder): no slice per series.
    this.batch = new BatchBuilder(
      opts.queue.maxSamplesPerSend,
      opts.queue.sampleAgeLimitMs === 0,
      opts.negotiation?.encoderV2.encodeRuns !== undefined,
    );
    this.shortWrites = new LogThrottle<Record<string, unknown>>({
      clock: this.clock,
      first: (e) => this.log.warn('remote write 2.0: the receiver did not write all of the batch (not retried)', e),
      summary: (n, e) =>
        this.log.warn('remote write 2.0: the receiver did not write all of the batch (not retried)', {
          ...e,
          requests: n,
        }),
    });
    this.done = this.run();
  }

  get state(): ActorState {
    return this.lifecycle.state;
  }

  send(work: SendWork): Promise<void> {
    return this.sendOrWait(work) ?? Promise.resolve();
  }

  sendOrWait(work: SendWork): Promise<void> | undefined {
    const p = this.mailbox.sendOrWait(work);
    this.queuedSignals += work.signals;
    return p?.catch((err: unknown) => {
      this.queuedSignals -= work.signals;
      throw err;
    });
  }

  /** Every message leaves the mailbox through here. */
  private take(work: SendWork): void {
    this.queuedSignals -= work.signals;
    this.batch.push(work);
  }

  onStateChange(listener: (state: ActorState) => void): () => void {
    return this.lifecycle.onChange(listener);
  }

  flush(): void {
    // Nothing held: the next batch keeps its deadline.
    if (this.batch.empty && this.mailbox.size === 0) return;
    this.flushRequested = true;
    this.wakeWait?.();
  }

  flushHolding(blocking: (portion: PortionRef) => boolean): void {
    if (this.batch.empty && this.mailbox.size === 0) return;
    this.flushBlocking = blocking;
    this.wakeWait?.();
  }

  /** Whether the partial batch goes now: a flush covers it, or it holds a portion a flushHolding asked for. */
  private flushesNow(): boolean {
    if (this.flushRequested) return true;
    const blocking = this.flushBlocking;
    if (blocking === undefined) return false;
    const holds = this.batch.someWork((w) => {
      if (blocking(w.portion)) return true;
      const more = w.morePortions;
      if (more !== undefined) for (let i = 0; i < more.length; i++) if (blocking(more[i])) return true;
      return false;
    });
    // Kept while not held: a work still on its way (a pending receive) may carry such a portion.
    if (holds) this.flushBlocking = undefined;
    return holds;
  }

  stop(opts: { timeoutMs: number }): Promise<SendLoopStopResult> {
    if (this.stopping === undefined) this.stopping = this.stopOnce(opts.timeoutMs);
    return this.stopping;
  }

  stats(): SendLoopStats {
    const c = this.counters;
    return {
      name: this.name,
      state: this.lifecycle.state,
      mailboxDepth: this.mailbox.size,
      mailboxCapacity: this.mailbox.capacity,
      mailboxFull: this.mailbox.fullCount,
      pendingSignals: this.batch.pendingSignals + this.queuedSignals,
      requests: c.requests,
      requestMs: c.requestMs,
      failedAttempts: c.failedAttempts,
      samples: { ...c.samples },
      histograms: { ...c.histograms },
      exemplars: { ...c.exemplars },
      bytes: c.bytes,
      highestSentTimestampMs: c.highestSentTimestampMs,
      ...(this.opts.negotiation === undefined
        ? {}
        : {
            writes: {
              partial: c.partialWrites,
              nothingWritten: c.nothingWritten,
              fallbackResends: c.fallbackResends,
            },
          }),
      ...(c.lastError === undefined ? {} : { lastError: { ...c.lastError } }),
    };
  }

  private async stopOnce(timeoutMs: number): Promise<SendLoopStopResult> {
    const wasBackoff = this.lifecycle.state === 'backoff';
    this.draining = true;
    this.lifecycle.send({ type: 'DRAIN' });
    this.mailbox.close();
    let timer: TimerHandle | undefined;
    if (wasBackoff || timeoutMs <= 0) this.abort();
    else timer = this.clock.setTimeout(() => this.abort(), timeoutMs);
    const left = await this.done;
    this.clock.clearTimeout(timer);
    return { abandonedPortions: left.flatMap(portionsOf) };
  }

  private abort(): void {
    if (this.hardStop.signal.aborted) return;
    const reason = new ClosedError(this.name);
    this.hardStop.abort(reason);
    this.inflight?.abort(reason);
    this.mailbox.close();
  }

  /** Takes the next message into the batch when it arrives; sets `inputEnded` once closed and empty. */
  private armReceive(): Promise<void> {
    if (this.receiving === undefined) {
      this.receiving = this.mailbox.receive().then((work) => {
        this.receiving = undefined;
        if (work === undefined) this.inputEnded = true;
        else this.take(work);
      });
    }
    return this.receiving;
  }

  /** Resolves true when input arrived (or ended) or a flush came before `ms`, false when the deadline came first. */
  private waitForInput(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const settle = (inputCame: boolean) => {
        if (settled) return;
        settled = true;
        this.wakeWait = undefined;
        this.clock.clearTimeout(timer);
        resolve(inputCame);
      };
      const timer = this.clock.setTimeout(() => settle(false), ms);
      // flush(): the loop decides again (flushesNow) with what it holds now.
      this.wakeWait = () => settle(true);
      void this.armReceive().then(() => settle(true));
    });
  }

  private async run(): Promise<SendWork[]> {
    this.lifecycle.send({ type: 'STARTED' });
    const deadlineMs = this.opts.queue.batchSendDeadlineMs;
    const b = this.batch;
    try {
      while (!this.hardStop.signal.aborted) {
        this.fillFromMailbox();
        if (b.empty) {
          if (this.inputEnded) break;
          await this.armReceive();
          continue;
        }
        if (b.units > 0 && this.batchStartedAt === undefined) this.batchStartedAt = this.clock.now();
        if (!b.full && !this.inputEnded && !this.draining && b.units > 0 && !this.flushesNow()) {
          const left = (this.batchStartedAt ?? 0) + deadlineMs - this.clock.now();
          if (left > 0 && (await this.waitForInput(left))) continue;
        }
        // A flush covers everything held when it came: it ends with a batch that is not full.
        if (!b.full) this.flushRequested = false;
        if (!(await this.sendBatch())) break;
        this.batchStartedAt = undefined;
      }
    } catch (err) {
      // A bug, not a receiver problem: keep the data on disk (abandoned) and say so loudly.
      this.log.error('send loop failed', { err: String(err) });
    }
    this.abort();
    if (this.receiving !== undefined) await this.receiving;
    const left = b.takeAll();
    for (let w = this.mailbox.tryReceive(); w !== undefined; w = this.mailbox.tryReceive()) left.push(w);
    this.refused.clear();
    this.shortWrites.stop();
    this.lifecycle.send({ type: 'DRAIN' });
    this.lifecycle.send({ type: 'STOPPED' });
    return left;
  }

  /**
   * Fills the batch, taking messages from the mailbox one at a time and only while the batch has
   * room: what a batch does not need stays in the mailbox, so a full mailbox keeps pushing back.
   */
  private fillFromMailbox(): void {
    const b = this.batch;
    for (;;) {
      b.fill();
      // A pending receive gets the next message first; taking one here would reorder them.
      if (b.full || this.receiving !== undefined) return;
      const w = this.mailbox.tryReceive();
      if (w === undefined) return;
      this.take(w);
    }
  }

  private finishBatch(outcome: PortionOutcome): void {
    const refused = this.refused;
    this.batch.finish(
      (work) => {
        const o = refused.delete(work) ? DROPPED_4XX : outcome;
        this.opts.onPortionDone(work.portion, o);
        const more = work.morePortions;
        if (more !== undefined) for (let i = 0; i < more.length; i++) this.opts.onPortionDone(more[i], o);
      },
      outcome === SENT ? undefined : (work) => refused.add(work),
    );
  }

  /** Sends the current batch until delivered or refused. False when the loop must stop (hard stop, or a failure while draining). */
  private async sendBatch(): Promise<boolean> {
    const b = this.batch;
    const q = this.opts.queue;
    const c = this.counters;
    if (q.sampleAgeLimitMs > 0) this.countAgeCut(b.cutOlderThan(this.clock.now() - q.sampleAgeLimitMs));
    if (b.units === 0) {
      this.finishBatch(SENT);
      return true;
    }
    let wire = this.protocol();
    let body = this.encode(wire);
    for (let retry = 1; ; retry++) {
      if (this.hardStop.signal.aborted) return false;
      const started = this.clock.now();
      const result = await this.attempt(body, wire);
      if (this.hardStop.signal.aborted) return false;
      c.requests++;
      if (wire === V2 && !(result instanceof Error)) {
        const notUnderstood = notUnderstoodReason(result, q.retryOnHttp429);
        if (notUnderstood !== undefined) {
          // The same batch at once as 1.0: nothing is dropped (a duplicate at worst, after a 2xx).
          this.opts.negotiation?.state.fallBack(notUnderstood, { loop: this.name, status: result.status });
          c.fallbackResends++;
          wire = V1;
          body = this.encode(wire);
          retry--;
          continue;
        }
      }
      let retryAfterMs: number | undefined;
      let message: string;
      let code: string | undefined;
      let status: number | undefined;
      if (result instanceof Error) {
        message = result.message;
        code = errorCode(result);
      } else {
        status = result.status;
        const verdict = classifyStatus(result.status, q.retryOnHttp429);
        if (verdict === 'success') {
          this.opts.events?.delivered(this.name, b.samples + b.histograms + b.exemplars);
          this.opts.onAttempt?.(true);
          this.countDelivered(body.length, started);
          if (wire === V2 && result.written !== undefined) {
            this.opts.negotiation?.state.confirmed();
            this.countWritten(result.written);
          }
          this.finishBatch(SENT);
          return true;
        }
        message = `HTTP ${result.status}: ${result.message}`;
        if (verdict === 'drop') {
          c.failedAttempts++;
          this.opts.onAttempt?.(false);
          this.noteError(message);
          const drop: DeliveryDrop = {
            status: result.status,
            error: result.message,
            samples: b.samples,
            histograms: b.histograms,
            exemplars: b.exemplars,
          };
          if (this.opts.events === undefined) {
            this.log.warn('remote write refused the batch, dropping it', { ...drop, message: drop.error });
          } else {
            this.opts.events.dropped(this.name, drop);
          }
          this.countRefused();
          this.finishBatch(DROPPED_4XX);
          return true;
        }
        retryAfterMs = parseRetryAfterMs(result.retryAfter, this.clock.now());
      }
      c.failedAttempts++;
      this.opts.onAttempt?.(false);
      this.noteError(message);
      c.samples.retried += b.samples;
      c.histograms.retried += b.histograms;
      c.exemplars.retried += b.exemplars;
      if (this.draining) {
        this.log.info('request failed while draining; leaving the rest on disk', { err: message });
        return false;
      }
      const delay = retryDelayMs(retry, retryAfterMs, q, this.random);
      this.log.debug('request failed, retrying', { err: message, retry, delayMs: delay });
      this.opts.events?.failed(this.name, {
        error: message,
        ...(code === undefined ? {} : { code }),
        ...(status === undefined ? {} : { status }),
        retryInMs: delay,
      });
      this.lifecycle.send({ type: 'BACKOFF' });
      try {
        await sleep(this.clock, delay, this.hardStop.signal);
      } catch {
        return false;
      }
      this.lifecycle.send({ type: 'RESUME' });
      if (this.draining) return false;
      let reencode = false;
      if (q.sampleAgeLimitMs > 0) {
        const cut = b.cutOlderThan(this.clock.now() - q.sampleAgeLimitMs);
        if (cut.samples + cut.histograms + cut.exemplars > 0) {
          this.countAgeCut(cut);
          if (b.sliceCount === 0) {
            this.finishBatch(SENT);
            return true;
          }
          reencode = true;
        }
      }
      // Another loop may have fallen back (or a probe come due) meanwhile: the next attempt follows it.
      const next = this.protocol();
      if (next !== wire || reencode) {
        wire = next;
        body = this.encode(wire);
      }
    }
  }

  /**
   * The message of the current batch's next attempt: the endpoint's negotiated one. Without
   * negotiation undefined (the client sends the endpoint's `protobuf_message`). A batch of snappy
   * elements is 1.0 bytes, so always 1.0 (the endpoint gives a 2.0 endpoint none).
   */
  private protocol(): ProtobufMessage | undefined {
    const n = this.opts.negotiation;
    if (n === undefined) return undefined;
    if (this.batch.elementCount > 0) return V1;
    return n.state.current();
  }

  private encode(message: ProtobufMessage | undefined): Uint8Array {
    const b = this.batch;
    // The encoder's output is only valid until its next call: compress copies it out at once.
    if (b.elementCount > 0) return joinSnappyElements(b.elements, b.elementCount);
    const n = this.opts.negotiation;
    if (message === V2 && n !== undefined) {
      const v2 = n.encoderV2;
      if (b.onlyRuns && v2.encodeRuns !== undefined) {
        const out = v2.encodeRuns(b.runs, b.runCount, n.metadata());
        if (out !== undefined) return this.opts.compress(out);
      }
      // Reading the slices turns any runs into slices.
      return this.opts.compress(v2.encode(b.slices, b.sliceCount, n.metadata()));
    }
    return this.opts.compress(this.opts.encoder.encode(b.slices, b.sliceCount, NO_METADATA));
  }

  /**
   * A 2.0 answer's written counts: what the receiver says it did not write is counted as failed
   * and not retried (the spec: a partial write is final). Nothing written of a non-empty batch is
   * an error of its own.
   */
  private countWritten(w: WrittenCounts): void {
    const b = this.batch;
    const c = this.counters;
    const samples = Math.max(0, b.samples - w.samples);
    const histograms = Math.max(0, b.histograms - w.histograms);
    const exemplars = Math.max(0, b.exemplars - w.exemplars);
    if (samples + histograms + exemplars === 0) return;
    c.samples.sent -= samples;
    c.samples.failed += samples;
    c.histograms.sent -= histograms;
    c.histograms.failed += histograms;
    c.exemplars.sent -= exemplars;
    c.exemplars.failed += exemplars;
    const nothing = w.samples + w.histograms + w.exemplars === 0;
    if (nothing) {
      c.nothingWritten++;
      this.noteError('remote write 2.0: 2xx, but the written headers say nothing of the batch was written');
    } else {
      c.partialWrites++;
    }
    this.shortWrites.note({
      nothing_written: nothing,
      samples_not_written: samples,
      histograms_not_written: histograms,
      exemplars_not_written: exemplars,
    });
  }

  /** One POST with its own timeout; resolves the receiver's answer or the error (never rejects). */
  private async attempt(body: Uint8Array, message: ProtobufMessage | undefined): Promise<PostResult | Error> {
    const ac = new AbortController();
    this.inflight = ac;
    const timeoutMs = this.opts.remoteTimeoutMs;
    const timer = this.clock.setTimeout(() => {
      ac.abort(new RetryableError('ERR_TIMEOUT', `no answer within remote_timeout (${timeoutMs} ms)`));
    }, timeoutMs);
    const started = this.clock.now();
    try {
      return await this.opts.client.post(body, ac.signal, message);
    } catch (err) {
      if (ac.signal.aborted && ac.signal.reason instanceof Error) return ac.signal.reason;
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      this.clock.clearTimeout(timer);
      this.inflight = undefined;
      this.counters.requestMs += this.clock.now() - started;
    }
  }

  private countDelivered(bytes: number, startedMs: number): void {
    const b = this.batch;
    const c = this.counters;
    c.samples.sent += b.samples;
    c.histograms.sent += b.histograms;
    c.exemplars.sent += b.exemplars;
    c.bytes += bytes;
    c.highestSentTimestampMs = Math.max(c.highestSentTimestampMs, b.highestTimestampMs());
    this.opts.observeBatchDuration?.((this.clock.now() - startedMs) / 1000);
  }

  private countRefused(): void {
    const b = this.batch;
    const c = this.counters;
    c.samples.failed += b.samples;
    c.samples.dropped4xx += b.samples;
    c.histograms.failed += b.histograms;
    c.histograms.dropped4xx += b.histograms;
    c.exemplars.failed += b.exemplars;
    c.exemplars.dropped4xx += b.exemplars;
  }

  private countAgeCut(cut: AgeCut): void {
    const c = this.counters;
    c.samples.droppedTooOld += cut.samples;
    c.histograms.droppedTooOld += cut.histograms;
    c.exemplars.droppedTooOld += cut.exemplars;
  }

  private noteError(message: string): void {
    this.counters.lastError = { message, atMs: this.clock.now() };
  }
}

/** The code of a failed attempt's error: its own, or its cause's (fetch wraps ECONNREFUSED in a TypeError). */
function errorCode(err: Error): string | undefined {
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: unknown }).cause;
  const inner = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof inner === 'string' ? inner : undefined;
}

const NO_METADATA: readonly never[] = Object.freeze([]);
const V1: ProtobufMessage = 'prometheus.WriteRequest';
const V2: ProtobufMessage = 'io.prometheus.write.v2.Request';

/**
 * Whether an answer to a 2.0 request says the receiver did not understand 2.0: a 415, or a
 * success without any written header (the spec's SHOULD: treat it as a 415).
 */
function notUnderstoodReason(result: PostResult, retryOn429: boolean): FallbackReason | undefined {
  if (result.status === 415) return 'unsupported_media_type';
  if (classifyStatus(result.status, retryOn429) === 'success' && result.written === undefined) {
    return 'no_written_headers';
  }
  return undefined;
}
