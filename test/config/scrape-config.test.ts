import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import type { ScrapeConfig } from '../../src/config/types.js';

const SOURCE = '/nonexistent-promspool-dir/promspool.yaml';
const RW = 'remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n';

function jobs(yaml: string, source = SOURCE): ScrapeConfig[] {
  const { config, errors } = parseConfig(`${RW}${yaml}`, source);
  assert.deepEqual(errors.map(formatConfigError), []);
  return config!.scrapeConfigs ?? [];
}

function errorsOf(yaml: string, source = SOURCE): string[] {
  const result = parseConfig(`${RW}${yaml}`, source);
  assert.equal(result.config, undefined, 'an invalid config must not produce a config');
  return result.errors.map(formatConfigError);
}

describe('scrape_configs: defaults', () => {
  it('a minimal job gets every Prometheus default', () => {
    assert.deepEqual(jobs('scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [a:9100]\n'), [
      {
        jobName: 'node',
        scrapeIntervalMs: 60_000,
        scrapeTimeoutMs: 10_000,
        metricsPath: '/metrics',
        scheme: 'http',
        params: {},
        honorLabels: false,
        honorTimestamps: true,
        trackTimestampsStaleness: false,
        scrapeProtocols: ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'],
        enableCompression: true,
        bodySizeLimitBytes: 0,
        sampleLimit: 0,
        targetLimit: 0,
        labelLimit: 0,
        labelNameLengthLimit: 0,
        labelValueLengthLimit: 0,
        nativeHistogramBucketLimit: 0,
        scrapeNativeHistograms: false,
        alwaysScrapeClassicHistograms: false,
        relabelConfigs: [],
        metricRelabelConfigs: [],
        nameValidationScheme: 'utf8',
        serviceDiscovery: [{ kind: 'static', groups: [{ targets: ['a:9100'], labels: {} }] }],
      },
    ]);
  });

  it('no scrape_configs: scrapeConfigs is absent', () => {
    const { config } = parseConfig(RW);
    assert.equal(config?.scrapeConfigs, undefined);
  });

  it('global scrape settings are inherited; a job overrides them; 0 means "inherit"', () => {
    const [a, b] = jobs(
      [
        'global:',
        '  scrape_interval: 15s',
        '  scrape_timeout: 5s',
        '  body_size_limit: 10MB',
        '  sample_limit: 1000',
        '  label_limit: 30',
        '  scrape_protocols: [PrometheusText0.0.4]',
        'scrape_configs:',
        '  - job_name: a',
        '  - job_name: b',
        '    scrape_interval: 1m',
        '    scrape_timeout: 20s',
        '    sample_limit: 0',
        '    label_limit: 5',
        '    scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0]',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      [a.scrapeIntervalMs, a.scrapeTimeoutMs, a.bodySizeLimitBytes, a.sampleLimit, a.labelLimit, a.scrapeProtocols],
      [15_000, 5_000, 10_000_000, 1000, 30, ['PrometheusText0.0.4']],
    );
    assert.deepEqual(
      [b.scrapeIntervalMs, b.scrapeTimeoutMs, b.sampleLimit, b.labelLimit, b.scrapeProtocols],
      [60_000, 20_000, 1000, 5, ['PrometheusProto', 'OpenMetricsText1.0.0']],
    );
  });

  it('timeout defaults to min(global timeout, interval) (Prometheus global_timeout / scrape_interval_larger)', () => {
    const [a, b] = jobs(
      'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 5s\n',
    );
    assert.deepEqual(
      [a.scrapeIntervalMs, a.scrapeTimeoutMs, b.scrapeIntervalMs, b.scrapeTimeoutMs],
      [1000, 1000, 5000, 1000],
    );
  });

  it('scrape_native_histograms puts PrometheusProto first unless protocols are given', () => {
    const [a, b] = jobs(
      'global:\n  scrape_native_histograms: true\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_native_histograms: false\n',
    );
    assert.equal(a.scrapeNativeHistograms, true);
    assert.equal(a.scrapeProtocols[0], 'PrometheusProto');
    assert.equal(b.scrapeProtocols[0], 'OpenMetricsText1.0.0');
  });

  it('reads every job key and the HTTP client keys shared with remote_write', () => {
    const [job] = jobs(
      [
        'scrape_configs:',
        '  - job_name: blackbox',
        '    metrics_path: /probe',
        '    scheme: https',
        '    params:',
        '      module: [http_2xx]',
        '    honor_labels: true',
        '    honor_timestamps: false',
        '    track_timestamps_staleness: true',
        '    enable_compression: false',
        '    fallback_scrape_protocol: PrometheusText0.0.4',
        '    label_name_length_limit: 100',
        '    label_value_length_limit: 200',
        '    target_limit: 7',
        '    native_histogram_bucket_limit: 160',
        '    metric_name_validation_scheme: legacy',
        '    basic_auth: { username: u, password: p }',
        '    tls_config: { insecure_skip_verify: true, server_name: x }',
        '    follow_redirects: false',
        '    enable_http2: false',
        '    proxy_url: http://proxy:3128',
        '    http_headers:',
        '      X-Tenant: { values: [a] }',
        '    relabel_configs:',
        '      - source_labels: [__address__]',
        '        target_label: __param_target',
        '    metric_relabel_configs:',
        '      - action: labeldrop',
        '        regex: tmp_.*',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      {
        metricsPath: job.metricsPath,
        scheme: job.scheme,
        params: job.params,
        honorLabels: job.honorLabels,
        honorTimestamps: job.honorTimestamps,
        trackTimestampsStaleness: job.trackTimestampsStaleness,
        enableCompression: job.enableCompression,
        fallbackProtocol: job.fallbackProtocol,
        limits: [job.labelNameLengthLimit, job.labelValueLengthLimit, job.targetLimit, job.nativeHistogramBucketLimit],
        nameValidationScheme: job.nameValidationScheme,
        basicAuth: job.basicAuth,
        tlsConfig: job.tlsConfig,
        followRedirects: job.followRedirects,
        enableHttp2: job.enableHttp2,
        proxyUrl: job.proxyUrl,
        httpHeaders: job.httpHeaders,
        relabel: job.relabelConfigs.map((r) => [r.action, r.targetLabel]),
        metricRelabel: job.metricRelabelConfigs.map((r) => [r.action, r.regex]),
        serviceDiscovery: job.serviceDiscovery,
      },
      {
        metricsPath: '/probe',
        scheme: 'https',
        params: { module: ['http_2xx'] },
        honorLabels: true,
        honorTimestamps: false,
        trackTimestampsStaleness: true,
        enableCompression: false,
        fallbackProtocol: 'PrometheusText0.0.4',
        limits: [100, 200, 7, 160],
        nameValidationScheme: 'legacy',
        basicAuth: { username: 'u', password: 'p' },
        tlsConfig: { insecureSkipVerify: true, serverName: 'x' },
        followRedirects: false,
        enableHttp2: false,
        proxyUrl: 'http://proxy:3128',
        httpHeaders: { 'X-Tenant': { values: ['a'], secrets: [], files: [] } },
        relabel: [['replace', '__param_target']],
        metricRelabel: [['labeldrop', 'tmp_.*']],
        serviceDiscovery: [],
      },
    );
  });

  it('reads file, http and kubernetes discovery with their defaults', () => {
    const [job] = jobs(
      [
        'scrape_configs:',
        '  - job_name: sd',
        '    file_sd_configs:',
        '      - files: [targets/*.json, more.yml]',
        '      - files: [/abs/x.yaml]',
        '        refresh_interval: 30s',
        '    http_sd_configs:',
        '      - url: http://sd.example:8080/targets',
        '        authorization: { credentials: tok }',
        '    kubernetes_sd_configs:',
        '      - role: endpoints',
        '        namespaces: { names: [default, kube-system] }',
        '        selectors:',
        '          - role: pod',
        '            label: app=web',
        '        attach_metadata: { node: true }',
        '        follow_redirects: true',
        '      - role: node',
        '        api_server: https://k8s.example:6443',
        '        bearer_token: abc',
        '',
      ].join('\n'),
    );
    assert.deepEqual(job.serviceDiscovery, [
      {
        kind: 'file',
        files: ['/nonexistent-promspool-dir/targets/*.json', '/nonexistent-promspool-dir/more.yml'],
        refreshIntervalMs: 300_000,
      },
      { kind: 'file', files: ['/abs/x.yaml'], refreshIntervalMs: 30_000 },
      {
        kind: 'http',
        url: 'http://sd.example:8080/targets',
        refreshIntervalMs: 60_000,
        authorization: { type: 'Bearer', credentials: 'tok' },
      },
      {
        kind: 'kubernetes',
        role: 'endpoints',
        namespaces: { ownNamespace: false, names: ['default', 'kube-system'] },
        selectors: [{ role: 'pod', label: 'app=web' }],
        attachMetadata: { node: true, namespace: false },
        // A client key at its default is no custom client: allowed in-cluster, as in Prometheus.
        followRedirects: true,
      },
      {
        kind: 'kubernetes',
        role: 'node',
        apiServer: 'https://k8s.example:6443',
        namespaces: { ownNamespace: false, names: [] },
        selectors: [],
        attachMetadata: { node: false, namespace: false },
        authorization: { type: 'Bearer', credentials: 'abc' },
      },
    ]);
  });

  it('global scrape keys no longer warn; the ones promspool does not use still do', () => {
    const { warnings } = parseConfig(`${RW}global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n`);
    assert.deepEqual(
      warnings?.map((w) => w.path),
      ['global.evaluation_interval'],
    );
  });
});

/** Prometheus' config/testdata/*.bad.yml about scrape configs, as promspool reports them. */
const INVALID: [string, string, string[]][] = [
  [
    'scrape_interval.bad.yml: timeout above interval',
    'scrape_configs:\n  - job_name: prometheus\n    scrape_interval: 5s\n    scrape_timeout: 6s\n',
    ['scrape_configs[0].scrape_timeout: must be <= the scrape interval (5s), got 6s (line 6)'],
  ],
  [
    'global timeout above global interval',
    'global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n',
    ['global.scrape_timeout: must be <= scrape_interval (5s), got 6s (line 5)'],
  ],
  [
    'jobname_dup.bad.yml',
    'scrape_configs:\n  - job_name: prometheus\n  - job_name: service-x\n  - job_name: prometheus\n',
    [
      'scrape_configs[2].job_name: found multiple scrape configs with job name "prometheus" (first in scrape_configs[0]) (line 6)',
    ],
  ],
  [
    'jobname.bad.yml: job_name missing or empty',
    'scrape_configs:\n  - scrape_interval: 5s\n  - job_name: ""\n',
    ['scrape_configs[0].job_name: is required (line 4)', 'scrape_configs[1].job_name: must not be empty (line 5)'],
  ],
  [
    'empty_scrape_config.bad.yml',
    'scrape_configs:\n  -\n',
    ['scrape_configs[0]: empty or null scrape config section (line 4)'],
  ],
  [
    'empty_static_config.bad.yml',
    'scrape_configs:\n  - job_name: test\n    static_configs:\n      -\n',
    ['scrape_configs[0].static_configs[0]: empty or null section in static_configs (line 6)'],
  ],
  [
    'url_in_targetgroup.bad.yml',
    'scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets:\n          - http://bad\n',
    [
      'scrape_configs[0].static_configs[0].targets[0]: "http://bad" is not a valid hostname: give host:port, and the scheme and path with scheme and metrics_path (line 7)',
    ],
  ],
  [
    'scrape_body_size_limit.bad.yml: a size needs a unit',
    'scrape_configs:\n  - job_name: prometheus\n    body_size_limit: 100\n',
    ['scrape_configs[0].body_size_limit: needs a unit, e.g. "100MB" or "100B", got a number (100) (line 5)'],
  ],
  [
    'empty_metric_relabel_config.bad.yml',
    'scrape_configs:\n  - job_name: test\n    metric_relabel_configs:\n      -\n',
    ['scrape_configs[0].metric_relabel_configs[0]: empty or null relabeling rule (line 6)'],
  ],
  [
    'unknown and duplicate scrape protocols',
    'scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusText0.0.4, prometheustext0.0.4, Nope]\n',
    [
      'scrape_configs[0].scrape_protocols[1]: duplicated protocol "prometheustext0.0.4" (line 5)',
      'scrape_configs[0].scrape_protocols[2]: unknown scrape protocol "Nope", supported: OpenMetricsText0.0.1, OpenMetricsText1.0.0, PrometheusProto, PrometheusText0.0.4, PrometheusText1.0.0 (line 5)',
    ],
  ],
  [
    'scrape_config_files_fallback_scrape_protocol1.bad.yml',
    'scrape_configs:\n  - job_name: a\n    fallback_scrape_protocol: prometheusproto\n',
    [
      'scrape_configs[0].fallback_scrape_protocol: must be one of "PrometheusProto", "OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4", got "prometheusproto" (did you mean "PrometheusProto"?) (line 5)',
    ],
  ],
  [
    'empty scrape_protocols',
    'scrape_configs:\n  - job_name: a\n    scrape_protocols: []\n',
    ['scrape_configs[0].scrape_protocols: cannot be empty (line 5)'],
  ],
  [
    'other discovery kinds are refused by name and line',
    'scrape_configs:\n  - job_name: a\n    consul_sd_configs:\n      - server: x\n    dns_sd_configs: []\n',
    [
      'scrape_configs[0].consul_sd_configs: consul_sd_configs is not supported yet (line 5)',
      'scrape_configs[0].dns_sd_configs: dns_sd_configs is not supported yet (line 7)',
    ],
  ],
  [
    'at most one authentication (bearertoken_basicauth.bad.yml)',
    'scrape_configs:\n  - job_name: a\n    bearer_token: x\n    basic_auth: { username: u }\n',
    [
      'scrape_configs[0]: at most one of basic_auth, authorization, bearer_token, bearer_token_file or oauth2 may be set, got basic_auth and bearer_token (line 4)',
    ],
  ],
  [
    'file_sd: no files, bad names',
    'scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: []\n      - files: [targets.txt, "a/*/b.json"]\n',
    [
      'scrape_configs[0].file_sd_configs[0].files: must list at least one file (a JSON or YAML file name; the last path element may hold one "*") (line 6)',
      'scrape_configs[0].file_sd_configs[1].files[0]: "targets.txt" is not valid for file discovery: it must end in .json, .yml or .yaml, with at most one "*", in the last path element (line 7)',
      'scrape_configs[0].file_sd_configs[1].files[1]: "a/*/b.json" is not valid for file discovery: it must end in .json, .yml or .yaml, with at most one "*", in the last path element (line 7)',
    ],
  ],
  [
    'http_sd: url missing, bad scheme (http_url_no_scheme / http_url_bad_scheme)',
    'scrape_configs:\n  - job_name: a\n    http_sd_configs:\n      - refresh_interval: 1m\n      - url: ftp://x/y\n',
    [
      'scrape_configs[0].http_sd_configs[0].url: is required (line 6)',
      'scrape_configs[0].http_sd_configs[1].url: URL scheme must be http or https, got "ftp" (line 7)',
    ],
  ],
  [
    'kubernetes_role.bad.yml and kubernetes_selectors_duplicated_role.bad.yml',
    [
      'scrape_configs:',
      '  - job_name: a',
      '    kubernetes_sd_configs:',
      '      - role: pods',
      '      - role: endpoints',
      '        selectors:',
      '          - role: pod',
      '          - role: pod',
      '          - role: node',
      '',
    ].join('\n'),
    [
      'scrape_configs[0].kubernetes_sd_configs[0].role: must be one of "pod", "service", "endpoints", "endpointslice", "node", "ingress", got "pods" (did you mean "pod"?) (line 6)',
      'scrape_configs[0].kubernetes_sd_configs[1].selectors[1].role: duplicated selector role: pod (line 10)',
      'scrape_configs[0].kubernetes_sd_configs[1].selectors[2].role: endpoints role supports only pod, service, endpoints selectors (line 11)',
    ],
  ],
  [
    'kubernetes_http_config_without_api_server / kubeconfig_with_apiserver / api_server_with_own_namespace',
    [
      'scrape_configs:',
      '  - job_name: a',
      '    kubernetes_sd_configs:',
      '      - role: pod',
      '        authorization: { credentials: "1234" }',
      '      - role: pod',
      '        api_server: https://k:443',
      '        kubeconfig_file: /kube.conf',
      '      - role: pod',
      '        api_server: https://k:443',
      '        namespaces: { own_namespace: true }',
      '      - role: pod',
      '        api_server: "kubernetes:443"',
      '',
    ].join('\n'),
    [
      "scrape_configs[0].kubernetes_sd_configs[0]: HTTP client settings need api_server: give the API server's URL explicitly to use them (line 6)",
      'scrape_configs[0].kubernetes_sd_configs[1].kubeconfig_file: cannot be used with api_server: give one of them (line 10)',
      'scrape_configs[0].kubernetes_sd_configs[2].namespaces.own_namespace: cannot be used with api_server: the own namespace is only known in-cluster (line 13)',
      'scrape_configs[0].kubernetes_sd_configs[3].api_server: must be a URL with a scheme, e.g. "https://kubernetes:443", got "kubernetes:443" (line 15)',
    ],
  ],
  [
    'kubernetes_namespace_discovery.bad.yml: unknown key in namespaces',
    'scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: endpoints\n        namespaces:\n          foo: bar\n',
    ['scrape_configs[0].kubernetes_sd_configs[0].namespaces.foo: unknown key (line 8)'],
  ],
  [
    'static labels: legacy name rules under the job scheme',
    'scrape_configs:\n  - job_name: a\n    metric_name_validation_scheme: legacy\n    static_configs:\n      - targets: [a:1]\n        labels: { "a.b": x }\n',
    ['scrape_configs[0].static_configs[0].labels.a.b: invalid label name, must match [a-zA-Z_][a-zA-Z0-9_]* (line 8)'],
  ],
  [
    'convert_classic_histograms_to_nhcb: true is refused',
    'scrape_configs:\n  - job_name: a\n    convert_classic_histograms_to_nhcb: true\n',
    [
      'scrape_configs[0].convert_classic_histograms_to_nhcb: true is not supported yet: promspool sends classic histograms as they are scraped (line 5)',
    ],
  ],
];

describe('scrape_configs: errors name the field and the line', () => {
  for (const [what, yaml, expected] of INVALID) {
    it(what, () => {
      assert.deepEqual(errorsOf(yaml), expected);
    });
  }
});

describe('scrape_config_files', () => {
  it('reads the jobs of every file a glob matches, relative to the config, with unique job names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promspool-scrape-files-'));
    try {
      await mkdir(join(dir, 'jobs'));
      await writeFile(join(dir, 'jobs', 'a.yml'), 'scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n');
      await writeFile(
        join(dir, 'jobs', 'b.yml'),
        'scrape_configs:\n  - job_name: b\n    file_sd_configs:\n      - files: [t.json]\n',
      );
      await writeFile(join(dir, 'jobs', 'ignored.txt'), 'nope');
      const read = jobs(
        'global:\n  scrape_interval: 30s\nscrape_config_files: [jobs/*.yml]\nscrape_configs:\n  - job_name: main\n',
        join(dir, 'promspool.yaml'),
      );
      assert.deepEqual(
        read.map((j) => [j.jobName, j.scrapeIntervalMs]),
        [
          ['main', 30_000],
          ['a', 5_000],
          ['b', 30_000],
        ],
      );
      // Relative paths inside a file resolve against that file's directory, as in Prometheus.
      assert.deepEqual(read[2].serviceDiscovery, [
        { kind: 'file', files: [join(dir, 'jobs', 't.json')], refreshIntervalMs: 300_000 },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a problem in a file with the file, the path in it and its line; duplicates across files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promspool-scrape-files-'));
    try {
      const file = join(dir, 'jobs.yml');
      await writeFile(
        file,
        '# jobs\nscrape_configs:\n  - job_name: main\n  - job_name: x\n    scrape_interval: 10s\n    scrape_timeout: 20s\nglobal: {}\n',
      );
      assert.deepEqual(
        errorsOf('scrape_config_files: [jobs.yml]\nscrape_configs:\n  - job_name: main\n', join(dir, 'p.yaml')),
        [
          `${file}: global: unknown key (line 7)`,
          `${file}: scrape_configs[0].job_name: found multiple scrape configs with job name "main" (first in scrape_configs[0] of the main file) (line 3)`,
          `${file}: scrape_configs[1].scrape_timeout: must be <= the scrape interval (10s), got 20s (line 6)`,
        ].sort((a, b) => Number(/line (\d+)/.exec(a)![1]) - Number(/line (\d+)/.exec(b)![1])),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a pattern with a "*" before the last path element (scrape_config_files_glob.bad.yml)', () => {
    assert.deepEqual(errorsOf('scrape_config_files:\n  - scrape_configs/*/*\n'), [
      'scrape_config_files[0]: invalid scrape config file path "scrape_configs/*/*": at most one "*", in the last path element (line 4)',
    ]);
  });
});
