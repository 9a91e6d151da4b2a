import { closeSync, openSync } from 'node:fs';
import type { Logger } from '../logger.js';
import { queueFilePath } from './file-names.js';
import { writeFully } from './file-ops.js';
import { encodeRecordHeader, RECORD_HEADER_BYTES } from './format.js';
import type { FileOps } from './types.js';

/** Runs one fsync-like operation and accounts for it (count and duration). */
export type TimedSync = (op: () => Promise<void>) => Promise<void>;

interface SyncWaiter {
  seq: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The one `<id>.open` segment being written: a single fd, positional writev per record, and
 * group commit. Records are numbered (`seq`) as written; `syncTo(seq)` resolves once an fsync that
 * started after record `seq` was written has finished. While one fsync runs, every later waiter
 * is covered by the next single fsync, so N concurrent appends cost about two fsyncs, not N.
 */
export class SegmentWriter {
  /** Bytes in the file that hold whole records (plus the header once written). */
  size = 0;
  records = 0;
  signals = 0;
  writtenSeq = 0;
  private syncedSeq = 0;
  /** The file's name is durable once the directory was fsynced after its creation. */
  private dirSynced = false;
  private fd: number | undefined;
  private syncing: Promise<void> | undefined;
  private waiters: SyncWaiter[] = [];
  /** A failed write could not be cut back; the file holds junk past `size` until the next truncate. */
  private tailDirty = false;
  private readonly recordHeader = Buffer.alloc(RECORD_HEADER_BYTES);
  private readonly scratch: Uint8Array[] = [];

  private constructor(
    readonly id: number,
    readonly path: string,
    private readonly dir: string,
    fd: number,
    private readonly segmentHeader: Buffer,
    private readonly ops: FileOps,
    private readonly timedSync: TimedSync,
    private readonly logger: Logger,
  ) {
    this.fd = fd;
  }

  /** Creates `<id>.open` (never over an existing file). The header goes out with the first record. */
  static create(
    dir: string,
    id: number,
    segmentHeader: Buffer,
    ops: FileOps,
    timedSync: TimedSync,
    logger: Logger,
  ): SegmentWriter {
    const path = queueFilePath(dir, id, 'open');
    const fd = openSync(path, 'wx');
    return new SegmentWriter(id, path, dir, fd, segmentHeader, ops, timedSync, logger);
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  /**
   * Writes one record (and the segment header before the first). On any failure the file is cut
   * back to its last whole record and the error is rethrown: never a half record on disk.
   * Returns the record's sequence number for `syncTo`.
   */
  write(payload: Uint8Array, signals: number): number {
    const fd = this.fd;
    if (fd === undefined) throw new Error(`segment ${this.path} is closed`);
    const start = this.size;
    encodeRecordHeader(payload, this.recordHeader);
    const bufs = this.scratch;
    bufs.length = 0;
    if (start === 0) bufs.push(this.segmentHeader);
    bufs.push(this.recordHeader, payload);
    let written: number;
    try {
      if (this.tailDirty) this.truncateTail(fd);
      written = writeFully(this.ops, fd, bufs, start);
    } catch (err) {
      this.cutBack(fd, start);
      throw err;
    } finally {
      bufs.length = 0;
    }
    this.size = start + written;
    this.records++;
    this.signals += signals;
    return ++this.writtenSeq;
  }

  /** Resolves once everything up to record `seq` (and the file's name) is on stable storage. */
  syncTo(seq: number): Promise<void> {
    if (this.syncedSeq >= seq && this.dirSynced) return Promise.resolve();
    if (this.fd === undefined) {
      // Closed without covering `seq`: only after a failed final fsync.
      return Promise.reject(new Error(`segment ${this.path} was closed before record ${seq} was synced`));
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.kick();
    });
  }

  /**
   * Leaves the directory fsync for this file's name to the caller: at a seal with `interval`, the
   * file is renamed next, and the queue's deferred directory fsync covers the new name.
   */
  leaveNameSyncToCaller(): void {
    this.dirSynced = true;
  }

  /** Syncs everything written so far. */
  syncAll(): Promise<void> {
    return this.syncTo(this.writtenSeq);
  }

  /**
   * Stops writing: waits for a running fsync, fsyncs what is left if `sync` (or if someone waits
   * for it), and closes the fd. Never rejects: a failed fsync rejects the appends that waited for it.
   */
  async finish(sync: boolean): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return;
    if (sync || this.waiters.length > 0) {
      try {
        await this.syncAll();
      } catch (err) {
        this.logger.error('fsync failed while closing a segment', { file: this.path, error: String(err) });
      }
    }
    while (this.syncing) await this.syncing;
    if (this.tailDirty) {
      try {
        this.truncateTail(fd);
      } catch (err) {
        this.logger.error('could not cut a failed write off a segment; its tail will read as corrupt', {
          file: this.path,
          error: String(err),
        });
      }
    }
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch (err) {
      this.logger.warn('close failed', { file: this.path, error: String(err) });
    }
  }

  private cutBack(fd: number, length: number): void {
    try {
      this.ops.ftruncate(fd, length);
    } catch (err) {
      // The next positional write overwrites the junk; until then remember to cut it at seal.
      this.tailDirty = true;
      this.logger.error('could not truncate a failed write', { file: this.path, error: String(err) });
    }
  }

  private truncateTail(fd: number): void {
    this.ops.ftruncate(fd, this.size);
    this.tailDirty = false;
  }

  private kick(): void {
    if (this.syncing || this.fd === undefined) return;
    this.syncing = this.runSyncs().finally(() => {
      this.syncing = undefined;
      // A waiter may have arrived between the loop's last check and this callback.
      if (this.waiters.length > 0) this.kick();
    });
  }

  private async runSyncs(): Promise<void> {
    while (this.waiters.length > 0) {
      const fd = this.fd;
      if (fd === undefined) break;
      const target = this.writtenSeq;
      let failure: unknown;
      try {
        await this.timedSync(() => this.ops.fdatasync(fd));
        if (!this.dirSynced) {
          await this.timedSync(() => this.ops.fsyncDir(this.dir));
          this.dirSynced = true;
        }
        this.syncedSeq = Math.max(this.syncedSeq, target);
      } catch (err) {
        failure = err;
      }
      const still: SyncWaiter[] = [];
      for (const w of this.waiters) {
        if (w.seq > target) still.push(w);
        else if (failure === undefined) w.resolve();
        else w.reject(failure);
      }
      this.waiters = still;
    }
    // Closed under the waiters (should not happen: finish syncs first); never leave them hanging.
    if (this.fd === undefined && this.waiters.length > 0) {
      const err = new Error(`segment ${this.path} was closed before it was synced`);
      for (const w of this.waiters) w.reject(err);
      this.waiters = [];
    }
  }
}
