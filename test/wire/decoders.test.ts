import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import type { HistogramEntry, MetadataEntry } from '../../src/serialization/types.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import {
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  remoteWriteProtos,
  requestV2Object,
  type SeriesInput,
  writeRequestV1Object,
} from '../helpers/remote-write-client.js';
import { mulberry32 as prng } from '../reliability/fuzz-random.js';
import { buildRecord, floatFromBits, STALE_NAN_BITS, wholeSlices } from './record-builder.js';
import { nullVisitor, recordingVisitor } from './visitor-recorder.js';

const intH: HistogramEntry = {
  timestampMs: 1_700_000_000_000,
  histogram: {
    isFloat: false,
    count: 12,
    sum: 12.5,
    schema: 3,
    zeroThreshold: 1e-128,
    zeroCount: 1,
    positiveSpans: [
      { offset: -2, length: 2 },
      { offset: 3, length: 1 },
    ],
    negativeSpans: [],
    positiveDeltas: [3, -1, 4],
    negativeDeltas: [],
    resetHint: 1,
  },
};
const floatH: HistogramEntry = {
  timestampMs: 1_700_000_000_500,
  histogram: {
    isFloat: true,
    count: 4.5,
    sum: 1,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [],
    negativeSpans: [{ offset: 1, length: 2 }],
    positiveCounts: [],
    negativeCounts: [2, 2.5],
    resetHint: 0,
  },
};

const series: SeriesInput[] = [
  {
    labels: { __name__: 'http_requests_total', code: '200', job: 'api' },
    // The stale marker is patched in as raw bits below: a JS array of doubles would quiet it
    // (0x7ff0000000000002 -> 0x7ff8000000000002) before any code under test runs.
    samples: [
      [1_700_000_000_000, 10],
      [1_700_000_015_000, 0],
      [-7, -0.5],
    ],
    exemplars: [{ labels: { trace_id: 'abc' }, value: 1.5, timestampMs: 1_700_000_000_001 }],
  },
  { labels: { __name__: 'latency', ünï: 'ç' }, histograms: [intH, floatH] },
];

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PromspoolError, `not a PromspoolError: ${err}`);
    assert.equal(err.code, 'ERR_BAD_REQUEST');
    assert.match(err.message, message);
    return true;
  });
}

type Obj = { timeseries: { samples?: { value?: number }[] }[] };

/** Puts the stale marker into the second sample of the first series, in an object property (bits survive). */
function withStale<T>(obj: T): T {
  (obj as Obj).timeseries[0].samples![1].value = floatFromBits(STALE_NAN_BITS);
  return obj;
}

function v1(series: object[]): Uint8Array {
  const { WriteRequest } = remoteWriteProtos();
  return WriteRequest.encode(WriteRequest.fromObject({ timeseries: series })).finish();
}

function v2(symbols: string[], timeseries: object[]): Uint8Array {
  const { RequestV2 } = remoteWriteProtos();
  return RequestV2.encode(RequestV2.fromObject({ symbols, timeseries })).finish();
}

