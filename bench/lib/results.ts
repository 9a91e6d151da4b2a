/**
 * Records a benchmark run as one JSON file under bench/results/<scenario>/ with what is needed to
 * compare runs: commit, date, machine, load average, Node version, the exact command, and the
 * figures as numbers with the targets they were held against. `npm run bench:results`
 * (scripts/generate-bench-results.mjs) turns the records into bench/RESULTS.md; nothing writes
 * that page by hand or appends to it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/lib). */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** bench/results in the source tree: one directory per scenario, one JSON file per run. */
export const RECORDS_DIR = join(ROOT, 'bench', 'results');

/** The 1, 5 and 15 minute load averages, e.g. `2.10 1.85 1.20`. */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** The CPU model as /proc/cpuinfo names it (os.cpus() can be terser). */
function cpuModel(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!.trim();
  } catch {}
  return model;
}

/** The machine a record was measured on. */
export interface BenchMachine {
  /** CPU model, e.g. `AMD EPYC`. */
  cpu: string;
  /** Logical CPUs (nproc). */
  cores: number;
  /** Total memory in GiB, one decimal. */
  memoryGiB: number;
}

/** This machine's CPU model, core count and memory. */
export function machine(): BenchMachine {
  return { cpu: cpuModel(), cores: cpus().length, memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)) };
}

