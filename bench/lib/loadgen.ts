/**
 * Remote-write 1.0 load generator, run as its own process so its CPU never counts against the
 * agent measured. It pre-builds one round of bodies covering every series (bench/lib/rw-bodies),
 * then sends `totalSamples` over `connections` keep-alive connections (undici Pool), one request
 * in flight per connection, each round with timestamps one `stepMs` later than the previous.
 * A non-2xx answer or network error is retried (after `retryDelayMs`) until the body is accepted,
 * for at most `giveUpAfterMs` without any success: an agent that answers only errors (a 500 on
 * every request, say) ends the run with an error naming the answers, instead of a hang.
 *
 * Parent side: {@link startLoadgen}. Child side: this file run as a script.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { buildBodySet, type PrebuiltBody, setBodyTimestamp } from './rw-bodies.js';

export interface LoadgenOptions {
  /** The agent's remote-write URL. */
  url: string;
  series: number;
  labelsPerSeries: number;
  seriesPerRequest: number;
  connections: number;
  /** Rounded up to a whole number of requests. */
  totalSamples: number;
  /** Timestamp step between rounds (default 1000 ms); the last round ends near "now". */
  stepMs?: number;
  retryDelayMs?: number;
  /** Gives up once no request has succeeded for this long while one keeps failing (default 60 s). */
  giveUpAfterMs?: number;
  /** Acked-sample counts at which the child reports a `milestone` (e.g. backlog sizes). */
  milestones?: number[];
}

export interface LoadgenResult {
  /** Samples in requests sent (attempts that were retried count once). */
  sent: number;
  /** Samples in requests answered 2xx. */
  acked: number;
  requests: number;
  /** Non-2xx answers and network errors (each followed by a retry). */
  retries: number;
  /** Compressed bytes of the 2xx requests. */
  bytes: number;
  /** From `go()` to the last answer. */
  elapsedMs: number;
  /** The generator's own CPU while sending, seconds. */
  cpuSeconds: number;
  /** Status code -> count of non-2xx answers ('net' = network error). */
  failures: Record<string, number>;
}

export interface LoadgenReady {
  bodies: number;
  compressedBytesPerBody: number;
  uncompressedBytesPerBody: number;
  prebuildMs: number;
}

/**
 * Of the samples {@link plannedSamples} counts, those of series `i` for which `keep(i)` holds
 * (each request carries one sample of each series of its body).
 */
export function plannedSeries(opts: LoadgenOptions, keep: (series: number) => boolean): number {
  const bodiesPerRound = Math.ceil(opts.series / opts.seriesPerRequest);
  const totalRequests = Math.ceil(opts.totalSamples / opts.seriesPerRequest);
  const keptPerBody = new Array<number>(bodiesPerRound).fill(0);
  for (let i = 0; i < opts.series; i++) if (keep(i)) keptPerBody[Math.floor(i / opts.seriesPerRequest)]++;
  let total = 0;
  for (let n = 0; n < totalRequests; n++) total += keptPerBody[n % bodiesPerRound];
  return total;
}

/** A running load generator child, bodies built, waiting for {@link Loadgen.go}. */
export interface Loadgen {
  readonly process: ChildProcess;
  readonly ready: LoadgenReady;
  /** Starts sending; resolves with the totals once every sample is acked (or after {@link Loadgen.stop}). */
  go(): Promise<LoadgenResult>;
  /** Sends no new request; those in flight finish, then `go()` resolves with what was acked. */
  stop(): void;
  /** Called with the acked count each time a milestone is passed. */
  onMilestone(fn: (acked: number) => void): void;
  /** Kills the child (if still running). */
  kill(): void;
}

type ChildMessage =
  | ({ type: 'ready' } & LoadgenReady)
  | { type: 'milestone'; acked: number }
  | ({ type: 'done' } & LoadgenResult)
  | { type: 'error'; message: string };

/** Samples the generator will send for `opts` (whole requests; a round's last body may be short). */
export function plannedSamples(opts: LoadgenOptions): number {
  const bodiesPerRound = Math.ceil(opts.series / opts.seriesPerRequest);
  const totalRequests = Math.ceil(opts.totalSamples / opts.seriesPerRequest);
  const lastBody = opts.series - (bodiesPerRound - 1) * opts.seriesPerRequest;
  let total = 0;
  for (let n = 0; n < totalRequests; n++)
    total += n % bodiesPerRound === bodiesPerRound - 1 ? lastBody : opts.seriesPerRequest;
  return total;
}

