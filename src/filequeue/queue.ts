import { closeSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { ArrayBufferPool } from '../buffer-pool.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { ClosedError, DiskFullError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { AckLog, parseAcks } from './ack-log.js';
import { DiskPressureLog } from './disk-pressure-log.js';
import { queueFilePath } from './file-names.js';
import { isDiskFullError, isNotFoundError, resolveFileOps } from './file-ops.js';
import {
  COMPRESSION_LZ4_BLOCK,
  checkSegmentHeader,
  countRecordsBestEffort,
  encodeSegmentHeader,
  parseRecords,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
} from './format.js';
import { recoverOpenSegment, safeCount, scanQueueDir } from './recovery.js';
import { SegmentMirror } from './segment-mirror.js';
import { SegmentWriter } from './segment-writer.js';
import type {
  DiskDropReasons,
  FileOps,
  FileQueue,
  FileQueueOptions,
  FileQueueStats,
  FsyncPolicy,
  OnDiskFull,
  Segment,
} from './types.js';

/** A sealed segment (or one being sealed) that is still on disk. */
interface SegmentEntry {
  readonly id: number;
  state: 'sealing' | 'sealed' | 'gone';
  /** Where the segment is: `<id>.committed`, or `<id>.open` if the rename failed. */
  path: string;
  bytes: number;
  /** `undefined` when written by an earlier process and not read (or counted) yet. */
  signals: number | undefined;
  ackBytes: number;
  acks: AckLog | undefined;
  /** Sealed under `fsync: never`: `flush()` still owes it an fsync. */
  unsynced: boolean;
  /** Its records as written by this process, until handed out (see SegmentMirror). */
  mirror: SegmentMirror | undefined;
  /** The buffer of the mirror handed out with it: reused once the reader releases the segment. */
  lentMirror: ArrayBuffer | undefined;
}

/**
 * Default bound on the record bytes kept in memory for the reader, over the open segment and the
 * sealed ones not handed out yet. Two relay segments of 50,000 samples take ~5 MB; a reader
 * further behind reads from the files, as after a restart.
 */
export const DEFAULT_MAX_MIRRORED_BYTES = 8 * 1024 * 1024;
/** First size of a segment's mirror; it doubles as records come. Pooled sizes are multiples of it. */
const MIRROR_INITIAL_BYTES = 256 * 1024;
/**
 * Mirror buffers kept for the next segments: one being written while the reader holds the last
 * one, and one spare. Without reuse each segment's mirror (~2 MB for 50,000 relayed samples, ~40
 * MB/s on bench/relay) died in the old generation: the largest stream of the event loop's garbage.
 */
const MIRRORS_KEPT = 2;

interface WriteTicket {
  writer: SegmentWriter;
  seq: number;
}

/** The FileQueue implementation; created through `createFileQueue` (src/filequeue/index.ts). */
export class DiskQueue implements FileQueue {
  private readonly dir: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly ops: FileOps;
  private readonly policy: FsyncPolicy;
  private readonly onDiskFull: OnDiskFull;
  private readonly maxDiskBytes: number;
  private readonly segmentHeader: Buffer;
  private readonly compression: number;
  /** Drops and refusals for lack of room, logged at most once a minute (see DiskPressureLog). */
  private readonly pressure: DiskPressureLog;

  /** Sealing and sealed segments, in id order (Map keeps insertion order and ids only grow). */
  private readonly entries = new Map<number, SegmentEntry>();
  /** Sealed segments not handed out by `next()` yet, oldest first. */
  private readonly ready: SegmentEntry[] = [];
  private open: SegmentWriter | undefined;
  /** The open segment's records in memory, or undefined when it will be read from its file. */
  private openMirror: SegmentMirror | undefined;
  /** Buffers of mirrors the reader released, or dropped before they were handed out. */
  private readonly mirrorBuffers: ArrayBufferPool;
  /** Bytes in the mirrors of sealed segments not handed out yet. */
  private mirroredBytes = 0;
  /** Record bytes of the last segment mirrored: the next mirror's first size. */
  private lastMirrorBytes = 0;
  private readonly maxMirroredBytes: number;
  private nextId = 1;

  private sealedBytes = 0;
  private sealedSignals = 0;
  private corruptRecords = 0;
  private truncatedTails = 0;
  private droppedSignals = 0;
  private readonly droppedByReason: DiskDropReasons = { max_disk_bytes: 0, disk_full: 0 };
  private rejectedAppends = 0;
  private fsyncs = 0;
  private fsyncSeconds = 0;

  /** Appends, seals and drops run one at a time through this chain; fsync waits happen outside it. */
  private writeChain: Promise<unknown> = Promise.resolve();
  /** Seals finish in id order, so `next()` never sees a newer segment before an older one. */
  private sealChain: Promise<void> = Promise.resolve();
  private batchTimer: TimerHandle | undefined;
  private fsyncTimer: TimerHandle | undefined;
  /** With `interval`: the shared directory fsync that covers renames and deletions since the last one. */
  private dirSyncTimer: TimerHandle | undefined;
  private dirSyncRunning: Promise<void> | undefined;
  private dirSyncQueued: Promise<void> | undefined;
  private readonly dirtyAcks = new Set<SegmentEntry>();
  private ackFlush: NodeJS.Immediate | undefined;
  private readerWaiters: Array<() => void> = [];
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: FileQueueOptions) {
    if (!(opts.maxSignalsPerSegment > 0)) throw new RangeError('maxSignalsPerSegment must be > 0');
    this.dir = opts.dir;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'filequeue', dir: opts.dir });
    this.ops = resolveFileOps(opts.fileOps);
    this.policy = opts.fsync;
    this.onDiskFull = opts.onDiskFull;
    this.maxDiskBytes = opts.maxDiskBytes;
    this.compression = opts.compression ?? COMPRESSION_LZ4_BLOCK;
    this.segmentHeader = encodeSegmentHeader(this.compression);
    this.maxMirroredBytes = opts.maxMirroredBytes ?? DEFAULT_MAX_MIRRORED_BYTES;
    this.mirrorBuffers = new ArrayBufferPool(
      MIRRORS_KEPT,
      this.maxMirroredBytes,
      MIRROR_INITIAL_BYTES,
      MIRROR_INITIAL_BYTES,
    );
    this.pressure = new DiskPressureLog({
      logger: this.logger,
      clock: this.clock,
      policy: this.onDiskFull,
      maxDiskBytes: this.maxDiskBytes,
      diskBytes: () => this.diskBytes(),
    });
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const scan = await scanQueueDir(this.dir);
    this.nextId = scan.maxId + 1;
    const found: SegmentEntry[] = [];
    for (const f of scan.committed) found.push(this.newEntry(f.id, f.bytes, undefined));
    const ctx = {
      dir: this.dir,
      ops: this.ops,
      logger: this.logger,
      durable: this.policy !== 'never',
      countSignals: this.opts.countSignals,
    };
    for (const f of scan.open) {
      const r = await recoverOpenSegment(ctx, f.id);
      if (r.outcome === 'corrupt') {
        this.corruptRecords += r.corruptRecords;
        continue;
      }
      if (r.truncatedTail) this.truncatedTails++;
      if (r.outcome === 'sealed') found.push(this.newEntry(f.id, r.bytes, r.signals));
    }
    found.sort((a, b) => a.id - b.id);
    for (const e of found) {
      e.ackBytes = scan.acks.get(e.id) ?? 0;
      this.entries.set(e.id, e);
      this.ready.push(e);
      this.sealedBytes += e.bytes + e.ackBytes;
      this.sealedSignals += e.signals ?? 0;
    }
    for (const id of scan.acks.keys()) {
      // Left behind by a crash between deleting a segment and its acks.
      if (!this.entries.has(id)) this.unlinkQuietly(queueFilePath(this.dir, id, 'acks'));
    }
    if (scan.open.length > 0 && this.policy !== 'never') await this.dirSync();
    this.logger.info('queue opened', {
      segments: this.entries.size,
      bytes: this.sealedBytes,
      recovered: scan.open.length,
      truncatedTails: this.truncatedTails,
    });
  }

  // ---- writing ----

  async append(payload: Uint8Array, signals: number): Promise<void> {
    if (this.closed) throw new ClosedError('file queue');
    if (payload.length === 0) throw new RangeError('a record payload must not be empty');
    if (payload.length > 0xffffffff) throw new RangeError('a record payload must be under 4 GiB');
    const ticket = await this.serialize(() => this.writeRecord(payload, signals));
    if (this.policy !== 'always') return;
    try {
      await ticket.writer.syncTo(ticket.seq);
    } catch (err) {
      if (isDiskFullError(err)) {
        const full = new DiskFullError(`disk full syncing ${ticket.writer.path}`, { cause: err });
        // Not a refused append (the record was written), but data the caller will not see made durable.
        this.pressure.note({ kind: 'refused', cause: 'disk_full', error: full.message });
        throw full;
      }
      throw err;
    }
  }

  seal(): Promise<void> {
    return this.serialize(() => this.startSeal()).then(() => this.sealChain);
  }

  async flush(): Promise<void> {
    await this.serialize(() => undefined);
    const w = this.open;
    if (w?.isOpen && w.records > 0) await w.syncAll();
    await this.sealChain;
    for (const e of this.entries.values()) {
      if (!e.unsynced || e.state === 'gone') continue;
      e.unsynced = false;
      await this.fsyncFile(e.path);
    }
    await this.dirSync();
  }

  private serialize<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private async writeRecord(payload: Uint8Array, signals: number): Promise<WriteTicket> {
    if (this.closed) throw new ClosedError('file queue');
    await this.makeRoomFor(payload.length);
    for (let attempt = 0; ; attempt++) {
      try {
        const writer = this.open ?? this.openSegment();
        const seq = writer.write(payload, signals);
        if (this.openMirror !== undefined && !this.openMirror.add(payload)) {
          // Over its bound: dropped before any view of it was handed out.
          this.mirrorBuffers.give(this.openMirror.buffer);
          this.openMirror = undefined;
        }
        this.afterWrite(writer);
        return { writer, seq };
      } catch (err) {
        if (!isDiskFullError(err)) {
          this.logger.error('append failed', { error: String(err) });
          throw err;
        }
        this.logger.debug('disk full while appending', { error: String(err), policy: this.onDiskFull });
        if (attempt === 0 && this.onDiskFull === 'drop_oldest' && (await this.dropOldest('disk_full'))) continue;
        throw this.refuse(
          'disk_full',
          new DiskFullError(`disk full appending to the queue in ${this.dir}`, { cause: err }),
        );
      }
    }
  }

  /** Enforces `maxDiskBytes` before a write, per `onDiskFull`. */
  private async makeRoomFor(payloadBytes: number): Promise<void> {
    const max = this.maxDiskBytes;
    if (max <= 0) return;
    const recordBytes = RECORD_HEADER_BYTES + payloadBytes;
    if (SEGMENT_HEADER_BYTES + recordBytes > max) {
      throw this.refuse(
        'max_disk_bytes',
        new DiskFullError(`a record of ${payloadBytes} bytes can never fit under max_disk_bytes=${max}`),
      );
    }
    for (;;) {
      const w = this.open;
      const need = recordBytes + (w && w.size > 0 ? 0 : SEGMENT_HEADER_BYTES);
      if (this.diskBytes() + need <= max) return;
      if (this.onDiskFull === 'reject') {
        throw this.refuse(
          'max_disk_bytes',
          new DiskFullError(`max_disk_bytes=${max} reached (${this.diskBytes()} bytes queued)`),
        );
      }
      if (await this.dropOldest('max_disk_bytes')) continue;
      if (this.open && this.open.records > 0) {
        this.startSeal();
        await this.sealChain;
        continue;
      }
      throw this.refuse(
        'max_disk_bytes',
        new DiskFullError(`max_disk_bytes=${max} reached and nothing is left to drop`),
      );
    }
  }

  private openSegment(): SegmentWriter {
    const id = this.nextId++;
    const timed = (op: () => Promise<void>) => this.timedSync(op);
    this.open = SegmentWriter.create(this.dir, id, this.segmentHeader, this.ops, timed, this.logger);
    // Only for a reader that keeps up: one with sealed segments still waiting will read this one
    // later, and a backlog's mirrors would be held memory for nothing (backlog benchmark: RSS at
    // 10M-20M samples queued 191-195 -> 227-237 MB when every segment was mirrored up to the bound).
    const room = this.maxMirroredBytes - this.mirroredBytes;
    // Sized for a segment like the last one: growing by doubling would copy it and leave up to half unused.
    const hint = Math.max(MIRROR_INITIAL_BYTES, Math.ceil(this.lastMirrorBytes * 1.125));
    this.openMirror =
      room > 0 && this.ready.length === 0 ? new SegmentMirror(hint, room, this.mirrorBuffers) : undefined;
    return this.open;
  }

  private afterWrite(w: SegmentWriter): void {
    if (w.records === 1) {
      this.batchTimer = this.clock.setTimeout(() => {
        this.batchTimer = undefined;
        if (this.open === w) void this.serialize(() => this.open === w && this.startSeal());
      }, this.opts.batchIntervalMs);
    }
    if (this.policy === 'interval' && this.fsyncTimer === undefined) {
      this.fsyncTimer = this.clock.setTimeout(() => {
        this.fsyncTimer = undefined;
        const open = this.open;
        if (open?.isOpen) {
          open.syncAll().catch((err) => this.logger.error('interval fsync failed', { error: String(err) }));
        }
      }, this.opts.fsyncIntervalMs);
    }
    if (w.signals >= this.opts.maxSignalsPerSegment) this.startSeal();
  }

  /** Detaches the open segment now (later appends start a new one) and queues its fsync + rename. */
  private startSeal(): void {
    const w = this.open;
    if (!w || w.records === 0) return;
    this.open = undefined;
    this.clock.clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const entry = this.newEntry(w.id, w.size, w.signals);
    entry.state = 'sealing';
    const mirror = this.openMirror;
    this.openMirror = undefined;
    if (mirror !== undefined) this.lastMirrorBytes = mirror.bytes;
    if (mirror !== undefined && mirror.bytes > 0 && this.mirroredBytes + mirror.bytes <= this.maxMirroredBytes) {
      entry.mirror = mirror;
      this.mirroredBytes += mirror.bytes;
    }
    this.entries.set(w.id, entry);
    this.sealedBytes += entry.bytes;
    this.sealedSignals += w.signals;
    this.sealChain = this.sealChain.then(() => this.finishSeal(w, entry));
  }

  private async finishSeal(w: SegmentWriter, entry: SegmentEntry): Promise<void> {
    const durable = this.policy !== 'never';
    // The data is fdatasynced before the rename, so a committed file never holds garbage; with
    // `interval` the name (old or new) is made durable by the deferred directory fsync.
    if (this.policy === 'interval') w.leaveNameSyncToCaller();
    await w.finish(durable);
    try {
      renameSync(w.path, entry.path);
    } catch (err) {
      // Still readable under its .open name; the next start recovers and renames it.
      this.logger.error('could not rename a sealed segment', { file: w.path, error: String(err) });
      entry.path = w.path;
    }
    if (this.policy === 'always') {
      await this.dirSync().catch((err) => this.logger.error('directory fsync failed', { error: String(err) }));
    } else if (durable) {
      this.dirSyncWithinInterval();
    } else {
      entry.unsynced = true;
    }
    entry.state = 'sealed';
    this.ready.push(entry);
    this.wakeReaders();
  }

  // ---- dropping and releasing ----

  /** Deletes the oldest sealed segment to free space. False if there is none. */
  /**
   * Drops the oldest sealed segment not handed to the reader. A segment the reader holds is being
   * delivered from memory: dropping it would count its samples dropped and then deliver them too.
   */
  private async dropOldest(reason: keyof DiskDropReasons): Promise<boolean> {
    let oldest = this.oldestUnread();
    if (!oldest && [...this.entries.values()].some((e) => e.state === 'sealing')) {
      await this.sealChain;
      oldest = this.oldestUnread();
    }
    if (!oldest) return false;
    const signals = oldest.signals ?? (await this.countSegmentSignals(oldest));
    // Released or dropped while counting: the space is free anyway.
    if (oldest.state !== 'sealed') return true;
    this.removeEntry(oldest);
    this.droppedSignals += signals;
    this.droppedByReason[reason] += signals;
    this.logger.debug('dropped the oldest segment to make room', { segment: oldest.id, signals, reason });
    this.pressure.note({ kind: 'dropped', cause: reason, segment: oldest.id, signals });
    return true;
  }

  /** Counts and logs (rate-limited) an append refused for lack of room; returns `err` to throw. */
  private refuse(cause: keyof DiskDropReasons, err: DiskFullError): DiskFullError {
    this.rejectedAppends++;
    this.pressure.note({ kind: 'refused', cause, error: err.message });
    return err;
  }

  private oldestUnread(): SegmentEntry | undefined {
    for (const e of this.ready) if (e.state === 'sealed') return e;
    return undefined;
  }

  private async countSegmentSignals(entry: SegmentEntry): Promise<number> {
    const count = this.opts.countSignals;
    if (!count) return 0;
    try {
      const buf = await readFile(entry.path);
      if (!checkSegmentHeader(buf).ok) return 0;
      let n = 0;
      for (const r of parseRecords(buf).records) if (r) n += safeCount(count, r);
      return n;
    } catch {
      return 0;
    }
  }

  release(segmentId: number): void {
    const e = this.entries.get(segmentId);
    if (this.closed || !e || e.state !== 'sealed') return;
    // Every portion is done: the reader reads none of the mirror's views again. (Moved to a
    // delivery worker, the buffer is detached here and the pool refuses it.)
    if (e.lentMirror !== undefined) this.mirrorBuffers.give(e.lentMirror);
    e.lentMirror = undefined;
    // Off the event loop: deleting a segment frees its page cache, ~1 ms of kernel time per MB
    // that the reader would otherwise spend blocked. Space freed by the cap must be freed now
    // (removeEntry); a delivered segment's may follow a moment later.
    this.forget(e);
    const done = Promise.all([this.unlinkLater(e.path), this.unlinkLater(queueFilePath(this.dir, e.id, 'acks'))]).then(
      () => {
        if (this.policy === 'always') return this.dirSync();
        if (this.policy === 'interval') this.dirSyncWithinInterval();
        return undefined;
      },
    );
    const tracked = done
      .catch((err) => this.logger.error('directory fsync failed', { error: String(err) }))
      .finally(() => this.unlinking.delete(tracked));
    this.unlinking.add(tracked);
  }

  /** Deletions started by `release` and not finished; `close` waits for them. */
  private readonly unlinking = new Set<Promise<void>>();

  async deletions(): Promise<void> {
    await Promise.all(this.unlinking);
  }

  private unlinkLater(path: string): Promise<void> {
    return unlink(path).catch((err: unknown) => {
      if (!isNotFoundError(err)) this.logger.error('could not delete a queue file', { file: path, error: String(err) });
    });
  }

  /** Deletes a sealed segment and its acks file and forgets it. */
  private removeEntry(e: SegmentEntry): void {
    this.forget(e);
    this.unlinkQuietly(e.path);
    this.unlinkQuietly(queueFilePath(this.dir, e.id, 'acks'));
    if (this.policy !== 'never') {
      this.dirSync().catch((err) => this.logger.error('directory fsync failed', { error: String(err) }));
    }
  }

  /** Stops tracking a segment (its files stay as they are). */
  private forget(e: SegmentEntry): void {
    // A mirror not handed out: no view of it exists.
    const unread = this.dropMirror(e);
    if (unread !== undefined) this.mirrorBuffers.give(unread.buffer);
    e.lentMirror = undefined;
    e.state = 'gone';
    this.entries.delete(e.id);
    const i = this.ready.indexOf(e);
    if (i >= 0) this.ready.splice(i, 1);
    e.acks?.close();
    e.acks = undefined;
    this.dirtyAcks.delete(e);
    this.sealedBytes -= e.bytes + e.ackBytes;
    this.sealedSignals -= e.signals ?? 0;
  }

  private unlinkQuietly(path: string): void {
    try {
      unlinkSync(path);
    } catch (err) {
      if (!isNotFoundError(err)) this.logger.error('could not delete a queue file', { file: path, error: String(err) });
    }
  }

  // ---- reading ----

  async next(signal?: AbortSignal, onWait?: () => void): Promise<Segment | null> {
    for (;;) {
      if (this.closed || signal?.aborted) return null;
      const entry = this.ready.shift();
      if (!entry) {
        onWait?.();
        await this.waitForReady(signal);
        continue;
      }
      const segment = await this.readSegment(entry);
      if (!segment) continue;
      if (signal?.aborted && entry.state === 'sealed') {
        // The caller is gone: offer it again to the next reader.
        this.ready.unshift(entry);
        return null;
      }
      return segment;
    }
  }

  private waitForReady(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.readerWaiters = this.readerWaiters.filter((w) => w !== wake);
        resolve();
      };
      this.readerWaiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wakeReaders(): void {
    const waiters = this.readerWaiters;
    this.readerWaiters = [];
    for (const w of waiters) w();
  }

  private dropMirror(e: SegmentEntry): SegmentMirror | undefined {
    const m = e.mirror;
    if (m !== undefined) {
      this.mirroredBytes -= m.bytes;
      e.mirror = undefined;
    }
    return m;
  }

  /** Reads and checks a whole segment; `null` (logged, counted) when it cannot be offered. */
  private async readSegment(entry: SegmentEntry): Promise<Segment | null> {
    const mirror = this.dropMirror(entry);
    if (mirror !== undefined) {
      // Written by this process and handed out for the first time (the mirror goes with it): no
      // reader can have acked any of it yet.
      entry.lentMirror = mirror.buffer;
      return {
        id: entry.id,
        records: mirror.records(),
        acked: new Map(),
        corruptRecords: 0,
        compression: this.compression,
      };
    }
    let buf: Buffer;
    try {
      buf = await this.readSegmentFile(entry.path);
    } catch (err) {
      if (entry.state === 'gone') return null;
      this.logger.error(`cannot read segment ${entry.path}; skipping it (the file is left in place)`, {
        error: String(err),
      });
      this.forget(entry);
      return null;
    }
    if (entry.state === 'gone') return null;
    const header = checkSegmentHeader(buf);
    if (!header.ok) {
      const corrupt = countRecordsBestEffort(buf);
      this.corruptRecords += corrupt;
      const target = queueFilePath(this.dir, entry.id, 'corrupt');
      this.forget(entry);
      try {
        renameSync(entry.path, target);
      } catch (err) {
        this.logger.error('could not rename a corrupt segment', { file: entry.path, error: String(err) });
      }
      this.unlinkQuietly(queueFilePath(this.dir, entry.id, 'acks'));
      this.logger.error(`segment ${entry.path} has an unusable header (${header.reason}); renamed to ${target}`, {
        corruptRecords: corrupt,
      });
      return null;
    }
    const parsed = parseRecords(buf);
    const corruptRecords = parsed.crcFailures + (parsed.tornTail ? 1 : 0);
    if (corruptRecords > 0) {
      this.corruptRecords += corruptRecords;
      this.logger.warn('segment has corrupt records; they are skipped', {
        file: entry.path,
        crcFailures: parsed.crcFailures,
        resyncs: parsed.resyncs,
        tornTail: parsed.tornTail,
      });
    }
    if (parsed.resyncBudgetExhausted) {
      this.logger.error('segment damaged beyond the resync work bound; its rest is skipped as one corrupt tail', {
        file: entry.path,
        skippedFrom: parsed.framedEnd,
        skippedBytes: buf.length - parsed.framedEnd,
      });
    }
    const count = this.opts.countSignals;
    if (entry.signals === undefined && count) {
      let n = 0;
      for (const r of parsed.records) if (r) n += safeCount(count, r);
      entry.signals = n;
      this.sealedSignals += n;
    }
    const acked = await this.readAcks(entry);
    // The records are views of `buf`, a pooled buffer: reused once the reader releases the segment.
    entry.lentMirror = buf.buffer as ArrayBuffer;
    return { id: entry.id, records: parsed.records, acked, corruptRecords, compression: header.header.compression };
  }

  /**
   * A segment file read into a buffer of the mirrors' pool. A reader behind the writer reads every
   * segment back (~2 MB per 50,000 relayed samples): as new buffers, each died in the old
   * generation, the largest stream of the event loop's garbage once the mirrors were reused.
   */
  private async readSegmentFile(path: string): Promise<Buffer> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const view = this.mirrorBuffers.take(size);
      const buf = Buffer.from(view.buffer, 0, size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fh.read(buf, got, size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  private async readAcks(entry: SegmentEntry): Promise<Map<number, Set<number>>> {
    const path = queueFilePath(this.dir, entry.id, 'acks');
    try {
      const parsed = parseAcks(await readFile(path));
      if (parsed.badEntries > 0) {
        this.logger.warn('skipped unreadable ack entries; those portions will be sent again', {
          file: path,
          entries: parsed.badEntries,
        });
      }
      return parsed.acked;
    } catch (err) {
      if (!isNotFoundError(err)) this.logger.warn('cannot read acks', { file: path, error: String(err) });
      return new Map();
    }
  }

  // ---- acks ----

  ack(segmentId: number, record: number, portion: number): void {
    const e = this.entries.get(segmentId);
    if (this.closed || !e || e.state !== 'sealed') return;
    if (!Number.isInteger(record) || record < 0 || record > 0xffffffff) {
      throw new RangeError(`record index must be an integer 0..2^32-1, got ${record}`);
    }
    if (!Number.isInteger(portion) || portion < 0 || portion > 255) {
      throw new RangeError(`portion must be an integer 0..255, got ${portion}`);
    }
    e.acks ??= new AckLog(queueFilePath(this.dir, e.id, 'acks'), this.ops, this.logger, e.ackBytes);
    e.acks.add(record, portion);
    this.dirtyAcks.add(e);
    // One write per segment per turn of the event loop, however many acks arrived in it.
    this.ackFlush ??= setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    this.ackFlush = undefined;
    for (const e of this.dirtyAcks) {
      if (e.state !== 'sealed' || !e.acks) continue;
      const grown = e.acks.flush();
      e.ackBytes += grown;
      this.sealedBytes += grown;
    }
    this.dirtyAcks.clear();
  }

  // ---- stats, close ----

  private diskBytes(): number {
    return this.sealedBytes + (this.open?.size ?? 0);
  }

  stats(): FileQueueStats {
    const open = this.open;
    const openHasRecords = open !== undefined && open.records > 0;
    return {
      segments: this.entries.size + (openHasRecords ? 1 : 0),
      diskBytes: this.diskBytes(),
      maxDiskBytes: this.maxDiskBytes,
      pendingSignals: this.sealedSignals + (open?.signals ?? 0),
      corruptRecords: this.corruptRecords,
      truncatedTails: this.truncatedTails,
      droppedSignals: this.droppedSignals,
      droppedSignalsByReason: { ...this.droppedByReason },
      rejectedAppends: this.rejectedAppends,
      fsyncs: this.fsyncs,
      fsyncSeconds: this.fsyncSeconds,
    };
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      this.clock.clearTimeout(this.batchTimer);
      this.clock.clearTimeout(this.fsyncTimer);
      this.clock.clearTimeout(this.dirSyncTimer);
      this.dirSyncTimer = undefined;
      this.batchTimer = undefined;
      this.fsyncTimer = undefined;
      this.wakeReaders();
      await this.writeChain;
      this.pressure.stop();
      if (this.ackFlush) clearImmediate(this.ackFlush);
      this.flushAcks();
      for (const e of this.entries.values()) {
        e.acks?.close();
        e.acks = undefined;
      }
      const w = this.open;
      this.open = undefined;
      // Not sealed: the next open recovers it and seals it.
      if (w) await w.finish(true);
      await this.sealChain;
      await Promise.all(this.unlinking);
      await this.dirSync().catch((err) => this.logger.error('directory fsync failed', { error: String(err) }));
      this.wakeReaders();
    })();
    return this.closing;
  }

  // ---- fsync helpers ----

  private async timedSync(op: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    try {
      await op();
    } finally {
      this.fsyncs++;
      this.fsyncSeconds += (performance.now() - t0) / 1000;
    }
  }

  private async fsyncFile(path: string): Promise<void> {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if (isNotFoundError(err)) return;
      throw err;
    }
    try {
      await this.timedSync(() => this.ops.fdatasync(fd));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * With `interval`: makes the directory's renames and deletions durable within `fsync_interval`,
   * with one fsync for all of them. A directory fsync commits the file system's journal, and one
   * per sealed and per deleted segment ran back to back when relaying (~70 segments/s): sharing
   * them gave the relay benchmark +3.5% on a quiet machine, ~8% under load. Until then a power loss can leave a sealed segment under its
   * `.open` name (recovery seals it; its data was fdatasynced before the rename) or bring back a
   * deleted one (sent again: at least once). A process crash loses neither.
   */
  private dirSyncWithinInterval(): void {
    if (this.dirSyncTimer !== undefined || this.closed) return;
    this.dirSyncTimer = this.clock.setTimeout(() => {
      this.dirSyncTimer = undefined;
      this.dirSync().catch((err) => this.logger.error('directory fsync failed', { error: String(err) }));
    }, this.opts.fsyncIntervalMs);
  }

  /**
   * fsyncs the directory. Callers that arrive while one runs share the next one, which starts
   * after it: their change may have missed the running one.
   */
  private dirSync(): Promise<void> {
    if (this.dirSyncQueued) return this.dirSyncQueued;
    const start = (): Promise<void> => {
      const run = this.timedSync(() => this.ops.fsyncDir(this.dir)).finally(() => {
        if (this.dirSyncRunning === run) this.dirSyncRunning = undefined;
      });
      this.dirSyncRunning = run;
      return run;
    };
    const running = this.dirSyncRunning;
    if (!running) return start();
    const queued = running
      .catch(() => undefined)
      .then(() => {
        this.dirSyncQueued = undefined;
        return start();
      });
    this.dirSyncQueued = queued;
    return queued;
  }

  private newEntry(id: number, bytes: number, signals: number | undefined): SegmentEntry {
    return {
      id,
      state: 'sealed',
      path: queueFilePath(this.dir, id, 'committed'),
      bytes,
      signals,
      ackBytes: 0,
      acks: undefined,
      unsynced: false,
      mirror: undefined,
      lentMirror: undefined,
    };
  }
}
