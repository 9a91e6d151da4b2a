/**
 * Scenario "library": createQueue appends into a local sink (its own process) end to end.
 * N series x 10 labels, one sample per series per commit; reports samples/s delivered, this
 * process' CPU seconds per million samples and peak RSS.
 *
 * Usage: node dist/bench/library.js [series=10000] [commits=1000] [shards=4] [fsync=interval] [deliveryThread=default]
 *   [warmup=200] (commits appended and delivered before measuring, outside every figure but the
 *   warm-up column: V8 compiles the hot path in two threads meanwhile; 0 measures from cold)
 *   [relabel=] ("relabel": the endpoint applies three write relabel rules: a drop of 10% of series
 *   (every series label ending in 0: the names are all one), a labeldrop, a replace adding a label;
 *   "delivered" is then the 90% kept and the rates are per sample appended)
 *   [protobufMessage=prometheus.WriteRequest] (the endpoint's protobuf_message; with
 *   io.prometheus.write.v2.Request the sink answers as a 2.0 receiver and the scenario is `library-rw2...`)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RelabelConfigOptions } from '../src/config/library.js';
import { createQueue } from '../src/index.js';
import type { SeriesRef } from '../src/queue-types.js';
import { peakRssBytes, printTable, processCpuSeconds } from './lib/measure.js';
import { recordResult } from './lib/results.js';
import { benchSeriesLabels } from './lib/series-labels.js';
import { sinkReaches, startSink } from './lib/sink-client.js';

const seriesCount = Number(process.argv[2] ?? 10_000);
const commits = Number(process.argv[3] ?? 1000);
const shards = Number(process.argv[4] ?? 4);
const fsync = (process.argv[5] ?? 'interval') as 'always' | 'interval' | 'never';
// Unset: the library's default (a worker when the machine has more than one CPU).
const deliveryThread = (process.argv[6] || undefined) as 'worker' | 'event-loop' | 'default' | undefined;
const warmupCommits = Number(process.argv[7] ?? 200);
const relabel = process.argv[8] === 'relabel';
const protobufMessage = process.argv[9] || 'prometheus.WriteRequest';
if (protobufMessage !== 'prometheus.WriteRequest' && protobufMessage !== 'io.prometheus.write.v2.Request') {
  throw new Error(`library bench: protobufMessage must be prometheus.WriteRequest or io.prometheus.write.v2.Request`);
}
const rw2 = protobufMessage === 'io.prometheus.write.v2.Request';
const total = seriesCount * commits;
/** Series `i` survives the relabel rules (series labels 0..n-1 ending in 0 are dropped). */
const kept = (i: number) => !relabel || i % 10 !== 0;
let keptSeries = 0;
for (let i = 0; i < seriesCount; i++) if (kept(i)) keptSeries++;
const RELABEL_RULES: RelabelConfigOptions[] = [
  { sourceLabels: ['__name__', 'series'], regex: 'bench_metric_total;\\d*0', action: 'drop' },
  { regex: 'team', action: 'labeldrop' },
  { targetLabel: 'relayed_by', replacement: 'library' },
];

