import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatConfigError } from './config-error.js';
import { describeFileError } from './file-error.js';
import { type ParseConfigResult, parseConfig } from './parse.js';
import type { PromspoolConfig } from './types.js';

/**
 * The configuration used when no file is given and `./promspool.yaml` does not exist
 * (DESIGN.md section 5): receiver on 127.0.0.1:9201, one endpoint `default` sending to a local
 * Prometheus, its own metrics spooled every 15s, data in ./data.
 */
export const DEFAULT_CONFIG_YAML = `# promspool built-in default configuration
server:
  listen_address: 127.0.0.1:9201
storage:
  path: ./data
receiver:
  enabled: true
self_monitoring:
  enabled: true
  interval: 15s
remote_write:
  - name: default
    url: http://127.0.0.1:9090/api/v1/write
`;

/** The built-in default, parsed. */
export function defaultConfig(): PromspoolConfig {
  const { config, errors } = parseConfig(DEFAULT_CONFIG_YAML);
  if (config === undefined) {
    // Only a bug in this file can get here; say which.
    throw new Error(`built-in default config is invalid: ${errors.map(formatConfigError).join('; ')}`);
  }
  return config;
}

/** Reads and parses a config file; an unreadable file is reported as an error, not thrown. */
export function loadConfigFile(path: string): ParseConfigResult {
  let text: string;
  const absolute = resolve(path);
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (e) {
    return {
      errors: [{ path: '', message: `cannot read config file ${JSON.stringify(absolute)}: ${describeFileError(e)}` }],
    };
  }
  return parseConfig(text, absolute);
}
