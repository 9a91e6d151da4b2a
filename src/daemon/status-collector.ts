/**
 * What `GET /api/v1/status` and the status page show: the queue's and the receiver's numbers now,
 * rates computed from counters sampled over time, and an in-memory history of the last hour
 * (one point every `intervalMs`, `capacity` points per series in fixed rings).
 */
import type { Counter } from 'prom-client';
import type { Clock, TimerHandle } from '../clock.js';
import type { PromspoolConfig } from '../config/types.js';
import type { DeliveryTotals, EndpointDeliveryStats } from '../endpoint/endpoint.js';
import type { Logger } from '../logger.js';
import type { EndpointDetails, EndpointStats, ManagedQueue } from '../queue-types.js';
import { redactUrl } from '../redact.js';
import { Ring } from './status-ring.js';
import type { EndpointStatus, ReceiverStatus, SignalCounts, StatusResponse } from './status-types.js';

/** Ten seconds between points: 360 points hold the last hour. */
export const DEFAULT_STATUS_INTERVAL_MS = 10_000;
export const DEFAULT_STATUS_CAPACITY = 360;
/** A rate over less than this would mostly show when the last request happened to land. */
const MIN_RATE_WINDOW_MS = 1_000;

/** The receiver's counters now. */
export interface ReceiverCounts {
  /** Write requests answered, by status code. */
  requestsByCode: Record<string, number>;
  /** Signals committed from pushes, every type. */
  signals: number;
}

export interface StatusCollectorOptions {
  clock: Clock;
  queue: Pick<ManagedQueue, 'stats' | 'endpointDetails' | 'ready'>;
  /** The configuration running now (it changes on reload). */
  config: () => PromspoolConfig;
  receiverCounts: () => Promise<ReceiverCounts>;
  version: string;
  configSource: string;
  startedAtMs: number;
  intervalMs?: number;
  capacity?: number;
  /** Where a failed sample is reported (default: nowhere). */
  logger?: Logger;
}

/** The receiver's counters read from the daemon's prom-client metrics. */
export async function readReceiverCounts(metrics: {
  receiverRequests: Counter<'code'>;
  receiverSignals: Counter<'type'>;
}): Promise<ReceiverCounts> {
  const [requests, signals] = await Promise.all([metrics.receiverRequests.get(), metrics.receiverSignals.get()]);
  const requestsByCode: Record<string, number> = {};
  for (const v of requests.values) {
    const code = String(v.labels.code);
    requestsByCode[code] = (requestsByCode[code] ?? 0) + v.value;
  }
  return { requestsByCode, signals: signals.values.reduce((n, v) => n + v.value, 0) };
}

/** One endpoint's numbers at one moment. */
interface EndpointReading {
  stats: EndpointStats;
  details: EndpointDetails | undefined;
  /** Counters the rates come from. */
  sent: number;
  received: number;
  failed: number | null;
  dropped: number;
}

/** An endpoint's history: counters (for rates; not shown) and what the API shows. */
class EndpointHistory {
  readonly sent: Ring;
  readonly received: Ring;
  readonly failed: Ring;
  readonly dropped: Ring;
  readonly shown: Record<keyof EndpointStatus['history'], Ring>;

  constructor(capacity: number, missedPoints: number) {
    const ring = () => {
      const r = new Ring(capacity);
      for (let i = 0; i < missedPoints; i++) r.push(null);
      return r;
    };
    this.sent = ring();
    this.received = ring();
    this.failed = ring();
    this.dropped = ring();
    this.shown = {
      backlogSamples: ring(),
      backlogBytes: ring(),
      oldestPendingAgeSeconds: ring(),
      sentSamplesPerSecond: ring(),
      receivedSignalsPerSecond: ring(),
      failedSamplesPerSecond: ring(),
      droppedSamplesPerSecond: ring(),
      diskBytes: ring(),
    };
  }

  rings(): Ring[] {
    return [this.sent, this.received, this.failed, this.dropped, ...Object.values(this.shown)];
  }
}

/**
 * A receiver counter's history and the per-second rate series derived from it. Such a counter
 * appears with its first increment, so before that it was 0: the point before it appeared is 0,
 * and its first rate is known at once.
 */
class CounterHistory {
  readonly counter: Ring;
  readonly rate: Ring;

  constructor(capacity: number, missedPoints: number) {
    this.counter = new Ring(capacity);
    this.rate = new Ring(capacity);
    for (let i = 0; i < missedPoints; i++) {
      this.counter.push(i === missedPoints - 1 ? 0 : null);
      this.rate.push(null);
    }
  }
}

