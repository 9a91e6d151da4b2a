import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';

/** Prometheus' own config/testdata files about scrape configs (see the README there). */
const DIR = fileURLToPath(new URL('../../../test/fixtures/prometheus-config/', import.meta.url));
const RW = 'remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n';

function load(name: string) {
  const text = readFileSync(join(DIR, name), 'utf8');
  return parseConfig(`${text.endsWith('\n') ? text : `${text}\n`}${RW}`, join(DIR, name));
}

const GOOD = [
  'global_enable_scrape_native_hist_and_scrape_protocols.good.yml',
  'global_timeout.good.yml',
  'kubernetes_empty_apiserver.good.yml',
  'kubernetes_kubeconfig_without_apiserver.good.yml',
  'kubernetes_selectors_endpoints.good.yml',
  'kubernetes_selectors_ingress.good.yml',
  'kubernetes_selectors_node.good.yml',
  'kubernetes_selectors_pod.good.yml',
  'kubernetes_selectors_service.good.yml',
  'local_enable_scrape_native_hist.good.yml',
  'scrape_config_disable_compression.good.yml',
  'scrape_config_files.good.yml',
  'scrape_config_files_only.good.yml',
];

/**
 * Each bad file with what promspool reports. Where promspool says more than Prometheus (which
 * stops at the first problem), every problem is listed; secrets given as YAML numbers are refused
 * as remote_write refuses them ("quote the value"), where Prometheus takes them as text.
 */
const BAD: [string, string[]][] = [
  [
    'empty_static_config.bad.yml',
    ['scrape_configs[0].static_configs[0]: empty or null section in static_configs (line 4)'],
  ],
  [
    'jobname_dup.bad.yml',
    [
      'scrape_configs[2].job_name: found multiple scrape configs with job name "prometheus" (first in scrape_configs[0]) (line 7)',
    ],
  ],
  [
    'kubernetes_bearertoken_basicauth.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0]: at most one of basic_auth, authorization, bearer_token, bearer_token_file or oauth2 may be set, got basic_auth and bearer_token (line 5)',
      'scrape_configs[0].kubernetes_sd_configs[0].bearer_token: expected a string, got a number (quote the value) (line 8)',
    ],
  ],
  [
    'kubernetes_http_config_without_api_server.bad.yml',
    [
      "scrape_configs[0].kubernetes_sd_configs[0]: HTTP client settings need api_server: give the API server's URL explicitly to use them (line 4)",
      'scrape_configs[0].kubernetes_sd_configs[0].authorization.credentials: expected a string, got a number (quote the value) (line 6)',
    ],
  ],
  [
    'kubernetes_kubeconfig_with_http_config.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0]: HTTP client settings cannot be used with kubeconfig_file (the kubeconfig holds them) (line 4)',
    ],
  ],
  [
    'kubernetes_kubeconfig_with_own_namespace.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0].namespaces.own_namespace: cannot be used with kubeconfig_file: the own namespace is only known in-cluster (line 7)',
    ],
  ],
  [
    'kubernetes_role.bad.yml',
    [
      'scrape_configs[0].job_name: is required (line 2)',
      'scrape_configs[0].kubernetes_sd_configs[0].api_server: must be a URL with a scheme, e.g. "https://kubernetes:443", got "kubernetes:443" (line 3)',
      'scrape_configs[0].kubernetes_sd_configs[0].role: must be one of "pod", "service", "endpoints", "endpointslice", "node", "ingress", got "vacation" (line 4)',
    ],
  ],
  [
    'kubernetes_selectors_duplicated_role.bad.yml',
    ['scrape_configs[0].kubernetes_sd_configs[0].selectors[1].role: duplicated selector role: pod (line 9)'],
  ],
  [
    'kubernetes_selectors_endpoints.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0].selectors[0].role: endpoints role supports only pod, service, endpoints selectors (line 6)',
    ],
  ],
  [
    'kubernetes_selectors_incorrect_selector.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0].selectors[0].field: invalid field selector "metadata.status-Running": cannot understand "metadata.status-Running" (key=value, key==value or key!=value) (line 7)',
    ],
  ],
  [
    'kubernetes_selectors_ingress.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0].selectors[0].role: ingress role supports only ingress selectors (line 6)',
    ],
  ],
  [
    'kubernetes_selectors_node.bad.yml',
    ['scrape_configs[0].kubernetes_sd_configs[0].selectors[0].role: node role supports only node selectors (line 6)'],
  ],
  [
    'kubernetes_selectors_pod.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0].selectors[1].role: pod role supports only pod, node selectors (line 9)',
    ],
  ],
  [
    'kubernetes_selectors_service.bad.yml',
    [
      'scrape_configs[0].kubernetes_sd_configs[0].selectors[0].role: service role supports only service selectors (line 6)',
    ],
  ],
  [
    'scrape_body_size_limit.bad.yml',
    ['scrape_configs[0].body_size_limit: needs a unit, e.g. "100MB" or "100B", got a number (100) (line 3)'],
  ],
  [
    'scrape_config_files_double_import.bad.yml',
    [
      '<dir>/scrape_config_files.good.yml: scrape_configs[0].job_name: found multiple scrape configs with job name "prometheus" (first in scrape_configs[0]) (line 2)',
    ],
  ],
  [
    'scrape_config_files_scrape_protocols.bad.yml',
    [
      'scrape_configs[0].scrape_protocols[0]: unknown scrape protocol "prometheusproto", supported: OpenMetricsText0.0.1, OpenMetricsText1.0.0, PrometheusProto, PrometheusText0.0.4, PrometheusText1.0.0 (line 3)',
    ],
  ],
  [
    'scrape_interval.bad.yml',
    ['scrape_configs[0].scrape_timeout: must be <= the scrape interval (5s), got 6s (line 4)'],
  ],
  [
    'url_in_targetgroup.bad.yml',
    [
      'scrape_configs[0].static_configs[0].targets[0]: "http://bad" is not a valid hostname: give host:port, and the scheme and path with scheme and metrics_path (line 5)',
    ],
  ],
];

describe('Prometheus config/testdata: scrape configs', () => {
  for (const name of GOOD) {
    it(`${name} loads`, () => {
      const { config, errors } = load(name);
      assert.deepEqual(errors.map(formatConfigError), []);
      assert.ok((config?.scrapeConfigs?.length ?? 0) > 0 || name === 'global_timeout.good.yml');
    });
  }
  for (const [name, expected] of BAD) {
    it(`${name} is refused with the field and line`, () => {
      const { config, errors } = load(name);
      assert.equal(config, undefined);
      assert.deepEqual(
        errors.map((e) => formatConfigError(e).replace(DIR.replace(/\/$/, ''), '<dir>')),
        expected,
      );
    });
  }
});
