import { compressSync } from 'snappy';
import type { ActorState } from '../../src/actors/types.js';
import type { EndpointConfig, QueueConfig } from '../../src/config/types.js';
import type { Logger } from '../../src/logger.js';
import type { PortionOutcome, PortionRef, SendWork } from '../../src/network/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';

export function queueConfig(overrides: Partial<QueueConfig> = {}): QueueConfig {
  return {
    maxSamplesPerSend: 100,
    capacity: 1000,
    batchSendDeadlineMs: 5000,
    minShards: 1,
    maxShards: 4,
    minBackoffMs: 100,
    maxBackoffMs: 5000,
    retryOnHttp429: true,
    sampleAgeLimitMs: 0,
    maxRetryAfterMs: 60_000,
    ...overrides,
  };
}

export function endpointConfig(
  url: string,
  queue: Partial<QueueConfig> = {},
  rest: Partial<EndpointConfig> = {},
): EndpointConfig {
  return {
    name: 'test',
    url,
    protobufMessage: 'prometheus.WriteRequest',
    remoteTimeoutMs: 30_000,
    headers: {},
    queue: queueConfig(queue),
    metadata: { send: false, sendIntervalMs: 60_000, maxSamplesPerSend: 500 },
    writeRelabelConfigs: [],
    sendExemplars: true,
    sendNativeHistograms: true,
    nameValidationScheme: 'utf8',
    ...rest,
  } as EndpointConfig;
}

export const compress = (b: Uint8Array): Uint8Array => compressSync(b, { copyOutputData: true });

/** Records every onPortionDone call and lets a test await the n-th. */
export class DoneRecorder {
  readonly calls: { portion: PortionRef; outcome: PortionOutcome }[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  readonly callback = (portion: PortionRef, outcome: PortionOutcome): void => {
    this.calls.push({ portion, outcome });
    this.waiters = this.waiters.filter((w) => {
      if (this.calls.length < w.n) return true;
      w.resolve();
      return false;
    });
  };
  waitFor(n: number): Promise<void> {
    if (this.calls.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** Resolves on the next time `target` is entered. */
export function nextState(subscribe: (l: (s: ActorState) => void) => () => void, target: ActorState): Promise<void> {
  return new Promise((resolve) => {
    const off = subscribe((s) => {
      if (s === target) {
        off();
        resolve();
      }
    });
  });
}

/** A counter of events that a test can await. */
export class EventCount {
  count = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  readonly tick = (): void => {
    this.count++;
    this.waiters = this.waiters.filter((w) => {
      if (this.count < w.n) return true;
      w.resolve();
      return false;
    });
  };
  waitFor(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** Work for all series of `record` (the test decides which vshard they stand for). */
export function workOf(record: SignalRecord, portion: PortionRef, series?: number[]): SendWork {
  const idx = series ?? Array.from({ length: record.seriesCount }, (_, i) => i);
  let signals = 0;
  for (const s of idx) {
    signals += record.sampleOffsets[s + 1] - record.sampleOffsets[s];
    signals += record.histogramOffsets[s + 1] - record.histogramOffsets[s];
    signals += record.exemplarOffsets[s + 1] - record.exemplarOffsets[s];
  }
  return { record, series: Uint32Array.from(idx), portion, signals };
}

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

export function recordingLogger(lines: LogLine[]): Logger {
  const logger: Logger = {
    debug: (msg, fields) => lines.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
    child: () => logger,
  };
  return logger;
}
