/**
 * Remote-write 2.0 vs 1.0 encoding on the same records: `node dist/bench/wire-rw2.js [series]`
 * (default 10,000 series x 10 labels, with 1 and with 10 samples per series).
 *
 * Per case, both encoders encode the record's series in requests of at most 2,000 samples (the
 * default max_samples_per_send), with two external labels. Rows: encode ns per series (median of
 * 7 rounds of ~0.3 s of CPU time, the runners alternating round by round so machine load hits all alike), the
 * same with snappy compression of each request (the CPU of a send before HTTP), and
 * bytes per sample on the wire after snappy (and before). Each encoder runs twice: on records
 * without series ids (every label merged with the external ones and looked up) and with ids (their
 * label caches: what the Serializer's records get).
 *
 * A third case is the relay's: each request of 1.0 series received (encoded by the 1.0 encoder
 * without external labels, scanned and stored as a kind-2 record, as the daemon's receiver does)
 * forwarded as one request, as 1.0 (a copy of the received bytes) and as 2.0 (labels looked up
 * by their bytes, samples copied), without external labels, as bench/relay.ts runs the daemon.
 */
import { encodeRawRecord } from '../src/serialization/raw-record.js';
import { decodeRecord } from '../src/serialization/record-codec.js';
import type { SignalRecord } from '../src/serialization/types.js';
import { createWriteRequestEncoderV1 } from '../src/wire/rw1-encoder.js';
import { scanWriteRequestV1 } from '../src/wire/rw1-raw-scan.js';
import { createWriteRequestEncoderV2 } from '../src/wire/rw2-encoder.js';
import { compressBlock } from '../src/wire/snappy.js';
import type { SeriesSlice, WriteRequestEncoder } from '../src/wire/types.js';
import type { SeriesInput } from '../test/helpers/remote-write-client.js';
import { buildRecord, wholeSlices } from '../test/wire/record-builder.js';
import { printTable } from './lib/measure.js';

const seriesCount = Number(process.argv[2] ?? 10_000);
const MAX_SAMPLES_PER_SEND = 2000;
const EXTERNAL = { cluster: 'eu-west-1-prod', replica: 'a' };

function seriesOf(samplesPerSeries: number): SeriesInput[] {
  const out: SeriesInput[] = [];
  for (let i = 0; i < seriesCount; i++) {
    const samples: [number, number][] = [];
    for (let k = 0; k < samplesPerSeries; k++) samples.push([1_700_000_000_000 + k * 15_000 + (i % 1000), i * 10 + k]);
    out.push({
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
      samples,
    });
  }
  return out;
}

/** The slices cut into requests of at most MAX_SAMPLES_PER_SEND samples, whole series each. */
function requestsOf(slices: SeriesSlice[], samplesPerSeries: number): SeriesSlice[][] {
  const perRequest = Math.max(1, Math.floor(MAX_SAMPLES_PER_SEND / samplesPerSeries));
  const out: SeriesSlice[][] = [];
  for (let i = 0; i < slices.length; i += perRequest) out.push(slices.slice(i, i + perRequest));
  return out;
}

function encodeAll(enc: WriteRequestEncoder, requests: SeriesSlice[][]): number {
  let bytes = 0;
  for (const r of requests) bytes += enc.encode(r, r.length, []).length;
  return bytes;
}

/** What sending costs before the HTTP request: encoding and snappy. */
function encodeAndCompressAll(enc: WriteRequestEncoder, requests: SeriesSlice[][]): number {
  let bytes = 0;
  for (const r of requests) bytes += compressBlock(enc.encode(r, r.length, [])).length;
  return bytes;
}

function wireBytes(enc: WriteRequestEncoder, requests: SeriesSlice[][]): { raw: number; snappy: number } {
  let raw = 0;
  let snappy = 0;
  for (const r of requests) {
    const body = enc.encode(r, r.length, []);
    raw += body.length;
    snappy += compressBlock(body).length;
  }
  return { raw, snappy };
}

/**
 * CPU ns per series of each runner, rounds alternating between them. CPU time, not wall time: on
 * the shared 2-core machines a wall clock counts the time other processes ran.
 */
function timeAlternating(runs: (() => void)[], series: number): number[] {
  for (const run of runs) for (let i = 0; i < 5; i++) run();
  const rounds: number[][] = runs.map(() => []);
  const cpuNs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) * 1000;
  };
  for (let round = 0; round < 7; round++) {
    runs.forEach((run, j) => {
      let n = 0;
      const t0 = cpuNs();
      let elapsed = 0;
      while (elapsed < 0.3e9) {
        run();
        n++;
        elapsed = cpuNs() - t0;
      }
      rounds[j].push(elapsed / (n * series));
    });
  }
  return rounds.map((r) => r.sort((a, b) => a - b)[3]);
}

