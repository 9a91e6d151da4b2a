import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIngester, type Ingester } from '../../src/daemon/ingest.js';
import { PromspoolError } from '../../src/errors.js';
import type { Appender, SeriesRef } from '../../src/queue-types.js';
import type { Labels, Metadata } from '../../src/serialization/types.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import { encodeWriteRequestV1, encodeWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';

/** queue.series that counts calls and refuses what the real registry refuses first (names). */
function countingQueue() {
  const q = {
    calls: [] as Labels[],
    series(labels: Labels): SeriesRef {
      for (const name of Object.keys(labels)) {
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new TypeError(`invalid label name ${JSON.stringify(name)}`);
      }
      q.calls.push({ ...labels });
      return { labels: Object.freeze({ ...labels }) };
    },
  };
  return q;
}

/** An Appender recording which ref each signal went to. */
function recordingAppender() {
  const out = {
    samples: [] as { ref: SeriesRef; ts: number; value: number }[],
    exemplars: [] as { ref: SeriesRef; labels: Labels }[],
    metadata: [] as { name: string; metadata: Metadata }[],
  };
  const appender: Appender = {
    append(ref, ts, value) {
      out.samples.push({ ref: ref as SeriesRef, ts, value });
    },
    appendHistogram() {},
    appendExemplar(ref, e) {
      out.exemplars.push({ ref: ref as SeriesRef, labels: e.labels });
    },
    updateMetadata(name, metadata) {
      out.metadata.push({ name, metadata });
    },
    commit: () => Promise.resolve(),
    rollback() {},
  };
  return { appender, out };
}

const decoders = { '1.0': decodeWriteRequestV1, '2.0': decodeWriteRequestV2 };

function ingester(queue: ReturnType<typeof countingQueue>, extra: Partial<Parameters<typeof createIngester>[1]> = {}) {
  return createIngester(queue, { decoders, ...extra });
}

const up = (job: string, instance: string): Labels => ({ __name__: 'up', instance, job });

function samplesOf(...labels: Labels[]): SeriesInput[] {
  return labels.map((l, i) => ({ labels: l, samples: [[1000 + i, i + 0.5]] }));
}

function ingestV1(ing: Ingester, series: SeriesInput[]) {
  const { appender, out } = recordingAppender();
  const counts = ing.ingest('1.0', encodeWriteRequestV1(series), appender);
  return { counts, out };
}

