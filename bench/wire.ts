/**
 * Remote-write wire throughput: `node dist/bench/wire.js [series]` (default 2,000 series x 10
 * labels x 1 sample, one request).
 *
 * Rows: promspool's hand-written 1.0 encoder vs protobufjs `encode` of ready-made message objects
 * (and of objects built from the record, which a protobufjs-based sender would also pay for);
 * promspool's visitor decoder vs protobufjs `decode`; snappy block compress/uncompress of the
 * encoded request. Each row runs for ~1 s after a warm-up; medians of 5 rounds.
 */
import { decodeWriteRequestV1 } from '../src/wire/rw1-decoder.js';
import { createWriteRequestEncoderV1 } from '../src/wire/rw1-encoder.js';
import { compressBlock, uncompressBlock } from '../src/wire/snappy.js';
import type { RemoteWriteVisitor } from '../src/wire/types.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../test/helpers/remote-write-client.js';
import { buildRecord, wholeSlices } from '../test/wire/record-builder.js';

const seriesCount = Number(process.argv[2] ?? 2000);
const series: SeriesInput[] = [];
for (let i = 0; i < seriesCount; i++) {
  series.push({
    labels: {
      __name__: `http_server_requests_seconds_${i % 50}`,
      cluster: 'eu-west-1-prod',
      namespace: `team-${i % 7}`,
      pod: `api-gateway-7d9f8b6c4-${(i * 7919).toString(36)}`,
      instance: `10.1.${(i >> 8) & 255}.${i & 255}:8080`,
      job: 'kubernetes-pods',
      method: ['GET', 'POST', 'PUT'][i % 3],
      status: ['200', '404', '500', '503'][i % 4],
      uri: `/api/v1/resource/${i % 97}`,
      le: String((i % 13) * 0.25),
    },
    samples: [[1_700_000_000_000 + i, i * 1.5]],
  });
}

function rate(name: string, unit: string, perRun: number, run: () => void): void {
  for (let i = 0; i < 20; i++) run();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < 0.2) {
      run();
      n++;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    }
    rounds.push((n * perRun) / elapsed);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[2];
  const shown =
    unit === 'MB/s'
      ? median.toFixed(0)
      : median >= 1e6
        ? `${(median / 1e6).toFixed(2)}M`
        : `${(median / 1e3).toFixed(0)}k`;
  console.log(`${name.padEnd(48)} ${shown.padStart(8)} ${unit}`);
}

const record = buildRecord(series);
const slices = wholeSlices(record);
const encoder = createWriteRequestEncoderV1({ externalLabels: {} });
const { WriteRequest } = remoteWriteProtos();
const ready = WriteRequest.fromObject(writeRequestV1Object(series));

const ours = Buffer.from(encoder.encode(slices, slices.length, []));
const theirs = Buffer.from(WriteRequest.encode(ready).finish());
if (!ours.equals(theirs)) throw new Error('encoders disagree: benchmark would compare different work');
console.log(
  `request: ${seriesCount} series x 10 labels x 1 sample = ${(ours.length / 1024).toFixed(0)} KiB uncompressed`,
);

rate('encode promspool rw1-encoder', 'series/s', seriesCount, () => {
  encoder.encode(slices, slices.length, []);
});
// Records the Serializer writes carry series ids: the encoder then copies cached label fields.
const withIds = { ...record, seriesIds: Uint32Array.from(series, (_s, i) => i), seriesIdScope: 1 };
const idSlices = wholeSlices(withIds);
const cachingEncoder = createWriteRequestEncoderV1({ externalLabels: { cluster: 'eu-west-1-prod', replica: 'a' } });
rate('encode promspool rw1-encoder (series ids, cache hits)', 'series/s', seriesCount, () => {
  cachingEncoder.encode(idSlices, idSlices.length, []);
});
rate('encode protobufjs (ready-made objects)', 'series/s', seriesCount, () => {
  WriteRequest.encode(ready).finish();
});
rate('encode protobufjs (objects built from input)', 'series/s', seriesCount, () => {
  WriteRequest.encode(WriteRequest.fromObject(writeRequestV1Object(series))).finish();
});

let sink = 0;
const visitor: RemoteWriteVisitor = {
  series(labels) {
    sink += labels.length;
  },
  sample(_ts, v) {
    sink += v;
  },
  histogram() {},
  exemplar() {},
  metadata() {},
};
rate('decode promspool rw1-decoder (visitor)', 'series/s', seriesCount, () => {
  decodeWriteRequestV1(ours, visitor);
});
rate('decode protobufjs', 'series/s', seriesCount, () => {
  WriteRequest.decode(ours);
});

const packed = compressBlock(ours);
console.log(
  `snappy: ${(packed.length / 1024).toFixed(0)} KiB compressed (${(ours.length / packed.length).toFixed(1)}x)`,
);
rate('snappy compressBlock', 'MB/s', ours.length / 1e6, () => {
  compressBlock(ours);
});
rate('snappy uncompressBlock', 'MB/s', ours.length / 1e6, () => {
  uncompressBlock(packed, 64 * 1024 * 1024);
});
if (sink === -1) console.log(sink);