/** Short hash of HEAD, with `+dirty` when the working tree has changes; `unknown` outside git. */
export function gitCommit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${hash}+dirty` : hash;
  } catch {
    return 'unknown';
  }
}

/**
 * The command that ran this process, as typed from the repository root, with the `BENCH_*`
 * variables that change what is measured (`BENCH_SCALE=0.25 node ...`): without them it would not
 * reproduce the run.
 */
export function commandLine(): string {
  const script = process.argv[1] ?? '';
  const rel = script.slice(script.indexOf('dist/'));
  const env = Object.entries(process.env)
    .filter(([k, v]) => k.startsWith('BENCH_') && k !== 'BENCH_NO_RECORD' && v !== undefined && v !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'node', ...process.execArgv, rel, ...process.argv.slice(2)].join(' ');
}

/** One figure a scenario reports per agent. */
export interface BenchMetric {
  /** Key in each agent's `figures`, e.g. `cpuPerM`. */
  key: string;
  /** Column heading, e.g. `agent CPU s / 1M`. */
  label: string;
  /** Unit printed after the value in targets (`MB`, `ms`), if any. */
  unit?: string;
  /** Which way is an improvement (the history marks changes better or worse). */
  better: 'higher' | 'lower';
  /** Decimal places shown; 0 prints the value rounded with thousands separators. */
  digits: number;
}

/** A target, before it is evaluated: `agent.metric <comparator> threshold`, or the agent's figure over `relativeTo`'s. */
export interface BenchTarget {
  /** As people say it, e.g. `peak RSS < 250 MB`, `CPU/M <= 1.5x vmagent`. */
  description: string;
  agent: string;
  metric: string;
  comparator: '<' | '<=' | '>' | '>=';
  threshold: number;
  /** The peer agent: the target is then on the ratio agent / peer. */
  relativeTo?: string;
}

/** A target with the figure it was held against and the verdict. */
export interface EvaluatedTarget extends BenchTarget {
  measured: number;
  met: boolean;
}

/** One agent's figures in a run (medians when the run had rounds). */
export interface AgentFigures {
  name: string;
  figures: Record<string, number | null>;
}

/** The JSON record of one benchmark run (bench/results/<scenario>/<date>-<commit>.json). */
export interface BenchRecord {
  schema: 1;
  /** Directory name and key on the results page, e.g. `relay`, `relay-cold`, `relay-relabel`. */
  scenario: string;
  /** Heading on the results page, e.g. `relay (write relabel: 3 rules)`. */
  title: string;
  /** ISO 8601, seconds, UTC. */
  date: string;
  /** Short hash, `+dirty` when the tree had uncommitted changes. */
  commit: string;
  /** Set on records converted from the old hand-written bench/RESULTS.md: where the figures came from. */
  imported?: string;
  machine: BenchMachine;
  /** 1, 5 and 15 minute load averages at the end of the run. */
  loadAverage: number[];
  /** `process.version`. */
  node: string;
  /** The command that reproduces the run, from the repository root after `npm run build`. */
  command: string;
  /** The agent whose figures are tracked (promspool). */
  subject: string;
  /** The agent it is compared with (vmagent), when the run had one. */
  peer?: string;
  /** The metric the history follows per commit. */
  keyMetric: string;
  metrics: BenchMetric[];
  agents: AgentFigures[];
  targets: EvaluatedTarget[];
  /** What the figures mean and how they were taken, one sentence or paragraph each (Markdown). */
  notes: string[];
}

/** What a scenario supplies; the rest of the record is filled in by {@link recordResult}. */
export type BenchResultInput = Omit<
  BenchRecord,
  'schema' | 'date' | 'commit' | 'machine' | 'loadAverage' | 'node' | 'command' | 'targets'
> & { targets: BenchTarget[] };

/**
 * Holds each target against the agents' figures. Targets whose agent, peer or figure is missing
 * (the peer was not run) are left out rather than reported as missed.
 */
export function evaluateTargets(agents: AgentFigures[], targets: BenchTarget[]): EvaluatedTarget[] {
  const figure = (agent: string, metric: string) => agents.find((a) => a.name === agent)?.figures[metric] ?? null;
  const out: EvaluatedTarget[] = [];
  for (const t of targets) {
    const own = figure(t.agent, t.metric);
    const peer = t.relativeTo === undefined ? 1 : figure(t.relativeTo, t.metric);
    if (own === null || peer === null || !Number.isFinite(own) || !Number.isFinite(peer) || peer === 0) continue;
    const measured = own / peer;
    const met =
      t.comparator === '<'
        ? measured < t.threshold
        : t.comparator === '<='
          ? measured <= t.threshold
          : t.comparator === '>'
            ? measured > t.threshold
            : measured >= t.threshold;
    out.push({ ...t, measured, met });
  }
  return out;
}

/** `2026-12-07T13:18:25Z` -> `2026-12-07T131825Z`; `0af9d3d+dirty` -> `0af9d3d-dirty`: portable file names. */
export function recordFileName(date: string, commit: string): string {
  return `${date.replaceAll(':', '')}-${commit.replace(/[^0-9A-Za-z]+/g, '-')}.json`;
}

/**
 * Writes this run's record to bench/results/<scenario>/ (commit, date, machine, load, Node,
 * command filled in here, targets evaluated) and prints where. Returns the record. With
 * `BENCH_NO_RECORD=1` in the environment (exploratory or alternated runs) nothing is written.
 */
export function recordResult(input: BenchResultInput, dir: string = RECORDS_DIR): BenchRecord {
  // NaN and Infinity do not survive JSON; a figure that could not be taken is null.
  const agents = input.agents.map((a) => ({
    name: a.name,
    figures: Object.fromEntries(
      Object.entries(a.figures).map(([k, v]) => [k, v !== null && Number.isFinite(v) ? v : null]),
    ),
  }));
  // A scaled run (BENCH_SCALE) is not comparable with full-size runs: it gets its own scenario.
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  const scaled = Number.isFinite(scale) && scale !== 1;
  const record: BenchRecord = {
    schema: 1,
    scenario: scaled ? `${input.scenario}-scale${scale}` : input.scenario,
    title: scaled ? `${input.title}, BENCH_SCALE=${scale}` : input.title,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: gitCommit(),
    machine: machine(),
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    command: commandLine(),
    subject: input.subject,
    ...(input.peer === undefined ? {} : { peer: input.peer }),
    keyMetric: input.keyMetric,
    metrics: input.metrics,
    agents,
    targets: evaluateTargets(agents, input.targets),
    notes: input.notes,
  };
  if (process.env.BENCH_NO_RECORD) return record;
  const scenarioDir = join(dir, record.scenario);
  mkdirSync(scenarioDir, { recursive: true });
  const path = join(scenarioDir, recordFileName(record.date, record.commit));
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`recorded ${relative(ROOT, path)}; \`npm run bench:results\` regenerates bench/RESULTS.md`);
  return record;
}
