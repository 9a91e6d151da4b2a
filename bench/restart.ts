/**
 * Scenario "restart": time from spawning the daemon to `/-/ready` 200 with a large backlog on disk
 * (target < 2 s for 10 GB: start-up must not read the data). The backlog is built cheaply: the
 * real daemon ingests `--base-samples` with its receiver down, stops, and its sealed segments are
 * then hard-linked under new ids until the queue directory holds `--gb` gigabytes. Reports the
 * start time with an empty data dir for comparison, the bytes the process read before it was ready
 * (`rchar` of /proc/<pid>/io) and its RSS when ready.
 *
 * Usage: node dist/bench/restart.js [--gb=10] [--base-samples=1000000] [--starts=3] [--no-append]
 *   (BENCH_SCALE=0.1 scales --gb and --base-samples)
 */
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, type AgentOptions, freePort, startPromspool } from './lib/agents.js';
import { startLoadgen } from './lib/loadgen.js';
import { printTable, rssBytes } from './lib/measure.js';
import { loadAverage, recordResult } from './lib/results.js';
import { benchScale, scenarioArgs } from './lib/scenario-args.js';

const args = scenarioArgs({
  gb: 10,
  'base-samples': 1_000_000,
  series: 100_000,
  starts: 3,
  'no-append': false,
});
const GB = 1e9;
const MB = 2 ** 20;
const targetBytes = Math.round(args.gb * benchScale() * GB);
const baseSamples = Math.round(args['base-samples'] * benchScale());
const notes: string[] = [];