/** Whether an endpoint keeps failing and since when, from successive readings. */
interface FailureState {
  errorAtMs: number;
  failing: boolean;
  sinceMs: number;
  sent: number;
}

/**
 * Samples the numbers every `intervalMs` into bounded rings and answers status requests. The timer
 * runs on the injected clock and never keeps the process alive.
 */
export class StatusCollector {
  readonly intervalMs: number;
  readonly capacity: number;
  private readonly o: StatusCollectorOptions;
  private readonly times: Ring;
  private readonly endpoints = new Map<string, EndpointHistory>();
  private readonly codes = new Map<string, CounterHistory>();
  private readonly signals: CounterHistory;
  private readonly failures = new Map<string, FailureState>();
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(options: StatusCollectorOptions) {
    this.o = options;
    this.intervalMs = options.intervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    this.capacity = options.capacity ?? DEFAULT_STATUS_CAPACITY;
    if (!(this.intervalMs > 0)) throw new RangeError(`status interval must be > 0 ms, got ${this.intervalMs}`);
    this.times = new Ring(this.capacity);
    this.signals = new CounterHistory(this.capacity, 0);
  }

  /** Takes a point now and one every `intervalMs` until {@link stop}. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (!this.running) return;
    // Armed before sampling, so the cadence does not drift by how long a sample takes.
    this.timer = this.o.clock.setTimeout(() => this.tick(), this.intervalMs);
    // Reading counters cannot fail short of a bug; a missed point then shows as a gap, not a crash.
    this.sample().catch((err) => this.o.logger?.warn('status page: taking a history point failed', { err }));
  }

  /** Records one history point of every series (the timer calls this). */
  async sample(): Promise<void> {
    const receiver = await this.o.receiverCounts();
    const now = this.o.clock.now();
    const readings = this.readEndpoints();
    const prevTime = this.times.last();
    const missed = this.times.length;

    for (const r of readings) {
      if (!this.endpoints.has(r.stats.name))
        this.endpoints.set(r.stats.name, new EndpointHistory(this.capacity, missed));
    }
    for (const code of Object.keys(receiver.requestsByCode)) {
      if (!this.codes.has(code)) this.codes.set(code, new CounterHistory(this.capacity, missed));
    }
    this.times.push(now);

    const byName = new Map(readings.map((r) => [r.stats.name, r]));
    for (const [name, h] of this.endpoints) {
      const r = byName.get(name);
      if (r === undefined) {
        for (const ring of h.rings()) ring.push(null);
        continue;
      }
      const s = r.stats;
      const age = oldestPendingAgeSeconds(s, now);
      h.shown.backlogSamples.push(s.pendingSamples);
      h.shown.backlogBytes.push(s.pendingBytes);
      h.shown.oldestPendingAgeSeconds.push(age);
      h.shown.diskBytes.push(s.pendingBytes);
      h.shown.sentSamplesPerSecond.push(stepRate(h.sent.last(), r.sent, prevTime, now));
      h.shown.receivedSignalsPerSecond.push(stepRate(h.received.last(), r.received, prevTime, now));
      h.shown.failedSamplesPerSecond.push(stepRate(h.failed.last(), r.failed, prevTime, now));
      h.shown.droppedSamplesPerSecond.push(stepRate(h.dropped.last(), r.dropped, prevTime, now));
      h.sent.push(r.sent);
      h.received.push(r.received);
      h.failed.push(r.failed);
      h.dropped.push(r.dropped);
      this.observeFailure(s);
    }
    for (const [code, h] of this.codes) pushCounter(h, receiver.requestsByCode[code] ?? null, prevTime, now);
    pushCounter(this.signals, receiver.signals, prevTime, now);

    // A removed endpoint's series go once the hour of history no longer reaches back to it.
    for (const [name, h] of this.endpoints) {
      if (!byName.has(name) && h.shown.backlogBytes.isEmpty()) {
        this.endpoints.delete(name);
        this.failures.delete(name);
      }
    }
  }

