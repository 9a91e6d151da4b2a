/**
 * Scenario "scrape": each agent scrapes the same generated targets (bench/lib/scrape-target, own
 * process) every `--interval-s` and remote-writes 1.0 to a sink (own process, answers 204, counts
 * samples exactly). Agents: promspool's daemon with `scrape_configs`, vmagent (`-promscrape.config`)
 * and Prometheus in agent mode, one after the other, each with the same prometheus.yml scrape
 * config. Per agent: the agent's CPU seconds per million samples delivered and peak RSS (from
 * /proc/<pid>), and the ratios to vmagent's.
 *
 * CPU is measured between two moments in the same phase of the scrape cycle: when the sink has
 * counted the first scrape of every target, and when it has counted `--scrapes` more. Start-up
 * and the first scrape (every series new) are outside the window; peak RSS covers the whole life.
 *
 * Usage: node dist/bench/scrape.js [--targets=1] [--series=100000] [--names=5] [--interval-s=5]
 *   [--scrapes=12] [--agents=promspool,vmagent,prometheus] [--cpu-prof] [--no-append]
 * The issue's second shape: --targets=1000 --series=100.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonNodeFlags, freePort, vmagentPath, waitReady } from './lib/agents.js';
import { peakRssBytes, printTable, processCpuSeconds } from './lib/measure.js';
import { type BenchMetric, type BenchTarget, evaluateTargets, recordResult } from './lib/results.js';
import { scenarioArgs } from './lib/scenario-args.js';
import { type Sink, startSink } from './lib/sink-client.js';

const args = scenarioArgs({
  targets: 1,
  series: 100_000,
  names: 5,
  'interval-s': 5,
  scrapes: 12,
  agents: 'promspool,vmagent,prometheus',
  'cpu-prof': false,
  'no-append': false,
  'timeout-s': 300,
});

type ScraperKind = 'promspool' | 'vmagent' | 'prometheus';
const PROMETHEUS_PATHS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'];

function executable(paths: string[]): string | undefined {
  for (const p of paths) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

const agents = args.agents.split(',').map((s) => s.trim()) as ScraperKind[];
for (const a of agents) if (!['promspool', 'vmagent', 'prometheus'].includes(a)) throw new Error(`unknown agent ${a}`);
const runnable = agents.filter((a) => {
  const ok = a === 'promspool' || (a === 'vmagent' ? vmagentPath() : executable(PROMETHEUS_PATHS)) !== undefined;
  if (!ok) console.log(`${a} is not installed: left out`);
  return ok;
});

interface TargetProcess {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startTargets(): Promise<TargetProcess> {
  const child = fork(
    fileURLToPath(new URL('./lib/scrape-target.js', import.meta.url)),
    [String(args.targets), String(args.series), String(args.names)],
    { stdio: 'inherit' },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`scrape target exited with ${code}`)));
  });
  return {
    port,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ cmd: 'exit' });
      }),
  };
}

/** The `scrape_configs` every agent runs: one static group per target, `instance` = `t<i>`. */
function scrapeConfigsYaml(port: number): string {
  const lines = ['scrape_configs:', '  - job_name: bench', '    static_configs:'];
  for (let i = 0; i < args.targets; i++) {
    lines.push(
      `      - targets: ['127.0.0.1:${port}']`,
      `        labels: { __metrics_path__: '/metrics/${i}', instance: 't${i}' }`,
    );
  }
  return lines.join('\n');
}

function globalYaml(): string {
  const s = args['interval-s'];
  return `global: { scrape_interval: ${s}s, scrape_timeout: ${Math.min(s, 10)}s }`;
}

