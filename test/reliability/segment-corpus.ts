/**
 * Builds real queue directories for the segment fuzzer (records encoded with the record codec,
 * written by the FileQueue), damages their files at random, and predicts from the damage alone
 * which records a reader must still return: an oracle that never asks the code under test.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileQueue } from '../../src/filequeue/index.js';
import { countRecordSignals, encodeRecord } from '../../src/serialization/record-codec.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { buildRecord } from '../wire/record-builder.js';
import type { Rng } from './fuzz-random.js';

export const SEGMENT_HEADER = 16;
export const RECORD_HEADER = 8;
export const T0 = 1_700_000_000_000;

/** One written record: its payload and the samples it holds (`series key -> [ts, value][]`). */
export interface WrittenRecord {
  key: number;
  payload: Uint8Array;
  samples: Map<string, [number, number][]>;
}

/** The labels of series `s` of record `key`: unique per record, so each record's samples are its own. */
export function seriesLabels(key: number, s: number): Record<string, string> {
  return { __name__: 'fuzz_segment', rec: String(key), s: String(s) };
}

/** A record with 1-3 series of 1-6 samples each, values derived from the record key. */
export function randomRecord(rng: Rng, key: number): { record: SignalRecord; written: WrittenRecord } {
  const series = [];
  const samples = new Map<string, [number, number][]>();
  for (let s = 0, n = rng.range(1, 3); s < n; s++) {
    const list: [number, number][] = [];
    for (let k = 0, m = rng.range(1, 6); k < m; k++) list.push([T0 + key * 1_000 + k, key * 100 + s * 10 + k]);
    const labels = seriesLabels(key, s);
    series.push({ labels, samples: list });
    samples.set(JSON.stringify(labels), list);
  }
  const record = buildRecord(series);
  return { record, written: { key, payload: encodeRecord(record), samples } };
}

export interface FileLayout {
  name: string;
  kind: 'open' | 'committed';
  original: Buffer;
  /** Records in file order with their byte range [start, end) including the 8-byte header. */
  records: { start: number; end: number; written: WrittenRecord }[];
}

/**
 * Writes `recordCount` random records into a FileQueue in `dir`, sealing after random runs of
 * records; the last run stays in `<id>.open` when `leaveOpen`. Returns each file's layout.
 */
export async function writeQueueDir(
  dir: string,
  rng: Rng,
  recordCount: number,
  firstKey: number,
  leaveOpen: boolean,
): Promise<FileLayout[]> {
  const q = await createFileQueue({
    dir,
    maxSignalsPerSegment: 1_000_000,
    batchIntervalMs: 3_600_000,
    fsync: 'never',
    fsyncIntervalMs: 1_000,
    maxDiskBytes: 0,
    onDiskFull: 'reject',
    countSignals: countRecordSignals,
  });
  const written: WrittenRecord[] = [];
  let run = rng.range(1, 5);
  for (let i = 0; i < recordCount; i++) {
    const { written: w } = randomRecord(rng, firstKey + i);
    await q.append(w.payload, countRecordSignals(w.payload));
    written.push(w);
    if (--run === 0 && (i < recordCount - 1 || !leaveOpen)) {
      await q.seal();
      run = rng.range(1, 5);
    }
  }
  await q.close();
  const byPayload = new Map(written.map((w) => [Buffer.from(w.payload).toString('base64'), w]));
  const layouts: FileLayout[] = [];
  for (const name of readdirSync(dir).sort()) {
    const kind = name.endsWith('.open') ? 'open' : name.endsWith('.committed') ? 'committed' : undefined;
    if (!kind) continue;
    const original = readFileSync(join(dir, name));
    const records: FileLayout['records'] = [];
    for (let pos = SEGMENT_HEADER; pos + RECORD_HEADER <= original.length; ) {
      const end = pos + RECORD_HEADER + original.readUInt32LE(pos);
      const payload = original.subarray(pos + RECORD_HEADER, end);
      const w = byPayload.get(payload.toString('base64'));
      if (!w) throw new Error(`test setup: record at ${pos} of ${name} is not one that was written`);
      records.push({ start: pos, end, written: w });
      pos = end;
    }
    layouts.push({ name, kind, original, records });
  }
  return layouts;
}

/** What was done to one file, in offsets of the original file. */
export interface Damage {
  /** Offsets whose byte differs after the in-place edits. */
  changed: Set<number>;
  cutAt?: number;
  insertAt?: number;
  appended?: number;
  /** The file as written back. */
  final: Buffer;
  log: string[];
}

/**
 * Damages a file in place: 1-3 in-place edits (bit flips, zeroed or random ranges, a flipped
 * length field) and at most one edit that changes its length (truncate, duplicate a range into
 * it, append garbage), which goes last so every offset refers to the original file.
 */
