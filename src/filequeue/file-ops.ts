import { closeSync, fdatasync, fsync, ftruncateSync, openSync, writevSync } from 'node:fs';
import type { FileOps } from './types.js';

/** The real file operations. */
export const nodeFileOps: FileOps = {
  writev: (fd, buffers, position) => writevSync(fd, buffers as Uint8Array[], position),
  ftruncate: (fd, length) => ftruncateSync(fd, length),
  fdatasync: (fd) =>
    new Promise((resolve, reject) => {
      fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    }),
  fsyncDir: (dir) =>
    new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = openSync(dir, 'r');
      } catch (err) {
        reject(err);
        return;
      }
      fsync(fd, (err) => {
        closeSync(fd);
        if (err) reject(err);
        else resolve();
      });
    }),
};

export function resolveFileOps(overrides: Partial<FileOps> | undefined): FileOps {
  return { ...nodeFileOps, ...overrides };
}

/** ENOSPC (disk full) or EDQUOT (quota): both mean "free space, then try again". */
export function isDiskFullError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function isNotFoundError(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Writes every byte of `buffers` at `position`, going on after short writes the way writev(2) allows. */
export function writeFully(ops: FileOps, fd: number, buffers: Uint8Array[], position: number): number {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = ops.writev(fd, buffers, position);
  let pending = buffers;
  let done = written;
  while (done < total) {
    // Drop what went out, keep the rest (rare: only after a short write).
    let skip = written;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
    written = ops.writev(fd, pending, position + done);
    if (written === 0) throw Object.assign(new Error('writev wrote 0 bytes'), { code: 'EIO' });
    done += written;
  }
  return total;
}
