import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DOWN_CONFIRM_TICKS,
  FAILURE_QUIET_MS,
  RECOVERY_SUCCESSES,
  RESHARD_TICK_MS,
  type ReshardDecision,
  type ReshardInputs,
  ReshardPolicy,
} from '../../src/network/reshard-policy.js';

/**
 * A simulated endpoint fed to the policy: a receiver taking `latencyMs` per request of `batch`
 * samples, `loops` loops each with one request in flight, an input of `inRate` samples/s. Each
 * tick advances the cumulative counters by what those loops could deliver in one tick.
 */
class Sim {
  nowMs = 1_000_000;
  samplesOut = 0;
  requestMs = 0;
  failedAttempts = 0;
  backoff = false;
  pending = 0;
  samplesIn = 0;
  constructor(
    readonly policy: ReshardPolicy,
    public loops: number,
    public inRate: number,
    readonly latencyMs = 100,
    readonly batch = 2000,
  ) {}

  inputs(): ReshardInputs {
    return {
      nowMs: this.nowMs,
      samplesOut: this.samplesOut,
      requestMs: this.requestMs,
      failedAttempts: this.failedAttempts,
      backoff: this.backoff,
      pendingSamples: this.pending,
      samplesIn: this.samplesIn,
    };
  }

  /** One tick of traffic then one policy decision; applies a reshard at once. */
  step(): ReshardDecision {
    const dt = RESHARD_TICK_MS / 1000;
    const arriving = this.inRate * dt;
    this.samplesIn += arriving;
    const capacity = (this.loops * this.batch * 1000 * dt) / this.latencyMs;
    const sent = Math.min(capacity, this.pending + arriving);
    this.pending += arriving - sent;
    this.samplesOut += sent;
    // Loops are busy for the requests they made (a full request takes latencyMs).
    this.requestMs += (sent / this.batch) * this.latencyMs;
    this.nowMs += RESHARD_TICK_MS;
    const d = this.policy.tick(this.inputs(), this.loops);
    if (d.target !== this.loops) {
      this.loops = d.target;
      this.policy.resharded();
    }
    return d;
  }
}

function run(sim: Sim, ticks: number): ReshardDecision[] {
  const out: ReshardDecision[] = [];
  for (let i = 0; i < ticks; i++) out.push(sim.step());
  return out;
}

const changes = (ds: ReshardDecision[]) => ds.filter((d) => d.reason === 'scale_up' || d.reason === 'scale_down');

