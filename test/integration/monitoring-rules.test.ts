// The alert rules and the Grafana dashboard shipped in docs/monitoring: promtool accepts the rules
// and passes their unit tests, every alert has a severity, a `for`, a runbook section and tests
// that fire it and that must not, the dashboard's expressions parse, and every metric name used
// by either is one a running promspool exposes at /metrics (a renamed metric fails here).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { type DaemonProcess, daemonConfigYaml, makeTempDir, REPO_ROOT, startDaemonProcess } from './daemon-helpers.js';
import { findBinary, isCI } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';

const MONITORING = join(REPO_ROOT, 'docs', 'monitoring');
const ALERTS = join(MONITORING, 'alerts.yml');
const ALERTS_TEST = join(MONITORING, 'alerts.test.yml');
const DASHBOARD = join(MONITORING, 'grafana-dashboard.json');
const OPERATIONS = join(REPO_ROOT, 'docs', 'operations.md');

/** Metric names the rules may use that promspool does not expose itself: Prometheus makes `up` when it scrapes. */
const NOT_FROM_PROMSPOOL = new Set(['up']);

/** The data source every panel queries: Grafana's `${datasource}` variable, spelled without a template literal. */
const DATASOURCE_VAR = `$\{datasource}`;

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[];
}

interface DashboardTarget {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface DashboardPanel {
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
}

interface DashboardVariable {
  name: string;
  type: string;
  query?: string | { query: string };
}

interface Dashboard {
  schemaVersion: number;
  templating: { list: DashboardVariable[] };
  panels: DashboardPanel[];
}

const alertRules = (): AlertRule[] => {
  const doc = parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
};

const dashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Every PromQL expression of the dashboard's panels. */
const dashboardExpressions = (d: Dashboard): { title: string; expr: string }[] =>
  d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr ?? '' })));

/** The metric each `label_values(metric{...}, label)` variable query reads. */
const variableMetrics = (d: Dashboard): string[] =>
  d.templating.list.flatMap((v) => {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q === undefined ? null : /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q);
    return m ? [m[1]!] : [];
  });

/** Grafana's variables replaced by values PromQL accepts, so promtool can parse the expression. */
const withGrafanaVariablesReplaced = (expr: string): string =>
  expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?[a-zA-Z_]+\}?/g, '.+');

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'atan2',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers outside strings, label matchers,
 * ranges and grouping clauses that are not functions (followed by `(`) or keywords.
 */
function metricNames(expr: string): Set<string> {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const before = s[m.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // the exponent of a number such as 1e-9
    if (
      s
        .slice(m.index + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function or aggregation
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return names;
}

/** The sample names an exposition can carry: each family, and `_bucket`/`_sum`/`_count` of histograms and summaries. */
function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
    } else if (line !== '' && !line.startsWith('#')) {
      names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
    }
  }
  return names;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * promtool's path. Missing under CI it throws (a failure, never a silent pass); locally it prints
 * a loud banner, marks the test skipped and returns undefined.
 */
function requirePromtool(t: TestContext): string | undefined {
  const bin = findBinary('promtool');
  if (bin !== undefined) return bin;
  const message =
    'promtool not found: install it with `sudo apt-get install -y --no-install-recommends prometheus` ' +
    '(or point PROMSPOOL_PROMTOOL_BIN at it)';
  if (isCI()) throw new Error(`${message} [CI is set, so this is a failure, not a skip]`);
  const line = '!'.repeat(message.length + 8);
  console.error(`\n${line}\n!!! SKIPPING MONITORING TEST: ${message}\n${line}\n`);
  t.skip(message);
  return undefined;
}

describe('docs/monitoring/alerts.yml', () => {
  it('passes `promtool check rules`', async (t) => {
    const promtool = requirePromtool(t);
    if (!promtool) return;
    const r = await run(promtool, ['check', 'rules', ALERTS], REPO_ROOT);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`), r.stdout);
  });

  it('passes its unit tests, `promtool test rules alerts.test.yml`', async (t) => {
    const promtool = requirePromtool(t);
    if (!promtool) return;
    const r = await run(promtool, ['test', 'rules', ALERTS_TEST], REPO_ROOT);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS/, r.stdout);
  });

  it('gives every alert a for, a severity, what-to-do annotations and a runbook section in docs/operations.md', () => {
    const operations = readFileSync(OPERATIONS, 'utf8');
    const rules = alertRules();
    assert.ok(rules.length >= 7, `only ${rules.length} rules`);
    for (const r of rules) {
      assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert}: for`);
      assert.ok(['warning', 'critical'].includes(r.labels?.severity ?? ''), `${r.alert}: severity`);
      assert.ok((r.annotations?.summary ?? '').length > 10, `${r.alert}: summary`);
      assert.ok((r.annotations?.description ?? '').length > 80, `${r.alert}: description says what to do`);
      assert.equal(r.annotations?.runbook, `docs/operations.md#${r.alert.toLowerCase()}`, `${r.alert}: runbook`);
      assert.ok(
        operations.includes(`\n#### ${r.alert}\n`),
        `${r.alert}: no "#### ${r.alert}" section in docs/operations.md`,
      );
    }
  });

  it('has, for every alert, a test where it fires and one where it must not', () => {
    const doc = parse(readFileSync(ALERTS_TEST, 'utf8')) as { rule_files: string[]; tests: RuleTest[] };
    assert.deepEqual(doc.rule_files, ['alerts.yml']);
    const evals = doc.tests.flatMap((g) => g.alert_rule_test ?? []);
    for (const { alert } of alertRules()) {
      const mine = evals.filter((e) => e.alertname === alert);
      assert.ok(
        mine.some((e) => (e.exp_alerts ?? []).length > 0),
        `${alert}: no test where it fires`,
      );
      assert.ok(
        mine.some((e) => (e.exp_alerts ?? []).length === 0),
        `${alert}: no test where it must not fire`,
      );
    }
  });
});