  /** Everything `GET /api/v1/status` answers, as of now. */
  async status(): Promise<StatusResponse> {
    const receiver = await this.o.receiverCounts();
    const now = this.o.clock.now();
    const config = this.o.config();
    const endpoints = this.readEndpoints().map((r) => this.endpointStatus(r, now, config));
    const receiverStatus: ReceiverStatus = {
      enabled: config.receiver.enabled,
      path: config.receiver.enabled ? config.receiver.path : null,
      requests: { ...receiver.requestsByCode },
      requestsPerSecond: {},
      signalsPerSecond: this.rateNow(this.signals.counter, receiver.signals, now),
      history: { requestsPerSecond: {}, signalsPerSecond: this.signals.rate.toArray() },
    };
    const codes = new Set([...Object.keys(receiver.requestsByCode), ...this.codes.keys()]);
    for (const code of [...codes].sort()) {
      const h = this.codes.get(code);
      const value = receiver.requestsByCode[code] ?? null;
      receiverStatus.requestsPerSecond[code] =
        h === undefined ? this.rateSinceLastPoint(value, now) : this.rateNow(h.counter, value, now);
      receiverStatus.history.requestsPerSecond[code] = h?.rate.toArray() ?? this.times.toArray().map(() => null);
    }
    return {
      version: this.o.version,
      ready: this.o.queue.ready,
      nowMs: now,
      startedAtMs: this.o.startedAtMs,
      configSource: this.o.configSource,
      storage: { path: config.storage.path, maxDiskBytes: config.storage.maxDiskBytes },
      endpoints,
      receiver: receiverStatus,
      history: {
        intervalMs: this.intervalMs,
        capacity: this.capacity,
        timestampsMs: this.times.toArray() as number[],
      },
    };
  }

  private readEndpoints(): EndpointReading[] {
    const details = new Map((this.o.queue.endpointDetails?.() ?? []).map((d) => [d.name, d]));
    return this.o.queue.stats().endpoints.map((stats) => {
      const d = details.get(stats.name);
      const dropped = sumSignals(stats.samplesDropped);
      let received = stats.samplesSent + dropped + stats.pendingSamples;
      if (d !== undefined) {
        received = stats.pendingSamples + sumSignals(d.disk.droppedSignalsByReason);
        for (const k of [d.delivery.samples, d.delivery.histograms, d.delivery.exemplars]) {
          received += k.sent + k.failed + sumSignals(k.dropped);
        }
      }
      return {
        stats,
        details: d,
        sent: stats.samplesSent,
        received,
        failed: d?.delivery.samples.failed ?? null,
        dropped,
      };
    });
  }

  private endpointStatus(r: EndpointReading, now: number, config: PromspoolConfig): EndpointStatus {
    const s = r.stats;
    const d = r.details?.delivery;
    const h = this.endpoints.get(s.name);
    const maxBytes = config.storage.maxDiskBytes;
    const failure = this.observeFailure(s);
    const none = (): (number | null)[] => this.times.toArray().map(() => null);
    const shown = (key: keyof EndpointStatus['history']) => h?.shown[key].toArray() ?? none();
    return {
      name: s.name,
      url: redactUrl(s.url),
      shards: d?.network.shards ?? null,
      backlog: {
        samples: s.pendingSamples,
        bytes: s.pendingBytes,
        segments: s.pendingSegments,
        oldestPendingTimestampMs: s.oldestPendingTimestampMs > 0 ? s.oldestPendingTimestampMs : null,
        oldestPendingAgeSeconds: oldestPendingAgeSeconds(s, now),
      },
      highestSentTimestampMs: s.highestSentTimestampMs > 0 ? s.highestSentTimestampMs : null,
      samples: {
        sent: s.samplesSent,
        failed: d?.samples.failed ?? null,
        retried: s.samplesRetried,
        dropped: { ...s.samplesDropped },
      },
      histograms: d === undefined ? null : signalCounts(d.histograms),
      exemplars: d === undefined ? null : signalCounts(d.exemplars),
      bytesSent: d?.bytes ?? null,
      relay: relayStatus(d),
      rates: {
        sentSamplesPerSecond: h === undefined ? null : this.rateNow(h.sent, r.sent, now),
        receivedSignalsPerSecond: h === undefined ? null : this.rateNow(h.received, r.received, now),
        failedSamplesPerSecond: h === undefined ? null : this.rateNow(h.failed, r.failed, now),
        droppedSamplesPerSecond: h === undefined ? null : this.rateNow(h.dropped, r.dropped, now),
      },
      disk: { usedBytes: s.pendingBytes, maxBytes, usedRatio: maxBytes > 0 ? s.pendingBytes / maxBytes : null },
      lastError:
        s.lastError === undefined
          ? null
          : {
              message: redactText(s.lastError.message),
              atMs: s.lastError.atMs,
              failing: failure?.failing ?? true,
              failingSinceMs: failure?.failing ? failure.sinceMs : null,
            },
      history: {
        backlogSamples: shown('backlogSamples'),
        backlogBytes: shown('backlogBytes'),
        oldestPendingAgeSeconds: shown('oldestPendingAgeSeconds'),
        sentSamplesPerSecond: shown('sentSamplesPerSecond'),
        receivedSignalsPerSecond: shown('receivedSignalsPerSecond'),
        failedSamplesPerSecond: shown('failedSamplesPerSecond'),
        droppedSamplesPerSecond: shown('droppedSamplesPerSecond'),
        diskBytes: shown('diskBytes'),
      },
    };
  }

