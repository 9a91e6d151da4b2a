/**
 * The 2.0 relay's `transcoded` way in-process, stage by stage, in CPU ns per sample:
 * `node dist/bench/relay-rw2-path.js [--rounds=21] [--against=/path/to/other/worktree ...]`.
 *
 * bench/relay's series (bench/lib/rw-bodies.ts: 100,000 series of 10 labels, 1 sample each) as
 * 50 relayed 1-group records of 2,000 series, each round decoded afresh and taken as the daemon's
 * endpoint takes them: `load` (the transcoder uncompresses and indexes a record), `dispatch`
 * (counts per virtual shard, `groupByVshard`, a work per virtual shard into the builder of the
 * loop owning it, 4 loops), `fill` (BatchBuilder, max_samples_per_send 2,000), `encodeJs` (the
 * JavaScript of the transcoder's encode), `tcEncode` (its module call), `compress` (snappy of the
 * request), `finish` (highestTimestampMs and finishing the batch). Records go in 8 at a time and
 * the loops take their full batches after each 8 (as the daemon's loops drain their mailboxes),
 * so the transcoder's 16 MiB ring does not overwrite a record before its requests are made.
 *
 * `--cold` sweeps a 64 MiB buffer of its own (2x this machine's 32 MiB L3, 64x the per-core
 * 1 MiB L2) before each request, out of the timed stages: in the daemon the loadgen and the sink
 * share the cores and evict what the agent has not touched for a while, so the transcoder's cache
 * entries, dictionary and ring bytes are L3 or DRAM reads there; hot, the harness's loop keeps
 * them in L2 (one series encoded 52 times costs about half what 100,000 once each do).
 *
 * `--against` loads the same modules from another build's dist/ (a worktree of the baseline,
 * built) and alternates the builds round by round in this one process, so machine load hits both
 * alike; the request bytes of each build are hashed (the same hash: the same requests).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 21);
const cold = args.includes('--cold');
const roots = [
  fileURLToPath(new URL('../..', import.meta.url)),
  ...args.filter((a) => a.startsWith('--against=')).map((a) => a.slice(10)),
];

const SERIES = 100_000;
const PER_RECORD = 2000;
const LOOPS = 4;
const MAX_SAMPLES_PER_SEND = 2000;
const RECORDS_AT_ONCE = 8;
const STAGES = ['load', 'dispatch', 'fill', 'encodeJs', 'tcEncode', 'compress', 'finish'] as const;
type Stage = (typeof STAGES)[number];

/** 64 MiB read and written a line at a time (see `--cold`). */
const sweepBuffer = new Int32Array(cold ? 16 << 20 : 0);
let sweepSum = 0;
function sweep(): void {
  const b = sweepBuffer;
  for (let i = 0; i < b.length; i += 16) {
    sweepSum += b[i] as number;
    b[i] = sweepSum;
  }
}

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
};

/* biome-ignore lint/suspicious/noExplicitAny: modules of another build, loaded by path */
type Any = any;

interface Pipeline {
  root: string;
  round(): Record<Stage, number>;
  requests: number;
  bytes: number;
  hash: ReturnType<typeof createHash>;
  stats(): unknown;
}

