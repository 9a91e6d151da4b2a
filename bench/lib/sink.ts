/**
 * A remote-write sink for benchmarks, run as its own process (`node dist/bench/lib/sink.js`) so
 * its CPU never counts against the agent measured. Answers 204 to every POST, decodes each body
 * to count samples exactly, and reports over IPC: `{ port }` once listening, then
 * `{ samples, requests, bytes }` on every `{ cmd: 'stats' }` message.
 *
 * Counting mode (argv[3]): `decode` (default) runs promspool's full RW 1.0 decoder; `structure`
 * walks the protobuf framing only (still exact: one count per `Sample` field, labels skipped by
 * length), ~10x cheaper, so a sink sharing the cores with a fast agent does not cap delivery.
 * Remote-write 2.0 bodies (Content-Type `proto=io.prometheus.write.v2.Request`) are counted alike
 * (2.0 decoder, or its framing) and answered with the `X-Prometheus-Remote-Write-*-Written`
 * headers, as a 2.0 receiver must (a sender takes a 2xx without them for a 1.0-only receiver).
 */
import { createServer } from 'node:http';
import { remoteWriteVersion } from '../../src/daemon/content-negotiation.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import { uncompressBlock } from '../../src/wire/snappy.js';
import type { RemoteWriteVisitor } from '../../src/wire/types.js';
import { readVarint, skipField } from './proto-framing.js';

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

const structureOnly = process.argv[3] === 'structure';

/**
 * Samples in a `prometheus.WriteRequest` (`Sample` fields (2) of each `TimeSeries` (1)), or with
 * `seriesTag` 0x2a in an `io.prometheus.write.v2.Request` (its `TimeSeries` are field 5, their
 * samples field 2 as in 1.0).
 */
function countSamplesByStructure(buf: Uint8Array, seriesTag = 0x0a): number {
  let n = 0;
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    if (tag !== seriesTag) {
      pos = skipField(buf, p, tag & 7);
      continue;
    }
    const [len, start] = readVarint(buf, p);
    const end = start + len;
    if (end > buf.length) throw new Error('truncated TimeSeries');
    let q = start;
    while (q < end) {
      const [t, r] = readVarint(buf, q);
      if (t === 0x12) n++;
      q = skipField(buf, r, t & 7);
    }
    pos = end;
  }
  return n;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    bytes += body.length;
    requests++;
    try {
      const raw = uncompressBlock(body, 256 * 1024 * 1024);
      if (remoteWriteVersion(req.headers['content-type']) === '2.0') {
        let written = { samples: 0, histograms: 0, exemplars: 0 };
        if (structureOnly) {
          written.samples = countSamplesByStructure(raw, 0x2a);
          samples += written.samples;
        } else {
          written = decodeWriteRequestV2(raw, visitor);
        }
        res.setHeader('X-Prometheus-Remote-Write-Samples-Written', String(written.samples));
        res.setHeader('X-Prometheus-Remote-Write-Histograms-Written', String(written.histograms));
        res.setHeader('X-Prometheus-Remote-Write-Exemplars-Written', String(written.exemplars));
      } else if (structureOnly) samples += countSamplesByStructure(raw);
      else decodeWriteRequestV1(raw, visitor);
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
