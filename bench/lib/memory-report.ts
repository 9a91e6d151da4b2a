/**
 * Reads the files of bench/lib/memory-probe.ts and prints, per process, where its RSS was at its
 * highest sample: file-backed (the node binary and libraries), each isolate's committed V8 heap
 * by space, array buffers (off the V8 heap: bodies, segments, wasm memory is not among them) and
 * the rest of the anonymous memory (malloc: zlib/snappy, libuv, V8's own structures, wasm
 * memory). Usage: node dist/bench/lib/memory-report.js <dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MemorySample } from './memory-probe.js';

interface ThreadFile {
  pid: number;
  threadId: number;
  isMainThread: boolean;
  samples: MemorySample[];
  topMappings?: string[];
}

const MB = 2 ** 20;
const mb = (b: number) => (b / MB).toFixed(1);

const dir = process.argv[2];
if (!dir) throw new Error('usage: memory-report.js <dir written by memory-probe>');
const files: ThreadFile[] = readdirSync(dir)
  .filter((f) => f.startsWith('mem-') && f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ThreadFile);

const nearest = (samples: MemorySample[], t: number) =>
  samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), samples[0]);
const peakOf = (samples: MemorySample[], f: (s: MemorySample) => number) => Math.max(...samples.map(f));

for (const main of files.filter((f) => f.isMainThread)) {
  const others = files.filter((f) => f.pid === main.pid && !f.isMainThread && f.samples.length > 0);
  const top = main.samples.reduce((a, s) => ((s.rss ?? 0) > (a.rss ?? 0) ? s : a), main.samples[0]);
  console.log(`pid ${main.pid}: ${main.samples.length} samples, VmHWM ${mb(top.hwm ?? 0)} MB`);
  console.log(`  at the highest sample (${mb(top.rss ?? 0)} MB RSS):`);
  console.log(`    file-backed ${mb(top.rssFile ?? 0)} MB, anonymous ${mb(top.rssAnon ?? 0)} MB`);
  let accounted = 0;
  for (const [name, th] of [
    ['main', top] as const,
    ...others.map((o) => [`thread ${o.threadId}`, nearest(o.samples, top.t)] as const),
  ]) {
    const spaces = Object.entries(th.spaces)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k.replace('_space', '')} ${mb(v)}`)
      .join(', ');
    console.log(
      `    ${name}: V8 heap ${mb(th.heapTotal)} MB committed (${mb(th.heapUsed)} used; ${spaces}), array buffers ${mb(th.arrayBuffers)} MB`,
    );
    accounted += th.heapTotal + th.arrayBuffers;
  }
  console.log(`    anonymous not in a V8 heap or array buffer: ${mb((top.rssAnon ?? 0) - accounted)} MB`);
  console.log('  peaks over the run:');
  console.log(
    `    main: heap ${mb(peakOf(main.samples, (s) => s.heapTotal))}, new ${mb(peakOf(main.samples, (s) => s.spaces.new_space ?? 0))}, old ${mb(peakOf(main.samples, (s) => s.spaces.old_space ?? 0))}, array buffers ${mb(peakOf(main.samples, (s) => s.arrayBuffers))}, anonymous ${mb(peakOf(main.samples, (s) => s.rssAnon ?? 0))}`,
  );
  for (const o of others)
    console.log(
      `    thread ${o.threadId}: heap ${mb(peakOf(o.samples, (s) => s.heapTotal))}, new ${mb(peakOf(o.samples, (s) => s.spaces.new_space ?? 0))}, old ${mb(peakOf(o.samples, (s) => s.spaces.old_space ?? 0))}, array buffers ${mb(peakOf(o.samples, (s) => s.arrayBuffers))}`,
    );
  if (process.env.MAPPINGS) for (const m of main.topMappings ?? []) console.log(`    ${m}`);
}
