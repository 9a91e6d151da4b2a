import type { FileQueue, FileQueueStats, Segment } from '../../src/filequeue/types.js';

interface PendingAppend {
  payload: Uint8Array;
  signals: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * In-memory FileQueue for unit tests: records every append; by default resolves at once, or
 * holds appends until the test releases them (`hold = true`), or fails them (`failWith`).
 */
export class FakeFileQueue implements FileQueue {
  readonly appended: { payload: Uint8Array; signals: number }[] = [];
  readonly held: PendingAppend[] = [];
  hold = false;
  failWith: unknown;

  append(payload: Uint8Array, signals: number): Promise<void> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.appended.push({ payload: payload.slice(), signals });
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve, reject) => this.held.push({ payload, signals, resolve, reject }));
  }

  releaseAll(): void {
    for (const p of this.held.splice(0)) p.resolve();
  }

  async seal(): Promise<void> {}
  async flush(): Promise<void> {}
  async next(): Promise<Segment | null> {
    return null;
  }
  ack(): void {}
  release(): void {}
  async deletions(): Promise<void> {}
  stats(): FileQueueStats {
    return {
      segments: 0,
      diskBytes: 0,
      pendingSignals: 0,
      corruptRecords: 0,
      truncatedTails: 0,
      droppedSignals: 0,
      droppedSignalsByReason: { max_disk_bytes: 0, disk_full: 0 },
      rejectedAppends: 0,
      fsyncs: 0,
      fsyncSeconds: 0,
    };
  }
  async close(): Promise<void> {}
}
