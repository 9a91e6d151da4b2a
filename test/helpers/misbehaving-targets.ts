/**
 * A loopback HTTP server of scrape targets that misbehave, one per path, for end-to-end tests of
 * what a scraper does with bad input. Everything large is produced lazily and with backpressure, so
 * the test process never holds a 2 GB body or the expanded gzip bomb; a request the client gives up
 * on stops its stream at once.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

/** The paths the server answers, one per misbehaviour. */
export const MISBEHAVIOURS = {
  /** A small, valid text exposition whose counter grows by one per request. */
  healthy: '/healthy',
  /** Accepts the request and never answers. */
  hang: '/hang',
  /** 500 Internal Server Error with a short body. */
  status500: '/status500',
  /** 302 to itself, forever (absolute Location, so every hop names the same URL). */
  redirectLoop: '/redirect-loop',
  /** 200 with a chunked text body of {@link HUGE_BODY_BYTES} (no Content-Length) streamed as the client reads it. */
  hugeBody: '/huge-body',
  /** The same body announced with `Content-Length: 2147483648`. */
  hugeBodyAnnounced: '/huge-body-announced',
  /** `Content-Encoding: gzip`: a few MB on the wire ({@link MisbehavingTargets.bombCompressedBytes}), {@link BOMB_EXPANDED_BYTES} inflated. */
  gzipBomb: '/gzip-bomb',
  /** A label value with bytes that are not UTF-8. */
  invalidUtf8: '/invalid-utf8',
  /** The same series twice in one exposition, with different values. */
  duplicates: '/duplicates',
  /** A sample whose timestamp is `NaN`. */
  nanTimestamp: '/nan-timestamp',
  /** {@link MANY_SERIES} distinct series (`many_series{i="<n>"} 1`), each request the same body. */
  manySeries: '/many-series',
} as const;

/** Size of the {@link MISBEHAVIOURS.hugeBody} body: 2 GiB. */
export const HUGE_BODY_BYTES = 2 * 1024 ** 3;
/** Series in the {@link MISBEHAVIOURS.manySeries} body. */
export const MANY_SERIES = 2_000_000;
/** One gzip member: this many bytes of `#` (a comment, were it ever parsed) compress to about 1/1000. */
const BOMB_MEMBER_EXPANDED = 64 * 1024 * 1024;
/** Members sent back to back (gzip allows concatenated members; both Go and zlib read them all). */
const BOMB_MEMBERS = 128;
/** Inflated size of the gzip bomb: 8 GiB. */
export const BOMB_EXPANDED_BYTES = BOMB_MEMBER_EXPANDED * BOMB_MEMBERS;

/** The healthy target's exposition for request number `n` (from 1). */
export function healthyBody(n: number): string {
  return [
    '# HELP healthy_requests_total Requests served by the healthy target.',
    '# TYPE healthy_requests_total counter',
    `healthy_requests_total ${n}`,
    '# TYPE healthy_temperature gauge',
    'healthy_temperature{room="a"} 21.5',
    'healthy_temperature{room="b"} 19',
    '',
  ].join('\n');
}

/** The body of {@link MISBEHAVIOURS.duplicates}: `dup_metric{a="1"}` twice (1, then 2) and one more series. */
export const DUPLICATES_BODY = 'dup_metric{a="1"} 1\ndup_metric{a="1"} 2\ndup_other 7\n';
/** The body of {@link MISBEHAVIOURS.nanTimestamp}: a good line, then one with a NaN timestamp. */
export const NAN_TIMESTAMP_BODY = 'nan_ts_ok 1\nnan_ts_metric 1 NaN\n';
/** The body of {@link MISBEHAVIOURS.invalidUtf8}: a good line, then a label value with 0xff 0xfe. */
export const INVALID_UTF8_BODY = Buffer.concat([
  Buffer.from('utf8_ok 1\nutf8_metric{label="ab'),
  Buffer.from([0xff, 0xfe]),
  Buffer.from('"} 1\n'),
]);

