/**
 * `<id>.acks`: which (record, portion) pairs of a segment were delivered or dropped, append-only.
 * Layout (docs/format.md): an 8-byte header `"PSQA" | u8 version | 3 reserved`, then 8-byte entries
 * `u32 record | u8 portion | u8 reserved | u16 check`, check = low 16 bits of crc32 of the first 6 bytes.
 * Never fsynced: a lost ack only means that portion is sent again (at-least-once).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Logger } from '../logger.js';
import { isNotFoundError, writeFully } from './file-ops.js';
import type { FileOps } from './types.js';

export const ACKS_MAGIC = Buffer.from('PSQA', 'latin1');
export const ACKS_VERSION = 1;
export const ACKS_HEADER_BYTES = 8;
export const ACK_ENTRY_BYTES = 8;

export function encodeAcksHeader(): Buffer {
  const header = Buffer.alloc(ACKS_HEADER_BYTES);
  ACKS_MAGIC.copy(header, 0);
  header[4] = ACKS_VERSION;
  return header;
}

function encodeEntry(record: number, portion: number, into: Buffer, at: number): void {
  into.writeUInt32LE(record, at);
  into[at + 4] = portion;
  into[at + 5] = 0;
  into.writeUInt16LE(crc32(into.subarray(at, at + 6)) & 0xffff, at + 6);
}

export interface ParsedAcks {
  acked: Map<number, Set<number>>;
  /** Distinct (record, portion) pairs. */
  portions: number;
  /** Entries whose check failed, or a header this reader does not know (then every entry counts as bad). */
  badEntries: number;
}

/** Reads an acks file's bytes. Bad entries and a partial trailing entry are skipped, never thrown. */
export function parseAcks(buf: Uint8Array): ParsedAcks {
  const acked = new Map<number, Set<number>>();
  let portions = 0;
  let badEntries = 0;
  const headerOk =
    buf.length >= ACKS_HEADER_BYTES &&
    ACKS_MAGIC.every((b, i) => buf[i] === b) &&
    buf[4] >= 1 &&
    buf[4] <= ACKS_VERSION;
  if (!headerOk) {
    return { acked, portions, badEntries: Math.max(0, Math.floor((buf.length - ACKS_HEADER_BYTES) / ACK_ENTRY_BYTES)) };
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let at = ACKS_HEADER_BYTES; at + ACK_ENTRY_BYTES <= buf.length; at += ACK_ENTRY_BYTES) {
    const check = crc32(buf.subarray(at, at + 6)) & 0xffff;
    if (check !== view.getUint16(at + 6, true)) {
      badEntries++;
      continue;
    }
    const record = view.getUint32(at, true);
    const portion = buf[at + 4];
    let set = acked.get(record);
    if (!set) {
      set = new Set();
      acked.set(record, set);
    }
    if (!set.has(portion)) {
      set.add(portion);
      portions++;
    }
  }
  return { acked, portions, badEntries };
}

/**
 * The append side of one segment's acks file. `add` only buffers; `flush` writes everything
 * buffered in one write, so a burst of acks costs one syscall.
 */
export class AckLog {
  /** Bytes of the file on disk as far as this log knows. */
  bytes: number;
  private fd: number | undefined;
  private pending: number[] = [];

  constructor(
    private readonly path: string,
    private readonly ops: FileOps,
    private readonly logger: Logger,
    knownBytes: number,
  ) {
    this.bytes = knownBytes;
  }

  add(record: number, portion: number): void {
    this.pending.push(record * 256 + portion);
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Writes the buffered entries. Returns the change in file size. Failures are logged and the entries dropped. */
  flush(): number {
    if (this.pending.length === 0) return 0;
    const entries = this.pending;
    this.pending = [];
    const before = this.bytes;
    try {
      const fd = this.openForAppend();
      const buf = Buffer.allocUnsafe(entries.length * ACK_ENTRY_BYTES);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        encodeEntry(Math.floor(e / 256), e % 256, buf, i * ACK_ENTRY_BYTES);
      }
      const start = this.bytes;
      try {
        writeFully(this.ops, fd, [buf], start);
        this.bytes = start + buf.length;
      } catch (err) {
        // Keep the file aligned to whole entries so later appends stay readable.
        try {
          this.ops.ftruncate(fd, start);
        } catch {
          this.close();
        }
        throw err;
      }
    } catch (err) {
      this.logger.warn('could not write acks; those portions may be sent again after a restart', {
        file: this.path,
        entries: entries.length,
        error: String(err),
      });
    }
    return this.bytes - before;
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Already closed or never valid: nothing to release.
      }
      this.fd = undefined;
    }
  }

  private openForAppend(): number {
    if (this.fd !== undefined) return this.fd;
    // Read-write without O_APPEND: positional writes let a torn entry be overwritten.
    let fd: number;
    try {
      fd = openSync(this.path, 'r+');
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
      fd = openSync(this.path, 'w+');
    }
    this.fd = fd;
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(ACKS_HEADER_BYTES);
      const got = size >= ACKS_HEADER_BYTES ? readSync(fd, head, 0, ACKS_HEADER_BYTES, 0) : 0;
      const headerOk = got === ACKS_HEADER_BYTES && head.subarray(0, 4).equals(ACKS_MAGIC) && head[4] === ACKS_VERSION;
      if (headerOk) {
        // A crash may have left a partial entry: cut back to whole entries.
        const aligned = size - ((size - ACKS_HEADER_BYTES) % ACK_ENTRY_BYTES);
        if (aligned !== size) this.ops.ftruncate(fd, aligned);
        this.bytes = aligned;
      } else {
        this.ops.ftruncate(fd, 0);
        this.bytes = 0;
        writeFully(this.ops, fd, [encodeAcksHeader()], 0);
        this.bytes = ACKS_HEADER_BYTES;
      }
      return fd;
    } catch (err) {
      this.close();
      throw err;
    }
  }
}
