import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiscoverer } from '../../src/discovery/index.js';
import { UpdateQueue } from './update-queue.js';

describe('static discovery', () => {
  it('reports every group once, named by index, each target as __address__', async () => {
    const d = createDiscoverer({
      kind: 'static',
      groups: [
        { targets: ['a:1', 'b:2'], labels: { env: 'prod' } },
        { targets: [], labels: {} },
      ],
    });
    const q = new UpdateQueue(d);
    assert.deepEqual(await q.next(), [
      { source: '0', targets: [{ __address__: 'a:1' }, { __address__: 'b:2' }], labels: { env: 'prod' } },
      { source: '1', targets: [], labels: {} },
    ]);
    assert.deepEqual(d.stats, { failures: 0, updates: 1, targets: 2 });
    await q.stop();
    assert.equal(q.pending, 0);
  });

  it('returns at once when the signal is already aborted', async () => {
    const d = createDiscoverer({ kind: 'static', groups: [{ targets: ['a:1'], labels: {} }] });
    const calls: unknown[] = [];
    await d.run((g) => calls.push(g), AbortSignal.abort());
    assert.deepEqual(calls, []);
  });
});
