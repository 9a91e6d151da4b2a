/**
 * Helpers for the end-to-end tests of promspool as a daemon: run the real built CLI
 * (`node bin/promspool.js`) as a child process, push remote-write load into it from several lanes
 * while recording which samples were acknowledged with 204, and check what a receiver got against
 * that ledger (missing, duplicates, wrong values, per-series order within each daemon run).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeReceiver } from '../helpers/fake-receiver.js';
import { seriesKey } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, buildWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';

/** dist/test/integration -> repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The real command line entry point; it runs dist/src/daemon/cli.js. */
export const PROMSPOOL_BIN = join(REPO_ROOT, 'bin', 'promspool.js');

/** A temp directory under os.tmpdir(); `remove()` is idempotent. */
export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `promspool-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** One `remote_write` entry of a test config. `queueConfig` values are YAML scalars (`100ms`, `2`). */
export interface TestEndpoint {
  name: string;
  url: string;
  protobufMessage?: 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';
  queueConfig?: Record<string, string | number>;
  /** `write_relabel_configs`, written as YAML flow (JSON) as given. */
  writeRelabelConfigs?: Record<string, unknown>[];
}

export interface DaemonConfigOptions {
  dataDir: string;
  endpoints: TestEndpoint[];
  fsync?: 'always' | 'interval' | 'never';
  /** Default 200ms: segments seal quickly, so delivery starts quickly. */
  batchInterval?: string;
  shutdownTimeout?: string;
  externalLabels?: Record<string, string>;
  /** Default off, so receivers see only what the test pushes. */
  selfMonitoringInterval?: string;
}

/**
 * Fast defaults for every endpoint: small deadline and backoffs so a test never waits seconds for
 * a batch or a retry.
 */
const FAST_QUEUE_CONFIG: Record<string, string | number> = {
  batch_send_deadline: '100ms',
  min_backoff: '20ms',
  max_backoff: '200ms',
};

/** YAML of a daemon config listening on 127.0.0.1:`port`. */
export function daemonConfigYaml(port: number, o: DaemonConfigOptions): string {
  const lines = [
    'server:',
    `  listen_address: 127.0.0.1:${port}`,
    `  shutdown_timeout: ${o.shutdownTimeout ?? '10s'}`,
    'storage:',
    `  path: ${JSON.stringify(o.dataDir)}`,
    `  batch_interval: ${o.batchInterval ?? '200ms'}`,
    `  fsync: ${o.fsync ?? 'interval'}`,
    '  fsync_interval: 100ms',
  ];
  if (o.externalLabels) {
    lines.push('global:', '  external_labels:');
    for (const [k, v] of Object.entries(o.externalLabels)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  }
  lines.push('self_monitoring:');
  if (o.selfMonitoringInterval) lines.push('  enabled: true', `  interval: ${o.selfMonitoringInterval}`);
  else lines.push('  enabled: false');
  lines.push('remote_write:');
  for (const ep of o.endpoints) {
    lines.push(`  - name: ${ep.name}`, `    url: ${ep.url}`);
    if (ep.protobufMessage) lines.push(`    protobuf_message: ${ep.protobufMessage}`);
    if (ep.writeRelabelConfigs) lines.push(`    write_relabel_configs: ${JSON.stringify(ep.writeRelabelConfigs)}`);
    lines.push('    queue_config:');
    for (const [k, v] of Object.entries({ ...FAST_QUEUE_CONFIG, ...ep.queueConfig })) lines.push(`      ${k}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line of the daemon (`--log.format json`). */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** A running `node bin/promspool.js ...` child. */
export interface CliProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Whether it has exited already. */
  readonly exitInfo: ExitInfo | undefined;
  /** Every JSON log line so far (stderr); non-JSON lines come back as `{level:'raw', msg}`. */
  logs(): LogLine[];
  stdout(): string;
  /** The last `n` raw output lines, for assertion messages. */
  tail(n?: number): string;
  /**
   * Resolves with the first log line at index >= `from` matching `match` (its msg, or a predicate);
   * rejects after `timeoutMs` or when the process exits first.
   */
  waitForLog(match: string | ((l: LogLine) => boolean), timeoutMs: number, from?: number): Promise<LogLine>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL now (if still running) and wait for the exit. */
  kill9(): Promise<ExitInfo>;
}

