/**
 * promspool/otel: an OpenTelemetry JS metric exporter that writes into a promspool queue.
 * Needs the optional peer dependency `@opentelemetry/sdk-metrics` (2.x); the main entry point
 * `promspool` never loads it.
 * @packageDocumentation
 */
export {
  PartialExportError,
  PromspoolMetricExporter,
  type PromspoolMetricExporterOptions,
} from './exporter.js';
export { TRANSLATION_STRATEGIES, type TranslationStrategy } from './naming.js';
export type { TranslationOptions, TranslationResult } from './translate.js';
