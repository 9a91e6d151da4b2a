import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

// dist/test/daemon/launcher.test.js -> repository root
const ROOT = new URL('../../../', import.meta.url).pathname;
const LAUNCHER = join(ROOT, 'bin', 'promspool');
const FLAGS = ['--max-semi-space-size=8', '--initial-old-space-size=128'];

describe('bin/promspool (the launcher npm start and the installed binary run)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-launcher-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Preloaded through NODE_OPTIONS: reports what the node process it lands in was started with.
  const probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    "process.stderr.write('PROBE ' + JSON.stringify({ pid: process.pid, execArgv: process.execArgv }) + '\\n');\n",
  );

  function run(
    path: string,
    args: string[],
  ): Promise<{ code: number | null; pid: number; stdout: string; stderr: string }> {
    const child = spawn('sh', [path, ...args], {
      env: { ...process.env, NODE_OPTIONS: `--require=${probe}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve) =>
      child.on('close', (code) => resolve({ code, pid: child.pid ?? -1, stdout, stderr })),
    );
  }

  function probed(stderr: string): { pid: number; execArgv: string[] } {
    const line = stderr.split('\n').find((l) => l.startsWith('PROBE '));
    assert.ok(line, `the probe did not run; stderr: ${stderr}`);
    return JSON.parse(line.slice(6));
  }

  test('execs node with the heap flags in its own pid, passing the arguments through', async () => {
    const r = await run(LAUNCHER, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^promspool \d+\.\d+\.\d+ \(node v/);
    const p = probed(r.stderr);
    assert.deepEqual(p.execArgv, FLAGS);
    assert.equal(p.pid, r.pid, 'exec: the daemon is the process that was started, not a child of it');
  });

  test('works through a symlink, as npm links installed binaries', async () => {
    const link = join(dir, 'promspool');
    symlinkSync(LAUNCHER, link);
    const r = await run(link, ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage:/);
    assert.deepEqual(probed(r.stderr).execArgv, FLAGS);
  });

  test('package.json runs it for npm start and as the promspool binary', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.scripts.start, 'sh bin/promspool');
    assert.equal(pkg.bin.promspool, './bin/promspool');
  });

  test('the systemd unit runs node with the same flags', () => {
    const unit = readFileSync(join(ROOT, 'docs', 'promspool.service'), 'utf8');
    const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='));
    assert.equal(
      exec
        ?.split(' ')
        .slice(1, 1 + FLAGS.length)
        .join(' '),
      FLAGS.join(' '),
    );
  });
});
