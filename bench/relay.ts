/**
 * Scenario "relay": a load generator (own process) pushes remote-write 1.0 into the agent, which
 * forwards to a sink (own process, answers 204, counts samples exactly). Runs promspool and, when
 * installed, vmagent on the identical workload one after the other. Per agent: samples/s end to
 * end (first request sent -> last sample counted by the sink), the agent's CPU seconds per million
 * samples and peak RSS (from /proc/<pid>), and promspool/vmagent ratios.
 *
 * Usage: node dist/bench/relay.js [--samples=10000000] [--series=100000] [--labels=10]
 *   [--per-request=2000] [--connections=4] [--shards=4] [--agents=promspool,vmagent]
 *   [--cpu-prof] (promspool profile under $TMPDIR/promspool-bench-profiles) [--no-append]
 *   [--rounds=1] (runs the agents in turn that many times; the verdicts use each agent's medians)
 *   [--warmup-samples=2000000] (relayed and delivered before measuring; 0 = measure from cold)
 *   [--relabel] (both agents apply BENCH_RELABEL_RULES: 10% of series dropped, a labeldrop, a label
 *   added; CPU per million is then per sample received)
 *   [--relabel-rules=plan] (`cache`: the same outcome with the added label by a replace with
 *   source_labels, BENCH_RELABEL_RULES_CACHED, which the relay decides through its outcome cache)
 *   [--protobuf-message=prometheus.WriteRequest] (promspool's outgoing protocol; with
 *   io.prometheus.write.v2.Request the sink answers as a 2.0 receiver and the scenario is `relay-rw2...`)
 *   [--external-labels] (both agents add BENCH_EXTERNAL_LABELS, one `cluster` label: promspool
 *   `global.external_labels`, vmagent `-remoteWrite.label`; scenario `relay...-ext`)
 *   [--in-process] (promspool's daemon runs in this process, without bin/promspool's node flags:
 *   its CPU and RSS include the benchmark's own polling; prints its relay route's ways)        (BENCH_SCALE=0.1 scales --samples for a quick run)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Agent,
  type AgentKind,
  BENCH_EXTERNAL_LABELS,
  BENCH_RELABEL_RULES,
  BENCH_RELABEL_RULES_CACHED,
  keptByBenchRelabel,
  type RelayWays,
  startAgent,
  startPromspoolInProcess,
} from './lib/agents.js';
import { type LoadgenOptions, plannedSamples, plannedSeries, startLoadgen } from './lib/loadgen.js';
import { peakRssBytes, printTable, processCpuSeconds } from './lib/measure.js';
import { type BenchMetric, type BenchTarget, evaluateTargets, loadAverage, recordResult } from './lib/results.js';
import { agentList, benchScale, scenarioArgs } from './lib/scenario-args.js';
import { sinkReaches, startSink } from './lib/sink-client.js';

const args = scenarioArgs({
  samples: 10_000_000,
  series: 100_000,
  labels: 10,
  'per-request': 2000,
  connections: 4,
  shards: 4,
  agents: 'promspool,vmagent',
  'cpu-prof': false,
  'no-append': false,
  /** Per agent: after this the generator stops sending and the run reports what was sent. */
  'budget-s': 150,
  'timeout-s': 300,
  /** Each agent runs this many times, alternating; rates on this shared machine move ±15% run to run. */
  rounds: 1,
  /**
   * Sent to each agent (and delivered) before the measured run, outside every figure but the
   * warm-up columns: a relay runs for weeks, and V8 compiling promspool's hot code in three
   * threads took ~10% of a cold 10M-sample run's CPU. 0 measures from cold, as before.
   */
  'warmup-samples': 2_000_000,
  relabel: false,
  /** With --relabel: `plan` (BENCH_RELABEL_RULES) or `cache` (BENCH_RELABEL_RULES_CACHED: the relay's outcome cache). */
  'relabel-rules': 'plan',
  'protobuf-message': 'prometheus.WriteRequest',
  'external-labels': false,
  'in-process': false,
});
const protobufMessage = args['protobuf-message'];
if (protobufMessage !== 'prometheus.WriteRequest' && protobufMessage !== 'io.prometheus.write.v2.Request') {
  throw new Error(`--protobuf-message must be prometheus.WriteRequest or io.prometheus.write.v2.Request`);
}
const relabelRules = args['relabel-rules'];
if (relabelRules !== 'plan' && relabelRules !== 'cache') throw new Error(`--relabel-rules must be plan or cache`);
const cachedRules = args.relabel && relabelRules === 'cache';
const rw2 = protobufMessage === 'io.prometheus.write.v2.Request';
const totalSamples = Math.round(args.samples * benchScale());
const warmupSamples = Math.round(args['warmup-samples'] * benchScale());
const agents = agentList(args.agents);

