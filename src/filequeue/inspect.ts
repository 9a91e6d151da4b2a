/** Read-only look at a queue directory, for `promspool inspect`: changes nothing on disk. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAcks } from './ack-log.js';
import { parseQueueFileName, queueFilePath } from './file-names.js';
import { isNotFoundError } from './file-ops.js';
import { checkSegmentHeader, countRecordsBestEffort, parseRecords } from './format.js';

export interface InspectedSegment {
  id: number;
  state: 'open' | 'committed' | 'corrupt';
  file: string;
  bytes: number;
  /** Header fields; `null` when the header is unusable (see `error`). */
  version: number | null;
  compression: number | null;
  /** Whole records, including those whose CRC failed. */
  records: number;
  /** CRC failures, plus one for a torn or corrupt tail (or a best-effort count when the header is unusable). */
  corruptRecords: number;
  /** Bytes after the last whole record (what recovery would cut from an `.open`). */
  tailBytes: number;
  /** Distinct (record, portion) pairs in `<id>.acks`. */
  ackedPortions: number;
  ackBytes: number;
  error?: string;
}

export interface QueueDirReport {
  dir: string;
  /** Oldest first. */
  segments: InspectedSegment[];
  /** `<id>.acks` files without a segment (deleted at the next start). */
  orphanAckFiles: string[];
  /** Files that are not the queue's; the queue never touches them. */
  foreignFiles: string[];
}

export async function inspectQueueDir(dir: string): Promise<QueueDirReport> {
  const names = (await readdir(dir)).sort();
  const segments: InspectedSegment[] = [];
  const ackIds = new Set<number>();
  const foreignFiles: string[] = [];
  for (const name of names) {
    const parsed = parseQueueFileName(name);
    if (!parsed) {
      foreignFiles.push(name);
      continue;
    }
    if (parsed.kind === 'acks') {
      ackIds.add(parsed.id);
      continue;
    }
    const file = join(dir, name);
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      if (isNotFoundError(err)) continue;
      throw err;
    }
    segments.push({
      ...describeSegment(buf),
      id: parsed.id,
      state: parsed.kind,
      file,
      ...(await readAcks(dir, parsed.id)),
    });
  }
  segments.sort((a, b) => a.id - b.id);
  const withSegment = new Set(segments.map((s) => s.id));
  const orphanAckFiles = [...ackIds].filter((id) => !withSegment.has(id)).map((id) => queueFilePath(dir, id, 'acks'));
  return { dir, segments, orphanAckFiles, foreignFiles };
}

function describeSegment(
  buf: Buffer,
): Pick<InspectedSegment, 'bytes' | 'version' | 'compression' | 'records' | 'corruptRecords' | 'tailBytes' | 'error'> {
  const header = checkSegmentHeader(buf);
  if (!header.ok) {
    return {
      bytes: buf.length,
      version: null,
      compression: null,
      records: 0,
      corruptRecords: countRecordsBestEffort(buf),
      tailBytes: 0,
      error: header.reason,
    };
  }
  const parsed = parseRecords(buf);
  return {
    bytes: buf.length,
    version: header.header.version,
    compression: header.header.compression,
    records: parsed.records.length,
    corruptRecords: parsed.crcFailures + (parsed.tornTail ? 1 : 0),
    tailBytes: buf.length - parsed.framedEnd,
  };
}

async function readAcks(dir: string, id: number): Promise<{ ackedPortions: number; ackBytes: number }> {
  const path = queueFilePath(dir, id, 'acks');
  try {
    const [buf, st] = await Promise.all([readFile(path), stat(path)]);
    return { ackedPortions: parseAcks(buf).portions, ackBytes: st.size };
  } catch (err) {
    if (isNotFoundError(err)) return { ackedPortions: 0, ackBytes: 0 };
    throw err;
  }
}
