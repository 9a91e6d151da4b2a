import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { httpRequest } from './http.js';
import { freePort } from './ports.js';

export interface ServerProcessOptions {
  /** Human name used in errors, e.g. `prometheus`. */
  name: string;
  /** Absolute path of the executable. */
  binary: string;
  /** Command-line arguments for a server that must listen on 127.0.0.1:`port`. */
  args: (port: number) => string[];
  /** Path polled until it answers 200, e.g. `/-/ready` or `/health`. */
  readyPath: string;
  /** Temp directory owned by this server: removed on stop and on a failed start. */
  tempDir: string;
  /** Give up waiting for readiness after this long; default 30 s. */
  readyTimeoutMs?: number;
  /** Delay between readiness probes; default 50 ms. */
  pollIntervalMs?: number;
}

/** A started, ready server process on a loopback port. */
export interface ServerProcess {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn until the ready path answered 200. */
  readonly readyAfterMs: number;
  /** The last `lines` lines the server wrote to stdout/stderr (interleaved). */
  logTail(lines?: number): string;
  /** SIGTERM, SIGKILL after 5 s if still alive, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const MAX_LOG_CHARS = 64 * 1024;
const KILL_GRACE_MS = 5_000;
const MAX_PORT_ATTEMPTS = 3;

/** Servers still running, killed synchronously if the test process exits without stopping them. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, dir] of live) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

class StartFailure extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Spawns a receiver on a free loopback port and resolves once `readyPath` answers 200.
 * If the process dies or is not ready in time the promise rejects with the tail of its output,
 * and the temp dir is removed. A port lost to another process between `freePort()` and bind is
 * retried with a new port.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  installExitHook();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startOnPort(options, port);
    } catch (err) {
      if (err instanceof StartFailure && err.portInUse && attempt < MAX_PORT_ATTEMPTS) continue;
      await rm(options.tempDir, { recursive: true, force: true });
      throw err;
    }
  }
}

async function startOnPort(options: ServerProcessOptions, port: number): Promise<ServerProcess> {
  const { name, binary, readyPath, tempDir, readyTimeoutMs = 30_000, pollIntervalMs = 50 } = options;
  const args = options.args(port);
  const url = `http://127.0.0.1:${port}`;
  const startedAt = Date.now();
  let output = '';
  const child = spawn(binary, args, { cwd: tempDir, stdio: ['ignore', 'pipe', 'pipe'] });
  // Always drain both pipes: a full pipe buffer would block the server.
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > MAX_LOG_CHARS) output = output.slice(output.length - MAX_LOG_CHARS / 2);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  live.set(child, tempDir);

  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `failed to spawn: ${err.message}`;
      live.delete(child);
      resolve();
    });
  });

  const logTail = (lines = 30) => output.trimEnd().split('\n').slice(-lines).join('\n');
  const describe = () => `${name} (${binary} ${args.join(' ')})`;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, KILL_GRACE_MS);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
        await exited;
      }
      live.delete(child);
      await rm(tempDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = startedAt + readyTimeoutMs;
  let lastProbe = 'no probe yet';
  while (true) {
    if (exitInfo !== undefined) {
      live.delete(child);
      const tail = logTail();
      throw new StartFailure(
        `${describe()} ${exitInfo} before becoming ready on ${url}${readyPath}. Last output:\n${tail}`,
        /address already in use/i.test(tail),
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new StartFailure(
        `${describe()} not ready on ${url}${readyPath} within ${readyTimeoutMs} ms (last probe: ${lastProbe}). ` +
          `Last output:\n${logTail()}`,
        false,
      );
    }
    try {
      const res = await httpRequest(`${url}${readyPath}`, { timeoutMs: 1_000 });
      if (res.status === 200) break;
      lastProbe = `HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200).trim()}`;
    } catch (err) {
      lastProbe = (err as Error).message;
    }
    await Promise.race([delay(pollIntervalMs), exited]);
  }

  return {
    port,
    url,
    pid: child.pid!,
    readyAfterMs: Date.now() - startedAt,
    logTail,
    stop,
  };
}
