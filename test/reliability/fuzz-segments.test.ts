// Damaged queue directories: real segments (record codec + FileQueue) are mutated at random
// (bit flips, zeroed/random ranges, flipped length fields, truncation, duplicated ranges, garbage
// appended) and reopened. The queue must never throw, must count what it skips, and must return
// every record the damage did not reach, byte for byte and decoding to what was written.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createFileQueue, type FileQueue, type Segment } from '../../src/filequeue/index.js';
import { createQueue } from '../../src/queue.js';
import { countRecordSignals, decodeRecord } from '../../src/serialization/record-codec.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { startFakeReceiver } from '../helpers/fake-receiver.js';
import { fastOptions, metricValue } from '../queue/queue-helpers.js';
import { fuzzCases, fuzzSeed, Rng } from './fuzz-random.js';
import {
  damageFile,
  type Expectation,
  expectationFor,
  type FileLayout,
  type WrittenRecord,
  writeQueueDir,
} from './segment-corpus.js';

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `promspool-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `series key -> [ts, value][]` of a decoded record, in the shape of WrittenRecord.samples. */
function samplesOf(r: SignalRecord): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (let s = 0; s < r.seriesCount; s++) {
    const labels: Record<string, string> = {};
    for (let l = r.labelOffsets[s]!; l < r.labelOffsets[s + 1]!; l++) {
      labels[r.strings[r.labelRefs[2 * l]!]!] = r.strings[r.labelRefs[2 * l + 1]!]!;
    }
    const list: [number, number][] = [];
    for (let k = r.sampleOffsets[s]!; k < r.sampleOffsets[s + 1]!; k++) list.push([r.timestamps[k]!, r.values[k]!]);
    out.set(JSON.stringify({ __name__: labels.__name__, rec: labels.rec, s: labels.s }), list);
  }
  return out;
}

/**
 * `promise`, or a failure naming `what` after `ms`. The timer is a real (ref'd) one: a hang
 * must fail the test with a message, not let the event loop run dry.
 */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads every segment the queue offers. A segment found unusable inside `next()` (bad header) is
 * set aside there, so `next()` may then wait for a segment that will never come: once the queue
 * holds none, the wait is aborted. Bounded: a real hang fails with a message.
 */
async function drain(q: FileQueue, what: string): Promise<Map<number, Segment>> {
  const out = new Map<number, Segment>();
  const deadline = Date.now() + 10_000;
  while (q.stats().segments > 0) {
    const ac = new AbortController();
    const next = q.next(ac.signal);
    let seg: Segment | null | undefined;
    next.then((s) => {
      seg = s;
    });
    while (seg === undefined) {
      await new Promise((r) => setImmediate(r));
      if (q.stats().segments === 0) ac.abort();
      if (Date.now() > deadline) assert.fail(`${what}: next() hangs with ${q.stats().segments} segments left`);
    }
    if (seg === null) {
      assert.equal(q.stats().segments, 0, `${what}: next() gave nothing while segments remained`);
      break;
    }
    // Copied first: after release the records' pooled buffer carries a later segment.
    out.set(seg.id, { ...seg, records: seg.records.map((p) => p && Uint8Array.from(p)) });
    q.release(seg.id);
  }
  return out;
}

function idOf(layout: FileLayout): number {
  return Number(layout.name.slice(0, layout.name.indexOf('.')));
}

interface CaseFigures {
  files: number;
  damagedFiles: number;
  records: number;
  touched: number;
  untouched: number;
  recovered: number;
  /** Untouched records not returned, in files whose header survived (resync should find them all). */
  untouchedLostAfterBreak: number;
  /** Untouched records in a file whose header was destroyed (set aside whole, by design). */
  untouchedLostToHeader: number;
  counted: number;
}

/**
 * Checks what the queue returned for one file against the oracle. Returns how many untouched
 * records came back and how many were lost after a framing break.
 */
function checkFile(
  layout: FileLayout,
  exp: Expectation,
  inserted: boolean,
  seg: Segment | undefined,
  what: string,
): [number, number] {
  const n = layout.records.length;
  const untouchedIdx = layout.records.map((_, i) => i).filter((i) => !exp.touched[i]);
  if (exp.headerBroken) {
    assert.equal(seg, undefined, `${what}: a file with a broken header must not be offered`);
    return [0, 0];
  }
  // Recovery of an .open keeps records up to its last CRC-valid one, found past any framing break
  // by resync; an inserted copy of a whole record is a valid record too.
  let kept = n;
  if (layout.kind === 'open') kept = untouchedIdx.length === 0 ? 0 : untouchedIdx[untouchedIdx.length - 1]! + 1;
  if (kept === 0 && layout.kind === 'open' && !inserted) {
    assert.equal(seg, undefined, `${what}: an .open with no whole valid record is deleted`);
    return [0, 0];
  }
  if (untouchedIdx.length > 0) assert.ok(seg, `${what}: segment missing`);
  if (!seg) return [0, 0];
  const originals = new Map(layout.records.map((r) => [Buffer.from(r.written.payload).toString('base64'), r.written]));
  // Nothing invalid is ever returned as valid: each non-null record is one that was written.
  for (const p of seg.records) {
    if (p === null) continue;
    const w = originals.get(Buffer.from(p).toString('base64'));
    assert.ok(w, `${what}: a returned record is not one that was written`);
    assert.deepEqual(samplesOf(decodeRecord(p)), w.samples, `${what}: record ${w.key} decodes to what was written`);
  }
  // Before the first framing break, record i is at index i: null iff touched. A run of touched
  // records just before the break may be skipped with it as one region, so it is not included.
  let beforeBreak = exp.breakIndex;
  while (Number.isFinite(beforeBreak) && beforeBreak > 0 && exp.touched[beforeBreak - 1]) beforeBreak--;
  const prefix = Math.min(kept, beforeBreak);
  for (let i = 0; i < prefix; i++) {
    const p: Uint8Array | null | undefined = seg.records[i];
    if (exp.touched[i]) assert.equal(p, null, `${what}: touched record ${i} must read as corrupt`);
    else assert.deepEqual(p && Buffer.from(p), Buffer.from(layout.records[i]!.written.payload), `${what}: record ${i}`);
  }
  if (exp.breakIndex === Number.POSITIVE_INFINITY) {
    assert.equal(seg.records.length, kept, `${what}: record count`);
  }
  const returned = new Set(seg.records.filter((p) => p !== null).map((p) => Buffer.from(p).toString('base64')));
  let recovered = 0;
  let lost = 0;
  for (const i of untouchedIdx) {
    if (returned.has(Buffer.from(layout.records[i]!.written.payload).toString('base64'))) recovered++;
    else lost++;
  }
  return [recovered, lost];
}

async function fuzzOneDir(t: TestContext, rng: Rng, c: number): Promise<CaseFigures> {
  const dir = tempDir(t, 'fuzzseg');
  const layouts = await writeQueueDir(dir, rng, rng.range(3, 14), 0, rng.chance(0.6));
  const damaged: { layout: FileLayout; exp: Expectation; log: string[] }[] = [];
  const pickAll = rng.chance(0.2);
  for (const layout of layouts) {
    if (!pickAll && damaged.length > 0 && !rng.chance(0.4)) continue;
    const d = damageFile(rng, join(dir, layout.name), layout);
    damaged.push({ layout, exp: expectationFor(layout, d), log: d.log });
  }
  const undamaged = layouts.filter((l) => !damaged.some((d) => d.layout === l));
  const what = `case ${c} [${damaged.map((d) => `${d.layout.name}: ${d.log.join('; ')}`).join(' | ')}]`;
  const q = await within(createFileQueue(baseOptions(dir)), 5_000, `${what}: createFileQueue`);
  let segments: Map<number, Segment>;
  try {
    segments = await drain(q, what);
  } finally {
    await within(q.close(), 5_000, `${what}: close`);
  }
  const fig: CaseFigures = {
    files: layouts.length,
    damagedFiles: damaged.length,
    records: 0,
    touched: 0,
    untouched: 0,
    recovered: 0,
    untouchedLostAfterBreak: 0,
    untouchedLostToHeader: 0,
    counted: q.stats().corruptRecords + q.stats().truncatedTails,
  };
  for (const layout of undamaged) {
    const seg = segments.get(idOf(layout));
    assert.ok(seg, `case ${c}: undamaged ${layout.name} missing`);
    assert.deepEqual(
      seg.records.map((p) => p && Buffer.from(p)),
      layout.records.map((r) => Buffer.from(r.written.payload)),
      `case ${c}: undamaged ${layout.name}`,
    );
    fig.records += layout.records.length;
    fig.untouched += layout.records.length;
    fig.recovered += layout.records.length;
  }
  let mustDetect = 0;
  let inserted = false;
  for (const { layout, exp, log } of damaged) {
    const what = `case ${c} ${layout.name} [${log.join('; ')}]`;
    const dup = log.some((l) => l.startsWith('duplicate'));
    const [recovered, lost] = checkFile(layout, exp, dup, segments.get(idOf(layout)), what);
    const touched = exp.touched.filter(Boolean).length;
    fig.records += layout.records.length;
    fig.touched += touched;
    fig.untouched += layout.records.length - touched;
    fig.recovered += recovered;
    if (exp.headerBroken) fig.untouchedLostToHeader += layout.records.length - touched;
    else fig.untouchedLostAfterBreak += lost;
    if (exp.mustDetect) mustDetect++;
    if (dup) inserted = true;
  }
  // Every damaged file whose damage can be seen was counted at least once; nothing else was.
  assert.ok(fig.counted >= mustDetect, `case ${c}: counted ${fig.counted} < ${mustDetect} damaged files`);
  if (mustDetect === 0 && !inserted) assert.equal(fig.counted, 0, `case ${c}: false corruption count`);
  return fig;
}

function sum(figs: CaseFigures[]): CaseFigures {
  const total = figs[0] ? { ...figs[0] } : ({} as CaseFigures);
  for (const f of figs.slice(1)) for (const k of Object.keys(total) as (keyof CaseFigures)[]) total[k] += f[k];
  return total;
}

describe('damaged segments', () => {
  const seed = fuzzSeed(0x5eed_0002);
  const cases = fuzzCases(150);

  it(`${cases} damaged queue directories reopen without throwing; every untouched record before a break is intact`, async (t) => {
    const rng = new Rng(seed);
    const figs: CaseFigures[] = [];
    for (let c = 0; c < cases; c++) figs.push(await fuzzOneDir(t, rng, c));
    const total = sum(figs);
    console.log(`# segment fuzz (seed ${seed}): ${JSON.stringify(total)}`);
    assert.ok(total.touched > 0 && total.recovered > 0 && total.counted > 0);
  });

  // Found by the fuzzer: before resync, one flipped bit in a length field lost every later record
  // of the segment, and recovery of an .open even truncated them away for good.
  it('a flipped bit in one length field loses only that record (committed segment)', async (t) => {
    const dir = tempDir(t, 'lenflip');
    const rng = new Rng(1);
    const layouts = await writeQueueDir(dir, rng, 5, 0, false);
    const layout = layouts.find((l) => l.records.length >= 3) ?? layouts[0]!;
    const bytes = Buffer.from(layout.original);
    bytes[layout.records[1]!.start + 2] ^= 0x01; // record 1's length += 65536
    writeFileSync(join(dir, layout.name), bytes);
    const q = await createFileQueue(baseOptions(dir));
    const segs = await drain(q, 'repro');
    await q.close();
    const seg = segs.get(idOf(layout));
    assert.ok(seg);
    const want = layout.records.map((r, i) => (i === 1 ? null : Buffer.from(r.written.payload)));
    assert.deepEqual(
      seg.records.map((p) => p && Buffer.from(p)),
      want,
    );
  });

  it('a flipped bit in one length field of an .open segment does not truncate the records after it', async (t) => {
    const dir = tempDir(t, 'lenflip-open');
    const rng = new Rng(2);
    // One segment, left open, 4 records.
    const layouts = await writeQueueDir(dir, rng, 4, 0, true);
    const layout = layouts.find((l) => l.kind === 'open');
    assert.ok(layout && layout.records.length >= 3, 'test setup: an .open with 3+ records');
    const bytes = Buffer.from(layout.original);
    bytes[layout.records[0]!.start + 3] ^= 0x80; // record 0's length += 2^31
    writeFileSync(join(dir, layout.name), bytes);
    const q = await createFileQueue(baseOptions(dir));
    const segs = await drain(q, 'repro');
    await q.close();
    const seg = segs.get(idOf(layout));
    assert.ok(seg, 'the segment survives recovery');
    assert.equal(seg.records.filter((p) => p !== null).length, layout.records.length - 1);
  });

  it(`createQueue over ${Math.max(3, Math.round(cases / 30))} damaged directories delivers every untouched record before a break`, async (t) => {
    const rng = new Rng(seed + 1);
    const rounds = Math.max(3, Math.round(cases / 30));
    const totals = { expectedSamples: 0, receivedSamples: 0, corruptRecordsMetric: 0, files: 0, damagedFiles: 0 };
    for (let c = 0; c < rounds; c++) {
      const dataDir = tempDir(t, 'fuzzseg-q');
      const layouts = await writeQueueDir(join(dataDir, 'ep'), rng, rng.range(10, 30), 0, rng.chance(0.5));
      const known = new Map<string, [number, number][]>();
      for (const l of layouts) for (const r of l.records) for (const [k, v] of r.written.samples) known.set(k, v);
      const expected: WrittenRecord[] = [];
      totals.files += layouts.length;
      for (const layout of layouts) {
        let exp: Expectation | undefined;
        if (rng.chance(0.5)) {
          totals.damagedFiles++;
          exp = expectationFor(layout, damageFile(rng, join(dataDir, 'ep', layout.name), layout));
        }
        if (exp?.headerBroken) continue;
        layout.records.forEach((r, i) => {
          if (!exp || (!exp.touched[i] && i < exp.breakIndex)) expected.push(r.written);
        });
      }
      const rx = await startFakeReceiver();
      t.after(() => rx.close());
      const queue = await createQueue(fastOptions(dataDir, rx.url));
      try {
        const want = new Map<string, [number, number][]>();
        for (const w of expected) for (const [k, v] of w.samples) want.set(k, v);
        const keyOf = (k: string) => {
          const l = JSON.parse(k) as Record<string, string>;
          return `{__name__=${JSON.stringify(l.__name__)},rec=${JSON.stringify(l.rec)},s=${JSON.stringify(l.s)}}`;
        };
        await rx.waitFor((r) => [...want.keys()].every((k) => r.received.has(keyOf(k))), 15_000);
        await waitUntil(() => queue.stats().endpoints[0]!.pendingSegments === 0, 15_000);
        for (const [k, v] of want) {
          const got = rx.received.get(keyOf(k))!.map((s) => [s.ts, s.value]);
          assert.deepEqual(got, v, `round ${c}: samples of ${k}`);
        }
        // Whatever else arrived is real data that was written (never garbage), once.
        for (const [key, got] of rx.received) {
          const l = /rec="(\d+)",s="(\d+)"/.exec(key);
          assert.ok(l, `round ${c}: unexpected series ${key}`);
          const orig = known.get(JSON.stringify({ __name__: 'fuzz_segment', rec: l[1], s: l[2] }));
          assert.deepEqual(
            got.map((s) => [s.ts, s.value]),
            orig,
            `round ${c}: ${key}`,
          );
        }
        assert.equal(rx.decodeErrors, 0);
        assert.equal(rx.orderViolations, 0);
        const st = queue.stats().endpoints[0]!;
        const metric = metricValue(await queue.registry.metrics(), 'promspool_records_corrupt_total') ?? -1;
        assert.equal(metric, st.samplesDropped.corrupt_records ?? 0, `round ${c}: metric = stats`);
        totals.expectedSamples += [...want.values()].reduce((a, v) => a + v.length, 0);
        totals.receivedSamples += rx.totalSamples;
        totals.corruptRecordsMetric += metric;
      } finally {
        await queue.stop();
      }
    }
    console.log(`# createQueue over damaged dirs (seed ${seed + 1}): ${JSON.stringify(totals)}`);
    assert.ok(totals.receivedSamples >= totals.expectedSamples);
  });
});

function baseOptions(dir: string) {
  return {
    dir,
    maxSignalsPerSegment: 1_000_000,
    batchIntervalMs: 3_600_000,
    fsync: 'never' as const,
    fsyncIntervalMs: 1_000,
    maxDiskBytes: 0,
    onDiskFull: 'reject' as const,
    countSignals: countRecordSignals,
  };
}

/** Polls `cond` every 10 ms (stats have no event to await) until true; fails after `timeoutMs`. */
async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
