import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistogramEntry, MetadataEntry } from '../../src/serialization/types.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { decodeV1WithProtobufjs } from '../helpers/fake-receiver.js';
import {
  remoteWriteProtos as decodeV1Raw,
  encodeWriteRequestV1,
  type SeriesInput,
} from '../helpers/remote-write-client.js';
import { buildRecord, floatHistogram, intHistogram, STALE_NAN_BITS, wholeSlices } from './record-builder.js';

function encodeAndDecode(series: SeriesInput[], ext: Record<string, string> = {}, metadata: MetadataEntry[] = []) {
  const record = buildRecord(series);
  const enc = createWriteRequestEncoderV1({ externalLabels: ext });
  const slices = wholeSlices(record);
  return decodeV1WithProtobufjs(enc.encode(slices, slices.length, metadata));
}

describe('createWriteRequestEncoderV1', () => {
  it('encodes float samples that protobufjs decodes back exactly', () => {
    const out = encodeAndDecode([
      {
        labels: { __name__: 'up', job: 'node', instance: 'a:9100' },
        samples: [
          [1_700_000_000_000, 1],
          [1_700_000_015_000, 0],
        ],
      },
      {
        labels: { __name__: 'temp', room: 'kitchen' },
        samples: [
          [-5, -273.15],
          [0, 1e308],
        ],
      },
    ]);
    assert.equal(out.series.length, 2);
    assert.deepEqual(out.series[0].labels, { __name__: 'up', instance: 'a:9100', job: 'node' });
    assert.deepEqual(
      out.series[0].samples.map((s) => [s.ts, s.value]),
      [
        [1_700_000_000_000, 1],
        [1_700_000_015_000, 0],
      ],
    );
    assert.deepEqual(
      out.series[1].samples.map((s) => [s.ts, s.value]),
      [
        [-5, -273.15],
        [0, 1e308],
      ],
    );
  });

  it('keeps the exact NaN bits of stale markers and other NaNs', () => {
    const record = buildRecord([
      {
        labels: { __name__: 'x' },
        samples: [
          [1, 0],
          [2, 0],
          [3, 0],
        ],
      },
    ]);
    const bits = new BigUint64Array(record.values.buffer);
    bits[0] = STALE_NAN_BITS;
    bits[1] = 0x7ff8000000000001n;
    bits[2] = 0x8000000000000000n; // -0 must not be dropped as a default value
    const enc = createWriteRequestEncoderV1({ externalLabels: {} });
    const out = decodeV1WithProtobufjs(enc.encode(wholeSlices(record), 1, []));
    assert.deepEqual(
      out.series[0].samples.map((s) => s.bits),
      [STALE_NAN_BITS, 0x7ff8000000000001n, 0x8000000000000000n],
    );
  });

  it('encodes integer and float native histograms', () => {
    const out = encodeAndDecode([
      { labels: { __name__: 'req_duration', le_schema: 'exp' }, histograms: [intHistogram, floatHistogram] },
    ]);
    const [h1, h2] = out.series[0].histograms;
    assert.equal(h1.ts, intHistogram.timestampMs);
    assert.deepEqual(h1.histogram, intHistogram.histogram);
    assert.equal(h2.ts, floatHistogram.timestampMs);
    assert.deepEqual(h2.histogram, floatHistogram.histogram);
  });

  it('writes the count oneofs even when zero, so int and float stay distinguishable', () => {
    const zeroInt: HistogramEntry = {
      timestampMs: 5,
      histogram: {
        isFloat: false,
        count: 0,
        sum: 0,
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        positiveSpans: [],
        negativeSpans: [],
        positiveDeltas: [],
        negativeDeltas: [],
        resetHint: 0,
      },
    };
    const zeroFloat: HistogramEntry = {
      timestampMs: 6,
      histogram: {
        ...zeroInt.histogram,
        isFloat: true,
        positiveDeltas: undefined,
        negativeDeltas: undefined,
        positiveCounts: [],
        negativeCounts: [],
      },
    };
    delete zeroFloat.histogram.positiveDeltas;
    delete zeroFloat.histogram.negativeDeltas;
    const out = encodeAndDecode([{ labels: { __name__: 'h' }, histograms: [zeroInt, zeroFloat] }]);
    assert.deepEqual(out.series[0].histograms[0].histogram, zeroInt.histogram);
    assert.deepEqual(out.series[0].histograms[1].histogram, zeroFloat.histogram);
  });

  it('encodes exemplars without external labels and metadata entries', () => {
    const metadata: MetadataEntry[] = [
      { metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests — all of them.', unit: '' },
      { metricFamilyName: 'temp', type: 'unknown', help: '', unit: 'celsius' },
    ];
    const out = encodeAndDecode(
      [
        {
          labels: { __name__: 'http_requests_total', code: '200' },
          samples: [[1000, 5]],
          exemplars: [
            { labels: { trace_id: 'abc123', span_id: 'def' }, value: 0.25, timestampMs: 999 },
            { labels: {}, value: 0, timestampMs: 0 },
          ],
        },
      ],
      { cluster: 'eu1' },
      metadata,
    );
    assert.deepEqual(out.series[0].exemplars, [
      { labels: { span_id: 'def', trace_id: 'abc123' }, value: 0.25, ts: 999 },
      { labels: {}, value: 0, ts: 0 },
    ]);
    assert.deepEqual(out.metadata, metadata);
  });

  it('merges external labels, the series own label winning, output sorted by name', () => {
    const record = buildRecord([
      { labels: { __name__: 'm', job: 'own', zone: 'z1' }, samples: [[1, 1]] },
      { labels: { b: '2' }, samples: [[1, 2]] },
    ]);
    const enc = createWriteRequestEncoderV1({
      externalLabels: { job: 'ext', aaa: 'first', zzz: 'last', cluster: 'c' },
    });
    const { WriteRequest } = decodeV1Raw();
    const msg = WriteRequest.toObject(WriteRequest.decode(enc.encode(wholeSlices(record), 2, []))) as {
      timeseries: { labels: { name: string; value: string }[] }[];
    };
    assert.deepEqual(
      msg.timeseries[0].labels.map((l) => `${l.name}=${l.value}`),
      ['__name__=m', 'aaa=first', 'cluster=c', 'job=own', 'zone=z1', 'zzz=last'],
    );
    assert.deepEqual(
      msg.timeseries[1].labels.map((l) => `${l.name}=${l.value}`),
      ['aaa=first', 'b=2', 'cluster=c', 'job=ext', 'zzz=last'],
    );
  });

  it('sorts labels even when a record breaks the sorted-labels contract', () => {
    const record = buildRecord([{ labels: { z: '1', a: '2', m: '3' }, samples: [[1, 1]] }], { unsortedLabels: true });
    const enc = createWriteRequestEncoderV1({ externalLabels: { b: 'ext', m: 'ext' } });
    const { WriteRequest } = decodeV1Raw();
    const msg = WriteRequest.toObject(WriteRequest.decode(enc.encode(wholeSlices(record), 1, []))) as {
      timeseries: { labels: { name: string; value: string }[] }[];
    };
    assert.deepEqual(
      msg.timeseries[0].labels.map((l) => `${l.name}=${l.value}`),
      ['a=2', 'b=ext', 'm=3', 'z=1'],
    );
  });

  it('reuses its scratch buffer: two encodes in a row are both right, and it grows', () => {
    const enc = createWriteRequestEncoderV1({ externalLabels: { cluster: 'eu1' }, initialBufferBytes: 16 });
    const big: SeriesInput[] = [];
    for (let i = 0; i < 300; i++) big.push({ labels: { __name__: 'm', i: String(i) }, samples: [[i + 1, i * 0.5]] });
    const r1 = buildRecord(big);
    const first = Buffer.from(enc.encode(wholeSlices(r1), 300, []));
    const r2 = buildRecord([{ labels: { __name__: 'other' }, samples: [[7, 8]] }]);
    const second = enc.encode(wholeSlices(r2), 1, []);
    const d1 = decodeV1WithProtobufjs(first);
    assert.equal(d1.series.length, 300);
    assert.deepEqual(d1.series[299].labels, { __name__: 'm', cluster: 'eu1', i: '299' });
    assert.equal(d1.series[299].samples[0].value, 149.5);
    const d2 = decodeV1WithProtobufjs(second);
    assert.deepEqual(
      d2.series.map((s) => s.key),
      ['{__name__="other",cluster="eu1"}'],
    );
    assert.deepEqual(
      d2.series[0].samples.map((s) => [s.ts, s.value]),
      [[7, 8]],
    );
    // Same input again gives the same bytes.
    assert.deepEqual(Buffer.from(enc.encode(wholeSlices(r1), 300, [])), first);
  });

  it('encodes only the slice ranges and the first `count` slices', () => {
    const record = buildRecord([
      {
        labels: { __name__: 'a' },
        samples: [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      },
      { labels: { __name__: 'b' }, samples: [[1, 1]] },
    ]);
    const slices = wholeSlices(record);
    slices[0].sampleStart = 1;
    slices[0].sampleEnd = 2;
    const enc = createWriteRequestEncoderV1({ externalLabels: {} });
    const out = decodeV1WithProtobufjs(enc.encode(slices, 1, []));
    assert.equal(out.series.length, 1);
    assert.deepEqual(
      out.series[0].samples.map((s) => [s.ts, s.value]),
      [[2, 2]],
    );
    assert.equal(enc.encode(slices, 0, []).length, 0);
  });

  it('is byte-identical to protobufjs for the same message', () => {
    const series: SeriesInput[] = [
      {
        labels: { __name__: 'mixed', ünïcode: 'välue ✓', job: 'j' },
        samples: [
          [1_700_000_000_000, 3.5],
          [-1, -0.5],
          [0, 0],
          [2 ** 40, 2 ** 60],
        ],
        exemplars: [{ labels: { trace_id: 'x'.repeat(40) }, value: -1.5, timestampMs: -1_000 }],
        histograms: [
          intHistogram,
          floatHistogram,
          {
            timestampMs: 0,
            histogram: { ...intHistogram.histogram, count: 2 ** 45, positiveDeltas: [-(2 ** 40), 2 ** 40, -1, 1] },
          },
        ],
      },
      { labels: { __name__: 'long', v: 'y'.repeat(300) }, samples: [[1, 1]] },
    ];
    const metadata: MetadataEntry[] = [{ metricFamilyName: 'mixed', type: 'stateset', help: 'h', unit: 'u' }];
    const record = buildRecord(series);
    const enc = createWriteRequestEncoderV1({ externalLabels: {} });
    const ours = Buffer.from(enc.encode(wholeSlices(record), 2, metadata));
    const theirs = Buffer.from(encodeWriteRequestV1(series, metadata));
    assert.equal(ours.toString('hex'), theirs.toString('hex'));
  });

  describe('label cache (records with series ids)', () => {
    const ext = { cluster: 'eu1', job: 'ext' };
    const seriesOf = (n: number, t: number, tag = 's'): SeriesInput[] =>
      Array.from({ length: n }, (_x, i) => ({
        labels: { __name__: 'm', i: `${tag}${i}`, ...(i % 2 === 0 ? { job: 'own' } : {}) },
        samples: [[t, i + t] as [number, number]],
      }));
    const withIds = (series: SeriesInput[], scope: number, ids?: number[]) => ({
      ...buildRecord(series),
      seriesIds: Uint32Array.from(ids ?? series.map((_s, i) => i)),
      seriesIdScope: scope,
    });
    const encodeWith = (enc: ReturnType<typeof createWriteRequestEncoderV1>, r: ReturnType<typeof withIds>) =>
      Buffer.from(enc.encode(wholeSlices(r), r.seriesCount, []));

    it('writes the same bytes as without ids, on the miss and on every hit', () => {
      const plain = createWriteRequestEncoderV1({ externalLabels: ext, labelCacheBytes: 0 });
      const cached = createWriteRequestEncoderV1({ externalLabels: ext });
      for (let t = 1; t <= 3; t++) {
        const r = withIds(seriesOf(50, t), 9);
        const expected = encodeWith(plain, r);
        assert.deepEqual(encodeWith(cached, r), expected);
        const d = decodeV1WithProtobufjs(expected);
        assert.deepEqual(d.series[0].labels, { __name__: 'm', cluster: 'eu1', i: 's0', job: 'own' });
        assert.deepEqual(d.series[1].labels, { __name__: 'm', cluster: 'eu1', i: 's1', job: 'ext' });
        assert.deepEqual([d.series[49].samples[0].ts, d.series[49].samples[0].value], [t, 49 + t]);
      }
    });

    it('does not trust an id from another scope (e.g. a segment of an earlier run)', () => {
      const enc = createWriteRequestEncoderV1({ externalLabels: ext });
      encodeWith(enc, withIds(seriesOf(3, 1, 'old'), 1));
      const d = decodeV1WithProtobufjs(encodeWith(enc, withIds(seriesOf(3, 2, 'new'), 2)));
      assert.deepEqual(
        d.series.map((x) => x.labels.i),
        ['new0', 'new1', 'new2'],
      );
      // And back: the old scope's entries were dropped, not revived.
      const back = decodeV1WithProtobufjs(encodeWith(enc, withIds(seriesOf(3, 3, 'again'), 1)));
      assert.deepEqual(
        back.series.map((x) => x.labels.i),
        ['again0', 'again1', 'again2'],
      );
    });

    it('stays right when the cache fills and starts over', () => {
      // Each block is ~40 bytes: 100 bytes hold two, so the cache is emptied again and again.
      const small = createWriteRequestEncoderV1({ externalLabels: ext, labelCacheBytes: 100 });
      const plain = createWriteRequestEncoderV1({ externalLabels: ext, labelCacheBytes: 0 });
      for (let t = 1; t <= 3; t++) {
        const r = withIds(seriesOf(20, t), 5);
        assert.deepEqual(encodeWith(small, r), encodeWith(plain, r));
      }
    });

    it('keeps labels of slices of different records apart in one request', () => {
      const enc = createWriteRequestEncoderV1({ externalLabels: {} });
      const r1 = withIds(seriesOf(2, 1, 'x'), 3, [10, 11]);
      const r2 = withIds(seriesOf(2, 2, 'y'), 3, [12, 13]);
      const slices = [...wholeSlices(r1), ...wholeSlices(r2), ...wholeSlices(r1)];
      const d = decodeV1WithProtobufjs(enc.encode(slices, slices.length, []));
      assert.deepEqual(
        d.series.map((x) => `${x.labels.i}@${x.samples[0].ts}`),
        ['x0@1', 'x1@1', 'y0@2', 'y1@2', 'x0@1', 'x1@1'],
      );
    });
  });
});
