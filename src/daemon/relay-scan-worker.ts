/**
 * Worker thread of {@link createRelayScanner}: runs {@link scanRelayRequest} for the event loop and
 * posts back the record (or the uncompressed body), moving its buffer instead of copying it.
 * Records are written into buffers the event loop moved back once it appended their records
 * (`ScanRequest.recycled`), so the worker allocates none per request once warm.
 */
import { parentPort } from 'node:worker_threads';
import { ArrayBufferPool } from '../buffer-pool.js';
import { PromspoolError } from '../errors.js';
import type { RecordAllocator } from '../serialization/raw-record.js';
import { scanRelayRequest } from './relay-scan.js';
import { BUFFER_MAX_KEPT_BYTES, BUFFERS_KEPT, type ScanReply, type ScanRequest } from './relay-scanner.js';

const port = parentPort;
if (port === null) throw new Error('relay-scan-worker runs as a worker thread');

const records = new ArrayBufferPool(BUFFERS_KEPT, BUFFER_MAX_KEPT_BYTES);
const alloc: RecordAllocator = (length) => records.take(length);

port.on('message', (req: ScanRequest) => {
  for (const b of req.recycled) records.give(b);
  let reply: ScanReply;
  // The body's buffer goes back with the answer, for the next request (relay-scanner.ts's pool).
  const returned = req.body.buffer as ArrayBuffer;
  try {
    const out = scanRelayRequest(req.body, req.maxBytes, req.groups, req.scheme, alloc);
    // A record is at the start of a pool buffer of its own (alloc): moved as it is.
    const bytes = out.kind === 'record' ? out.payload : owned(out.body, returned);
    reply =
      out.kind === 'record'
        ? { id: req.id, kind: 'record', bytes, samples: out.samples, returned }
        : { id: req.id, kind: 'decode', bytes, samples: 0, returned };
    port.postMessage(reply, [bytes.buffer as ArrayBuffer, returned]);
  } catch (err) {
    const e = err as Error;
    reply = {
      id: req.id,
      kind: 'error',
      code: err instanceof PromspoolError ? err.code : undefined,
      name: e?.name ?? 'Error',
      message: e?.message ?? String(err),
      returned,
    };
    port.postMessage(reply, [returned]);
  }
});

/**
 * The bytes in an ArrayBuffer of their own: a pooled Buffer's slab cannot be moved, nor can the
 * request's buffer (`returned`) be moved twice.
 */
function owned(b: Uint8Array, returned: ArrayBuffer): Uint8Array {
  if (
    b.byteOffset === 0 &&
    b.byteLength === b.buffer.byteLength &&
    b.buffer !== returned &&
    !(b.buffer instanceof SharedArrayBuffer)
  )
    return b;
  return new Uint8Array(b);
}
