/**
 * Appender -> Serializer -> real FileQueue throughput: S series x 10 labels, one sample per series
 * per commit, C commits, for each fsync policy and each way of passing labels (a handle from
 * `registry.resolve`, the same labels object again, or a fresh equal object every time).
 * Each case runs in its own child process so peak RSS and CPU belong to that case alone.
 *
 * Run: npx tsc -p . && node dist/bench/append.js [series=10000] [commits=100] [appenders=1]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createFileQueue, type FsyncPolicy } from '../src/filequeue/index.js';
import type { SeriesRef } from '../src/queue-types.js';
import {
  AppendBatch,
  createAppender,
  createSerializer,
  createSeriesRegistry,
  decodeRecord,
  encodeRecord,
  type Labels,
  RecordBuilder,
} from '../src/serialization/index.js';
import { peakRssBytes, printTable } from './lib/measure.js';

type LabelMode = 'handle' | 'object' | 'fresh';

interface Result {
  fsync: FsyncPolicy;
  labels: LabelMode;
  samples: number;
  records: number;
  seconds: number;
  cpuSeconds: number;
  diskBytes: number;
  peakRss: number;
}

function seriesLabels(i: number): Labels {
  return {
    __name__: `bench_metric_${i % 100}_total`,
    job: `job-${i % 10}`,
    instance: `host-${i % 500}.example.internal:9100`,
    env: i % 2 === 0 ? 'production' : 'staging',
    region: `eu-west-${i % 3}`,
    az: `eu-west-${i % 3}${'abc'[i % 3]}`,
    namespace: `team-${i % 20}`,
    service: `svc-${i % 50}`,
    container: `app-${i % 5}`,
    pod: `svc-${i % 50}-7f9c8d${i.toString(16).padStart(5, '0')}-x2k4q`,
  };
}

async function runCase(fsync: FsyncPolicy, mode: LabelMode, seriesCount: number, commits: number, appenders: number) {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-bench-append-'));
  try {
    const fileQueue = await createFileQueue({
      dir,
      maxSignalsPerSegment: 1_000_000,
      batchIntervalMs: 600_000,
      fsync,
      fsyncIntervalMs: 1000,
      maxDiskBytes: 0,
      onDiskFull: 'reject',
    });
    const serializer = createSerializer({ fileQueue, mailboxCapacity: 64 });
    const registry = createSeriesRegistry();
    const objects = Array.from({ length: seriesCount }, (_, i) => seriesLabels(i));
    const handles: SeriesRef[] = objects.map((l) => registry.resolve(l));
    const apps = Array.from({ length: appenders }, () =>
      createAppender({ registry, submit: (b) => serializer.submit(b), initialCapacity: seriesCount }),
    );
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let ts = 1_700_000_000_000;
    // Each appender owns a share of the series and commits once per round.
    const worker = async (a: number) => {
      const app = apps[a];
      for (let c = 0; c < commits; c++) {
        const t = ts + c * 1000;
        for (let i = a; i < seriesCount; i += appenders) {
          const labels = mode === 'handle' ? handles[i] : mode === 'object' ? objects[i] : seriesLabels(i);
          app.append(labels, t, i + c);
        }
        await app.commit();
      }
    };
    await Promise.all(apps.map((_, a) => worker(a)));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    ts += commits * 1000;
    const stats = serializer.stats();
    await serializer.stop();
    const diskBytes = fileQueue.stats().diskBytes;
    await fileQueue.close();
    const result: Result = {
      fsync,
      labels: mode,
      samples: seriesCount * commits,
      records: stats.records,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      diskBytes,
      peakRss: peakRssBytes(process.pid),
    };
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Record build, encode and decode alone: series/s for one record of `seriesCount` series x 1 sample. */
function measureCodec(seriesCount: number): Record<string, string | number> {
  const registry = createSeriesRegistry();
  const batch = new AppendBatch(seriesCount);
  for (let i = 0; i < seriesCount; i++) batch.addSample(registry.resolve(seriesLabels(i)), 1_700_000_000_000, i);
  const slice = {
    batch,
    sampleStart: 0,
    sampleEnd: seriesCount,
    histogramStart: 0,
    histogramEnd: 0,
    exemplarStart: 0,
    exemplarEnd: 0,
    metadataStart: 0,
    metadataEnd: 0,
  };
  const builder = new RecordBuilder();
  const rounds = 30;
  let payload = encodeRecord(builder.build([slice]));
  let t = performance.now();
  for (let r = 0; r < rounds; r++) builder.build([slice]);
  const buildS = (performance.now() - t) / 1000;
  const record = builder.build([slice]);
  t = performance.now();
  for (let r = 0; r < rounds; r++) payload = encodeRecord(record);
  const encodeS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let r = 0; r < rounds; r++) decodeRecord(payload);
  const decodeS = (performance.now() - t) / 1000;
  const series = seriesCount * rounds;
  return {
    'record series': seriesCount,
    'payload bytes': payload.byteLength,
    'build series/s': Math.round(series / buildS),
    'encode series/s': Math.round(series / encodeS),
    'decode series/s': Math.round(series / decodeS),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const [, fsync, mode, s, c, a] = args;
    const r = await runCase(fsync as FsyncPolicy, mode as LabelMode, Number(s), Number(c), Number(a));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const seriesCount = Number(args[0] ?? 10_000);
  const commits = Number(args[1] ?? 100);
  const appenders = Number(args[2] ?? 1);
  console.log(`${seriesCount} series x 10 labels, ${commits} commits of 1 sample per series, ${appenders} appender(s)`);
  const self = fileURLToPath(import.meta.url);
  const rows: Record<string, string | number>[] = [];
  const cases: [FsyncPolicy, LabelMode][] = [
    ['never', 'handle'],
    ['interval', 'handle'],
    ['interval', 'object'],
    ['interval', 'fresh'],
    ['always', 'handle'],
  ];
  for (const [fsync, mode] of cases) {
    const child = spawnSync(
      process.execPath,
      [self, '--child', fsync, mode, String(seriesCount), String(commits), String(appenders)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (child.status !== 0) throw new Error(`case ${fsync}/${mode} failed with status ${child.status}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Result;
    rows.push({
      fsync: r.fsync,
      labels: r.labels,
      'samples/s': Math.round(r.samples / r.seconds),
      records: r.records,
      'bytes/sample': Number((r.diskBytes / r.samples).toFixed(2)),
      'CPU s per 1M': Number(((r.cpuSeconds * 1e6) / r.samples).toFixed(3)),
      'peak RSS MiB': Math.round(r.peakRss / 1024 / 1024),
    });
  }
  printTable(rows);
  console.log('\nrecord codec alone (build = grouping + interning, encode = msgpack + lz4):');
  printTable([measureCodec(seriesCount)]);
}

await main();