/** Bytes the process has read through read(2)-like calls so far (page cache hits included). */
function readBytes(pid: number): number {
  const m = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

interface StartSample {
  startMs: number;
  readBytes: number;
  rss: number;
  stopMs: number;
}

async function timedStart(opts: AgentOptions): Promise<StartSample> {
  const agent: Agent = await startPromspool(opts);
  const sample = { startMs: agent.startMs, readBytes: readBytes(agent.pid), rss: rssBytes(agent.pid), stopMs: 0 };
  sample.stopMs = await agent.stop();
  return sample;
}

const root = mkdtempSync(join(tmpdir(), 'promspool-bench-restart-'));
try {
  const fs = statfsSync(root);
  const freeBytes = fs.bavail * fs.bsize;
  console.log(`restart: ${(freeBytes / GB).toFixed(1)} GB free under ${tmpdir()}`);
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  // The receiver stays down for the whole scenario: nothing is delivered, nothing is deleted.
  const sinkUrl = `http://127.0.0.1:${await freePort()}/api/v1/write`;
  const opts: AgentOptions = { sinkUrl, dataDir, shards: 4, samplesPerSend: 2000, maxDiskBytes: 0 };

  const emptyDir = join(root, 'empty');
  mkdirSync(emptyDir);
  const empty = await timedStart({ ...opts, dataDir: emptyDir });

  console.log(`restart: writing the base backlog (${baseSamples.toLocaleString('en-US')} samples) ...`);
  const builder = await startPromspool(opts);
  const lg = await startLoadgen({
    url: builder.writeUrl,
    series: args.series,
    labelsPerSeries: 10,
    seriesPerRequest: 2000,
    connections: 4,
    totalSamples: baseSamples,
  });
  const ingested = await lg.go();
  lg.kill();
  await builder.stop();

  const queueDir = join(dataDir, 'sink');
  const base = readdirSync(queueDir)
    .filter((n) => n.endsWith('.committed'))
    .map((n) => ({ id: Number(n.split('.')[0]), bytes: statSync(join(queueDir, n)).size }));
  const baseBytes = base.reduce((a, f) => a + f.bytes, 0);
  if (base.length === 0) throw new Error(`no committed segment in ${queueDir}`);
  let maxId = Math.max(...readdirSync(queueDir).map((n) => Number(n.split('.')[0]) || 0));
  let total = readdirSync(queueDir).reduce((a, n) => a + statSync(join(queueDir, n)).size, 0);
  let files = readdirSync(queueDir).length;
  // Hard links cost no space, so only the base needs the disk; a copy fallback would not fit then.
  if (targetBytes > freeBytes) notes.push(`(${(freeBytes / GB).toFixed(1)} GB free; hard links use none of it)`);
  while (total < targetBytes) {
    for (const f of base) {
      if (total >= targetBytes) break;
      maxId++;
      linkSync(
        join(queueDir, `${String(f.id).padStart(16, '0')}.committed`),
        join(queueDir, `${String(maxId).padStart(16, '0')}.committed`),
      );
      total += f.bytes;
      files++;
    }
  }
  const backlogSamples = Math.round((ingested.acked * total) / baseBytes);
  console.log(
    `restart: ${(total / GB).toFixed(2)} GB in ${files} files (~${(backlogSamples / 1e6).toFixed(0)}M samples), starting ${args.starts} times ...`,
  );

  const samples: StartSample[] = [];
  for (let i = 0; i < args.starts; i++) samples.push(await timedStart(opts));
  const sorted = [...samples].sort((a, b) => a.startMs - b.startMs);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const load = loadAverage();
  const rows = [
    {
      'data dir': 'empty',
      'GB on disk': 0,
      files: 0,
      'start -> ready ms (first)': Math.round(empty.startMs),
      'median ms': '-',
      'max ms': '-',
      'read before ready MB': empty.readBytes / MB,
      'RSS at ready MB': Math.round(empty.rss / MB),
      'stop ms': Math.round(empty.stopMs),
      'load avg': load,
    },
    {
      'data dir': 'backlog',
      'GB on disk': Number((total / GB).toFixed(2)),
      files,
      'start -> ready ms (first)': Math.round(samples[0]!.startMs),
      'median ms': Math.round(median.startMs),
      'max ms': Math.round(sorted.at(-1)!.startMs),
      'read before ready MB': samples[0]!.readBytes / MB,
      'RSS at ready MB': Math.round(samples[0]!.rss / MB),
      'stop ms': Math.round(median.stopMs),
      'load avg': load,
    },
  ];
  printTable(rows);
  const met = sorted.at(-1)!.startMs < 2000;
  const verdict = `start -> ready < 2 s with ${(total / GB).toFixed(1)} GB: ${met ? 'met' : 'NOT met'} (max ${Math.round(sorted.at(-1)!.startMs)} ms over ${args.starts} starts)`;
  console.log(`target ${verdict}`);
  notes.unshift(
    `Backlog: the daemon ingested ${ingested.acked.toLocaleString('en-US')} samples (100,000 series x 10 labels) with its endpoint down, stopped, and its ${base.length} sealed segments (${(baseBytes / MB).toFixed(0)} MB) were hard-linked under new ids up to ${(total / GB).toFixed(2)} GB (~${(backlogSamples / 1e6).toFixed(0)}M samples). The endpoint stays down during the starts.`,
    'start -> ready: spawn of the daemon (`node` with the flags of `bin/promspool`, then `bin/promspool.js`) until GET /-/ready answered 200 (polled every 5 ms), Node start-up included; page cache warm (files just written). read before ready: rchar of /proc/<pid>/io (every byte read, config and JS modules included).',
  );
  if (benchScale() !== 1 || args.gb !== 10)
    notes.push(`Scaled run: ${(targetBytes / GB).toFixed(1)} GB instead of 10 GB.`);
  notes.push(`Target ${verdict}.`);
  if (!args['no-append']) {
    recordResult({
      scenario: 'restart',
      title: 'restart',
      subject: 'promspool',
      keyMetric: 'maxMs',
      metrics: [
        { key: 'gbOnDisk', label: 'GB on disk', unit: 'GB', better: 'higher', digits: 2 },
        { key: 'files', label: 'files', better: 'higher', digits: 0 },
        { key: 'emptyStartMs', label: 'start -> ready ms, empty data dir', unit: 'ms', better: 'lower', digits: 0 },
        { key: 'firstMs', label: 'start -> ready ms (first)', unit: 'ms', better: 'lower', digits: 0 },
        { key: 'medianMs', label: 'start -> ready ms (median)', unit: 'ms', better: 'lower', digits: 0 },
        { key: 'maxMs', label: 'start -> ready ms (max)', unit: 'ms', better: 'lower', digits: 0 },
        { key: 'readBeforeReadyMB', label: 'read before ready MB', unit: 'MB', better: 'lower', digits: 2 },
        { key: 'rssAtReadyMB', label: 'RSS at ready MB', unit: 'MB', better: 'lower', digits: 0 },
        { key: 'stopMs', label: 'stop ms (median)', unit: 'ms', better: 'lower', digits: 0 },
      ],
      agents: [
        {
          name: 'promspool',
          figures: {
            gbOnDisk: total / GB,
            files,
            emptyStartMs: empty.startMs,
            firstMs: samples[0]!.startMs,
            medianMs: median.startMs,
            maxMs: sorted.at(-1)!.startMs,
            readBeforeReadyMB: samples[0]!.readBytes / MB,
            rssAtReadyMB: samples[0]!.rss / MB,
            stopMs: median.stopMs,
          },
        },
      ],
      targets: [
        {
          description: `start -> ready < 2 s with ${(total / GB).toFixed(1)} GB (max over ${args.starts} starts)`,
          agent: 'promspool',
          metric: 'maxMs',
          comparator: '<',
          threshold: 2000,
        },
      ],
      notes,
    });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
