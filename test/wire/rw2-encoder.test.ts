import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareUtf8 } from '../../src/serialization/label-order.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import type {
  HistogramEntry,
  MetadataEntry,
  NativeHistogram,
  RelabeledLabels,
  SignalRecord,
} from '../../src/serialization/types.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import { createWriteRequestEncoderV2 } from '../../src/wire/rw2-encoder.js';
import { compressBlock } from '../../src/wire/snappy.js';
import type { RemoteWriteVisitor, SeriesSlice } from '../../src/wire/types.js';
import { decodeV2WithProtobufjs } from '../helpers/fake-receiver.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../helpers/remote-write-client.js';
import { floatCustom, intCustom } from './custom-bucket-histograms.js';
import {
  buildRecord,
  floatFromBits,
  floatHistogram,
  intHistogram,
  STALE_NAN_BITS,
  wholeSlices,
} from './record-builder.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs toObject() output is untyped by nature
type Msg = Record<string, any>;

/** The request as protobufjs sees it: symbols and raw refs, nothing resolved. */
function rawMessage(body: Uint8Array): { symbols: string[]; timeseries: Msg[] } {
  const { RequestV2 } = remoteWriteProtos();
  return RequestV2.toObject(RequestV2.decode(body), { arrays: true, defaults: false }) as {
    symbols: string[];
    timeseries: Msg[];
  };
}

function encode(
  record: SignalRecord,
  ext: Record<string, string> = {},
  metadata: MetadataEntry[] = [],
  slices: SeriesSlice[] = wholeSlices(record),
): Buffer {
  // A copy: the output views the encoder's scratch buffer.
  return Buffer.from(createWriteRequestEncoderV2({ externalLabels: ext }).encode(slices, slices.length, metadata));
}

/** Symbols start with "" and hold each string once; every series' label refs are sorted by name. */
function assertWellFormed(body: Uint8Array): void {
  const msg = rawMessage(body);
  assert.equal(msg.symbols[0], '');
  assert.equal(new Set(msg.symbols).size, msg.symbols.length, 'no symbol twice');
  for (const ts of msg.timeseries) {
    const refs: number[] = ts.labelsRefs;
    assert.equal(refs.length % 2, 0);
    for (let i = 2; i < refs.length; i += 2) {
      assert.ok(
        compareUtf8(msg.symbols[refs[i - 2]], msg.symbols[refs[i]]) < 0,
        `label names sorted: ${msg.symbols[refs[i - 2]]} < ${msg.symbols[refs[i]]}`,
      );
    }
  }
}

/** Everything promspool's own 2.0 decoder reports, in order. */
function decodeWithOurs(body: Uint8Array): unknown[] {
  const events: unknown[] = [];
  const visitor: RemoteWriteVisitor = {
    series: (labels, created) => events.push(['series', [...labels], created]),
    sample: (ts, v) => events.push(['sample', ts, v]),
    histogram: (ts, h) => events.push(['histogram', ts, h]),
    exemplar: (labels, v, ts) => events.push(['exemplar', [...labels], v, ts]),
    metadata: (m) => events.push(['metadata', { ...m }]),
  };
  decodeWriteRequestV2(body, visitor);
  return events;
}

const ALL_KINDS: SeriesInput[] = [
  {
    labels: { __name__: 'http_requests_total', job: 'api', code: '200' },
    samples: [
      [1_700_000_000_000, 1],
      [1_700_000_015_000, 0],
      [-5, -273.15],
      [0, 1e308],
    ],
    exemplars: [
      { labels: { trace_id: 'abc123', span_id: 'def' }, value: 0.25, timestampMs: 999 },
      { labels: {}, value: 0, timestampMs: 0 },
    ],
  },
  { labels: { __name__: 'req_duration', job: 'api' }, histograms: [intHistogram, floatHistogram] },
  { labels: { __name__: 'nhcb_seconds', ünïcode: 'välue ✓' }, histograms: [intCustom, floatCustom] },
];

