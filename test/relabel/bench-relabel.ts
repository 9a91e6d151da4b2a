/**
 * Measures the relabel regex engines and the engine (not a test: run by hand,
 * `node dist/test/relabel/bench-relabel.js`). Prints ns per call, medians of 5 runs.
 */
import { compileRelabeling } from '../../src/relabel/engine.js';
import { compileRelabelRegex, execOnRe2 } from '../../src/relabel/regex.js';
import { readRules } from './helpers.js';

function nsPerCall(f: (i: number) => unknown, n: number): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    runs.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return runs.sort((a, b) => a - b)[2];
}

const patterns: [string, string[]][] = [
  ['(.*)_total', ['http_requests_total', 'node_cpu_seconds_count']],
  ['foo_(.+)', ['foo_bar_baz_qux', 'bar_foo']],
  ['(.+?)(\\:\\d+)?;(\\d+)', ['10.0.0.1:8080;9090', 'host-name;80']],
  ['go_.*|process_.*', ['go_gc_duration_seconds', 'node_load1']],
];
for (const [pattern, inputs] of patterns) {
  const re = compileRelabelRegex(pattern);
  const n = 200_000;
  const jsTest = nsPerCall((i) => re.test(inputs[i & 1]), n);
  const jsExec = nsPerCall((i) => re.exec(inputs[i & 1]), n);
  const re2Exec = nsPerCall((i) => execOnRe2(re, inputs[i & 1]), n / 10);
  const re2Test = compileRelabelRegex(`(?i:)${pattern}`); // forces RE2 (flags are outside the subset)
  const re2TestNs = nsPerCall((i) => re2Test.test(inputs[i & 1]), n / 10);
  console.log(
    `${pattern.padEnd(24)} engine=${re.engine} js test ${jsTest.toFixed(0)} ns, exec ${jsExec.toFixed(0)} ns; ` +
      `re2 test ${re2TestNs.toFixed(0)} ns, exec ${re2Exec.toFixed(0)} ns`,
  );
}

// Worst case the budget allows: adversarial input at the longest length the JS engine takes.
for (const pattern of ['(.*)_(.*)x', '(.*)_(.*)_(.*)x', '.*a.*b.*c.*d']) {
  const re = compileRelabelRegex(pattern);
  const input = '_'.repeat(re.jsMaxInput);
  const ns = nsPerCall(() => re.test(input), 3);
  const re2 = nsPerCall(() => execOnRe2(re, input), 3);
  console.log(
    `worst case ${pattern}: jsMaxInput ${re.jsMaxInput}, js ${(ns / 1e6).toFixed(2)} ms, re2 ${(re2 / 1e6).toFixed(3)} ms`,
  );
}

// process(): the three typical rules, on 10-label series, 10% dropped.
const relabeler = compileRelabeling(
  readRules([
    { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' },
    { regex: 'pod_template_hash', action: 'labeldrop' },
    { target_label: 'cluster', replacement: 'eu-1' },
  ]),
  'utf8',
);
const series: string[][] = [];
for (let i = 0; i < 1000; i++) {
  const labels = [
    '__name__',
    i % 10 === 0 ? `go_metric_${i}` : `http_requests_${i}_total`,
    'container',
    'app',
    'instance',
    `10.0.${i & 255}.1:9100`,
    'job',
    'kubernetes-pods',
    'namespace',
    'default',
    'node',
    'node-1',
    'pod',
    `app-${i}`,
    'pod_template_hash',
    '5d8f7',
    'service',
    'app',
    'zone',
    'a',
  ];
  series.push(labels);
}
const processNs = nsPerCall((i) => relabeler.process(series[i % 1000]), 200_000);
console.log(
  `process, 3 rules (drop by __name__ regex, labeldrop, replace adding a label), 10 labels: ${processNs.toFixed(0)} ns`,
);
