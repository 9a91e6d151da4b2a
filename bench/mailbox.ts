/**
 * Mailbox throughput: `node dist/bench/mailbox.js [messages]`.
 *
 * Rows: a producer awaiting `send` into a consumer loop that only counts, at capacities 1, 64 and
 * 1024, and a `trySend` + `tryReceive` tight loop with no promises at all. The consumer is built
 * by hand as every real actor's is (SendLoop, serializer): take what is queued without a promise,
 * await `receive()` only when the mailbox is empty. CPU is
 * user+system from `process.cpuUsage()`; peak RSS is the process-wide high-water mark so far.
 */
import { createMailbox } from '../src/actors/mailbox.js';

interface Row {
  name: string;
  messages: number;
  seconds: number;
  cpuSeconds: number;
}

async function measure(name: string, messages: number, body: () => Promise<void> | void): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await body();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { name, messages, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function throughLoop(capacity: number, messages: number): Promise<void> {
  const mb = createMailbox<number>(capacity);
  let handled = 0;
  const consumer = (async () => {
    for (;;) {
      let msg = mb.tryReceive();
      if (msg === undefined) {
        msg = await mb.receive();
        if (msg === undefined) return; // closed and empty
      }
      handled++;
    }
  })();
  for (let i = 0; i < messages; i++) await mb.send(i);
  mb.close();
  await consumer;
  if (handled !== messages) throw new Error(`handled ${handled} of ${messages}`);
}

function tightLoop(messages: number): void {
  const mb = createMailbox<number>(1024);
  let sum = 0;
  for (let i = 0; i < messages; i++) {
    if (!mb.trySend(i)) throw new Error('unexpectedly full');
    sum += mb.tryReceive()!;
  }
  if (sum !== (messages * (messages - 1)) / 2) throw new Error('lost messages');
}

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 1_000_000);
  // Warm up so the first row does not pay for JIT compilation.
  for (const c of [1, 64, 1024]) await throughLoop(c, 50_000);
  tightLoop(500_000);

  const rows: { row: Row; maxRssMb: number }[] = [];
  for (const capacity of [1, 64, 1024]) {
    const row = await measure(`send->loop cap=${capacity}`, messages, () => throughLoop(capacity, messages));
    rows.push({ row, maxRssMb: process.resourceUsage().maxRSS / 1024 });
  }
  const tight = messages * 10;
  const row = await measure('trySend+tryReceive cap=1024', tight, () => tightLoop(tight));
  rows.push({ row, maxRssMb: process.resourceUsage().maxRSS / 1024 });

  console.log(`node ${process.version}, ${messages} messages per send row`);
  console.log(
    ['case'.padEnd(30), 'msgs/s'.padStart(14), 'cpu s/1M msgs'.padStart(14), 'peak RSS MB'.padStart(12)].join(' '),
  );
  for (const { row: r, maxRssMb } of rows) {
    console.log(
      [
        r.name.padEnd(30),
        Math.round(r.messages / r.seconds)
          .toLocaleString('en-US')
          .padStart(14),
        ((r.cpuSeconds / r.messages) * 1e6).toFixed(3).padStart(14),
        maxRssMb.toFixed(1).padStart(12),
      ].join(' '),
    );
  }
}

await main();
