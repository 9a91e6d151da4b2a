/**
 * Appends a benchmark's results to bench/RESULTS.md as a dated section with what is needed to
 * compare runs: machine, Node version, commit, command, load average. Never rewrites the file:
 * several benchmarks (and engineers) add their own sections to it.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/** bench/RESULTS.md in the source tree (this file runs from dist/bench/lib). */
export const RESULTS_PATH = fileURLToPath(new URL('../../../bench/RESULTS.md', import.meta.url));

/** The 1, 5 and 15 minute load averages, e.g. `2.10 1.85 1.20`. */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** `nproc N, <CPU model>, <RAM> GiB RAM`. */
export function machineDescription(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!.trim();
  } catch {}
  return `nproc ${cpus().length}, ${model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
}

/** Short hash of HEAD, with `+dirty` when the working tree has changes; `unknown` outside git. */
export function gitCommit(): string {
  const cwd = fileURLToPath(new URL('../../..', import.meta.url));
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
    return dirty.trim() ? `${hash}+dirty` : hash;
  } catch {
    return 'unknown';
  }
}

/** The command that ran this process, as typed from the repository root. */
export function commandLine(): string {
  const script = process.argv[1] ?? '';
  const rel = script.slice(script.indexOf('dist/'));
  return ['node', ...process.execArgv, rel, ...process.argv.slice(2)].join(' ');
}

/**
 * Appends `## <scenario> (<date>)` with machine, Node, commit and command, then `tableText` and
 * `notes` (Markdown), to bench/RESULTS.md. Returns the section written.
 */
export function appendResults(scenario: string, tableText: string, notes: string): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const section = [
    '',
    `## ${scenario} (${date})`,
    '',
    `- machine: ${machineDescription()}`,
    `- Node ${process.version}, commit ${gitCommit()}`,
    `- command: \`${commandLine()}\``,
    `- load average at the end: ${loadAverage()}`,
    '',
    tableText,
    '',
    notes.trim(),
    '',
  ].join('\n');
  if (!existsSync(RESULTS_PATH)) appendFileSync(RESULTS_PATH, '# promspool benchmark results\n');
  appendFileSync(RESULTS_PATH, section);
  return section;
}
