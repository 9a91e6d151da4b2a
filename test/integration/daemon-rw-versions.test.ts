// Remote-write versions crossing the daemon (issue 19, item 3), as the real CLI:
// (1) 1.0 in -> 2.0 out -> 2.0 in -> 1.0 out: promspool A takes 1.0 pushes and sends 2.0 to
//     promspool B's receiver; B sends what it got as 1.0 to a recording receiver. Samples (stale
//     marker bits included, and a samples-only push that A stores as received), native histograms of
//     the three kinds, exemplars and metadata arrive exactly once, the hop A -> B in 2.0.
// (2) 2.0 in -> 1.0 out to Debian's Prometheus 2.42 (1.0 only): samples, integer and float
//     histograms and exemplars pushed as 2.0 are stored exactly (custom-bucket histograms and
//     received metadata are beyond 2.42; (1) checks them).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HistogramEntry, MetadataEntry } from '../../src/serialization/types.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, buildWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';
import { intCustom } from '../wire/custom-bucket-histograms.js';
import { floatFromBits, STALE_NAN_BITS } from '../wire/record-builder.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  labeledMetricValue,
  makeTempDir,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const V1 = 'prometheus.WriteRequest';
const V2 = 'io.prometheus.write.v2.Request';

async function metricsOf(daemon: DaemonProcess): Promise<string> {
  const res = await fetch(`${daemon.url}/metrics`);
  return res.text();
}

function intHistogram(ts: number): HistogramEntry {
  return {
    timestampMs: ts,
    histogram: {
      isFloat: false,
      count: 3,
      sum: 4.5,
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 1,
      positiveSpans: [{ offset: 0, length: 2 }],
      negativeSpans: [],
      positiveDeltas: [1, 0],
    },
  };
}

function floatHistogram(ts: number): HistogramEntry {
  return {
    timestampMs: ts,
    histogram: {
      isFloat: true,
      count: 2.5,
      sum: 3,
      schema: 1,
      zeroThreshold: 0.001,
      zeroCount: 0.5,
      positiveSpans: [{ offset: 1, length: 1 }],
      negativeSpans: [],
      positiveCounts: [2],
    },
  };
}

/** What a histogram is on the wire, for exact comparison (fields a decoder may fill in left out). */
function histogramShape(h: { ts: number; histogram: HistogramEntry['histogram'] }): unknown[] {
  const x = h.histogram;
  return [
    h.ts,
    x.isFloat,
    x.schema,
    x.count,
    x.sum,
    x.zeroCount,
    x.positiveSpans,
    x.isFloat ? x.positiveCounts : x.positiveDeltas,
    x.customValues ?? [],
  ];
}

