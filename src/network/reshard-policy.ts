/**
 * How many send loops an endpoint wants, from measured rates. Pure: it is fed cumulative counters
 * on each tick and never reads a clock or a loop itself, so tests drive it with plain numbers.
 *
 * Baseline: Prometheus' `calculateDesiredShards` (storage/remote/queue_manager.go):
 *
 *     desired = timePerSample × (inRate + backlog × CATCHUP_FRACTION_PER_SECOND)
 *
 * where `timePerSample` is the seconds of request time the loops spent per delivered sample. Its
 * known weaknesses (prometheus#5627, #9207, #7230, #12559: flapping, stalls) are answered here by:
 * - hysteresis with separate up and down bands, a headroom on every scale-up so the next
 *   measurement lands inside the band, and a scale-down only after it was wanted on
 *   {@link DOWN_CONFIRM_TICKS} consecutive ticks;
 * - measuring afresh from the end of every reshard (the drain and the old loop count stay out);
 * - no reshard at all while the receiver is failing (a loop in backoff, a failed attempt within
 *   {@link FAILURE_QUIET_MS} not yet followed by {@link RECOVERY_SUCCESSES} delivered requests,
 *   or nothing delivered in the last tick): more loops would only hammer a failing receiver,
 *   fewer would be chosen from rates that measure the failure;
 * - no scaling down while the backlog is more than {@link FAR_BEHIND_SECONDS} of input behind.
 */

/**
 * Interval between two policy ticks (ms), and from the end of a reshard to the next tick.
 * Prometheus uses 10 s; 5 s lets an endpoint make two moves within ~15 s of a load step.
 */
export const RESHARD_TICK_MS = 5_000;

/** The first tick only takes the baseline figures: it comes after 1 s, so the first decision is at 6 s. */
export const FIRST_TICK_MS = 1_000;

/**
 * Weight of the newest tick in the moving averages of the rates (Prometheus' `ewmaWeight` 0.2
 * over 10 s ticks, a time constant of ~50 s). 0.5 over 5 s ticks: a step in the load is 75% in
 * the average after 2 ticks (10 s) and 94% after 4; the down band and the confirmation ticks give
 * the stability that the slower average bought.
 */
export const EWMA_WEIGHT = 0.5;

/**
 * Share of the backlog to clear per second on top of the incoming rate (Prometheus' 0.05: a
 * backlog is cleared in ~20 s if the loops allow). Issue 18 wants catch-up at >= 3x the input
 * after a 10-minute outage: 600 s × in × 0.05 = 30 × in, so max_shards is what bounds it.
 */
export const CATCHUP_FRACTION_PER_SECOND = 0.05;

/**
 * Scale-up threshold: grow when desired > current × 1.1, i.e. once the loops would need 10% more
 * request time than they have (a measurement just under 100% busy is not enough).
 */
export const UP_TOLERANCE = 1.1;

/**
 * Scale-down threshold: desired (with headroom) < current × DOWN_TOLERANCE. 0.6 (Prometheus uses
 * one band of ±30%): with {@link HEADROOM} 1.25 a load must fall below 0.6 / 1.25 = 48% of the
 * loops' capacity before they shrink, and the shrunk count (× 1.25 again) leaves the load at
 * 80% of the new capacity, below the up threshold 110%: no shrink-grow cycle on a steady load.
 */
export const DOWN_TOLERANCE = 0.6;

/**
 * Loops started beyond the measured need (25%): after a scale-up to ceil(desired × 1.25) the
 * loops run at <= 80% of their capacity, inside the band [48%, 110%] of the new count.
 */
export const HEADROOM = 1.25;

/** Consecutive ticks (3 × 5 s = 15 s) that must each want fewer loops before the count shrinks. */
export const DOWN_CONFIRM_TICKS = 3;

/**
 * No reshard within this long after a failed attempt (2 ticks: the retries' rates are not the
 * receiver's), unless {@link RECOVERY_SUCCESSES} requests were delivered since it.
 */
export const FAILURE_QUIET_MS = 2 * RESHARD_TICK_MS;

/**
 * Requests delivered in a row, after the last failed attempt, that end the quiet time early: the
 * receiver answers again. 10 is 1 s of one loop against a 100 ms receiver, and more than the
 * requests one loop's backoff retries make in a flapping receiver's short good spell. After a 45 s
 * outage the quiet time alone (measured from the tick that saw the failures, plus the tick
 * alignment) held the scale-up back 16 s while the backlog was 4.5M samples.
 */
export const RECOVERY_SUCCESSES = 10;

