/**
 * Segment file layout (version 1), byte by byte in docs/format.md:
 * a 16-byte header, then records `u32 length | u32 crc32(payload) | payload`, little-endian.
 */
import { crc32 } from 'node:zlib';

/** "PSQS": PromSpool Queue Segment. */
export const SEGMENT_MAGIC = Buffer.from('PSQS', 'latin1');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
/** lz4 block: the only compression code written today. */
export const COMPRESSION_LZ4_BLOCK = 1;

/** The header bytes of a version-1 segment whose payloads use `compression`. */
export function encodeSegmentHeader(compression: number): Buffer {
  if (!Number.isInteger(compression) || compression < 0 || compression > 255) {
    throw new RangeError(`compression code must be an integer 0..255, got ${compression}`);
  }
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header[4] = SEGMENT_VERSION;
  header[5] = compression;
  return header;
}

/** Writes the 8-byte record header for `payload` into `into` (reused by the writer: no allocation per record). */
export function encodeRecordHeader(payload: Uint8Array, into: Buffer): void {
  into.writeUInt32LE(payload.length, 0);
  into.writeUInt32LE(crc32(payload), 4);
}

export interface SegmentHeader {
  version: number;
  compression: number;
}

/** Either the header, or why the bytes are not a segment this reader understands. */
export type HeaderCheck = { ok: true; header: SegmentHeader } | { ok: false; reason: string };

export function checkSegmentHeader(buf: Uint8Array): HeaderCheck {
  if (buf.length < SEGMENT_HEADER_BYTES) {
    return { ok: false, reason: `file is ${buf.length} bytes, shorter than the ${SEGMENT_HEADER_BYTES}-byte header` };
  }
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (buf[i] !== SEGMENT_MAGIC[i]) return { ok: false, reason: 'bad magic bytes (not a promspool segment)' };
  }
  const version = buf[4];
  // Readers accept every version up to their own; version 1 is the first, so 0 is invalid.
  if (version < 1 || version > SEGMENT_VERSION) {
    return { ok: false, reason: `unknown format version ${version} (this build reads 1..${SEGMENT_VERSION})` };
  }
  return { ok: true, header: { version, compression: buf[5] } };
}

/** The records of a segment body, framed and checked. */
export interface ParsedRecords {
  /**
   * Payloads as views into the input buffer; `null` for a record whose CRC failed, or for one
   * damaged region skipped by resynchronisation (see {@link parseRecords}).
   */
  records: (Uint8Array | null)[];
  /** Records in `records` that are `null`. */
  crcFailures: number;
  /** Of `crcFailures`, the damaged regions skipped by resynchronisation (one `null` each). */
  resyncs: number;
  /** File offset just past the last whole record whose CRC matched (the header end if none). */
  validEnd: number;
  /** Records (valid or not) that end at or before `validEnd`. */
  recordsToValidEnd: number;
  /** File offset where the records end: past the last one, valid or not; a torn tail starts here. */
  framedEnd: number;
  /** True when bytes follow the last record and no valid record could be found in them. */
  tornTail: boolean;
  /**
   * True when the CRC budget ran out while looking for the next valid record: the rest of the
   * file from `framedEnd` is counted as the torn tail without being searched to its end.
   */
  resyncBudgetExhausted: boolean;
  /** Payload bytes checksummed, at most `RESYNC_CRC_FACTOR * (buf.length - start) + RESYNC_CRC_BASE_BYTES`. */
  crcBytes: number;
}

/**
 * Records longer than this are never proposed by resynchronisation: no writer of this format
 * produces them (the record codec caps a record at 512 MiB), and a random u32 read from damaged
 * bytes is otherwise likely to "fit" a large file and cost a CRC over most of it.
 */
export const MAX_RESYNC_RECORD_BYTES = 512 * 1024 * 1024;
/**
 * CRC work bound: before computing the CRC of a frame ending at `end`, the bytes already
 * checksummed plus its length must not exceed `RESYNC_CRC_FACTOR * (end - start) + RESYNC_CRC_BASE_BYTES`.
 * An undamaged file checksums each payload once, well inside it; damaged bytes crafted so that
 * every offset looks like a record cannot make the parse quadratic. The allowance depends on the
 * frame's end, not on the file's size, so cutting a file after its last valid record (recovery of
 * an `.open`) never changes how the bytes before the cut are parsed.
 */
export const RESYNC_CRC_FACTOR = 4;
export const RESYNC_CRC_BASE_BYTES = 1024 * 1024;

/** Outcome of checking the frame at one offset. */
const FRAME_VALID = 0;
/** Length plausible (> 0, fits) but the CRC does not match. */
const FRAME_CRC_FAILED = 1;
/** Length 0, or the frame runs past the end of the file. */
const FRAME_IMPLAUSIBLE = 2;
/** Checking the CRC would exceed the work bound. */
const FRAME_OVER_BUDGET = 3;