// Hand-written 1.0 bytes, for layouts protobufjs never writes.
const enc = new TextEncoder();
function varint(v: number): number[] {
  const b: number[] = [];
  while (v >= 0x80) {
    b.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  b.push(v);
  return b;
}
const field = (tag: number, body: number[]): number[] => [tag, ...varint(body.length), ...body];
const label = (n: string, v: string): number[] =>
  field(0x0a, [...field(0x0a, [...enc.encode(n)]), ...field(0x12, [...enc.encode(v)])]);
function sample(ts: number, value: number): number[] {
  const d = new Uint8Array(new Float64Array([value]).buffer);
  return field(0x12, [0x09, ...d, 0x10, ...varint(ts)]);
}
const body = (...series: number[][]): Uint8Array => new Uint8Array(series.flatMap((s) => field(0x0a, s)));

describe('ingester series cache', () => {
  it('resolves a series once: later requests hit the cache by label bytes and append to the same ref', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const first = ingestV1(ing, samplesOf(up('a', 'h1'), up('a', 'h2')));
    const second = ingestV1(ing, samplesOf(up('a', 'h1'), up('a', 'h2'), up('b', 'h1')));
    assert.deepEqual(q.calls, [up('a', 'h1'), up('a', 'h2'), up('b', 'h1')]);
    assert.equal(second.out.samples[0].ref, first.out.samples[0].ref);
    assert.equal(second.out.samples[1].ref, first.out.samples[1].ref);
    assert.deepEqual(second.out.samples[2].ref.labels, up('b', 'h1'));
    assert.deepEqual(
      second.out.samples.map((s) => [s.ts, s.value]),
      [
        [1000, 0.5],
        [1001, 1.5],
        [1002, 2.5],
      ],
    );
    assert.deepEqual(second.counts, { samples: 3, histograms: 0, exemplars: 0, metadata: 0 });
    assert.equal(ing.cachedSeries, 3);
    assert.deepEqual({ hits: ing.cacheStats().hits, misses: ing.cacheStats().misses }, { hits: 2, misses: 3 });
  });

  it('validates a request whose labels differ byte-wise from a cached series (unsorted: refused)', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const { appender } = recordingAppender();
    ing.ingest('1.0', body([...label('__name__', 'up'), ...label('job', 'a'), ...sample(1, 1)]), appender);
    assert.throws(
      () => ing.ingest('1.0', body([...label('job', 'a'), ...label('__name__', 'up'), ...sample(2, 1)]), appender),
      (err: unknown) =>
        err instanceof PromspoolError &&
        err.code === 'ERR_BAD_REQUEST' &&
        /label names not sorted: "job" before "__name__"/.test(err.message),
    );
    assert.equal(q.calls.length, 1);
  });

  it('caches nothing for labels the queue refuses: the next request is refused again', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const bad = samplesOf({ __name__: 'up', 'bad-name': 'x' });
    for (let i = 0; i < 2; i++) assert.throws(() => ingestV1(ing, bad), /invalid label name "bad-name"/);
    assert.equal(ing.cachedSeries, 0);
  });

  it('decodes labels scattered between samples (no cache) and still appends to the right series', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const scattered = body([...label('__name__', 'up'), ...sample(5, 2), ...label('job', 'a'), ...sample(6, 3)]);
    for (let i = 0; i < 2; i++) {
      const { appender, out } = recordingAppender();
      ing.ingest('1.0', scattered, appender);
      assert.deepEqual(
        out.samples.map((s) => [s.ref.labels, s.ts, s.value]),
        [
          [{ __name__: 'up', job: 'a' }, 5, 2],
          [{ __name__: 'up', job: 'a' }, 6, 3],
        ],
      );
    }
    assert.equal(q.calls.length, 2);
    assert.equal(ing.cachedSeries, 0);
  });

  it('caches contiguous labels that come after the samples', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const late = body([...sample(7, 1), ...label('__name__', 'up'), ...label('job', 'a')]);
    for (let i = 0; i < 2; i++) {
      const { appender, out } = recordingAppender();
      ing.ingest('1.0', late, appender);
      assert.deepEqual(out.samples[0].ref.labels, { __name__: 'up', job: 'a' });
    }
    assert.equal(q.calls.length, 1);
  });

  it('keeps series apart when every hash collides', () => {
    const q = countingQueue();
    const ing = ingester(q, { hash: () => 1 });
    const series = [up('a', 'h1'), up('a', 'h2'), up('b', 'h1'), up('b', 'h2')];
    ingestV1(ing, samplesOf(...series));
    const { out } = ingestV1(ing, samplesOf(...series.slice().reverse()));
    assert.deepEqual(
      out.samples.map((s) => s.ref.labels),
      series.slice().reverse(),
    );
    assert.equal(q.calls.length, 4);
    assert.equal(ing.cacheStats().hits, 4);
  });

  it('bounds the cache by series and by bytes', () => {
    const q = countingQueue();
    const bySeries = ingester(q, { maxCachedSeries: 4 });
    const many = Array.from({ length: 10 }, (_x, i) => up('a', `h${i}`));
    ingestV1(bySeries, samplesOf(...many));
    assert.ok(bySeries.cachedSeries <= 4 && bySeries.cachedSeries >= 2, String(bySeries.cachedSeries));
    const byBytes = ingester(q, { maxCachedBytes: 100 });
    ingestV1(byBytes, samplesOf(...many));
    assert.ok(byBytes.cacheStats().bytes <= 100, String(byBytes.cacheStats().bytes));
    // Each key is 32 bytes: one fits in a generation of 50.
    assert.equal(byBytes.cachedSeries, 2);
  });

  it('2.0: caches by resolved labels whatever the symbol order, shared with 1.0; metadata named on hits', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const withMeta: SeriesInput[] = [
      {
        labels: up('a', 'h1'),
        samples: [[10, 1]],
        metadata: { type: 'gauge', help: 'Up.', unit: '' },
        exemplars: [{ labels: { trace_id: 't1' }, value: 1, timestampMs: 10 }],
      },
      { labels: up('a', 'h2'), samples: [[11, 2]] },
    ];
    const { appender, out } = recordingAppender();
    ing.ingest('1.0', encodeWriteRequestV1([{ labels: up('a', 'h1'), samples: [[1, 1]] }]), appender);
    ing.ingest('2.0', encodeWriteRequestV2(withMeta), appender);
    // Same series, the other order: other symbol refs, same labels.
    ing.ingest('2.0', encodeWriteRequestV2(withMeta.slice().reverse()), appender);
    assert.deepEqual(q.calls, [up('a', 'h1'), up('a', 'h2')]);
    assert.deepEqual(
      out.samples.map((s) => [s.ref.labels.instance, s.ts]),
      [
        ['h1', 1],
        ['h1', 10],
        ['h2', 11],
        ['h2', 11],
        ['h1', 10],
      ],
    );
    assert.equal(out.samples[0].ref, out.samples[4].ref);
    assert.deepEqual(out.metadata, [
      { name: 'up', metadata: { type: 'gauge', help: 'Up.', unit: '' } },
      { name: 'up', metadata: { type: 'gauge', help: 'Up.', unit: '' } },
    ]);
    assert.deepEqual(
      out.exemplars.map((e) => [e.ref.labels.instance, e.labels]),
      [
        ['h1', { trace_id: 't1' }],
        ['h1', { trace_id: 't1' }],
      ],
    );
  });

  it('2.0: still refuses invalid labels of a request after its series were cached', () => {
    const q = countingQueue();
    const ing = ingester(q);
    const { appender } = recordingAppender();
    ing.ingest('2.0', encodeWriteRequestV2(samplesOf(up('a', 'h1'))), appender);
    assert.throws(
      () => ing.ingest('2.0', encodeWriteRequestV2(samplesOf({ __name__: 'up', instance: '', job: 'a' })), appender),
      /empty value for label "instance"/,
    );
  });
});
