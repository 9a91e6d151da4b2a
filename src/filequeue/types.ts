import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';
export type OnDiskFull = 'drop_oldest' | 'reject';

export interface FileQueueOptions {
  /** Directory of this endpoint's queue; created if missing. Foreign files in it are left alone. */
  dir: string;
  /** Seal the open segment once it holds this many signals (`storage.max_signals_to_batch`). */
  maxSignalsPerSegment: number;
  /** Seal the open segment once it is this old, if non-empty (`storage.batch_interval`). */
  batchIntervalMs: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** 0 = unlimited. Counts every segment and ack file of this queue. */
  maxDiskBytes: number;
  onDiskFull: OnDiskFull;
  clock?: Clock;
  logger?: Logger;
  /**
   * Counts the signals in one record payload; used to count what `drop_oldest` drops from a
   * segment written by an earlier process. Without it such drops are counted as 0 signals.
   */
  countSignals?: (payload: Uint8Array) => number;
  /**
   * Compression code stored in the header of every segment this queue writes; the queue never
   * compresses anything itself, the caller's payloads already are. Default 1 (lz4 block).
   * See `docs/format.md`.
   */
  compression?: number;
  /**
   * Record bytes kept in memory for the reader (the open segment's and those of sealed segments
   * not handed out yet), so a reader that keeps up never reads back what was just written. A
   * segment opened while sealed ones wait for the reader is not kept. Default 8 MiB; 0 reads every
   * segment from its file.
   */
  maxMirroredBytes?: number;
  /**
   * Internal, for tests: replaces some of the file operations (e.g. a `writev` that throws ENOSPC
   * on the Nth call, or an `fdatasync` that counts). Unset members use the real `node:fs` ones.
   */
  fileOps?: Partial<FileOps>;
}

/**
 * The file operations of the queue that can fail with a full disk or that tests want to observe.
 * Everything else (open, rename, unlink, read) goes straight to `node:fs`.
 */
export interface FileOps {
  /** Like writev(2) at `position`: may write only a prefix of `buffers`; returns the bytes written. */
  writev(fd: number, buffers: readonly Uint8Array[], position: number): number;
  ftruncate(fd: number, length: number): void;
  /** Flushes the file's data (and the metadata needed to read it back) to stable storage. */
  fdatasync(fd: number): Promise<void>;
  /** fsyncs a directory so that file creations, renames and deletions in it are durable. */
  fsyncDir(dir: string): Promise<void>;
}

/** A sealed segment handed to the reader, with its records read and checked. */
export interface Segment {
  readonly id: number;
  /** Record payloads (exactly as given to `append`) in file order; `null` where the CRC failed. */
  readonly records: readonly (Uint8Array | null)[];
  /** Portions acknowledged in an earlier run (from `<id>.acks`): record index -> portions. */
  readonly acked: ReadonlyMap<number, ReadonlySet<number>>;
  /** Records skipped in this segment because their CRC failed or they were cut short. */
  readonly corruptRecords: number;
  /** Compression code from the segment header (1 = lz4 block). Absent means 1. */
  readonly compression?: number;
}

/** Signals dropped by `drop_oldest`, by cause; the keys are the `reason` label values of `samples_dropped_total`. */
export interface DiskDropReasons {
  max_disk_bytes: number;
  disk_full: number;
}

export interface FileQueueStats {
  /** Sealed segments not yet released, plus the open one if non-empty. */
  segments: number;
  /** Bytes on disk of this queue's segments and ack files. */
  diskBytes: number;
  /** The cap `maxDiskBytes` it enforces (0 = unlimited); optional so stand-in queues may omit it. */
  maxDiskBytes?: number;
  /** Signals appended in this process that are in segments not yet released (recovered segments count once read). */
  pendingSignals: number;
  /** Records whose CRC failed, since start. */
  corruptRecords: number;
  /** Torn tails truncated during recovery, since start. */
  truncatedTails: number;
  /** Signals dropped by `drop_oldest` (cap or ENOSPC), since start. */
  droppedSignals: number;
  /** `droppedSignals` by cause: the `maxDiskBytes` cap, or a real ENOSPC/EDQUOT from the disk. */
  droppedSignalsByReason: DiskDropReasons;
  /** Appends refused (`reject` policy or ENOSPC), since start. */
  rejectedAppends: number;
  fsyncs: number;
  /** Sum of fsync durations in seconds, since start. */
  fsyncSeconds: number;
}

export interface FileQueue {
  /**
   * Appends one record (an opaque payload) to the open segment. Resolves once it is durable per
   * the fsync policy (with `always`, after the fsync that covers it; concurrent appends share one
   * fsync). Rejects with `DiskFullError` when the cap is reached under `reject`, or on ENOSPC
   * when nothing can be dropped; the segment is never left with a half-written record.
   */
  append(payload: Uint8Array, signals: number): Promise<void>;
  /** Seals the open segment now, if it holds any record. */
  seal(): Promise<void>;
  /** Resolves once everything appended so far is fsynced, whatever the policy. */
  flush(): Promise<void>;
  /**
   * The oldest sealed segment not yet handed out; waits until one exists. Resolves `null` once
   * the queue is closed (or `signal` aborts). `onWait` is called when there is none yet, before
   * waiting: the reader has caught up with the disk.
   */
  next(signal?: AbortSignal, onWait?: () => void): Promise<Segment | null>;
  /** Records that (segment, record, portion) was delivered or dropped; persisted to `<id>.acks`. */
  ack(segmentId: number, record: number, portion: number): void;
  /**
   * Every portion of the segment is done: forget it (stats drop it at once) and delete it and its
   * ack file in the background (see {@link deletions}). The segment's `records` are views into a
   * pooled buffer that a later segment reuses: nothing may read them after this call (copy what
   * must outlive it first).
   */
  release(segmentId: number): void;
  /** Resolves once the files of every segment released so far are deleted. */
  deletions(): Promise<void>;
  stats(): FileQueueStats;
  /** Seals nothing; fsyncs, closes files. Data stays for the next open. */
  close(): Promise<void>;
}
