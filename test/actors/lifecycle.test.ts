import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLifecycle } from '../../src/actors/lifecycle.js';
import type { ActorState } from '../../src/actors/types.js';

describe('lifecycle machine', () => {
  it('goes starting -> running -> backoff -> running -> draining -> stopped and ignores unlisted events', () => {
    const lc = createLifecycle();
    const seen: ActorState[] = [];
    lc.onChange((s) => seen.push(s));
    assert.equal(lc.state, 'starting');
    lc.send({ type: 'RESUME' });
    lc.send({ type: 'STOPPED' });
    assert.equal(lc.state, 'starting');
    lc.send({ type: 'STARTED' });
    lc.send({ type: 'BACKOFF' });
    lc.send({ type: 'STARTED' });
    lc.send({ type: 'RESUME' });
    lc.send({ type: 'DRAIN' });
    lc.send({ type: 'BACKOFF' });
    lc.send({ type: 'STOPPED' });
    lc.send({ type: 'STARTED' });
    assert.deepEqual(seen, ['running', 'backoff', 'running', 'draining', 'stopped']);
    assert.equal(lc.state, 'stopped');
  });

  it('drains straight from starting and from backoff', () => {
    const a = createLifecycle();
    a.send({ type: 'DRAIN' });
    a.send({ type: 'STARTED' });
    assert.equal(a.state, 'draining');
    const b = createLifecycle();
    b.send({ type: 'STARTED' });
    b.send({ type: 'BACKOFF' });
    b.send({ type: 'DRAIN' });
    assert.equal(b.state, 'draining');
  });

  it('unsubscribes listeners', () => {
    const lc = createLifecycle();
    const seen: ActorState[] = [];
    const off = lc.onChange((s) => seen.push(s));
    lc.send({ type: 'STARTED' });
    off();
    lc.send({ type: 'DRAIN' });
    assert.deepEqual(seen, ['running']);
  });
});
