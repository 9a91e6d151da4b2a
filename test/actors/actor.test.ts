import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { startActor } from '../../src/actors/actor.js';
import { SimulatedClock } from '../../src/actors/clock.js';
import type { ActorState } from '../../src/actors/types.js';
import { ClosedError } from '../../src/errors.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves when `signal` aborts, rejecting with its reason, as a well-behaved handler does. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe('startActor', () => {
  it('handles messages in order, one at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const handled: number[] = [];
    const ref = startActor<number>({
      name: 'seq',
      capacity: 4,
      async handle(msg) {
        active++;
        maxActive = Math.max(maxActive, active);
        await turn();
        handled.push(msg);
        active--;
      },
    });
    const senders = [0, 1, 2].map(async (s) => {
      for (let i = 0; i < 20; i++) await ref.send(s * 100 + i);
    });
    await Promise.all(senders);
    const result = await ref.stop();
    assert.deepEqual(result, { abandoned: 0, timedOut: false });
    assert.equal(maxActive, 1);
    assert.equal(handled.length, 60);
    for (const s of [0, 1, 2]) {
      assert.deepEqual(
        handled.filter((m) => Math.floor(m / 100) === s),
        Array.from({ length: 20 }, (_, i) => s * 100 + i),
      );
    }
  });

  it('accepts synchronous handlers', async () => {
    const handled: string[] = [];
    const ref = startActor<string>({ name: 'sync', capacity: 2, handle: (m) => void handled.push(m) });
    for (const m of ['a', 'b', 'c', 'd', 'e']) await ref.send(m);
    await ref.stop();
    assert.deepEqual(handled, ['a', 'b', 'c', 'd', 'e']);
  });

  it('goes through starting, running, draining, stopped in order', async () => {
    const startGate = deferred();
    const seen: ActorState[] = [];
    const calls: string[] = [];
    const ref = startActor<number>({
      name: 'life',
      capacity: 2,
      onStart: () => startGate.promise,
      handle: (m) => void calls.push(`handle ${m}`),
      onStop: () => void calls.push('onStop'),
    });
    ref.onStateChange((s) => seen.push(s));
    assert.equal(ref.state, 'starting');
    await ref.send(1);
    await turn();
    assert.deepEqual(calls, []);
    startGate.resolve();
    await ref.send(2);
    await turn();
    assert.equal(ref.state, 'running');
    const stopped = ref.stop();
    assert.equal(ref.state, 'draining');
    await stopped;
    await ref.whenStopped;
    assert.equal(ref.state, 'stopped');
    assert.deepEqual(seen, ['running', 'draining', 'stopped']);
    assert.deepEqual(calls, ['handle 1', 'handle 2', 'onStop']);
  });

  it('stop() drains every queued message and refuses new ones', async () => {
    const gate = deferred();
    const handled: number[] = [];
    const ref = startActor<number>({
      name: 'drain',
      capacity: 8,
      async handle(m) {
        if (m === 0) await gate.promise;
        handled.push(m);
      },
    });
    for (let i = 0; i < 6; i++) await ref.send(i);
    const stopping = ref.stop({ drainTimeoutMs: 1_000, clock: new SimulatedClock() });
    await assert.rejects(ref.send(99), (err: unknown) => err instanceof ClosedError && err.code === 'ERR_CLOSED');
    assert.throws(() => ref.trySend(99), ClosedError);
    assert.equal(ref.stop(), stopping);
    gate.resolve();
    assert.deepEqual(await stopping, { abandoned: 0, timedOut: false });
    assert.deepEqual(handled, [0, 1, 2, 3, 4, 5]);
  });

  it('hard stop at the drain deadline aborts the in-flight handler and counts the queue as abandoned', async () => {
    const clock = new SimulatedClock();
    const handled: number[] = [];
    let abortReason: unknown;
    let stopCalls = 0;
    const ref = startActor<number>({
      name: 'hard',
      capacity: 10,
      async handle(m, signal) {
        if (m === 1) {
          try {
            await untilAborted(signal);
          } catch (err) {
            abortReason = err;
            throw err;
          }
        }
        handled.push(m);
      },
      onStop: () => void stopCalls++,
    });
    for (let i = 1; i <= 5; i++) await ref.send(i);
    await turn();
    const stopping = ref.stop({ drainTimeoutMs: 100, clock });
    assert.equal(clock.nextDeadline(), 100);
    await clock.advanceAndSettle(99);
    assert.equal(abortReason, undefined);
    assert.equal(ref.state, 'draining');
    await clock.advanceAndSettle(1);
    assert.ok((abortReason as unknown) instanceof ClosedError);
    assert.deepEqual(await stopping, { abandoned: 4, timedOut: true });
    assert.deepEqual(handled, []);
    assert.equal(ref.state, 'stopped');
    assert.equal(ref.mailbox.size, 0);
    assert.equal(stopCalls, 1);
    assert.equal(clock.pending, 0);
  });

  it('a stop that drains before the deadline clears its timer', async () => {
    const clock = new SimulatedClock();
    const ref = startActor<number>({ name: 'quick', capacity: 2, handle() {} });
    await ref.send(1);
    const result = await ref.stop({ drainTimeoutMs: 50, clock });
    assert.deepEqual(result, { abandoned: 0, timedOut: false });
    assert.equal(clock.pending, 0);
  });

  it('logs a throwing handler and continues by default', async () => {
    const lines: LoggedLine[] = [];
    const handled: number[] = [];
    const ref = startActor<number>({
      name: 'flaky',
      capacity: 4,
      logger: recordingLogger(lines),
      handle(m) {
        if (m % 2 === 0) throw new Error(`bad ${m}`);
        handled.push(m);
      },
    });
    for (let i = 1; i <= 4; i++) await ref.send(i);
    assert.deepEqual(await ref.stop(), { abandoned: 0, timedOut: false });
    assert.deepEqual(handled, [1, 3]);
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 2);
    assert.equal(errors[0].fields.actor, 'flaky');
    assert.equal((errors[0].fields.err as Error).message, 'bad 2');
  });

  it("onError returning 'stop' stops the actor and abandons the rest of the queue", async () => {
    const gate = deferred();
    const failures: [string, number][] = [];
    const ref = startActor<number>({
      name: 'fatal',
      capacity: 4,
      async handle(m) {
        if (m === 1) await gate.promise;
        if (m === 2) throw new Error('fatal');
      },
      onError(err, m) {
        failures.push([(err as Error).message, m]);
        return 'stop';
      },
    });
    await ref.send(1);
    await turn();
    for (let i = 2; i <= 5; i++) assert.equal(ref.trySend(i), true);
    const blocked = Array.from({ length: 5 }, (_, i) => ref.send(10 + i));
    gate.resolve();
    await ref.whenStopped;
    // Taking message 2 admitted the first blocked sender; the close on 'stop' rejected the others.
    await blocked[0];
    for (const b of blocked.slice(1)) {
      await assert.rejects(b, (err: unknown) => err instanceof ClosedError && err.code === 'ERR_CLOSED');
    }
    assert.equal(ref.state, 'stopped');
    assert.deepEqual(failures, [['fatal', 2]]);
    assert.equal(ref.mailbox.fullCount, 5);
    assert.deepEqual(await ref.stop(), { abandoned: 4, timedOut: false });
  });

  it('a failing onStart stops the actor without handling or calling onStop', async () => {
    const lines: LoggedLine[] = [];
    const gate = deferred();
    const calls: string[] = [];
    const seen: ActorState[] = [];
    const ref = startActor<number>({
      name: 'nostart',
      capacity: 4,
      logger: recordingLogger(lines),
      async onStart() {
        await gate.promise;
        throw new Error('cannot open');
      },
      handle: (m) => void calls.push(`handle ${m}`),
      onStop: () => void calls.push('onStop'),
    });
    ref.onStateChange((s) => seen.push(s));
    await ref.send(1);
    await ref.send(2);
    gate.resolve();
    await ref.whenStopped;
    assert.deepEqual(await ref.stop(), { abandoned: 2, timedOut: false });
    assert.deepEqual(calls, []);
    assert.deepEqual(seen, ['draining', 'stopped']);
    assert.equal(lines.filter((l) => l.level === 'error' && l.msg === 'actor failed to start').length, 1);
  });

  it('enters and leaves backoff on request and can stop from backoff', async () => {
    const clock = new SimulatedClock();
    const seen: ActorState[] = [];
    const ref = startActor<number>({
      name: 'sender',
      capacity: 2,
      async handle(_m, signal) {
        ref.setBackoff(true);
        await new Promise<void>((resolve, reject) => {
          const t = clock.setTimeout(resolve, 30);
          signal.addEventListener('abort', () => {
            clock.clearTimeout(t);
            reject(signal.reason);
          });
        });
        ref.setBackoff(false);
      },
    });
    ref.onStateChange((s) => seen.push(s));
    await ref.send(1);
    await clock.settle();
    assert.equal(ref.state, 'backoff');
    await clock.advanceAndSettle(30);
    assert.equal(ref.state, 'running');
    await ref.send(2);
    await clock.settle();
    assert.equal(ref.state, 'backoff');
    const stopping = ref.stop({ drainTimeoutMs: 10, clock });
    assert.equal(ref.state, 'draining');
    await clock.advanceAndSettle(10);
    assert.deepEqual(await stopping, { abandoned: 0, timedOut: true });
    assert.deepEqual(seen, ['running', 'backoff', 'running', 'backoff', 'draining', 'stopped']);
  });
});
