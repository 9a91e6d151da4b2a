/**
 * A memory probe preloaded into promspool for measuring where its RSS goes:
 * `PROMSPOOL_MEMORY_PROBE=<dir> node --import=<dist>/bench/lib/memory-probe.js ...`
 * (with bench/relay: `PROMSPOOL_BENCH_NODE_FLAGS=--import=$PWD/dist/bench/lib/memory-probe.js`).
 * Preloads run in every thread, so each isolate (the event loop, the relay scan worker) samples
 * its own heap every 100 ms; the main thread adds the process' smaps_rollup (anonymous and
 * file-backed RSS) and VmHWM. Each thread rewrites `<dir>/mem-<pid>-<threadId>.json` every
 * second with all its samples; `node dist/bench/lib/memory-report.js <dir>` reads them back.
 * Without the variable it does nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';

/** One sample of one thread; sizes in bytes. */
export interface MemorySample {
  t: number;
  /** Taken right after a full collection (PROMSPOOL_MEMORY_PROBE_GC). */
  collected?: boolean;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Committed bytes per V8 heap space (new_space, old_space, code_space, large_object_space ...). */
  spaces: Record<string, number>;
  /** Main thread only: whole process. */
  rss?: number;
  rssAnon?: number;
  rssFile?: number;
  hwm?: number;
}

const dir = process.env.PROMSPOOL_MEMORY_PROBE;
if (dir) {
  const samples: MemorySample[] = [];
  let topMappingsRss = 0;
  let topMappings: string[] = [];
  const file = join(dir, `mem-${process.pid}-${threadId}.json`);
  const kb = (text: string, key: string) => {
    const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  // PROMSPOOL_MEMORY_PROBE_GC=1 (with --expose-gc): a full collection before every 5th sample,
  // so those samples show the live array buffers rather than live plus garbage.
  // =worker or =main: only in that thread.
  const gcWhere = process.env.PROMSPOOL_MEMORY_PROBE_GC;
  const gcHere = gcWhere === '1' || (gcWhere === 'main') === isMainThread || (gcWhere === 'worker') === !isMainThread;
  const gc = gcWhere && gcHere ? (globalThis as { gc?: () => void }).gc : undefined;
  let k = 0;
  const sample = () => {
    const collected = gc !== undefined && ++k % 5 === 0;
    if (collected) gc?.();
    const u = process.memoryUsage();
    const spaces: Record<string, number> = {};
    for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = s.space_size;
    const s: MemorySample = {
      t: Date.now(),
      heapTotal: u.heapTotal,
      heapUsed: u.heapUsed,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
      spaces,
      ...(collected ? { collected } : {}),
    };
    if (isMainThread) {
      const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
      s.rss = kb(rollup, 'Rss');
      s.rssAnon = kb(rollup, 'Anonymous');
      s.rssFile = s.rss - s.rssAnon;
      s.hwm = kb(readFileSync('/proc/self/status', 'utf8'), 'VmHWM');
      // The mappings at the highest RSS so far (re-read only every 4 MB higher: smaps is long).
      if (s.rss > topMappingsRss + 4 * 2 ** 20) {
        topMappingsRss = s.rss;
        topMappings = largestMappings(readFileSync('/proc/self/smaps', 'utf8'));
      }
    }
    samples.push(s);
  };
  const flush = () =>
    writeFileSync(file, JSON.stringify({ pid: process.pid, threadId, isMainThread, samples, topMappings }));
  let n = 0;
  setInterval(() => {
    sample();
    if (++n % 10 === 0) flush();
  }, 100).unref();
  process.on('exit', () => {
    sample();
    flush();
  });
}

/** The 25 mappings of a /proc/<pid>/smaps text with the most resident bytes, as "<Rss kB> <range> <name>". */
function largestMappings(smaps: string): string[] {
  const out: { rss: number; line: string }[] = [];
  let head = '';
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) head = line;
    else if (line.startsWith('Rss:')) {
      const rss = Number(/(\d+)/.exec(line)?.[1] ?? 0);
      const f = head.split(/\s+/);
      out.push({ rss, line: `${rss} kB ${f[0]} ${f[1]} ${f.slice(5).join(' ')}` });
    }
  }
  return out
    .sort((a, b) => b.rss - a.rss)
    .slice(0, 25)
    .map((m) => m.line);
}