/** Forks the generator and waits until its bodies are built. */
export async function startLoadgen(opts: LoadgenOptions): Promise<Loadgen> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(opts)], { stdio: 'inherit' });
  const milestoneFns: ((acked: number) => void)[] = [];
  let onDone: ((r: LoadgenResult) => void) | undefined;
  let onFail: ((e: Error) => void) | undefined;
  const ready = await new Promise<LoadgenReady>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'milestone') for (const fn of milestoneFns) fn(m.acked);
      else if (m.type === 'done') onDone?.(m);
      else if (m.type === 'error') {
        const err = new Error(`loadgen: ${m.message}`);
        reject(err);
        onFail?.(err);
      }
    });
    child.once('exit', (code) => {
      const err = new Error(`loadgen exited with ${code}`);
      reject(err);
      onFail?.(err);
    });
  });
  return {
    process: child,
    ready,
    go: () =>
      new Promise<LoadgenResult>((resolve, reject) => {
        onDone = resolve;
        onFail = reject;
        child.send({ cmd: 'go' });
      }),
    stop: () => {
      if (child.connected) child.send({ cmd: 'stop' });
    },
    onMilestone: (fn) => milestoneFns.push(fn),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function runChild(opts: LoadgenOptions): Promise<void> {
  const t0 = performance.now();
  const stepMs = opts.stepMs ?? 1000;
  const bodiesPerRound = Math.ceil(opts.series / opts.seriesPerRequest);
  const totalRequests = Math.ceil(opts.totalSamples / opts.seriesPerRequest);
  const rounds = Math.ceil(totalRequests / bodiesPerRound);
  const firstTs = Date.now() - rounds * stepMs;
  const bodies = buildBodySet(opts, firstTs);
  const compressed = bodies.reduce((a, b) => a + b.compressed.length, 0);
  const uncompressed = bodies.reduce((a, b) => a + b.uncompressedBytes, 0);
  process.send?.({
    type: 'ready',
    bodies: bodies.length,
    compressedBytesPerBody: Math.round(compressed / bodies.length),
    uncompressedBytesPerBody: Math.round(uncompressed / bodies.length),
    prebuildMs: Math.round(performance.now() - t0),
  } satisfies ChildMessage);
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  let stopped = false;
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stop') stopped = true;
  });

  const origin = new URL(opts.url);
  const pool = new Pool(origin.origin, { connections: opts.connections, pipelining: 1 });
  const path = origin.pathname + origin.search;
  const headers = {
    'content-type': 'application/x-protobuf',
    'content-encoding': 'snappy',
    'x-prometheus-remote-write-version': '0.1.0',
    'user-agent': 'promspool-bench-loadgen',
  };
  const milestones = [...(opts.milestones ?? [])].sort((a, b) => a - b);
  const result: LoadgenResult = {
    sent: 0,
    acked: 0,
    requests: 0,
    retries: 0,
    bytes: 0,
    elapsedMs: 0,
    cpuSeconds: 0,
    failures: {},
  };
  // A body is rewritten for its next round only when no request still holds it; otherwise that
  // request gets a private copy (rare: it needs one connection stalled for a whole round).
  const busy = new Uint8Array(bodies.length);
  const round = new Int32Array(bodies.length);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let lastSuccessMs = start;

  const take = (): { body: PrebuiltBody; index: number; owned: boolean } | undefined => {
    if (stopped || next >= totalRequests) return undefined;
    const n = next++;
    const index = n % bodiesPerRound;
    const r = Math.floor(n / bodiesPerRound);
    let body = bodies[index]!;
    let owned = true;
    if (busy[index]) {
      body = { ...body, compressed: Buffer.from(body.compressed) };
      owned = false;
    } else busy[index] = 1;
    if (round[index] !== r || !owned) {
      setBodyTimestamp(body, firstTs + r * stepMs);
      if (owned) round[index] = r;
    }
    return { body, index, owned };
  };

  const worker = async () => {
    for (let job = take(); job; job = take()) {
      result.sent += job.body.samples;
      for (;;) {
        result.requests++;
        let status = 0;
        try {
          const res = await pool.request({ method: 'POST', path, headers, body: job.body.compressed });
          status = res.statusCode;
          await res.body.dump();
        } catch {
          status = 0;
        }
        if (status >= 200 && status < 300) {
          lastSuccessMs = performance.now();
          break;
        }
        const key = status === 0 ? 'net' : String(status);
        result.failures[key] = (result.failures[key] ?? 0) + 1;
        result.retries++;
        if (performance.now() - lastSuccessMs > (opts.giveUpAfterMs ?? 60_000)) {
          throw new Error(
            `no request accepted for ${Math.round((performance.now() - lastSuccessMs) / 1000)} s; failures so far: ${JSON.stringify(result.failures)}`,
          );
        }
        await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 50));
      }
      if (job.owned) busy[job.index] = 0;
      result.acked += job.body.samples;
      result.bytes += job.body.compressed.length;
      while (milestones.length > 0 && result.acked >= milestones[0]!) {
        milestones.shift();
        process.send?.({ type: 'milestone', acked: result.acked } satisfies ChildMessage);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  result.elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  result.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await pool.close();
  process.send?.({ type: 'done', ...result } satisfies ChildMessage);
  process.disconnect?.();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runChild(JSON.parse(process.argv[2] ?? '{}') as LoadgenOptions).catch((err: Error) => {
    // Exit once the message is out: the other connections' loops would otherwise keep retrying.
    const message: ChildMessage = { type: 'error', message: err.stack ?? String(err) };
    if (process.send) process.send(message, () => process.exit(1));
    else process.exit(1);
  });
}
