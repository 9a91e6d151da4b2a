/**
 * Runs the relay fast path's per-request CPU work (uncompress, scan, kind-2 record) off the event
 * loop. On the relay benchmark that work was ~20% of the event loop, time the send loops need: a
 * worker thread takes it, and the event loop only reads bodies, appends records and sends.
 *
 * Bodies are copied once into a buffer of their own and moved to the worker; its answer (the
 * record, or the uncompressed body for a full decode) is moved back. The buffers go round: the
 * worker keeps each body's buffer for a later record, and a record's buffer, once the caller
 * appended it ({@link RelayScanner.release}), holds a later body. So neither thread allocates a
 * buffer per request (buffer-pool.ts says why), and each message moves one buffer. If a worker dies, the
 * requests it held are scanned on the event loop instead and so is every later one: a request
 * is never lost to a worker failure, and a crashing worker is not restarted in a loop.
 */
import { Worker } from 'node:worker_threads';
import { ArrayBufferPool } from '../buffer-pool.js';
import { PromspoolError, type PromspoolErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { type IngestRelabelPlan, ingestRelabelerFor } from '../relay/ingest-relabel.js';
import { DEFAULT_NAME_VALIDATION_SCHEME, type NameValidationScheme } from '../serialization/name-validation.js';
import type { Uncompress } from './receiver.js';
import { type RelayScan, scanRelayBody } from './relay-scan.js';

export interface RelayScanner {
  /**
   * Uncompresses and scans a remote-write 1.0 body. Rejects with what the uncompress throws
   * (PromspoolError ERR_BODY_TOO_LARGE or ERR_BAD_SNAPPY) for a bad body. `relabel`: the write
   * relabel rules to apply at ingest (`ingestRelabelPlan`, src/relay/relay-route.ts), if any.
   */
  scan(compressed: Uint8Array, maxBytes: number, groups?: number, relabel?: IngestRelabelPlan): Promise<RelayScan>;
  /**
   * The caller is done with a record `scan` gave it (appended, or refused): a worker may write the
   * next records into its buffer. The caller must keep no view of it. Anything else (a payload
   * not from a worker, or released already) is ignored.
   */
  release(payload: Uint8Array): void;
  /** Stops the workers; scans still pending finish on the event loop. */
  close(): Promise<void>;
  /** Workers running now (0 before the first scan, and when every scan runs on the event loop). */
  readonly workers: number;
}

export interface RelayScannerOptions {
  /** Worker threads; 0 scans on the event loop. */
  workers: number;
  /** The event loop's uncompress (for 0 workers, and after a worker failure). */
  uncompress: Uncompress;
  logger: Logger;
  /**
   * Names the scan passes through as received (default `utf8`); a body with others is decoded
   * in full, which refuses it. The daemon's `global.metric_name_validation_scheme`.
   */
  nameValidationScheme?: NameValidationScheme;
  /** For tests: the worker script (default relay-scan-worker.js beside this module). */
  workerUrl?: URL;
}

/** @internal Message to a worker. */
export interface ScanRequest {
  id: number;
  /** The compressed body, in a buffer of its own that the worker keeps for a later record. */
  body: Uint8Array;
  maxBytes: number;
  /** The record's group count (`relayGroupCount`, src/relay/relay-route.ts; layout in raw-record.ts). */
  groups: number;
  scheme: NameValidationScheme;
  /**
   * The rules to apply at ingest: their digest, with the rules themselves only when the worker
   * has not been sent that rule set yet (a worker keeps the last one it was sent).
   */
  relabel?: { digest: string; plan?: IngestRelabelPlan };
}

/** @internal A worker's answer. */
export type ScanReply =
  | { id: number; kind: 'record' | 'decode'; bytes: Uint8Array; samples: number; received: number }
  | { id: number; kind: 'error'; code: PromspoolErrorCode | undefined; name: string; message: string };

interface Pending {
  /** The worker holding the scan, so a dying worker's scans can be found. */
  worker: Worker;
  compressed: Uint8Array;
  maxBytes: number;
  groups: number;
  relabel: IngestRelabelPlan | undefined;
  resolve: (scan: RelayScan) => void;
  reject: (err: unknown) => void;
}

/**
 * Buffers kept per pool of the relay scanner (for bodies on the event loop, records in each worker):
 * as many as requests in flight at once (the receiver's permits; 4 connections on bench/relay),
 * each at most 1 MiB, so a rare large request does not pin its size: at most 8 MiB per pool.
 */
export const BUFFERS_KEPT = 8;
export const BUFFER_MAX_KEPT_BYTES = 1024 * 1024;

export function createRelayScanner(opts: RelayScannerOptions): RelayScanner {
  return new ThreadedRelayScanner(opts);
}

class ThreadedRelayScanner implements RelayScanner {
  private readonly live: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Scans pending per worker: a worker is ref'd only while it holds some. */
  private readonly held = new Map<Worker, number>();
  /** The rule set digest each worker was last sent (messages arrive in order). */
  private readonly sentRules = new Map<Worker, string>();
  private nextId = 0;
  private turn = 0;
  /** Released records' buffers, for the next bodies (see BUFFERS_KEPT). */
  private readonly buffers = new ArrayBufferPool(BUFFERS_KEPT, BUFFER_MAX_KEPT_BYTES);
  /** Records' buffers a worker made and the caller has not released yet. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private closing = false;

  /** Workers are started by the first scan: a daemon that never relays 1.0 never pays for them (~11 MB each). */
  private started = false;

  private readonly scheme: NameValidationScheme;

  constructor(private readonly opts: RelayScannerOptions) {
    this.scheme = opts.nameValidationScheme ?? DEFAULT_NAME_VALIDATION_SCHEME;
  }

  private start(): void {
    this.started = true;
    const url = this.opts.workerUrl ?? new URL('./relay-scan-worker.js', import.meta.url);
    for (let i = 0; i < this.opts.workers; i++) {
      const w = new Worker(url);
      w.on('message', (reply: ScanReply) => this.answer(reply));
      w.on('error', (err) => this.lost(w, err));
      w.on('exit', (code) => this.lost(w, new Error(`relay scan worker exited with code ${code}`)));
      // An idle worker must not keep the process alive (a busy one does: see `held`). After the
      // listeners: adding a 'message' listener refs the worker again.
      w.unref();
      this.live.push(w);
    }
  }

  get workers(): number {
    return this.live.length;
  }

  scan(compressed: Uint8Array, maxBytes: number, groups = 1, relabel?: IngestRelabelPlan): Promise<RelayScan> {
    if (!this.started && !this.closing) this.start();
    if (this.live.length === 0) return this.scanHere(compressed, maxBytes, groups, relabel);
    const w = this.live[this.turn++ % this.live.length];
    const id = this.nextId++;
    // A buffer of its own: the request's body may share a slab with other Buffers.
    const body = this.buffers.take(compressed.length);
    body.set(compressed);
    return new Promise<RelayScan>((resolve, reject) => {
      this.pending.set(id, { worker: w, compressed, maxBytes, groups, relabel, resolve, reject });
      this.hold(w, 1);
      const msg: ScanRequest = { id, body, maxBytes, groups, scheme: this.scheme };
      if (relabel !== undefined) {
        const known = this.sentRules.get(w) === relabel.digest;
        msg.relabel = known ? { digest: relabel.digest } : { digest: relabel.digest, plan: relabel };
        this.sentRules.set(w, relabel.digest);
      }
      w.postMessage(msg, [body.buffer as ArrayBuffer]);
    });
  }

  release(payload: Uint8Array): void {
    const b = payload.buffer as ArrayBuffer;
    if (this.lent.delete(b)) this.buffers.give(b);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.live.map((w) => w.terminate()));
  }

  private answer(reply: ScanReply): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.pending.delete(reply.id);
    this.hold(p.worker, -1);
    if (reply.kind === 'error') {
      p.reject(errorFrom(reply));
    } else if (reply.kind === 'record') {
      this.lent.add(reply.bytes.buffer as ArrayBuffer);
      p.resolve({ kind: 'record', payload: reply.bytes, samples: reply.samples, received: reply.received });
    } else {
      p.resolve({ kind: 'decode', body: reply.bytes });
    }
  }

  /** A worker failed or exited: its pending scans run here, and it takes no more. */
  private lost(w: Worker, err: Error): void {
    const at = this.live.indexOf(w);
    if (at < 0) return;
    this.live.splice(at, 1);
    this.held.delete(w);
    if (!this.closing) {
      this.opts.logger.error('relay scan worker failed; scanning on the event loop from now on', {
        err: String(err),
      });
    }
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      this.scanHere(p.compressed, p.maxBytes, p.groups, p.relabel).then(p.resolve, p.reject);
    }
  }

  private hold(w: Worker, delta: number): void {
    const before = this.held.get(w) ?? 0;
    const now = before + delta;
    this.held.set(w, now);
    if (before === 0 && now > 0) w.ref();
    else if (before > 0 && now === 0) w.unref();
  }

  private async scanHere(
    compressed: Uint8Array,
    maxBytes: number,
    groups: number,
    relabel: IngestRelabelPlan | undefined,
  ): Promise<RelayScan> {
    const body = await this.opts.uncompress(compressed, maxBytes);
    const relabeler = relabel === undefined ? undefined : ingestRelabelerFor(relabel);
    return scanRelayBody(compressed, body, groups, this.scheme, undefined, relabeler);
  }
}

/** The worker's error as the event loop would have thrown it: the receiver maps classes to answers. */
function errorFrom(reply: { code: PromspoolErrorCode | undefined; name: string; message: string }): Error {
  if (reply.code !== undefined) return new PromspoolError(reply.code, reply.message);
  if (reply.name === 'TypeError') return new TypeError(reply.message);
  if (reply.name === 'RangeError') return new RangeError(reply.message);
  return new Error(reply.message);
}
