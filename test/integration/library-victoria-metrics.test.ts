// End to end: createQueue -> disk -> remote-write 1.0 -> a real VictoriaMetrics 1.79, read back raw
// through /api/v1/export (which shows every stored sample, unlike instant queries).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createQueue } from '../../src/queue.js';
import { DataSet, fastOptions, tempDataDir } from '../queue/queue-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('victoria-metrics');

describe('createQueue delivers to a real VictoriaMetrics', { skip }, () => {
  let vm: VictoriaMetricsInstance;

  before(async () => {
    vm = await startVictoriaMetrics();
  });

  after(async () => {
    await vm?.stop();
  });

  it('10,000 series x 10 timestamps: exact samples and values per series, in timestamp order, external labels on every series', async (t) => {
    const dir = await tempDataDir('vm-bulk');
    // Every 100th series carries its own `region`, which must win over the external one.
    const data = new DataSet(
      'lib_vm_bulk',
      10_000,
      10,
      Date.now() - 30 * 60_000,
      60_000,
      (i): Record<string, string> => (i % 100 === 0 ? { region: 'own' } : {}),
    );
    const queue = await createQueue(
      fastOptions(dir.path, vm.writeUrl, { name: 'vm' }, { externalLabels: { cluster: 'eu1', region: 'ext' } }),
    );
    t.after(async () => {
      await queue.stop();
      await dir.remove();
    });
    const started = Date.now();
    await data.append(queue);
    const appendedMs = Date.now() - started;

    // VM has no "all arrived" event: poll the export (flushes first) until the total is reached.
    const exported = await waitUntil(() => vm.exportSeries('{__name__="lib_vm_bulk"}'), {
      until: (r) => r.reduce((n, s) => n + s.values.length, 0) >= data.total,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `${data.total} samples exported`,
    });
    const deliveredMs = Date.now() - started;

    assert.equal(exported.length, data.series);
    const expectedTimestamps = Array.from({ length: data.timestamps }, (_, k) => data.ts(k));
    const seen = new Set<number>();
    for (const s of exported) {
      const i = Number(s.metric.i);
      seen.add(i);
      assert.deepEqual(
        s.metric,
        { __name__: 'lib_vm_bulk', i: String(i), cluster: 'eu1', region: i % 100 === 0 ? 'own' : 'ext' },
        `labels of series ${i}`,
      );
      assert.deepEqual(s.timestamps, expectedTimestamps, `timestamps of series ${i}`);
      assert.deepEqual(
        s.values,
        expectedTimestamps.map((_, k) => data.value(i, k)),
        `values of series ${i}`,
      );
    }
    assert.equal(seen.size, data.series);

    // Stats trail the receiver by one message when delivery runs in a worker.
    const st = await waitUntil(() => queue.stats().endpoints[0]!, {
      until: (s) => s.samplesSent >= data.total,
      timeoutMs: 5_000,
      description: 'every sample counted as sent',
    });
    assert.equal(st.samplesSent, data.total);
    assert.deepEqual(st.samplesDropped, { ttl: 0, too_old: 0, '4xx': 0, max_disk_bytes: 0, disk_full: 0 });
    console.log(`# vm bulk: ${data.total} samples appended in ${appendedMs} ms, all exported after ${deliveredMs} ms`);
  });
});
