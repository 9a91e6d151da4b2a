import { createMailbox } from '../actors/mailbox.js';
import type { Mailbox } from '../actors/types.js';
import type { FileQueue } from '../filequeue/types.js';
import { type Logger, silentLogger } from '../logger.js';
import type { AppendBatch } from './append-batch.js';
import { type BatchSlice, RecordBuilder } from './record-builder.js';
import { encodeRecordAsync } from './record-codec.js';

export interface SerializerOptions {
  fileQueue: FileQueue;
  /** Committed batches that may wait; a full mailbox makes `submit` (and so `commit()`) wait. */
  mailboxCapacity: number;
  /**
   * A record holds at most this many signals; waiting batches beyond it (or one larger batch)
   * are split over several records, so one record's memory stays bounded. Default 100,000.
   */
  maxSignalsPerRecord?: number;
  /**
   * Records handed to the FileQueue whose append has not resolved yet. More than one lets the
   * next record be built and written while the previous waits for its fsync. Default 2.
   */
  maxPendingAppends?: number;
  logger?: Logger;
}

export interface SerializerStats {
  /** Batches taken from the mailbox. */
  batches: number;
  /** Records handed to the FileQueue, and their signals and payload bytes. */
  records: number;
  signals: number;
  bytes: number;
  /** Records whose append (or encoding) failed. */
  failedRecords: number;
  /** Batches waiting in the mailbox now. */
  queuedBatches: number;
  /** Times a commit found the mailbox full and had to wait. */
  mailboxFull: number;
}

/** One endpoint's Serializer: committed batches in, records appended to the FileQueue out. */
export interface Serializer {
  /**
   * Queues a committed batch; resolves once every record holding part of it was appended
   * durably (per the FileQueue's fsync policy), rejects with the FileQueue's error (e.g.
   * `DiskFullError`) or `ClosedError` after `stop()`. A batch split over several records
   * rejects if any part fails; parts already appended stay on disk (at-least-once).
   * The batch must stay unchanged until the promise settles.
   */
  submit(batch: AppendBatch): Promise<void>;
  /** Refuses new batches, writes every batch already queued, waits for their appends. Idempotent. */
  stop(): Promise<void>;
  stats(): SerializerStats;
}

/**
 * Creates a Serializer. Group commit: it takes one batch, then every batch already waiting (up
 * to `maxSignalsPerRecord` signals; a batch that does not fit whole waits for the next record,
 * and only a batch larger than a record on its own is cut), builds ONE series-major record,
 * encodes it, appends it, and settles every commit in it together.
 */
export function createSerializer(options: SerializerOptions): Serializer {
  return new GroupCommitSerializer(options);
}

interface Job {
  readonly batch: AppendBatch;
  resolve(): void;
  reject(err: unknown): void;
  /** Records holding part of this batch whose append has not settled. */
  outstanding: number;
  /** Every part has been put into a record. */
  sliced: boolean;
  failed: boolean;
}

/** Where the next slice of a partially sliced job starts. */
interface Cursor {
  sample: number;
  histogram: number;
  exemplar: number;
  metadata: number;
}

class GroupCommitSerializer implements Serializer {
  private readonly fileQueue: FileQueue;
  private readonly mailbox: Mailbox<Job>;
  private readonly maxSignals: number;
  private readonly maxPending: number;
  private readonly logger: Logger;
  private readonly builder = new RecordBuilder();
  private readonly pending = new Set<Promise<void>>();
  private appendChain: Promise<unknown> = Promise.resolve();
  private readonly loop: Promise<void>;
  private carry: Job | undefined;
  private readonly cursor: Cursor = { sample: 0, histogram: 0, exemplar: 0, metadata: 0 };
  private readonly counters = { batches: 0, records: 0, signals: 0, bytes: 0, failedRecords: 0 };

