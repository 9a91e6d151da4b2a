/**
 * Starts the agents compared by the benchmarks, each as its own process on a free loopback port:
 * promspool's daemon (bin/promspool.js with a generated YAML) and, when installed, vmagent with
 * equivalent settings (disk-backed queue in `dataDir`, same number of concurrent senders, same
 * samples per outgoing request).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type AgentKind = 'promspool' | 'vmagent';

export interface AgentOptions {
  /** Where the agent forwards to. */
  sinkUrl: string;
  /** The agent's disk queue lives here (created by the caller). */
  dataDir: string;
  /** Concurrent senders: promspool min_shards = max_shards, vmagent -remoteWrite.queues. */
  shards: number;
  /** Samples per outgoing request: promspool max_samples_per_send, vmagent -remoteWrite.maxRowsPerBlock. */
  samplesPerSend: number;
  /** Disk cap; 0 = unlimited (promspool max_disk_bytes, vmagent -remoteWrite.maxDiskUsagePerURL). */
  maxDiskBytes?: number;
  /** promspool max_backoff (how soon a loop retries a receiver that came back); default 1s. */
  maxBackoff?: string;
  /** Extra `node` flags for promspool (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Extra command line flags for vmagent. */
  vmagentFlags?: string[];
  /**
   * Relabel rules both agents apply to what they forward, in Prometheus' syntax (promspool
   * `write_relabel_configs`, vmagent `-remoteWrite.urlRelabelConfig`): the same work for each.
   */
  writeRelabelConfigs?: Record<string, unknown>[];
  /** promspool `protobuf_message` (default 1.0); vmagent has no such setting and refuses 2.0. */
  protobufMessage?: 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';
  /**
   * Labels added to every series sent unless it has one of that name: promspool
   * `global.external_labels`, vmagent `-remoteWrite.label`.
   */
  externalLabels?: Record<string, string>;
}

/** `--external-labels`: one `cluster` label, as a Prometheus agent's config typically carries. */
export const BENCH_EXTERNAL_LABELS: Record<string, string> = { cluster: 'bench-eu-west-1' };

/**
 * The issue's relabel workload on bench/lib/rw-bodies series: a drop by a name regex matching
 * 10% of series (`bench_metric_[0-4]_total` of names `bench_metric_{i % 50}_total`), a
 * `labeldrop`, and a `replace` adding a label.
 */
export const BENCH_RELABEL_RULES: Record<string, unknown>[] = [
  { source_labels: ['__name__'], regex: 'bench_metric_[0-4]_total', action: 'drop' },
  { regex: 'team', action: 'labeldrop' },
  { target_label: 'relayed_by', replacement: 'agent' },
];

/**
 * {@link BENCH_RELABEL_RULES} with the same outcome through a rule outside the relay's plan by
 * label name (src/relay/name-rule-plan.ts): the added label by a replace with `source_labels`
 * (every `__name__` of the benchmark matches), so the relay scan takes its outcome cache
 * (bench/relay `--relabel-rules=cache`).
 */
export const BENCH_RELABEL_RULES_CACHED: Record<string, unknown>[] = [
  BENCH_RELABEL_RULES[0],
  BENCH_RELABEL_RULES[1],
  { source_labels: ['__name__'], regex: 'bench_.*', target_label: 'relayed_by', replacement: 'agent' },
];

/** Whether bench/lib/rw-bodies series `i` survives {@link BENCH_RELABEL_RULES}. */
export function keptByBenchRelabel(i: number): boolean {
  return i % 50 >= 5;
}

/** A running agent. */
export interface Agent {
  readonly kind: AgentKind;
  readonly pid: number;
  /** The agent's process; undefined when it runs in this one ({@link startPromspoolInProcess}). */
  readonly process?: ChildProcess;
  /** Its remote-write receiver URL. */
  readonly writeUrl: string;
  readonly baseUrl: string;
  /** Milliseconds from spawn until the readiness endpoint answered 200. */
  readonly startMs: number;
  /** SIGTERM, wait for exit (SIGKILL after `timeoutMs`). Resolves with the milliseconds it took. */
  stop(timeoutMs?: number): Promise<number>;
}