describe('decodeWriteRequestV1', () => {
  it('round-trips what the protobufjs client builds, stale NaN bits included', () => {
    const metadata: MetadataEntry[] = [
      { metricFamilyName: 'latency', type: 'histogram', help: 'How long.', unit: 'seconds' },
    ];
    const vis = recordingVisitor();
    const { WriteRequest } = remoteWriteProtos();
    const body = WriteRequest.encode(
      WriteRequest.fromObject(withStale(writeRequestV1Object(series, metadata))),
    ).finish();
    const counts = decodeWriteRequestV1(body, vis);
    assert.deepEqual(counts, { series: 2, samples: 3, histograms: 2, exemplars: 1, metadata: 1 });
    const [a, b] = vis.series_;
    assert.deepEqual(a.labels, series[0].labels);
    assert.deepEqual(
      a.samples.map((s) => [s.ts, s.bits]),
      [
        [1_700_000_000_000, 0x4024000000000000n],
        [1_700_000_015_000, STALE_NAN_BITS],
        [-7, 0xbfe0000000000000n],
      ],
    );
    assert.deepEqual(a.exemplars, [{ labels: { trace_id: 'abc' }, value: 1.5, ts: 1_700_000_000_001 }]);
    assert.deepEqual(b.labels, { __name__: 'latency', ünï: 'ç' });
    assert.deepEqual(b.histograms, [
      { ts: intH.timestampMs, histogram: intH.histogram },
      { ts: floatH.timestampMs, histogram: floatH.histogram },
    ]);
    assert.deepEqual(vis.metadata_, metadata);
  });

  it('decodes what the promspool encoder writes, external labels included', () => {
    const record = buildRecord(series);
    new BigUint64Array(record.values.buffer)[1] = STALE_NAN_BITS;
    const enc = createWriteRequestEncoderV1({ externalLabels: { cluster: 'eu1' } });
    const vis = recordingVisitor();
    decodeWriteRequestV1(enc.encode(wholeSlices(record), 2, []), vis);
    assert.deepEqual(vis.series_[0].labels, { ...series[0].labels, cluster: 'eu1' });
    assert.equal(vis.series_[0].samples[1].bits, STALE_NAN_BITS);
    assert.deepEqual(vis.series_[1].histograms[0].histogram, intH.histogram);
  });

  it('returns the right strings when the interning cache overflows and evicts', () => {
    const many: SeriesInput[] = [];
    for (let i = 0; i < 20_000; i++)
      many.push({ labels: { __name__: 'm', id: `v${i}`, long: 'L'.repeat(60 + (i % 10)) } });
    for (let round = 0; round < 2; round++) {
      const vis = recordingVisitor();
      decodeWriteRequestV1(encodeWriteRequestV1(many), vis);
      assert.equal(vis.series_.length, 20_000);
      for (let i = 0; i < 20_000; i += 997) {
        assert.deepEqual(vis.series_[i].labels, many[i].labels);
      }
      assert.deepEqual(vis.series_[19_999].labels, many[19_999].labels);
    }
  });

  it('calls series() before the samples even when samples come first on the wire', () => {
    const { root } = remoteWriteProtos();
    const TS = root.lookupType('prometheus.TimeSeries');
    const samplesOnly = TS.encode(TS.fromObject({ samples: [{ value: 2, timestamp: 5 }] })).finish();
    const labelsOnly = TS.encode(TS.fromObject({ labels: [{ name: 'a', value: '1' }] })).finish();
    const body = Buffer.concat([Buffer.from([0x0a, samplesOnly.length + labelsOnly.length]), samplesOnly, labelsOnly]);
    const vis = recordingVisitor();
    decodeWriteRequestV1(body, vis);
    assert.deepEqual(vis.series_, [
      {
        labels: { a: '1' },
        createdTimestampMs: 0,
        samples: [{ ts: 5, value: 2, bits: 0x4000000000000000n }],
        histograms: [],
        exemplars: [],
      },
    ]);
  });

  it('rejects unsorted, duplicate, empty and missing labels', () => {
    const s = (labels: [string, string][]) => ({
      labels: labels.map(([name, value]) => ({ name, value })),
      samples: [{ value: 1, timestamp: 1 }],
    });
    badRequest(
      () =>
        decodeWriteRequestV1(
          v1([
            s([
              ['b', '1'],
              ['a', '2'],
            ]),
          ]),
          nullVisitor,
        ),
      /timeseries\[0\]: label names not sorted: "b" before "a"/,
    );
    badRequest(
      () =>
        decodeWriteRequestV1(
          v1([
            s([['a', '1']]),
            s([
              ['a', '1'],
              ['a', '2'],
            ]),
          ]),
          nullVisitor,
        ),
      /timeseries\[1\]: duplicate label name "a"/,
    );
    badRequest(() => decodeWriteRequestV1(v1([s([['', '1']])]), nullVisitor), /empty label name/);
    badRequest(() => decodeWriteRequestV1(v1([s([['a', '']])]), nullVisitor), /empty value for label "a"/);
    badRequest(() => decodeWriteRequestV1(v1([s([])]), nullVisitor), /series has no labels/);
  });

  it('rejects truncation, bad varints, wrong wire types and invalid UTF-8', () => {
    const good = encodeWriteRequestV1(series);
    badRequest(
      () => decodeWriteRequestV1(good.subarray(0, good.length - 3), nullVisitor),
      /runs past the end|truncated/,
    );
    badRequest(
      () => decodeWriteRequestV1(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), nullVisitor),
      /varint/,
    );
    badRequest(
      () =>
        decodeWriteRequestV1(
          Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
          nullVisitor,
        ),
      /varint/,
    );
    badRequest(
      () => decodeWriteRequestV1(Buffer.from([0x08, 0x01]), nullVisitor),
      /timeseries has wire type 0, expected 2/,
    );
    badRequest(() => decodeWriteRequestV1(Buffer.from([0x0b]), nullVisitor), /unsupported wire type 3/);
    badRequest(
      () => decodeWriteRequestV1(Buffer.from([0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x01, 0xff, 0x12, 0x00]), nullVisitor),
      /not valid UTF-8/,
    );
  });

  it('rejects inconsistent histograms', () => {
    const h = (m: object) => v1([{ labels: [{ name: 'a', value: 'b' }], histograms: [m] }]);
    badRequest(
      () => decodeWriteRequestV1(h({ countInt: 1, zeroCountFloat: 1 }), nullVisitor),
      /mixes integer and float/,
    );
    badRequest(
      () => decodeWriteRequestV1(h({ countFloat: 1, positiveDeltas: [1] }), nullVisitor),
      /float histogram carries integer/,
    );
    badRequest(
      () => decodeWriteRequestV1(h({ countInt: 1, positiveCounts: [1] }), nullVisitor),
      /integer histogram carries float/,
    );
    // Prometheus' Validate rules are the appender's (validateHistogram, naming the series by its
    // labels), one check for both decoders and the library: the decoders pass such histograms on.
    const vis = recordingVisitor();
    decodeWriteRequestV1(h({ countInt: 1, positiveSpans: [{ length: 2 }], positiveDeltas: [1], schema: 9 }), vis);
    assert.equal(vis.series_[0].histograms[0].histogram.schema, 9);
  });
});

