import type { Clock } from '../clock.js';

/**
 * A bounded FIFO mailbox: the only way actors talk. A full mailbox makes `send` wait; that wait
 * is promspool's backpressure. Never exported from src/index.ts.
 */
export interface Mailbox<T> {
  /** Enqueues `msg`, waiting while the mailbox is full. Rejects with `ClosedError` if closed before it fits. */
  send(msg: T): Promise<void>;
  /**
   * {@link send} for hot paths: `undefined` when `msg` was enqueued at once (no promise made),
   * else the promise `send` would have returned.
   */
  sendOrWait(msg: T): Promise<void> | undefined;
  /** Enqueues `msg` if there is room now; returns false (and counts a full event) otherwise. */
  trySend(msg: T): boolean;
  /** Dequeues the oldest message, waiting for one. Resolves `undefined` once closed and empty. */
  receive(): Promise<T | undefined>;
  /** Dequeues the oldest message if any. */
  tryReceive(): T | undefined;
  /** Refuses further sends; every waiting sender is rejected with `ClosedError`; queued messages can still be received. */
  close(): void;
  readonly closed: boolean;
  readonly size: number;
  readonly capacity: number;
  /** How many times a sender found the mailbox full (for `promspool_mailbox_full_total`). */
  readonly fullCount: number;
}

export type Lifecycle = 'starting' | 'running' | 'draining' | 'stopped';

/** Lifecycle plus `backoff`, which only an actor that retries (a SendLoop) enters, from `running` and back. */
export type ActorState = Lifecycle | 'backoff';

/** Control events of the lifecycle machine. Only lifecycle changes go through xstate, never messages. */
export type LifecycleEvent =
  | { type: 'STARTED' }
  | { type: 'BACKOFF' }
  | { type: 'RESUME' }
  | { type: 'DRAIN' }
  | { type: 'STOPPED' };

/** What a stop left behind. */
export interface StopResult {
  /** Queued messages never given to the handler (hard stop at the drain deadline, a failed start, or an `onError` stop). */
  readonly abandoned: number;
  /** True if the drain deadline passed and the in-flight handler's signal was aborted. */
  readonly timedOut: boolean;
}

/** A running actor as its owner sees it. */
export interface ActorRef<M> {
  readonly name: string;
  /** Waits while the mailbox is full; rejects with `ClosedError` once the actor is stopping. */
  send(msg: M): Promise<void>;
  /** False if the mailbox is full now; throws `ClosedError` once the actor is stopping. */
  trySend(msg: M): boolean;
  readonly state: ActorState;
  readonly mailbox: Mailbox<M>;
  /**
   * Two-phase shutdown. Soft: closes the mailbox (waiting senders get `ClosedError`) and handles
   * every queued message. Hard, once `drainTimeoutMs` has passed on `clock`: aborts the in-flight
   * handler's signal and abandons the rest of the queue. Resolves after the in-flight handler has
   * returned and `onStop` ran. Later calls return the first call's result.
   */
  stop(opts?: { drainTimeoutMs?: number; clock?: Clock }): Promise<StopResult>;
  /** Resolves once the actor reached `stopped`, whoever stopped it. Never rejects. */
  readonly whenStopped: Promise<void>;
  /** For a retrying actor: enter (`true`) or leave (`false`) the `backoff` state. Ignored unless running / in backoff. */
  setBackoff(active: boolean): void;
  /** Calls `listener` with each new state, in order; returns an unsubscribe function. */
  onStateChange(listener: (state: ActorState) => void): () => void;
}
