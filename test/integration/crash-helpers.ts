/**
 * Pieces of the crash and chaos proofs (crash.test.ts, chaos.test.ts): the real daemon as a child
 * process that can be SIGKILLed and restarted on the same data dir, a remote-write pusher whose
 * every sample is identifiable and whose acknowledgements are recorded exactly, a TCP gate that
 * takes a real receiver "down", and the comparison of what was acknowledged with what a receiver
 * holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import { httpRequest } from './harness/http.js';
import { waitUntil } from './harness/wait.js';

/** dist/test/integration -> repository root. */
const ROOT = new URL('../../../', import.meta.url).pathname;
export const DAEMON_BIN = join(ROOT, 'bin', 'promspool.js');

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: tiny deterministic PRNG, so a failing seed replays the same kills and faults. */
export class SeededRandom {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** [0, 1) */
  float(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }
}

/** A positive integer from the environment, or `fallback` when unset or empty. Throws on garbage. */
export function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

/** `PROMSPOOL_<X>_SEED` if set, else a fresh seed; always logged by the caller so a failure replays. */
export function seedFromEnv(name: string): number {
  const raw = process.env[name];
  return raw ? Number(raw) >>> 0 : Math.floor(Math.random() * 2 ** 31);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// The daemon as a child process

export interface DaemonYamlOptions {
  port: number;
  dataDir: string;
  endpoints: { name: string; url: string }[];
  /** `storage.batch_interval`, e.g. `200ms`. */
  batchInterval: string;
  maxSignalsToBatch?: number;
  remoteTimeout?: string;
  /** Extra `queue_config` YAML flow-map entries, e.g. `max_samples_per_send: 500`. */
  queueConfig?: Record<string, string | number | boolean>;
}

/** A daemon config: fsync always (a 2xx means on disk), self-monitoring off (only the pusher's series). */
export function daemonConfigYaml(o: DaemonYamlOptions): string {
  const qc = Object.entries(o.queueConfig ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const endpoints = o.endpoints
    .map(
      (e) =>
        `  - name: ${e.name}\n    url: ${e.url}\n    remote_timeout: ${o.remoteTimeout ?? '2s'}\n` +
        `    metadata_config: { send: false }\n    queue_config: { ${qc} }\n`,
    )
    .join('');
  return `server:
  listen_address: 127.0.0.1:${o.port}
  shutdown_timeout: 5s
storage:
  path: ${o.dataDir}
  fsync: always
  batch_interval: ${o.batchInterval}
  max_signals_to_batch: ${o.maxSignalsToBatch ?? 2000}
self_monitoring:
  enabled: false
remote_write:
${endpoints}`;
}

const LOG_TAIL_CHARS = 32 * 1024;
const liveDaemons = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A started `node bin/promspool.js --config FILE`, ready (`/-/ready` = 200). */
export interface DaemonProcess {
  readonly pid: number;
  readonly url: string;
  /** Milliseconds from spawn to `/-/ready` = 200 (includes replaying the backlog). */
  readonly readyAfterMs: number;
  /** Resident set size from /proc/<pid>/status, in KiB. */
  rssKiB(): number;
  /** Sends SIGTERM (graceful stop begins) without waiting. */
  terminate(): void;
  /** SIGKILL; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful drain); resolves with the exit code, SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Its last log lines (stderr). */
  logTail(): string;
}

/** Spawns the daemon and waits until it is ready; rejects with its log tail if it exits or is not ready in time. */
export async function startDaemonProcess(
  configPath: string,
  port: number,
  readyTimeoutMs = 20_000,
): Promise<DaemonProcess> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A crashed test must not leave daemons behind.
    process.on('exit', () => {
      for (const c of liveDaemons) c.kill('SIGKILL');
    });
  }
  const started = Date.now();
  const child = spawn(process.execPath, [DAEMON_BIN, '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  liveDaemons.add(child);
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    log += chunk;
    if (log.length > LOG_TAIL_CHARS) log = log.slice(-LOG_TAIL_CHARS);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      liveDaemons.delete(child);
      resolve(code);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      async () => {
        if (exitCode !== undefined) throw new Error(`daemon exited with ${exitCode}`);
        return (await httpRequest(`${url}/-/ready`)).status === 200;
      },
      {
        timeoutMs: readyTimeoutMs,
        intervalMs: 20,
        until: (ok) => ok && exitCode === undefined,
        description: 'daemon ready',
      },
    );
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${(err as Error).message}\n--- daemon log tail ---\n${log.slice(-4000)}`);
  }
  const readyAfterMs = Date.now() - started;
  return {
    pid: child.pid!,
    url,
    readyAfterMs,
    rssKiB() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (!m) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(m[1]);
    },
    terminate() {
      if (exitCode === undefined) child.kill('SIGTERM');
    },
    async kill9() {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 15_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    logTail: () => log.slice(-4000),
  };
}

// ---------------------------------------------------------------------------------------------
// A gate in front of a real receiver: up = TCP pass-through, down = every connection reset

export interface ReceiverGate {
  readonly port: number;
  readonly url: string;
  readonly down: boolean;
  /** Down destroys every open connection and resets new ones until set up again. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `targetPort`, so a receiver can be "down" without losing its data. */
export async function startReceiverGate(targetPort: number, path = '/api/v1/write'): Promise<ReceiverGate> {
  let down = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}${path}`,
    get down() {
      return down;
    },
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The pusher: identifiable samples, exact acknowledgement ledger

export const METRIC = 'promspool_crash_sample';

export interface PusherOptions {
  /** Receiver URL (the daemon's `/api/v1/write`). */
  url: string;
  /** Concurrent senders; each owns its own series, so per series the pusher itself never reorders. */
  workers: number;
  seriesPerWorker: number;
  /** Consecutive samples of each owned series in one request. */
  samplesPerSeries: number;
  /** Pause after each acknowledged request (paces the load). */
  intervalMs: number;
  /** Pause before re-sending a request that failed. */
  retryMs: number;
  /** Timestamp of sample 0 of every series. */
  baseTimestampMs: number;
  /** Milliseconds between consecutive samples of a series. */
  stepMs: number;
}

/**
 * What the pusher sent and what was acknowledged. A worker re-sends a request until it gets a 2xx
 * (like Prometheus), and only then moves on, so the acknowledged samples of series `s` are exactly
 * samples `0 .. acked[s]-1`; `sent[s]` is one past the highest sample ever put on the wire.
 */
export interface PushLedger {
  readonly series: number;
  readonly acked: Int32Array;
  readonly sent: Int32Array;
  readonly baseTimestampMs: number;
  readonly stepMs: number;
}

export interface PusherStats {
  requestsAcked: number;
  samplesAcked: number;
  /** Attempts answered with a non-2xx status, by status. */
  failedByStatus: Record<string, number>;
  /** Attempts that ended without an answer (connection refused or reset: the daemon was killed). */
  failedNoAnswer: number;
  /**
   * Samples of acknowledged requests that had an earlier attempt without an answer: that attempt
   * may have been durable already, so these bound the duplicates the SENDER may have caused.
   */
  samplesResentAfterNoAnswer: number;
  /** 4xx other than 429: a bug in the test or the daemon (the pusher stops that worker). */
  rejected: string[];
}

export function seriesName(index: number): string {
  return `s${String(index).padStart(5, '0')}`;
}

/** The value of sample `k`: its index, an exact integer in every receiver. */
export function sampleValue(k: number): number {
  return k;
}

export class Pusher {
  readonly ledger: PushLedger;
  readonly stats: PusherStats = {
    requestsAcked: 0,
    samplesAcked: 0,
    failedByStatus: {},
    failedNoAnswer: 0,
    samplesResentAfterNoAnswer: 0,
    rejected: [],
  };
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private loops: Promise<void>[] = [];
  private readonly agent = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000, connections: 8 });

  constructor(private readonly o: PusherOptions) {
    const n = o.workers * o.seriesPerWorker;
    this.ledger = {
      series: n,
      acked: new Int32Array(n),
      sent: new Int32Array(n),
      baseTimestampMs: o.baseTimestampMs,
      stepMs: o.stepMs,
    };
  }

  start(): void {
    for (let w = 0; w < this.o.workers; w++) this.loops.push(this.run(w));
  }

  /** Stops after the current attempt; a request not acknowledged by then stays unacknowledged. */
  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= Promise.all(this.loops).then(() => this.agent.close());
    return this.stopped;
  }

  private body(worker: number): { body: Buffer; samples: number } {
    const { seriesPerWorker, samplesPerSeries, baseTimestampMs, stepMs } = this.o;
    const series: SeriesInput[] = [];
    for (let i = 0; i < seriesPerWorker; i++) {
      const s = worker * seriesPerWorker + i;
      const first = this.ledger.acked[s];
      const samples: [number, number][] = [];
      for (let k = first; k < first + samplesPerSeries; k++)
        samples.push([baseTimestampMs + k * stepMs, sampleValue(k)]);
      series.push({ labels: { __name__: METRIC, series: seriesName(s) }, samples });
      this.ledger.sent[s] = Math.max(this.ledger.sent[s], first + samplesPerSeries);
    }
    return { body: buildWriteRequestV1(series), samples: seriesPerWorker * samplesPerSeries };
  }

  private async run(worker: number): Promise<void> {
    const { seriesPerWorker, samplesPerSeries } = this.o;
    while (!this.stopping) {
      const { body, samples } = this.body(worker);
      let noAnswerBefore = false;
      let acked = false;
      while (!this.stopping && !acked) {
        let status: number | undefined;
        try {
          const res = await request(this.o.url, {
            method: 'POST',
            body,
            dispatcher: this.agent,
            headers: {
              'content-type': 'application/x-protobuf',
              'content-encoding': 'snappy',
              'x-prometheus-remote-write-version': '0.1.0',
            },
          });
          status = res.statusCode;
          const text = await res.body.text();
          if (status >= 400 && status < 500 && status !== 429 && status !== 408) {
            this.stats.rejected.push(`${status}: ${text.slice(0, 200)}`);
            return;
          }
        } catch {
          status = undefined;
        }
        if (status !== undefined && status >= 200 && status < 300) {
          acked = true;
          break;
        }
        if (status === undefined) {
          this.stats.failedNoAnswer++;
          noAnswerBefore = true;
        } else {
          this.stats.failedByStatus[status] = (this.stats.failedByStatus[status] ?? 0) + 1;
        }
        await delay(this.o.retryMs);
      }
      if (!acked) return;
      if (noAnswerBefore) this.stats.samplesResentAfterNoAnswer += samples;
      for (let i = 0; i < seriesPerWorker; i++) this.ledger.acked[worker * seriesPerWorker + i] += samplesPerSeries;
      this.stats.requestsAcked++;
      this.stats.samplesAcked += samples;
      if (this.o.intervalMs > 0) await delay(this.o.intervalMs);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Comparing the ledger with what a receiver holds

/** One receiver's view: per series name, its samples in arrival order (or timestamp order, for a TSDB export). */
export type ReceivedView = Iterable<[series: string, samples: Iterable<{ ts: number; value: number }>]>;

export interface DeliveryReport {
  /** Samples acknowledged to the pusher. */
  acked: number;
  /** Acknowledged samples the receiver does not hold. Must be 0. */
  missing: number;
  /** Copies beyond the first of a sample (at-least-once re-sends). */
  duplicates: number;
  /**
   * A sample arriving after a later sample of its series had arrived, when it had not arrived
   * before (a re-sent duplicate of an older sample is a duplicate, not an order violation).
   * `undefined` for a view that is not in arrival order.
   */
  orderViolations: number | undefined;
  /** Samples the pusher never sent, or with a wrong value, or of an unknown series. Must be 0. */
  unexpected: number;
  /** Samples of requests never acknowledged (the daemon made them durable, then died before answering). */
  unackedDelivered: number;
  /** Up to 10 missing samples, for the assertion message. */
  examplesMissing: string[];
  /** Up to 10 unexpected samples. */
  examplesUnexpected: string[];
}

/** Compares `view` with `ledger`. `inArrivalOrder` says whether order can be judged from it. */
export function compareDelivery(ledger: PushLedger, view: ReceivedView, inArrivalOrder: boolean): DeliveryReport {
  const r: DeliveryReport = {
    acked: 0,
    missing: 0,
    duplicates: 0,
    orderViolations: inArrivalOrder ? 0 : undefined,
    unexpected: 0,
    unackedDelivered: 0,
    examplesMissing: [],
    examplesUnexpected: [],
  };
  const counts: Uint32Array[] = [];
  for (let s = 0; s < ledger.series; s++) {
    counts.push(new Uint32Array(ledger.sent[s]));
    r.acked += ledger.acked[s];
  }
  const unexpected = (what: string) => {
    r.unexpected++;
    if (r.examplesUnexpected.length < 10) r.examplesUnexpected.push(what);
  };
  for (const [name, samples] of view) {
    const m = /^s(\d{5})$/.exec(name);
    const s = m ? Number(m[1]) : -1;
    if (s < 0 || s >= ledger.series) {
      for (const _ of samples) unexpected(`series ${name}`);
      continue;
    }
    const c = counts[s];
    let maxK = -1;
    for (const { ts, value } of samples) {
      const k = (ts - ledger.baseTimestampMs) / ledger.stepMs;
      if (!Number.isInteger(k) || k < 0 || k >= c.length || value !== sampleValue(k)) {
        unexpected(`${name} ts=${ts} value=${value}`);
        continue;
      }
      if (c[k] > 0) r.duplicates++;
      else if (inArrivalOrder && k < maxK) r.orderViolations!++;
      c[k]++;
      if (k > maxK) maxK = k;
    }
  }
  for (let s = 0; s < ledger.series; s++) {
    const c = counts[s];
    for (let k = 0; k < c.length; k++) {
      if (k < ledger.acked[s]) {
        if (c[k] === 0) {
          r.missing++;
          if (r.examplesMissing.length < 10) {
            r.examplesMissing.push(`${seriesName(s)} k=${k} ts=${ledger.baseTimestampMs + k * ledger.stepMs}`);
          }
        }
      } else if (c[k] > 0) r.unackedDelivered++;
    }
  }
  return r;
}

/** True when every acknowledged sample is in `view` (cheap enough to poll). */
export function allAckedPresent(ledger: PushLedger, view: ReceivedView): boolean {
  const r = compareDelivery(ledger, view, false);
  return r.missing === 0;
}

/** The fake receiver's `received` map (keys `{__name__="...",series="s00001"}`) as a view. */
export function fakeReceiverView(received: Map<string, { ts: number; value: number }[]>): ReceivedView {
  const out: [string, { ts: number; value: number }[]][] = [];
  for (const [key, samples] of received) {
    const m = /series="(s\d{5})"/.exec(key);
    out.push([m && key.includes(`__name__="${METRIC}"`) ? m[1] : key, samples]);
  }
  return out;
}

/** VictoriaMetrics export rows as a view (timestamp order: order cannot be judged from it). */
export function exportView(
  rows: { metric: Record<string, string>; values: number[]; timestamps: number[] }[],
): ReceivedView {
  return rows.map((row) => {
    const name = row.metric.__name__ === METRIC ? (row.metric.series ?? '?') : JSON.stringify(row.metric);
    return [name, row.timestamps.map((ts, i) => ({ ts, value: row.values[i] }))] as [
      string,
      { ts: number; value: number }[],
    ];
  });
}

/** One-line summary of a report, for the test log. */
export function formatReport(name: string, r: DeliveryReport): string {
  return (
    `${name}: acked=${r.acked} missing=${r.missing} duplicates=${r.duplicates} ` +
    `order_violations=${r.orderViolations ?? 'n/a'} unexpected=${r.unexpected} unacked_delivered=${r.unackedDelivered}`
  );
}