interface Running {
  child: ChildProcess;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

async function startScraper(kind: ScraperKind, dir: string, targetPort: number, sink: Sink): Promise<Running> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const scrape = scrapeConfigsYaml(targetPort);
  let child: ChildProcess;
  let ready: string;
  if (kind === 'promspool') {
    const config = join(dir, 'promspool.yaml');
    writeFileSync(
      config,
      [
        globalYaml(),
        `server: { listen_address: '127.0.0.1:${port}', shutdown_timeout: 5s }`,
        `storage: { path: '${join(dir, 'queue')}', fsync: interval }`,
        'self_monitoring: { enabled: false }',
        'remote_write:',
        `  - { name: sink, url: '${sink.url}', metadata_config: { send: false } }`,
        scrape,
        '',
      ].join('\n'),
    );
    const prof = args['cpu-prof'] ? [`--cpu-prof-dir=${join(tmpdir(), 'promspool-bench-profiles')}`, '--cpu-prof'] : [];
    child = spawn(
      process.execPath,
      [
        ...daemonNodeFlags(),
        ...prof,
        fileURLToPath(new URL('../../bin/promspool.js', import.meta.url)),
        '--config',
        config,
        '--log.level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    ready = `${base}/-/ready`;
  } else {
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        globalYaml(),
        scrape,
        'remote_write:',
        `  - url: '${sink.url}'`,
        '    metadata_config: { send: false }',
        '',
      ].join('\n'),
    );
    if (kind === 'vmagent') {
      child = spawn(
        vmagentPath() as string,
        [
          `-promscrape.config=${config}`,
          // remote_write lives in the flags for vmagent; it refuses unknown keys otherwise.
          '-promscrape.config.strictParse=false',
          `-httpListenAddr=127.0.0.1:${port}`,
          `-remoteWrite.url=${sink.url}`,
          `-remoteWrite.tmpDataPath=${join(dir, 'vmagent')}`,
          '-loggerLevel=ERROR',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      ready = `${base}/health`;
    } else {
      child = spawn(
        executable(PROMETHEUS_PATHS) as string,
        [
          `--config.file=${config}`,
          '--enable-feature=agent',
          `--storage.agent.path=${join(dir, 'agent')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=error',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      ready = `${base}/-/ready`;
    }
  }
  await waitReady(child, ready, 120_000);
  return { child, stop: stopper(child) };
}

/** Waits until the sink counted at least `samples`; rejects at `deadline` (epoch ms). */
async function sinkAtLeast(sink: Sink, samples: number, deadline: number, what: string): Promise<number> {
  for (;;) {
    const n = (await sink.stats()).samples;
    if (n >= samples) return n;
    if (Date.now() > deadline) throw new Error(`${what}: the sink counted ${n} of ${samples} samples in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface ScrapeRun {
  agent: ScraperKind;
  samples: number;
  seconds: number;
  cpu: number;
  peakRss: number;
}

const perScrape = args.targets * args.series;
const runs: ScrapeRun[] = [];
const root = mkdtempSync(join(tmpdir(), 'promspool-bench-scrape-'));
try {
  const target = await startTargets();
  try {
    for (const kind of runnable) {
      const dir = join(root, kind);
      mkdirSync(dir, { recursive: true });
      const sink = await startSink(0, { counting: 'structure' });
      const agent = await startScraper(kind, dir, target.port, sink);
      const pid = agent.child.pid as number;
      try {
        const deadline = Date.now() + args['timeout-s'] * 1000;
        const first = await sinkAtLeast(sink, perScrape, deadline, `${kind} first scrape`);
        const cpu0 = processCpuSeconds(pid);
        const t0 = performance.now();
        const last = await sinkAtLeast(sink, first + args.scrapes * perScrape, deadline, `${kind} scrapes`);
        const cpu1 = processCpuSeconds(pid);
        runs.push({
          agent: kind,
          samples: last - first,
          seconds: (performance.now() - t0) / 1000,
          cpu: cpu1 - cpu0,
          peakRss: peakRssBytes(pid),
        });
      } finally {
        await agent.stop();
        await sink.stop();
      }
    }
  } finally {
    await target.stop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const perM = (r: ScrapeRun) => (r.cpu / r.samples) * 1e6;
const vm = runs.find((r) => r.agent === 'vmagent');
const rows = runs.map((r) => ({
  agent: r.agent,
  samples: r.samples,
  seconds: Number(r.seconds.toFixed(1)),
  'agent CPU s / 1M': perM(r),
  'peak RSS MB': Math.round(r.peakRss / 2 ** 20),
  'CPU vs vmagent': vm ? `${(perM(r) / perM(vm)).toFixed(2)}x` : '-',
}));
printTable(rows);

const METRICS: BenchMetric[] = [
  { key: 'samples', label: 'samples measured', better: 'higher', digits: 0 },
  { key: 'cpuPerM', label: 'agent CPU s / 1M', better: 'lower', digits: 3 },
  { key: 'peakRssMB', label: 'peak RSS MB', unit: 'MB', better: 'lower', digits: 0 },
];
const agentFigures = runs.map((r) => ({
  name: r.agent,
  figures: { samples: r.samples, cpuPerM: perM(r), peakRssMB: r.peakRss / 2 ** 20 },
}));
const targets: BenchTarget[] = [
  {
    description: 'CPU/M <= 0.6x vmagent',
    agent: 'promspool',
    metric: 'cpuPerM',
    comparator: '<=',
    threshold: 0.6,
    relativeTo: 'vmagent',
  },
  { description: 'peak RSS <= 250 MB', agent: 'promspool', metric: 'peakRssMB', comparator: '<=', threshold: 250 },
];
const evaluated = evaluateTargets(agentFigures, targets);
const verdicts = evaluated.map(
  (t) =>
    `${t.description}: ${t.met ? 'met' : 'NOT met'} (${t.relativeTo === undefined ? `${Math.round(t.measured)} MB` : `${t.measured.toFixed(2)}x`})`,
);
for (const v of verdicts) console.log(`target ${v}`);
const shape = `${args.targets.toLocaleString('en-US')} target(s) x ${args.series.toLocaleString('en-US')} series`;
if (!args['no-append']) {
  recordResult({
    scenario: args.targets === 1 && args.series === 100_000 ? 'scrape' : `scrape-${args.targets}x${args.series}`,
    title: `scrape, ${shape}, every ${args['interval-s']} s`,
    subject: 'promspool',
    ...(vm ? { peer: 'vmagent' } : {}),
    keyMetric: 'cpuPerM',
    metrics: METRICS,
    agents: agentFigures,
    targets,
    notes: [
      `Workload: ${shape} (${args.names} metric families, 6 labels per series, text format 0.0.4, gzip level 1), scraped every ${args['interval-s']} s by each agent in turn, remote write 1.0 to a 204 sink counting samples by structure.`,
      `CPU window: from the sink counting the first scrape of every target until it counted ${args.scrapes} more scrapes' samples (start-up and the first scrape excluded); peak RSS is VmHWM over the whole life. Agents use their default queue settings; promspool fsync interval.`,
      ...verdicts.map((v) => `Target ${v}.`),
    ],
  });
}
