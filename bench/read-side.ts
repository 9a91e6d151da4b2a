/**
 * The endpoint's read side alone, in one process and without HTTP: records as the Serializer
 * writes them (S series x 10 labels, one sample per series per record, the bench/library label
 * sets) are decoded, counted per virtual shard, sliced into requests of 2,000 samples for 4
 * shards, encoded as remote-write 1.0 and snappy-compressed. Reports CPU seconds per 1M samples
 * per stage, so encoder changes can be compared without the noise of the sink and the network.
 *
 * Usage: node dist/bench/read-side.js [series=10000] [records=50]
 */
import { cutAndCount, groupByVshard, VshardCounts } from '../src/endpoint/record-shaping.js';
import { BatchBuilder } from '../src/network/batch-builder.js';
import { VIRTUAL_SHARDS, virtualShardOf } from '../src/network/types.js';
import {
  type AppendBatch,
  createAppender,
  createSeriesRegistry,
  decodeRecord,
  encodeRecord,
  RecordBuilder,
  type SignalRecord,
} from '../src/serialization/index.js';
import { createWriteRequestEncoderV1 } from '../src/wire/rw1-encoder.js';
import { compressBlock } from '../src/wire/snappy.js';
import type { WriteRequestEncoder } from '../src/wire/types.js';
import { printTable } from './lib/measure.js';
import { benchSeriesLabels } from './lib/series-labels.js';

const seriesCount = Number(process.argv[2] ?? 10_000);
const recordCount = Number(process.argv[3] ?? 50);
const SHARDS = 4;

const registry = createSeriesRegistry();
const handles = Array.from({ length: seriesCount }, (_x, i) => registry.resolve(benchSeriesLabels(i)));

// Payloads as the Serializer would write them: one record per commit.
const builder = new RecordBuilder();
const payloads: Uint8Array[] = [];
// The appender reuses its batch after the commit settles: build the record inside `submit`.
const app = createAppender({
  registry,
  submit: (b: AppendBatch) => {
    const record = builder.build([
      {
        batch: b,
        sampleStart: 0,
        sampleEnd: b.sampleCount,
        histogramStart: 0,
        histogramEnd: 0,
        exemplarStart: 0,
        exemplarEnd: 0,
        metadataStart: 0,
        metadataEnd: 0,
      },
    ]);
    payloads.push(encodeRecord(record));
    return Promise.resolve();
  },
});
for (let r = 0; r < recordCount; r++) {
  for (let i = 0; i < seriesCount; i++) app.append(handles[i], 1_700_000_000_000 + r * 1000, r + i);
  await app.commit();
}
if (payloads.length !== recordCount) throw new Error(`built ${payloads.length} records, expected ${recordCount}`);

const encoders: WriteRequestEncoder[] = Array.from({ length: SHARDS }, () =>
  createWriteRequestEncoderV1({ externalLabels: { cluster: 'bench', replica: 'a' } }),
);
const batches = Array.from({ length: SHARDS }, () => new BatchBuilder(2000));
const counts = new VshardCounts();
const cpu = { decode: 0, shape: 0, encode: 0, compress: 0 };
let requests = 0;
let bodyBytes = 0;

function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function sendAll(b: BatchBuilder, shard: number): void {
  for (;;) {
    b.fill();
    if (b.sliceCount === 0) {
      b.finish(() => {});
      if (!b.hasUnsliced) return;
      continue;
    }
    if (!b.full && !b.hasUnsliced) return; // partial batch: wait for the next record
    let t = cpuNow();
    const body = encoders[shard].encode(b.slices, b.sliceCount, []);
    cpu.encode += cpuNow() - t;
    t = cpuNow();
    bodyBytes += compressBlock(body).length;
    cpu.compress += cpuNow() - t;
    requests++;
    b.finish(() => {});
  }
}

function run(): void {
  for (const payload of payloads) {
    let t = cpuNow();
    const rec: SignalRecord = decodeRecord(payload);
    cpu.decode += cpuNow() - t;
    t = cpuNow();
    cutAndCount(rec, Number.NEGATIVE_INFINITY, counts);
    const g = groupByVshard(rec, counts);
    for (let v = 0; v < VIRTUAL_SHARDS; v++) {
      if (counts.after[v] === 0) continue;
      batches[v % SHARDS].push({
        record: rec,
        series: g.order.subarray(g.start[v], g.start[v + 1]),
        portion: { segmentId: 0, record: 0, vshard: v },
        signals: counts.after[v],
      });
    }
    cpu.shape += cpuNow() - t;
    for (let s = 0; s < SHARDS; s++) sendAll(batches[s], s);
  }
  // Flush what is left in each builder.
  for (let s = 0; s < SHARDS; s++) {
    const b = batches[s];
    b.fill();
    if (b.sliceCount > 0) {
      encoders[s].encode(b.slices, b.sliceCount, []);
      requests++;
    }
    b.finish(() => {});
  }
}

if (virtualShardOf(0) !== 0) throw new Error('unexpected vshard mapping');
run(); // warm-up round: the label caches fill here, as they do in a long-running agent
for (const k of Object.keys(cpu) as (keyof typeof cpu)[]) cpu[k] = 0;
requests = 0;
bodyBytes = 0;
const rounds = 3;
const wall0 = performance.now();
for (let i = 0; i < rounds; i++) run();
const wall = (performance.now() - wall0) / 1000;
const samples = rounds * recordCount * seriesCount;
const per1M = (us: number) => us / 1e6 / (samples / 1e6);
printTable([
  {
    scenario: 'read side',
    samples,
    requests,
    'decode s/1M': per1M(cpu.decode),
    'shape s/1M': per1M(cpu.shape),
    'encode s/1M': per1M(cpu.encode),
    'snappy s/1M': per1M(cpu.compress),
    'total s/1M (wall)': wall / (samples / 1e6),
    'compressed KiB/request': Math.round(bodyBytes / requests / 1024),
  },
]);
