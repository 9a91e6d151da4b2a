export { type ConfigError, formatConfigError, InvalidConfigError } from './config-error.js';
export {
  DEFAULT_METADATA_CONFIG,
  DEFAULT_PROTOBUF_MESSAGE,
  DEFAULT_QUEUE_CONFIG,
  DEFAULT_RECEIVER_CONFIG,
  DEFAULT_REMOTE_TIMEOUT_MS,
  DEFAULT_SELF_MONITORING_CONFIG,
  DEFAULT_SERVER_CONFIG,
  DEFAULT_STORAGE_CONFIG,
  VIRTUAL_SHARDS,
} from './defaults.js';
export { DurationSyntaxError, formatDuration, parseDuration } from './duration.js';
export { deriveEndpointName, ENDPOINT_NAME_RE } from './endpoint-name.js';
export { headerProblem, RESERVED_HEADERS } from './http-headers.js';
export {
  type AuthorizationOptions,
  type BasicAuthOptions,
  checkQueueOptions,
  type DeliveryThread,
  type DurationOption,
  type EndpointOptions,
  type LibraryOptions,
  type MetadataOptions,
  type PersistenceOptions,
  type QueueOptions,
  resolveQueueOptions,
  type SizeOption,
  type TlsOptions,
  type TlsVersionOption,
} from './library.js';
export { type ListenAddress, parseListenAddress } from './listen-address.js';
export { DEFAULT_CONFIG_YAML, defaultConfig, loadConfigFile } from './load.js';
export { type ParseConfigResult, parseConfig } from './parse.js';
export { formatSize, parseSize, SizeSyntaxError } from './size.js';
export type * from './types.js';
