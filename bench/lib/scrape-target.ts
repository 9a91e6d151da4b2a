/**
 * Scrape targets for the scrape benchmark, run as their own process
 * (`node dist/bench/lib/scrape-target.js <targets> <seriesPerTarget> <names>`) so building bodies
 * never counts against the agent measured. Target `i` is `GET /metrics/<i>` on one loopback port;
 * its body is the text format 0.0.4 (`# HELP`, `# TYPE counter`, one line per series) in the
 * shape of node-exporter metrics: `<names>` families, the series spread over them evenly, 6 labels
 * per series besides the name. Every request gets new values (each series' counter grows by one
 * per scrape of its target), so no agent can skip unchanged samples. Gzip (level 1) when the
 * request accepts it, as Prometheus, vmagent and promspool all ask by default.
 *
 * IPC: `{ port }` once listening; `{ scrapes, bytes }` on every `{ cmd: 'stats' }` message;
 * exits on `{ cmd: 'exit' }`.
 */
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';

const targets = Number(process.argv[2] ?? 1);
const seriesPerTarget = Number(process.argv[3] ?? 100_000);
const names = Number(process.argv[4] ?? 5);

/** Label values chosen to look like node-exporter's: short, repeated, a few distinct per label. */
const MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
const DEVICES = ['sda', 'sdb', 'nvme0n1', 'nvme1n1', 'dm-0', 'dm-1', 'loop0', 'loop1'];

/** Per target: the series' line prefixes (name and labels, ending in a space), built once. */
function prefixesOf(target: number): { header: string[]; lines: string[] } {
  const perName = Math.ceil(seriesPerTarget / names);
  const header: string[] = [];
  const lines: string[] = [];
  for (let n = 0; n < names && lines.length < seriesPerTarget; n++) {
    const name = `node_bench_metric_${n}_total`;
    header.push(`# HELP ${name} Bench metric ${n} of target ${target}.\n# TYPE ${name} counter\n`);
    for (let s = 0; s < perName && lines.length < seriesPerTarget; s++) {
      lines.push(
        `${name}{cpu="${s % 64}",device="${DEVICES[s % DEVICES.length]}",mode="${MODES[(s >> 3) % MODES.length]}",` +
          `series="${s}",target="${target}",zone="zone-${s % 3}"} `,
      );
    }
  }
  return { header, lines };
}

const prefixes = Array.from({ length: targets }, (_, i) => prefixesOf(i));
const scrapesOf = new Uint32Array(targets);
let scrapes = 0;
let bytes = 0;

function bodyOf(target: number): string {
  const { header, lines } = prefixes[target];
  const round = ++scrapesOf[target];
  const perName = Math.ceil(lines.length / header.length);
  const parts: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (i % perName === 0) parts.push(header[i / perName]);
    parts.push(lines[i], String(round * 1000 + (i % 1000)), '\n');
  }
  return parts.join('');
}

const server = createServer((req, res) => {
  const m = /^\/metrics\/(\d+)$/.exec(req.url ?? '');
  const target = m === null ? -1 : Number(m[1]);
  if (target < 0 || target >= targets) {
    res.writeHead(404).end();
    return;
  }
  const text = bodyOf(target);
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? gzipSync(text, { level: 1 }) : Buffer.from(text);
  scrapes++;
  bytes += body.length;
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': body.length,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(body);
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'stats') process.send?.({ scrapes, bytes });
  else if (msg.cmd === 'exit') server.close(() => process.exit(0));
});
