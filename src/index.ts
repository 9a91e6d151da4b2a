/**
 * promspool: a durable Prometheus remote-write queue for Node.js.
 *
 * The public API is {@link createQueue} and the types it uses; everything else is internal.
 * @packageDocumentation
 */
export {
  DEFAULT_SNAPSHOT_INTERVAL_MS,
  pushRegistryOnce,
  type RegistryBridge,
  type RegistryPushOptions,
  type RegistrySnapshotOptions,
  type SnapshotResult,
  snapshotRegistry,
} from './bridges/prom-client.js';
export { type ConfigError, InvalidConfigError } from './config/config-error.js';
export type {
  AuthorizationOptions,
  BasicAuthOptions,
  DeliveryThread,
  DurationOption,
  EndpointOptions,
  LibraryOptions,
  MetadataOptions,
  PersistenceOptions,
  QueueOptions,
  RelabelConfigOptions,
  SizeOption,
  TlsOptions,
} from './config/library.js';
export {
  ClosedError,
  DiskFullError,
  PromspoolError,
  type PromspoolErrorCode,
  RetryableError,
} from './errors.js';
export type { Logger } from './logger.js';
export { createQueue } from './queue.js';
export type { Appender, EndpointStats, Queue, QueueStats, SeriesRef } from './queue-types.js';
export type { NameValidationScheme } from './serialization/name-validation.js';
export type {
  BucketSpan,
  Exemplar,
  Labels,
  Metadata,
  MetricType,
  NativeHistogram,
} from './serialization/types.js';
