/**
 * Scenario "reshard" (issue 18): a WAN-like receiver (own process) answers each request after
 * `--delay-ms` (100); a pusher (own process) sends `--rate` samples/s (200,000) of remote-write
 * 1.0 into the agent for `--seconds` (60), then stops; the agent starts with `min_shards: 1`,
 * `max_shards: 50`. Every second: the rate the receiver counted, and promspool's
 * `prometheus_remote_storage_shards` / `_shards_desired` from its /metrics. Reports the time to
 * reach 95% of the pushed rate, the shard changes after that while the load is steady, the time
 * to drain after the load stops, the shards at the end, and per-series order violations counted
 * by the receiver. vmagent (no resharding: `-remoteWrite.queues=50`, the same maximum) runs the
 * same workload when installed.
 *
 * Usage: node dist/bench/reshard.js [--rate=200000] [--seconds=60] [--delay-ms=100]
 *   [--series=20000] [--per-request=2000] [--drain-s=60] [--agents=promspool,vmagent] [--no-append]
 *   [--outage-s=0] (the receiver answers 503 for that long from its first request: the catch-up
 *   figure is then the fastest 5 s of delivery against the pushed rate)
 * Internal: --role=receiver|pusher (the child processes).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { SHARD_PARTITIONS } from '../src/network/partition.js';
import { uncompressBlock } from '../src/wire/snappy.js';
import { type Agent, daemonNodeFlags, freePort, startVmagent, waitReady } from './lib/agents.js';
import { processCpuSeconds } from './lib/measure.js';
import { readVarint, skipField } from './lib/proto-framing.js';
import { type BenchMetric, type BenchTarget, evaluateTargets, recordResult } from './lib/results.js';
import { buildBodySet, setBodyTimestamp } from './lib/rw-bodies.js';
import { agentList, scenarioArgs } from './lib/scenario-args.js';

const args = scenarioArgs({
  role: 'main',
  rate: 200_000,
  seconds: 60,
  'delay-ms': 100,
  series: 20_000,
  'per-request': 2000,
  'drain-s': 60,
  /** The receiver answers 503 to everything for this long after its first request (an outage). */
  'outage-s': 0,
  agents: 'promspool,vmagent',
  'no-append': false,
  url: '',
});

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- receiver (child process)

/**
 * Walks a `prometheus.WriteRequest`'s framing (no label decoding: a full decode cost this
 * receiver more CPU than the agents on a shared 2-core machine) and calls `sample` with each
 * series' label bytes as a latin1 key and each sample's timestamp.
 */
function walkSamples(buf: Buffer, sample: (key: string, ts: number) => void): void {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    if (tag !== 0x0a) {
      pos = skipField(buf, p, tag & 7);
      continue;
    }
    const [len, start] = readVarint(buf, p);
    const end = start + len;
    let labelsStart = -1;
    let labelsEnd = -1;
    const stamps: number[] = [];
    let q = start;
    while (q < end) {
      const [t, r] = readVarint(buf, q);
      if (t === 0x0a) {
        const [l, s] = readVarint(buf, r);
        if (labelsStart < 0) labelsStart = q;
        labelsEnd = s + l;
        q = s + l;
      } else if (t === 0x12) {
        const [l, s] = readVarint(buf, r);
        // Sample { double value = 1; int64 timestamp = 2; }
        let k = s;
        while (k < s + l) {
          const [ft, fr] = readVarint(buf, k);
          if (ft === 0x10) {
            const [ts, after] = readVarint(buf, fr);
            stamps.push(ts);
            k = after;
          } else k = skipField(buf, fr, ft & 7);
        }
        q = s + l;
      } else q = skipField(buf, r, t & 7);
    }
    const key = buf.toString('latin1', labelsStart, labelsEnd);
    for (const ts of stamps) sample(key, ts);
    pos = end;
  }
}

