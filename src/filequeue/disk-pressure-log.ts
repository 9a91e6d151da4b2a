/**
 * A queue out of room in the log: when it reaches `max_disk_bytes` (and `drop_oldest` drops data
 * or `reject` refuses it) or the disk answers ENOSPC/EDQUOT, one warn line at once; then at most
 * one a minute with what was dropped and refused since; and one info line once a whole minute
 * passed without a drop or a refusal. Before, every dropped segment was its own warn line.
 */
import type { Clock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { LogThrottle } from '../log-throttle.js';
import type { Logger } from '../logger.js';
import type { DiskDropReasons, OnDiskFull } from './types.js';

/** What filled the queue: its `max_disk_bytes` budget, or the disk itself (ENOSPC/EDQUOT). */
export type DiskPressureCause = keyof DiskDropReasons;

/** One drop (`drop_oldest` deleted a segment) or refusal (an append failed with DiskFullError). */
export type DiskPressureEvent =
  | { kind: 'dropped'; cause: DiskPressureCause; segment: number; signals: number }
  | { kind: 'refused'; cause: DiskPressureCause; error: string };

export const DISK_PRESSURE_LOG_MESSAGES = {
  dropping: 'queue full, dropping the oldest data',
  refusing: 'queue full, refusing new data',
  still: 'queue still full',
  cleared: 'queue no longer full',
} as const;

export interface DiskPressureLogOptions {
  /** The queue's logger (it carries `dir`). */
  logger: Logger;
  clock: Clock;
  policy: OnDiskFull;
  /** 0 = unlimited. */
  maxDiskBytes: number;
  /** Bytes the queue holds on disk now. */
  diskBytes: () => number;
  /** Default one minute. */
  intervalMs?: number;
}

interface Totals {
  droppedSegments: number;
  droppedSignals: number;
  refusedAppends: number;
}

const zero = (): Totals => ({ droppedSegments: 0, droppedSignals: 0, refusedAppends: 0 });

/** The rate-limited disk pressure lines of one queue; see the module comment. */
export class DiskPressureLog {
  private readonly throttle: LogThrottle<DiskPressureEvent>;
  /** Since the last line. */
  private sinceLine = zero();
  /** Since the pressure began (its first line). */
  private sinceStart = zero();
  private startedMs = 0;
  private lastEventMs = 0;

  constructor(private readonly opts: DiskPressureLogOptions) {
    this.throttle = new LogThrottle<DiskPressureEvent>({
      clock: opts.clock,
      ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
      first: (e) => this.first(e),
      summary: (_count, latest, sinceMs) => this.summary(latest, sinceMs),
      quiet: () => this.cleared(),
    });
  }

  note(e: DiskPressureEvent): void {
    const starting = !this.throttle.active;
    if (starting) {
      this.sinceStart = zero();
      this.startedMs = this.opts.clock.now();
    } else {
      add(this.sinceLine, e);
    }
    add(this.sinceStart, e);
    this.lastEventMs = this.opts.clock.now();
    this.throttle.note(e);
  }

  /** Writes what was counted since the last line (on close) and stops the timer. */
  stop(): void {
    this.throttle.stop();
  }

  private usage(): Record<string, unknown> {
    const max = this.opts.maxDiskBytes;
    return { disk_bytes: this.opts.diskBytes(), ...(max > 0 ? { max_disk_bytes: max } : {}) };
  }

  private first(e: DiskPressureEvent): void {
    const fields: Record<string, unknown> = { cause: e.cause, policy: this.opts.policy, ...this.usage() };
    if (e.kind === 'dropped') {
      this.opts.logger.warn(DISK_PRESSURE_LOG_MESSAGES.dropping, { ...fields, segment: e.segment, signals: e.signals });
    } else {
      this.opts.logger.warn(DISK_PRESSURE_LOG_MESSAGES.refusing, { ...fields, err: e.error });
    }
  }

  private summary(latest: DiskPressureEvent, sinceMs: number): void {
    const t = this.sinceLine;
    this.sinceLine = zero();
    this.opts.logger.warn(DISK_PRESSURE_LOG_MESSAGES.still, {
      cause: latest.cause,
      policy: this.opts.policy,
      over: formatDuration(Math.max(0, this.opts.clock.now() - sinceMs)),
      dropped_segments: t.droppedSegments,
      dropped_signals: t.droppedSignals,
      refused_appends: t.refusedAppends,
      ...this.usage(),
      ...(latest.kind === 'refused' ? { err: latest.error } : {}),
    });
  }

  private cleared(): void {
    const t = this.sinceStart;
    this.sinceStart = zero();
    this.sinceLine = zero();
    this.opts.logger.info(DISK_PRESSURE_LOG_MESSAGES.cleared, {
      // From the first drop or refusal to the last one (the quiet minute after it is not counted).
      lasted: formatDuration(Math.max(0, this.lastEventMs - this.startedMs)),
      dropped_segments: t.droppedSegments,
      dropped_signals: t.droppedSignals,
      refused_appends: t.refusedAppends,
      ...this.usage(),
    });
  }
}

function add(t: Totals, e: DiskPressureEvent): void {
  if (e.kind === 'dropped') {
    t.droppedSegments++;
    t.droppedSignals += e.signals;
  } else {
    t.refusedAppends++;
  }
}
