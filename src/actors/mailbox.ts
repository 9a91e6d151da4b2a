import { ClosedError } from '../errors.js';
import { FifoQueue, nextPowerOfTwo } from './fifo-queue.js';
import type { Mailbox } from './types.js';

/** Largest capacity accepted: the ring array is allocated up front, so a typo must not reserve gigabytes. */
export const MAX_MAILBOX_CAPACITY = 2 ** 24;

// A `send` that finds room returns this one promise instead of allocating a new one per message.
const RESOLVED: Promise<void> = Promise.resolve();
const RESOLVED_EMPTY: Promise<undefined> = Promise.resolve(undefined);

interface WaitingSender<T> {
  readonly msg: T;
  resolve(): void;
  reject(err: unknown): void;
}
type WaitingReceiver<T> = (msg: T | undefined) => void;

/**
 * Creates a bounded FIFO mailbox.
 *
 * Bound: the ring array is `capacity` rounded up to a power of two (so indexing is a mask, as in
 * undici's fixed-queue), but `size` never exceeds exactly `capacity`.
 *
 * Fairness: senders are admitted strictly in call order. When a message is taken and senders
 * are waiting, the oldest waiting sender's message moves into the freed slot at once, in the same
 * synchronous step, so the mailbox stays full while anyone waits. A later `send` therefore queues
 * behind the waiters and a later `trySend` returns false: a sender that waited is never
 * overtaken. Waiting receivers are likewise served oldest first, and a message sent while a
 * receiver waits is handed to it directly without touching the ring.
 *
 * Messages must not be `undefined` (that value means "closed and empty" for `receive` and
 * "empty" for `tryReceive`); sending it is a `TypeError`. `trySend` on a closed mailbox throws
 * `ClosedError` rather than returning false, because false means "full, try later".
 *
 * @param capacity how many messages may be queued, an integer in 1..{@link MAX_MAILBOX_CAPACITY}.
 * @param name used in `ClosedError` messages, e.g. `mailbox of serializer`.
 */
export function createMailbox<T>(capacity: number, name = 'mailbox'): Mailbox<T> {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_MAILBOX_CAPACITY) {
    throw new RangeError(`mailbox capacity must be an integer in 1..${MAX_MAILBOX_CAPACITY}, got ${capacity}`);
  }
  return new RingMailbox<T>(capacity, name);
}

class RingMailbox<T> implements Mailbox<T> {
  readonly capacity: number;
  private readonly name: string;
  private readonly ring: (T | undefined)[];
  private readonly mask: number;
  private head = 0;
  private count = 0;
  private isClosed = false;
  private fulls = 0;
  // Invariants: senders non-empty => count === capacity; receivers non-empty => count === 0.
  private readonly senders = new FifoQueue<WaitingSender<T>>(4);
  private readonly receivers = new FifoQueue<WaitingReceiver<T>>(2);

  constructor(capacity: number, name: string) {
    this.capacity = capacity;
    this.name = name;
    const slots = nextPowerOfTwo(capacity);
    this.ring = new Array<T | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get size(): number {
    return this.count;
  }

  get fullCount(): number {
    return this.fulls;
  }

  send(msg: T): Promise<void> {
    return this.sendOrWait(msg) ?? RESOLVED;
  }

  sendOrWait(msg: T): Promise<void> | undefined {
    if (msg === undefined) return Promise.reject(new TypeError('a mailbox message cannot be undefined'));
    if (this.isClosed) return Promise.reject(new ClosedError(this.name));
    if (this.offer(msg)) return undefined;
    this.fulls++;
    return new Promise<void>((resolve, reject) => {
      this.senders.push({ msg, resolve, reject });
    });
  }

  trySend(msg: T): boolean {
    if (msg === undefined) throw new TypeError('a mailbox message cannot be undefined');
    if (this.isClosed) throw new ClosedError(this.name);
    if (this.offer(msg)) return true;
    this.fulls++;
    return false;
  }

  receive(): Promise<T | undefined> {
    if (this.count > 0) return Promise.resolve(this.take());
    if (this.isClosed) return RESOLVED_EMPTY;
    return new Promise<T | undefined>((resolve) => {
      this.receivers.push(resolve);
    });
  }

  tryReceive(): T | undefined {
    return this.count > 0 ? this.take() : undefined;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (let w = this.senders.shift(); w !== undefined; w = this.senders.shift()) w.reject(new ClosedError(this.name));
    // Receivers only wait on an empty mailbox, so every one of them is now at the end of the stream.
    for (let r = this.receivers.shift(); r !== undefined; r = this.receivers.shift()) r(undefined);
  }

  /** Places `msg` if that needs no waiting: straight to a waiting receiver, else into a free slot. */
  private offer(msg: T): boolean {
    const receiver = this.receivers.shift();
    if (receiver !== undefined) {
      receiver(msg);
      return true;
    }
    // With waiting senders the ring is full (see invariants), so this check alone keeps FIFO fairness.
    if (this.count < this.capacity) {
      this.ring[(this.head + this.count) & this.mask] = msg;
      this.count++;
      return true;
    }
    return false;
  }

  private take(): T {
    const msg = this.ring[this.head] as T;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    const sender = this.senders.shift();
    if (sender !== undefined) {
      this.ring[(this.head + this.count) & this.mask] = sender.msg;
      this.count++;
      sender.resolve();
    }
    return msg;
  }
}