const VMAGENT_PATHS = ['/usr/bin/vmagent', '/usr/local/bin/vmagent'];

/** Path of an executable vmagent, or undefined when it is not installed. */
export function vmagentPath(): string | undefined {
  for (const p of VMAGENT_PATHS) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** A TCP port free on 127.0.0.1 right now (bound then released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The YAML promspool runs with for `opts` on `port`. */
export function promspoolConfigYaml(opts: AgentOptions, port: number): string {
  return [
    `server: { listen_address: '127.0.0.1:${port}', shutdown_timeout: 5s }`,
    // PROMSPOOL_BENCH_MAX_MEMORY (e.g. 160MiB): storage.max_memory_bytes, to measure the limit.
    `storage: { path: '${opts.dataDir}', max_disk_bytes: ${opts.maxDiskBytes ?? 0}, fsync: interval${process.env.PROMSPOOL_BENCH_MAX_MEMORY ? `, max_memory_bytes: ${process.env.PROMSPOOL_BENCH_MAX_MEMORY}` : ''} }`,
    'self_monitoring: { enabled: false }',
    ...(opts.externalLabels === undefined
      ? []
      : [`global: { external_labels: ${JSON.stringify(opts.externalLabels)} }`]),
    'remote_write:',
    '  - name: sink',
    `    url: '${opts.sinkUrl}'`,
    '    metadata_config: { send: false }',
    ...(opts.protobufMessage === undefined ? [] : [`    protobuf_message: ${opts.protobufMessage}`]),
    `    queue_config: { min_shards: ${opts.shards}, max_shards: ${opts.shards}, max_samples_per_send: ${opts.samplesPerSend}, min_backoff: 30ms, max_backoff: ${opts.maxBackoff ?? '1s'} }`,
    ...(opts.writeRelabelConfigs === undefined
      ? []
      : [`    write_relabel_configs: ${JSON.stringify(opts.writeRelabelConfigs)}`]),
    '',
  ].join('\n');
}

const BIN_PROMSPOOL = fileURLToPath(new URL('../../../bin/promspool.js', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../../../bin/promspool', import.meta.url));

/**
 * The node flags `bin/promspool` (what `npm start` and the installed `promspool` run) gives the
 * daemon, read from its `exec node ...` line so the benchmark runs the daemon exactly as shipped
 * while still accepting extra flags (`--cpu-prof`, `--trace-gc`) that NODE_OPTIONS refuses.
 */
export function daemonNodeFlags(): string[] {
  const m = /^exec node (.*?) "\$here\/promspool\.js" "\$@"$/m.exec(readFileSync(LAUNCHER, 'utf8'));
  if (!m) throw new Error(`no "exec node ... promspool.js" line in ${LAUNCHER}`);
  return m[1].split(' ').filter(Boolean);
}

/** Starts promspool's daemon (config written to `<dataDir>.yaml`) and waits until `/-/ready`. */
export async function startPromspool(opts: AgentOptions, readyTimeoutMs = 120_000): Promise<Agent> {
  const port = await freePort();
  const configPath = `${opts.dataDir}.yaml`;
  writeFileSync(configPath, promspoolConfigYaml(opts, port));
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...daemonNodeFlags(), ...(opts.nodeFlags ?? []), BIN_PROMSPOOL, '--config', configPath, '--log.level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const startMs = (await waitReady(child, `${baseUrl}/-/ready`, readyTimeoutMs)) - t0;
  return agentHandle('promspool', child, baseUrl, `${baseUrl}/api/v1/write`, startMs);
}

/** Starts vmagent with settings equivalent to {@link startPromspool}'s and waits until `/health`. */
export async function startVmagent(opts: AgentOptions, readyTimeoutMs = 60_000): Promise<Agent> {
  const bin = vmagentPath();
  if (!bin) throw new Error('vmagent is not installed');
  const port = await freePort();
  const relabelFlags: string[] = [];
  for (const [name, value] of Object.entries(opts.externalLabels ?? {})) {
    relabelFlags.push(`-remoteWrite.label=${name}=${value}`);
  }
  if (opts.writeRelabelConfigs !== undefined) {
    const file = `${opts.dataDir}-relabel.yaml`;
    writeFileSync(file, JSON.stringify(opts.writeRelabelConfigs));
    relabelFlags.push(`-remoteWrite.urlRelabelConfig=${file}`);
  }
  const t0 = performance.now();
  const child = spawn(
    bin,
    [
      ...relabelFlags,
      `-httpListenAddr=127.0.0.1:${port}`,
      `-remoteWrite.url=${opts.sinkUrl}`,
      `-remoteWrite.tmpDataPath=${join(opts.dataDir)}`,
      `-remoteWrite.queues=${opts.shards}`,
      `-remoteWrite.maxRowsPerBlock=${opts.samplesPerSend}`,
      `-remoteWrite.maxDiskUsagePerURL=${opts.maxDiskBytes ?? 0}`,
      '-loggerLevel=ERROR',
      ...(opts.vmagentFlags ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const startMs = (await waitReady(child, `${baseUrl}/health`, readyTimeoutMs)) - t0;
  return agentHandle('vmagent', child, baseUrl, `${baseUrl}/api/v1/write`, startMs);
}

/** The relay route's counts of an in-process promspool's endpoint (`RelayRouteStats`). */
export type RelayWays = { storedBytes: number; storedLabels: number; transcoded: number; decoded: number };

/**
 * promspool's daemon in this process (`startDaemon`, the config {@link startPromspool} writes),
 * without bin/promspool's node flags: its CPU and RSS are this process's (the benchmark's own
 * polling included), and `ways()` reads its endpoint's relay route counts, which the daemon does
 * not publish.
 */
export async function startPromspoolInProcess(opts: AgentOptions): Promise<Agent & { ways(): RelayWays | undefined }> {
  const { parseConfig } = await import('../../src/config/index.js');
  const { startDaemon } = await import('../../src/daemon/daemon.js');
  const port = await freePort();
  const parsed = parseConfig(promspoolConfigYaml(opts, port));
  if (parsed.config === undefined) throw new Error(`bench config: ${JSON.stringify(parsed.errors)}`);
  const t0 = performance.now();
  const daemon = await startDaemon(parsed.config, { collectDefaultMetrics: false });
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    kind: 'promspool',
    pid: process.pid,
    baseUrl,
    writeUrl: `${baseUrl}/api/v1/write`,
    startMs: performance.now() - t0,
    stop: async () => {
      const s = performance.now();
      await daemon.stop();
      return performance.now() - s;
    },
    ways: () => daemon.queue.endpointDetails?.()[0]?.delivery.relay,
  };
}

/** Starts the agent of `kind`. */
export function startAgent(kind: AgentKind, opts: AgentOptions): Promise<Agent> {
  return kind === 'promspool' ? startPromspool(opts) : startVmagent(opts);
}

/**
 * Polls `url` every 5 ms until it answers 200; resolves with `performance.now()` at that answer.
 * Rejects if the process exits first or after `timeoutMs`.
 */
export async function waitReady(child: ChildProcess, url: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  while (performance.now() < deadline) {
    if (exited) throw new Error(`${url}: agent ${exited} before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now();
    } catch {}
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  throw new Error(`${url}: not ready after ${timeoutMs} ms`);
}

function agentHandle(kind: AgentKind, child: ChildProcess, baseUrl: string, writeUrl: string, startMs: number): Agent {
  return {
    kind,
    pid: child.pid ?? 0,
    process: child,
    baseUrl,
    writeUrl,
    startMs,
    stop: async (timeoutMs = 60_000) => {
      const t0 = performance.now();
      if (child.exitCode !== null || child.signalCode !== null) return 0;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      return performance.now() - t0;
    },
  };
}
