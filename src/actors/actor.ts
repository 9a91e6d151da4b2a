import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { ClosedError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { createLifecycle, type LifecycleTracker } from './lifecycle.js';
import { createMailbox } from './mailbox.js';
import type { ActorRef, ActorState, Mailbox, StopResult } from './types.js';

/** What a handler failure does to the actor: keep going with the next message, or stop now. */
export type ErrorDecision = 'continue' | 'stop';

export interface ActorOptions<M> {
  /** Names the actor in logs and `ClosedError` messages. */
  name: string;
  /** Mailbox bound (see `createMailbox`). */
  capacity: number;
  /**
   * Handles one message; the next one is not taken until this returns or its promise settles.
   * `signal` aborts (reason: `ClosedError`) when a stop reaches its drain deadline; a handler
   * that ignores it delays the stop for as long as it runs.
   */
  handle(msg: M, signal: AbortSignal): Promise<void> | void;
  /** Runs before the first message; messages sent meanwhile queue. If it throws, the actor stops and abandons the queue. */
  onStart?(signal: AbortSignal): Promise<void> | void;
  /** Runs once after the last message, before the state becomes `stopped`. A throw is logged. */
  onStop?(): Promise<void> | void;
  /**
   * Decides what a throwing handler does. `'stop'` closes the mailbox and abandons what is still
   * queued. Default: log at error level and continue, so one bad message never silently kills the loop.
   */
  onError?(err: unknown, msg: M): ErrorDecision;
  logger?: Logger;
}

/**
 * Starts an actor: a loop that takes messages from its own bounded mailbox and handles them one at
 * a time, with a `starting -> running -> draining -> stopped` lifecycle kept by the xstate
 * `lifecycleMachine` (./lifecycle.ts) (lifecycle events only; messages never go through xstate).
 */
export function startActor<M>(opts: ActorOptions<M>): ActorRef<M> {
  return new LoopActor(opts);
}

class LoopActor<M> implements ActorRef<M> {
  readonly name: string;
  readonly mailbox: Mailbox<M>;
  readonly whenStopped: Promise<void>;
  private readonly opts: ActorOptions<M>;
  private readonly log: Logger;
  private readonly lifecycle: LifecycleTracker;
  private readonly controller = new AbortController();
  private readonly done: Promise<StopResult>;
  private resolveDone!: (result: StopResult) => void;
  private stopping: Promise<StopResult> | undefined;
  private finished = false;
  private abandoned = 0;
  private timedOut = false;

  constructor(opts: ActorOptions<M>) {
    this.opts = opts;
    this.name = opts.name;
    this.mailbox = createMailbox<M>(opts.capacity, `mailbox of actor ${opts.name}`);
    this.log = (opts.logger ?? silentLogger).child({ actor: opts.name });
    this.lifecycle = createLifecycle();
    this.lifecycle.onChange((state) => this.log.debug('actor state', { state }));
    this.done = new Promise<StopResult>((resolve) => {
      this.resolveDone = resolve;
    });
    this.whenStopped = this.done.then(() => undefined);
    void this.run();
  }

  get state(): ActorState {
    return this.lifecycle.state;
  }

  send(msg: M): Promise<void> {
    return this.mailbox.send(msg);
  }

  trySend(msg: M): boolean {
    return this.mailbox.trySend(msg);
  }

  setBackoff(active: boolean): void {
    this.lifecycle.send({ type: active ? 'BACKOFF' : 'RESUME' });
  }

  onStateChange(listener: (state: ActorState) => void): () => void {
    return this.lifecycle.onChange(listener);
  }

  stop(opts: { drainTimeoutMs?: number; clock?: Clock } = {}): Promise<StopResult> {
    if (this.stopping !== undefined) return this.stopping;
    this.mailbox.close();
    this.lifecycle.send({ type: 'DRAIN' });
    const clock = opts.clock ?? systemClock;
    let timer: TimerHandle | undefined;
    if (opts.drainTimeoutMs !== undefined && !this.finished) {
      timer = clock.setTimeout(() => this.hardStop(), opts.drainTimeoutMs);
    }
    this.stopping = this.done.then((result) => {
      clock.clearTimeout(timer);
      return result;
    });
    return this.stopping;
  }

  private hardStop(): void {
    if (this.finished) return;
    this.timedOut = true;
    this.log.warn('actor drain deadline passed, aborting in-flight work', { queued: this.mailbox.size });
    this.controller.abort(new ClosedError(`actor ${this.name}`));
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    try {
      let started = true;
      try {
        await this.opts.onStart?.(signal);
      } catch (err) {
        started = false;
        this.log.error('actor failed to start', { err });
      }
      if (started) {
        this.lifecycle.send({ type: 'STARTED' });
        await this.loop(signal);
        this.abandonQueue();
        await this.runOnStop();
      }
    } catch (err) {
      // Only a throwing logger or onError hook gets here; the actor must still reach `stopped`.
      this.log.error('actor loop failed', { err });
    } finally {
      this.abandonQueue();
      this.finished = true;
      this.lifecycle.send({ type: 'DRAIN' });
      this.lifecycle.send({ type: 'STOPPED' });
      this.resolveDone({ abandoned: this.abandoned, timedOut: this.timedOut });
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const mailbox = this.mailbox;
    while (!signal.aborted) {
      // Take what is queued without a promise; await only when the mailbox is empty.
      let msg = mailbox.tryReceive();
      if (msg === undefined) {
        msg = await mailbox.receive();
        if (msg === undefined) return; // closed and empty: drained
        if (signal.aborted) {
          this.abandoned++;
          return;
        }
      }
      try {
        const pending = this.opts.handle(msg, signal);
        if (pending !== undefined) await pending;
      } catch (err) {
        if (this.decide(err, msg) === 'stop') {
          this.mailbox.close();
          this.lifecycle.send({ type: 'DRAIN' });
          return;
        }
      }
    }
  }

  private decide(err: unknown, msg: M): ErrorDecision {
    if (this.opts.onError === undefined) {
      this.log.error('actor handler failed; continuing with the next message', { err });
      return 'continue';
    }
    return this.opts.onError(err, msg);
  }

  private async runOnStop(): Promise<void> {
    try {
      await this.opts.onStop?.();
    } catch (err) {
      this.log.error('actor onStop failed', { err });
    }
  }

  /** Counts and releases whatever is still queued; closing first means nothing can refill it. */
  private abandonQueue(): void {
    this.mailbox.close();
    while (this.mailbox.tryReceive() !== undefined) this.abandoned++;
  }
}
