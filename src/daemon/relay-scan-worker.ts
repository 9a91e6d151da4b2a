/**
 * Worker thread of {@link createRelayScanner}: runs {@link scanRelayRequest} for the event loop and
 * posts back the record (or the uncompressed body), moving its buffer instead of copying it.
 */
import { parentPort } from 'node:worker_threads';
import { PromspoolError } from '../errors.js';
import { scanRelayRequest } from './relay-scan.js';
import type { ScanReply, ScanRequest } from './relay-scanner.js';

const port = parentPort;
if (port === null) throw new Error('relay-scan-worker runs as a worker thread');

port.on('message', (req: ScanRequest) => {
  let reply: ScanReply;
  try {
    const out = scanRelayRequest(req.body, req.maxBytes, req.groups);
    const bytes = owned(out.kind === 'record' ? out.payload : out.body);
    reply =
      out.kind === 'record'
        ? { id: req.id, kind: 'record', bytes, samples: out.samples }
        : { id: req.id, kind: 'decode', bytes, samples: 0 };
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
});

/** The bytes in an ArrayBuffer of their own: a pooled Buffer's slab cannot be moved. */
function owned(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer)) return b;
  return new Uint8Array(b);
}