describe('ReshardPolicy', () => {
  it('grows to the load of a 100 ms receiver within 30 s and then holds steady for a minute', () => {
    // 200,000 samples/s at 2,000 samples per 100 ms request = 20,000 samples/s per loop: 10 loops needed.
    const sim = new Sim(new ReshardPolicy({ minShards: 1, maxShards: 50 }), 1, 200_000);
    const first = run(sim, 30_000 / RESHARD_TICK_MS);
    assert.ok(sim.loops >= 10, `loops after 30 s: ${sim.loops}`);
    const steady = run(sim, 60_000 / RESHARD_TICK_MS);
    assert.ok(changes(steady).length <= 2, `changes in the steady minute: ${JSON.stringify(changes(steady))}`);
    assert.ok(changes(first).length >= 1);
    // The backlog built while growing is gone and the count stays with headroom (<= 80% busy).
    const last = steady.at(-1) as ReshardDecision;
    assert.equal(last.reason, 'steady');
    assert.ok(sim.pending < 200_000, `pending ${sim.pending}`);
    assert.ok(sim.loops <= 20, `loops ${sim.loops}`);
  });

  it('shrinks back toward min_shards once the load stops, after the confirmation ticks', () => {
    const sim = new Sim(new ReshardPolicy({ minShards: 1, maxShards: 50 }), 1, 200_000);
    run(sim, 24);
    const grown = sim.loops;
    sim.inRate = 1_000;
    const after = run(sim, 40);
    assert.ok(sim.loops < grown / 4, `loops ${grown} -> ${sim.loops}`);
    const firstDown = after.findIndex((d) => d.reason === 'scale_down');
    assert.ok(firstDown >= DOWN_CONFIRM_TICKS - 1, `scaled down at tick ${firstDown}`);
    assert.deepEqual(
      after
        .slice(0, firstDown)
        .map((d) => d.reason)
        .filter((r) => r !== 'confirming_down' && r !== 'quiet_after_reshard' && r !== 'far_behind'),
      [],
    );
  });

  it('does not flap on a steady load sitting at a band edge', () => {
    for (const rate of [19_000, 21_000, 40_000, 99_000, 150_000, 230_000]) {
      const sim = new Sim(new ReshardPolicy({ minShards: 1, maxShards: 50 }), 1, rate);
      run(sim, 40);
      const steady = run(sim, 60);
      assert.equal(changes(steady).length, 0, `rate ${rate}: ${JSON.stringify(changes(steady).map((d) => d.target))}`);
    }
  });

  it('stays within min_shards and max_shards', () => {
    const sim = new Sim(new ReshardPolicy({ minShards: 2, maxShards: 5 }), 2, 1_000_000);
    run(sim, 20);
    assert.equal(sim.loops, 5);
    sim.inRate = 0;
    // The 90M backlog drains at 100,000/s (900 s, 180 ticks), then the idle loops shrink.
    run(sim, 200);
    assert.equal(sim.loops, 2);
  });

  it('never reshards while a loop is in backoff or within the quiet time after a failed attempt', () => {
    const sim = new Sim(new ReshardPolicy({ minShards: 1, maxShards: 50 }), 1, 200_000);
    sim.step();
    sim.backoff = true;
    const failing = run(sim, 6);
    assert.deepEqual(new Set(failing.map((d) => d.reason)), new Set(['receiver_failing']));
    assert.equal(sim.loops, 1);
    sim.backoff = false;
    sim.failedAttempts++;
    const quiet = run(sim, FAILURE_QUIET_MS / RESHARD_TICK_MS);
    assert.deepEqual(new Set(quiet.map((d) => d.reason)), new Set(['receiver_failing']));
    assert.equal(sim.loops, 1);
    assert.equal(sim.step().reason, 'scale_up');
  });

  it('ends the quiet time after RECOVERY_SUCCESSES deliveries since the last failed attempt, never during a backoff', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 16 });
    // One loop sending 20,000 samples/s (5e-5 s per sample) with a 4.5M backlog and 100,000/s in.
    const at = (s: number, extra: Partial<ReshardInputs>): ReshardInputs => ({
      nowMs: s * 1000,
      samplesOut: s * 20_000,
      requestMs: s * 1000,
      failedAttempts: 1,
      backoff: false,
      pendingSamples: 4_500_000,
      samplesIn: s * 100_000,
      ...extra,
    });
    p.tick(at(0, { lastFailureMs: 0, successesSinceFailure: 0 }), 1);
    // 1 s after the last failure, one delivery short: still quiet; in backoff: failing whatever came before.
    const short = p.tick(at(1, { lastFailureMs: 0, successesSinceFailure: RECOVERY_SUCCESSES - 1 }), 1);
    assert.equal(short.reason, 'receiver_failing');
    const backoff = p.tick(at(2, { lastFailureMs: 0, successesSinceFailure: 50, backoff: true }), 1);
    assert.equal(backoff.reason, 'receiver_failing');
    // Recovered 3 s after the failure (the quiet time alone would hold until 10 s): scale up.
    const up = p.tick(at(3, { lastFailureMs: 0, successesSinceFailure: RECOVERY_SUCCESSES }), 1);
    assert.equal(up.reason, 'scale_up');
    assert.equal(up.target, 16);
    // A new failure, reported by its own time, starts the quiet time again.
    const again = p.tick(at(4, { lastFailureMs: 3_900, successesSinceFailure: 0, failedAttempts: 2 }), 16);
    assert.equal(again.reason, 'receiver_failing');
  });

  it('does not reshard when nothing was delivered in the last tick', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 8 });
    const base = { samplesOut: 0, requestMs: 0, failedAttempts: 0, backoff: false, pendingSamples: 5_000_000 };
    assert.equal(p.tick({ ...base, nowMs: 0 }, 1).reason, 'warming_up');
    assert.equal(p.tick({ ...base, nowMs: 5_000, requestMs: 5_000 }, 1).reason, 'nothing_sent');
  });

  it('shrinks an idle endpoint (nothing in, out or pending) after the confirmation ticks', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 8 });
    const at = (i: number) => ({
      nowMs: i * 5_000,
      samplesOut: 0,
      requestMs: 0,
      failedAttempts: 0,
      backoff: false,
      pendingSamples: 0,
    });
    p.tick(at(0), 8);
    const reasons = [1, 2, 3].map((i) => p.tick(at(i), 8));
    assert.deepEqual(
      reasons.map((d) => [d.reason, d.target]),
      [
        ['confirming_down', 8],
        ['confirming_down', 8],
        ['scale_down', 1],
      ],
    );
  });

  it('does not scale down while far behind', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 50 });
    // 20 loops, a trickle of input sent cheaply, but a backlog of 60 s of that input.
    const tick = (i: number) =>
      p.tick(
        {
          nowMs: i * 5_000,
          samplesOut: i * 5_000,
          samplesIn: i * 5_000,
          requestMs: i * 5,
          failedAttempts: 0,
          backoff: false,
          pendingSamples: 60_000,
        },
        20,
      );
    tick(0);
    for (let i = 1; i <= 10; i++) assert.equal(tick(i).reason, 'far_behind');
  });

  it('skips the tick after a reshard (its rates mix two loop counts)', () => {
    const sim = new Sim(new ReshardPolicy({ minShards: 1, maxShards: 50 }), 1, 200_000);
    const ds = run(sim, 6);
    const up = ds.findIndex((d) => d.reason === 'scale_up');
    assert.ok(up >= 0);
    assert.equal(ds[up + 1].reason, 'quiet_after_reshard');
  });

  it('measures afresh from the figures given at the end of a reshard', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 50 });
    const base = { failedAttempts: 0, backoff: false, pendingSamples: 0 };
    p.tick({ ...base, nowMs: 0, samplesOut: 0, requestMs: 0, samplesIn: 0 }, 1);
    // During the reshard's drain: a burst that must not count.
    p.resharded({ ...base, nowMs: 2_000, samplesOut: 900_000, requestMs: 60_000, samplesIn: 900_000 });
    const d = p.tick({ ...base, nowMs: 7_000, samplesOut: 1_000_000, requestMs: 65_000, samplesIn: 1_000_000 }, 1);
    // From the reshard's end: 100,000 samples in 5 s (20,000/s) over 5 s of requests.
    assert.equal(d.reason, 'steady');
    assert.equal(d.inRate, 20_000);
    assert.equal(d.outRate, 20_000);
    assert.equal(d.timePerSample, 5e-5);
  });

  it('counts a failure during the reshard as recent', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 50 });
    const base = { backoff: false, pendingSamples: 1_000_000 };
    p.tick({ ...base, nowMs: 0, samplesOut: 0, requestMs: 0, failedAttempts: 0 }, 1);
    p.resharded({ ...base, nowMs: 2_000, samplesOut: 10_000, requestMs: 1_000, failedAttempts: 1 });
    const d = p.tick({ ...base, nowMs: 7_000, samplesOut: 110_000, requestMs: 6_000, failedAttempts: 1 }, 2);
    assert.equal(d.reason, 'receiver_failing');
  });

  it('reports its figures: timePerSample = busy seconds per delivered sample', () => {
    const p = new ReshardPolicy({ minShards: 1, maxShards: 50 });
    const base = { failedAttempts: 0, backoff: false, pendingSamples: 0 };
    p.tick({ ...base, nowMs: 0, samplesOut: 0, requestMs: 0, samplesIn: 0 }, 1);
    // 100,000 out in 5 s with 5 s of request time: 5e-5 s per sample; in 100,000/5 s = 20,000/s.
    const d = p.tick({ ...base, nowMs: 5_000, samplesOut: 100_000, requestMs: 5_000, samplesIn: 100_000 }, 1);
    assert.equal(d.timePerSample, 5e-5);
    assert.equal(d.inRate, 20_000);
    assert.equal(d.outRate, 20_000);
    assert.equal(d.desired, 1);
    assert.equal(d.reason, 'steady');
  });
});
