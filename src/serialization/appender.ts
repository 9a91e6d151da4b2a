import type { Appender, SeriesRef } from '../queue-types.js';
import { AppendBatch } from './append-batch.js';
import { validateHistogram } from './histogram-validation.js';
import { metricNameRule } from './name-validation.js';
import { isValidMetricName, type SeriesRegistry } from './series.js';
import { type Exemplar, isMetricType, type Labels, type Metadata, type NativeHistogram } from './types.js';

export interface AppenderOptions {
  registry: SeriesRegistry;
  /**
   * Takes a committed batch (to every endpoint's Serializer) and resolves once it is durable.
   * The batch must not be changed or kept after the promise settles: the appender reuses it.
   */
  submit: (batch: AppendBatch) => Promise<void>;
  /** Initial sample capacity of the batch columns (they grow by doubling). Default 1024. */
  initialCapacity?: number;
}

/** Prometheus' limit on the total length of an exemplar's label names and values, in code points. */
export const MAX_EXEMPLAR_LABEL_RUNES = 128;

const RESOLVED: Promise<void> = Promise.resolve();

function checkTimestamp(field: string, ts: number): void {
  if (!Number.isSafeInteger(ts)) {
    throw new TypeError(`${field} must be a finite integer number of milliseconds, got ${String(ts)}`);
  }
}

function runeLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/**
 * Creates an {@link Appender} that collects appends in a local columnar batch and hands it to
 * `submit` on commit. Every append validates before it changes anything, so a `TypeError`
 * leaves the batch as it was. Labels may be a {@link SeriesRef} from `registry.resolve` (no
 * lookup at all) or a labels object (see {@link SeriesRegistry.resolve} for the caching).
 * Reusable after commit (immediately: the committed batch is swapped for a spare) and rollback.
 */
export function createAppender(options: AppenderOptions): Appender {
  return new ColumnarAppender(options);
}

class ColumnarAppender implements Appender {
  private readonly registry: SeriesRegistry;
  private readonly submit: (batch: AppendBatch) => Promise<void>;
  private batch: AppendBatch;
  /** A cleared batch from an earlier commit, so steady-state commits allocate no columns. */
  private spare: AppendBatch | undefined;

  constructor(options: AppenderOptions) {
    this.registry = options.registry;
    this.submit = options.submit;
    this.batch = new AppendBatch(options.initialCapacity);
  }

  append(labels: Labels | SeriesRef, timestampMs: number, value: number): void {
    const series = this.registry.resolve(labels);
    if (!Number.isSafeInteger(timestampMs)) checkTimestamp('timestampMs', timestampMs);
    if (typeof value !== 'number') throw new TypeError(`value must be a number, got ${typeof value}`);
    this.batch.addSample(series, timestampMs, value);
  }

  appendHistogram(labels: Labels | SeriesRef, timestampMs: number, histogram: NativeHistogram): void {
    const series = this.registry.resolve(labels);
    checkTimestamp('timestampMs', timestampMs);
    this.batch.addHistogram(series, timestampMs, validateHistogram(histogram, series.labels));
  }

  appendExemplar(labels: Labels | SeriesRef, exemplar: Exemplar): void {
    const series = this.registry.resolve(labels);
    if (exemplar === null || typeof exemplar !== 'object') throw new TypeError('exemplar must be an object');
    checkTimestamp('exemplar.timestampMs', exemplar.timestampMs);
    if (typeof exemplar.value !== 'number')
      throw new TypeError(`exemplar.value must be a number, got ${typeof exemplar.value}`);
    const pairs = this.registry.exemplarPairs(exemplar.labels);
    let runes = 0;
    for (const p of pairs) runes += runeLength(p.str);
    if (runes > MAX_EXEMPLAR_LABEL_RUNES) {
      throw new TypeError(`exemplar.labels are ${runes} characters long, more than ${MAX_EXEMPLAR_LABEL_RUNES}`);
    }
    this.batch.addExemplar(series, { pairs, value: exemplar.value, timestampMs: exemplar.timestampMs });
  }

  updateMetadata(metricFamilyName: string, metadata: Metadata): void {
    const scheme = this.registry.nameValidationScheme;
    if (typeof metricFamilyName !== 'string' || !isValidMetricName(metricFamilyName, scheme)) {
      throw new TypeError(`invalid metricFamilyName ${JSON.stringify(metricFamilyName)}: ${metricNameRule(scheme)}`);
    }
    if (metadata === null || typeof metadata !== 'object') throw new TypeError('metadata must be an object');
    const { type, help, unit } = metadata;
    if (!isMetricType(type)) throw new TypeError(`metadata.type ${JSON.stringify(type)} is not a metric type`);
    if (typeof help !== 'string') throw new TypeError(`metadata.help must be a string, got ${typeof help}`);
    if (typeof unit !== 'string') throw new TypeError(`metadata.unit must be a string, got ${typeof unit}`);
    this.batch.metadata.push({ metricFamilyName, type, help, unit });
  }

  commit(): Promise<void> {
    const batch = this.batch;
    if (batch.signals === 0) return RESOLVED;
    this.batch = this.spare ?? new AppendBatch(batch.timestamps.length);
    this.spare = undefined;
    const recycle = () => {
      batch.clear();
      this.spare = batch;
    };
    let submitted: Promise<void>;
    try {
      submitted = this.submit(batch);
    } catch (err) {
      recycle();
      return Promise.reject(err);
    }
    return submitted.then(recycle, (err: unknown) => {
      recycle();
      throw err;
    });
  }

  rollback(): void {
    this.batch.clear();
  }
}
