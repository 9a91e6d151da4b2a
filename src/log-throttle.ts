/**
 * At most one log line per interval for one kind of recurring event (a refused request, a full
 * disk, a dropped batch): the first event after a quiet interval is logged at once, the ones after
 * it are counted, and each interval that saw more of them ends with one summary line. An operator
 * sees a problem the moment it starts and then once a minute while it lasts, never a flood.
 *
 * Every time read and timer goes through the injected {@link Clock}, so tests drive it by hand.
 */
import type { Clock, TimerHandle } from './clock.js';

/** One minute: how often a recurring problem is logged at most. */
export const DEFAULT_LOG_INTERVAL_MS = 60_000;

export interface LogThrottleOptions<E> {
  clock: Clock;
  /** Default {@link DEFAULT_LOG_INTERVAL_MS}. */
  intervalMs?: number;
  /** The first event after a quiet interval: log it now. */
  first(event: E): void;
  /**
   * An interval after a line ended and `count` more events came in it: log them as one line.
   * `sinceMs` is when the line before was written.
   */
  summary(count: number, latest: E, sinceMs: number): void;
  /** A whole interval after a line passed without an event: the problem is over (optional). */
  quiet?(sinceMs: number): void;
}

/**
 * Rate-limits the lines of one recurring event; see the module comment. A timer is armed only
 * while a line was written within the last interval, so an idle throttle holds nothing.
 */
export class LogThrottle<E> {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private lastLineMs = 0;
  private count = 0;
  private latest: E | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly opts: LogThrottleOptions<E>) {
    this.clock = opts.clock;
    this.intervalMs = opts.intervalMs ?? DEFAULT_LOG_INTERVAL_MS;
  }

  /** Whether a line was written within the last interval (the problem is being reported). */
  get active(): boolean {
    return this.timer !== undefined;
  }

  /** Events counted since the last line. */
  get pending(): number {
    return this.count;
  }

  /** One occurrence of the event. */
  note(event: E): void {
    if (this.stopped) return;
    if (this.timer === undefined) {
      this.opts.first(event);
      this.lineWritten();
      return;
    }
    this.count++;
    this.latest = event;
  }

  /** Writes what was counted since the last line (if anything) and stops the timer; later events are ignored. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count > 0) this.opts.summary(this.count, this.latest as E, this.lastLineMs);
    this.count = 0;
    this.latest = undefined;
  }

  private lineWritten(): void {
    this.lastLineMs = this.clock.now();
    this.timer = this.clock.setTimeout(() => this.tick(), this.intervalMs);
  }

  private tick(): void {
    this.timer = undefined;
    const since = this.lastLineMs;
    if (this.count === 0) {
      this.opts.quiet?.(since);
      return;
    }
    const n = this.count;
    const latest = this.latest as E;
    this.count = 0;
    this.latest = undefined;
    this.opts.summary(n, latest, since);
    this.lineWritten();
  }
}
