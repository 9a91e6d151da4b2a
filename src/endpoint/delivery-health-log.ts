/**
 * What an operator reads in the log about one endpoint's delivery: the first failure of an outage
 * at once (warn), then at most one warn line a minute while it lasts, one info line when it
 * recovers and one when the backlog it left is caught up; a batch the receiver refuses (4xx,
 * dropped) at warn, rate-limited the same way. Prometheus logs "Failed to send batch, retrying"
 * per failure; here a long outage costs one line a minute.
 *
 * Driven by events from the SendLoops ({@link DeliveryEvents}) and the endpoint (`caughtUp`).
 * An endpoint with several loops is down from the first failure of any loop until every loop
 * that failed has delivered again, so one healthy shard does not hide a failing one. Outages
 * shorter than the interval right after a line are not logged one by one: they are counted into
 * one "failed briefly" line, so a flapping receiver also costs at most a line a minute.
 *
 * Every time read and timer goes through the injected clock.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { DEFAULT_LOG_INTERVAL_MS, LogThrottle } from '../log-throttle.js';
import type { Logger } from '../logger.js';
import type { DeliveryDrop, DeliveryEvents, DeliveryFailure } from '../network/send-loop.js';

/** The messages of the lines this module writes (a delivery worker's host adds the disk backlog to them). */
export const DELIVERY_LOG_MESSAGES = {
  failing: 'remote write failing, retrying',
  stillFailing: 'remote write still failing',
  failedBriefly: 'remote write failed briefly',
  recovered: 'remote write recovered',
  caughtUp: 'remote write caught up',
  refused: 'remote write refused a batch, dropping it',
  refusedMore: 'remote write refused batches, dropped them',
} as const;

/** The messages that report a backlog: a host that knows the FileQueue fills in `backlog_samples`. */
export const BACKLOG_LOG_MESSAGES: ReadonlySet<string> = new Set([
  DELIVERY_LOG_MESSAGES.stillFailing,
  DELIVERY_LOG_MESSAGES.recovered,
]);

/** What is waiting to be delivered, as the endpoint knows it. */
export interface BacklogView {
  /** Signals on disk not yet delivered; undefined where the FileQueue is not at hand (a delivery worker). */
  samples?: number;
  /** Timestamp (ms) of the oldest sample read and not yet delivered; 0 if none. */
  oldestPendingMs: number;
}

export interface DeliveryHealthLogOptions {
  /** Lines go here; the endpoint's logger already carries `remote_name`. */
  logger: Logger;
  clock: Clock;
  /** Default one minute. */
  intervalMs?: number;
  backlog: () => BacklogView;
}

interface Outage {
  sinceMs: number;
  failures: number;
  latest: DeliveryFailure;
  /** A line has reported this outage; only then is its recovery logged. */
  announced: boolean;
}

/** Outages that ended before they could be logged (see the module comment). */
interface BriefOutages {
  outages: number;
  failures: number;
  latest: DeliveryFailure;
}

/** Refused batches accumulated for one summary line. */
interface DropTotals {
  batches: number;
  samples: number;
  histograms: number;
  exemplars: number;
}

/** The per-endpoint delivery log; see the module comment. */
export class DeliveryHealthLog implements DeliveryEvents {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly failingLoops = new Set<string>();
  private outage: Outage | undefined;
  private brief: BriefOutages | undefined;
  /** Armed while an outage line was written within the last interval. */
  private timer: TimerHandle | undefined;
  /** Set by a recovery: what was delivered since, until the endpoint catches up. */
  private catchUp: { sinceMs: number; signals: number; requests: number } | undefined;
  private readonly drops: LogThrottle<DeliveryDrop>;
  private dropTotals: DropTotals = { batches: 0, samples: 0, histograms: 0, exemplars: 0 };
  private stopped = false;

  constructor(private readonly opts: DeliveryHealthLogOptions) {
    this.log = opts.logger;
    this.clock = opts.clock;
    this.intervalMs = opts.intervalMs ?? DEFAULT_LOG_INTERVAL_MS;
    this.drops = new LogThrottle<DeliveryDrop>({
      clock: this.clock,
      intervalMs: this.intervalMs,
      first: (d) =>
        this.log.warn(DELIVERY_LOG_MESSAGES.refused, {
          status: d.status,
          err: d.error,
          samples: d.samples,
          histograms: d.histograms,
          exemplars: d.exemplars,
        }),
      summary: (count, latest) => {
        const t = this.dropTotals;
        this.dropTotals = { batches: 0, samples: 0, histograms: 0, exemplars: 0 };
        this.log.warn(DELIVERY_LOG_MESSAGES.refusedMore, {
          batches: count,
          samples: t.samples,
          histograms: t.histograms,
          exemplars: t.exemplars,
          status: latest.status,
          err: latest.error,
        });
      },
    });
  }

