#!/usr/bin/env node
// Runs every compiled benchmark (dist/bench/*.js) one after the other, or only those whose name
// contains one of the arguments: `npm run bench -- filequeue library`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'bench');
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f.replace(/\.js$/, '.ts')}`);
  const res = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], { stdio: 'inherit', cwd: root });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
