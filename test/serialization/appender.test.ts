import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppendBatch } from '../../src/serialization/append-batch.js';
import { createAppender } from '../../src/serialization/appender.js';
import type { NameValidationScheme } from '../../src/serialization/name-validation.js';
import { createSeriesRegistry } from '../../src/serialization/series.js';
import type { NativeHistogram } from '../../src/serialization/types.js';

function setup(submit?: (b: AppendBatch) => Promise<void>, nameValidationScheme?: NameValidationScheme) {
  const registry = createSeriesRegistry({ nameValidationScheme });
  const submitted: { samples: number; ts: number[]; values: number[]; series: string[]; metadata: number }[] = [];
  const app = createAppender({
    registry,
    initialCapacity: 2,
    submit:
      submit ??
      (async (b) => {
        submitted.push({
          samples: b.sampleCount,
          ts: [...b.timestamps.subarray(0, b.sampleCount)],
          values: [...b.values.subarray(0, b.sampleCount)],
          series: b.sampleSeries.slice(0, b.sampleCount).map((h) => h.labels.job),
          metadata: b.metadata.length,
        });
      }),
  });
  return { registry, app, submitted };
}

function intHistogram(): NativeHistogram {
  return {
    isFloat: false,
    count: 6,
    sum: 3,
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 1,
    positiveSpans: [{ offset: 0, length: 2 }],
    negativeSpans: [],
    positiveDeltas: [2, 1],
    negativeDeltas: [],
  };
}