  /**
   * A counter's rate now, against the newest point at least one interval old (so the window is one
   * to two intervals); while the history is younger than that, against its oldest point if at least
   * a second old.
   */
  private rateNow(counter: Ring, value: number | null, now: number): number | null {
    if (value === null) return null;
    let ref = -1;
    for (let i = this.times.length - 1; i >= 0; i--) {
      const at = this.times.at(i)!;
      if (counter.at(i) === null) continue;
      if (now - at >= this.intervalMs) {
        ref = i;
        break;
      }
      if (now - at >= MIN_RATE_WINDOW_MS) ref = i;
    }
    if (ref < 0) return null;
    return stepRate(counter.at(ref), value, this.times.at(ref), now);
  }

  /** The rate of a receiver counter that appeared after the last point (so was 0 then). */
  private rateSinceLastPoint(value: number | null, now: number): number | null {
    const last = this.times.last();
    if (last === null || now - last < MIN_RATE_WINDOW_MS) return null;
    return stepRate(0, value, last, now);
  }

  /**
   * Failing from the first error after a success until a reading shows no new error and either
   * more samples delivered or nothing left to deliver.
   */
  private observeFailure(s: EndpointStats): FailureState | undefined {
    const prev = this.failures.get(s.name);
    if (s.lastError === undefined) {
      this.failures.delete(s.name);
      return undefined;
    }
    let next: FailureState;
    if (prev === undefined || prev.sent > s.samplesSent) {
      next = { errorAtMs: s.lastError.atMs, failing: true, sinceMs: s.lastError.atMs, sent: s.samplesSent };
    } else if (s.lastError.atMs !== prev.errorAtMs) {
      const sinceMs = prev.failing ? prev.sinceMs : s.lastError.atMs;
      next = { errorAtMs: s.lastError.atMs, failing: true, sinceMs, sent: s.samplesSent };
    } else {
      const recovered = s.samplesSent > prev.sent || s.pendingSamples === 0;
      next = { ...prev, failing: prev.failing && !recovered, sent: s.samplesSent };
    }
    this.failures.set(s.name, next);
    return next;
  }
}

// Punctuation that ends a sentence or a `POST <url>: <error>` prefix is not part of the URL.
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*[^\s"'<>:,.;)]/gi;

/** Redacts every URL found inside free text (error messages quote them, credentials included). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

/** Per-second rate between two counter readings; a counter that went down restarted from 0. */
function stepRate(
  before: number | null,
  after: number | null,
  beforeMs: number | null,
  afterMs: number,
): number | null {
  if (before === null || after === null || beforeMs === null || afterMs <= beforeMs) return null;
  const delta = after >= before ? after - before : after;
  return (delta * 1000) / (afterMs - beforeMs);
}

function pushCounter(h: CounterHistory, value: number | null, prevTime: number | null, now: number): void {
  h.rate.push(stepRate(h.counter.last(), value, prevTime, now));
  h.counter.push(value);
}

/** Signals in a by-reason count; `corrupt_records` counts records, not signals. */
function sumSignals(byReason: object): number {
  let n = 0;
  for (const [reason, v] of Object.entries(byReason)) if (reason !== 'corrupt_records' && typeof v === 'number') n += v;
  return n;
}

/** The relay route's counts, once some relayed record was read. */
function relayStatus(d: EndpointDeliveryStats | undefined): EndpointStatus['relay'] {
  const r = d?.relay;
  if (r === undefined || r.storedBytes + r.storedLabels + r.transcoded + r.decoded === 0) return null;
  return { storedBytes: r.storedBytes, storedLabels: r.storedLabels, transcoded: r.transcoded, decoded: r.decoded };
}

function signalCounts(t: DeliveryTotals): SignalCounts {
  const dropped: Record<string, number> = {};
  for (const [reason, v] of Object.entries(t.dropped)) if (v !== undefined) dropped[reason] = v;
  return { sent: t.sent, failed: t.failed, retried: t.retried, dropped };
}

function oldestPendingAgeSeconds(s: EndpointStats, now: number): number | null {
  if (s.pendingSamples === 0 || !(s.oldestPendingTimestampMs > 0)) return null;
  return Math.max(0, (now - s.oldestPendingTimestampMs) / 1000);
}
