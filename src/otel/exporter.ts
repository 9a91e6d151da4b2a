/**
 * A `PushMetricExporter` for `@opentelemetry/sdk-metrics` that writes every collection into a
 * promspool queue, translated as Prometheus' OTLP endpoint would store it, and reports success
 * only once the batch is committed (durable per the queue's fsync policy).
 */
import { AggregationTemporality, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PromspoolError } from '../errors.js';
import type { Queue } from '../queue-types.js';
import type { Metadata } from '../serialization/types.js';
import { TRANSLATION_STRATEGIES } from './naming.js';
import { type TranslationOptions, type TranslationResult, translateResourceMetrics } from './translate.js';

/**
 * `ExportResultCode` of `@opentelemetry/core` (SUCCESS 0, FAILED 1), spelled here so that this
 * entry point needs only the peer dependency `@opentelemetry/sdk-metrics` at run time.
 */
const SUCCESS = 0;
const FAILED = 1;

/** `ExportResult` of `@opentelemetry/core`, taken from the exporter interface itself. */
type ExportResult = Parameters<Parameters<PushMetricExporter['export']>[1]>[0];

/** Options of {@link PromspoolMetricExporter}. */
export interface PromspoolMetricExporterOptions extends TranslationOptions {
  /** Called with what each committed export appended (and left out); must not throw. */
  onExport?: (result: TranslationResult) => void;
}

/**
 * `ERR_OTEL_PARTIAL_EXPORT`: an export that left series out (the queue refused them); the rest of
 * the collection was committed. `skipped` names them.
 */
export class PartialExportError extends PromspoolError {
  constructor(readonly skipped: readonly string[]) {
    super(
      'ERR_OTEL_PARTIAL_EXPORT',
      `promspool OTel exporter: ${skipped.length} series or metrics left out, the rest committed: ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? '; ...' : ''}`,
    );
    this.name = 'PartialExportError';
  }
}

/**
 * Writes OTel metrics into a promspool queue.
 *
 * `export` appends the whole collection in one batch and calls back `SUCCESS` once it is
 * committed, or `FAILED` with the commit's error (ClosedError after `queue.stop()`, DiskFullError)
 * or with a {@link PartialExportError} when the queue refused some series (the others are
 * committed). Temporality is always cumulative, as Prometheus expects. `shutdown()` waits for
 * exports in progress and refuses later ones; it does not stop the queue (the app owns it: shut
 * the MeterProvider down first, then `queue.stop()`).
 *
 * ```js
 * const queue = await createQueue({ dataDir, endpoints: [{ url }] });
 * const provider = new MeterProvider({
 *   resource: resourceFromAttributes({ 'service.name': 'shop' }),
 *   readers: [new PeriodicExportingMetricReader({ exporter: new PromspoolMetricExporter(queue) })],
 * });
 * // ... on shutdown:
 * await provider.shutdown(); // final collection committed
 * await queue.stop();
 * ```
 */
export class PromspoolMetricExporter implements PushMetricExporter {
  private readonly inFlight = new Set<Promise<void>>();
  private shutDown = false;
  /** Metadata committed per family, as `type\nhelp\nunit`: re-appended only when it changes (the queue re-sends it). */
  private readonly metadataSent = new Map<string, string>();

  constructor(
    private readonly queue: Pick<Queue, 'appender'>,
    private readonly options: PromspoolMetricExporterOptions = {},
  ) {
    if (typeof queue?.appender !== 'function') {
      throw new TypeError('PromspoolMetricExporter: the first argument must be a promspool queue (from createQueue)');
    }
    const strategy = options.translationStrategy;
    if (strategy !== undefined && !TRANSLATION_STRATEGIES.includes(strategy)) {
      throw new TypeError(
        `PromspoolMetricExporter: translationStrategy ${JSON.stringify(strategy)} is not one of ${TRANSLATION_STRATEGIES.join(', ')}`,
      );
    }
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.shutDown) {
      resultCallback({ code: FAILED, error: new Error('promspool OTel exporter: export after shutdown') });
      return;
    }
    const report = (result: ExportResult) => {
      try {
        resultCallback(result);
      } catch {
        // The SDK's callback does not throw; one that does must not leave a rejected promise behind.
      }
    };
    const done = this.exportOnce(metrics).then(
      (error) => report(error === undefined ? { code: SUCCESS } : { code: FAILED, error }),
      (error: unknown) => report({ code: FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
    this.inFlight.add(done);
    done.finally(() => this.inFlight.delete(done));
  }

  /** Resolves with undefined when everything was committed, with a PartialExportError when some was left out; rejects with the commit's error. */
  private async exportOnce(metrics: ResourceMetrics): Promise<Error | undefined> {
    const app = this.queue.appender();
    const metadata = new Map<string, string>();
    let result: TranslationResult;
    try {
      result = translateResourceMetrics(
        metrics,
        {
          append: (l, ts, v) => app.append(l, ts, v),
          appendHistogram: (l, ts, h) => app.appendHistogram(l, ts, h),
          appendExemplar: (l, e) => app.appendExemplar(l, e),
          updateMetadata: (name: string, meta: Metadata) => {
            const key = `${meta.type}\n${meta.help}\n${meta.unit}`;
            if (metadata.has(name)) return;
            if (this.metadataSent.get(name) !== key) app.updateMetadata(name, meta);
            metadata.set(name, key);
          },
        },
        this.options,
      );
    } catch (err) {
      app.rollback();
      throw err;
    }
    await app.commit();
    for (const [name, key] of metadata) this.metadataSent.set(name, key);
    try {
      this.options.onExport?.(result);
    } catch {
      // A throwing callback must not turn a committed export into a failure.
    }
    return result.skipped.length > 0 ? new PartialExportError(result.skipped) : undefined;
  }

  /** Resolves once every export in progress has settled. */
  async forceFlush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** Refuses later exports and resolves once those in progress have settled. Does not stop the queue. */
  async shutdown(): Promise<void> {
    this.shutDown = true;
    await this.forceFlush();
  }

  /** Always cumulative: Prometheus stores counters and histograms as running totals. */
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
}
