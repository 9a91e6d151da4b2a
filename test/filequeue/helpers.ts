import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import { createFileQueue, type FileQueue, type FileQueueOptions } from '../../src/filequeue/index.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';

/** A fresh directory under the OS temp dir; `remove()` deletes it. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'promspool-fq-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function options(dir: string, overrides: Partial<FileQueueOptions> = {}): FileQueueOptions {
  return {
    dir,
    maxSignalsPerSegment: 1000,
    batchIntervalMs: 5000,
    fsync: 'never',
    fsyncIntervalMs: 1000,
    maxDiskBytes: 0,
    onDiskFull: 'reject',
    clock: new SimulatedClock(),
    ...overrides,
  };
}

/** A deterministic payload of `size` bytes that differs for every `seed`. */
export function payload(seed: number, size = 32): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Turns a payload view into a plain array for deepEqual. */
export function bytes(p: Uint8Array | null): number[] | null {
  return p === null ? null : Array.from(p);
}

/** Lets promise callbacks and one macrotask run (an event to await, not a timed sleep). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A fresh temp directory for each test and an `open` that remembers every queue it opens, closing
 * them and removing the directory after the test. Call it inside a `describe`.
 */
export function useQueueDir(): { readonly path: string; open(over?: Partial<FileQueueOptions>): Promise<FileQueue> } {
  let dir: ReturnType<typeof tempDir> | undefined;
  const opened: FileQueue[] = [];
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close();
    dir?.remove();
  });
  return {
    get path() {
      return dir!.path;
    },
    async open(over = {}) {
      const q = await createFileQueue(options(dir!.path, over));
      opened.push(q);
      return q;
    },
  };
}