const METADATA: MetadataEntry[] = [
  { metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests — all of them.', unit: '' },
  { metricFamilyName: 'nhcb_seconds', type: 'histogram', help: 'Custom buckets.', unit: 'seconds' },
  { metricFamilyName: 'not_sent', type: 'gauge', help: 'No series has this name.', unit: '' },
];

describe('createWriteRequestEncoderV2', () => {
  it('encodes samples, histograms of all three kinds, exemplars and metadata that protobufjs decodes exactly', () => {
    const body = encode(buildRecord(ALL_KINDS), {}, METADATA);
    assertWellFormed(body);
    const out = decodeV2WithProtobufjs(body);
    assert.deepEqual(
      out.series.map((s) => s.labels),
      ALL_KINDS.map((s) => s.labels),
    );
    assert.deepEqual(
      out.series[0].samples.map((s) => [s.ts, s.value]),
      ALL_KINDS[0].samples,
    );
    assert.deepEqual(out.series[0].exemplars, [
      { labels: { span_id: 'def', trace_id: 'abc123' }, value: 0.25, ts: 999 },
      { labels: {}, value: 0, ts: 0 },
    ]);
    assert.deepEqual(
      out.series[1].histograms.map((h) => [h.ts, h.histogram]),
      [
        [intHistogram.timestampMs, intHistogram.histogram],
        [floatHistogram.timestampMs, floatHistogram.histogram],
      ],
    );
    const [ci, cf] = out.series[2].histograms;
    assert.equal(ci.histogram.schema, -53);
    assert.deepEqual([ci.ts, ci.histogram], [intCustom.timestampMs, intCustom.histogram]);
    assert.deepEqual([cf.ts, cf.histogram], [floatCustom.timestampMs, floatCustom.histogram]);
    // -0 as a custom bound keeps its sign.
    assert.ok(Object.is(ci.histogram.customValues?.[0], -0));
    // Inline metadata on the series it names, nothing for the entry no series has.
    assert.deepEqual(out.metadata, [METADATA[0], METADATA[1]]);
    assert.deepEqual(
      out.series.map((s) => s.createdTimestampMs),
      [0, 0, 0],
    );
  });

  it('writes the symbols first, then the series', () => {
    const body = encode(buildRecord(ALL_KINDS), {}, METADATA);
    assert.equal(body[0], 0x22); // symbols = 4
    assert.equal(body[1], 0); // ""
    const msg = rawMessage(body);
    assert.deepEqual(msg.symbols.slice(0, 5), ['', '__name__', 'http_requests_total', 'code', '200']);
  });

  it('keeps the exact NaN bits of stale markers, other NaNs and -0', () => {
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
    bits[2] = 0x8000000000000000n;
    const out = decodeV2WithProtobufjs(encode(record));
    assert.deepEqual(
      out.series[0].samples.map((s) => s.bits),
      [STALE_NAN_BITS, 0x7ff8000000000001n, 0x8000000000000000n],
    );
  });

  it('merges external labels, the series own label winning, refs sorted by name bytes', () => {
    const record = buildRecord([
      { labels: { __name__: 'm', job: 'own', zone: 'z1' }, samples: [[1, 1]] },
      { labels: { b: '2' }, samples: [[1, 2]] },
      // U+FF5E sorts after U+1F600 in UTF-16 units but before it in bytes, as Go sorts.
      { labels: { '\u{1F600}': 'smile', '\uFF5E': 'tilde' }, samples: [[1, 3]] },
    ]);
    // buildRecord sorts by UTF-16 units, so the third series breaks the byte-order contract: the encoder sorts it.
    const ext = { job: 'ext', aaa: 'first', zzz: 'last', cluster: 'c' };
    const body = encode(record, ext);
    assertWellFormed(body);
    const msg = rawMessage(body);
    const named = (ts: Msg) => {
      const refs: number[] = ts.labelsRefs;
      const out: string[] = [];
      for (let i = 0; i < refs.length; i += 2) out.push(`${msg.symbols[refs[i]]}=${msg.symbols[refs[i + 1]]}`);
      return out;
    };
    assert.deepEqual(named(msg.timeseries[0]), [
      '__name__=m',
      'aaa=first',
      'cluster=c',
      'job=own',
      'zone=z1',
      'zzz=last',
    ]);
    assert.deepEqual(named(msg.timeseries[1]), ['aaa=first', 'b=2', 'cluster=c', 'job=ext', 'zzz=last']);
    assert.deepEqual(named(msg.timeseries[2]), [
      'aaa=first',
      'cluster=c',
      'job=ext',
      'zzz=last',
      '\uFF5E=tilde',
      '\u{1F600}=smile',
    ]);
    // "ext" is never sent for the first series, "own" never for the second: each symbol once regardless.
    assert.equal(msg.symbols.filter((s) => s === 'job').length, 1);
  });

  it('sorts labels even when a record breaks the sorted-labels contract, the own label winning', () => {
    const record = buildRecord([{ labels: { z: '1', a: '2', m: '3' }, samples: [[1, 1]] }], { unsortedLabels: true });
    const out = decodeV2WithProtobufjs(encode(record, { b: 'ext', m: 'ext' }));
    assert.deepEqual(Object.entries(out.series[0].labels), [
      ['a', '2'],
      ['b', 'ext'],
      ['m', '3'],
      ['z', '1'],
    ]);
  });

  it('finds the metadata of classic histogram and summary series by their family name', () => {
    const record = buildRecord([
      { labels: { __name__: 'lat_bucket', le: '1' }, samples: [[1, 1]] },
      { labels: { __name__: 'lat_sum' }, samples: [[1, 1]] },
      { labels: { __name__: 'lat_count' }, samples: [[1, 1]] },
      { labels: { __name__: 'up_count' }, samples: [[1, 1]] },
    ]);
    const metadata: MetadataEntry[] = [
      { metricFamilyName: 'lat', type: 'histogram', help: 'Latency.', unit: 'seconds' },
      // A gauge family "up": up_count is not one of its series.
      { metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' },
    ];
    const out = decodeV2WithProtobufjs(encode(record, {}, metadata));
    assert.deepEqual(out.metadata, [
      { ...metadata[0], metricFamilyName: 'lat_bucket' },
      { ...metadata[0], metricFamilyName: 'lat_sum' },
      { ...metadata[0], metricFamilyName: 'lat_count' },
    ]);
  });

  it('encodes only the slice ranges and the first `count` slices; an empty request is empty', () => {
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
    const enc = createWriteRequestEncoderV2({ externalLabels: {} });
    const body = enc.encode(slices, 1, []);
    assert.deepEqual(rawMessage(body).symbols, ['', '__name__', 'a']);
    const out = decodeV2WithProtobufjs(body);
    assert.deepEqual(
      out.series.map((s) => s.samples.map((x) => [x.ts, x.value])),
      [[[2, 2]]],
    );
    assert.equal(enc.encode(slices, 0, []).length, 0);
  });

  it('reuses its buffers and symbol table: requests in a row are each complete, and it grows', () => {
    const enc = createWriteRequestEncoderV2({ externalLabels: { cluster: 'eu1' }, initialBufferBytes: 16 });
    const big: SeriesInput[] = [];
    for (let i = 0; i < 300; i++) big.push({ labels: { __name__: 'm', i: String(i) }, samples: [[i + 1, i * 0.5]] });
    const r1 = buildRecord(big);
    const first = Buffer.from(enc.encode(wholeSlices(r1), 300, []));
    assertWellFormed(first);
    const r2 = buildRecord([{ labels: { __name__: 'other' }, samples: [[7, 8]] }]);
    const second = Buffer.from(enc.encode(wholeSlices(r2), 1, []));
    assert.deepEqual(rawMessage(second).symbols, ['', '__name__', 'other', 'cluster', 'eu1']);
    const d1 = decodeV2WithProtobufjs(first);
    assert.equal(d1.series.length, 300);
    assert.deepEqual(d1.series[299].labels, { __name__: 'm', cluster: 'eu1', i: '299' });
    assert.equal(d1.series[299].samples[0].value, 149.5);
    assert.deepEqual(Buffer.from(enc.encode(wholeSlices(r1), 300, [])), first);
  });

  it('keeps the slices of different records apart in one request', () => {
    const r1 = buildRecord([{ labels: { __name__: 'x', i: 'a' }, samples: [[1, 1]] }]);
    const r2 = buildRecord([{ labels: { i: 'b', __name__: 'y' }, samples: [[2, 2]] }]);
    const slices = [...wholeSlices(r1), ...wholeSlices(r2), ...wholeSlices(r1)];
    const body = encode(r1, {}, [], slices);
    assertWellFormed(body);
    assert.deepEqual(
      decodeV2WithProtobufjs(body).series.map((s) => `${s.key}@${s.samples[0].ts}`),
      ['{__name__="x",i="a"}@1', '{__name__="y",i="b"}@2', '{__name__="x",i="a"}@1'],
    );
  });

  it('round-trips through promspool’s own 2.0 decoder', () => {
    const ext = { cluster: 'eu1', job: 'ext' };
    const body = encode(buildRecord(ALL_KINDS), ext, METADATA);
    const events = decodeWithOurs(body);
    const series = (labels: Record<string, string>) => [
      'series',
      Object.entries({ ...ext, ...labels })
        .sort((a, b) => compareUtf8(a[0], b[0]))
        .flat(),
      0,
    ];
    const hist = (e: HistogramEntry): [string, number, NativeHistogram] => ['histogram', e.timestampMs, e.histogram];
    assert.deepEqual(events, [
      series(ALL_KINDS[0].labels),
      ['metadata', METADATA[0]],
      ...(ALL_KINDS[0].samples ?? []).map(([t, v]) => ['sample', t, v]),
      ['exemplar', ['span_id', 'def', 'trace_id', 'abc123'], 0.25, 999],
      ['exemplar', [], 0, 0],
      series(ALL_KINDS[1].labels),
      hist(intHistogram),
      hist(floatHistogram),
      series(ALL_KINDS[2].labels),
      ['metadata', METADATA[1]],
      hist(intCustom),
      hist(floatCustom),
    ]);
  });
});

describe('createWriteRequestEncoderV2: label cache and remembered strings', () => {
  const ext = { cluster: 'eu1', job: 'ext' };
  const seriesOf = (n: number, t: number, tag = 's'): SeriesInput[] =>
    Array.from({ length: n }, (_x, i) => ({
      labels: { __name__: `m${i % 3}`, i: `${tag}${i}`, ...(i % 2 === 0 ? { job: 'own' } : {}) },
      samples: [[t, i + t] as [number, number]],
    }));
  const withIds = (series: SeriesInput[], scope: number, ids?: number[]): SignalRecord => ({
    ...buildRecord(series),
    seriesIds: Uint32Array.from(ids ?? series.map((_s, i) => i)),
    seriesIdScope: scope,
  });
  const metadata: MetadataEntry[] = [{ metricFamilyName: 'm1', type: 'gauge', help: 'One.', unit: '' }];
  const encodeWith = (enc: ReturnType<typeof createWriteRequestEncoderV2>, r: SignalRecord) =>
    Buffer.from(enc.encode(wholeSlices(r), r.seriesCount, metadata));

  it('writes the same bytes as without ids, on the miss and on every hit', () => {
    const plain = createWriteRequestEncoderV2({ externalLabels: ext, labelCacheSlots: 0, rememberedStrings: 0 });
    const cached = createWriteRequestEncoderV2({ externalLabels: ext });
    for (let t = 1; t <= 3; t++) {
      const r = withIds(seriesOf(50, t), 9);
      const expected = encodeWith(plain, r);
      assert.deepEqual(encodeWith(cached, r), expected);
      const d = decodeV2WithProtobufjs(expected);
      assert.deepEqual(d.series[0].labels, { __name__: 'm0', cluster: 'eu1', i: 's0', job: 'own' });
      assert.deepEqual(d.series[1].labels, { __name__: 'm1', cluster: 'eu1', i: 's1', job: 'ext' });
      assert.equal(d.metadata.length, 17); // the m1 series: 1, 4, ..., 49
      assert.deepEqual([d.series[49].samples[0].ts, d.series[49].samples[0].value], [t, 49 + t]);
    }
  });

  it('does not trust an id from another scope, and stays right when the cache or the remembered strings start over', () => {
    const plain = createWriteRequestEncoderV2({ externalLabels: ext, labelCacheSlots: 0, rememberedStrings: 0 });
    // ~7 slots per series: 30 hold four series, so the cache is emptied again and again; 20
    // remembered strings are passed within the first request, so they are forgotten before each next one.
    const small = createWriteRequestEncoderV2({ externalLabels: ext, labelCacheSlots: 30, rememberedStrings: 20 });
    const big = createWriteRequestEncoderV2({ externalLabels: ext });
    const runs = [
      withIds(seriesOf(20, 1, 'old'), 1),
      withIds(seriesOf(20, 2, 'new'), 2),
      withIds(seriesOf(20, 3, 'again'), 1),
    ];
    for (const r of runs) {
      const expected = encodeWith(plain, r);
      assert.deepEqual(encodeWith(small, r), expected);
      assert.deepEqual(encodeWith(big, r), expected);
      assertWellFormed(expected);
    }
    assert.deepEqual(
      decodeV2WithProtobufjs(encodeWith(big, runs[2]))
        .series.map((x) => x.labels.i)
        .slice(0, 3),
      ['again0', 'again1', 'again2'],
    );
  });

  it('keeps labels of slices of different records apart in one request', () => {
    const enc = createWriteRequestEncoderV2({ externalLabels: {} });
    const r1 = withIds(seriesOf(2, 1, 'x'), 3, [10, 11]);
    const r2 = withIds(seriesOf(2, 2, 'y'), 3, [12, 13]);
    const slices = [...wholeSlices(r1), ...wholeSlices(r2), ...wholeSlices(r1)];
    const body = enc.encode(slices, slices.length, []);
    assertWellFormed(body);
    assert.deepEqual(
      decodeV2WithProtobufjs(body).series.map((x) => `${x.labels.i}@${x.samples[0].ts}`),
      ['x0@1', 'x1@1', 'y0@2', 'y1@2', 'x0@1', 'x1@1'],
    );
  });
});

describe('createWriteRequestEncoderV2: relayed and relabeled records', () => {
  const SERIES: SeriesInput[] = [
    {
      labels: { __name__: 'http_requests_total', code: '200', instance: 'a:9100', job: 'api', method: 'GET' },
      samples: [
        [1_700_000_000_000, 10],
        [1_700_000_015_000, 0.125], // becomes the stale marker
        [1_700_000_030_000, 0],
        [1_700_000_045_000, -0.5],
      ],
    },
    {
      labels: { __name__: 'temperature', city: 'Zürich', unit: '°C' },
      samples: [
        [-5, -273.15],
        [0, 21.5],
      ],
    },
    { labels: { __name__: 'long_label', v: 'x'.repeat(200) }, samples: [[42, 1e300]] },
  ];
  const STALE = 1;

  /** The series as a kind-2 (relayed) record: the 1.0 body protobufjs writes, stored and read back. */
  function rawRecord(): SignalRecord {
    const { WriteRequest } = remoteWriteProtos();
    const obj = writeRequestV1Object(SERIES) as { timeseries: { samples: { value?: number }[] }[] };
    obj.timeseries[0].samples[STALE].value = floatFromBits(STALE_NAN_BITS);
    const body = WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
    const scan = scanWriteRequestV1(body);
    assert.ok(scan, 'the scan accepts the body');
    const r = decodeRecord(encodeRawRecord(compressBlock(body), scan));
    assert.ok(r.rawSeries);
    return r;
  }

  function normalRecord(): SignalRecord {
    const r = buildRecord(SERIES);
    new BigUint64Array(r.values.buffer)[STALE] = STALE_NAN_BITS;
    return r;
  }

  const ext = { cluster: 'eu1', job: 'ext', zone: 'z' };
  const metadata: MetadataEntry[] = [{ metricFamilyName: 'temperature', type: 'gauge', help: 'Air.', unit: 'celsius' }];

  it('a relayed record encodes the same series as its decoded equivalent, stale marker bits included', () => {
    const expected = decodeV2WithProtobufjs(encode(normalRecord(), ext, metadata));
    const body = encode(rawRecord(), ext, metadata);
    assertWellFormed(body);
    const got = decodeV2WithProtobufjs(body);
    assert.deepEqual(got, expected);
    assert.equal(got.series[0].samples[STALE].bits, STALE_NAN_BITS);
    assert.deepEqual(got.series[0].labels.job, 'api');
    assert.deepEqual(got.series[0].labels.cluster, 'eu1');
    assert.deepEqual(decodeWithOurs(body), decodeWithOurs(encode(normalRecord(), ext, metadata)));
    // The relayed samples are copied as received, and protobufjs wrote them as promspool does: same bytes.
    assert.equal(body.toString('hex'), encode(normalRecord(), ext, metadata).toString('hex'));
  });

  it('a relayed series cut to part of its samples encodes just those', () => {
    const raw = rawRecord();
    const slices = wholeSlices(raw);
    slices[0].sampleStart = 1;
    slices[0].sampleEnd = 3;
    const got = decodeV2WithProtobufjs(encode(raw, {}, [], slices));
    assert.deepEqual(
      got.series[0].samples.map((s) => [s.ts, s.bits]),
      [
        [1_700_000_015_000, STALE_NAN_BITS],
        [1_700_000_030_000, 0n],
      ],
    );
    assert.deepEqual(
      got.series.slice(1).map((s) => s.samples.length),
      [2, 1],
    );
  });

  /** 1.0 `Label` fields of `labels` (sorted by name), as write relabeling stores them. */
  function labelFields(labels: Record<string, string>): Uint8Array {
    const { WriteRequest } = remoteWriteProtos();
    // A TimeSeries with labels only, wrapped in a WriteRequest: strip the outer key and length.
    const body = WriteRequest.encode(
      WriteRequest.fromObject({
        timeseries: [
          {
            labels: Object.entries(labels)
              .sort((a, b) => compareUtf8(a[0], b[0]))
              .map(([name, value]) => ({ name, value })),
          },
        ],
      }),
    ).finish();
    let p = 1;
    while (body[p] & 0x80) p++;
    return body.subarray(p + 1);
  }

  it('a record with relabeled labels encodes the same series as the record with those labels', () => {
    const relabeledTo = { __name__: 'temperature', city: 'Zurich', cluster: 'eu1', region: 'ch' };
    const fields = labelFields(relabeledTo);
    const bytes = new Uint8Array(3 + fields.length);
    bytes.set(fields, 3); // not at offset 0, as in a shared buffer
    const rl: RelabeledLabels = {
      bytes,
      start: Int32Array.from([-1, 3, -1]),
      length: Int32Array.from([0, fields.length, 0]),
    };
    for (const base of [normalRecord(), rawRecord()]) {
      base.relabeled = rl;
      const got = decodeV2WithProtobufjs(encode(base, ext, metadata));
      const equivalent = normalRecord();
      const series = SERIES.map((s, i) => (i === 1 ? { ...s, labels: relabeledTo } : s));
      const plain = buildRecord(series);
      new BigUint64Array(plain.values.buffer)[STALE] = STALE_NAN_BITS;
      // The relabeled series' labels are final (external labels already applied by the rules).
      const expectedOthers = decodeV2WithProtobufjs(encode(equivalent, ext, metadata));
      const expectedRelabeled = decodeV2WithProtobufjs(encode(plain, {}, metadata, wholeSlices(plain).slice(1, 2)));
      assert.deepEqual(got.series[0], expectedOthers.series[0]);
      assert.deepEqual(got.series[1], expectedRelabeled.series[0]);
      assert.deepEqual(got.series[2], expectedOthers.series[2]);
      assert.deepEqual(got.metadata, [{ ...metadata[0] }]);
    }
  });
});
