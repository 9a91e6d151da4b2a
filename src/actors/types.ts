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
