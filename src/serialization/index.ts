export { AppendBatch, type PendingExemplar } from './append-batch.js';
export { type AppenderOptions, createAppender, MAX_EXEMPLAR_LABEL_RUNES } from './appender.js';
export { MAX_SCHEMA, MIN_SCHEMA, validateHistogram } from './histogram-validation.js';
export {
  DEFAULT_NAME_VALIDATION_SCHEME,
  isValidLabelNameFor,
  isValidMetricNameFor,
  labelNameRule,
  metricNameRule,
  NAME_VALIDATION_SCHEMES,
  type NameValidationScheme,
} from './name-validation.js';
export { type BatchSlice, RecordBuilder } from './record-builder.js';
export {
  countRecordSignals,
  decodeRecord,
  encodeRecord,
  MAX_RECORD_BYTES,
  RECORD_FORMAT_VERSION,
} from './record-codec.js';
export { createSerializer, type Serializer, type SerializerOptions, type SerializerStats } from './serializer.js';
export {
  createSeriesRegistry,
  hashLabelPairs,
  type InternedString,
  isValidLabelName,
  isValidMetricName,
  type SeriesHandle,
  type SeriesRegistry,
  type SeriesRegistryOptions,
  type SeriesRegistryStats,
  validateLabels,
} from './series.js';
export * from './types.js';
