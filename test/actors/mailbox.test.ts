import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { createMailbox, MAX_MAILBOX_CAPACITY } from '../../src/actors/mailbox.js';
import { ClosedError } from '../../src/errors.js';

/** Records whether a promise settled, so a test can assert that a sender is still blocked. */
function track<T>(p: Promise<T>): { settled: () => boolean; error: () => unknown; promise: Promise<T> } {
  let settled = false;
  let error: unknown;
  const promise = p.then(
    (v) => {
      settled = true;
      return v;
    },
    (err) => {
      settled = true;
      error = err;
      throw err;
    },
  );
  promise.catch(() => {});
  return { settled: () => settled, error: () => error, promise };
}

function assertClosed(err: unknown): true {
  assert.ok(err instanceof ClosedError);
  assert.equal(err.code, 'ERR_CLOSED');
  return true;
}

describe('createMailbox', () => {
  it('rejects capacities outside 1..MAX_MAILBOX_CAPACITY', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, MAX_MAILBOX_CAPACITY + 1]) {
      assert.throws(() => createMailbox(bad), RangeError, String(bad));
    }
    assert.equal(createMailbox(1).capacity, 1);
  });

  it('enforces the exact capacity asked for, not the rounded-up ring size', () => {
    const mb = createMailbox<number>(5);
    for (let i = 0; i < 5; i++) assert.equal(mb.trySend(i), true);
    assert.equal(mb.size, 5);
    assert.equal(mb.trySend(5), false);
    assert.equal(mb.fullCount, 1);
    assert.equal(mb.size, 5);
  });

  it('is FIFO across many wrap-arounds of the ring', () => {
    const mb = createMailbox<number>(3);
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      while (mb.trySend(next)) next++;
      out.push(mb.tryReceive()!, mb.tryReceive()!);
    }
    for (let m = mb.tryReceive(); m !== undefined; m = mb.tryReceive()) out.push(m);
    assert.deepEqual(
      out,
      Array.from({ length: next }, (_, i) => i),
    );
    assert.equal(mb.size, 0);
    assert.equal(mb.tryReceive(), undefined);
  });

  it('a send with room returns one shared resolved promise (no per-message allocation)', async () => {
    const mb = createMailbox<number>(4);
    const a = mb.send(1);
    const b = mb.send(2);
    assert.equal(a, b);
    await a;
    assert.equal(mb.size, 2);
  });

  it('sendOrWait: undefined when the message fits at once, else a promise that waits; one full event each', async () => {
    const mb = createMailbox<string>(1);
    assert.equal(mb.sendOrWait('a'), undefined);
    const b = mb.sendOrWait('b');
    assert.ok(b instanceof Promise);
    const tracked = track(b);
    await turn();
    assert.equal(tracked.settled(), false);
    assert.equal(mb.fullCount, 1);
    assert.equal(mb.tryReceive(), 'a');
    await tracked.promise;
    assert.equal(mb.tryReceive(), 'b');
    mb.close();
    await assert.rejects(mb.sendOrWait('c') as Promise<void>, ClosedError);
  });

  it('a full mailbox blocks senders until a message is taken', async () => {
    const mb = createMailbox<string>(2);
    await mb.send('a');
    await mb.send('b');
    const c = track(mb.send('c'));
    await turn();
    assert.equal(c.settled(), false);
    assert.equal(mb.size, 2);
    assert.equal(mb.fullCount, 1);
    assert.equal(mb.tryReceive(), 'a');
    await c.promise;
    assert.equal(mb.size, 2);
    assert.equal(mb.tryReceive(), 'b');
    assert.equal(mb.tryReceive(), 'c');
    assert.equal(mb.tryReceive(), undefined);
  });

  it('admits waiting senders in call order, and neither trySend nor a later send overtakes them', async () => {
    const mb = createMailbox<number>(1);
    mb.trySend(0);
    const w1 = track(mb.send(1));
    const w2 = track(mb.send(2));
    assert.equal(mb.tryReceive(), 0);
    // The freed slot went to the oldest waiter synchronously: the mailbox is full again.
    assert.equal(mb.size, 1);
    assert.equal(mb.trySend(99), false);
    const w3 = track(mb.send(3));
    await w1.promise;
    await turn();
    assert.equal(w2.settled(), false);
    assert.equal(w3.settled(), false);
    const got = [mb.tryReceive(), mb.tryReceive(), mb.tryReceive(), mb.tryReceive()];
    assert.deepEqual(got, [1, 2, 3, undefined]);
    await Promise.all([w2.promise, w3.promise]);
    // Three blocked sends and one refused trySend.
    assert.equal(mb.fullCount, 4);
  });

  it('keeps FIFO order of 100 concurrent sends through a capacity-4 mailbox', async () => {
    const mb = createMailbox<number>(4);
    const sends = Array.from({ length: 100 }, (_, i) => mb.send(i));
    assert.equal(mb.fullCount, 96);
    const out: number[] = [];
    for (let i = 0; i < 100; i++) {
      assert.ok(mb.size <= 4);
      out.push((await mb.receive())!);
    }
    await Promise.all(sends);
    assert.deepEqual(
      out,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('never exceeds its bound under a random mix of operations', async () => {
    const capacity = 7;
    const mb = createMailbox<number>(capacity);
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const pending: Promise<void>[] = [];
    const received: number[] = [];
    let next = 0;
    for (let step = 0; step < 5000; step++) {
      const r = rand();
      if (r < 0.35) pending.push(mb.send(next++));
      else if (r < 0.5) {
        if (mb.trySend(next)) next++;
      } else if (r < 0.9) {
        const m = mb.tryReceive();
        if (m !== undefined) received.push(m);
      } else await turn();
      assert.ok(mb.size <= capacity, `size ${mb.size} at step ${step}`);
    }
    for (let m = mb.tryReceive(); m !== undefined; m = mb.tryReceive()) {
      received.push(m);
      assert.ok(mb.size <= capacity);
    }
    await Promise.all(pending);
    assert.deepEqual(
      received,
      Array.from({ length: next }, (_, i) => i),
    );
  });

  it('loses and duplicates nothing with 10 concurrent senders x 1000 messages', async () => {
    const mb = createMailbox<{ sender: number; seq: number }>(16);
    const senders = Array.from({ length: 10 }, async (_, sender) => {
      for (let seq = 0; seq < 1000; seq++) await mb.send({ sender, seq });
    });
    const nextSeq = new Array<number>(10).fill(0);
    let total = 0;
    while (total < 10_000) {
      const m = await mb.receive();
      assert.ok(m !== undefined);
      assert.ok(mb.size <= 16);
      assert.equal(m.seq, nextSeq[m.sender], `sender ${m.sender}`);
      nextSeq[m.sender]++;
      total++;
    }
    await Promise.all(senders);
    assert.deepEqual(nextSeq, new Array<number>(10).fill(1000));
    assert.equal(mb.tryReceive(), undefined);
  });

  it('hands a message straight to a waiting receiver, oldest receiver first', async () => {
    const mb = createMailbox<string>(1);
    const r1 = mb.receive();
    const r2 = mb.receive();
    assert.equal(mb.trySend('x'), true);
    assert.equal(mb.size, 0);
    await mb.send('y');
    assert.equal(await r1, 'x');
    assert.equal(await r2, 'y');
    assert.equal(mb.fullCount, 0);
  });

  it('close() rejects every waiting sender with ClosedError and keeps queued messages receivable', async () => {
    const mb = createMailbox<number>(2);
    await mb.send(1);
    await mb.send(2);
    const waiters = [mb.send(3), mb.send(4), mb.send(5)];
    mb.close();
    assert.equal(mb.closed, true);
    for (const w of waiters) await assert.rejects(w, assertClosed);
    await assert.rejects(mb.send(6), assertClosed);
    assert.throws(() => mb.trySend(7), assertClosed);
    assert.equal(mb.size, 2);
    assert.equal(await mb.receive(), 1);
    assert.equal(mb.tryReceive(), 2);
    assert.equal(await mb.receive(), undefined);
    assert.equal(mb.tryReceive(), undefined);
    assert.equal(mb.fullCount, 3);
    mb.close();
    assert.equal(mb.closed, true);
  });

  it('close() wakes every waiting receiver with undefined', async () => {
    const mb = createMailbox<number>(4);
    const r1 = mb.receive();
    const r2 = mb.receive();
    mb.close();
    assert.deepEqual(await Promise.all([r1, r2]), [undefined, undefined]);
  });

  it('refuses undefined as a message', async () => {
    const mb = createMailbox<number | undefined>(2);
    assert.throws(() => mb.trySend(undefined), TypeError);
    await assert.rejects(mb.send(undefined), TypeError);
    assert.equal(mb.size, 0);
  });
});
