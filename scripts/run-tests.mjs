#!/usr/bin/env node
// Runs the compiled tests with node:test. Node 20's `node --test` does not expand globs,
// so the file list is built here. Usage: node scripts/run-tests.mjs [--unit|--integration] [filter...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');
const args = process.argv.slice(2);
const onlyUnit = args.includes('--unit');
const onlyIntegration = args.includes('--integration');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = walk(testRoot).sort();
if (onlyUnit) files = files.filter((f) => !f.includes('/integration/'));
if (onlyIntegration) files = files.filter((f) => f.includes('/integration/'));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
console.log(`run-tests: ${files.length} files`);
for (const f of files) console.log(`  ${relative(root, f)}`);
// Unit files run two at a time; integration files start real servers (Prometheus, VictoriaMetrics,
// the daemon) and run one at a time so they never fight for the 2 cores and time out.
function run(list, concurrency) {
  if (list.length === 0) return 0;
  const res = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...list],
    { stdio: 'inherit', cwd: root },
  );
  return res.status ?? 1;
}
const unit = files.filter((f) => !f.includes('/integration/'));
const integration = files.filter((f) => f.includes('/integration/'));
const unitStatus = run(unit, 2);
const integrationStatus = run(integration, 1);
process.exit(unitStatus || integrationStatus);