describe('1.0 in -> 2.0 out (promspool A) -> 2.0 in -> 1.0 out (promspool B)', () => {
  let sink: FakeReceiver;
  let a: DaemonProcess;
  let b: DaemonProcess;
  let dirA: TempDir;
  let dirB: TempDir;

  before(async () => {
    sink = await startFakeReceiver();
    dirB = makeTempDir('rw-versions-b');
    b = await startDaemonProcess({
      dir: dirB.path,
      // 1.0 carries metadata in requests of its own, every metadata_config.send_interval (1m by default).
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: join(dirB.path, 'data'),
          endpoints: [{ name: 'sink', url: sink.url, protobufMessage: V1 }],
        }).replace(`    url: ${sink.url}\n`, `    url: ${sink.url}\n    metadata_config: { send_interval: 200ms }\n`),
    });
    dirA = makeTempDir('rw-versions-a');
    a = await startDaemonProcess({
      dir: dirA.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: join(dirA.path, 'data'),
          endpoints: [{ name: 'b', url: b.writeUrl, protobufMessage: V2 }],
        }),
    });
  });

  after(async () => {
    const exitA = await a?.stop();
    const exitB = await b?.stop();
    await sink?.close();
    dirA?.remove();
    dirB?.remove();
    assert.deepEqual(exitA, { code: 0, signal: null }, a?.tail());
    assert.deepEqual(exitB, { code: 0, signal: null }, b?.tail());
  });

  it('samples, stale markers, histograms of three kinds, exemplars and metadata arrive exactly once', async () => {
    const now = Date.now();
    const STALE = floatFromBits(STALE_NAN_BITS);
    const counter = { __name__: 'rwv_requests_total', job: 'api', code: '200' };
    const latency = { __name__: 'rwv_latency_seconds', job: 'api' };
    const hs = [intHistogram(now - 3000), floatHistogram(now - 2000), { ...intCustom, timestampMs: now - 1000 }];
    const series: SeriesInput[] = [
      {
        labels: counter,
        samples: [
          [now - 3000, 1],
          [now - 2000, 2.5],
          [now - 1000, STALE],
        ],
        exemplars: [
          { labels: { trace_id: 'abc' }, value: 2.5, timestampMs: now - 2000 },
          { labels: { trace_id: 'def', span_id: '12' }, value: 1, timestampMs: now - 3000 },
        ],
      },
      { labels: latency, histograms: hs },
    ];
    const metadata: MetadataEntry[] = [
      { metricFamilyName: 'rwv_requests_total', type: 'counter', help: 'Requests served.', unit: '' },
      { metricFamilyName: 'rwv_latency_seconds', type: 'histogram', help: 'Latency.', unit: 'seconds' },
    ];
    const res = await postWrite(a.writeUrl, buildWriteRequestV1(series, metadata));
    assert.equal(res.status, 204, res.body.toString());
    // Samples only, 20 series: A stores them as received (its relay route) and must still send 2.0.
    const relayed: SeriesInput[] = Array.from({ length: 20 }, (_x, i) => ({
      labels: { __name__: 'rwv_relayed', instance: `host-${i}:9100`, job: 'node' },
      samples: [
        [now - 2000, i],
        [now - 1000, i === 7 ? STALE : i + 0.5],
      ],
    }));
    const raw = await postWrite(a.writeUrl, buildWriteRequestV1(relayed));
    assert.equal(raw.status, 204, raw.body.toString());

    const samples = 3 + 2 * relayed.length;
    await sink
      .waitFor((r) => r.totalSamples >= samples && r.totalHistograms >= 3 && r.totalExemplars >= 2, 30_000)
      .catch((err) => {
        throw new Error(`${(err as Error).message}\nA:\n${a.tail()}\nB:\n${b.tail()}`);
      });

    // What B sent the sink: 1.0 (no proto parameter), everything exactly once.
    assert.doesNotMatch(String(sink.headersSeen['content-type']), /v2/);
    assert.equal(sink.headersSeen['x-prometheus-remote-write-version'], '0.1.0');
    assert.deepEqual(
      sink.received.get(seriesKey(counter))?.map((s) => [s.ts, s.bits]),
      [
        [now - 3000, new BigUint64Array(Float64Array.of(1).buffer)[0]],
        [now - 2000, new BigUint64Array(Float64Array.of(2.5).buffer)[0]],
        [now - 1000, STALE_NAN_BITS],
      ],
    );
    for (const [i, s] of relayed.entries()) {
      assert.deepEqual(
        sink.received.get(seriesKey(s.labels))?.map((x) => [x.ts, x.bits]),
        (s.samples ?? []).map(([t, v]) => [t, i === 7 && t === now - 1000 ? STALE_NAN_BITS : bitsOf(v)]),
        `relayed series ${i}`,
      );
    }
    assert.deepEqual(
      (sink.receivedHistograms.get(seriesKey(latency)) ?? []).map(histogramShape),
      hs.map((h) => histogramShape({ ts: h.timestampMs, histogram: h.histogram })),
    );
    assert.equal(sink.totalSamples, samples);
    assert.equal(sink.totalHistograms, 3);
    assert.equal(sink.totalExemplars, 2);
    assert.equal(sink.orderViolations, 0);
    // Metadata went inline in 2.0 from A to B, and B sends it as 1.0 metadata entries.
    await sink.waitFor((r) => r.metadata.length >= 2, 10_000);
    const families = new Map(sink.metadata.map((m) => [m.metricFamilyName, m]));
    assert.deepEqual(families.get('rwv_requests_total'), metadata[0]);
    assert.deepEqual(families.get('rwv_latency_seconds'), metadata[1]);

    // The hop A -> B was 2.0 throughout: no fallback, B answered with written counts.
    const ma = await metricsOf(a);
    assert.equal(labeledMetricValue(ma, 'promspool_remote_write_protocol', { protobuf_message: V2 }), 1);
    assert.equal(
      labeledMetricValue(ma, 'promspool_remote_write_protocol_fallbacks_total', { reason: 'unsupported_media_type' }),
      0,
    );
    assert.equal(
      labeledMetricValue(ma, 'promspool_remote_write_protocol_fallbacks_total', { reason: 'no_written_headers' }),
      0,
    );
    assert.equal(labeledMetricValue(ma, 'prometheus_remote_storage_samples_total', { remote_name: 'b' }), samples);
    assert.equal(labeledMetricValue(ma, 'prometheus_remote_storage_histograms_total', { remote_name: 'b' }), 3);
    assert.equal(labeledMetricValue(ma, 'prometheus_remote_storage_samples_failed_total', { remote_name: 'b' }), 0);
    assert.equal(
      labeledMetricValue(ma, 'promspool_receiver_requests_stored_as_received_total'),
      1,
      'the relay route was taken',
    );
    const mb = await metricsOf(b);
    assert.equal(labeledMetricValue(mb, 'promspool_receiver_samples_total', { type: 'sample' }), samples);
    assert.equal(labeledMetricValue(mb, 'promspool_receiver_samples_total', { type: 'histogram' }), 3);
    assert.equal(labeledMetricValue(mb, 'promspool_receiver_samples_total', { type: 'exemplar' }), 2);
    assert.equal(labeledMetricValue(mb, 'prometheus_remote_storage_samples_total', { remote_name: 'sink' }), samples);
    assert.equal(labeledMetricValue(mb, 'prometheus_remote_storage_histograms_total', { remote_name: 'sink' }), 3);
  });
});

