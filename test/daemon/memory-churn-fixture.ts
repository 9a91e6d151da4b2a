/**
 * Child process of memory-limit.test.ts: a relay-like allocation pattern (256 KiB array buffers,
 * the last 64 kept alive long enough to be promoted, so dead ones wait for a full collection),
 * run under `memoryBudget(argv[2])`'s pacer as the daemon runs it. Prints the peak RSS (VmHWM)
 * and the pacer's collections as JSON.
 */
import { readFileSync } from 'node:fs';
import { systemClock } from '../../src/clock.js';
import { memoryBudget } from '../../src/daemon/memory-budget.js';
import { startMemoryPacer } from '../../src/daemon/memory-pacer.js';

const budget = memoryBudget(Number(process.argv[2]));
const pacer =
  budget.pacerSlackBytes === undefined
    ? undefined
    : startMemoryPacer({ slackBytes: budget.pacerSlackBytes, rssBytes: budget.pacerRssBytes, clock: systemClock });
const live: Uint8Array[] = [];
let allocated = 0;
while (allocated < 400 * 2 ** 20) {
  for (let i = 0; i < 8; i++) {
    const a = new Uint8Array(256 * 1024).fill(1);
    live.push(a);
    if (live.length > 64) live.shift();
    allocated += a.length;
  }
  // Small objects too, as the relay makes: scavenges promote the buffers still alive.
  let junk: { j: number }[] | null = [];
  for (let j = 0; j < 20_000; j++) junk.push({ j });
  junk = null;
  // ~200 MB/s, a rate the pacer's 50 ms look keeps up with (bench/relay makes ~75 MB/s).
  await new Promise((r) => setTimeout(r, 10));
}
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
console.log(JSON.stringify({ hwm, collections: pacer?.stats().collections ?? 0 }));
pacer?.stop();