// Structure counting: exact sample counts without decoding label strings, so the sink's own CPU
// (which shares the 2 cores) stays small next to the agent's.
const sink = await startSink(0, { counting: 'structure' });
const dir = mkdtempSync(join(tmpdir(), 'promspool-bench-library-'));
try {
  const queue = await createQueue({
    dataDir: dir,
    endpoints: [
      {
        name: 'sink',
        url: sink.url,
        queueConfig: { minShards: shards, maxShards: shards, batchSendDeadline: '50ms' },
        ...(relabel ? { writeRelabelConfigs: RELABEL_RULES } : {}),
        ...(rw2 ? { protobufMessage } : {}),
      },
    ],
    persistence: { fsync, batchInterval: '100ms', maxSignalsToBatch: 50_000 },
    ...(deliveryThread === undefined || deliveryThread === 'default' ? {} : { deliveryThread }),
  });
  const handles: SeriesRef[] = [];
  for (let i = 0; i < seriesCount; i++) {
    handles.push(queue.series(benchSeriesLabels(i)));
  }
  const app = queue.appender();
  const ts0 = Date.now() - commits * 1000;
  // Warm-up: older timestamps than the measured commits, so each series stays in order.
  const warmCpu0 = process.cpuUsage();
  for (let c = 0; c < warmupCommits; c++) {
    const ts = ts0 - (warmupCommits - c) * 1000;
    for (let i = 0; i < seriesCount; i++) app.append(handles[i]!, ts, c + i);
    await app.commit();
  }
  const warmed = warmupCommits * keptSeries;
  await sinkReaches(sink, warmed, Date.now() + 600_000);
  const warmCpu = process.cpuUsage(warmCpu0);
  const cpu0 = process.cpuUsage();
  const sinkCpu0 = processCpuSeconds(sink.process.pid ?? 0);
  const bytes0 = (await sink.stats()).bytes;
  const t0 = performance.now();
  for (let c = 0; c < commits; c++) {
    const ts = ts0 + c * 1000;
    for (let i = 0; i < seriesCount; i++) app.append(handles[i]!, ts, c + i);
    await app.commit();
  }
  const tAppended = performance.now();
  const deliverable = commits * keptSeries;
  const delivered = (await sinkReaches(sink, warmed + deliverable, Date.now() + 600_000)) - warmed;
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  // The sink shares the machine's cores: when it saturates one, it caps what can be delivered.
  const sinkCpuSecs = processCpuSeconds(sink.process.pid ?? 0) - sinkCpu0;
  const wireBytesPerSample = ((await sink.stats()).bytes - bytes0) / delivered;
  await queue.stop();
  const secs = (t1 - t0) / 1000;
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const appendRate = total / ((tAppended - t0) / 1000);
  const warmupPerM =
    warmed > 0 ? ((warmCpu.user + warmCpu.system) / 1e6 / (warmupCommits * seriesCount)) * 1e6 : Number.NaN;
  const peakRssMB = peakRssBytes(process.pid) / 1048576;
  printTable([
    {
      scenario: 'library',
      series: seriesCount,
      samples: total,
      delivered,
      fsync,
      shards,
      delivery: deliveryThread ?? 'default',
      relabel: relabel ? '3 rules' : 'none',
      protocol: rw2 ? '2.0' : '1.0',
      // The host process' V8 flags matter here (docs/operations.md, "Running it").
      'node flags':
        process.execArgv.filter((f) => f.startsWith('--max-semi') || f.startsWith('--initial-old')).join(' ') || 'none',
      'append samples/s': Math.round(appendRate),
      'delivered samples/s': Math.round(delivered / secs),
      'appended samples/s e2e': Math.round(total / secs),
      'CPU s / 1M samples': (cpuSecs / total) * 1e6,
      'warm-up CPU s / 1M': Number.isNaN(warmupPerM) ? '-' : warmupPerM,
      'sink CPU s / 1M': (sinkCpuSecs / total) * 1e6,
      'wire bytes/sample': wireBytesPerSample,
      'peak RSS MB': Math.round(peakRssMB),
    },
  ]);
  recordResult({
    // Another size is a scenario of its own; shards, fsync and delivery thread are in the command and notes.
    scenario: `library${rw2 ? '-rw2' : ''}${relabel ? '-relabel' : ''}${warmupCommits === 0 ? '-cold' : ''}${total === 10_000_000 ? '' : `-${seriesCount}x${commits}`}`,
    title: `library (end to end)${rw2 ? ', remote-write 2.0 out' : ''}${relabel ? ', write relabel: 3 rules' : ''}${warmupCommits === 0 ? ', from cold' : ''}${total === 10_000_000 ? '' : `, ${seriesCount} series x ${commits} commits`}`,
    subject: 'promspool',
    keyMetric: 'e2e',
    metrics: [
      { key: 'samples', label: 'samples appended', better: 'higher', digits: 0 },
      { key: 'append', label: 'append samples/s', better: 'higher', digits: 0 },
      { key: 'delivered', label: 'delivered samples/s', better: 'higher', digits: 0 },
      { key: 'e2e', label: 'appended samples/s e2e', better: 'higher', digits: 0 },
      { key: 'cpuPerM', label: 'CPU s / 1M samples', better: 'lower', digits: 3 },
      { key: 'warmupPerM', label: 'warm-up CPU s / 1M', better: 'lower', digits: 3 },
      { key: 'sinkPerM', label: 'sink CPU s / 1M', better: 'lower', digits: 3 },
      { key: 'wireBytesPerSample', label: 'wire bytes/sample (snappy)', better: 'lower', digits: 2 },
      { key: 'peakRssMB', label: 'peak RSS MB', unit: 'MB', better: 'lower', digits: 0 },
    ],
    agents: [
      {
        name: 'promspool',
        figures: {
          samples: total,
          append: appendRate,
          delivered: delivered / secs,
          e2e: total / secs,
          cpuPerM: (cpuSecs / total) * 1e6,
          warmupPerM,
          sinkPerM: (sinkCpuSecs / total) * 1e6,
          wireBytesPerSample,
          peakRssMB,
        },
      },
    ],
    targets: [
      {
        description: '>= 1,000,000 samples/s end to end',
        agent: 'promspool',
        metric: 'e2e',
        comparator: '>=',
        threshold: 1e6,
      },
    ],
    notes: [
      `${seriesCount.toLocaleString('en-US')} series x 10 labels, one sample per series per commit, ${commits} commits, ${shards} shards, fsync ${fsync}, delivery ${deliveryThread ?? 'default'}, ${warmupCommits} warm-up commits, ${relabel ? 'three write relabel rules' : 'no relabeling'}, protobuf_message ${protobufMessage}; a structure-counting sink in its own process${rw2 ? ' (answering with the 2.0 written headers)' : ''}.`,
      "CPU is this process' (appends, FileQueue, delivery); the sink shares the 2 cores.",
    ],
  });
  if (delivered !== deliverable) {
    console.error(`library bench: delivered ${delivered} of ${deliverable}`);
    process.exitCode = 1;
  }
} finally {
  await sink.stop();
  rmSync(dir, { recursive: true, force: true });
}
