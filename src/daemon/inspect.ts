/**
 * `promspool inspect DATA_DIR`: a read-only report of every endpoint queue under `storage.path`
 * (one directory per endpoint), or of a single endpoint directory given directly.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectQueueDir, type QueueDirReport } from '../filequeue/index.js';
import { formatBytes } from './status-page.js';

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
    const bytes = r.segments.reduce((n, s) => n + s.bytes + s.ackBytes, 0);
    const records = r.segments.reduce((n, s) => n + s.records, 0);
    const corrupt = r.segments.reduce((n, s) => n + s.corruptRecords, 0);
    out += `${r.dir}: ${r.segments.length} segment${r.segments.length === 1 ? '' : 's'}, ${records} records, ${corrupt} corrupt, ${formatBytes(bytes)}\n`;
    for (const s of r.segments) {
      out += `  ${String(s.id).padStart(8)} ${s.state.padEnd(9)} ${formatBytes(s.bytes).padStart(10)}  records=${s.records} corrupt=${s.corruptRecords} acked_portions=${s.ackedPortions}`;
      if (s.tailBytes > 0) out += ` torn_tail_bytes=${s.tailBytes}`;
      if (s.version !== null) out += ` format=v${s.version}`;
      if (s.error) out += ` error=${JSON.stringify(s.error)}`;
      out += '\n';
    }
    for (const f of r.orphanAckFiles) out += `  orphan ack file (removed at next start): ${f}\n`;
    for (const f of r.foreignFiles) out += `  foreign file (left alone): ${f}\n`;
  }
  return out;
}
