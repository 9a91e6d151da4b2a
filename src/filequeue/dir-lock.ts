import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { PromspoolError } from '../errors.js';

/** Lock files held by this process. */
const heldHere = new Set<string>();

/** Name of the lock file in a queue directory. */
export const LOCK_FILE = 'promspool.lock';

/** A held lock on a queue directory; `release()` is idempotent. */
export interface DirLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the queue directory for this process: two processes on one directory would both deliver
 * and delete the same segments. The lock file holds the owner's pid; a lock whose pid is no longer
 * alive (a crash, `kill -9`) is taken over, so no operator action is needed after a crash.
 * Throws PromspoolError `ERR_LOCKED` naming the other process.
 */
export function lockQueueDir(dir: string): DirLock {
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, LOCK_FILE);
  // The pid cannot tell two queues of this process apart: they are tracked here.
  if (heldHere.has(path)) {
    throw new PromspoolError('ERR_LOCKED', `${dir} is already in use by another queue in this process`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(path);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new PromspoolError(
          'ERR_LOCKED',
          `${dir} is in use by another promspool process (pid ${owner}); if none is running, delete ${path}`,
        );
      }
      // Stale (dead owner, our own pid from a previous life in a container, or unreadable): take it over.
      try {
        unlinkSync(path);
      } catch {}
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    heldHere.add(path);
    let held = true;
    return {
      path,
      release() {
        if (!held) return;
        held = false;
        heldHere.delete(path);
        if (readOwner(path) === process.pid) {
          try {
            unlinkSync(path);
          } catch {}
        }
      },
    };
  }
  throw new PromspoolError('ERR_LOCKED', `could not take the lock ${path}: another process keeps recreating it`);
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
