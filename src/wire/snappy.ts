import { compressSync, uncompressSync } from 'snappy';
import { PromspoolError } from '../errors.js';

/**
 * Snappy block format, as remote-write bodies use. `copyOutputData` makes the native side copy
 * into a V8-owned buffer: ~5x faster than external buffers and far less GC pressure (NOTES).
 */
export function compressBlock(buf: Uint8Array): Buffer {
  return compressSync(buf, { copyOutputData: true });
}

/** Largest output/input ratio of a snappy element: a 3-byte copy tag emitting 64 bytes. */
const MAX_SNAPPY_EXPANSION = 64 / 3;

/**
 * The uncompressed length a snappy block claims in its varint header (at most 32 bits), or -1
 * when the header itself is malformed.
 */
export function snappyUncompressedLength(buf: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < 5 && i < buf.length; i++) {
    const b = buf[i];
    if (i === 4 && b > 0x0f) return -1;
    result += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return result;
  }
  return -1;
}

/** Bytes of a snappy block's varint header, or -1 when it is malformed. */
export function snappyHeaderBytes(buf: Uint8Array): number {
  for (let i = 0; i < 5 && i < buf.length; i++)
    if (buf[i] < 0x80) return snappyUncompressedLength(buf) < 0 ? -1 : i + 1;
  return -1;
}

/**
 * The uncompressed length a snappy block claims, once it is known that {@link uncompressBlock}
 * may go on to uncompress it: throws its ERR_BODY_TOO_LARGE or ERR_BAD_SNAPPY otherwise.
 */
export function checkedUncompressedLength(buf: Uint8Array, maxBytes: number): number {
  const claimed = snappyUncompressedLength(buf);
  if (claimed < 0) throw new PromspoolError('ERR_BAD_SNAPPY', 'malformed snappy block: bad length header');
  if (claimed > maxBytes) {
    throw new PromspoolError(
      'ERR_BODY_TOO_LARGE',
      `snappy block would uncompress to ${claimed} bytes, more than the limit of ${maxBytes}`,
    );
  }
  // No snappy element expands more than 64 bytes from 3 (a copy with a 2-byte offset), so a block
  // claiming more than ~21.4x its size lies: refuse it before the native side reserves the claim.
  if (claimed > buf.length * MAX_SNAPPY_EXPANSION + 64) {
    throw new PromspoolError(
      'ERR_BAD_SNAPPY',
      `malformed snappy block: ${buf.length} bytes cannot uncompress to the ${claimed} its header claims`,
    );
  }
  return claimed;
}

/**
 * Uncompresses a snappy block of at most `maxBytes` uncompressed bytes. The claimed length is
 * read from the header and checked BEFORE anything is allocated, so a tiny hostile body cannot
 * make us allocate gigabytes. Throws PromspoolError 'ERR_BODY_TOO_LARGE' (answer 413) or
 * 'ERR_BAD_SNAPPY' (answer 400); never crashes on malformed input.
 */
export function uncompressBlock(buf: Uint8Array, maxBytes: number): Buffer {
  const claimed = checkedUncompressedLength(buf, maxBytes);
  let out: Buffer;
  try {
    out = uncompressSync(buf, { asBuffer: true, copyOutputData: true }) as Buffer;
  } catch (err) {
    throw new PromspoolError('ERR_BAD_SNAPPY', `malformed snappy block: ${(err as Error).message}`, { cause: err });
  }
  if (out.length !== claimed) {
    throw new PromspoolError(
      'ERR_BAD_SNAPPY',
      `snappy block uncompressed to ${out.length} bytes, header said ${claimed}`,
    );
  }
  return out;
}

/** A run of snappy elements: `bytes[start, end)` uncompresses to `rawLength` bytes on its own. */
export interface SnappyElements {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly rawLength: number;
}

/** Length in bytes of the varint header of a snappy block claiming `rawLength` bytes. */
export function snappyHeaderLength(rawLength: number): number {
  let n = 1;
  for (let v = rawLength; v >= 0x80; v = Math.floor(v / 128)) n++;
  return n;
}

/**
 * One snappy block made of element runs that each uncompress on their own (a whole block minus its
 * header, or a run the writer cut at such a boundary). Snappy copies only reach back into output
 * already produced, and every run's copies stay inside its own output, so the runs written one
 * after another under a header of their summed length form a valid block whose output is the
 * runs' outputs concatenated. No byte is uncompressed or compressed again.
 */
export function joinSnappyElements(parts: readonly SnappyElements[], count = parts.length): Buffer {
  const out = Buffer.allocUnsafe(joinedSnappyLength(parts, count));
  joinSnappyElementsInto(parts, count, out, 0);
  return out;
}

/** Bytes of {@link joinSnappyElements}' block. */
export function joinedSnappyLength(parts: readonly SnappyElements[], count = parts.length): number {
  let raw = 0;
  let size = 0;
  for (let i = 0; i < count; i++) {
    raw += parts[i].rawLength;
    size += parts[i].end - parts[i].start;
  }
  return snappyHeaderLength(raw) + size;
}

/** {@link joinSnappyElements} written into `out` at `at`; returns where the block's elements start. */
export function joinSnappyElementsInto(
  parts: readonly SnappyElements[],
  count: number,
  out: Uint8Array,
  at: number,
): number {
  let raw = 0;
  for (let i = 0; i < count; i++) raw += parts[i].rawLength;
  let o = at;
  let v = raw;
  while (v >= 0x80) {
    out[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[o++] = v;
  const first = o - at;
  for (let i = 0; i < count; i++) {
    const p = parts[i];
    out.set(p.bytes.subarray(p.start, p.end), o);
    o += p.end - p.start;
  }
  return first;
}
