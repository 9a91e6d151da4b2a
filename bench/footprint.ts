/**
 * Scenario "footprint": what each agent costs before its first sample. Starts promspool's daemon
 * (as bin/promspool runs it, with the relay benchmark's config) and vmagent (when installed) idle,
 * pointed at a sink, and reads each one's RSS and CPU once it is ready and again after a settle
 * time; the same for two Node references: a bare `node` with the daemon's flags, and one with a
 * single idle worker thread (promspool's relay scan runs in one). The figures bound from below
 * what the relay can reach under load (issue 22 compares peak RSS under load with vmagent's).
 *
 * Usage: node dist/bench/footprint.js [--settle-ms=3000] [--no-append]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, daemonNodeFlags, startAgent, vmagentPath } from './lib/agents.js';
import { peakRssBytes, printTable, processCpuSeconds, rssBytes } from './lib/measure.js';
import { loadAverage, recordResult } from './lib/results.js';
import { scenarioArgs } from './lib/scenario-args.js';
import { startSink } from './lib/sink-client.js';

const args = scenarioArgs({ 'settle-ms': 3000, 'no-append': false });
const MB = 2 ** 20;

interface Footprint {
  name: string;
  /** RSS once ready (the agents) or once the script said so (the references). */
  readyRssMB: number;
  /** RSS after the settle time, idle. */
  idleRssMB: number;
  peakRssMB: number;
  /** CPU seconds from spawn until the end of the settle time. */
  startCpuS: number;
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function measureAfterSettle(name: string, pid: number, readyRss: number): Promise<Footprint> {
  return settle(args['settle-ms']).then(() => ({
    name,
    readyRssMB: readyRss / MB,
    idleRssMB: rssBytes(pid) / MB,
    peakRssMB: peakRssBytes(pid) / MB,
    startCpuS: processCpuSeconds(pid),
  }));
}

/** A `node` running `script` with the daemon's flags; resolves once it printed its first line. */
async function nodeReference(name: string, script: string): Promise<Footprint> {
  const child: ChildProcess = spawn(process.execPath, [...daemonNodeFlags(), '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${name}: exited with ${code} before it was ready`)));
      child.stdout?.once('data', () => resolve());
    });
    const pid = child.pid as number;
    return await measureAfterSettle(name, pid, rssBytes(pid));
  } finally {
    child.kill('SIGKILL');
  }
}

async function agentFootprint(kind: 'promspool' | 'vmagent', sinkUrl: string): Promise<Footprint> {
  const dataDir = mkdtempSync(join(tmpdir(), `promspool-footprint-${kind}-`));
  let agent: Agent | undefined;
  try {
    agent = await startAgent(kind, { sinkUrl, dataDir, shards: 4, samplesPerSend: 2000 });
    return await measureAfterSettle(kind, agent.pid, rssBytes(agent.pid));
  } finally {
    await agent?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.yaml`, { force: true });
  }
}

const KEEP_ALIVE = 'setInterval(() => {}, 1000);';
const sink = await startSink();
const results: Footprint[] = [];
try {
  results.push(await nodeReference('node (bare)', `${KEEP_ALIVE} console.log('ready');`));
  results.push(
    await nodeReference(
      'node + 1 idle worker',
      `import { Worker } from 'node:worker_threads'; ${KEEP_ALIVE}` +
        // The worker's code is evaluated as a module too (--input-type is inherited).
        ` const w = new Worker('import { parentPort } from "node:worker_threads"; parentPort.postMessage(1); ${KEEP_ALIVE}', { eval: true });` +
        ` w.once('message', () => console.log('ready'));`,
    ),
  );
  results.push(await agentFootprint('promspool', sink.url));
  if (vmagentPath()) results.push(await agentFootprint('vmagent', sink.url));
  else console.log('footprint: vmagent is not installed: its column is missing');
} finally {
  await sink.stop();
}

const load = loadAverage();
printTable(
  results.map((r) => ({
    process: r.name,
    'RSS at ready MB': r.readyRssMB.toFixed(1),
    [`RSS idle after ${args['settle-ms']} ms MB`]: r.idleRssMB.toFixed(1),
    'peak RSS MB': r.peakRssMB.toFixed(1),
    'CPU s to idle': r.startCpuS.toFixed(2),
    'load avg': load,
  })),
);

if (!args['no-append']) {
  recordResult({
    scenario: 'footprint',
    title: 'footprint: idle processes before the first sample',
    subject: 'promspool',
    ...(results.some((r) => r.name === 'vmagent') ? { peer: 'vmagent' } : {}),
    keyMetric: 'idleRssMB',
    metrics: [
      { key: 'readyRssMB', label: 'RSS at ready MB', unit: 'MB', better: 'lower', digits: 1 },
      { key: 'idleRssMB', label: 'RSS idle MB', unit: 'MB', better: 'lower', digits: 1 },
      { key: 'peakRssMB', label: 'peak RSS MB', unit: 'MB', better: 'lower', digits: 1 },
      { key: 'startCpuS', label: 'CPU s to idle', unit: 's', better: 'lower', digits: 2 },
    ],
    agents: results.map((r) => ({
      name: r.name,
      figures: { readyRssMB: r.readyRssMB, idleRssMB: r.idleRssMB, peakRssMB: r.peakRssMB, startCpuS: r.startCpuS },
    })),
    targets: [],
    notes: [
      `Each process started alone, idle, pointed at the sink; RSS (VmRSS) when ready and after ${args['settle-ms']} ms, peak RSS (VmHWM), CPU from /proc/<pid>/stat from spawn to then.`,
      'promspool: the daemon as bin/promspool runs it (its node flags), the relay benchmark config (4 senders, 2000 samples per send, fsync interval). vmagent: bench/lib/agents equivalent flags.',
      'The two node references run with the same flags: a bare event loop, and one with one idle worker thread (the relay scan runs in one). They are the floor under any Node agent, before any dependency or code is loaded.',
      'Issue 22 asks for the relay peak RSS under load at or under vmagent s peak under the same load (bench/relay); the idle figures here bound that from below.',
    ],
  });
}
