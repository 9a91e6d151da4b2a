/**
 * `promspool inspect DATA_DIR`: a read-only report of every endpoint queue under `storage.path`
 * (one directory per endpoint), or of a single endpoint directory given directly.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSegmentHeader, parseRecords } from '../filequeue/format.js';
import { type InspectedSegment, inspectQueueDir, type QueueDirReport } from '../filequeue/index.js';
import { decodeRecord, recordSignalCount } from '../serialization/index.js';
import { formatBytes } from './status-page.js';

/** What the records of one segment hold, from decoding every record whose CRC matched. */
export interface SegmentContents {
  /** Samples + histograms + exemplars + metadata entries. */
  signals: number;
  /** Oldest and newest sample/histogram timestamp, ms; `undefined` when there is none. */
  minTimestampMs?: number;
  maxTimestampMs?: number;
  /** Records whose CRC matched but whose payload does not decode. */
  undecodable: number;
}

/** Decodes every record of a segment file to count its signals and find its time range. */
export async function readSegmentContents(file: string): Promise<SegmentContents> {
  const buf = await readFile(file);
  const out: SegmentContents = { signals: 0, undecodable: 0 };
  if (!checkSegmentHeader(buf).ok) return out;
  for (const payload of parseRecords(buf).records) {
    if (payload === null) continue;
    let record: ReturnType<typeof decodeRecord>;
    try {
      record = decodeRecord(payload);
    } catch {
      out.undecodable++;
      continue;
    }
    out.signals += recordSignalCount(record);
    let min = out.minTimestampMs ?? Number.POSITIVE_INFINITY;
    let max = out.maxTimestampMs ?? Number.NEGATIVE_INFINITY;
    for (const t of record.timestamps) {
      if (t < min) min = t;
      if (t > max) max = t;
    }
    for (const h of record.histograms) {
      if (h.timestampMs < min) min = h.timestampMs;
      if (h.timestampMs > max) max = h.timestampMs;
    }
    if (min !== Number.POSITIVE_INFINITY) {
      out.minTimestampMs = min;
      out.maxTimestampMs = max;
    }
  }
  return out;
}

/** Queue directory reports under `dir`: its endpoint subdirectories, or `dir` itself when it holds segments. */
export async function inspectDataDir(dir: string): Promise<QueueDirReport[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const own = await inspectQueueDir(dir);
  const reports: QueueDirReport[] = [];
  if (own.segments.length > 0 || own.orphanAckFiles.length > 0) reports.push(own);
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!e.isDirectory()) continue;
    const report = await inspectQueueDir(join(dir, e.name));
    reports.push(report);
  }
  return reports;
}

/** The human-readable report printed by the CLI. */
export async function formatInspectReport(dir: string): Promise<string> {
  const reports = await inspectDataDir(dir);
  if (reports.length === 0) return `${dir}: no endpoint queues found\n`;
  let out = '';
  for (const r of reports) {
    // One segment in memory at a time: a backlog can hold thousands of them.
    const contents: SegmentContents[] = [];
    for (const s of r.segments) contents.push(await segmentContents(s));
    const bytes = r.segments.reduce((n, s) => n + s.bytes + s.ackBytes, 0);
    const records = r.segments.reduce((n, s) => n + s.records, 0);
    const signals = contents.reduce((n, c) => n + c.signals, 0);
    const corrupt = r.segments.reduce((n, s, i) => n + s.corruptRecords + contents[i].undecodable, 0);
    out += `${r.dir}: ${r.segments.length} segment${r.segments.length === 1 ? '' : 's'}, ${records} records, ${signals} signals, ${corrupt} corrupt, ${formatBytes(bytes)}\n`;
    r.segments.forEach((s, i) => {
      const c = contents[i];
      out += `  ${String(s.id).padStart(8)} ${s.state.padEnd(9)} ${formatBytes(s.bytes).padStart(10)}  records=${s.records} signals=${c.signals} corrupt=${s.corruptRecords + c.undecodable} acked_portions=${s.ackedPortions}`;
      if (c.minTimestampMs !== undefined && c.maxTimestampMs !== undefined) {
        out += ` time=${new Date(c.minTimestampMs).toISOString()}..${new Date(c.maxTimestampMs).toISOString()}`;
      }
      if (s.tailBytes > 0) out += ` torn_tail_bytes=${s.tailBytes}`;
      if (s.version !== null) out += ` format=v${s.version}`;
      if (s.error) out += ` error=${JSON.stringify(s.error)}`;
      out += '\n';
    });
    for (const f of r.orphanAckFiles) out += `  orphan ack file (removed at next start): ${f}\n`;
    for (const f of r.foreignFiles) out += `  foreign file (left alone): ${f}\n`;
  }
  return out;
}

async function segmentContents(s: InspectedSegment): Promise<SegmentContents> {
  if (s.version === null) return { signals: 0, undecodable: 0 };
  try {
    return await readSegmentContents(s.file);
  } catch {
    // Deleted since it was listed (the daemon may be running): report it as empty.
    return { signals: 0, undecodable: 0 };
  }
}