/**
 * After the delivery that ends the quiet time, the next tick comes this soon (if it was due
 * later): its interval measures the recovery, and a backlog waiting since the outage gets its
 * loops ~1 s after the receiver answers again instead of at the next 5 s tick.
 */
export const RECOVERY_TICK_MS = 1_000;

/** No scale-down while the backlog is more than this many seconds of input (Prometheus: 10 s of delay). */
export const FAR_BEHIND_SECONDS = 10;

/** Cumulative figures of one endpoint, read on each tick. Counters only grow. */
export interface ReshardInputs {
  nowMs: number;
  /** Samples (+ histograms + exemplars) delivered or refused by the receiver, since start. */
  samplesOut: number;
  /** Milliseconds the loops spent in requests (every attempt), summed over loops, since start. */
  requestMs: number;
  /** Failed attempts, since start. */
  failedAttempts: number;
  /** Whether some loop is waiting to retry right now. */
  backoff: boolean;
  /**
   * When the newest failed attempt ended (ms), if known; else the policy takes the tick that saw
   * `failedAttempts` grow.
   */
  lastFailureMs?: number;
  /** Requests delivered since the newest failed attempt (all loops), if known; else none count. */
  successesSinceFailure?: number;
  /** Samples appended and not yet finished (on disk, in memory or in flight), if known. */
  pendingSamples?: number;
  /** Samples appended to this endpoint's queue since start, if known (else derived from pending + out). */
  samplesIn?: number;
  /** Newest sample timestamp appended (or read) and newest delivered (ms; 0 if none). */
  newestAppendedMs?: number;
  newestSentMs?: number;
}

/** Why a tick changes nothing, or which way it moves. */
export type ReshardReason =
  | 'scale_up'
  | 'scale_down'
  | 'steady'
  | 'warming_up'
  | 'quiet_after_reshard'
  | 'receiver_failing'
  | 'nothing_sent'
  | 'far_behind'
  | 'confirming_down';

/** One tick's verdict, with every figure it came from (logged on a reshard). */
export interface ReshardDecision {
  /** Loops to run: `current` unless the reason is `scale_up` or `scale_down`. */
  target: number;
  /** The unrounded baseline figure (Prometheus' `desired_shards`); the current count when not measured. */
  desired: number;
  reason: ReshardReason;
  inRate: number;
  outRate: number;
  /** Seconds of request time per delivered sample. */
  timePerSample: number;
  backlogSamples: number;
  /** Backlog in seconds of input. */
  behindSeconds: number;
}

export interface ReshardPolicyOptions {
  minShards: number;
  /** The most loops the endpoint may run (`min(max_shards, SHARD_PARTITIONS)`). */
  maxShards: number;
}

/** The moving state of the policy of one endpoint; {@link tick} on every {@link RESHARD_TICK_MS}. */
export class ReshardPolicy {
  private readonly min: number;
  private readonly max: number;
  private last: ReshardInputs | undefined;
  private inRate: number | undefined;
  private outRate: number | undefined;
  /** Request seconds per second: how many loops were busy on average. */
  private busy: number | undefined;
  private lastFailureMs = Number.NEGATIVE_INFINITY;
  private downVotes = 0;
  private quietTick = false;

  constructor(opts: ReshardPolicyOptions) {
    this.min = Math.max(1, opts.minShards);
    this.max = Math.max(this.min, opts.maxShards);
  }

  /**
   * The manager changed the loop count. With the figures at the moment the reshard ended, the
   * next tick measures from there (the drain and the old count stay out of the averages); without,
   * the next tick only re-measures.
   */
  resharded(at?: ReshardInputs): void {
    this.downVotes = 0;
    if (at === undefined) {
      this.quietTick = true;
      return;
    }
    if (this.last !== undefined) this.noteFailures(this.last, at);
    this.last = at;
    this.quietTick = false;
  }

