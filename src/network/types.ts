import type { ActorState } from '../actors/types.js';
import type { SignalRecord } from '../serialization/types.js';
import type { SnappyElements } from '../wire/snappy.js';

/**
 * Number of virtual shards. A series belongs to virtual shard `seriesHash & (VIRTUAL_SHARDS - 1)`:
 * the stored hashes are 32-bit and well mixed, so the low 8 bits spread series evenly. Virtual
 * shards are the unit of ack on disk (a "portion" is one record's series of one virtual shard)
 * and the unit that moves between SendLoops when the number of shards changes.
 */
export const VIRTUAL_SHARDS = 256;

/** The virtual shard of a series, from its stored 32-bit label hash. */
export function virtualShardOf(seriesHash: number): number {
  return seriesHash & (VIRTUAL_SHARDS - 1);
}

/** One (segment, record, virtual shard) portion: what is acknowledged to the FileQueue. */
export interface PortionRef {
  readonly segmentId: number;
  /** Record index inside the segment. */
  readonly record: number;
  readonly vshard: number;
}

/**
 * The unit of work handed to the network: the series of one record that hash to one virtual
 * shard. A SendLoop may split it across several requests (even one series' samples); the portion
 * is done once the request holding its last slice succeeded or was dropped.
 */
export interface SendWork {
  readonly record: SignalRecord;
  /**
   * Indices of the record's series that hash to the virtual shards of `portion` and `morePortions`
   * (the endpoint's works: one partition's shards, shard by shard, each in record order).
   */
  readonly series: Uint32Array;
  readonly portion: PortionRef;
  /**
   * Further portions this work carries besides `portion`, all done together with it: a group of
   * a relayed record spans every virtual shard its loop owns (see `elements`).
   */
  readonly morePortions?: readonly PortionRef[];
  /** Samples + histograms + exemplars of those series. */
  readonly signals: number;
  /**
   * The same series (samples only, unchanged) as a run of snappy elements of 1.0 `TimeSeries`
   * fields: a loop may put the whole work into one request as these bytes (`joinSnappyElements`)
   * instead of encoding and compressing `series`. Set only where the bytes are what the encoder
   * would write: no external labels, no cut.
   */
  readonly elements?: SnappyElements;
}

/** Every portion a work finishes, `portion` first. */
export function portionsOf(work: SendWork): PortionRef[] {
  return work.morePortions === undefined ? [work.portion] : [work.portion, ...work.morePortions];
}

/** Why signals were dropped instead of delivered; the `reason` label of `samples_dropped_total`. */
export type DropReason = 'ttl' | 'too_old' | '4xx' | 'corrupt';

/**
 * How a portion ended. Both outcomes mean "acknowledge it": either way its data is finished with.
 * `dropped` is reported when any of its slices was in a request the receiver refused (4xx);
 * samples dropped for age alone still count as `sent` (they are counted in the drop counters).
 */
export type PortionOutcome = { readonly status: 'sent' } | { readonly status: 'dropped'; readonly reason: DropReason };

export const SENT: PortionOutcome = Object.freeze({ status: 'sent' });

/** Called once per portion, from the loop that carried it, in the order its requests completed. */
export type PortionDoneCallback = (portion: PortionRef, outcome: PortionOutcome) => void;

/** Per-kind counters kept as plain numbers by every SendLoop (metrics read them at scrape time). */
export interface SignalCounters {
  /** Delivered (2xx). */
  sent: number;
  /** In requests the receiver refused with a non-retryable status. */
  failed: number;
  /** Carried by attempts that failed and were retried (counted once per retry). */
  retried: number;
  /** Dropped because of the receiver's 4xx. */
  dropped4xx: number;
  /** Dropped by `sample_age_limit` at send time. */
  droppedTooOld: number;
}

export interface SendLoopStats {
  name: string;
  state: ActorState;
  /** SendWork waiting in the mailbox. */
  mailboxDepth: number;
  mailboxCapacity: number;
  mailboxFull: number;
  /** Signals taken from the mailbox and not yet delivered or dropped. */
  pendingSignals: number;
  requests: number;
  /** Milliseconds spent in requests (every attempt, answered or not): what the resharding policy divides by. */
  requestMs: number;
  /** Attempts that failed (any reason), including the retried ones. */
  failedAttempts: number;
  samples: SignalCounters;
  histograms: SignalCounters;
  exemplars: SignalCounters;
  /** Compressed request bytes delivered. */
  bytes: number;
  /** Newest sample/histogram timestamp in a delivered request (ms, 0 if none). */
  highestSentTimestampMs: number;
  lastError?: { message: string; atMs: number };
  /** Remote-write 2.0 answers (loops of an endpoint configured with 2.0 only). */
  writes?: {
    /** 2xx answers whose written counts fell short of the request, some written. */
    partial: number;
    /** 2xx answers to non-empty requests whose counts say nothing was written. */
    nothingWritten: number;
    /** Batches sent again as 1.0 because their 2.0 request was not understood. */
    fallbackResends: number;
  };
}

export function emptySignalCounters(): SignalCounters {
  return { sent: 0, failed: 0, retried: 0, dropped4xx: 0, droppedTooOld: 0 };
}
