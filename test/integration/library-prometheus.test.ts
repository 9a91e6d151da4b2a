// End to end: createQueue -> disk -> remote-write 1.0 -> a real Prometheus 2.42, read back through
// its query API. Each test uses its own metric names, queue and data dir against one Prometheus.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createQueue } from '../../src/queue.js';
import type { Queue } from '../../src/queue-types.js';
import type { NativeHistogram } from '../../src/serialization/types.js';
import { DataSet, fastOptions, staleNaN, tempDataDir } from '../queue/queue-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus');

describe('createQueue delivers to a real Prometheus', { skip }, () => {
  let prom: PrometheusInstance;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    prom = await startPrometheus({ features: ['native-histograms', 'exemplar-storage'] });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await prom?.stop();
  });

  /** A started queue on a fresh data dir, stopped and removed after the file. */
  async function startQueue(
    name: string,
    rest: Parameters<typeof fastOptions>[3] = {},
  ): Promise<{ queue: Queue; dir: string }> {
    const dir = await tempDataDir(name);
    const queue = await createQueue(fastOptions(dir.path, prom.writeUrl, { name }, rest));
    cleanups.push(async () => {
      await queue.stop();
      await dir.remove();
    });
    return { queue, dir: dir.path };
  }

  /** Waits (bounded) until `promql` (a scalar-valued aggregation) equals `expected`. */
  async function waitForScalar(promql: string, expected: number, timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      async () => {
        const r = await prom.query(promql);
        return r.length === 1 ? r[0]!.samples[0]!.value : undefined;
      },
      { until: (v) => v === expected, timeoutMs, intervalMs: 200, description: `${promql} == ${expected}` },
    );
  }

  it('10,000 series x 10 timestamps arrive exactly: every sample, every value, external labels on every series', async () => {
    const now = Date.now();
    // Every 100th series carries its own `region`, which must win over the external one.
    const data = new DataSet(
      'lib_prom_bulk',
      10_000,
      10,
      now - 30 * 60_000,
      60_000,
      (i): Record<string, string> => (i % 100 === 0 ? { region: 'own' } : {}),
    );
    const { queue } = await startQueue('bulk', { externalLabels: { cluster: 'eu1', region: 'ext' } });
    const started = Date.now();
    await data.append(queue);
    const appendedMs = Date.now() - started;
    await waitForScalar('sum(count_over_time(lib_prom_bulk[1h]))', data.total);
    const deliveredMs = Date.now() - started;

    // Per series: exactly 10 samples (count_over_time), then the raw samples themselves.
    const counts = await prom.query('count_over_time(lib_prom_bulk[1h])');
    assert.equal(counts.length, data.series);
    assert.equal(counts.filter((s) => s.samples[0]!.value === data.timestamps).length, data.series);
    const raw = await prom.query('lib_prom_bulk[1h]');
    assert.equal(raw.length, data.series);
    const seen = new Set<number>();
    for (const s of raw) {
      const i = Number(s.metric.i);
      seen.add(i);
      assert.deepEqual(
        s.metric,
        { __name__: 'lib_prom_bulk', i: String(i), cluster: 'eu1', region: i % 100 === 0 ? 'own' : 'ext' },
        `labels of series ${i}`,
      );
      assert.deepEqual(
        s.samples,
        Array.from({ length: data.timestamps }, (_, k) => ({ timestampMs: data.ts(k), value: data.value(i, k) })),
        `samples of series ${i}`,
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
    console.log(
      `# prometheus bulk: ${data.total} samples appended in ${appendedMs} ms, all queryable after ${deliveredMs} ms`,
    );
  });

  it('a native integer histogram, a float histogram and an exemplar round-trip', async () => {
    const { queue } = await startQueue('hist');
    const t = Date.now() - 60_000;
    // Schema 0: bucket 0 is (0.5, 1], bucket 1 is (1, 2]. Counts 2 and 3 (deltas 2, +1), zero bucket 1.
    const intHist: NativeHistogram = {
      isFloat: false,
      count: 6,
      sum: 7.5,
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 1,
      positiveSpans: [{ offset: 0, length: 2 }],
      negativeSpans: [],
      positiveDeltas: [2, 1],
      negativeDeltas: [],
    };
    const floatHist: NativeHistogram = {
      isFloat: true,
      count: 6.5,
      sum: 8.25,
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 1,
      positiveSpans: [{ offset: 0, length: 2 }],
      negativeSpans: [],
      positiveCounts: [2.5, 3],
      negativeCounts: [],
    };
    const app = queue.appender();
    app.appendHistogram({ __name__: 'lib_prom_hist_int' }, t, intHist);
    app.appendHistogram({ __name__: 'lib_prom_hist_float' }, t, floatHist);
    app.append({ __name__: 'lib_prom_exemplar_total', job: 'x' }, t, 42);
    app.appendExemplar(
      { __name__: 'lib_prom_exemplar_total', job: 'x' },
      { labels: { trace_id: 'abc123', span_id: 's1' }, value: 0.25, timestampMs: t },
    );
    await app.commit();

    const ints = await waitUntil(() => prom.query('lib_prom_hist_int[1h]'), {
      until: (r) => r.length === 1,
      timeoutMs: 15_000,
      description: 'integer histogram queryable',
    });
    assert.deepEqual(ints[0]!.histograms, [
      {
        timestampMs: t,
        histogram: {
          count: 6,
          sum: 7.5,
          buckets: [
            { boundaries: 3, lower: -0.001, upper: 0.001, count: 1 },
            { boundaries: 0, lower: 0.5, upper: 1, count: 2 },
            { boundaries: 0, lower: 1, upper: 2, count: 3 },
          ],
        },
      },
    ]);
    const floats = await waitUntil(() => prom.query('lib_prom_hist_float[1h]'), {
      until: (r) => r.length === 1,
      timeoutMs: 15_000,
      description: 'float histogram queryable',
    });
    assert.deepEqual(floats[0]!.histograms, [
      {
        timestampMs: t,
        histogram: {
          count: 6.5,
          sum: 8.25,
          buckets: [
            { boundaries: 3, lower: -0.001, upper: 0.001, count: 1 },
            { boundaries: 0, lower: 0.5, upper: 1, count: 2.5 },
            { boundaries: 0, lower: 1, upper: 2, count: 3 },
          ],
        },
      },
    ]);
    const ex = await waitUntil(
      () => prom.queryExemplars('lib_prom_exemplar_total', { startMs: t - 60_000, endMs: Date.now() + 60_000 }),
      { until: (r) => r.length === 1, timeoutMs: 15_000, description: 'exemplar queryable' },
    );
    assert.deepEqual(ex, [
      {
        seriesLabels: { __name__: 'lib_prom_exemplar_total', job: 'x' },
        exemplars: [{ labels: { trace_id: 'abc123', span_id: 's1' }, value: 0.25, timestampMs: t }],
      },
    ]);
    // Stats trail the receiver by one message when delivery runs in a worker.
    await waitUntil(() => queue.stats().endpoints[0]!.samplesSent, {
      until: (n) => n === 1,
      timeoutMs: 5_000,
      description: 'the float sample counted as sent',
    });
  });

  it('a stale marker ends the series in Prometheus', async () => {
    const { queue } = await startQueue('stale');
    const t0 = Date.now() - 10 * 60_000;
    const app = queue.appender();
    const labels = { __name__: 'lib_prom_stale', job: 'x' };
    const other = { __name__: 'lib_prom_stale', job: 'y' };
    // `z` ends with an ordinary NaN (not the marker's bits): a sample like any other.
    const plainNaN = { __name__: 'lib_prom_stale', job: 'z' };
    for (let k = 0; k < 5; k++) {
      app.append(labels, t0 + k * 60_000, k);
      app.append(other, t0 + k * 60_000, 100 + k);
      app.append(plainNaN, t0 + k * 60_000, 200 + k);
    }
    const tStale = t0 + 5 * 60_000;
    app.append(labels, tStale, staleNaN());
    app.append(other, tStale, 105);
    app.append(plainNaN, tStale, Number.NaN);
    await app.commit();
    await waitForScalar('sum(count_over_time(lib_prom_stale{job="y"}[1h]))', 6);

    // Just before the marker the series is there; from the marker on, an instant query sees nothing
    // for it (the other series, without a marker, is still there).
    const before = await prom.query('lib_prom_stale', tStale - 1);
    assert.deepEqual(
      before.map((s) => [s.metric.job, s.samples[0]!.value]),
      [
        ['x', 4],
        ['y', 104],
        ['z', 204],
      ],
    );
    for (const at of [tStale, tStale + 1_000, tStale + 4 * 60_000]) {
      const r = await prom.query('lib_prom_stale', at);
      assert.deepEqual(
        r.map((s) => [s.metric.job, s.samples[0]!.value]),
        [
          ['y', 105],
          ['z', Number.NaN],
        ],
        `instant query at marker + ${at - tStale} ms`,
      );
    }
    // Range selectors in 2.42 skip stale markers: `[1h]` shows the 5 real samples of `x` and not the
    // marker, while the plain NaN of `z` is an ordinary sample and is shown.
    const raw = await prom.query('lib_prom_stale[1h]', tStale + 1_000);
    const pts = (k: number, v: (k: number) => number) =>
      Array.from({ length: k }, (_, j) => ({ timestampMs: t0 + j * 60_000, value: v(j) }));
    assert.deepEqual(
      raw.map((s) => [s.metric.job, s.samples]),
      [
        ['x', pts(5, (j) => j)],
        ['y', pts(6, (j) => 100 + j)],
        ['z', pts(6, (j) => (j < 5 ? 200 + j : Number.NaN))],
      ],
    );
    const counts = await prom.query('count_over_time(lib_prom_stale[1h])', tStale + 1_000);
    assert.deepEqual(
      counts.map((s) => [s.metric.job, s.samples[0]!.value]),
      [
        ['x', 5],
        ['y', 6],
        ['z', 6],
      ],
    );
  });
});
