/**
 * Scenario "backlog": the sink is down while the load generator pushes `--samples` into the agent,
 * then the sink comes up. Reports the agent's RSS when 1M, 10M and 20M samples are backlogged
 * (target: flat, RSS at 20M within 15% of RSS at 1M), the backlog's size on disk, and the drain
 * rate once the sink is up (target >= 1M samples/s), measured from the first sample the sink
 * counted (the retry backoff before it is reported separately).
 *
 * Usage: node dist/bench/backlog.js [--samples=20000000] [--series=100000] [--labels=10]
 *   [--per-request=2000] [--connections=4] [--shards=4] [--agents=promspool] [--ingest-budget-s=240]
 *   [--drain-timeout-s=300] [--no-append] [--show-metrics]        (BENCH_SCALE=0.1 scales --samples)
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentKind, freePort, startAgent } from './lib/agents.js';
import { type LoadgenOptions, type LoadgenResult, startLoadgen } from './lib/loadgen.js';
import { peakRssBytes, printTable, processCpuSeconds, rssBytes } from './lib/measure.js';
import { type BenchMetric, type BenchTarget, evaluateTargets, loadAverage, recordResult } from './lib/results.js';
import { agentList, benchScale, scenarioArgs } from './lib/scenario-args.js';
import { startSink } from './lib/sink-client.js';

const args = scenarioArgs({
  samples: 20_000_000,
  series: 100_000,
  labels: 10,
  'per-request': 2000,
  connections: 4,
  shards: 4,
  agents: 'promspool',
  'ingest-budget-s': 240,
  'drain-timeout-s': 300,
  'no-append': false,
  'show-metrics': false,
});
const totalSamples = Math.round(args.samples * benchScale());
const MB = 2 ** 20;
/** Backlog sizes at which RSS is read: 1/20, 1/2 and all of the run (1M, 10M, 20M by default). */
const milestones = [totalSamples / 20, totalSamples / 2, totalSamples].map((m) => Math.round(m));

