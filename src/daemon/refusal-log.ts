/**
 * The receiver's refused requests in the log: per reason, the first refusal at once, then at most
 * one line a minute saying how many more came and the latest one's client and error. A client
 * retrying a bad request many times a second costs one line a minute, not one per request; the
 * counts per status code are in `promspool_receiver_requests_total`.
 */
import type { Clock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { LogThrottle } from '../log-throttle.js';
import type { Logger } from '../logger.js';

/** Why a request was refused; the `reason` field of the lines. */
export type RefusalReason =
  /** 400 (a body that does not decode, invalid labels, a client that hung up) or 415. */
  | 'bad_request'
  /** 413: over `receiver.max_body_bytes`. */
  | 'too_large'
  /** 401: missing or wrong credentials. */
  | 'unauthorized'
  /** 429: the queue reached `max_disk_bytes` with `on_disk_full: reject`. */
  | 'queue_full'
  /** 429: the disk itself is full (ENOSPC/EDQUOT). */
  | 'disk_full'
  /** 503: the daemon is shutting down. */
  | 'shutting_down';

/** One refused request. */
export interface Refusal {
  status: number;
  /** The client's address (`ip:port`), if the socket still knows it. */
  client?: string;
  error: string;
}

export const REFUSAL_LOG_MESSAGES = {
  first: 'remote-write request refused',
  more: 'remote-write requests refused',
} as const;

export interface RefusalLogOptions {
  logger: Logger;
  clock: Clock;
  /** Default one minute. */
  intervalMs?: number;
}

/** Rate-limited lines for refused requests, one throttle per reason; see the module comment. */
export class RefusalLog {
  private readonly throttles = new Map<RefusalReason, LogThrottle<Refusal>>();

  constructor(private readonly opts: RefusalLogOptions) {}

  refused(reason: RefusalReason, r: Refusal): void {
    let t = this.throttles.get(reason);
    if (t === undefined) {
      t = this.throttleFor(reason);
      this.throttles.set(reason, t);
    }
    t.note(r);
  }

  /** Writes what each reason counted since its last line and stops the timers. */
  stop(): void {
    for (const t of this.throttles.values()) t.stop();
  }

  private throttleFor(reason: RefusalReason): LogThrottle<Refusal> {
    const log = this.opts.logger;
    const clock = this.opts.clock;
    // Refusals while shutting down are expected: a pushing client simply retries elsewhere or later.
    const write = reason === 'shutting_down' ? log.info.bind(log) : log.warn.bind(log);
    return new LogThrottle<Refusal>({
      clock,
      ...(this.opts.intervalMs === undefined ? {} : { intervalMs: this.opts.intervalMs }),
      first: (r) => write(REFUSAL_LOG_MESSAGES.first, { reason, status: r.status, ...clientOf(r), err: r.error }),
      summary: (count, r, sinceMs) =>
        write(REFUSAL_LOG_MESSAGES.more, {
          reason,
          count,
          over: formatDuration(Math.max(0, clock.now() - sinceMs)),
          status: r.status,
          ...clientOf(r),
          err: r.error,
        }),
    });
  }
}

function clientOf(r: Refusal): { client?: string } {
  return r.client === undefined ? {} : { client: r.client };
}
