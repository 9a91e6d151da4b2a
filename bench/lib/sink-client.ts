import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SinkStats {
  samples: number;
  requests: number;
  bytes: number;
}

/** Handle on a sink process started with {@link startSink}. */
export interface Sink {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  stats(): Promise<SinkStats>;
  stop(): Promise<void>;
}

export interface SinkOptions {
  /**
   * `decode` (default): full RW 1.0 decode per body. `structure`: counts `Sample` fields from the
   * protobuf framing only (exact, far cheaper), for agents fast enough that decoding would cap them.
   */
  counting?: 'decode' | 'structure';
}

/** Polls the sink until it counted `samples` or `deadline` (epoch ms) passed; returns its count. */
export async function sinkReaches(sink: Sink, samples: number, deadline: number): Promise<number> {
  let counted = (await sink.stats()).samples;
  while (counted < samples && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    counted = (await sink.stats()).samples;
  }
  return counted;
}

/** Starts bench/lib/sink.js as a child process on `port` (0 = any free port). */
export async function startSink(port = 0, options: SinkOptions = {}): Promise<Sink> {
  const child = fork(
    fileURLToPath(new URL('./sink.js', import.meta.url)),
    [String(port), options.counting ?? 'decode'],
    { stdio: 'inherit' },
  );
  const listening = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${listening}/api/v1/write`,
    port: listening,
    process: child,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (m: SinkStats) => resolve(m));
        child.send({ cmd: 'stats' });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ cmd: 'exit' });
      }),
  };
}