export function damageFile(rng: Rng, path: string, layout: FileLayout): Damage {
  const buf = Buffer.from(layout.original);
  const log: string[] = [];
  const len = buf.length;
  for (let e = 0, n = rng.range(1, 3); e < n; e++) {
    const kind = rng.int(5);
    const at = rng.int(len);
    if (kind === 0) {
      const bit = rng.int(8);
      buf[at] ^= 1 << bit;
      log.push(`flip bit ${bit} of byte ${at}`);
    } else if (kind === 1) {
      const n2 = Math.min(rng.range(1, 64), len - at);
      buf.fill(0, at, at + n2);
      log.push(`zero ${n2} bytes at ${at}`);
    } else if (kind === 2) {
      const n2 = Math.min(rng.range(1, 16), len - at);
      buf.set(rng.bytes(n2), at);
      log.push(`randomize ${n2} bytes at ${at}`);
    } else if (kind === 3 && layout.records.length > 0) {
      const r = rng.pick(layout.records);
      const b = r.start + rng.int(4);
      buf[b] ^= 1 << rng.int(8);
      log.push(`flip a bit of the length field of the record at ${r.start} (byte ${b})`);
    } else {
      // Payload only: a CRC failure that leaves framing intact.
      const r = layout.records.length > 0 ? rng.pick(layout.records) : undefined;
      if (r && r.end > r.start + RECORD_HEADER) {
        const b = r.start + RECORD_HEADER + rng.int(r.end - r.start - RECORD_HEADER);
        buf[b] ^= 0xff;
        log.push(`invert payload byte ${b}`);
      }
    }
  }
  const changed = new Set<number>();
  for (let i = 0; i < len; i++) if (buf[i] !== layout.original[i]) changed.add(i);
  let out: Buffer = buf;
  const damage: Damage = { changed, log, final: buf };
  const lengthEdit = rng.int(5);
  if (lengthEdit === 0) {
    damage.cutAt = rng.int(len);
    out = buf.subarray(0, damage.cutAt);
    log.push(`truncate to ${damage.cutAt}`);
  } else if (lengthEdit === 1) {
    const from = rng.int(len);
    const n2 = Math.min(rng.range(1, 200), len - from);
    damage.insertAt = rng.int(len);
    out = Buffer.concat([
      buf.subarray(0, damage.insertAt),
      buf.subarray(from, from + n2),
      buf.subarray(damage.insertAt),
    ]);
    log.push(`duplicate ${n2} bytes from ${from} into ${damage.insertAt}`);
  } else if (lengthEdit === 2) {
    damage.appended = rng.range(1, 100);
    out = Buffer.concat([buf, rng.bytes(damage.appended)]);
    log.push(`append ${damage.appended} random bytes`);
  }
  damage.final = out;
  writeFileSync(path, out);
  return damage;
}

/** What a reader must return for one damaged file, derived from the damage only. */
export interface Expectation {
  /** Magic or version destroyed (or the file cut inside its header): the file is set aside whole. */
  headerBroken: boolean;
  /** Per record of the original file: were its bytes changed, cut or split by an insertion? */
  touched: boolean[];
  /** Index of the first record whose framing is lost (length field changed, cut or insertion inside); Infinity if none. */
  breakIndex: number;
  /** The file holds damage a reader must notice and count (corrupt record or torn tail). */
  mustDetect: boolean;
}

export function expectationFor(layout: FileLayout, d: Damage): Expectation {
  const any = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (d.changed.has(i)) return true;
    return false;
  };
  // Magic and version are bytes 0-4; the rest of the header is reserved and not checked.
  const headerBroken =
    d.final.length < SEGMENT_HEADER || !d.final.subarray(0, 5).equals(layout.original.subarray(0, 5));
  // An emptied file (cut to 0 bytes) is counted as 0 records by design (nothing to count).
  const emptied = d.cutAt === 0;
  const touched: boolean[] = [];
  let breakIndex = Number.POSITIVE_INFINITY;
  let mustDetect = (headerBroken && !emptied) || (d.appended ?? 0) > 0;
  layout.records.forEach((r, i) => {
    const inPlace = any(r.start, r.end);
    const cut = d.cutAt !== undefined && d.cutAt < r.end;
    // Bytes inserted inside a record, or anywhere before the first one, shift the framing.
    const split = d.insertAt !== undefined && d.insertAt < r.end && (d.insertAt >= r.start || i === 0);
    touched.push(inPlace || cut || split);
    if (inPlace) mustDetect = true;
    if (d.cutAt !== undefined && d.cutAt > r.start && d.cutAt < r.end) mustDetect = true;
    const framing = any(r.start, r.start + 4) || cut || split;
    if (framing && i < breakIndex) breakIndex = i;
  });
  return { headerBroken, touched, breakIndex, mustDetect };
}