/** A running server of misbehaving targets. */
export interface MisbehavingTargets {
  /** `127.0.0.1:<port>`, for `static_configs`. */
  readonly address: string;
  /** Requests received per path. */
  readonly requests: Map<string, number>;
  /** Bytes written per path (what clients read before giving up). */
  readonly bytesSent: Map<string, number>;
  /** On-the-wire size of the whole gzip bomb. */
  readonly bombCompressedBytes: number;
  /** Closes every connection (hanging ones too) and the server. */
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startMisbehavingTargets(): Promise<MisbehavingTargets> {
  const requests = new Map<string, number>();
  const bytesSent = new Map<string, number>();
  const sockets = new Set<Socket>();
  const member = gzipSync(Buffer.alloc(BOMB_MEMBER_EXPANDED, '#'), { level: 9 });
  const bombCompressedBytes = member.length * BOMB_MEMBERS;
  // Built once (about 40 MB): generating it per scrape would load the test process.
  const manySeriesBody = buildManySeries(MANY_SERIES);
  const hugeBlock = Buffer.from('huge_body_metric{pad="xxxxxxxxxxxxxxxxxxxx"} 1\n'.repeat(1400));
  let address = '';

  const count = (path: string, bytes: number) => bytesSent.set(path, (bytesSent.get(path) ?? 0) + bytes);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (requests.get(path) ?? 0) + 1;
    requests.set(path, n);
    const text = (body: string | Buffer, status = 200) => {
      res.writeHead(status, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      count(path, body.length);
      res.end(body);
    };
    switch (path) {
      case MISBEHAVIOURS.healthy:
        return text(healthyBody(n));
      case MISBEHAVIOURS.hang:
        return; // The socket stays open until the client gives up or the server closes.
      case MISBEHAVIOURS.status500:
        return text('internal error\n', 500);
      case MISBEHAVIOURS.redirectLoop:
        res.writeHead(302, { location: `http://${address}${MISBEHAVIOURS.redirectLoop}` });
        return res.end();
      case MISBEHAVIOURS.hugeBody:
      case MISBEHAVIOURS.hugeBodyAnnounced:
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4',
          ...(path === MISBEHAVIOURS.hugeBodyAnnounced ? { 'content-length': String(HUGE_BODY_BYTES) } : {}),
        });
        return streamRepeated(res, hugeBlock, {
          total: HUGE_BODY_BYTES,
          onBytes: (b) => count(path, b),
        });
      case MISBEHAVIOURS.gzipBomb:
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-encoding': 'gzip' });
        return streamRepeated(res, member, { total: bombCompressedBytes, onBytes: (b) => count(path, b) });
      case MISBEHAVIOURS.invalidUtf8:
        return text(INVALID_UTF8_BODY);
      case MISBEHAVIOURS.duplicates:
        return text(DUPLICATES_BODY);
      case MISBEHAVIOURS.nanTimestamp:
        return text(NAN_TIMESTAMP_BODY);
      case MISBEHAVIOURS.manySeries:
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        return streamRepeated(res, manySeriesBody, {
          total: manySeriesBody.length,
          onBytes: (b) => count(path, b),
          chunkBytes: 1 << 20,
        });
      default:
        return text('not found\n', 404);
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    requests,
    bytesSent,
    bombCompressedBytes,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `many_series{i="<n>"} 1` for n in [0, count), newline-terminated. */
function buildManySeries(count: number): Buffer {
  const parts: string[] = [];
  const step = 100_000;
  for (let start = 0; start < count; start += step) {
    let s = '';
    for (let i = start; i < Math.min(count, start + step); i++) s += `many_series{i="${i}"} 1\n`;
    parts.push(s);
  }
  return Buffer.from(parts.join(''));
}

/**
 * Writes `total` bytes made of `block` repeated (the last copy cut short), waiting for 'drain'
 * whenever the socket's buffer is full and stopping as soon as the response closes.
 */
function streamRepeated(
  res: ServerResponse,
  block: Buffer,
  o: { total: number; onBytes: (n: number) => void; chunkBytes?: number },
): void {
  let sent = 0;
  let offset = 0;
  let closed = false;
  res.once('close', () => {
    closed = true;
  });
  const chunkBytes = o.chunkBytes ?? block.length;
  const pump = () => {
    while (!closed && sent < o.total) {
      const n = Math.min(chunkBytes, block.length - offset, o.total - sent);
      const chunk = block.subarray(offset, offset + n);
      offset = (offset + n) % block.length;
      sent += n;
      o.onBytes(n);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!closed) res.end();
  };
  pump();
}
