/**
 * Micro-benchmark of one scrape loop (not a scenario of RESULTS.md): one target of `--series`
 * series (`--names` families, 6 labels each; bench/lib/scrape-target in its own process, new values
 * on every request) scraped `--scrapes` times back to back through `startScrapeLoop` into a sink
 * that only counts appends, so what is measured is the loop alone: HTTP client, gunzip, parse,
 * cache lookups, appends, stale tracking, report series. CPU of this process (user + system) per
 * scrape, for the first scrape (every series new: label parse, relabeling, series refs) and the
 * warm ones, gzip and plain bodies alternating scrape by scrape in one sitting.
 *
 * With `--queue`, the loop appends into a real queue (createQueue, fsync never) delivering to
 * bench/lib/sink (own process, 204): CPU of this process per million samples delivered, from the
 * delivery of the first scrape to that of the last (scrapes back to back, gzip).
 *
 * Usage: node dist/bench/scrape-loop-micro.js [--series=100000] [--names=5] [--scrapes=20] [--queue]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createQueue } from '../src/index.js';
import type { Appender, SeriesRef } from '../src/queue-types.js';
import { createParser } from '../src/scrape/index.js';
import { createScrapeClient } from '../src/scrape/scrape-client.js';
import { type RunningScrapeLoop, startScrapeLoop } from '../src/scrape/scrape-loop.js';
import type { Labels } from '../src/serialization/types.js';
import { SimulatedClock } from '../test/helpers/simulated-clock.js';
import { loopConfig, loopTarget } from '../test/scrape/loop-helpers.js';
import { scenarioArgs } from './lib/scenario-args.js';
import { sinkReaches, startSink } from './lib/sink-client.js';

const args = scenarioArgs({ series: 100_000, names: 5, scrapes: 20, queue: false });

/** Counts what a scrape appends; holds nothing. */
class CountingSink {
  samples = 0;
  series(labels: Labels): SeriesRef {
    return { labels };
  }
  appender(): Appender {
    return {
      append: () => {
        this.samples++;
      },
      appendHistogram: () => {},
      appendExemplar: () => {},
      updateMetadata: () => {},
      commit: async () => {},
      rollback: () => {},
    };
  }
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const child = fork(fileURLToPath(new URL('./lib/scrape-target.js', import.meta.url)), [
  '1',
  String(args.series),
  String(args.names),
]);
const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
const url = `http://127.0.0.1:${port}/metrics/0`;

interface Run {
  clock: SimulatedClock;
  loop: RunningScrapeLoop;
  sink: CountingSink;
  warm: number[];
  first: number;
}

async function start(gzip: boolean): Promise<Run> {
  const clock = new SimulatedClock(1_700_000_000_000);
  const config = loopConfig({ enableCompression: gzip, scrapeIntervalMs: 5000, scrapeTimeoutMs: 5000 });
  const target = loopTarget(url, { intervalMs: 5000, timeoutMs: 5000 });
  const sink = new CountingSink();
  const client = createScrapeClient(config, { clock });
  const loop = startScrapeLoop({ target, config, client, sink, clock });
  return { clock, loop, sink, warm: [], first: 0 };
}

async function scrapeOnce(r: Run): Promise<number> {
  const at = r.clock.nextDeadline()!;
  const before = cpuMs();
  r.clock.advance(at - r.clock.now());
  await r.loop.idle();
  const spent = cpuMs() - before;
  const s = r.loop.status();
  if (s.health !== 'up') throw new Error(`scrape failed: ${s.lastError}`);
  return spent;
}

if (args.queue) {
  const sink = await startSink(0, { counting: 'structure' });
  const dir = mkdtempSync(join(tmpdir(), 'promspool-bench-scrape-loop-'));
  const queue = await createQueue({
    dataDir: dir,
    ttl: 0,
    endpoints: [{ name: 'sink', url: sink.url, queueConfig: { batchSendDeadline: '50ms' } }],
    persistence: { fsync: 'never', batchInterval: '100ms' },
  });
  const clock = new SimulatedClock(Date.now() - 3_600_000);
  const config = loopConfig({ scrapeIntervalMs: 5000, scrapeTimeoutMs: 5000 });
  const target = loopTarget(url, { intervalMs: 5000, timeoutMs: 5000 });
  const client = createScrapeClient(config, { clock });
  const loop = startScrapeLoop({ target, config, client, sink: queue, clock });
  const perScrape = args.series + 5;
  const scrape = async () => {
    clock.advance(clock.nextDeadline()! - clock.now());
    await loop.idle();
  };
  await scrape();
  await sinkReaches(sink, perScrape, Date.now() + 120_000);
  const before = cpuMs();
  for (let i = 0; i < args.scrapes; i++) await scrape();
  const want = perScrape * (args.scrapes + 1);
  const got = await sinkReaches(sink, want, Date.now() + 300_000);
  const spent = cpuMs() - before;
  console.log(
    `loop + queue + delivery, one target of ${args.series} series, ${args.scrapes} warm scrapes: ${(spent / args.scrapes).toFixed(1)} ms CPU per scrape = ${((spent / (got - perScrape)) * 1000).toFixed(3)} CPU s per million samples delivered (${got}/${want} counted)`,
  );
  await loop.stop({ staleMarkers: false });
  await client.close();
  await queue.stop();
  await sink.stop();
  rmSync(dir, { recursive: true, force: true });
  child.send({ cmd: 'exit' });
  child.disconnect();
  process.exit(0);
}

/**
 * The floor of any loop: the text parser alone over the same body (entries, values, timestamps),
 * measured between the loop's scrapes so that machine load hits both alike.
 */
async function parseOnlyMs(): Promise<number> {
  const body = await parseClient.scrape(url, 5000);
  const before = cpuMs();
  const p = createParser('text-0.0.4', body.body);
  let x = 0;
  for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') x += p.value;
  if (Number.isNaN(x)) throw new Error('unreachable');
  return cpuMs() - before;
}
const parseClient = createScrapeClient(loopConfig({ enableCompression: false }));
const parseOnly: number[] = [];

const runs = { gzip: await start(true), plain: await start(false) };
for (const r of Object.values(runs)) r.first = await scrapeOnce(r);
for (let i = 0; i < args.scrapes; i++) {
  for (const r of Object.values(runs)) r.warm.push(await scrapeOnce(r));
  parseOnly.push(await parseOnlyMs());
}
await parseClient.close();
const samplesPerScrape = args.series + 5;
console.log(
  `one target, ${args.series} series (${args.names} names, 6 labels), ${args.scrapes} warm scrapes per mode, alternating`,
);
for (const [mode, r] of Object.entries(runs)) {
  const med = median(r.warm);
  const mean = r.warm.reduce((a, b) => a + b, 0) / r.warm.length;
  console.log(
    `${mode.padEnd(5)} first scrape ${r.first.toFixed(0)} ms CPU; warm median ${med.toFixed(1)} ms, mean ${mean.toFixed(1)} ms ` +
      `= ${((med / samplesPerScrape) * 1000).toFixed(3)} CPU s per million samples (median); stats ${JSON.stringify({
        cached: r.loop.stats().cachedSeries,
        appended: r.sink.samples,
      })}`,
  );
  await r.loop.stop({ staleMarkers: false });
}
// With --expose-gc, garbage (the last bodies) is collected first so the heap is what the caches hold.
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
console.log(
  `memory after the warm scrapes (both loops' caches, 2 x ${args.series} series): rss ${(mem.rss / 2 ** 20).toFixed(0)} MB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB`,
);
console.log(
  `parse only (text parser over the plain body, no loop): median ${median(parseOnly).toFixed(1)} ms; loop/parse ratio gzip ${(median(runs.gzip.warm) / median(parseOnly)).toFixed(2)}, plain ${(median(runs.plain.warm) / median(parseOnly)).toFixed(2)}`,
);
child.send({ cmd: 'exit' });
child.disconnect();