/**
 * Samples the sink should count for `acked` samples sent with `opts`: all of them, or with
 * `--relabel` those of the series the rules keep (every body holds whole series, so the share of
 * each request kept is exact).
 */
function deliverable(acked: number, opts: LoadgenOptions): number {
  if (!args.relabel) return acked;
  return Math.round((acked * plannedSeries(opts, keptByBenchRelabel)) / plannedSamples(opts));
}

interface RelayRun {
  agent: AgentKind;
  delivered: number;
  /** Samples the agent accepted from the generator (= delivered, unless relabeling drops some). */
  received: number;
  expected: number;
  seconds: number;
  ingestSeconds: number;
  agentCpu: number;
  sinkCpu: number;
  loadgenCpu: number;
  peakRss: number;
  retries: number;
  load: string;
  budgetHit: boolean;
  /** Agent CPU seconds and samples of the warm-up (0 without one). */
  warmupCpu: number;
  warmupSamples: number;
  /** Body bytes (snappy) the sink received in the measured run. */
  wireBytes: number;
  /** Requests the sink answered in the measured run. */
  requests: number;
  /** `--in-process` promspool: its endpoint's relay route counts over the whole run (warm-up included). */
  ways?: RelayWays;
}

async function runOnce(kind: AgentKind): Promise<RelayRun> {
  const sink = await startSink(0, { counting: 'structure' });
  const dir = mkdtempSync(join(tmpdir(), `promspool-bench-relay-${kind}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const profDir = join(tmpdir(), 'promspool-bench-profiles');
  const inProcess = kind === 'promspool' && args['in-process'];
  const start = inProcess
    ? startPromspoolInProcess
    : (opts: Parameters<typeof startAgent>[1]) => startAgent(kind, opts);
  const agent: Agent & { ways?(): RelayWays | undefined } = await start({
    sinkUrl: sink.url,
    dataDir,
    shards: args.shards,
    samplesPerSend: args['per-request'],
    ...(args.relabel ? { writeRelabelConfigs: cachedRules ? BENCH_RELABEL_RULES_CACHED : BENCH_RELABEL_RULES } : {}),
    ...(rw2 ? { protobufMessage } : {}),
    ...(args['external-labels'] ? { externalLabels: BENCH_EXTERNAL_LABELS } : {}),
    nodeFlags: [
      ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      ...(process.env.PROMSPOOL_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ],
  });
  try {
    const lgOpts: LoadgenOptions = {
      url: agent.writeUrl,
      series: args.series,
      labelsPerSeries: args.labels,
      seriesPerRequest: args['per-request'],
      connections: args.connections,
      totalSamples,
    };
    let warmupCpu = 0;
    let warmed = 0;
    if (warmupSamples > 0) {
      const wl = await startLoadgen({ ...lgOpts, totalSamples: warmupSamples });
      const wc0 = processCpuSeconds(agent.pid);
      try {
        const wr = await wl.go();
        const want = deliverable(wr.acked, { ...lgOpts, totalSamples: warmupSamples });
        warmed = await sinkReaches(sink, want, Date.now() + args['timeout-s'] * 1000);
        if (warmed < want) throw new Error(`relay: ${kind} delivered ${warmed} of ${want} warm-up samples`);
      } finally {
        wl.kill();
      }
      warmupCpu = processCpuSeconds(agent.pid) - wc0;
    }
    let received = plannedSamples(lgOpts);
    let expected = deliverable(received, lgOpts);
    const lg = await startLoadgen(lgOpts);
    const sinkPid = sink.process.pid ?? 0;
    const cpu0 = processCpuSeconds(agent.pid);
    const sinkCpu0 = processCpuSeconds(sinkPid);
    const { bytes: bytes0, requests: requests0 } = await sink.stats();
    const t0 = performance.now();
    const sent = lg.go();
    let ingestSeconds = 0;
    let loadgenCpu = 0;
    let retries = 0;
    let budgetHit = false;
    const budget = setTimeout(() => {
      budgetHit = true;
      lg.stop();
    }, args['budget-s'] * 1000);
    void sent.then((r) => {
      clearTimeout(budget);
      ingestSeconds = r.elapsedMs / 1000;
      loadgenCpu = r.cpuSeconds;
      retries = r.retries;
      received = r.acked;
      expected = deliverable(r.acked, lgOpts);
    });
    let delivered = 0;
    const deadline = Date.now() + (args['budget-s'] + args['timeout-s']) * 1000;
    while (delivered < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      delivered = (await sink.stats()).samples - warmed;
    }
    const seconds = (performance.now() - t0) / 1000;
    const agentCpu = processCpuSeconds(agent.pid) - cpu0;
    const sinkCpu = processCpuSeconds(sinkPid) - sinkCpu0;
    const peakRss = peakRssBytes(agent.pid);
    const load = loadAverage();
    const after = await sink.stats();
    const wireBytes = after.bytes - bytes0;
    const requests = after.requests - requests0;
    // The sink can count the last sample just before the generator hears its answer.
    await Promise.race([sent, new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
    clearTimeout(budget);
    if (budgetHit) console.log(`relay: ${kind} stopped by --budget-s=${args['budget-s']} at ${expected} samples`);
    lg.kill();
    const ways = agent.ways?.();
    if (ways !== undefined) console.log(`relay: ${kind} relay route ways (records): ${JSON.stringify(ways)}`);
    return {
      ...(ways === undefined ? {} : { ways }),
      agent: kind,
      delivered,
      received,
      expected,
      seconds,
      ingestSeconds,
      agentCpu,
      sinkCpu,
      loadgenCpu,
      peakRss,
      retries,
      load,
      budgetHit,
      warmupCpu,
      warmupSamples: warmed,
      wireBytes,
      requests,
    };
  } finally {
    await agent.stop();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args['cpu-prof'])
  console.log(`relay: promspool writes its CPU profile to ${join(tmpdir(), 'promspool-bench-profiles')}`);
const runs: RelayRun[] = [];
const rounds = Math.max(1, Math.round(args.rounds));
for (let round = 1; round <= rounds; round++) {
  for (const kind of agents) {
    console.log(
      `relay: ${kind}${rounds > 1 ? ` (round ${round}/${rounds})` : ''}, ${totalSamples.toLocaleString('en-US')} samples ...`,
    );
    runs.push(await runOnce(kind));
  }
}

/** One agent's figures: of one run, or the medians of its rounds (peak RSS: the highest). */
interface Figures {
  label: string;
  samples: string | number;
  e2e: number;
  ingest: number;
  cpuPerM: number;
  peakRss: number;
  sinkPerM: number;
  loadgenPerM: number;
  retries: number | string;
  load: string;
  /** Agent CPU seconds per 1M samples of the warm-up; NaN without one. */
  warmupPerM: number;
  /** Snappy body bytes per sample delivered. */
  bytesPerSample: number;
  /** Samples delivered per request the sink answered (how full the outgoing requests are). */
  perRequest: number;
}

const perM = (cpu: number, r: RelayRun) => (cpu / r.received) * 1e6;
const figuresOf = (r: RelayRun, label: string): Figures => ({
  label,
  samples: r.budgetHit ? `${r.delivered.toLocaleString('en-US')} (budget)` : r.delivered,
  e2e: r.received / r.seconds,
  ingest: r.ingestSeconds ? r.expected / r.ingestSeconds : 0,
  cpuPerM: perM(r.agentCpu, r),
  peakRss: r.peakRss,
  sinkPerM: perM(r.sinkCpu, r),
  loadgenPerM: perM(r.loadgenCpu, r),
  retries: r.retries,
  load: r.load,
  warmupPerM: r.warmupSamples > 0 ? (r.warmupCpu / r.warmupSamples) * 1e6 : Number.NaN,
  bytesPerSample: r.delivered > 0 ? r.wireBytes / r.delivered : Number.NaN,
  perRequest: r.requests > 0 ? r.delivered / r.requests : Number.NaN,
});
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mediansOf = (kind: AgentKind): Figures | undefined => {
  const mine = runs.filter((r) => r.agent === kind).map((r) => figuresOf(r, kind));
  if (mine.length === 0) return undefined;
  if (mine.length === 1) return mine[0];
  return {
    label: `${kind} (median of ${mine.length})`,
    samples: mine[0].samples,
    e2e: median(mine.map((f) => f.e2e)),
    ingest: median(mine.map((f) => f.ingest)),
    cpuPerM: median(mine.map((f) => f.cpuPerM)),
    peakRss: Math.max(...mine.map((f) => f.peakRss)),
    sinkPerM: median(mine.map((f) => f.sinkPerM)),
    loadgenPerM: median(mine.map((f) => f.loadgenPerM)),
    retries: mine.reduce((a, f) => a + Number(f.retries), 0),
    load: '',
    warmupPerM: median(mine.map((f) => f.warmupPerM)),
    bytesPerSample: median(mine.map((f) => f.bytesPerSample)),
    perRequest: median(mine.map((f) => f.perRequest)),
  };
};
const row = (f: Figures): Record<string, string | number> => ({
  agent: f.label,
  samples: f.samples,
  'samples/s e2e': Math.round(f.e2e),
  'ingest samples/s': f.ingest ? Math.round(f.ingest) : '-',
  'agent CPU s / 1M': f.cpuPerM,
  'warm-up CPU s / 1M': Number.isNaN(f.warmupPerM) ? '-' : f.warmupPerM,
  'peak RSS MB': Math.round(f.peakRss / 2 ** 20),
  'wire bytes/sample': f.bytesPerSample,
  'samples/request': Math.round(f.perRequest),
  'sink CPU s / 1M': f.sinkPerM,
  'loadgen CPU s / 1M': f.loadgenPerM,
  retries: f.retries,
  'load avg': f.load,
});
const rows: Record<string, string | number>[] = [];
if (rounds > 1) {
  for (let i = 0; i < runs.length; i++) {
    rows.push(row(figuresOf(runs[i], `${runs[i].agent} #${Math.floor(i / agents.length) + 1}`)));
  }
}
const ps = mediansOf('promspool');
const vm = mediansOf('vmagent');
for (const f of [ps, vm]) if (f !== undefined) rows.push(row(f));
if (ps && vm) {
  rows.push({
    agent: 'promspool / vmagent',
    samples: '',
    'samples/s e2e': `${(ps.e2e / vm.e2e).toFixed(2)}x`,
    'ingest samples/s': ps.ingest && vm.ingest ? `${(ps.ingest / vm.ingest).toFixed(2)}x` : '',
    'agent CPU s / 1M': `${(ps.cpuPerM / vm.cpuPerM).toFixed(2)}x`,
    'warm-up CPU s / 1M': Number.isNaN(ps.warmupPerM) ? '' : `${(ps.warmupPerM / vm.warmupPerM).toFixed(2)}x`,
    'peak RSS MB': `${(ps.peakRss / vm.peakRss).toFixed(2)}x`,
    'wire bytes/sample': '',
    'samples/request': '',
    'sink CPU s / 1M': '',
    'loadgen CPU s / 1M': '',
    retries: '',
    'load avg': '',
  });
}
printTable(rows);

/** The figures a relay record holds per agent (medians over rounds; peak RSS the highest). */
const RELAY_METRICS: BenchMetric[] = [
  { key: 'delivered', label: 'samples delivered', better: 'higher', digits: 0 },
  { key: 'e2e', label: 'samples/s e2e', better: 'higher', digits: 0 },
  { key: 'ingest', label: 'ingest samples/s', better: 'higher', digits: 0 },
  { key: 'cpuPerM', label: 'agent CPU s / 1M', better: 'lower', digits: 3 },
  { key: 'warmupPerM', label: 'warm-up CPU s / 1M', better: 'lower', digits: 3 },
  { key: 'peakRssMB', label: 'peak RSS MB', unit: 'MB', better: 'lower', digits: 0 },
  { key: 'wireBytesPerSample', label: 'wire bytes/sample (snappy)', better: 'lower', digits: 2 },
  { key: 'samplesPerRequest', label: 'samples per request', better: 'higher', digits: 0 },
  { key: 'sinkPerM', label: 'sink CPU s / 1M', better: 'lower', digits: 3 },
  { key: 'loadgenPerM', label: 'loadgen CPU s / 1M', better: 'lower', digits: 3 },
  { key: 'retries', label: 'retries', better: 'lower', digits: 0 },
];
// Issue 22's targets sit beside the original ones: peak RSS at most vmagent's, and CPU per
// million samples from cold at most 0.9x vmagent's over 2M samples, 0.8x over 10M.
const targets: BenchTarget[] = [
  { description: 'peak RSS < 250 MB', agent: 'promspool', metric: 'peakRssMB', comparator: '<', threshold: 250 },
  {
    description: 'peak RSS <= vmagent',
    agent: 'promspool',
    metric: 'peakRssMB',
    comparator: '<=',
    threshold: 1,
    relativeTo: 'vmagent',
  },
  {
    description: 'CPU/M <= 1.5x vmagent',
    agent: 'promspool',
    metric: 'cpuPerM',
    comparator: '<=',
    threshold: 1.5,
    relativeTo: 'vmagent',
  },
  ...(warmupSamples === 0
    ? [
        {
          description: `CPU/M from cold <= ${totalSamples >= 10_000_000 ? '0.8' : '0.9'}x vmagent`,
          agent: 'promspool',
          metric: 'cpuPerM',
          comparator: '<=' as const,
          threshold: totalSamples >= 10_000_000 ? 0.8 : 0.9,
          relativeTo: 'vmagent',
        },
      ]
    : []),
  {
    description: 'throughput >= vmagent',
    agent: 'promspool',
    metric: 'e2e',
    comparator: '>=',
    threshold: 1,
    relativeTo: 'vmagent',
  },
];
const agentFigures = [ps, vm]
  .filter((f) => f !== undefined)
  .map((f) => ({
    name: f.label.replace(/ \(median of \d+\)$/, ''),
    figures: {
      delivered: runs.filter((r) => f.label.startsWith(r.agent))[0]?.delivered ?? null,
      e2e: f.e2e,
      ingest: f.ingest || null,
      cpuPerM: f.cpuPerM,
      warmupPerM: f.warmupPerM,
      peakRssMB: f.peakRss / 2 ** 20,
      wireBytesPerSample: f.bytesPerSample,
      samplesPerRequest: f.perRequest,
      sinkPerM: f.sinkPerM,
      loadgenPerM: f.loadgenPerM,
      retries: Number(f.retries),
    },
  }));
const evaluated = evaluateTargets(agentFigures, targets);
const fmtTarget = (t: (typeof evaluated)[number]) =>
  t.relativeTo === undefined ? `${Math.round(t.measured)} MB` : `${t.measured.toFixed(2)}x`;
const verdicts = evaluated.map((t) => `${t.description}: ${t.met ? 'met' : 'NOT met'} (${fmtTarget(t)})`);
for (const v of verdicts) console.log(`target ${v}`);
const incomplete = runs.filter((r) => r.delivered !== r.expected);
for (const r of incomplete) console.error(`relay: ${r.agent} delivered ${r.delivered} of ${r.expected}`);

const notes = [
  `promspool sends ${protobufMessage}${rw2 ? ' (the sink answers with the 2.0 written headers)' : ''}.`,
  `Workload: ${args.series.toLocaleString('en-US')} series x ${args.labels} labels, ${args['per-request']} series (1 sample each) per request, ${args.connections} connections, RW 1.0 pushed by bench/lib/loadgen (own process, bodies pre-built).`,
  `Agents: ${args.shards} senders each (promspool min_shards = max_shards, vmagent -remoteWrite.queues), ${args['per-request']} samples per outgoing request (promspool max_samples_per_send, vmagent -remoteWrite.maxRowsPerBlock), disk queue under /tmp, promspool fsync interval. promspool writes every sample to its disk queue; vmagent 1.79 writes to -remoteWrite.tmpDataPath only once its in-memory blocks are full (sending falls behind).`,
  ...(args['external-labels'] ? [`External labels on both agents: ${JSON.stringify(BENCH_EXTERNAL_LABELS)}.`] : []),
  ...runs
    .filter((r) => r.ways !== undefined)
    .map((r) => `${r.agent} (in-process) relay route ways, records of the whole run: ${JSON.stringify(r.ways)}.`),
  ...(rounds > 1
    ? [
        `Rounds: ${rounds}, the agents taking turns; rows #k are single runs. The median rows, the ratios and the verdicts use each agent's medians (peak RSS: its highest).`,
      ]
    : []),
  warmupSamples > 0
    ? `Warm-up: each agent first relays ${warmupSamples.toLocaleString('en-US')} samples (same workload) and delivers them all; every figure but the warm-up column is measured after it (peak RSS: the whole life). --warmup-samples=0 measures from cold.`
    : 'No warm-up (--warmup-samples=0): the figures include the agents starting cold (V8 compiling promspool hot code).',
  'samples/s e2e: first request sent until the sink counted the last sample. CPU from /proc/<pid>/stat of the agent only; peak RSS is VmHWM. loadgen, sink and agent share the 2 cores, so the sink/loadgen CPU columns say how much was left for the agent.',
  ...runs
    .filter((r) => r.budgetHit)
    .map(
      (r) =>
        `${r.agent}: the generator was stopped by --budget-s=${args['budget-s']} before ${totalSamples.toLocaleString('en-US')} samples; rates are over the samples sent.`,
    ),
  ...verdicts.map((v) => `Target ${v}.`),
].join('\n');
// A profiled run is slower than the figures it would record: it is never appended.
if (!args['no-append'] && !args['cpu-prof']) {
  recordResult({
    // Runs of another length (issue 22's 2M from cold) are scenarios of their own.
    scenario: `relay${rw2 ? '-rw2' : ''}${args.relabel ? `-relabel${cachedRules ? '-cache' : ''}` : ''}${args['external-labels'] ? '-ext' : ''}${args['in-process'] ? '-inprocess' : ''}${warmupSamples === 0 ? '-cold' : ''}${args.samples === 10_000_000 ? '' : `-${args.samples / 1e6}M`}${args.series === 100_000 ? '' : `-${args.series / 1000}k-series`}`,
    title: `relay${rw2 ? ', remote-write 2.0 out' : ''}${args.relabel ? ` (write relabel: 3 rules${cachedRules ? ', through the outcome cache' : ''})` : ''}${args['external-labels'] ? ', external labels' : ''}${args['in-process'] ? ', promspool in-process' : ''}${warmupSamples === 0 ? ', from cold' : ''}${args.samples === 10_000_000 ? '' : `, ${args.samples / 1e6}M samples`}${args.series === 100_000 ? '' : `, ${args.series.toLocaleString('en-US')} series`}`,
    subject: 'promspool',
    ...(vm ? { peer: 'vmagent' } : {}),
    keyMetric: 'cpuPerM',
    metrics: RELAY_METRICS,
    agents: agentFigures,
    targets,
    notes: notes.split('\n'),
  });
}
if (incomplete.length > 0) process.exitCode = 1;