describe('decodeWriteRequestV2', () => {
  it('round-trips what the protobufjs client builds', () => {
    const v2series: SeriesInput[] = [
      {
        ...series[0],
        metadata: { type: 'counter', help: 'All requests.', unit: '' },
        createdTimestampMs: 1_600_000_000_000,
      },
      series[1],
    ];
    const vis = recordingVisitor();
    const { RequestV2 } = remoteWriteProtos();
    const body = RequestV2.encode(RequestV2.fromObject(withStale(requestV2Object(v2series)))).finish();
    const counts = decodeWriteRequestV2(body, vis);
    assert.deepEqual(counts, { series: 2, samples: 3, histograms: 2, exemplars: 1, metadata: 1 });
    assert.deepEqual(vis.series_[0].labels, series[0].labels);
    assert.equal(vis.series_[0].createdTimestampMs, 1_600_000_000_000);
    assert.deepEqual(vis.series_[0].samples.map((s) => s.bits)[1], STALE_NAN_BITS);
    assert.deepEqual(vis.series_[0].exemplars, [{ labels: { trace_id: 'abc' }, value: 1.5, ts: 1_700_000_000_001 }]);
    assert.deepEqual(vis.series_[1].histograms, [
      { ts: intH.timestampMs, histogram: intH.histogram },
      { ts: floatH.timestampMs, histogram: floatH.histogram },
    ]);
    assert.deepEqual(vis.metadata_, [
      { metricFamilyName: 'http_requests_total', type: 'counter', help: 'All requests.', unit: '' },
    ]);
  });

  it('accepts unpacked labels_refs and symbols after the series', () => {
    const { root } = remoteWriteProtos();
    const TS = root.lookupType('io.prometheus.write.v2.TimeSeries');
    const tsBytes = Buffer.concat([
      Buffer.from([0x08, 1, 0x08, 2]), // labels_refs unpacked: 1, 2
      TS.encode(TS.fromObject({ samples: [{ value: 1, timestamp: 3 }] })).finish(),
    ]);
    const body = Buffer.concat([
      Buffer.from([0x2a, tsBytes.length]),
      tsBytes,
      Buffer.from([0x22, 0x00, 0x22, 0x01, 0x61, 0x22, 0x01, 0x62]), // symbols "", "a", "b"
    ]);
    const vis = recordingVisitor();
    decodeWriteRequestV2(body, vis);
    assert.deepEqual(vis.series_[0].labels, { a: 'b' });
    assert.deepEqual(
      vis.series_[0].samples.map((s) => [s.ts, s.value]),
      [[3, 1]],
    );
  });

  it('rejects bad symbol tables and label refs', () => {
    const sample = [{ value: 1, timestamp: 1 }];
    badRequest(
      () => decodeWriteRequestV2(v2(['', 'a', 'b'], [{ labelsRefs: [1, 7], samples: sample }]), nullVisitor),
      /labels_refs 7 out of range \(3 symbols\)/,
    );
    badRequest(
      () => decodeWriteRequestV2(v2(['x', 'a', 'b'], [{ labelsRefs: [1, 2], samples: sample }]), nullVisitor),
      /must start with the empty string/,
    );
    badRequest(
      () => decodeWriteRequestV2(v2(['', 'a', 'b'], [{ labelsRefs: [1, 2, 1], samples: sample }]), nullVisitor),
      /odd length 3/,
    );
    // Unsorted refs are sorted on receipt (test/wire/decoders-names.test.ts), duplicates refused.
    badRequest(
      () => decodeWriteRequestV2(v2(['', 'a', 'b'], [{ labelsRefs: [1, 2, 1, 2], samples: sample }]), nullVisitor),
      /duplicate label name "a" in series \{a="b", a="b"\}/,
    );
    badRequest(
      () => decodeWriteRequestV2(v2(['', 'a'], [{ labelsRefs: [0, 1], samples: sample }]), nullVisitor),
      /empty label name/,
    );
    badRequest(
      () => decodeWriteRequestV2(v2(['', 'a'], [{ labelsRefs: [1, 0], samples: sample }]), nullVisitor),
      /empty value for label "a"/,
    );
    badRequest(
      () => decodeWriteRequestV2(v2(['', 'a'], [{ labelsRefs: [1, 1], metadata: { helpRef: 5 } }]), nullVisitor),
      /help_ref 5 out of range/,
    );
    badRequest(
      () =>
        decodeWriteRequestV2(
          v2(['', 'a'], [{ labelsRefs: [1, 1], samples: sample, histograms: [{ countInt: 1 }] }]),
          nullVisitor,
        ),
      /both samples and histograms/,
    );
  });
});