/** Answers every POST 204 after the delay; walks it to count samples and check per-series order. */
function runReceiver(): void {
  const last = new Map<string, number>();
  let samples = 0;
  let requests = 0;
  let violations = 0;
  let firstAt: number | undefined;
  const onSample = (key: string, ts: number) => {
    const prev = last.get(key);
    if (prev !== undefined && ts <= prev) violations++;
    last.set(key, ts);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      firstAt ??= Date.now();
      if (Date.now() - firstAt < args['outage-s'] * 1000) {
        setTimeout(() => res.writeHead(503).end('outage'), args['delay-ms']);
        return;
      }
      // The walk runs while the request waits out its delay, so the answer comes `delay-ms` after
      // the request, not that plus this process's CPU queue (walking after the delay, the 16
      // loops' requests averaged well above 100 ms on a loaded machine: the receiver, not the
      // agent, set the catch-up rate). Counted as delivered when answered.
      const arrived = Date.now();
      let n = 0;
      let failed: unknown;
      try {
        walkSamples(uncompressBlock(Buffer.concat(chunks), 256 * 1024 * 1024), (key, ts) => {
          n++;
          onSample(key, ts);
        });
      } catch (err) {
        failed = err;
      }
      setTimeout(
        () => {
          if (failed !== undefined) {
            res.writeHead(400).end(String(failed));
            return;
          }
          requests++;
          samples += n;
          res.writeHead(204).end();
        },
        Math.max(0, arrived + args['delay-ms'] - Date.now()),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.send?.({ port: typeof a === 'object' && a ? a.port : 0 });
  });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send?.({ samples, requests, violations, series: last.size });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- pusher (child process)

/**
 * Sends one round (every series once, its timestamp the round's) every `series / rate` seconds,
 * one request per body in parallel; a round that is late starts at once (the agent pushed back).
 */
async function runPusher(): Promise<void> {
  const bodies = buildBodySet(
    { series: args.series, labelsPerSeries: 10, seriesPerRequest: args['per-request'] },
    Date.now(),
  );
  const pool = new Pool(new URL(args.url).origin, { connections: bodies.length, pipelining: 1 });
  const periodMs = (args.series / args.rate) * 1000;
  const endAt = Date.now() + args.seconds * 1000;
  let acked = 0;
  let retries = 0;
  const report = setInterval(() => process.send?.({ acked, retries }), 1000);
  let next = Date.now();
  let ts = Date.now();
  while (Date.now() < endAt) {
    ts = Math.max(ts + 1, Date.now());
    for (const b of bodies) setBodyTimestamp(b, ts);
    await Promise.all(
      bodies.map(async (b) => {
        for (;;) {
          const res = await pool.request({
            path: new URL(args.url).pathname,
            method: 'POST',
            body: b.compressed,
            headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
          });
          await res.body.dump();
          if (res.statusCode < 300) {
            acked += b.samples;
            return;
          }
          retries++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    next += periodMs;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = Date.now();
  }
  clearInterval(report);
  process.send?.({ acked, retries, done: true });
  await pool.close();
  process.exit(0);
}

// ---------------------------------------------------------------- main

interface Second {
  t: number;
  pushed: number;
  delivered: number;
  /** Requests the receiver accepted, since start. */
  requests: number;
  shards: number | null;
  desired: number | null;
}

interface RunResult {
  agent: string;
  timeline: Second[];
  pushedTotal: number;
  deliveredTotal: number;
  violations: number;
  cpu: number;
  pushedRate: number;
  reach95s: number | null;
  changesSteady: number | null;
  changesTotal: number | null;
  drainS: number | null;
  finalShards: number | null;
  maxShards: number | null;
  catchupRatio: number | null;
  /** Samples per accepted request: over the run, and over the fastest 5 s (the catch-up). */
  samplesPerRequest: number | null;
  samplesPerRequestBest5s: number | null;
  /** Mean duration of a delivered request as the agent measured it (s); the receiver's delay is its floor. */
  meanRequestS: number | null;
  /** CPU seconds of the receiver process over the run (it shares the machine with the agent). */
  receiverCpu: number;
}

function forkRole(role: string, extra: string[]): ChildProcess {
  return fork(SELF, [`--role=${role}`, ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function ask<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send({ cmd: 'stats' });
  });
}

async function startPromspoolResharding(sinkUrl: string, dataDir: string): Promise<Agent> {
  const port = await freePort();
  const configPath = `${dataDir}.yaml`;
  writeFileSync(
    configPath,
    [
      `server: { listen_address: '127.0.0.1:${port}', shutdown_timeout: 5s }`,
      `storage: { path: '${dataDir}', max_disk_bytes: 0, fsync: interval }`,
      'self_monitoring: { enabled: false }',
      'remote_write:',
      '  - name: sink',
      `    url: '${sinkUrl}'`,
      '    metadata_config: { send: false }',
      `    queue_config: { min_shards: 1, max_shards: 50, max_samples_per_send: ${args['per-request']}, min_backoff: 30ms, max_backoff: 1s }`,
      '',
    ].join('\n'),
  );
  const bin = fileURLToPath(new URL('../../bin/promspool.js', import.meta.url));
  const child = spawn(process.execPath, [...daemonNodeFlags(), bin, '--config', configPath, '--log.level', 'info'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(child, `${baseUrl}/-/ready`, 120_000);
  return {
    kind: 'promspool',
    pid: child.pid ?? 0,
    process: child,
    writeUrl: `${baseUrl}/api/v1/write`,
    baseUrl,
    startMs: 0,
    stop: async () => {
      const t0 = performance.now();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return performance.now() - t0;
    },
  };
}

/** Mean duration of a delivered request (s), from promspool's `sent_batch_duration_seconds`. */
async function meanRequestSeconds(agent: Agent): Promise<number | null> {
  if (agent.kind !== 'promspool') return null;
  try {
    const text = await (await fetch(`${agent.baseUrl}/metrics`)).text();
    const get = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    const sum = get('prometheus_remote_storage_sent_batch_duration_seconds_sum');
    const count = get('prometheus_remote_storage_sent_batch_duration_seconds_count');
    return sum !== null && count ? sum / count : null;
  } catch {
    return null;
  }
}

async function shardsOf(agent: Agent): Promise<{ shards: number | null; desired: number | null }> {
  if (agent.kind !== 'promspool') return { shards: null, desired: null };
  try {
    const text = await (await fetch(`${agent.baseUrl}/metrics`)).text();
    const get = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    return {
      shards: get('prometheus_remote_storage_shards'),
      desired: get('prometheus_remote_storage_shards_desired'),
    };
  } catch {
    return { shards: null, desired: null };
  }
}

async function runOnce(kind: 'promspool' | 'vmagent'): Promise<RunResult> {
  const receiver = forkRole('receiver', [`--delay-ms=${args['delay-ms']}`, `--outage-s=${args['outage-s']}`]);
  const { port } = await new Promise<{ port: number }>((r) =>
    receiver.once('message', (m) => r(m as { port: number })),
  );
  const sinkUrl = `http://127.0.0.1:${port}/api/v1/write`;
  const dir = mkdtempSync(join(tmpdir(), `promspool-bench-reshard-${kind}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const agent =
    kind === 'promspool'
      ? await startPromspoolResharding(sinkUrl, dataDir)
      : await startVmagent({
          sinkUrl,
          dataDir,
          shards: 50,
          samplesPerSend: args['per-request'],
        });
  const timeline: Second[] = [];
  try {
    const cpu0 = processCpuSeconds(agent.pid);
    const receiverCpu0 = processCpuSeconds(receiver.pid ?? 0);
    const pusher = forkRole('pusher', [
      `--url=${agent.writeUrl}`,
      `--rate=${args.rate}`,
      `--seconds=${args.seconds}`,
      `--series=${args.series}`,
      `--per-request=${args['per-request']}`,
    ]);
    let pushed = 0;
    let pushDone = false;
    pusher.on('message', (m: { acked: number; done?: boolean }) => {
      pushed = m.acked;
      if (m.done) pushDone = true;
    });
    pusher.once('exit', () => {
      pushDone = true;
    });
    const t0 = Date.now();
    let drainedAt: number | null = null;
    let pushEndAt: number | null = null;
    for (let s = 1; ; s++) {
      await new Promise((r) => setTimeout(r, t0 + s * 1000 - Date.now()));
      const st = await ask<{ samples: number; requests: number; violations: number }>(receiver);
      const sh = await shardsOf(agent);
      timeline.push({ t: s, pushed, delivered: st.samples, requests: st.requests, ...sh });
      const line = `${kind} t=${s}s pushed=${pushed} delivered=${st.samples}${sh.shards === null ? '' : ` shards=${sh.shards} desired=${sh.desired?.toFixed(2)}`}`;
      console.log(line);
      if (pushDone && pushEndAt === null) pushEndAt = s;
      if (pushDone && st.samples >= pushed) {
        drainedAt ??= s;
        // A few seconds more to see the shards go back down.
        if (kind === 'vmagent' || s - drainedAt >= 25) break;
      }
      if (pushEndAt !== null && s - pushEndAt > args['drain-s']) break;
    }
    const cpu = processCpuSeconds(agent.pid) - cpu0;
    const receiverCpu = processCpuSeconds(receiver.pid ?? 0) - receiverCpu0;
    const st = await ask<{ samples: number; violations: number }>(receiver);
    const meanRequestS = await meanRequestSeconds(agent);
    pusher.kill();
    return {
      ...summarize(kind, timeline, pushed, st.samples, st.violations, cpu, pushEndAt, drainedAt),
      meanRequestS,
      receiverCpu,
    };
  } finally {
    await agent.stop();
    receiver.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(
  agent: string,
  tl: Second[],
  pushedTotal: number,
  deliveredTotal: number,
  violations: number,
  cpu: number,
  pushEndAt: number | null,
  drainedAt: number | null,
): Omit<RunResult, 'meanRequestS' | 'receiverCpu'> {
  const end = pushEndAt ?? tl.length;
  const pushedRate = tl.length > 1 ? tl[Math.min(end, tl.length) - 1].pushed / Math.min(end, tl.length) : 0;
  // First second from which the 5 s average delivered rate is >= 95% of the pushed rate.
  let reach95s: number | null = null;
  for (let i = 4; i < end; i++) {
    const d = (tl[i].delivered - (i >= 5 ? tl[i - 5].delivered : 0)) / Math.min(5, i + 1);
    if (d >= 0.95 * pushedRate) {
      reach95s = tl[i].t;
      break;
    }
  }
  const changes = (from: number, to: number) => {
    let n = 0;
    for (let i = Math.max(1, from); i < Math.min(to, tl.length); i++) {
      if (tl[i].shards !== null && tl[i - 1].shards !== null && tl[i].shards !== tl[i - 1].shards) n++;
    }
    return n;
  };
  const hasShards = tl.some((s) => s.shards !== null);
  // Catch-up: the fastest 5 s of delivery against the pushed rate.
  let best = 0;
  let bestAt = -1;
  for (let i = 5; i < tl.length; i++) {
    const rate = (tl[i].delivered - tl[i - 5].delivered) / 5;
    if (rate > best) {
      best = rate;
      bestAt = i;
    }
  }
  const last = tl.at(-1);
  const perRequest = (samples: number, requests: number) => (requests > 0 ? samples / requests : null);
  return {
    agent,
    timeline: tl,
    pushedTotal,
    deliveredTotal,
    violations,
    cpu,
    pushedRate,
    reach95s,
    changesSteady: hasShards && reach95s !== null ? changes(reach95s, end) : null,
    changesTotal: hasShards ? changes(1, tl.length) : null,
    drainS: drainedAt !== null && pushEndAt !== null ? drainedAt - pushEndAt : null,
    finalShards: tl.at(-1)?.shards ?? null,
    maxShards: hasShards ? Math.max(...tl.map((s) => s.shards ?? 0)) : null,
    catchupRatio: pushedRate > 0 ? best / pushedRate : null,
    samplesPerRequest: last === undefined ? null : perRequest(last.delivered, last.requests),
    samplesPerRequestBest5s:
      bestAt < 0
        ? null
        : perRequest(tl[bestAt].delivered - tl[bestAt - 5].delivered, tl[bestAt].requests - tl[bestAt - 5].requests),
  };
}

async function main(): Promise<void> {
  const results: RunResult[] = [];
  for (const kind of agentList(args.agents)) {
    console.log(
      `reshard: ${kind}, ${args.rate} samples/s for ${args.seconds} s, receiver delay ${args['delay-ms']} ms`,
    );
    results.push(await runOnce(kind));
  }
  for (const r of results) {
    console.log(
      `${r.agent}: pushed ${r.pushedTotal} (${Math.round(r.pushedRate)}/s), delivered ${r.deliveredTotal}, order violations ${r.violations}, ` +
        `95% of pushed rate at ${r.reach95s ?? '-'} s, shard changes after that while steady ${r.changesSteady ?? '-'} (total ${r.changesTotal ?? '-'}, max ${r.maxShards ?? '-'}, at the end ${r.finalShards ?? '-'}), ` +
        `drained ${r.drainS ?? '-'} s after the load stopped, best 5 s delivery ${r.catchupRatio?.toFixed(2) ?? '-'}x the pushed rate, samples per request ${r.samplesPerRequest?.toFixed(0) ?? '-'} (${r.samplesPerRequestBest5s?.toFixed(0) ?? '-'} in that fastest 5 s), mean request ${r.meanRequestS === null ? '-' : `${(r.meanRequestS * 1000).toFixed(0)} ms`}, agent CPU ${r.cpu.toFixed(1)} s, receiver CPU ${r.receiverCpu.toFixed(1)} s`,
    );
  }
  const metrics: BenchMetric[] = [
    { key: 'pushedRate', label: 'pushed samples/s', better: 'higher', digits: 0 },
    { key: 'reach95s', label: 's to 95% of the pushed rate', better: 'lower', digits: 0 },
    { key: 'changesSteady', label: 'shard changes while steady', better: 'lower', digits: 0 },
    { key: 'drainS', label: 's to drain after the load', better: 'lower', digits: 0 },
    { key: 'finalShards', label: 'shards at the end', better: 'lower', digits: 0 },
    { key: 'maxShards', label: 'most shards', better: 'lower', digits: 0 },
    { key: 'undelivered', label: 'samples not delivered at the end (on disk, not lost)', better: 'lower', digits: 0 },
    { key: 'violations', label: 'order violations', better: 'lower', digits: 0 },
    { key: 'cpuPerM', label: 'agent CPU s / 1M', better: 'lower', digits: 3 },
    { key: 'catchup', label: 'fastest 5 s delivery / pushed rate', better: 'higher', digits: 2 },
    { key: 'samplesPerRequest', label: 'samples per request', better: 'higher', digits: 0 },
    { key: 'samplesPerRequestBest5s', label: 'samples per request in the fastest 5 s', better: 'higher', digits: 0 },
    { key: 'meanRequestMs', label: 'mean request duration ms (agent side)', better: 'lower', digits: 0 },
  ];
  const agents = results.map((r) => ({
    name: r.agent,
    figures: {
      pushedRate: r.pushedRate,
      reach95s: r.reach95s,
      changesSteady: r.changesSteady,
      drainS: r.drainS,
      finalShards: r.finalShards,
      maxShards: r.maxShards,
      undelivered: r.pushedTotal - r.deliveredTotal,
      violations: r.violations,
      cpuPerM: r.deliveredTotal > 0 ? (r.cpu / r.deliveredTotal) * 1e6 : null,
      catchup: r.catchupRatio,
      samplesPerRequest: r.samplesPerRequest,
      samplesPerRequestBest5s: r.samplesPerRequestBest5s,
      meanRequestMs: r.meanRequestS === null ? null : r.meanRequestS * 1000,
    },
  }));
  const outage = args['outage-s'] > 0;
  const targets: BenchTarget[] = [
    ...(outage
      ? [
          // Issue 18: after an outage, catch up at no less than 3x the incoming rate.
          {
            description: 'catch-up >= 3x the pushed rate',
            agent: 'promspool',
            metric: 'catchup',
            comparator: '>=' as const,
            threshold: 3,
          },
        ]
      : [
          {
            description: '95% of the pushed rate within 30 s',
            agent: 'promspool',
            metric: 'reach95s',
            comparator: '<=' as const,
            threshold: 30,
          },
          {
            description: 'at most 2 shard changes while steady',
            agent: 'promspool',
            metric: 'changesSteady',
            comparator: '<=' as const,
            threshold: 2,
          },
        ]),
    {
      description: 'everything delivered by the end of the run',
      agent: 'promspool',
      metric: 'undelivered',
      comparator: '<=',
      threshold: 0,
    },
    { description: '0 order violations', agent: 'promspool', metric: 'violations', comparator: '<=', threshold: 0 },
  ];
  const verdicts = evaluateTargets(agents, targets).map(
    (t) => `${t.description}: ${t.met ? 'met' : 'NOT met'} (${t.measured})`,
  );
  for (const v of verdicts) console.log(`target ${v}`);
  if (!args['no-append']) {
    recordResult({
      scenario: `reshard-${args.rate / 1000}k-${args.seconds}s${args['outage-s'] > 0 ? `-outage-${args['outage-s']}s` : ''}`,
      title: `reshard: ${args.rate} samples/s for ${args.seconds} s into a receiver answering after ${args['delay-ms']} ms${args['outage-s'] > 0 ? `, down (503) for the first ${args['outage-s']} s` : ''}`,
      subject: 'promspool',
      ...(results.some((r) => r.agent === 'vmagent') ? { peer: 'vmagent' } : {}),
      keyMetric: outage ? 'catchup' : 'reach95s',
      metrics,
      agents,
      targets,
      notes: [
        `promspool: min_shards 1, max_shards 50 (at most ${SHARD_PARTITIONS} loops: SHARD_PARTITIONS), max_samples_per_send ${args['per-request']}; vmagent: -remoteWrite.queues=50 (it does not reshard), maxRowsPerBlock ${args['per-request']}.`,
        `Pusher: ${args.series} series x 10 labels, one round (every series once) every ${(args.series / args.rate) * 1000} ms, ${args.series / args['per-request']} requests in parallel; a late round starts at once (the agent pushed back).`,
        'Receiver (own process): answers each request after the delay; walks its protobuf framing to count samples and check per-series order (a sample not newer than its series previous one, series keyed by their label bytes).',
        ...results.map(
          (r) =>
            `${r.agent} per second (pushed, delivered, shards): ${r.timeline.map((s) => `${s.t}:${s.pushed}/${s.delivered}${s.shards === null ? '' : `/${s.shards}`}`).join(' ')}`,
        ),
        ...verdicts.map((v) => `Target ${v}.`),
      ],
    });
  }
}

if (args.role === 'receiver') runReceiver();
else if (args.role === 'pusher') void runPusher();
else await main();
