import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NameValidationScheme } from '../../src/serialization/name-validation.js';
import { createSeriesRegistry, hashLabelPairs } from '../../src/serialization/series.js';
import type { HistogramEntry, Labels } from '../../src/serialization/types.js';
import { type RawWriteRequestScan, scanWriteRequestV1Js } from '../../src/wire/rw1-raw-scan.js';
import { createWasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';
import {
  remoteWriteProtos,
  type SeriesInput,
  sortedLabelPairs,
  writeRequestV1Object,
} from '../helpers/remote-write-client.js';
import { floatFromBits, STALE_NAN_BITS } from './record-builder.js';

/** The registry's hash of a label set: what the scan must compute from the bytes. */
function expectedHash(labels: Labels): number {
  return hashLabelPairs(sortedLabelPairs(labels).flat());
}

/** A 1.0 body from protobufjs; `patch` may edit the message object first (e.g. to put in exact NaN bits). */
function encodeV1(series: SeriesInput[], patch?: (obj: Obj) => void): Uint8Array {
  const { WriteRequest } = remoteWriteProtos();
  const obj = writeRequestV1Object(series) as Obj;
  patch?.(obj);
  return WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
}

type Obj = { timeseries: { labels: { name: string; value: string }[]; samples?: { value?: number }[] }[] };

/** A 1.0 body from protobufjs, from message objects as given (labels in the order given, no checks). */
function rawV1(timeseries: object[]): Uint8Array {
  const { WriteRequest } = remoteWriteProtos();
  return WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
}

// Hand-built protobuf, for shapes protobufjs will not write (field order, unknown fields, bad UTF-8).
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
function delimited(field: number, payload: number[]): number[] {
  return [(field << 3) | 2, ...varint(payload.length), ...payload];
}
function utf8(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}
function labelField(name: number[] | string, value: number[] | string): number[] {
  const n = typeof name === 'string' ? utf8(name) : name;
  const v = typeof value === 'string' ? utf8(value) : value;
  return delimited(1, [...delimited(1, n), ...delimited(2, v)]);
}
/** Sample with value 1.0 and a small positive timestamp, plus `extra` bytes inside it. */
function sampleField(ts: number, extra: number[] = []): number[] {
  return delimited(2, [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, ...varint(ts), ...extra]);
}
function body(...series: number[][]): Uint8Array {
  return Uint8Array.from(series.flatMap((ts) => delimited(1, ts)));
}

const TEN_LABELS = (i: number): Labels => ({
  __name__: `node_cpu_seconds_total`,
  cluster: 'eu-west-1',
  cpu: String(i),
  env: 'prod',
  instance: `10.0.0.${i}:9100`,
  job: 'node',
  mode: i % 2 === 0 ? 'idle' : 'user',
  namespace: 'monitoring',
  pod: `node-exporter-${i}`,
  region: 'eu',
});

type ScanFn = (body: Uint8Array, scheme?: NameValidationScheme) => RawWriteRequestScan | undefined;

const wasm = createWasmRelayScan();
if (wasm === undefined) throw new Error('WebAssembly is not available: the scan tests need it');

// Both scans answer every case below: the WebAssembly one (what the relay runs) and the
// JavaScript reference (for large bodies and where WebAssembly is unavailable).
const IMPLEMENTATIONS: [string, ScanFn][] = [
  ['WebAssembly', (body, scheme = 'utf8') => wasm.scan(body, scheme)],
  ['JavaScript', scanWriteRequestV1Js],
];

for (const [impl, scanWriteRequestV1] of IMPLEMENTATIONS) {
  /** A copy of the scan's result: its arrays view scratch buffers reused by the next scan. */
  const scan = (
    body: Uint8Array,
    scheme?: NameValidationScheme,
  ): { scan: RawWriteRequestScan; hashes: number[]; sampleCounts: number[] } | undefined => {
    const s = scanWriteRequestV1(body, scheme);
    if (s === undefined) return undefined;
    return { scan: s, hashes: Array.from(s.hashes), sampleCounts: Array.from(s.sampleCounts) };
  };

  describe(`scanWriteRequestV1 (${impl}): accepted requests`, () => {
    it('hashes like the registry for values of every length mod 4, multi-byte characters across word boundaries included', () => {
      const values = [
        'a',
        'ab',
        'abc',
        'abcd',
        'abcde',
        'abcdef',
        'abcdefg',
        'abcdefgh',
        'é',
        'aé',
        'abé',
        'abcé',
        'x😀y',
        '日本語のラベル',
        'Zürich-1',
        '😀😀',
      ];
      const series: SeriesInput[] = values.map((v, i) => ({
        labels: { __name__: 'm', k: String(i), v },
        samples: [[1, 1]],
      }));
      const got = scan(encodeV1(series));
      assert.ok(got, 'the scan accepts the body');
      assert.deepEqual(
        got.hashes,
        series.map((x) => expectedHash(x.labels)),
      );
    });

    it('counts series and samples, finds the timestamp range and hashes each series like the registry', () => {
      const series: SeriesInput[] = [
        {
          labels: TEN_LABELS(0),
          samples: [
            [1_700_000_000_000, 1.5],
            [1_700_000_015_000, 0],
            [1_700_000_030_000, 7],
          ],
        },
        {
          labels: TEN_LABELS(1),
          samples: [
            [-1_000, -2.5],
            [0, 3],
          ],
        },
        {
          labels: TEN_LABELS(2),
          samples: [
            [1_700_000_045_000, 1],
            [1_700_000_060_000, 2],
            [1_700_000_075_000, 3],
            [1_700_000_090_000, 4],
          ],
        },
      ];
      // Stale marker as the last sample of the first series, in an object property (bits survive).
      const b = encodeV1(series, (obj) => {
        obj.timeseries[0].samples![2].value = floatFromBits(STALE_NAN_BITS);
      });
      const got = scan(b);
      assert.ok(got);
      assert.equal(got.scan.series, 3);
      assert.equal(got.scan.samples, 9);
      assert.equal(got.scan.minTimestampMs, -1_000);
      assert.equal(got.scan.maxTimestampMs, 1_700_000_090_000);
      assert.deepEqual(got.sampleCounts, [3, 2, 4]);
      assert.deepEqual(
        got.hashes,
        series.map((s) => expectedHash(s.labels)),
      );
      const registry = createSeriesRegistry();
      assert.deepEqual(
        got.hashes,
        series.map((s) => registry.resolve({ ...s.labels }).hash),
      );
    });

    it('takes a series whose only sample has timestamp 0 and value 0 (both fields left out)', () => {
      const got = scan(encodeV1([{ labels: { __name__: 'z' }, samples: [[0, 0]] }]));
      assert.ok(got);
      assert.equal(got.scan.series, 1);
      assert.equal(got.scan.samples, 1);
      assert.equal(got.scan.minTimestampMs, 0);
      assert.equal(got.scan.maxTimestampMs, 0);
      assert.deepEqual(got.hashes, [expectedHash({ __name__: 'z' })]);
    });

    it('reads timestamps across the int64 range that matters (negative, 32-bit edges, far future)', () => {
      const stamps = [-1, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2 ** 32, 4_102_444_800_000, -62_135_596_800_000];
      const got = scan(
        encodeV1(stamps.map((t, i) => ({ labels: { __name__: 't', i: String(i) }, samples: [[t, 1]] }))),
      );
      assert.ok(got);
      assert.equal(got.scan.minTimestampMs, -62_135_596_800_000);
      assert.equal(got.scan.maxTimestampMs, 4_102_444_800_000);
      // Each series alone, so that every timestamp is seen as both the minimum and the maximum.
      for (const t of stamps) {
        const one = scan(encodeV1([{ labels: { __name__: 't' }, samples: [[t, 1]] }]));
        assert.ok(one);
        assert.equal(one.scan.minTimestampMs, t);
        assert.equal(one.scan.maxTimestampMs, t);
      }
    });

    it('accepts non-ASCII, well-formed UTF-8 label values with the registry hash', () => {
      const labels: Labels[] = [
        { __name__: 'weather', city: 'Zürich', sky: '☀️', word: '東京' },
        { __name__: 'emoji', face: '😀', mixed: 'a😀bçd' },
        { __name__: 'accents', v: 'é'.repeat(100) }, // 200 bytes: a two-byte length on the slow path
      ];
      const got = scan(encodeV1(labels.map((l) => ({ labels: l, samples: [[1, 1]] }))));
      assert.ok(got);
      assert.equal(got.scan.series, 3);
      assert.deepEqual(got.hashes, labels.map(expectedHash));
    });

    it('accepts a label value longer than 127 bytes (two-byte length varints)', () => {
      const labels: Labels = { __name__: 'long', a: 'x'.repeat(300), b: 'y' };
      const got = scan(encodeV1([{ labels, samples: [[5, 1]] }]));
      assert.ok(got);
      assert.deepEqual(got.hashes, [expectedHash(labels)]);
    });

    it('accepts metric names with colons and names with digits and underscores', () => {
      const labels: Labels = { __name__: 'job:rate5m:sum', _x9: 'a', A_1: 'b', __meta: 'c' };
      const got = scan(encodeV1([{ labels, samples: [[5, 1]] }]));
      assert.ok(got);
      assert.deepEqual(got.hashes, [expectedHash(labels)]);
    });

    it('keeps every hash right when the series outgrow its scratch arrays', () => {
      const series: SeriesInput[] = [];
      for (let i = 0; i < 5000; i++) series.push({ labels: { __name__: 's', i: String(i) }, samples: [[i, i]] });
      const got = scan(encodeV1(series));
      assert.ok(got);
      assert.equal(got.scan.series, 5000);
      assert.equal(got.scan.samples, 5000);
      assert.equal(got.hashes[0], expectedHash(series[0].labels));
      assert.equal(got.hashes[4095], expectedHash(series[4095].labels));
      assert.equal(got.hashes[4096], expectedHash(series[4096].labels));
      assert.equal(got.hashes[4999], expectedHash(series[4999].labels));
      assert.ok(got.sampleCounts.every((c) => c === 1));
    });

    it('reads the hand-built encoding used below the same way as protobufjs', () => {
      const b = body([
        ...labelField('__name__', 'up'),
        ...labelField('job', 'a'),
        ...sampleField(7),
        ...sampleField(9),
      ]);
      assert.deepEqual(
        Buffer.from(b),
        Buffer.from(
          encodeV1([
            {
              labels: { __name__: 'up', job: 'a' },
              samples: [
                [7, 1],
                [9, 1],
              ],
            },
          ]),
        ),
      );
      const got = scan(b);
      assert.ok(got);
      assert.deepEqual(got.sampleCounts, [2]);
    });
  });

  describe(`scanWriteRequestV1 (${impl}): UTF-8 names (Prometheus 3)`, () => {
    // Names only the utf8 scheme takes: the scan passes them through under utf8 (the default)
    // with the registry's hash, and leaves them to the decoder (which refuses them) under legacy.
    const utf8Only: [string, Labels][] = [
      ['an OpenTelemetry metric name', { __name__: 'resource.cpu.usage', job: 'a' }],
      ['a label name with dots', { __name__: 'http_requests_total', 'http.status_code': '200' }],
      ['a label name starting with a digit', { __name__: 'up', '1a': 'x' }],
      ['a label name with a dash', { __name__: 'up', 'a-b': 'x' }],
      ['a label name with a colon', { __name__: 'up', 'a:b': 'x' }],
      ['non-Latin names', { __name__: 'запросы', ünï: 'x', 名前: '値' }],
      ['emoji names', { __name__: '😀_total', '🔥': 'hot' }],
      ['a metric name with a dash', { __name__: 'a-b' }],
      ['a metric name starting with a digit', { __name__: '1abc' }],
      ['a name with a space', { __name__: 'up', 'a b': 'c' }],
    ];
    for (const [what, labels] of utf8Only) {
      it(`passes ${what} through under utf8 and not under legacy`, () => {
        const b = encodeV1([{ labels, samples: [[1, 1]] }]);
        const got = scan(b);
        assert.ok(got, 'utf8 takes it');
        assert.deepEqual(got.hashes, [expectedHash(labels)]);
        assert.deepEqual(got.hashes, [createSeriesRegistry().resolve({ ...labels }).hash]);
        assert.equal(scan(b, 'legacy'), undefined);
      });
    }

    it('keeps names sorted by bytes, UTF-8 names included (a dot sorts before letters, é after them)', () => {
      const lbl = (name: string, value: string) => ({ name, value });
      const labels: Labels = { __name__: 'm', 'a.b': '1', ab: '2', é: '3', z: '4' };
      assert.ok(scan(encodeV1([{ labels, samples: [[1, 1]] }])));
      const unsorted = rawV1([
        { labels: [lbl('__name__', 'm'), lbl('é', '3'), lbl('z', '4')], samples: [{ value: 1, timestamp: 1 }] },
      ]);
      assert.equal(scan(unsorted), undefined);
    });
  });

  describe(`scanWriteRequestV1 (${impl}): shapes it leaves to the full decoder`, () => {
    const ok: SeriesInput = { labels: { __name__: 'up', job: 'a' }, samples: [[1, 1]] };
    const histogram: HistogramEntry = {
      timestampMs: 10,
      histogram: {
        isFloat: false,
        count: 1,
        sum: 1,
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        positiveSpans: [{ offset: 0, length: 1 }],
        negativeSpans: [],
        positiveDeltas: [1],
        negativeDeltas: [],
        resetHint: 0,
      },
    };
    const sample = { value: 1, timestamp: 1 };
    const lbl = (name: string, value: string) => ({ name, value });

    const cases: [string, () => Uint8Array][] = [
      ['an empty body', () => new Uint8Array(0)],
      [
        'metadata',
        () => {
          const { WriteRequest } = remoteWriteProtos();
          const obj = writeRequestV1Object([ok], [{ metricFamilyName: 'up', type: 'gauge', help: 'h', unit: '' }]);
          return WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
        },
      ],
      [
        'an exemplar',
        () => encodeV1([ok, { ...ok, exemplars: [{ labels: { trace_id: 'a' }, value: 1, timestampMs: 1 }] }]),
      ],
      ['a histogram', () => encodeV1([ok, { labels: { __name__: 'h' }, samples: [[1, 1]], histograms: [histogram] }])],
      ['only a histogram', () => encodeV1([{ labels: { __name__: 'h' }, histograms: [histogram] }])],
      [
        'unsorted labels',
        () => rawV1([{ labels: [lbl('__name__', 'up'), lbl('b', '1'), lbl('a', '2')], samples: [sample] }]),
      ],
      [
        '__name__ after another label',
        () => rawV1([{ labels: [lbl('a', '1'), lbl('__name__', 'up')], samples: [sample] }]),
      ],
      [
        'duplicate label names',
        () => rawV1([{ labels: [lbl('__name__', 'up'), lbl('a', '1'), lbl('a', '2')], samples: [sample] }]),
      ],
      ['no __name__', () => encodeV1([ok, { labels: { job: 'a' }, samples: [[1, 1]] }])],
      [
        'a label name with byte 0xff',
        () => body([...labelField('__name__', 'up'), ...labelField([0x61, 0xff], 'x'), ...sampleField(1)]),
      ],
      [
        'a label name with an encoded lone surrogate',
        () => body([...labelField('__name__', 'up'), ...labelField([0xed, 0xa0, 0x80], 'x'), ...sampleField(1)]),
      ],
      [
        'a label name with a truncated UTF-8 sequence',
        () => body([...labelField('__name__', 'up'), ...labelField([...utf8('é'), 0xc3], 'x'), ...sampleField(1)]),
      ],
      ['a metric name with byte 0xfe', () => body([...labelField('__name__', [0x75, 0x70, 0xfe]), ...sampleField(1)])],
      ['an empty label value', () => rawV1([{ labels: [lbl('__name__', 'up'), lbl('a', '')], samples: [sample] }])],
      ['an empty label name', () => rawV1([{ labels: [lbl('', 'x'), lbl('__name__', 'up')], samples: [sample] }])],
      [
        'a label value with byte 0xff',
        () => body([...labelField('__name__', 'up'), ...labelField('a', [0x61, 0xff]), ...sampleField(1)]),
      ],
      [
        'a label value with an encoded lone surrogate',
        () => body([...labelField('__name__', 'up'), ...labelField('a', [0xed, 0xa0, 0x80]), ...sampleField(1)]),
      ],
      [
        'a long label value with a truncated UTF-8 sequence at its end',
        () =>
          body([
            ...labelField('__name__', 'up'),
            ...labelField('a', [...utf8('é'.repeat(100)), 0xc3]),
            ...sampleField(1),
          ]),
      ],
      [
        'an overlong UTF-8 encoding',
        () => body([...labelField('__name__', 'up'), ...labelField('a', [0xc0, 0xaf]), ...sampleField(1)]),
      ],
      ['a series with labels but no samples', () => encodeV1([ok, { labels: { __name__: 'up', job: 'b' } }])],
      ['an empty TimeSeries', () => body([...labelField('__name__', 'up'), ...sampleField(1)], [])],
      [
        'labels after a sample',
        () => body([...labelField('__name__', 'up'), ...sampleField(1), ...labelField('job', 'a'), ...sampleField(2)]),
      ],
      ['samples before labels', () => body([...sampleField(1), ...labelField('__name__', 'up')])],
      ['an unknown field in a Sample', () => body([...labelField('__name__', 'up'), ...sampleField(1, [0x18, 0x01])])],
      [
        'an unknown field in a TimeSeries',
        () => body([...labelField('__name__', 'up'), ...sampleField(1), 0x28, 0x01]),
      ],
      [
        'an unknown field in a Label',
        () =>
          body([
            ...delimited(1, [...delimited(1, utf8('__name__')), ...delimited(2, utf8('up')), 0x18, 0x01]),
            ...sampleField(1),
          ]),
      ],
      [
        'a Label with its value before its name',
        () =>
          body([...delimited(1, [...delimited(2, utf8('up')), ...delimited(1, utf8('__name__'))]), ...sampleField(1)]),
      ],
      ['an unknown top-level field', () => Uint8Array.from([...encodeV1([ok]), 0x28, 0x01])],
      [
        'a sample value cut short',
        () => body([...labelField('__name__', 'up'), ...delimited(2, [0x09, 0, 0, 0, 0, 0, 0xf0, 0x3f])]),
      ],
    ];

    for (const [name, build] of cases) {
      it(`returns undefined for ${name}, under either name scheme`, () => {
        assert.equal(scanWriteRequestV1(build()), undefined);
        assert.equal(scanWriteRequestV1(build(), 'legacy'), undefined);
      });
    }

    it('never throws on a prefix of a valid body, and finds fewer series in it', () => {
      const series: SeriesInput[] = [
        {
          labels: TEN_LABELS(3),
          samples: [
            [-5, 1],
            [0, 0],
            [1_700_000_000_000, 2],
          ],
        },
        { labels: { __name__: 'u', v: 'ü'.repeat(70) }, samples: [[1, 1]] },
        {
          labels: { __name__: 'long', a: 'x'.repeat(200) },
          samples: [
            [2, 3],
            [4, 5],
          ],
        },
      ];
      const full = encodeV1(series);
      const whole = scan(full);
      assert.ok(whole);
      assert.equal(whole.scan.series, 3);
      let accepted = 0;
      for (let n = 0; n < full.length; n++) {
        const s = scanWriteRequestV1(full.subarray(0, n));
        if (s === undefined) continue;
        accepted++;
        assert.ok(s.series < 3, `prefix of ${n} bytes: ${s.series} series`);
        assert.deepEqual(Array.from(s.hashes), whole.hashes.slice(0, s.series));
      }
      // Exactly the two prefixes ending at a series boundary pass.
      assert.equal(accepted, 2);
    });

    it('never throws on a body with any single byte changed', () => {
      const full = encodeV1([
        {
          labels: { __name__: 'up', job: 'a', v: 'ç' },
          samples: [
            [-5, 1],
            [7, 0],
          ],
        },
      ]);
      const copy = new Uint8Array(full.length);
      for (let i = 0; i < full.length; i++) {
        for (const v of [0x00, 0x0a, 0x12, 0x7f, 0x80, 0xff]) {
          copy.set(full);
          copy[i] = v;
          scanWriteRequestV1(copy);
        }
      }
    });
  });
}
