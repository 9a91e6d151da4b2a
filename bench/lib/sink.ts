/**
 * A remote-write sink for benchmarks, run as its own process (`node dist/bench/lib/sink.js`) so
 * its CPU never counts against the agent measured. Answers 204 to every POST, decodes each body
 * to count samples exactly, and reports over IPC: `{ port }` once listening, then
 * `{ samples, requests, bytes }` on every `{ cmd: 'stats' }` message.
 */
import { createServer } from 'node:http';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { uncompressBlock } from '../../src/wire/snappy.js';
import type { RemoteWriteVisitor } from '../../src/wire/types.js';

let samples = 0;
let requests = 0;
let bytes = 0;
const visitor: RemoteWriteVisitor = {
  series() {},
  sample() {
    samples++;
  },
  histogram() {},
  exemplar() {},
  metadata() {},
};

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    bytes += body.length;
    requests++;
    try {
      decodeWriteRequestV1(uncompressBlock(body, 256 * 1024 * 1024), visitor);
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
  });
});
server.keepAliveTimeout = 60_000;
const port = Number(process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') process.send?.({ samples, requests, bytes });
  if (m.cmd === 'exit') server.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
