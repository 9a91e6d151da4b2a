/**
 * Helpers shared by the end-to-end tests of `createQueue` (test/queue and
 * test/integration/library-*): temp data dirs, a deterministic data set of many series, the
 * stale-marker NaN, reading a metric from the queue's registry, and a TCP forwarder that makes a
 * receiver appear on a port chosen before it started (to model a receiver that is down, then up).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LibraryOptions } from '../../src/config/library.js';
import type { Queue, SeriesRef } from '../../src/queue-types.js';
import type { Labels } from '../../src/serialization/types.js';

/** A fresh temp directory under os.tmpdir(); `remove()` deletes it. */
export async function tempDataDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `promspool-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Prometheus' stale marker: a NaN with exactly these bits. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** The stale-marker NaN as a JS number (V8 keeps a NaN's payload through plain assignments). */
export function staleNaN(): number {
  return new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0];
}

/** The IEEE-754 bits of `v`. */
export function bitsOf(v: number): bigint {
  return new BigUint64Array(new Float64Array([v]).buffer)[0];
}

/**
 * Library options with every wait short (so no test waits on 5 s defaults), one endpoint named
 * `name`, 4 shards, ttl off (test timestamps may be old) and `fsync: never` (durability is not what
 * these tests measure). `endpoint` and `rest` override.
 */
export function fastOptions(
  dataDir: string,
  url: string,
  endpoint: Partial<LibraryOptions['endpoints'][number]> = {},
  rest: Partial<LibraryOptions> = {},
): LibraryOptions {
  const { queueConfig, ...endpointRest } = endpoint;
  return {
    dataDir,
    ttl: 0,
    shutdownTimeout: '2s',
    persistence: { batchInterval: '50ms', fsync: 'never' },
    ...rest,
    endpoints: [
      {
        name: 'ep',
        url,
        remoteTimeout: '2s',
        metadataConfig: { send: false },
        ...endpointRest,
        queueConfig: {
          batchSendDeadline: '20ms',
          minShards: 4,
          maxShards: 4,
          minBackoff: '10ms',
          maxBackoff: '200ms',
          ...queueConfig,
        },
      },
    ],
  };
}

/**
 * `series` series x `timestamps` samples: series `i` is `{__name__: metric, i: "<i>", ...extra(i)}`,
 * its `k`-th sample is at `t0 + k * stepMs` with value `i * 1000 + k` (integers, exact in every
 * receiver).
 */
export class DataSet {
  readonly labels: Labels[];
  constructor(
    readonly metric: string,
    readonly series: number,
    readonly timestamps: number,
    readonly t0: number,
    readonly stepMs: number,
    extra: (i: number) => Labels = () => ({}),
  ) {
    this.labels = [];
    for (let i = 0; i < series; i++) this.labels.push({ __name__: metric, i: String(i), ...extra(i) });
  }

  get total(): number {
    return this.series * this.timestamps;
  }

  ts(k: number): number {
    return this.t0 + k * this.stepMs;
  }

  value(i: number, k: number): number {
    return i * 1000 + k;
  }

  /** Appends timestamps `from .. to-1` of every series, one commit per timestamp (the order of a scraper). */
  async append(queue: Queue, from = 0, to = this.timestamps): Promise<void> {
    const refs: SeriesRef[] = this.labels.map((l) => queue.series(l));
    const app = queue.appender();
    for (let k = from; k < to; k++) {
      const ts = this.ts(k);
      for (let i = 0; i < this.series; i++) app.append(refs[i]!, ts, this.value(i, k));
      await app.commit();
    }
  }
}

/**
 * Value of one sample of the Prometheus text exposition `text`, e.g.
 * `metricValue(text, 'prometheus_remote_storage_samples_dropped_total', { reason: '4xx' })`.
 * Matches a line whose labels include every pair of `labels`; `undefined` when none does.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** A receiver's port held by the test, "down" until {@link ReceiverGate.open}. */
export interface ReceiverGate {
  readonly port: number;
  /** From now on, connections are forwarded to `targetPort` (the receiver is "up"). */
  open(targetPort: number): void;
  close(): Promise<void>;
}

/**
 * A port that stands for a receiver which is down, then up. Until `open`, every connection is cut
 * as soon as it is accepted, so each request fails with a network error (a reset, where a closed
 * port gives ECONNREFUSED); after it, connections are forwarded to the real receiver. The port is
 * held from the start: a free port left unbound was once taken by a receiver of a test file
 * running in parallel, which then answered the "down" queue (samples sent while down, duplicates).
 */
export async function startGate(): Promise<ReceiverGate> {
  const sockets = new Set<Socket>();
  let target: number | undefined;
  const server: Server = createServer((client) => {
    if (target === undefined) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    open: (targetPort) => {
      target = targetPort;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
