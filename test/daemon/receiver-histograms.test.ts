/**
 * Native histograms through the daemon's receiver: Prometheus' Histogram.Validate refusals are a
 * 400 naming the series, with nothing of the request committed; custom-bucket histograms (schema
 * -53) are accepted with their bounds, on the decoding path and on the relay path (whose scan
 * never stores histograms as received: they are decoded and checked like any other).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import type { HistogramEntry, NativeHistogram } from '../../src/serialization/types.js';
import { scanWriteRequestV1, scanWriteRequestV1Js } from '../../src/wire/rw1-raw-scan.js';
import { wasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';
import { encodeWriteRequestV1, encodeWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';
import { floatCustom, intCustom } from '../wire/custom-bucket-histograms.js';
import { FakeQueue } from './fake-queue.js';
import { postWrite, RW2_HEADERS } from './http-client.js';
import { testConfig } from './test-config.js';

async function start(
  relay: boolean,
  relayScanWorkers = 0,
): Promise<{ daemon: Daemon; queue: FakeQueue; write: string }> {
  const queue = new FakeQueue();
  queue.storesRawRequests = relay;
  const daemon = await startDaemon(testConfig('', 'receiver:\n  enabled: true\n'), {
    queueFactory: async () => queue,
    collectDefaultMetrics: false,
    relayScanWorkers,
  });
  return { daemon, queue, write: `${daemon.url}/api/v1/write` };
}

const LABELS = { __name__: 'rpc_duration_seconds', job: 'api' };
const SERIES_NAME = '{__name__="rpc_duration_seconds", job="api"}';

/** A valid sample series before the bad one: the 400 must leave it uncommitted too. */
const OK_SERIES: SeriesInput = { labels: { __name__: 'up', job: 'api' }, samples: [[1_700_000_000_000, 1]] };

function withHistogram(h: NativeHistogram, labels = LABELS): SeriesInput[] {
  return [OK_SERIES, { labels, histograms: [{ timestampMs: 1_700_000_000_000, histogram: h }] }];
}

/** Integer histogram: zero bucket 1, buckets 2 and 3: 6 observations. */
const exponential: NativeHistogram = {
  isFloat: false,
  count: 6,
  sum: 10,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  positiveSpans: [{ offset: 0, length: 2 }],
  negativeSpans: [],
  positiveDeltas: [2, 1],
  negativeDeltas: [],
  resetHint: 0,
};

/** Each with the message Prometheus' Validate gives for it. */
const REFUSED: [what: string, h: NativeHistogram, message: string][] = [
  [
    'count above the buckets with a sum that is not NaN',
    { ...exponential, count: 7 },
    "6 observations found in buckets, but the Count field is 7: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
  ],
  [
    'count below the buckets with a NaN sum',
    { ...exponential, count: 5, sum: Number.NaN },
    "6 observations found in buckets, but the Count field is 5: histogram's observation count should be at least the number of observations found in the buckets",
  ],
  [
    'a negative bucket count',
    { ...exponential, positiveDeltas: [2, -3] },
    'positive side: bucket number 2 has observation count of -1: histogram has a bucket whose observation count is negative',
  ],
  [
    'spans that need more buckets than given',
    { ...exponential, positiveSpans: [{ offset: 0, length: 3 }] },
    'positive side: spans need 3 buckets, have 2 buckets: histogram spans specify different number of buckets than provided',
  ],
  [
    'an invalid schema',
    { ...exponential, schema: 9 },
    'histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9',
  ],
  [
    'custom bounds not increasing',
    { ...intCustom.histogram, customValues: [1, 0.5, 2, 3, 4, 5] },
    'custom buckets: previous bound is 1.000000 and current is 0.500000: histogram custom bounds must be in strictly increasing order',
  ],
  [
    'custom buckets with a zero bucket',
    { ...intCustom.histogram, zeroCount: 1, count: 7 },
    'custom buckets: must have zero count of 0',
  ],
  [
    'custom bounds too few for the spans',
    { ...intCustom.histogram, customValues: [1, 2] },
    'custom buckets: only 2 custom bounds defined which is insufficient to cover total span length of 7: histogram custom bounds are too few',
  ],
];

for (const [path, relay, workers] of [
  ['decoding path', false, 0],
  ['relay path, scan on the event loop', true, 0],
  ['relay path, scan worker', true, 1],
] as const) {
  describe(`receiver: native histograms (${path})`, () => {
    let d: Awaited<ReturnType<typeof start>>;
    before(async () => {
      d = await start(relay, workers);
    });
    after(() => d.daemon.stop());

    for (const version of ['1.0', '2.0'] as const) {
      const post = (series: SeriesInput[]) =>
        version === '1.0'
          ? postWrite(d.write, encodeWriteRequestV1(series))
          : postWrite(d.write, encodeWriteRequestV2(series), RW2_HEADERS);

      test(`RW ${version}: 400 naming the series for each of Prometheus' Validate refusals, nothing committed`, async () => {
        for (const [what, h, message] of REFUSED) {
          const samples = d.queue.samples.length;
          const histograms = d.queue.histograms.length;
          const records = d.queue.records.length;
          const res = await post(withHistogram(h));
          assert.equal(res.status, 400, what);
          assert.equal(res.body.trim(), `invalid histogram for series ${SERIES_NAME}: ${message}`, what);
          assert.equal(d.queue.samples.length, samples, what);
          assert.equal(d.queue.histograms.length, histograms, what);
          assert.equal(d.queue.records.length, records, what);
        }
      });

      test(`RW ${version}: custom-bucket histograms are accepted and stored with their bounds`, async () => {
        const histograms = d.queue.histograms.length;
        const entries: HistogramEntry[] = [intCustom, floatCustom];
        const res = await post([{ labels: LABELS, histograms: entries }]);
        assert.equal(res.status, 204, res.body);
        assert.deepEqual(
          d.queue.histograms.slice(histograms),
          entries.map((e) => ({ labels: LABELS, timestampMs: e.timestampMs, histogram: e.histogram })),
        );
        assert.equal(d.queue.records.length, 0, 'never stored as received');
      });

      test(`RW ${version}: a NaN sum lets the count exceed the buckets (NaN observations)`, async () => {
        const res = await post(withHistogram({ ...exponential, count: 9, sum: Number.NaN }));
        assert.equal(res.status, 204, res.body);
      });
    }
  });
}

test('the relay scan (JavaScript and WebAssembly) passes every body with a histogram to the decoding path, where it is checked', () => {
  assert.notEqual(wasmRelayScan(), undefined, 'scanWriteRequestV1 runs the WebAssembly scan');
  for (const scan of [scanWriteRequestV1Js, scanWriteRequestV1]) {
    assert.notEqual(scan(encodeWriteRequestV1([OK_SERIES])), undefined, 'a sample series is stored as received');
    for (const h of [intCustom, floatCustom]) {
      assert.equal(scan(encodeWriteRequestV1([OK_SERIES, { labels: LABELS, histograms: [h] }])), undefined);
    }
  }
});
