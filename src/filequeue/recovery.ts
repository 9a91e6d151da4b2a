/**
 * Start-up: find the queue's files without reading committed content (a large backlog must open
 * fast), and bring an `.open` segment left by a stopped process back to its last whole record.
 */
import { statSync } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { parseQueueFileName, type QueueFileKind, queueFilePath } from './file-names.js';
import { isNotFoundError } from './file-ops.js';
import {
  checkSegmentHeader,
  countRecordsBestEffort,
  type ParsedRecords,
  parseRecords,
  SEGMENT_HEADER_BYTES,
} from './format.js';
import type { FileOps } from './types.js';

export interface ScannedFile {
  id: number;
  bytes: number;
}

export interface ScannedDir {
  open: ScannedFile[];
  committed: ScannedFile[];
  acks: Map<number, number>;
  /** Highest id among every file of the queue (any kind), 0 if none. */
  maxId: number;
}

/** Lists the queue's files by kind, sorted by id, with their sizes. Foreign files are not touched. */
export async function scanQueueDir(dir: string): Promise<ScannedDir> {
  const byKind: Record<QueueFileKind, ScannedFile[]> = { open: [], committed: [], acks: [], corrupt: [] };
  let maxId = 0;
  for (const name of await readdir(dir)) {
    const parsed = parseQueueFileName(name);
    if (!parsed) continue;
    maxId = Math.max(maxId, parsed.id);
    if (parsed.kind === 'corrupt') continue;
    let bytes: number;
    try {
      // Sync stat on purpose: metadata is cached and this beats the thread pool for thousands of files.
      const st = statSync(queueFilePath(dir, parsed.id, parsed.kind));
      if (!st.isFile()) continue;
      bytes = st.size;
    } catch (err) {
      if (isNotFoundError(err)) continue;
      throw err;
    }
    byKind[parsed.kind].push({ id: parsed.id, bytes });
  }
  const byId = (a: ScannedFile, b: ScannedFile) => a.id - b.id;
  return {
    open: byKind.open.sort(byId),
    committed: byKind.committed.sort(byId),
    acks: new Map(byKind.acks.map((f) => [f.id, f.bytes])),
    maxId,
  };
}

export type OpenRecovery =
  | { outcome: 'sealed'; bytes: number; records: number; signals: number | undefined; truncatedTail: boolean }
  | { outcome: 'deleted'; truncatedTail: boolean }
  | { outcome: 'corrupt'; corruptRecords: number };

export interface RecoveryContext {
  dir: string;
  ops: FileOps;
  logger: Logger;
  /** fsync the truncation before sealing (policy `always`/`interval`). */
  durable: boolean;
  countSignals?: (payload: Uint8Array) => number;
}

/**
 * Recovers `<id>.open`: keeps the records up to the last whole, CRC-valid one (found past damaged
 * records by resynchronisation, see `parseRecords`), truncates what follows (a torn tail), then
 * renames it to `<id>.committed`. An `.open` in which no valid record can be found is deleted; one
 * with an unusable header is renamed to `<id>.corrupt`.
 */
export async function recoverOpenSegment(ctx: RecoveryContext, id: number): Promise<OpenRecovery> {
  const path = queueFilePath(ctx.dir, id, 'open');
  const buf = await readFile(path);
  // Shorter than a header: the first record's write was cut (the header goes out with it).
  if (buf.length < SEGMENT_HEADER_BYTES) {
    await unlink(path);
    ctx.logger.warn('deleted an open segment with no whole record', { file: path, bytes: buf.length });
    return { outcome: 'deleted', truncatedTail: buf.length > 0 };
  }
  const header = checkSegmentHeader(buf);
  if (!header.ok) {
    const corruptRecords = countRecordsBestEffort(buf);
    const target = queueFilePath(ctx.dir, id, 'corrupt');
    await rename(path, target);
    ctx.logger.error(`open segment ${path} has an unusable header (${header.reason}); renamed to ${target}`, {
      file: path,
      corruptRecords,
    });
    return { outcome: 'corrupt', corruptRecords };
  }
  const parsed = parseRecords(buf);
  if (parsed.resyncBudgetExhausted) return keepWhole(ctx, id, path, buf.length, parsed);
  const keep = parsed.validEnd;
  const truncatedTail = keep < buf.length;
  if (keep === SEGMENT_HEADER_BYTES) {
    await unlink(path);
    ctx.logger.warn('deleted an open segment with no whole record', { file: path, bytes: buf.length });
    return { outcome: 'deleted', truncatedTail };
  }
  if (truncatedTail) {
    const fh = await open(path, 'r+');
    try {
      const fd = fh.fd;
      ctx.ops.ftruncate(fd, keep);
      if (ctx.durable) await ctx.ops.fdatasync(fd);
    } finally {
      await fh.close();
    }
    ctx.logger.warn('truncated a torn tail of an open segment', {
      file: path,
      keptBytes: keep,
      cutBytes: buf.length - keep,
    });
  }
  // Records past validEnd were cut; CRC failures and skipped regions before it stay, and are
  // read (and counted) as null records at the same indexes as now.
  const records = parsed.recordsToValidEnd;
  const signals = countSignals(ctx, parsed.records, records);
  await rename(path, queueFilePath(ctx.dir, id, 'committed'));
  return { outcome: 'sealed', bytes: keep, records, signals, truncatedTail };
}

/**
 * The search for valid records hit its CRC work bound, so whether valid records follow is
 * unknown: nothing is cut. With a valid record the file is sealed whole (its unsearched rest
 * reads as a corrupt tail); without one it is set aside as `<id>.corrupt` rather than deleted.
 */
async function keepWhole(
  ctx: RecoveryContext,
  id: number,
  path: string,
  bytes: number,
  parsed: ParsedRecords,
): Promise<OpenRecovery> {
  if (parsed.validEnd === SEGMENT_HEADER_BYTES) {
    const target = queueFilePath(ctx.dir, id, 'corrupt');
    await rename(path, target);
    ctx.logger.error(`open segment ${path} has no valid record within the resync work bound; renamed to ${target}`, {
      file: path,
      searchedUpTo: parsed.framedEnd,
    });
    return { outcome: 'corrupt', corruptRecords: parsed.crcFailures + 1 };
  }
  ctx.logger.error('open segment damaged beyond the resync work bound; sealed whole, its rest is read as corrupt', {
    file: path,
    searchedUpTo: parsed.framedEnd,
  });
  const records = parsed.records.length;
  const signals = countSignals(ctx, parsed.records, records);
  await rename(path, queueFilePath(ctx.dir, id, 'committed'));
  return { outcome: 'sealed', bytes, records, signals, truncatedTail: false };
}

function countSignals(ctx: RecoveryContext, records: (Uint8Array | null)[], upTo: number): number | undefined {
  if (!ctx.countSignals) return undefined;
  let signals = 0;
  for (let i = 0; i < upTo; i++) {
    const r = records[i];
    if (r) signals += safeCount(ctx.countSignals, r);
  }
  return signals;
}

/** `countSignals` on a payload that may be garbage: a throw counts as 0 signals. */
export function safeCount(count: (payload: Uint8Array) => number, payload: Uint8Array): number {
  try {
    const n = count(payload);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}