  constructor(options: SerializerOptions) {
    this.fileQueue = options.fileQueue;
    this.mailbox = createMailbox<Job>(options.mailboxCapacity, 'serializer mailbox');
    this.maxSignals = options.maxSignalsPerRecord ?? 100_000;
    this.maxPending = options.maxPendingAppends ?? 2;
    if (!Number.isInteger(this.maxSignals) || this.maxSignals < 1) {
      throw new RangeError(`maxSignalsPerRecord must be a positive integer, got ${this.maxSignals}`);
    }
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) {
      throw new RangeError(`maxPendingAppends must be a positive integer, got ${this.maxPending}`);
    }
    this.logger = options.logger ?? silentLogger;
    this.loop = this.run();
  }

  submit(batch: AppendBatch): Promise<void> {
    if (batch.signals === 0 && !this.mailbox.closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const job: Job = { batch, resolve, reject, outstanding: 0, sliced: false, failed: false };
      this.mailbox.send(job).catch(reject);
    });
  }

  async stop(): Promise<void> {
    this.mailbox.close();
    await this.loop;
  }

  stats(): SerializerStats {
    return { ...this.counters, queuedBatches: this.mailbox.size, mailboxFull: this.mailbox.fullCount };
  }

  private async run(): Promise<void> {
    const slices: BatchSlice[] = [];
    const jobs: Job[] = [];
    for (;;) {
      slices.length = 0;
      jobs.length = 0;
      let budget = this.maxSignals;
      while (budget > 0) {
        let job = this.carry;
        if (job === undefined) {
          job = jobs.length === 0 ? await this.mailbox.receive() : this.mailbox.tryReceive();
          if (job === undefined) break;
          this.counters.batches++;
          this.cursor.sample = this.cursor.histogram = this.cursor.exemplar = this.cursor.metadata = 0;
        }
        if (job.failed) {
          // An earlier part of this batch already failed its commit: do not write the rest.
          this.carry = undefined;
          continue;
        }
        if (jobs.length > 0 && job.batch.signals > budget && this.cursorAtStart()) {
          // A whole batch that does not fit starts the next record instead of being cut here: a
          // batch that comes back every interval (a scrape) then makes the same records each time,
          // which the builder's label memo recognises (bench/scrape: the 100,005-sample scrape
          // was cut 100,000 + 5 and then 99,995 + 5 of the next, never the same twice).
          this.carry = job;
          break;
        }
        budget -= this.slice(job, budget, slices);
        jobs.push(job);
        job.outstanding++;
        this.carry = job.sliced ? undefined : job;
      }
      if (jobs.length === 0) break;
      this.writeRecord(slices, jobs.slice());
      if (this.pending.size >= this.maxPending) await Promise.race(this.pending);
    }
    await Promise.allSettled(this.pending);
  }

  /** Whether the cursor is at the start of its job (nothing of it sliced yet). */
  private cursorAtStart(): boolean {
    const c = this.cursor;
    return c.sample === 0 && c.histogram === 0 && c.exemplar === 0 && c.metadata === 0;
  }

  /** Appends to `out` the next part of `job` holding at most `budget` signals; returns its signals. */
  private slice(job: Job, budget: number, out: BatchSlice[]): number {
    const b = job.batch;
    const c = this.cursor;
    let left = budget;
    const take = (from: number, total: number): number => {
      const n = Math.min(left, total - from);
      left -= n;
      return from + n;
    };
    const sampleEnd = take(c.sample, b.sampleCount);
    const histogramEnd = take(c.histogram, b.histogramCount);
    const exemplarEnd = take(c.exemplar, b.exemplarCount);
    const metadataEnd = take(c.metadata, b.metadata.length);
    out.push({
      batch: b,
      sampleStart: c.sample,
      sampleEnd,
      histogramStart: c.histogram,
      histogramEnd,
      exemplarStart: c.exemplar,
      exemplarEnd,
      metadataStart: c.metadata,
      metadataEnd,
    });
    c.sample = sampleEnd;
    c.histogram = histogramEnd;
    c.exemplar = exemplarEnd;
    c.metadata = metadataEnd;
    job.sliced =
      sampleEnd === b.sampleCount &&
      histogramEnd === b.histogramCount &&
      exemplarEnd === b.exemplarCount &&
      metadataEnd === b.metadata.length;
    return budget - left;
  }

  private writeRecord(slices: readonly BatchSlice[], jobs: Job[]): void {
    let appended: Promise<void>;
    let signals = 0;
    try {
      const record = this.builder.build(slices);
      signals = record.timestamps.length + record.histograms.length + record.exemplars.length + record.metadata.length;
      const payload = encodeRecordAsync(record);
      // Handled now: the chain may reach it only after it settled.
      payload.catch(() => undefined);
      const n = signals;
      // Records reach the FileQueue in build order (its order is the delivery order); only their
      // compression overlaps. The chain waits for each append to be made, not to be durable, so
      // appends still share fsyncs. The append's promise travels boxed so `then` does not adopt it.
      const made = this.appendChain
        .then(() => payload)
        .then((p) => {
          this.counters.bytes += p.byteLength;
          return { durable: this.fileQueue.append(p, n) };
        });
      this.appendChain = made.catch(() => undefined);
      appended = made.then((m) => m.durable);
    } catch (err) {
      appended = Promise.reject(err);
    }
    const settled = appended.then(
      () => {
        this.counters.records++;
        this.counters.signals += signals;
        for (const job of jobs) {
          job.outstanding--;
          if (job.outstanding === 0 && job.sliced && !job.failed) job.resolve();
        }
      },
      (err: unknown) => {
        this.counters.failedRecords++;
        this.logger.error('record append failed', { signals, error: (err as Error)?.message });
        for (const job of jobs) {
          job.outstanding--;
          if (!job.failed) {
            job.failed = true;
            job.reject(err);
          }
        }
      },
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }
}
