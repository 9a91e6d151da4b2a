/**
 * Custom-bucket native histograms (schema -53, `custom_values` = 16) through the wire: both
 * decoders read them from bodies protobufjs builds with the official .proto files
 * (test/fixtures/proto), and the 1.0 encoder writes them back as protobufjs does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateHistogram } from '../../src/serialization/histogram-validation.js';
import type { HistogramEntry } from '../../src/serialization/types.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import { decodeV1WithProtobufjs } from '../helpers/fake-receiver.js';
import {
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  remoteWriteProtos,
  type SeriesInput,
} from '../helpers/remote-write-client.js';
import { BOUNDS, floatCustom, intCustom } from './custom-bucket-histograms.js';
import { buildRecord, wholeSlices } from './record-builder.js';
import { recordingVisitor } from './visitor-recorder.js';

const series: SeriesInput[] = [
  { labels: { __name__: 'rpc_duration_seconds', job: 'api' }, histograms: [intCustom, floatCustom] },
];

const bitsOf = (xs: number[] | undefined) => (xs ?? []).map((x) => new BigUint64Array(new Float64Array([x]).buffer)[0]);

describe('custom-bucket histograms on the wire', () => {
  it('pass Prometheus validation as built here', () => {
    for (const e of [intCustom, floatCustom]) assert.deepEqual(validateHistogram(e.histogram), e.histogram);
  });

  for (const [version, encode, decode] of [
    ['1.0', encodeWriteRequestV1, decodeWriteRequestV1],
    ['2.0', encodeWriteRequestV2, decodeWriteRequestV2],
  ] as const) {
    it(`are read from a ${version} body protobufjs built, custom values bit for bit`, () => {
      const vis = recordingVisitor();
      const counts = decode(encode(series), vis);
      assert.equal(counts.histograms, 2);
      const got = vis.series_[0].histograms;
      assert.deepEqual(got, [
        { ts: intCustom.timestampMs, histogram: intCustom.histogram },
        { ts: floatCustom.timestampMs, histogram: floatCustom.histogram },
      ]);
      assert.deepEqual(bitsOf(got[0].histogram.customValues), bitsOf(BOUNDS), '-0 stays -0');
    });
  }

  it('are read with custom_values unpacked (one fixed64 field each), as parsers must accept', () => {
    const { root } = remoteWriteProtos();
    const H = root.lookupType('prometheus.Histogram');
    const base = H.encode(
      H.fromObject({ countInt: 1, schema: -53, positiveSpans: [{ offset: 1, length: 1 }], positiveDeltas: [1] }),
    ).finish();
    const unpacked = Buffer.alloc(2 * 10);
    for (let i = 0; i < 2; i++) {
      unpacked[i * 10] = 0x81; // field 16, wire type 1
      unpacked[i * 10 + 1] = 0x01;
      unpacked.writeDoubleLE([0.5, 2][i], i * 10 + 2);
    }
    const hist = Buffer.concat([base, unpacked]);
    // Label {__name__="h"}, then the histogram.
    const lbl = Buffer.concat([
      Buffer.from([0x0a, 0x0d, 0x0a, 0x08]),
      Buffer.from('__name__'),
      Buffer.from([0x12, 0x01, 0x68]),
    ]);
    const ts = Buffer.concat([lbl, Buffer.from([0x22, hist.length]), hist]);
    const body = Buffer.concat([Buffer.from([0x0a, ts.length]), ts]);
    const vis = recordingVisitor();
    decodeWriteRequestV1(body, vis);
    assert.deepEqual(vis.series_[0].histograms[0].histogram.customValues, [0.5, 2]);
  });

  it('are written by the 1.0 encoder as protobufjs writes them: same custom values, counts, spans and bytes', () => {
    const record = buildRecord(series);
    const enc = createWriteRequestEncoderV1({ externalLabels: {} });
    const slices = wholeSlices(record);
    const ours = Buffer.from(enc.encode(slices, slices.length, []));
    assert.deepEqual(ours, Buffer.from(encodeWriteRequestV1(series)));
    const decoded = decodeV1WithProtobufjs(ours);
    const got = decoded.series[0].histograms;
    assert.deepEqual(got, [
      { ts: intCustom.timestampMs, histogram: intCustom.histogram },
      { ts: floatCustom.timestampMs, histogram: floatCustom.histogram },
    ]);
    assert.deepEqual(bitsOf(got[0].histogram.customValues), bitsOf(BOUNDS));
  });

  it('leave exponential histograms as they were written (no custom_values field)', () => {
    const { customValues: _, ...rest } = intCustom.histogram;
    const exp: HistogramEntry = { timestampMs: 5, histogram: { ...rest, schema: 0 } };
    const s: SeriesInput[] = [{ labels: { __name__: 'x' }, histograms: [exp] }];
    const record = buildRecord(s);
    const enc = createWriteRequestEncoderV1({ externalLabels: {} });
    const slices = wholeSlices(record);
    const ours = Buffer.from(enc.encode(slices, slices.length, []));
    assert.deepEqual(ours, Buffer.from(encodeWriteRequestV1(s)));
    assert.equal(ours.includes(Buffer.from([0x82, 0x01])), false);
  });
});