describe('decoders under fuzzing', () => {
  it('never throw anything but ERR_BAD_REQUEST and always terminate', () => {
    const rand = prng(0x5eed);
    const seeds = [
      encodeWriteRequestV1(series, [{ metricFamilyName: 'm', type: 'gauge', help: 'h', unit: 'u' }]),
      encodeWriteRequestV2([{ ...series[0], metadata: { type: 'gauge', help: 'h', unit: '' } }, series[1]]),
    ];
    const started = Date.now();
    let rejected = 0;
    const cases = 4000;
    for (let i = 0; i < cases; i++) {
      let input: Uint8Array;
      if (i % 4 === 0) {
        input = new Uint8Array(Math.floor(rand() * 64));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256);
      } else {
        const seed = seeds[i % 2];
        input = Uint8Array.from(seed);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
        if (i % 3 === 0) input = input.subarray(0, Math.floor(rand() * input.length));
      }
      for (const decode of [decodeWriteRequestV1, decodeWriteRequestV2]) {
        try {
          decode(input, nullVisitor);
        } catch (err) {
          if (!(err instanceof PromspoolError) || err.code !== 'ERR_BAD_REQUEST') {
            assert.fail(`case ${i} (${Buffer.from(input).toString('hex')}) threw ${err}`);
          }
          rejected++;
        }
      }
    }
    // Mutations must mostly be caught: a validator that accepts everything would fail here.
    assert.ok(rejected > cases / 2, `only ${rejected} of ${cases * 2} decodes rejected`);
    assert.ok(Date.now() - started < 10_000, 'fuzzing took too long');
  });
});
