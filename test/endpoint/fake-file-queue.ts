import type { FileQueue, FileQueueStats, Segment } from '../../src/filequeue/types.js';

/** An in-memory FileQueue holding pre-built segments: records what the endpoint pulls, acks and releases. */
export class FakeFileQueue implements FileQueue {
  readonly acks: [segment: number, record: number, portion: number][] = [];
  readonly releases: number[] = [];
  pulled = 0;
  private readonly pending: Segment[];
  private releaseWaiters: { n: number; resolve: () => void }[] = [];

  constructor(segments: Segment[]) {
    this.pending = [...segments];
  }

  async append(): Promise<void> {}
  async seal(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}

  next(signal?: AbortSignal, onWait?: () => void): Promise<Segment | null> {
    const seg = this.pending.shift();
    if (seg !== undefined) {
      this.pulled++;
      return Promise.resolve(seg);
    }
    if (signal?.aborted) return Promise.resolve(null);
    onWait?.();
    return new Promise((resolve) => {
      signal?.addEventListener('abort', () => resolve(null), { once: true });
    });
  }

  ack(segmentId: number, record: number, portion: number): void {
    this.acks.push([segmentId, record, portion]);
  }

  async deletions(): Promise<void> {}

  release(segmentId: number): void {
    this.releases.push(segmentId);
    this.releaseWaiters = this.releaseWaiters.filter((w) => {
      if (this.releases.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  waitForReleases(n: number): Promise<void> {
    if (this.releases.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.releaseWaiters.push({ n, resolve }));
  }

  stats(): FileQueueStats {
    return {
      segments: this.pending.length + this.pulled - this.releases.length,
      diskBytes: 4096,
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
}

/** Builds segment payloads as tokens; `decode` maps them back to records (or throws for corrupt ones). */
export class RecordTokens<R> {
  private readonly byToken = new Map<Uint8Array, R | 'corrupt'>();

  token(record: R | 'corrupt'): Uint8Array {
    const t = new Uint8Array(1);
    this.byToken.set(t, record);
    return t;
  }

  lookup(payload: Uint8Array): R | 'corrupt' {
    const r = this.byToken.get(payload);
    if (r === undefined) throw new Error('unknown payload');
    return r;
  }
}

export function segment(id: number, records: (Uint8Array | null)[], acked: [number, number[]][] = []): Segment {
  return {
    id,
    records,
    acked: new Map(acked.map(([r, ps]) => [r, new Set(ps)])),
    corruptRecords: records.filter((r) => r === null).length,
  };
}
