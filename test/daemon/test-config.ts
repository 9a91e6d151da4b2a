/** Configurations for the daemon tests: parsed from YAML like the real daemon's, on a free loopback port. */
import { parseConfig } from '../../src/config/parse.js';
import type { PromspoolConfig } from '../../src/config/types.js';

/** `extra` is appended to a base YAML (server on 127.0.0.1:0, one endpoint, self-monitoring off). */
export function testConfigYaml(extra = '', receiver = 'receiver:\n  enabled: true\n'): string {
  return `server:
  listen_address: 127.0.0.1:0
  shutdown_timeout: 5s
storage:
  path: /nonexistent/promspool-test
self_monitoring:
  enabled: false
${receiver}remote_write:
  - name: primary
    url: http://127.0.0.1:1/api/v1/write
${extra}`;
}

export function testConfig(extra = '', receiver?: string): PromspoolConfig {
  const { config, errors } = parseConfig(testConfigYaml(extra, receiver));
  if (!config) throw new Error(`test config invalid: ${JSON.stringify(errors)}`);
  return config;
}