  /** Folds in this tick's figures and says how many loops to run (`current` now). */
  tick(inputs: ReshardInputs, current: number): ReshardDecision {
    const prev = this.last;
    this.last = inputs;
    this.noteFailures(prev, inputs);
    const idle = this.decision(current, current, 'warming_up', 0);
    if (prev === undefined) return idle;
    const dtSeconds = (inputs.nowMs - prev.nowMs) / 1000;
    if (dtSeconds <= 0) return idle;

    const outDelta = inputs.samplesOut - prev.samplesOut;
    const pending = inputs.pendingSamples ?? 0;
    const pendingDelta = pending - (prev.pendingSamples ?? 0);
    // Without an appended counter, what came in is what went out plus what the backlog grew by.
    const inDelta =
      inputs.samplesIn !== undefined && prev.samplesIn !== undefined
        ? inputs.samplesIn - prev.samplesIn
        : Math.max(0, outDelta + pendingDelta);
    const busyDelta = (inputs.requestMs - prev.requestMs) / 1000;
    const wasQuiet = this.quietTick;
    this.quietTick = false;
    if (wasQuiet) {
      // The interval held a drain and two loop counts: re-baseline, do not average it in.
      return this.decision(current, current, 'quiet_after_reshard', pending);
    }
    this.inRate = ewma(this.inRate, inDelta / dtSeconds);
    this.outRate = ewma(this.outRate, outDelta / dtSeconds);
    this.busy = ewma(this.busy, busyDelta / dtSeconds);

    const recovered = (inputs.successesSinceFailure ?? 0) >= RECOVERY_SUCCESSES;
    const failing = inputs.backoff || (inputs.nowMs - this.lastFailureMs < FAILURE_QUIET_MS && !recovered);
    if (failing) {
      this.downVotes = 0;
      return this.decision(current, current, 'receiver_failing', pending);
    }
    const idleNow = outDelta <= 0 && inDelta <= 0 && pending <= 0;
    if ((outDelta <= 0 || this.outRate <= 0) && !idleNow) {
      // Work waits and none went out: a stalled receiver, not a measure of the need.
      this.downVotes = 0;
      return this.decision(current, current, 'nothing_sent', pending);
    }
    // Nothing in, nothing out, nothing waiting: the load stopped, one loop's worth is plenty.
    const timePerSample = idleNow || this.outRate <= 0 ? 0 : this.busy / this.outRate;
    const catchupRate = pending * CATCHUP_FRACTION_PER_SECOND;
    const desired = timePerSample * (this.inRate + catchupRate);
    const wanted = clamp(Math.ceil(desired * HEADROOM), this.min, this.max);
    const behindSeconds = behind(inputs, pending, this.inRate);

    if (desired > current * UP_TOLERANCE && wanted > current) {
      this.downVotes = 0;
      return this.decision(current, wanted, 'scale_up', pending, desired, timePerSample, behindSeconds);
    }
    if (desired * HEADROOM < current * DOWN_TOLERANCE && wanted < current) {
      if (behindSeconds > FAR_BEHIND_SECONDS) {
        this.downVotes = 0;
        return this.decision(current, current, 'far_behind', pending, desired, timePerSample, behindSeconds);
      }
      this.downVotes++;
      if (this.downVotes < DOWN_CONFIRM_TICKS) {
        return this.decision(current, current, 'confirming_down', pending, desired, timePerSample, behindSeconds);
      }
      this.downVotes = 0;
      return this.decision(current, wanted, 'scale_down', pending, desired, timePerSample, behindSeconds);
    }
    this.downVotes = 0;
    return this.decision(current, current, 'steady', pending, desired, timePerSample, behindSeconds);
  }

  /** Moves the last failure to `now`'s figure: the time given, or this tick's when attempts failed since `prev`. */
  private noteFailures(prev: ReshardInputs | undefined, now: ReshardInputs): void {
    if (now.lastFailureMs !== undefined) this.lastFailureMs = Math.max(this.lastFailureMs, now.lastFailureMs);
    else if (prev !== undefined && now.failedAttempts !== prev.failedAttempts) this.lastFailureMs = now.nowMs;
  }

  private decision(
    current: number,
    target: number,
    reason: ReshardReason,
    backlogSamples: number,
    desired = current,
    timePerSample = 0,
    behindSeconds = 0,
  ): ReshardDecision {
    return {
      target,
      desired,
      reason,
      inRate: this.inRate ?? 0,
      outRate: this.outRate ?? 0,
      timePerSample,
      backlogSamples,
      behindSeconds,
    };
  }
}

function ewma(avg: number | undefined, value: number): number {
  // The first measurement is taken as is (Prometheus' ewmaRate does the same).
  return avg === undefined ? value : avg + EWMA_WEIGHT * (value - avg);
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/**
 * How far behind the endpoint is, in seconds: the larger of the timestamp gap (newest appended vs
 * newest sent, Prometheus' `delay`) and the backlog expressed in seconds of input.
 */
function behind(inputs: ReshardInputs, pending: number, inRate: number): number {
  const gap =
    inputs.newestAppendedMs !== undefined && inputs.newestSentMs !== undefined && inputs.newestSentMs > 0
      ? Math.max(0, inputs.newestAppendedMs - inputs.newestSentMs) / 1000
      : 0;
  const backlogSeconds = inRate > 0 ? pending / inRate : pending > 0 ? Number.POSITIVE_INFINITY : 0;
  return Math.max(gap, backlogSeconds);
}