/**
 * Frames records from `start` to the end of `buf`, deterministically: the same bytes always give
 * the same `records`, so record indexes (which the acks files refer to) are stable across reads
 * and restarts.
 *
 * - A frame whose length fits and whose CRC matches is a record.
 * - A frame whose length fits but whose CRC fails: if following the lengths from there (over more
 *   CRC failures) reaches a valid record, each frame on the way is one `null` record, exactly as
 *   if only the payloads were damaged. This keeps the indexes of an undamaged file.
 * - Otherwise the framing is lost (a damaged length, 0 or pointing past the end, or a CRC failure
 *   whose length leads nowhere valid): the bytes are scanned forward, one offset at a time, for
 *   the first frame with a length in 1..min(remaining, {@link MAX_RESYNC_RECORD_BYTES}) whose CRC
 *   matches. Everything skipped is ONE `null` record, then the record found follows it.
 *   A CRC-valid frame found this way is accepted: damaged or stale bytes pass a CRC-32 check with
 *   probability 2^-32 per candidate offset that fits (a false record is possible but rare).
 * - If no valid record follows, the frames of that chain are still one `null` each (CRC
 *   failures), and the bytes after them are the torn tail, not in `records`.
 *
 * A zero length is never a record: zero-filled space left by a crash would otherwise read as
 * endless empty records, so empty payloads are not allowed in the format.
 */
export function parseRecords(buf: Uint8Array, start: number = SEGMENT_HEADER_BYTES): ParsedRecords {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = buf.length;
  const records: (Uint8Array | null)[] = [];
  let crcFailures = 0;
  let resyncs = 0;
  let validEnd = start;
  let recordsToValidEnd = 0;
  let crcBytes = 0;
  let exhausted = false;

  // Checks the frame at `at`; `maxLength` bounds the length proposed (resync only).
  const checkFrame = (at: number, maxLength: number): number => {
    if (at + RECORD_HEADER_BYTES > size) return FRAME_IMPLAUSIBLE;
    const length = view.getUint32(at, true);
    const end = at + RECORD_HEADER_BYTES + length;
    if (length === 0 || length > maxLength || end > size) return FRAME_IMPLAUSIBLE;
    if (crcBytes + length > RESYNC_CRC_FACTOR * (end - start) + RESYNC_CRC_BASE_BYTES) return FRAME_OVER_BUDGET;
    crcBytes += length;
    return crc32(buf.subarray(at + RECORD_HEADER_BYTES, end)) === view.getUint32(at + 4, true)
      ? FRAME_VALID
      : FRAME_CRC_FAILED;
  };
  const frameEnd = (at: number) => at + RECORD_HEADER_BYTES + view.getUint32(at, true);
  const acceptValid = (at: number) => {
    const end = frameEnd(at);
    records.push(buf.subarray(at + RECORD_HEADER_BYTES, end));
    validEnd = end;
    recordsToValidEnd = records.length;
    return end;
  };

  let pos = start;
  while (pos < size) {
    const first = checkFrame(pos, Number.POSITIVE_INFINITY);
    if (first === FRAME_VALID) {
      pos = acceptValid(pos);
      continue;
    }
    if (first === FRAME_OVER_BUDGET) {
      exhausted = true;
      break;
    }
    // Follow the lengths over CRC failures: a valid record at the end of the chain confirms them.
    let chain = 0;
    let chainEnd = pos;
    let chainOutcome: number = first;
    while (chainOutcome === FRAME_CRC_FAILED) {
      chain++;
      chainEnd = frameEnd(chainEnd);
      if (chainEnd === size) break;
      chainOutcome = checkFrame(chainEnd, Number.POSITIVE_INFINITY);
    }
    if (chainOutcome === FRAME_VALID) {
      for (let i = 0; i < chain; i++) records.push(null);
      crcFailures += chain;
      pos = acceptValid(chainEnd);
      continue;
    }
    // Framing lost: scan forward for the next valid frame.
    let found = -1;
    if (chainOutcome === FRAME_OVER_BUDGET) exhausted = true;
    for (let at = pos + 1; !exhausted && at + RECORD_HEADER_BYTES <= size; at++) {
      const outcome = checkFrame(at, MAX_RESYNC_RECORD_BYTES);
      if (outcome === FRAME_VALID) {
        found = at;
        break;
      }
      if (outcome === FRAME_OVER_BUDGET) {
        exhausted = true;
        break;
      }
    }
    if (found >= 0) {
      records.push(null);
      crcFailures++;
      resyncs++;
      pos = acceptValid(found);
      continue;
    }
    // No valid record follows: the well-framed CRC failures are records with damaged payloads
    // (as many nulls); what cannot be framed after them is the torn tail.
    for (let i = 0; i < chain; i++) records.push(null);
    crcFailures += chain;
    pos = chainEnd;
    break;
  }
  return {
    records,
    crcFailures,
    resyncs,
    validEnd,
    recordsToValidEnd,
    framedEnd: pos,
    tornTail: pos < size,
    resyncBudgetExhausted: exhausted,
    crcBytes,
  };
}

/**
 * Best-effort count of the records in a file whose header is unusable: frames from the end of
 * where a header would be, and counts at least one if there is any byte past it.
 */
export function countRecordsBestEffort(buf: Uint8Array): number {
  if (buf.length <= SEGMENT_HEADER_BYTES) return buf.length > 0 ? 1 : 0;
  const parsed = parseRecords(buf);
  return Math.max(1, parsed.records.length + (parsed.tornTail ? 1 : 0));
}
