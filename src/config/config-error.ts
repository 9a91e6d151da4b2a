import { PromspoolError } from '../errors.js';

/**
 * One problem found in a configuration. `path` is where it is, in the spelling the user wrote
 * (`remote_write[1].queue_config.max_shards` in YAML, `endpoints[0].queueConfig.maxShards` in JS);
 * `line` is the 1-based YAML line when the configuration came from text.
 */
export interface ConfigError {
  path: string;
  line?: number;
  message: string;
}

/** `remote_write[1].queue_config.max_shards: must be >= min_shards (1) (line 14)` */
export function formatConfigError(error: ConfigError): string {
  const where = error.path === '' ? '' : `${error.path}: `;
  const line = error.line === undefined ? '' : ` (line ${error.line})`;
  return `${where}${error.message}${line}`;
}

/** Thrown when library options are invalid; `errors` lists every problem, not just the first. */
export class InvalidConfigError extends PromspoolError {
  readonly errors: readonly ConfigError[];
  constructor(what: string, errors: readonly ConfigError[]) {
    const lines = errors.map((e) => `  ${formatConfigError(e)}`).join('\n');
    super(
      'ERR_INVALID_CONFIG',
      `invalid ${what} (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${lines}`,
    );
    this.name = 'InvalidConfigError';
    this.errors = errors;
  }
}
