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
  /** Payloads as views into the input buffer; `null` where the CRC failed. */
  records: (Uint8Array | null)[];
  /** Records in `records` that are `null`. */
  crcFailures: number;
  /** File offset just past the last whole record whose CRC matched (the header end if none). */
  validEnd: number;
  /** Records (valid or not) that end at or before `validEnd`. */
  recordsToValidEnd: number;
  /** File offset just past the last whole record, valid or not. */
  framedEnd: number;
  /** True when bytes follow the last whole record: a torn write or a corrupt length. */
  tornTail: boolean;
}

/**
 * Frames records from `start` to the end of `buf`. A zero length or one pointing past the end
 * ends framing (a torn tail): zero-filled space left by a crash would otherwise read as endless
 * empty records, so empty payloads are not allowed in the format.
 */
export function parseRecords(buf: Uint8Array, start: number = SEGMENT_HEADER_BYTES): ParsedRecords {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: (Uint8Array | null)[] = [];
  let crcFailures = 0;
  let pos = start;
  let validEnd = start;
  let recordsToValidEnd = 0;
  while (pos + RECORD_HEADER_BYTES <= buf.length) {
    const length = view.getUint32(pos, true);
    const end = pos + RECORD_HEADER_BYTES + length;
    if (length === 0 || end > buf.length) break;
    const payload = buf.subarray(pos + RECORD_HEADER_BYTES, end);
    if (crc32(payload) === view.getUint32(pos + 4, true)) {
      records.push(payload);
      validEnd = end;
      recordsToValidEnd = records.length;
    } else {
      records.push(null);
      crcFailures++;
    }
    pos = end;
  }
  return { records, crcFailures, validEnd, recordsToValidEnd, framedEnd: pos, tornTail: pos < buf.length };
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