async function pipeline(root: string): Promise<Pipeline> {
  const load = (p: string): Promise<Any> => import(`${root}/dist/${p}`);
  const { encodeRawRecord } = await load('src/serialization/raw-record.js');
  const { decodeRecord } = await load('src/serialization/record-codec.js');
  const { createWriteRequestEncoderV1 } = await load('src/wire/rw1-encoder.js');
  const { createWriteRequestEncoderV2 } = await load('src/wire/rw2-encoder.js');
  const { scanWriteRequestV1 } = await load('src/wire/rw1-raw-scan.js');
  const { createRw2Transcoder } = await load('src/wire/rw2-transcode-wasm.js');
  const { routedEncoderV2 } = await load('src/relay/relay-route.js');
  const { compressBlock } = await load('src/wire/snappy.js');
  const { buildRecord, wholeSlices } = await load('test/wire/record-builder.js');
  const { seriesLabels } = await load('bench/lib/rw-bodies.js');
  const { VshardCounts, cutAndCount, groupByVshard } = await load('src/endpoint/record-shaping.js');
  const { BatchBuilder } = await load('src/network/batch-builder.js');
  const { partitionOf } = await load('src/network/partition.js');

  const series = [];
  for (let i = 0; i < SERIES; i++) {
    series.push({
      labels: Object.fromEntries(seriesLabels(i, 10)),
      samples: [[1_765_000_000_000 + (i % 1000), i * 10]],
    });
  }
  const plain = createWriteRequestEncoderV1({ externalLabels: {}, labelCacheBytes: 0 });
  const all = wholeSlices(buildRecord(series));
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += PER_RECORD) {
    const part = all.slice(i, i + PER_RECORD);
    const body = Buffer.from(plain.encode(part, part.length, []));
    payloads.push(encodeRawRecord(compressBlock(body), scanWriteRequestV1(body), { body, groups: 1 }));
  }
  const tc = createRw2Transcoder({ externalLabels: {} });
  // The module call timed apart from the JavaScript around it.
  const m = tc.m;
  let moduleNs = 0;
  tc.m = {
    ...m,
    memory: m.memory,
    tc_encode: (a: number, b: number) => {
      const t = cpuNs();
      const at = m.tc_encode(a, b);
      moduleNs += cpuNs() - t;
      return at;
    },
  };
  const enc = routedEncoderV2(
    createWriteRequestEncoderV2({ externalLabels: {}, relayedLabelCacheBytes: 32 << 20 }),
    tc,
  );
  const counts = new VshardCounts();
  // The third argument (whole series as runs) is ignored by builds without it.
  const builders = Array.from({ length: LOOPS }, () => new BatchBuilder(MAX_SAMPLES_PER_SEND, false, true));
  const p: Pipeline = {
    root,
    requests: 0,
    bytes: 0,
    hash: createHash('sha256'),
    stats: () => tc.stats,
    round,
  };
  let newest = 0;

  function drain(t: Record<Stage, number>, flush: boolean): void {
    for (const b of builders) {
      for (;;) {
        if (cold) sweep();
        let x = cpuNs();
        b.fill();
        let y = cpuNs();
        t.fill += y - x;
        if (!b.full && !(flush && !b.empty)) break;
        const body =
          (b.onlyRuns && enc.encodeRuns !== undefined ? enc.encodeRuns(b.runs, b.runCount, []) : undefined) ??
          enc.encode(b.slices, b.sliceCount, []);
        x = cpuNs();
        t.encodeJs += x - y - moduleNs;
        t.tcEncode += moduleNs;
        moduleNs = 0;
        p.hash.update(body);
        const z = compressBlock(body);
        y = cpuNs();
        t.compress += y - x;
        p.bytes += z.length;
        p.requests++;
        newest = Math.max(newest, b.highestTimestampMs());
        b.finish(() => {});
        t.finish += cpuNs() - y;
      }
    }
  }

  function round(): Record<Stage, number> {
    const t = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    const recs = payloads.map((q) => decodeRecord(q, { deferRawBody: true }));
    for (let c = 0; c < recs.length; c += RECORDS_AT_ONCE) {
      const part = recs.slice(c, c + RECORDS_AT_ONCE);
      const a = cpuNs();
      for (const rec of part) tc.load(rec);
      const b = cpuNs();
      t.load += b - a;
      for (const rec of part) {
        cutAndCount(rec, Number.NEGATIVE_INFINITY, counts);
        const g = groupByVshard(rec, counts);
        for (let v = 0; v < counts.before.length; v++) {
          if (counts.before[v] === 0) continue;
          builders[partitionOf(v) % LOOPS].push({
            record: rec,
            series: g.order.subarray(g.start[v], g.start[v + 1]),
            portion: { segmentId: 1, record: c, vshard: v },
            signals: counts.after[v],
          });
        }
      }
      t.dispatch += cpuNs() - b;
      drain(t, false);
    }
    drain(t, true);
    return t;
  }
  return p;
}

const pipes: Pipeline[] = [];
for (const root of roots) pipes.push(await pipeline(root));
const results = pipes.map(() => Object.fromEntries([...STAGES, 'total'].map((s) => [s, [] as number[]])));
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < pipes.length; k++) {
    const i = (k + r) % pipes.length;
    const t = pipes[i].round();
    let total = 0;
    for (const s of STAGES) {
      results[i][s].push(t[s] / SERIES);
      total += t[s];
    }
    results[i].total.push(total / SERIES);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (let i = 0; i < pipes.length; i++) {
  const p = pipes[i];
  const cols = Object.entries(results[i]).map(([s, v]) => `${s} ${median(v).toFixed(1)}`);
  console.log(`${p.root}: ${cols.join('  ')} ns/sample (medians of ${rounds}${cold ? ', cold' : ''})`);
  console.log(
    `  ${(p.bytes / (SERIES * rounds)).toFixed(2)} wire bytes/sample, ${p.requests} requests, request bytes sha256 ${p.hash.digest('hex').slice(0, 16)}, transcoder ${JSON.stringify(p.stats())}`,
  );
}