const rows: Record<string, string | number>[] = [];
for (const samplesPerSeries of process.env.WIRE_RW2_RELAY_ONLY ? [] : [1, 10]) {
  const series = seriesOf(samplesPerSeries);
  const record = buildRecord(series);
  const withIds = { ...record, seriesIds: Uint32Array.from(series, (_s, i) => i), seriesIdScope: 1 };
  const requests = requestsOf(wholeSlices(record), samplesPerSeries);
  const idRequests = requestsOf(wholeSlices(withIds), samplesPerSeries);
  const v1 = createWriteRequestEncoderV1({ externalLabels: EXTERNAL, labelCacheBytes: 0 });
  const v1cached = createWriteRequestEncoderV1({ externalLabels: EXTERNAL });
  const v2 = createWriteRequestEncoderV2({ externalLabels: EXTERNAL });
  const v2cached = createWriteRequestEncoderV2({ externalLabels: EXTERNAL });
  const [t1, t1c, t2, t2c, s1, s1c, s2, s2c] = timeAlternating(
    [
      () => encodeAll(v1, requests),
      () => encodeAll(v1cached, idRequests),
      () => encodeAll(v2, requests),
      () => encodeAll(v2cached, idRequests),
      () => encodeAndCompressAll(v1, requests),
      () => encodeAndCompressAll(v1cached, idRequests),
      () => encodeAndCompressAll(v2, requests),
      () => encodeAndCompressAll(v2cached, idRequests),
    ],
    seriesCount,
  );
  const b1 = wireBytes(v1, requests);
  const b2 = wireBytes(v2, requests);
  const samples = seriesCount * samplesPerSeries;
  const row = (name: string, ns: number, withSnappy: number, b: { raw: number; snappy: number }) => ({
    case: `${seriesCount} series x ${samplesPerSeries} sample${samplesPerSeries > 1 ? 's' : ''}, ${requests.length} requests`,
    encoder: name,
    'encode ns/series': ns,
    'encode ns/sample': ns / samplesPerSeries,
    'encode+snappy ns/sample': withSnappy / samplesPerSeries,
    'bytes/sample (snappy)': b.snappy / samples,
    'bytes/sample (raw)': b.raw / samples,
  });
  rows.push(
    row('1.0', t1, s1, b1),
    row('1.0 (series ids, label cache)', t1c, s1c, b1),
    row('2.0', t2, s2, b2),
    row('2.0 (series ids, label cache)', t2c, s2c, b2),
  );
  rows.push({
    case: '',
    encoder: '2.0 / 1.0',
    'encode ns/series': `${(t2 / t1).toFixed(2)}x (${(t2c / t1c).toFixed(2)}x cached)`,
    'encode ns/sample': '',
    'encode+snappy ns/sample': `${(s2 / s1).toFixed(2)}x (${(s2c / s1c).toFixed(2)}x cached)`,
    'bytes/sample (snappy)': `${(b2.snappy / b1.snappy).toFixed(2)}x`,
    'bytes/sample (raw)': `${(b2.raw / b1.raw).toFixed(2)}x`,
  });
}
// The relay's case: one stored kind-2 record per received request, forwarded whole.
{
  const samplesPerSeries = 1;
  const series = seriesOf(samplesPerSeries);
  const plain = createWriteRequestEncoderV1({ externalLabels: {}, labelCacheBytes: 0 });
  const received: SignalRecord[] = [];
  for (const r of requestsOf(wholeSlices(buildRecord(series)), samplesPerSeries)) {
    const body = Buffer.from(plain.encode(r, r.length, []));
    const scan = scanWriteRequestV1(body);
    if (!scan) throw new Error('wire-rw2 bench: the raw scan refused a 1.0 body');
    received.push(decodeRecord(encodeRawRecord(compressBlock(body), scan)));
  }
  const requests = received.map((r) => wholeSlices(r));
  const v1 = createWriteRequestEncoderV1({ externalLabels: {} });
  const v2 = createWriteRequestEncoderV2({ externalLabels: {} });
  const [t1, t2, s1, s2] = timeAlternating(
    [
      () => encodeAll(v1, requests),
      () => encodeAll(v2, requests),
      () => encodeAndCompressAll(v1, requests),
      () => encodeAndCompressAll(v2, requests),
    ],
    seriesCount,
  );
  const b1 = wireBytes(v1, requests);
  const b2 = wireBytes(v2, requests);
  const row = (name: string, ns: number, withSnappy: number, b: { raw: number; snappy: number }) => ({
    case: `relayed: ${seriesCount} series x 1 sample, ${requests.length} requests`,
    encoder: name,
    'encode ns/series': ns,
    'encode ns/sample': ns,
    'encode+snappy ns/sample': withSnappy,
    'bytes/sample (snappy)': b.snappy / seriesCount,
    'bytes/sample (raw)': b.raw / seriesCount,
  });
  rows.push(row('1.0 (received bytes copied)', t1, s1, b1), row('2.0 (labels by bytes)', t2, s2, b2), {
    case: '',
    encoder: '2.0 / 1.0',
    'encode ns/series': `${(t2 / t1).toFixed(2)}x`,
    'encode ns/sample': '',
    'encode+snappy ns/sample': `${(s2 / s1).toFixed(2)}x`,
    'bytes/sample (snappy)': `${(b2.snappy / b1.snappy).toFixed(2)}x`,
    'bytes/sample (raw)': `${(b2.raw / b1.raw).toFixed(2)}x`,
  });
}
printTable(rows);