/** Children still running, SIGKILLed if the test process exits without ending them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Spawns `node bin/promspool.js <args>` in `cwd`, capturing its output. */
export function spawnCli(args: string[], cwd: string): CliProcess {
  installExitHook();
  const child = spawn(process.execPath, [PROMSPOOL_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: LogLine[] = [];
  const raw: string[] = [];
  let stdout = '';
  let partial = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    partial += chunk;
    let nl = partial.indexOf('\n');
    while (nl >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      raw.push(line);
      if (raw.length > 2000) raw.splice(0, 1000);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ level: 'raw', msg: line });
      }
      nl = partial.indexOf('\n');
    }
    notify();
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
  });
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exitInfo = { code, signal };
      resolve(exitInfo);
      notify();
    });
    child.once('error', () => {
      live.delete(child);
      exitInfo = { code: null, signal: null };
      resolve(exitInfo);
      notify();
    });
  });
  const tail = (n = 30) => raw.slice(-n).join('\n');
  return {
    pid: child.pid ?? -1,
    child,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    logs: () => lines,
    stdout: () => stdout,
    tail,
    waitForLog(match, timeoutMs, from = 0) {
      const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          for (let i = from; i < lines.length; i++) {
            if (test(lines[i])) {
              done();
              resolve(lines[i]);
              return;
            }
          }
          if (exitInfo) {
            done();
            reject(
              new Error(`promspool exited (${JSON.stringify(exitInfo)}) before logging ${String(match)}:\n${tail()}`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`promspool did not log ${String(match)} within ${timeoutMs} ms:\n${tail()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    signal(sig) {
      if (!exitInfo) child.kill(sig);
    },
    async kill9() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Runs the CLI to completion (e.g. `check-config`). */
export async function runCli(
  args: string[],
  cwd: string,
  timeoutMs = 20_000,
): Promise<ExitInfo & { stdout: string; stderr: string }> {
  const p = spawnCli(args, cwd);
  const timer = setTimeout(() => p.signal('SIGKILL'), timeoutMs);
  const info = await p.exited;
  clearTimeout(timer);
  return { ...info, stdout: p.stdout(), stderr: p.tail(1000) };
}

/** A daemon child started with a config file on a free port and found ready. */
export interface DaemonProcess extends CliProcess {
  readonly url: string;
  readonly port: number;
  readonly writeUrl: string;
  readonly configPath: string;
  /** SIGTERM and wait for the exit; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

export interface StartDaemonProcessOptions {
  /** The config text for a given port (a fresh port is tried if the first is taken). */
  configYaml: (port: number) => string;
  /** Where the config file is written (`promspool.yaml`) and the process runs. */
  dir: string;
  readyTimeoutMs?: number;
  /** `--log.level`; default `info`, or `PROMSPOOL_TEST_LOG_LEVEL` when set (e.g. `debug` to investigate). */
  logLevel?: string;
}

/**
 * Writes the config, runs `node bin/promspool.js --config <file> --log.format json`, awaits its
 * `listening` log line, then checks `/-/ready` answers 200. A port taken between `freePort()` and
 * bind is retried with another.
 */
export async function startDaemonProcess(o: StartDaemonProcessOptions): Promise<DaemonProcess> {
  const { writeFile } = await import('node:fs/promises');
  const configPath = join(o.dir, 'promspool.yaml');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(configPath, o.configYaml(port));
    const level = o.logLevel ?? process.env.PROMSPOOL_TEST_LOG_LEVEL ?? 'info';
    const p = spawnCli(['--config', configPath, '--log.format', 'json', '--log.level', level], o.dir);
    try {
      await p.waitForLog('listening', o.readyTimeoutMs ?? 20_000);
    } catch (err) {
      await p.kill9();
      if (attempt < 3 && /EADDRINUSE/.test(p.tail())) continue;
      throw err;
    }
    const url = `http://127.0.0.1:${port}`;
    const ready = await httpRequest(`${url}/-/ready`);
    if (ready.status !== 200) {
      await p.kill9();
      throw new Error(`/-/ready answered ${ready.status} after "listening":\n${p.tail()}`);
    }
    return Object.assign(p, {
      url,
      port,
      writeUrl: `${url}/api/v1/write`,
      configPath,
      async stop(timeoutMs = 20_000) {
        p.signal('SIGTERM');
        const timer = setTimeout(() => p.signal('SIGKILL'), timeoutMs);
        const info = await p.exited;
        clearTimeout(timer);
        return info;
      },
    });
  }
}

/** POSTs a snappy remote-write body on its own connection (no keep-alive socket outlives the daemon). */
export async function postWrite(url: string, body: Uint8Array, version: '1.0' | '2.0' = '1.0') {
  const v2 = version === '2.0';
  return httpRequest(url, {
    method: 'POST',
    body,
    timeoutMs: 30_000,
    headers: {
      'content-type': v2 ? 'application/x-protobuf;proto=io.prometheus.write.v2.Request' : 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': v2 ? '2.0.0' : '0.1.0',
    },
  });
}

/**
 * Starts a remote-write POST whose body arrives in two parts: the first now, the rest when
 * `finish()` is called. While it waits, the daemon holds the request in flight (it is past the
 * shutdown check and reading the body).
 */
export function startSlowWrite(url: string, body: Uint8Array): { finish(): Promise<number> } {
  const half = Math.max(1, Math.floor(body.length / 2));
  let resolveStatus!: (s: number) => void;
  let rejectStatus!: (e: Error) => void;
  const status = new Promise<number>((res, rej) => {
    resolveStatus = res;
    rejectStatus = rej;
  });
  const req = request(url, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'content-length': String(body.length),
    },
  });
  req.on('response', (res) => {
    res.resume();
    res.on('end', () => resolveStatus(res.statusCode ?? 0));
  });
  req.on('error', rejectStatus);
  req.write(body.subarray(0, half));
  return {
    finish() {
      req.end(body.subarray(half));
      return status;
    },
  };
}

/** The deterministic content of one lane's requests: `series` series, `samples` samples each per request. */
export interface LaneShape {
  metric: string;
  series: number;
  samples: number;
  /** Timestamp of sample 0 of request 0. */
  t0: number;
  /** Milliseconds between consecutive samples of a series. */
  stepMs: number;
}

export function laneLabels(shape: LaneShape, lane: number, s: number): Record<string, string> {
  return { __name__: shape.metric, lane: String(lane), s: String(s) };
}

/** Timestamp of sample `j` of request `seq`. */
export function laneTs(shape: LaneShape, seq: number, j: number): number {
  return shape.t0 + (seq * shape.samples + j) * shape.stepMs;
}

/** The value every sample carries: derived from lane, series and position, so a wrong one is caught. */
export function laneValue(lane: number, s: number, index: number): number {
  return lane * 1_000_000_000 + s * 1_000_000 + index;
}

export function laneRequest(shape: LaneShape, lane: number, seq: number): SeriesInput[] {
  const out: SeriesInput[] = [];
  for (let s = 0; s < shape.series; s++) {
    const samples: [number, number][] = [];
    for (let j = 0; j < shape.samples; j++) {
      samples.push([laneTs(shape, seq, j), laneValue(lane, s, seq * shape.samples + j)]);
    }
    out.push({ labels: laneLabels(shape, lane, s), samples });
  }
  return out;
}

/** What happened to each request pushed: acknowledged (204), refused (503), or unknown (error, other status). */
export class PushLedger {
  /** Acknowledged request seqs per lane. */
  readonly acked = new Map<number, number[]>();
  readonly statuses = new Map<number | string, number>();
  ackedRequests = 0;

  constructor(readonly shape: LaneShape) {}

  get ackedSamples(): number {
    return this.ackedRequests * this.shape.series * this.shape.samples;
  }

  record(lane: number, seq: number, outcome: number | string): void {
    this.statuses.set(outcome, (this.statuses.get(outcome) ?? 0) + 1);
    if (outcome === 204) {
      let list = this.acked.get(lane);
      if (!list) this.acked.set(lane, (list = []));
      list.push(seq);
      this.ackedRequests++;
    }
  }

  /** A ledger holding only the acknowledged requests for which `keep` is true. */
  subset(keep: (lane: number, seq: number) => boolean): PushLedger {
    const out = new PushLedger(this.shape);
    for (const [lane, seqs] of this.acked) for (const seq of seqs) if (keep(lane, seq)) out.record(lane, seq, 204);
    return out;
  }

  /** Request seqs of `lane` acknowledged so far (a copy). */
  ackedSeqs(lane: number): number[] {
    return [...(this.acked.get(lane) ?? [])];
  }
}

export interface PushLoadOptions {
  /** The receiver URL; a function so a restarted daemon (new port) can be followed. */
  url: () => string;
  ledger: PushLedger;
  lanes: number;
  version?: '1.0' | '2.0';
  /** Called synchronously with each outcome, e.g. to SIGKILL the daemon right after a 204. */
  onOutcome?: (lane: number, seq: number, outcome: number | string) => void;
  /** Pause after a failed request (connection refused while the daemon is down); default 20 ms. */
  errorPauseMs?: number;
  /** Lanes stop on their own after this many requests each. */
  maxRequestsPerLane?: number;
  /** Pause between a lane's requests (paces the load); default none. */
  pauseMs?: number;
}

/** Sequential pushers, one request in flight per lane; each lane's series are its own, so per-series order is defined. */
export interface PushLoad {
  /** Next request seq per lane. */
  readonly nextSeq: number[];
  /** Requests sent and not yet answered (or failed), now. */
  readonly inFlight: number;
  /** Resolves once the ledger holds at least `n` acknowledged requests (rejects after `timeoutMs`). */
  waitForAcked(n: number, timeoutMs: number): Promise<void>;
  /** Resolves once some request ended with `outcome` (e.g. 503) after this call (rejects after `timeoutMs`). */
  waitForOutcome(outcome: number | string, timeoutMs: number): Promise<void>;
  /** Lets each lane finish its current request, then stops. */
  stop(): Promise<void>;
}

export function startPushLoad(o: PushLoadOptions, startSeq: number[] = []): PushLoad {
  const { ledger } = o;
  const nextSeq = Array.from({ length: o.lanes }, (_, i) => startSeq[i] ?? 0);
  let stopped = false;
  let inFlight = 0;
  const waiters = new Set<(outcome: number | string) => void>();
  const waitFor = (done: (outcome?: number | string) => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = (outcome?: number | string) => {
        if (done(outcome)) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `${what} not seen within ${timeoutMs} ms (outcomes so far ${JSON.stringify(Object.fromEntries(ledger.statuses))})`,
          ),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const lane = async (l: number) => {
    let sent = 0;
    while (!stopped && (o.maxRequestsPerLane === undefined || sent < o.maxRequestsPerLane)) {
      const seq = nextSeq[l]++;
      sent++;
      const series = laneRequest(ledger.shape, l, seq);
      const body = o.version === '2.0' ? buildWriteRequestV2(series) : buildWriteRequestV1(series);
      let outcome: number | string;
      inFlight++;
      try {
        outcome = (await postWrite(o.url(), body, o.version)).status;
      } catch (err) {
        outcome = (err as NodeJS.ErrnoException).code ?? 'error';
      }
      inFlight--;
      ledger.record(l, seq, outcome);
      o.onOutcome?.(l, seq, outcome);
      for (const w of [...waiters]) w(outcome);
      const pause = outcome === 204 ? (o.pauseMs ?? 0) : (o.errorPauseMs ?? 20);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  };
  const running = Promise.all(Array.from({ length: o.lanes }, (_, l) => lane(l)));
  return {
    nextSeq,
    get inFlight() {
      return inFlight;
    },
    waitForAcked(n, timeoutMs) {
      return waitFor(() => ledger.ackedRequests >= n, timeoutMs, `${n} acknowledged requests`);
    },
    waitForOutcome(outcome, timeoutMs) {
      return waitFor((o) => o === outcome, timeoutMs, `outcome ${outcome}`);
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** What a receiver got, judged against the acknowledged pushes. */
export interface DeliveryReport {
  /** Acknowledged samples the receiver never got. */
  missing: number;
  /** Receptions beyond the first of a (series, timestamp). */
  duplicates: number;
  /** Received samples whose value is not the one pushed at that timestamp. */
  wrongValues: number;
  /** Received samples of request seqs never acknowledged (in flight at a kill): allowed, counted. */
  unacknowledgedDelivered: number;
  /** Within one daemon run (between `runMarks`), a series' timestamps not strictly increasing. */
  orderViolations: number;
  /**
   * First receptions of a (series, timestamp) older than an earlier first reception of that series:
   * new data overtaking older new data. Resends of already delivered samples do not count, so this
   * is the per-series order property of at-least-once delivery across any restarts.
   */
  newSampleOrderViolations: number;
  /** A few missing samples, for the assertion message. */
  examples: string[];
}

/** Per series, how many samples the receiver held at that moment: a boundary between daemon runs. */
export type RunMark = Map<string, number>;

export function markRun(receiver: FakeReceiver): RunMark {
  const m: RunMark = new Map();
  for (const [k, v] of receiver.received) m.set(k, v.length);
  return m;
}

/**
 * Compares `received` (series key -> samples in arrival order) with the ledger. `runMarks` are
 * the arrival positions where a new daemon run began: order is checked within each run only, since
 * after a crash a run may legitimately resend what the previous run delivered but did not record.
 */
export function checkDelivery(
  ledger: PushLedger,
  received: Map<string, { ts: number; value: number }[]>,
  lanes: number,
  runMarks: RunMark[] = [],
): DeliveryReport {
  const shape = ledger.shape;
  const report: DeliveryReport = {
    missing: 0,
    duplicates: 0,
    wrongValues: 0,
    unacknowledgedDelivered: 0,
    orderViolations: 0,
    newSampleOrderViolations: 0,
    examples: [],
  };
  for (let l = 0; l < lanes; l++) {
    const ackedSet = new Set(ledger.ackedSeqs(l));
    for (let s = 0; s < shape.series; s++) {
      const key = seriesKey(laneLabels(shape, l, s));
      const got = received.get(key) ?? [];
      const counts = new Map<number, number>();
      const bounds = runMarks.map((m) => m.get(key) ?? 0);
      let prevTs = Number.NEGATIVE_INFINITY;
      let newestFirst = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < got.length; i++) {
        if (bounds.includes(i)) prevTs = Number.NEGATIVE_INFINITY;
        const { ts, value } = got[i];
        if (ts <= prevTs) report.orderViolations++;
        prevTs = ts;
        const index = Math.round((ts - shape.t0) / shape.stepMs);
        if (value !== laneValue(l, s, index)) report.wrongValues++;
        const c = (counts.get(ts) ?? 0) + 1;
        counts.set(ts, c);
        if (c > 1) {
          report.duplicates++;
          continue;
        }
        if (ts < newestFirst) report.newSampleOrderViolations++;
        newestFirst = Math.max(newestFirst, ts);
        if (!ackedSet.has(Math.floor(index / shape.samples))) report.unacknowledgedDelivered++;
      }
      for (const seq of ackedSet) {
        for (let j = 0; j < shape.samples; j++) {
          const ts = laneTs(shape, seq, j);
          if (!counts.has(ts)) {
            report.missing++;
            if (report.examples.length < 5) report.examples.push(`${key} seq ${seq} ts ${ts}`);
          }
        }
      }
    }
  }
  return report;
}

/** True once every acknowledged sample is in `received` (cheap count check first). */
export function allAckedArrived(ledger: PushLedger, receiver: FakeReceiver, lanes: number): boolean {
  if (receiver.totalSamples < ledger.ackedSamples) return false;
  return checkDelivery(ledger, receiver.received, lanes).missing === 0;
}

/** The value of one sample line of a Prometheus exposition text, e.g. `promspool_x{a="b"}`; undefined if absent. */
export function metricValue(exposition: string, nameAndLabels: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${nameAndLabels} `)) return Number(line.slice(nameAndLabels.length + 1));
  }
  return undefined;
}

/** The values of the sample lines of metric `name` (any labels) whose labels include every `labels` pair. */
function metricValues(exposition: string, name: string, labels: Readonly<Record<string, string>>): number[] {
  const out: number[] = [];
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      out.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** The value of the first sample line of `name` whose labels include every `labels` pair; undefined if none. */
export function labeledMetricValue(
  exposition: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return metricValues(exposition, name, labels)[0];
}

/** The sum over the sample lines of `name` whose labels include every `labels` pair (e.g. every `reason`). */
export function metricSum(exposition: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return metricValues(exposition, name, labels).reduce((a, b) => a + b, 0);
}

/**
 * Waits until `receiver` holds every sample acknowledged in `ledger`; on timeout the error says
 * how many are missing and which, so a failure shows what was lost rather than just "timed out".
 */
export async function waitAllArrived(
  ledger: PushLedger,
  receiver: FakeReceiver,
  lanes: number,
  timeoutMs: number,
): Promise<void> {
  try {
    await receiver.waitFor((r) => allAckedArrived(ledger, r, lanes), timeoutMs);
  } catch {
    const report = checkDelivery(ledger, receiver.received, lanes);
    throw new Error(
      `after ${timeoutMs} ms, ${report.missing} of ${ledger.ackedSamples} acknowledged samples never arrived ` +
        `(receiver got ${receiver.totalSamples} in ${receiver.requests} requests), e.g. ${report.examples.join('; ')}`,
    );
  }
}
