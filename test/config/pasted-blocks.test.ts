import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';

/**
 * The `remote_write` blocks operators paste from their vendors' docs (issue 17's "done when"):
 * each must load as it is, with every key honoured rather than refused.
 */
const GRAFANA_CLOUD = `
remote_write:
  - url: https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push
    basic_auth:
      username: "123456"
      password: glc_eyJvIjoiMTIzNDU2In0=
    send_exemplars: true
    send_native_histograms: true
    follow_redirects: true
    enable_http2: true
    write_relabel_configs:
      - source_labels: [__name__]
        regex: "go_.*|process_.*"
        action: drop
`;

const AWS_MANAGED_PROMETHEUS = `
remote_write:
  - url: https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-12345678-abcd/api/v1/remote_write
    queue_config:
      max_samples_per_send: 1000
      max_shards: 200
      capacity: 2500
    sigv4:
      region: us-east-1
`;

const MIMIR_OAUTH2 = `
remote_write:
  - url: https://mimir.example.com/api/v1/push
    headers:
      X-Scope-OrgID: tenant-1
    oauth2:
      client_id: promspool
      client_secret: s3cr3t
      token_url: https://auth.example.com/oauth2/token
      scopes: [metrics.write]
      endpoint_params:
        audience: mimir
    write_relabel_configs:
      - action: labeldrop
        regex: "pod_template_hash|controller_revision_hash"
      - source_labels: [namespace]
        regex: "kube-.*"
        action: drop
      - target_label: cluster
        replacement: prod-eu
`;

/** A whole prometheus.yml of a Prometheus in agent mode: `global` and rule keys it does not use warn. */
const FULL_PROMETHEUS_YML = `
global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 30s
  external_labels:
    cluster: prod
rule_files: [rules/*.yml]
remote_write:
  - url: http://127.0.0.1:9090/api/v1/write
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['localhost:9100']
`;

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-pasted-'));
  const file = join(dir, 'promspool.yaml');
  writeFileSync(file, text);
  return parseConfig(text, file);
}

describe('pasted remote_write blocks', () => {
  it('a Grafana Cloud block loads with its switches and relabel rule', () => {
    const { config, errors } = load(GRAFANA_CLOUD);
    assert.deepEqual(errors.map(formatConfigError), []);
    const ep = config!.remoteWrite[0];
    assert.equal(ep.sendExemplars, true);
    assert.equal(ep.sendNativeHistograms, true);
    assert.equal(ep.basicAuth?.username, '123456');
    assert.equal(ep.writeRelabelConfigs.length, 1);
    assert.equal(ep.writeRelabelConfigs[0].action, 'drop');
    assert.deepEqual(ep.writeRelabelConfigs[0].sourceLabels, ['__name__']);
  });

  it('an AWS Managed Prometheus block loads with sigv4', () => {
    const { config, errors } = load(AWS_MANAGED_PROMETHEUS);
    assert.deepEqual(errors.map(formatConfigError), []);
    const ep = config!.remoteWrite[0] as unknown as { sigv4?: { region?: string; serviceName: string } };
    assert.equal(ep.sigv4?.region, 'us-east-1');
    assert.equal(ep.sigv4?.serviceName, 'aps');
  });

  it('a Mimir block with oauth2, headers and three relabel rules loads', () => {
    const { config, errors } = load(MIMIR_OAUTH2);
    assert.deepEqual(errors.map(formatConfigError), []);
    const ep = config!.remoteWrite[0];
    assert.equal(ep.headers['X-Scope-OrgID'], 'tenant-1');
    assert.deepEqual(
      ep.writeRelabelConfigs.map((r) => r.action),
      ['labeldrop', 'drop', 'replace'],
    );
  });

  it('a full prometheus.yml loads; the keys promspool does not use are warnings with their lines', () => {
    const { config, errors, warnings = [] } = load(FULL_PROMETHEUS_YML);
    assert.deepEqual(errors.map(formatConfigError), []);
    assert.deepEqual(config!.externalLabels, { cluster: 'prod' });
    // The global scrape settings are used by the jobs now.
    assert.deepEqual(
      config!.scrapeConfigs?.map((j) => [j.jobName, j.scrapeIntervalMs, j.scrapeTimeoutMs]),
      [['node', 15_000, 10_000]],
    );
    assert.deepEqual(
      warnings.map((w) => [w.path, w.line]),
      [
        ['global.evaluation_interval', 5],
        ['rule_files', 8],
      ],
    );
    assert.match(warnings[0].message, /accepted and not used: promspool does not evaluate rules/);
  });

  it('defaults: exemplars and native histograms are forwarded, no relabel rules', () => {
    const { config } = load('remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n');
    const ep = config!.remoteWrite[0];
    assert.equal(ep.sendExemplars, true);
    assert.equal(ep.sendNativeHistograms, true);
    assert.deepEqual(ep.writeRelabelConfigs, []);
  });

  it('a bad relabel rule is an error naming its field and line', () => {
    const { errors } = load(
      [
        'remote_write:',
        '  - url: http://127.0.0.1:9090/api/v1/write',
        '    write_relabel_configs:',
        '      - source_labels: [a]',
        '        regex: "(a"',
        '      - action: hashmod',
        '        source_labels: [a]',
        '        target_label: b',
        '',
      ].join('\n'),
    );
    const byPath = new Map(errors.map((e) => [e.path, e]));
    const regex = byPath.get('remote_write[0].write_relabel_configs[0].regex');
    assert.ok(regex, `errors: ${errors.map(formatConfigError).join(' | ')}`);
    assert.equal(regex.line, 5);
    const modulus = errors.find((e) => e.path.startsWith('remote_write[0].write_relabel_configs[1]'));
    assert.ok(modulus, 'hashmod without modulus is refused');
    assert.match(modulus.message, /modulus/);
  });
});