function bitsOf(v: number): bigint {
  return new BigUint64Array(Float64Array.of(v).buffer)[0];
}

const skip = receiversSkipReason('prometheus');

describe('2.0 in -> 1.0 out to Debian’s Prometheus 2.42', { skip }, () => {
  let prom: PrometheusInstance;
  let daemon: DaemonProcess;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('rw-versions-prom');
    prom = await startPrometheus({ features: ['native-histograms', 'exemplar-storage'] });
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: join(dir.path, 'data'),
          endpoints: [{ name: 'prom', url: prom.writeUrl, protobufMessage: V1 }],
        }),
    });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await prom?.stop();
    dir?.remove();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon?.tail());
  });

  it('samples, integer and float histograms and exemplars pushed as 2.0 are stored exactly', async () => {
    const SERIES = 30;
    const SAMPLES = 4;
    const t0 = Date.now() - 5 * 60_000;
    const tsOf = (k: number) => t0 + k * 10_000;
    const series: SeriesInput[] = Array.from({ length: SERIES }, (_x, i) => ({
      labels: { __name__: 'rwv_in2', i: String(i), job: 'v2' },
      samples: Array.from({ length: SAMPLES }, (_y, k): [number, number] => [tsOf(k), i * 10 + k]),
      metadata: { type: 'gauge', help: 'Pushed as 2.0.', unit: '' },
      ...(i === 0 ? { exemplars: [{ labels: { trace_id: 'tr-1' }, value: 3, timestampMs: tsOf(3) }] } : {}),
    }));
    const hs = [intHistogram(tsOf(1)), floatHistogram(tsOf(2))];
    series.push({ labels: { __name__: 'rwv_in2_seconds', job: 'v2' }, histograms: hs });
    const res = await postWrite(daemon.writeUrl, buildWriteRequestV2(series), '2.0');
    assert.equal(res.status, 204, res.body.toString());
    assert.equal(res.headers['x-prometheus-remote-write-samples-written'], String(SERIES * SAMPLES));
    assert.equal(res.headers['x-prometheus-remote-write-histograms-written'], '2');
    assert.equal(res.headers['x-prometheus-remote-write-exemplars-written'], '1');

    const stored = await waitUntil(() => prom.query('rwv_in2[10m]'), {
      until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= SERIES * SAMPLES,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `${SERIES * SAMPLES} samples in Prometheus`,
    });
    assert.equal(stored.length, SERIES);
    for (const s of stored) {
      const i = Number(s.metric.i);
      assert.deepEqual(s.metric, { __name__: 'rwv_in2', i: String(i), job: 'v2' });
      assert.deepEqual(
        s.samples,
        Array.from({ length: SAMPLES }, (_y, k) => ({ timestampMs: tsOf(k), value: i * 10 + k })),
      );
    }
    const hist = await waitUntil(() => prom.query('rwv_in2_seconds[10m]'), {
      until: (r) => r.length === 1 && r[0].histograms.length >= 2,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: 'the two native histograms in Prometheus',
    });
    assert.deepEqual(
      hist[0].histograms.map((h) => [h.timestampMs, h.histogram.count, h.histogram.sum]),
      hs.map((h) => [h.timestampMs, h.histogram.count, h.histogram.sum]),
    );
    const ex = await waitUntil(
      () => prom.queryExemplars('rwv_in2', { startMs: t0 - 60_000, endMs: Date.now() + 60_000 }),
      { until: (r) => r.length >= 1, timeoutMs: 30_000, intervalMs: 250, description: 'the exemplar in Prometheus' },
    );
    assert.deepEqual(
      ex.map((e) => [e.seriesLabels.i, e.exemplars]),
      [['0', [{ labels: { trace_id: 'tr-1' }, value: 3, timestampMs: tsOf(3) }]]],
    );

    const m = await waitUntil(() => metricsOf(daemon), {
      until: (text) =>
        labeledMetricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: 'prom' }) ===
        SERIES * SAMPLES,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: 'the delivered samples counted',
    });
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_histograms_total', { remote_name: 'prom' }), 2);
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_exemplars_total', { remote_name: 'prom' }), 1);
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_samples_failed_total', { remote_name: 'prom' }), 0);
    assert.equal(labeledMetricValue(m, 'promspool_receiver_samples_total', { type: 'sample' }), SERIES * SAMPLES);
    assert.equal(labeledMetricValue(m, 'promspool_receiver_samples_total', { type: 'histogram' }), 2);
    assert.equal(labeledMetricValue(m, 'promspool_receiver_samples_total', { type: 'exemplar' }), 1);
  });
});
