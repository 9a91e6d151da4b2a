import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { createDiscoverer } from '../../src/discovery/index.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { compileRelabeling } from '../../src/relabel/engine.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import {
  discoveredLabels,
  populateTargetLabels,
  type TargetLabelsConfig,
  targetsFromGroup,
  targetUrl,
} from '../../src/scrape/target-labels.js';

const CONFIG: TargetLabelsConfig = {
  jobName: 'job',
  scheme: 'https',
  metricsPath: '/metrics',
  scrapeIntervalMs: 1000,
  scrapeTimeoutMs: 1000,
  params: {},
};

function rule(partial: Partial<RelabelRule>): RelabelRule {
  return {
    sourceLabels: [],
    separator: ';',
    regex: '(.*)',
    modulus: 0n,
    targetLabel: '',
    replacement: '$1',
    action: 'replace',
    ...partial,
  };
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Prometheus' own test writes the template as ${1}
const COPY_CUSTOM_TO_ADDRESS = rule({ sourceLabels: ['custom'], replacement: '${1}', targetLabel: '__address__' });

/**
 * Prometheus' TestPopulateLabels (scrape/manager_test.go), as data: input labels, config, then
 * either the labels after relabeling (`res`, with the `__` labels Prometheus keeps on the target)
 * and before (`orig`), or the error. The `__*_histograms__` labels of Prometheus 3.x's newest
 * versions are left out: promspool carries those settings in the config, not as labels.
 */
const CASES: {
  what: string;
  in: Record<string, string>;
  rules?: RelabelRule[];
  config?: Partial<TargetLabelsConfig>;
  res?: Record<string, string>;
  orig?: Record<string, string>;
  err?: string;
}[] = [
  {
    what: 'regular population of scrape config options',
    in: { __address__: '1.2.3.4:1000', custom: 'value' },
    res: {
      __address__: '1.2.3.4:1000',
      instance: '1.2.3.4:1000',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
      custom: 'value',
    },
    orig: {
      __address__: '1.2.3.4:1000',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      custom: 'value',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
  },
  {
    what: 'pre-defined scrape config labels win; no port is added (Prometheus 3)',
    in: {
      __address__: '1.2.3.4',
      __scheme__: 'http',
      __metrics_path__: '/custom',
      job: 'custom-job',
      __scrape_interval__: '2s',
      __scrape_timeout__: '2s',
    },
    res: {
      __address__: '1.2.3.4',
      instance: '1.2.3.4',
      __scheme__: 'http',
      __metrics_path__: '/custom',
      job: 'custom-job',
      __scrape_interval__: '2s',
      __scrape_timeout__: '2s',
    },
    orig: {
      __address__: '1.2.3.4',
      __scheme__: 'http',
      __metrics_path__: '/custom',
      job: 'custom-job',
      __scrape_interval__: '2s',
      __scrape_timeout__: '2s',
    },
  },
  {
    what: 'instance label given; IPv6 address without a port',
    in: { __address__: '[::1]', instance: 'custom-instance' },
    res: {
      __address__: '[::1]',
      instance: 'custom-instance',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
    orig: {
      __address__: '[::1]',
      instance: 'custom-instance',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
  },
  { what: 'address label missing', in: { custom: 'value' }, err: 'no address' },
  {
    what: 'address label missing, but added in relabelling',
    in: { custom: 'host:1234' },
    rules: [COPY_CUSTOM_TO_ADDRESS],
    res: {
      __address__: 'host:1234',
      instance: 'host:1234',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
      custom: 'host:1234',
    },
    orig: {
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
      custom: 'host:1234',
    },
  },
  {
    what: 'invalid UTF-8 in a label value',
    in: { __address__: '1.2.3.4:1000', custom: '\ud800' },
    err: 'invalid label value for "custom": "\\ud800"',
  },
  {
    what: 'invalid duration in the interval label',
    in: { __address__: '1.2.3.4:1000', __scrape_interval__: '2notseconds' },
    err: 'error parsing scrape interval: unknown unit "notseconds" in duration "2notseconds"',
  },
  {
    what: 'invalid duration in the timeout label',
    in: { __address__: '1.2.3.4:1000', __scrape_timeout__: '2notseconds' },
    err: 'error parsing scrape timeout: unknown unit "notseconds" in duration "2notseconds"',
  },
  {
    what: '0 interval',
    in: { __address__: '1.2.3.4:1000', __scrape_interval__: '0s' },
    err: 'scrape interval cannot be 0',
  },
  {
    what: '0 timeout',
    in: { __address__: '1.2.3.4:1000', __scrape_timeout__: '0s' },
    err: 'scrape timeout cannot be 0',
  },
  {
    what: 'timeout greater than interval',
    in: { __address__: '1.2.3.4:1000', __scrape_interval__: '1s', __scrape_timeout__: '2s' },
    err: 'scrape timeout cannot be greater than scrape interval ("2s" > "1s")',
  },
  {
    what: 'the default port is not removed (http)',
    in: { __address__: '1.2.3.4:80' },
    config: { scheme: 'http' },
    res: {
      __address__: '1.2.3.4:80',
      instance: '1.2.3.4:80',
      __scheme__: 'http',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
    orig: {
      __address__: '1.2.3.4:80',
      __scheme__: 'http',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
  },
  {
    what: 'the default port is not removed (https)',
    in: { __address__: '1.2.3.4:443' },
    res: {
      __address__: '1.2.3.4:443',
      instance: '1.2.3.4:443',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
    orig: {
      __address__: '1.2.3.4:443',
      __scheme__: 'https',
      __metrics_path__: '/metrics',
      job: 'job',
      __scrape_interval__: '1s',
      __scrape_timeout__: '1s',
    },
  },
];

function withoutDunder(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('__')));
}

describe('populateTargetLabels (Prometheus TestPopulateLabels)', () => {
  for (const c of CASES) {
    it(c.what, () => {
      const config = { ...CONFIG, ...c.config };
      const input = { ...c.in };
      const result = populateTargetLabels(config, compileRelabeling(c.rules ?? [], 'utf8'), c.in, {});
      assert.deepEqual(c.in, input, 'the input is not altered');
      if (c.err !== undefined) {
        assert.equal(result.kind, 'invalid');
        assert.equal(result.kind === 'invalid' && result.reason, c.err);
        return;
      }
      assert.equal(result.kind, 'target');
      if (result.kind !== 'target') return;
      assert.deepEqual(result.target.labels, withoutDunder(c.res!));
      assert.deepEqual(result.target.discoveredLabels, c.orig);
      assert.deepEqual(discoveredLabels(config, c.in, {}), c.orig);
      assert.equal(result.target.url, `${c.res!.__scheme__}://${c.res!.__address__}${c.res!.__metrics_path__}`);
      assert.equal(result.target.intervalMs, c.in.__scrape_interval__ === '2s' ? 2000 : 1000);
      assert.equal(result.target.timeoutMs, c.in.__scrape_timeout__ === '2s' ? 2000 : 1000);
    });
  }
});

describe('populateTargetLabels beyond Prometheus test cases', () => {
  it('drops a target a keep rule does not match, keeping its discovered labels', () => {
    const relabeler = compileRelabeling([rule({ sourceLabels: ['env'], regex: 'prod', action: 'keep' })], 'utf8');
    const result = populateTargetLabels(CONFIG, relabeler, { __address__: 'a:1' }, { env: 'dev' });
    assert.deepEqual(result, {
      kind: 'dropped',
      discoveredLabels: {
        __address__: 'a:1',
        env: 'dev',
        job: 'job',
        __scheme__: 'https',
        __metrics_path__: '/metrics',
        __scrape_interval__: '1s',
        __scrape_timeout__: '1s',
      },
    });
  });

  it('group labels apply where the target has none; __meta_ labels are usable in rules, then removed', () => {
    const relabeler = compileRelabeling([rule({ sourceLabels: ['__meta_zone'], targetLabel: 'zone' })], 'utf8');
    const result = populateTargetLabels(
      CONFIG,
      relabeler,
      { __address__: 'a:1', env: 'target' },
      { env: 'group', team: 'x', __meta_zone: 'eu-1' },
    );
    assert.equal(result.kind, 'target');
    assert.deepEqual(result.kind === 'target' && result.target.labels, {
      env: 'target',
      instance: 'a:1',
      job: 'job',
      team: 'x',
      zone: 'eu-1',
    });
  });

  it('refuses a URL as the address after relabeling', () => {
    const relabeler = compileRelabeling([COPY_CUSTOM_TO_ADDRESS], 'utf8');
    const result = populateTargetLabels(CONFIG, relabeler, { custom: 'http://h:1/x' }, {});
    assert.deepEqual(result.kind === 'invalid' && result.reason, '"http://h:1/x" is not a valid hostname');
  });

  it('takes the interval and timeout from relabeled labels', () => {
    const relabeler = compileRelabeling(
      [
        rule({ targetLabel: '__scrape_interval__', replacement: '1m30s' }),
        rule({ targetLabel: '__scrape_timeout__', replacement: '45s' }),
      ],
      'utf8',
    );
    const result = populateTargetLabels(CONFIG, relabeler, { __address__: 'a:1' }, {});
    assert.equal(result.kind === 'target' && result.target.intervalMs, 90_000);
    assert.equal(result.kind === 'target' && result.target.timeoutMs, 45_000);
  });

  it('names the target and group of an invalid target', () => {
    const results = targetsFromGroup(CONFIG, compileRelabeling([], 'utf8'), {
      source: 'file.json:0',
      targets: [{ __address__: 'a:1' }, { custom: 'x' }],
      labels: {},
    });
    assert.deepEqual(
      results.map((r) => (r.kind === 'invalid' ? r.reason : r.kind)),
      ['target', 'instance 1 in group file.json:0: no address'],
    );
  });
});

describe('targetUrl (Prometheus TestTargetURL)', () => {
  it('the first value of each parameter can be set by a __param_ label; encoded and sorted as Go does', () => {
    const url = targetUrl(
      { abc: ['foo', 'bar', 'baz'], xyz: ['hoo'] },
      {
        __address__: 'example.com:1234',
        __scheme__: 'https',
        __metrics_path__: '/metricz',
        __param_abc: 'overwrite',
        __param_cde: 'huu',
      },
    );
    assert.equal(url, 'https://example.com:1234/metricz?abc=overwrite&abc=bar&abc=baz&cde=huu&xyz=hoo');
  });

  it('escapes query values and paths as Go url.URL.String does', () => {
    const url = targetUrl(
      { target: ['http://a b/?x=1&y'] },
      { __address__: 'h:1', __scheme__: 'http', __metrics_path__: '/probe me!' },
    );
    assert.equal(url, 'http://h:1/probe%20me%21?target=http%3A%2F%2Fa+b%2F%3Fx%3D1%26y');
  });

  it('job params become __param_ labels before relabeling (the first value only)', () => {
    assert.deepEqual(
      discoveredLabels({ ...CONFIG, params: { module: ['http_2xx', 'other'] } }, { __address__: 'a' }, {}),
      {
        __address__: 'a',
        __param_module: 'http_2xx',
        job: 'job',
        __scheme__: 'https',
        __metrics_path__: '/metrics',
        __scrape_interval__: '1s',
        __scrape_timeout__: '1s',
      },
    );
  });
});

describe('from a prometheus.yml job to the targets', () => {
  it("the blackbox exporter pattern: URL targets become a parameter, the exporter's address is scraped", async () => {
    const { config, errors } = parseConfig(
      [
        'remote_write:',
        '  - url: http://127.0.0.1:9090/api/v1/write',
        'scrape_configs:',
        '  - job_name: blackbox',
        '    scrape_interval: 30s',
        '    metrics_path: /probe',
        '    params: { module: [http_2xx] }',
        '    static_configs:',
        '      - targets: [https://example.com, "http://10.0.0.1:8080/health?x=1"]',
        '    relabel_configs:',
        '      - source_labels: [__address__]',
        '        target_label: __param_target',
        '      - source_labels: [__param_target]',
        '        target_label: instance',
        '      - target_label: __address__',
        '        replacement: 127.0.0.1:9115',
        '',
      ].join('\n'),
    );
    assert.deepEqual(errors, []);
    const job = config!.scrapeConfigs![0];
    const controller = new AbortController();
    let groups: readonly TargetGroup[] = [];
    const done = createDiscoverer(job.serviceDiscovery[0]).run((g) => {
      groups = g;
      controller.abort();
    }, controller.signal);
    await done;
    const relabeler = compileRelabeling(job.relabelConfigs, job.nameValidationScheme);
    const results = groups.flatMap((g) => targetsFromGroup(job, relabeler, g));
    assert.deepEqual(
      results.map((r) =>
        r.kind === 'target' ? [r.target.url, r.target.labels, r.target.intervalMs, r.target.timeoutMs] : r,
      ),
      [
        [
          'http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com',
          { instance: 'https://example.com', job: 'blackbox' },
          30_000,
          10_000,
        ],
        [
          'http://127.0.0.1:9115/probe?module=http_2xx&target=http%3A%2F%2F10.0.0.1%3A8080%2Fhealth%3Fx%3D1',
          { instance: 'http://10.0.0.1:8080/health?x=1', job: 'blackbox' },
          30_000,
          10_000,
        ],
      ],
    );
  });
});