interface BacklogRun {
  agent: AgentKind;
  backlog: number;
  rssAt: Map<number, number>;
  ingestSeconds: number;
  diskBytes: number;
  firstDeliverySeconds: number;
  drainSeconds: number;
  delivered: number;
  drainPeakRss: number;
  drainCpu: number;
  peakRss: number;
  budgetHit: boolean;
  loadIngest: string;
  loadDrain: string;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

async function runOnce(kind: AgentKind): Promise<BacklogRun> {
  const sinkPort = await freePort();
  const sinkUrl = `http://127.0.0.1:${sinkPort}/api/v1/write`;
  const dir = mkdtempSync(join(tmpdir(), `promspool-bench-backlog-${kind}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const agent = await startAgent(kind, {
    sinkUrl,
    dataDir,
    shards: args.shards,
    samplesPerSend: args['per-request'],
    maxBackoff: '1s',
    // PROMSPOOL_BENCH_NODE_FLAGS: extra node flags for promspool (e.g. `--cpu-prof --cpu-prof-dir=...`).
    nodeFlags: (process.env.PROMSPOOL_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  });
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  try {
    const lgOpts: LoadgenOptions = {
      url: agent.writeUrl,
      series: args.series,
      labelsPerSeries: args.labels,
      seriesPerRequest: args['per-request'],
      connections: args.connections,
      totalSamples,
      milestones,
    };
    const lg = await startLoadgen(lgOpts);
    const rssAt = new Map<number, number>();
    lg.onMilestone((acked) => {
      const m = milestones.find((x) => acked >= x && !rssAt.has(x));
      if (m !== undefined) rssAt.set(m, rssBytes(agent.pid));
    });
    let budgetHit = false;
    const budget = setTimeout(() => {
      budgetHit = true;
      lg.stop();
    }, args['ingest-budget-s'] * 1000);
    const ingest: LoadgenResult = await lg.go();
    clearTimeout(budget);
    lg.kill();
    if (budgetHit) {
      console.log(`backlog: ${kind} ingest stopped by --ingest-budget-s at ${ingest.acked} samples`);
      rssAt.set(ingest.acked, rssBytes(agent.pid));
    }
    const loadIngest = loadAverage();
    // Let the agent seal and flush what it holds before the sink appears.
    await new Promise((r) => setTimeout(r, 2000));
    const diskBytes = dirBytes(dataDir);

    const cpu0 = processCpuSeconds(agent.pid);
    sink = await startSink(sinkPort, { counting: 'structure' });
    const tUp = performance.now();
    let tFirst = 0;
    let delivered = 0;
    let drainPeakRss = 0;
    const deadline = Date.now() + args['drain-timeout-s'] * 1000;
    while (delivered < ingest.acked && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      delivered = (await sink.stats()).samples;
      if (delivered > 0 && tFirst === 0) tFirst = performance.now();
      drainPeakRss = Math.max(drainPeakRss, rssBytes(agent.pid));
    }
    const tEnd = performance.now();
    const drainCpu = processCpuSeconds(agent.pid) - cpu0;
    const stalled = delivered < ingest.acked;
    if (stalled || args['show-metrics']) {
      // A stalled drain is a finding in itself: show what the agent says about its queue.
      const text = await fetch(`${agent.baseUrl}/metrics`).then(
        (r) => r.text(),
        (e: unknown) => String(e),
      );
      const wanted = /^(promspool_(remote_storage|queue|records|mailbox)|prometheus_remote_storage)/;
      console.log(
        stalled
          ? `backlog: drain stalled at ${delivered} of ${ingest.acked}; the agent's queue metrics:`
          : `backlog: ${kind}'s queue metrics after the drain:`,
      );
      for (const line of text.split('\n')) if (wanted.test(line) && !line.endsWith(' 0')) console.log(`  ${line}`);
    }
    if (stalled) {
      const status = await fetch(`${agent.baseUrl}/`, { headers: { accept: 'application/json' } }).then(
        (r) => r.text(),
        (e: unknown) => String(e),
      );
      console.log(`backlog: the agent's status page:\n${status.slice(0, 4000)}`);
    }
    return {
      agent: kind,
      backlog: ingest.acked,
      rssAt,
      ingestSeconds: ingest.elapsedMs / 1000,
      diskBytes,
      firstDeliverySeconds: tFirst ? (tFirst - tUp) / 1000 : Number.NaN,
      drainSeconds: tFirst ? (tEnd - tFirst) / 1000 : Number.NaN,
      delivered,
      drainPeakRss,
      drainCpu,
      peakRss: peakRssBytes(agent.pid),
      budgetHit,
      loadIngest,
      loadDrain: loadAverage(),
    };
  } finally {
    await agent.stop();
    await sink?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs: BacklogRun[] = [];
for (const kind of agentList(args.agents)) {
  console.log(`backlog: ${kind}, ${totalSamples.toLocaleString('en-US')} samples with the sink down ...`);
  runs.push(await runOnce(kind));
}

const fmtM = (n: number) => `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 1)}M`;
const rssColumns = (r: BacklogRun) => {
  const out: Record<string, string | number> = {};
  const points = [...r.rssAt.entries()].sort((a, b) => a[0] - b[0]);
  milestones.forEach((m, i) => {
    const hit = points.find(([k]) => k === m) ?? (i === milestones.length - 1 ? points.at(-1) : undefined);
    out[`RSS MB @${fmtM(m)}`] = hit ? `${Math.round(hit[1] / MB)}${hit[0] !== m ? ` (@${fmtM(hit[0])})` : ''}` : '-';
  });
  return out;
};
const flatness = (r: BacklogRun) => {
  const first = r.rssAt.get(milestones[0]!);
  const last = [...r.rssAt.entries()].sort((a, b) => a[0] - b[0]).at(-1)?.[1];
  return first && last ? last / first : Number.NaN;
};
const rows = runs.map((r) => ({
  agent: r.agent,
  backlog: r.backlog,
  'ingest samples/s': Math.round(r.backlog / r.ingestSeconds),
  ...rssColumns(r),
  'RSS last/first': flatness(r),
  'disk MB': Math.round(r.diskBytes / MB),
  'first delivery s': r.firstDeliverySeconds,
  'drain samples/s': Math.round(r.delivered / r.drainSeconds),
  'drain CPU s / 1M': (r.drainCpu / r.delivered) * 1e6,
  'drain peak RSS MB': Math.round(r.drainPeakRss / MB),
  'peak RSS MB': Math.round(r.peakRss / MB),
  'load avg ingest / drain': `${r.loadIngest} / ${r.loadDrain}`,
}));
printTable(rows);

/** The figures a backlog record holds per agent. */
const BACKLOG_METRICS: BenchMetric[] = [
  { key: 'backlog', label: 'backlog samples', better: 'higher', digits: 0 },
  { key: 'ingest', label: 'ingest samples/s', better: 'higher', digits: 0 },
  { key: 'rssFirstMB', label: `RSS MB @${fmtM(milestones[0]!)}`, unit: 'MB', better: 'lower', digits: 0 },
  { key: 'rssLastMB', label: 'RSS MB @last backlog point', unit: 'MB', better: 'lower', digits: 0 },
  { key: 'rssFlatness', label: 'RSS last/first', unit: 'x', better: 'lower', digits: 2 },
  { key: 'diskMB', label: 'disk MB', unit: 'MB', better: 'lower', digits: 0 },
  { key: 'firstDeliveryS', label: 'first delivery s', unit: 's', better: 'lower', digits: 3 },
  { key: 'drain', label: 'drain samples/s', better: 'higher', digits: 0 },
  { key: 'drainCpuPerM', label: 'drain CPU s / 1M', better: 'lower', digits: 3 },
  { key: 'peakRssMB', label: 'peak RSS MB', unit: 'MB', better: 'lower', digits: 0 },
];
const agentFigures = runs.map((r) => {
  const points = [...r.rssAt.entries()].sort((a, b) => a[0] - b[0]);
  return {
    name: r.agent,
    figures: {
      backlog: r.backlog,
      ingest: r.backlog / r.ingestSeconds,
      rssFirstMB: (r.rssAt.get(milestones[0]!) ?? Number.NaN) / MB,
      rssLastMB: (points.at(-1)?.[1] ?? Number.NaN) / MB,
      rssFlatness: flatness(r),
      diskMB: r.diskBytes / MB,
      firstDeliveryS: r.firstDeliverySeconds,
      drain: r.delivered / r.drainSeconds,
      drainCpuPerM: (r.drainCpu / r.delivered) * 1e6,
      peakRssMB: r.peakRss / MB,
    },
  };
});
const targets: BenchTarget[] = [
  {
    description: 'RSS flat: last backlog point within 15% of the first',
    agent: 'promspool',
    metric: 'rssFlatness',
    comparator: '<=',
    threshold: 1.15,
  },
  { description: 'drain >= 1M samples/s', agent: 'promspool', metric: 'drain', comparator: '>=', threshold: 1e6 },
];
const verdicts: string[] = [];
const ps = runs.find((r) => r.agent === 'promspool');
if (ps) {
  const [flat, drain] = evaluateTargets(agentFigures, targets);
  const first = ps.rssAt.get(milestones[0]!) ?? Number.NaN;
  const worst = Math.max(...ps.rssAt.values()) / first;
  if (flat)
    verdicts.push(
      `${flat.description}: ${flat.met ? 'met' : 'NOT met'} (${flat.measured.toFixed(2)}x; highest point ${worst.toFixed(2)}x the first${ps.budgetHit ? `, backlog reached ${fmtM(ps.backlog)} only` : ''})`,
    );
  if (drain)
    verdicts.push(
      `${drain.description}: ${drain.met ? 'met' : 'NOT met'} (${Math.round(drain.measured).toLocaleString('en-US')}/s)`,
    );
}
for (const v of verdicts) console.log(`target ${v}`);
const incomplete = runs.filter((r) => r.delivered < r.backlog);
for (const r of incomplete) console.error(`backlog: ${r.agent} delivered ${r.delivered} of ${r.backlog}`);

const notes = [
  `Workload: ${args.series.toLocaleString('en-US')} series x ${args.labels} labels, ${args['per-request']} per request, ${args.connections} connections, pushed while the sink's port is closed; the sink (structure counting) starts 2 s after the last push.`,
  'RSS @N: VmRSS of the agent when the generator had N samples acknowledged. first delivery s: sink up -> first sample counted (retry backoff, promspool max_backoff 1s). drain samples/s: from the first to the last sample counted.',
  ...runs
    .filter((r) => r.budgetHit)
    .map(
      (r) =>
        `${r.agent}: ingest stopped by --ingest-budget-s=${args['ingest-budget-s']} at ${fmtM(r.backlog)} samples.`,
    ),
  ...verdicts.map((v) => `Target ${v}.`),
].join('\n');
if (!args['no-append']) {
  recordResult({
    scenario: 'backlog',
    title: 'backlog',
    subject: 'promspool',
    ...(runs.some((r) => r.agent === 'vmagent') ? { peer: 'vmagent' } : {}),
    keyMetric: 'drain',
    metrics: BACKLOG_METRICS,
    agents: agentFigures,
    targets,
    notes: notes.split('\n'),
  });
}
if (incomplete.length > 0) process.exitCode = 1;
