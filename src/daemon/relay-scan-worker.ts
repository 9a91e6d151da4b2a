/**
 * Worker thread of {@link createRelayScanner}: runs {@link scanRelayRequest} for the event loop and
 * posts back the record (or the uncompressed body), moving its buffer instead of copying it.
 * Records are written into the buffers the bodies came in (the event loop copies each body into a
 * buffer a released record came in), so the worker allocates none per request once warm.
 */
import { parentPort } from 'node:worker_threads';
import { ArrayBufferPool } from '../buffer-pool.js';
import { PromspoolError } from '../errors.js';
import type { IngestRelabeler, IngestRelabelPlan } from '../relay/ingest-relabel.js';
import type { RecordAllocator } from '../serialization/raw-record.js';
import { scanRelayRequest } from './relay-scan.js';
import { BUFFER_MAX_KEPT_BYTES, BUFFERS_KEPT, type ScanReply, type ScanRequest } from './relay-scanner.js';

if (parentPort === null) throw new Error('relay-scan-worker runs as a worker thread');
const port = parentPort;

const records = new ArrayBufferPool(BUFFERS_KEPT, BUFFER_MAX_KEPT_BYTES);
const alloc: RecordAllocator = (length) => records.take(length);
/** The last rule set the scanner sent (it sends one only when it changes). */
let rules: IngestRelabelPlan | undefined;
/**
 * The relabel code, imported when the first rule set arrives: a worker of a daemon without write
 * relabel rules never loads it (~6 MB of RSS per worker).
 */
let relabelerFor: ((plan: IngestRelabelPlan) => IngestRelabeler | undefined) | undefined;
/**
 * Requests wait behind that import, in order; undefined while none is pending. Reset when the
 * last one waiting is answered: a request answered in a promise reaction rather than in its
 * message event cost the worker ~10x the CPU in postMessage (bench/relay with rules, which kept
 * every request on this chain: 2.2 s against 0.2 s in the worker's profile, ~0.17 CPU s per
 * million samples).
 */
let loading: Promise<void> | undefined;

port.on('message', (req: ScanRequest) => {
  if (req.relabel?.plan !== undefined) rules = req.relabel.plan;
  if (rules !== undefined && relabelerFor === undefined && loading === undefined) {
    loading = import('../relay/ingest-relabel.js').then((m) => {
      relabelerFor = m.ingestRelabelerFor;
    });
  }
  if (loading === undefined) return answer(req);
  const next: Promise<void> = loading.then(() => {
    answer(req);
    if (loading === next) loading = undefined;
  });
  loading = next;
});

function answer(req: ScanRequest): void {
  let reply: ScanReply;
  // The body's buffer stays here for a later record (not this one: the record is built from it).
  const kept = req.body.buffer as ArrayBuffer;
  try {
    // A digest this worker has no rules for is not relabeled here: the record goes unmarked and
    // the endpoints relabel it at send time.
    const plan = req.relabel !== undefined && rules?.digest === req.relabel.digest ? rules : undefined;
    const relabel = plan === undefined ? undefined : relabelerFor?.(plan);
    const out = scanRelayRequest(req.body, req.maxBytes, req.groups, req.scheme, alloc, relabel);
    // A record is at the start of a pool buffer of its own (alloc): moved as it is.
    const bytes = out.kind === 'record' ? out.payload : owned(out.body, kept);
    reply =
      out.kind === 'record'
        ? { id: req.id, kind: 'record', bytes, samples: out.samples, received: out.received }
        : { id: req.id, kind: 'decode', bytes, samples: 0, received: 0 };
    port.postMessage(reply, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err as Error;
    reply = {
      id: req.id,
      kind: 'error',
      code: err instanceof PromspoolError ? err.code : undefined,
      name: e?.name ?? 'Error',
      message: e?.message ?? String(err),
    };
    port.postMessage(reply);
  }
  records.give(kept);
}

/**
 * The bytes in an ArrayBuffer of their own: a pooled Buffer's slab cannot be moved, nor can the
 * request's buffer (`kept` for a later record).
 */
function owned(b: Uint8Array, kept: ArrayBuffer): Uint8Array {
  if (
    b.byteOffset === 0 &&
    b.byteLength === b.buffer.byteLength &&
    b.buffer !== kept &&
    !(b.buffer instanceof SharedArrayBuffer)
  )
    return b;
  return new Uint8Array(b);
}