describe('docs/monitoring/grafana-dashboard.json', () => {
  it('has a Prometheus datasource variable and a remote_name variable, and every panel queries it', () => {
    const d = dashboard();
    assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 41, `schemaVersion ${d.schemaVersion}`);
    const vars = new Map(d.templating.list.map((v) => [v.name, v]));
    assert.equal(vars.get('datasource')?.type, 'datasource');
    assert.equal(vars.get('datasource')?.query, 'prometheus');
    assert.equal(vars.get('remote_name')?.type, 'query');
    const queries = d.panels.filter((p) => p.type !== 'row');
    assert.ok(queries.length >= 12, `only ${queries.length} panels`);
    for (const p of queries) {
      assert.equal(p.datasource?.uid, DATASOURCE_VAR, `${p.title}: datasource`);
      assert.ok((p.targets ?? []).length > 0, `${p.title}: no query`);
      for (const target of p.targets ?? []) {
        assert.equal(target.datasource?.uid, DATASOURCE_VAR, `${p.title}: target datasource`);
        assert.match(
          target.expr ?? '',
          /remote_name=~"\$remote_name"|instance=~"\$instance"/,
          `${p.title}: not filtered`,
        );
      }
    }
  });

  it('has expressions that parse as PromQL (promtool check rules on them as recording rules)', async (t) => {
    const promtool = requirePromtool(t);
    if (!promtool) return;
    const dir = makeTempDir('dashboard-promql');
    t.after(() => dir.remove());
    const exprs = dashboardExpressions(dashboard());
    const rules = exprs.map(({ expr }, i) => ({
      record: `dashboard:expr${i}`,
      expr: withGrafanaVariablesReplaced(expr),
    }));
    const file = join(dir.path, 'dashboard-rules.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = await run(promtool, ['check', 'rules', file], dir.path);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`), r.stdout);
  });
});

describe('metric names of the alerts and the dashboard', () => {
  const dir = makeTempDir('monitoring-metrics');
  let daemon: DaemonProcess | undefined;
  let exposition = '';

  before(async () => {
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: join(dir.path, 'data'),
          // Nothing is pushed, so nothing is sent: the endpoint is never reached.
          endpoints: [{ name: 'main', url: 'http://127.0.0.1:9/api/v1/write' }],
        }).replace('storage:\n', 'storage:\n  max_disk_bytes: 64MiB\n'),
    });
    const res = await httpRequest(`${daemon.url}/metrics`);
    assert.equal(res.status, 200);
    exposition = res.body.toString();
  });

  after(async () => {
    await daemon?.stop();
    dir.remove();
  });

  it('reads metric names out of PromQL (and not labels, functions, keywords or numbers)', () => {
    assert.deepEqual(
      [
        ...metricNames(
          'sum by (job, code) (rate(a_total{code=~"4..", x="b_c"}[$__rate_interval])) / on (job) group_left\n' +
            'sum without (le) (b_bucket offset 5m) > 1e-9 and time() - (c > 0) unless ignoring(x) d:rule',
        ),
      ].sort(),
      ['a_total', 'b_bucket', 'c', 'd:rule'],
    );
  });

  it('exposes promspool_queue_max_disk_bytes with the configured storage.max_disk_bytes', () => {
    assert.match(
      exposition,
      /^promspool_queue_max_disk_bytes\{remote_name="main",url="http:\/\/127\.0\.0\.1:9\/api\/v1\/write"\} 67108864$/m,
    );
  });

  it('uses in alerts.yml only metrics promspool exposes', () => {
    const exposed = exposedNames(exposition);
    const used = new Set(alertRules().flatMap((r) => [...metricNames(r.expr)]));
    assert.ok(used.size >= 8, `only ${[...used].join(', ')}`);
    const unknown = [...used].filter((n) => !exposed.has(n) && !NOT_FROM_PROMSPOOL.has(n));
    assert.deepEqual(unknown, [], `metrics in alerts.yml that promspool does not expose: ${unknown.join(', ')}`);
  });

  it('uses in the dashboard only metrics promspool exposes', () => {
    const exposed = exposedNames(exposition);
    const d = dashboard();
    const used = new Set([
      ...dashboardExpressions(d).flatMap(({ expr }) => [...metricNames(expr)]),
      ...variableMetrics(d),
    ]);
    assert.ok(used.size >= 20, `only ${[...used].join(', ')}`);
    const unknown = [...used].filter((n) => !exposed.has(n));
    assert.deepEqual(unknown, [], `metrics in the dashboard that promspool does not expose: ${unknown.join(', ')}`);
  });
});
