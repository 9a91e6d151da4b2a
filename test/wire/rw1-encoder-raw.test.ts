import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cutAndCount, VshardCounts } from '../../src/endpoint/record-shaping.js';
import { VIRTUAL_SHARDS, virtualShardOf } from '../../src/network/types.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import type { SeriesSlice } from '../../src/wire/types.js';
import { decodeV1WithProtobufjs } from '../helpers/fake-receiver.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../helpers/remote-write-client.js';
import { buildRecord, floatFromBits, STALE_NAN_BITS, wholeSlices } from './record-builder.js';

const SERIES: SeriesInput[] = [
  {
    labels: { __name__: 'http_requests_total', code: '200', instance: 'a:9100', job: 'api', method: 'GET' },
    samples: [
      [1_700_000_000_000, 10],
      [1_700_000_015_000, 0.125], // becomes the stale marker (STALE_SAMPLE)
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
  {
    labels: { __name__: 'http_requests_total', code: '500', instance: 'a:9100', job: 'api', method: 'GET' },
    samples: [
      [1_700_000_000_000, 1],
      [1_700_000_060_000, 2],
      [1_700_000_120_000, 3],
      [1_700_000_180_000, 4],
    ],
  },
];
const STALE_SAMPLE = 1;

type Obj = { timeseries: { samples: { value?: number }[] }[] };

/** The uncompressed 1.0 body protobufjs writes for `series`, the stale marker in place when the first is SERIES[0]. */
function originalBody(series: SeriesInput[] = SERIES): Uint8Array {
  const { WriteRequest } = remoteWriteProtos();
  const obj = writeRequestV1Object(series) as Obj;
  // An object property keeps the NaN's bits (an array of doubles would not).
  if (series[0] === SERIES[0]) obj.timeseries[0].samples[STALE_SAMPLE].value = floatFromBits(STALE_NAN_BITS);
  return WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
}

/** The body stored as a kind-2 record and read back. */
function rawRecord(series: SeriesInput[] = SERIES): SignalRecord {
  const body = originalBody(series);
  const scan = scanWriteRequestV1(body);
  assert.ok(scan, 'the scan accepts the body');
  const r = decodeRecord(encodeRawRecord(compressBlock(body), scan));
  assert.ok(r.rawSeries);
  return r;
}

/** The same series as a kind-1 record built by hand, the stale marker in place. */
function normalRecord(series: SeriesInput[] = SERIES): SignalRecord {
  const r = buildRecord(series);
  new BigUint64Array(r.values.buffer)[STALE_SAMPLE] = STALE_NAN_BITS;
  return r;
}

function slice(record: SignalRecord, series: number, sampleStart: number, sampleEnd: number): SeriesSlice {
  return {
    record,
    series,
    sampleStart,
    sampleEnd,
    histogramStart: 0,
    histogramEnd: 0,
    exemplarStart: 0,
    exemplarEnd: 0,
  };
}

function encode(slices: SeriesSlice[], externalLabels: Record<string, string> = {}): Buffer {
  // A copy: the encoder's output views its scratch buffer.
  return Buffer.from(createWriteRequestEncoderV1({ externalLabels }).encode(slices, slices.length, []));
}

describe('1.0 encoder on raw (kind 2) records', () => {
  it('writes whole series without external labels as the bytes received', () => {
    const r = rawRecord();
    assert.deepEqual(encode(wholeSlices(r)), Buffer.from(originalBody()));
    // Some of the series, in another order: their own bytes, one after the other.
    const parts = SERIES.map((s) => originalBody([s]));
    const slices = wholeSlices(r);
    assert.deepEqual(encode([slices[2], slices[0], slices[3]]), Buffer.concat([parts[2], parts[0], parts[3]]));
  });

  it("writes whole unchanged series without decoding the record's columns, with or without external labels", () => {
    const r = rawRecord();
    // Reading the columns of a relayed record decodes its whole body: nothing here may ask for them.
    const guarded = new Proxy(r, {
      get(target, key) {
        if (key === 'timestamps' || key === 'values') throw new Error(`record.${key} read`);
        return Reflect.get(target, key, target);
      },
    });
    assert.deepEqual(encode(wholeSlices(guarded)), Buffer.from(originalBody()));
    const ext = { cluster: 'a' };
    assert.deepEqual(encode(wholeSlices(guarded), ext), encode(wholeSlices(normalRecord()), ext));
  });

  it('with external labels, writes what it writes for the same series in a kind-1 record', () => {
    const ext = { cluster: 'a', zone: 'z1', A_first: 'x', job: 'ignored' };
    const raw = encode(wholeSlices(rawRecord()), ext);
    const normal = encode(wholeSlices(normalRecord()), ext);
    assert.deepEqual(raw, normal);
    const decoded = decodeV1WithProtobufjs(raw);
    assert.deepEqual(decoded.series[0].labels, { ...SERIES[0].labels, cluster: 'a', zone: 'z1', A_first: 'x' });
    assert.deepEqual(decoded.series[1].labels, { ...SERIES[1].labels, ...ext });
    assert.deepEqual(Object.keys(decoded.series[1].labels), [
      'A_first',
      '__name__',
      'city',
      'cluster',
      'job',
      'unit',
      'zone',
    ]);
    assert.equal(decoded.series[0].samples[STALE_SAMPLE].bits, STALE_NAN_BITS);
    assert.deepEqual(
      decoded.series[1].samples.map((s) => [s.ts, s.value]),
      [
        [-5, -273.15],
        [0, 21.5],
      ],
    );
  });

  it('writes a part of a series as its labels and exactly those samples', () => {
    for (const ext of [{}, { cluster: 'a' }] as Record<string, string>[]) {
      const r = rawRecord();
      const n = normalRecord();
      const first = [slice(r, 0, 0, 2), slice(r, 3, 9, 11)];
      const second = [slice(r, 0, 2, 4), slice(r, 3, 8, 9)];
      assert.deepEqual(encode(first, ext), encode([slice(n, 0, 0, 2), slice(n, 3, 9, 11)], ext));
      assert.deepEqual(encode(second, ext), encode([slice(n, 0, 2, 4), slice(n, 3, 8, 9)], ext));
      const a = decodeV1WithProtobufjs(encode(first, ext));
      assert.deepEqual(a.series[0].labels, { ...SERIES[0].labels, ...ext });
      assert.deepEqual(
        a.series[0].samples.map((s) => [s.ts, s.bits]),
        [
          [1_700_000_000_000, 0x4024000000000000n],
          [1_700_000_015_000, STALE_NAN_BITS],
        ],
      );
      assert.deepEqual(
        a.series[1].samples.map((s) => [s.ts, s.value]),
        [
          [1_700_000_120_000, 3],
          [1_700_000_180_000, 4],
        ],
      );
      const b = decodeV1WithProtobufjs(encode(second, ext));
      assert.deepEqual(
        b.series[0].samples.map((s) => [s.ts, s.bits]),
        [
          [1_700_000_030_000, 0n],
          [1_700_000_045_000, 0xbfe0000000000000n],
        ],
      );
      assert.deepEqual(
        b.series[1].samples.map((s) => [s.ts, s.value]),
        [[1_700_000_060_000, 2]],
      );
    }
  });

  it('writes the same bytes from its columns once the record is no longer intact', () => {
    const r = rawRecord();
    r.rawSeries!.intact = false;
    assert.deepEqual(encode(wholeSlices(r)), Buffer.from(originalBody()));
  });

  it('after a ttl cut by cutAndCount, writes only the samples kept', () => {
    const r = rawRecord();
    const counts = new VshardCounts();
    const cutoff = 1_700_000_015_000;
    cutAndCount(r, cutoff, counts);
    assert.equal(r.rawSeries!.intact, false);
    assert.deepEqual(Array.from(r.sampleOffsets), [0, 3, 3, 3, 6]);
    assert.equal(r.timestamps.length, 6);
    assert.equal(r.values.length, 6);

    const kept = new Map<number, number>();
    const cutByShard = new Map<number, number>();
    SERIES.forEach((s, i) => {
      const v = virtualShardOf(r.seriesHash[i]);
      const keep = (s.samples ?? []).filter(([t]) => t >= cutoff).length;
      kept.set(v, (kept.get(v) ?? 0) + keep);
      cutByShard.set(v, (cutByShard.get(v) ?? 0) + (s.samples ?? []).length - keep);
    });
    for (let v = 0; v < VIRTUAL_SHARDS; v++) {
      assert.equal(counts.after[v], kept.get(v) ?? 0, `after, vshard ${v}`);
      assert.equal(counts.cutSamples[v], cutByShard.get(v) ?? 0, `cut, vshard ${v}`);
      assert.equal(counts.before[v], (kept.get(v) ?? 0) + (cutByShard.get(v) ?? 0), `before, vshard ${v}`);
    }

    const slices = wholeSlices(r).filter((s) => s.sampleEnd > s.sampleStart);
    assert.deepEqual(
      slices.map((s) => s.series),
      [0, 3],
    );
    const out = encode(slices);
    const keptSeries: SeriesInput[] = [
      { labels: SERIES[0].labels, samples: SERIES[0].samples!.slice(1) },
      { labels: SERIES[3].labels, samples: SERIES[3].samples!.slice(1) },
    ];
    // The stale marker is now the first sample of series 0.
    const expected = buildRecord(keptSeries);
    new BigUint64Array(expected.values.buffer)[0] = STALE_NAN_BITS;
    assert.deepEqual(out, encode(wholeSlices(expected)));
    const decoded = decodeV1WithProtobufjs(out);
    assert.deepEqual(
      decoded.series.map((s) => s.samples.map((x) => x.ts)),
      [
        [1_700_000_015_000, 1_700_000_030_000, 1_700_000_045_000],
        [1_700_000_000_000, 1_700_000_060_000, 1_700_000_120_000, 1_700_000_180_000],
      ].map((ts) => ts.filter((t) => t >= cutoff)),
    );
    assert.equal(decoded.series[0].samples[0].bits, STALE_NAN_BITS);
  });

  it('leaves a raw record intact when the ttl cuts nothing', () => {
    for (const cutoff of [Number.NEGATIVE_INFINITY, -5]) {
      const r = rawRecord();
      const counts = new VshardCounts();
      cutAndCount(r, cutoff, counts);
      assert.equal(r.rawSeries!.intact, true);
      assert.deepEqual(Array.from(r.sampleOffsets), [0, 4, 6, 7, 11]);
      assert.equal(
        counts.after.reduce((a, b) => a + b, 0),
        11,
      );
      assert.equal(
        counts.cutSamples.reduce((a, b) => a + b, 0),
        0,
      );
      assert.deepEqual(encode(wholeSlices(r)), Buffer.from(originalBody()));
    }
  });
});