  /** Whether the endpoint is in an outage now (some loop failed and has not delivered since). */
  get failing(): boolean {
    return this.outage !== undefined;
  }

  failed(loop: string, f: DeliveryFailure): void {
    if (this.stopped) return;
    this.failingLoops.add(loop);
    let o = this.outage;
    if (o === undefined) {
      o = { sinceMs: this.clock.now(), failures: 0, latest: f, announced: false };
      this.outage = o;
      this.catchUp = undefined;
    }
    o.failures++;
    o.latest = f;
    // Within an interval of the last line the outage waits for the timer, which reports it if it lasts.
    if (this.timer !== undefined) return;
    this.log.warn(DELIVERY_LOG_MESSAGES.failing, {
      err: f.error,
      ...errorDetail(f),
      retry_in: formatDuration(Math.max(0, Math.round(f.retryInMs))),
      ...(this.brief === undefined ? {} : { brief_outages: this.brief.outages }),
    });
    o.announced = true;
    this.brief = undefined;
    this.arm();
  }

  dropped(_loop: string, d: DeliveryDrop): void {
    if (this.stopped) return;
    if (this.drops.active) {
      const t = this.dropTotals;
      t.batches++;
      t.samples += d.samples;
      t.histograms += d.histograms;
      t.exemplars += d.exemplars;
    }
    this.drops.note(d);
  }

  delivered(loop: string, signals: number): void {
    if (this.stopped) return;
    const o = this.outage;
    if (o !== undefined && this.failingLoops.delete(loop) && this.failingLoops.size === 0) {
      this.outage = undefined;
      const now = this.clock.now();
      if (o.announced) {
        const b = this.opts.backlog();
        this.log.info(DELIVERY_LOG_MESSAGES.recovered, {
          down_for: formatDuration(now - o.sinceMs),
          failures: o.failures,
          ...(b.samples === undefined ? {} : { backlog_samples: b.samples }),
        });
        this.catchUp = { sinceMs: now, signals: 0, requests: 0 };
      } else {
        const br = this.brief ?? { outages: 0, failures: 0, latest: o.latest };
        br.outages++;
        br.failures += o.failures;
        br.latest = o.latest;
        this.brief = br;
      }
    }
    const c = this.catchUp;
    if (c !== undefined) {
      c.signals += signals;
      c.requests++;
    }
  }

  /**
   * The endpoint has read everything on disk and released it: after a recovery, says how much
   * it delivered to catch up and how long that took.
   */
  caughtUp(): void {
    const c = this.catchUp;
    if (c === undefined || this.stopped) return;
    this.catchUp = undefined;
    this.log.info(DELIVERY_LOG_MESSAGES.caughtUp, {
      samples: c.signals,
      requests: c.requests,
      took: formatDuration(this.clock.now() - c.sinceMs),
    });
  }

  /** Writes the refused batches counted since the last line and stops every timer. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.drops.stop();
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.tick(), this.intervalMs);
  }

  /** An interval after the last outage line: report the outage if it lasts, or the brief ones. */
  private tick(): void {
    this.timer = undefined;
    const o = this.outage;
    const now = this.clock.now();
    if (o !== undefined) {
      const b = this.opts.backlog();
      const oldestAge = b.oldestPendingMs > 0 ? Math.max(0, now - b.oldestPendingMs) : undefined;
      this.log.warn(DELIVERY_LOG_MESSAGES.stillFailing, {
        down_for: formatDuration(now - o.sinceMs),
        failures: o.failures,
        err: o.latest.error,
        ...errorDetail(o.latest),
        ...(b.samples === undefined ? {} : { backlog_samples: b.samples }),
        ...(oldestAge === undefined ? {} : { oldest_pending_age: formatDuration(Math.round(oldestAge)) }),
        ...(this.brief === undefined ? {} : { brief_outages: this.brief.outages }),
      });
      o.announced = true;
      this.brief = undefined;
      this.arm();
      return;
    }
    const br = this.brief;
    if (br === undefined) return;
    this.brief = undefined;
    this.log.warn(DELIVERY_LOG_MESSAGES.failedBriefly, {
      outages: br.outages,
      failures: br.failures,
      err: br.latest.error,
      ...errorDetail(br.latest),
    });
    this.arm();
  }
}

function errorDetail(f: DeliveryFailure): Record<string, unknown> {
  return {
    ...(f.code === undefined ? {} : { err_code: f.code }),
    ...(f.status === undefined ? {} : { status: f.status }),
  };
}
