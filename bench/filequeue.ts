/**
 * FileQueue throughput per fsync policy with 64 KiB and 1 MiB random payloads, plus start-up time
 * over a 10 GiB backlog (sparse files: start-up only stats committed segments).
 * Run: npx tsc -p . && node dist/bench/filequeue.js [MiB per run, default 64]
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { queueFileName } from '../src/filequeue/file-names.js';
import { createFileQueue, type FsyncPolicy } from '../src/filequeue/index.js';

const MiB = 1024 * 1024;
const perRunBytes = Number(process.argv[2] ?? 64) * MiB;

interface Run {
  policy: FsyncPolicy;
  payloadBytes: number;
  /** Appends in flight at once (1 = each append awaited before the next). */
  concurrency: number;
}

async function runAppends({ policy, payloadBytes, concurrency }: Run): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-bench-fq-'));
  try {
    const pool = Array.from({ length: 16 }, () => randomFillSync(Buffer.allocUnsafe(payloadBytes)));
    const q = await createFileQueue({
      dir,
      // 16 MiB segments, so sealing (fsync + rename + dir fsync) is part of the cost.
      maxSignalsPerSegment: Math.max(1, Math.floor((16 * MiB) / payloadBytes)),
      batchIntervalMs: 60_000,
      fsync: policy,
      fsyncIntervalMs: 1000,
      maxDiskBytes: 0,
      onDiskFull: 'reject',
    });
    const appends = Math.max(1, Math.floor(perRunBytes / payloadBytes));
    let issued = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (issued < appends) {
        const i = issued++;
        await q.append(pool[i % pool.length], 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const st = q.stats();
    await q.close();
    const mb = (appends * payloadBytes) / 1e6;
    console.log(
      [
        `fsync=${policy.padEnd(8)}`,
        `payload=${payloadBytes >= MiB ? `${payloadBytes / MiB}MiB` : `${payloadBytes / 1024}KiB`}`.padEnd(15),
        `conc=${concurrency}`.padEnd(7),
        `${(mb / seconds).toFixed(0).padStart(5)} MB/s`,
        `${(appends / seconds).toFixed(0).padStart(6)} appends/s`,
        `fsyncs=${String(st.fsyncs).padStart(5)}`,
        `fsync_s=${st.fsyncSeconds.toFixed(2)}`,
        `peakRSS=${(process.resourceUsage().maxRSS / 1024).toFixed(0)}MiB`,
      ].join('  '),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds a backlog of `count` sparse committed segments of `bytes` each and times createFileQueue on it. */
async function startup(count: number, bytes: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-bench-fq-'));
  try {
    for (let id = 1; id <= count; id++) {
      const fd = openSync(join(dir, queueFileName(id, 'committed')), 'w');
      ftruncateSync(fd, bytes);
      closeSync(fd);
    }
    const t0 = performance.now();
    const q = await createFileQueue({
      dir,
      maxSignalsPerSegment: 1000,
      batchIntervalMs: 1000,
      fsync: 'always',
      fsyncIntervalMs: 1000,
      maxDiskBytes: 0,
      onDiskFull: 'reject',
    });
    const ms = performance.now() - t0;
    const st = q.stats();
    await q.close();
    console.log(
      `startup: ${count} segments x ${bytes / MiB} MiB = ${(st.diskBytes / 1024 ** 3).toFixed(1)} GiB backlog opened in ${ms.toFixed(0)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs: Run[] = [];
for (const payloadBytes of [64 * 1024, MiB]) {
  for (const policy of ['never', 'interval', 'always'] as const) runs.push({ policy, payloadBytes, concurrency: 1 });
  runs.push({ policy: 'always', payloadBytes, concurrency: 8 });
}
console.log(`filequeue bench: ${perRunBytes / MiB} MiB per run, node ${process.version}`);
for (const r of runs) await runAppends(r);
await startup(160, 64 * MiB);
await startup(10_240, MiB);