describe('Appender', () => {
  it('grows its columns beyond the initial capacity and keeps append order', async () => {
    const { app, submitted } = setup();
    for (let i = 0; i < 100; i++) app.append({ __name__: 'm', job: `j${i % 3}` }, i, i * 0.5);
    await app.commit();
    assert.equal(submitted.length, 1);
    assert.equal(submitted[0].samples, 100);
    assert.deepEqual(
      submitted[0].ts,
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(submitted[0].values[99], 49.5);
    assert.equal(submitted[0].series[4], 'j1');
  });

  it('is reusable after commit and after rollback; empty commit resolves without submitting', async () => {
    const { app, submitted } = setup();
    await app.commit();
    assert.equal(submitted.length, 0);
    app.append({ __name__: 'm', job: 'a' }, 1, 1);
    app.rollback();
    await app.commit();
    assert.equal(submitted.length, 0);
    app.append({ __name__: 'm', job: 'a' }, 2, 2);
    await app.commit();
    app.append({ __name__: 'm', job: 'b' }, 3, 3);
    app.updateMetadata('m', { type: 'gauge', help: 'h', unit: '' });
    await app.commit();
    assert.deepEqual(
      submitted.map((s) => [s.ts, s.series, s.metadata]),
      [
        [[2], ['a'], 0],
        [[3], ['b'], 1],
      ],
    );
  });

  it('accepts appends while an earlier commit is in flight, into a separate batch', async () => {
    let release: () => void = () => {};
    const batches: AppendBatch[] = [];
    const { app } = setup(
      (b) =>
        new Promise((resolve) => {
          batches.push(b);
          release = resolve;
        }),
    );
    app.append({ __name__: 'm' }, 1, 1);
    const first = app.commit();
    app.append({ __name__: 'm' }, 2, 2);
    assert.equal(batches[0].sampleCount, 1);
    assert.equal(batches[0].timestamps[0], 1);
    release();
    await first;
    const second = app.commit();
    assert.equal(batches[1].sampleCount, 1);
    assert.equal(batches[1].timestamps[0], 2);
    assert.notEqual(batches[1], batches[0]);
    release();
    await second;
  });

  it('rejects commit with the submit error and stays usable', async () => {
    const err = new Error('disk full');
    let fail = true;
    const { app } = setup(async () => {
      if (fail) throw err;
    });
    app.append({ __name__: 'm' }, 1, 1);
    await assert.rejects(app.commit(), (e) => e === err);
    fail = false;
    app.append({ __name__: 'm' }, 2, 2);
    await app.commit();
  });

  it('validates timestamps and values, naming the field', () => {
    const { app } = setup();
    for (const ts of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      assert.throws(() => app.append({ __name__: 'm' }, ts, 1), /timestampMs must be a finite integer/);
    }
    assert.throws(() => app.append({ __name__: 'm' }, 1, '1' as unknown as number), /value must be a number/);
    assert.doesNotThrow(() => app.append({ __name__: 'm' }, -1000, Number.NaN));
    assert.throws(() => app.append({ __name__: 'm', job: '' }, 1, 1), /label job has an empty value/);
  });

  it('keeps the stale marker NaN bits in the batch', async () => {
    const f = new Float64Array(1);
    const u = new Uint32Array(f.buffer);
    u[0] = 2;
    u[1] = 0x7ff00000;
    let bits: number[] = [];
    const { app } = setup(async (b) => {
      const v = new Uint32Array(b.values.buffer, 0, 2);
      bits = [v[1], v[0]];
    });
    app.append({ __name__: 'm' }, 1, f[0]);
    await app.commit();
    assert.deepEqual(bits, [0x7ff00000, 2]);
    // Through a double array V8 quiets it to 0x7ff8000000000002; the batch restores the marker.
    const viaArray = [0.5, f[0]];
    app.append({ __name__: 'm' }, 2, viaArray[1]);
    await app.commit();
    assert.deepEqual(bits, [0x7ff00000, 2]);
    // Other NaNs are kept as they are.
    app.append({ __name__: 'm' }, 3, Number.NaN);
    await app.commit();
    assert.deepEqual(bits, [0x7ff80000, 0]);
  });

  it('validates histograms, naming the field', () => {
    const { app } = setup();
    // Prometheus' own rules (and words) are in histogram-validation.test.ts; here the appender's use of them.
    const cases: [Partial<NativeHistogram>, RegExp][] = [
      [{ schema: 9 }, /got schema 9$/],
      [{ schema: 1.5 }, /schema=1.5 must be an integer/],
      [{ positiveDeltas: [2] }, /positive side: spans need 2 buckets, have 1 buckets/],
      [{ positiveDeltas: [2, -3] }, /positive side: bucket number 2 has observation count of -1/],
      [{ count: -1 }, /count=-1 must be a non-negative integer/],
      [{ count: 3 }, /6 observations found in buckets, but the Count field is 3/],
      [{ count: 7 }, /6 observations found in buckets, but the Count field is 7/],
      [{ zeroThreshold: 'x' as unknown as number }, /zeroThreshold="x" must be a number/],
      [{ positiveSpans: [{ offset: 0, length: -2 }] }, /positiveSpans\[0\].length=-2/],
      [{ isFloat: true }, /positiveCounts=undefined must be an array \(float histogram\)/],
      [{ resetHint: 7 as 0 }, /resetHint=7/],
      [{ customValues: [1, 2] }, /histogram with exponential schema must not have custom bounds/],
    ];
    for (const [patch, message] of cases) {
      assert.throws(
        () => app.appendHistogram({ __name__: 'h', job: 'x' }, 1, { ...intHistogram(), ...patch }),
        (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.ok(err.message.startsWith('invalid histogram for series {__name__="h", job="x"}: '), err.message);
          assert.match(err.message, message);
          return true;
        },
      );
    }
    assert.throws(
      () =>
        app.appendHistogram({ __name__: 'h' }, 1, {
          ...intHistogram(),
          isFloat: true,
          positiveCounts: [1, -0.5],
          negativeCounts: [],
          positiveDeltas: undefined,
        }),
      /positive side: bucket number 2 has observation count of -0.5/,
    );
    assert.throws(() => app.appendHistogram({ __name__: 'h' }, 0.5, intHistogram()), /timestampMs/);
  });

  it('takes custom-bucket histograms (schema -53) and copies their bounds', async () => {
    let seen: NativeHistogram | undefined;
    const { app } = setup(async (b) => {
      seen = b.histograms[0];
    });
    const bounds = [0.1, 1, 10];
    const h: NativeHistogram = {
      isFloat: false,
      count: 5,
      sum: 12,
      schema: -53,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpans: [{ offset: 1, length: 3 }],
      negativeSpans: [],
      positiveDeltas: [1, 1, 0],
      negativeDeltas: [],
      customValues: bounds,
    };
    app.appendHistogram({ __name__: 'h' }, 1, h);
    bounds[0] = 0.5;
    await app.commit();
    assert.deepEqual(seen?.customValues, [0.1, 1, 10]);
    assert.throws(
      () => app.appendHistogram({ __name__: 'h' }, 1, { ...h, customValues: [0.1, 1] }),
      /custom buckets: only 2 custom bounds defined which is insufficient to cover total span length of 4/,
    );
  });

  it('copies histograms so later caller changes do not leak in', async () => {
    let seen: NativeHistogram | undefined;
    const { app } = setup(async (b) => {
      seen = b.histograms[0];
    });
    const h = intHistogram();
    app.appendHistogram({ __name__: 'h' }, 1, h);
    h.positiveDeltas?.push(99);
    h.count = 0;
    await app.commit();
    assert.deepEqual(seen?.positiveDeltas, [2, 1]);
    assert.equal(seen?.count, 6);
  });

  it('validates exemplars and metadata', () => {
    const { app } = setup();
    assert.throws(
      () => app.appendExemplar({ __name__: 'm' }, { labels: { trace_id: 'x' }, value: 1, timestampMs: 1.5 }),
      /exemplar.timestampMs/,
    );
    assert.throws(
      () => app.appendExemplar({ __name__: 'm' }, { labels: { trace_id: 'x'.repeat(130) }, value: 1, timestampMs: 1 }),
      /more than 128/,
    );
    assert.throws(
      () => app.appendExemplar({ __name__: 'm' }, { labels: { '': 'x' }, value: 1, timestampMs: 1 }),
      /invalid exemplar label name "": must be non-empty valid UTF-8/,
    );
    assert.throws(
      () => app.updateMetadata('', { type: 'gauge', help: '', unit: '' }),
      /invalid metricFamilyName "": must be non-empty valid UTF-8/,
    );
    assert.throws(
      () => app.updateMetadata('m', { type: 'bogus' as 'gauge', help: '', unit: '' }),
      /metadata.type "bogus"/,
    );
  });

  it('takes UTF-8 names (Prometheus 3) in series, exemplars and metadata by default', async () => {
    const { app, submitted } = setup();
    const names: Record<string, string>[] = [
      { __name__: 'resource.cpu.usage', 'service.name': 'api', job: 'a' },
      { __name__: 'http.server.duration', 'http.status_code': '200', job: 'b' },
      { __name__: 'запросы_всего', 名前: '値', job: 'c' },
      { __name__: '😀_total', '🔥': 'hot', job: 'd' },
    ];
    for (const labels of names) app.append(labels, 1, 1);
    app.appendExemplar(names[0], { labels: { 'trace.id': 'abc' }, value: 1, timestampMs: 1 });
    app.updateMetadata('resource.cpu.usage', { type: 'gauge', help: 'h', unit: 's' });
    await app.commit();
    assert.equal(submitted.length, 1);
    assert.equal(submitted[0].samples, 4);
    assert.deepEqual(submitted[0].series, ['a', 'b', 'c', 'd']);
    assert.equal(submitted[0].metadata, 1);
  });

  it('refuses UTF-8 names under legacy, saying the rule, and changes nothing', async () => {
    const { app, submitted } = setup(undefined, 'legacy');
    assert.throws(
      () => app.append({ __name__: 'up', 'http.status_code': '200' }, 1, 1),
      /invalid label name "http.status_code": must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*/,
    );
    assert.throws(
      () => app.append({ __name__: 'resource.cpu.usage' }, 1, 1),
      /invalid metric name __name__="resource.cpu.usage": must match \[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*/,
    );
    assert.throws(
      () => app.appendExemplar({ __name__: 'm' }, { labels: { 'trace.id': 'x' }, value: 1, timestampMs: 1 }),
      /invalid exemplar label name "trace.id": must match/,
    );
    assert.throws(
      () => app.updateMetadata('bad name', { type: 'gauge', help: '', unit: '' }),
      /invalid metricFamilyName "bad name": must match \[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*/,
    );
    await app.commit();
    assert.equal(submitted.length, 0);
  });
});
