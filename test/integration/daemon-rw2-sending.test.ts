// Remote-write 2.0 out, run as the real CLI. (1) promspool A sends 2.0 to promspool B's receiver,
// whose own endpoint sends 2.0 to the fake receiver: samples, histograms of all three kinds,
// exemplars and metadata (inline) arrive, and A never falls back. (2) promspool sends 2.0 to
// Debian's Prometheus 2.42, which predates 2.0: everything ends stored through 1.0, once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROTOCOL_STATE_FILE } from '../../src/network/protocol-negotiation.js';
import type { HistogramEntry, MetadataEntry } from '../../src/serialization/types.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import { intCustom } from '../wire/custom-bucket-histograms.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  labeledMetricValue,
  makeTempDir,
  metricValue,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const V2 = 'io.prometheus.write.v2.Request';

async function metricsOf(daemon: DaemonProcess): Promise<string> {
  const res = await fetch(`${daemon.url}/metrics`);
  return res.text();
}

function histograms(now: number): HistogramEntry[] {
  return [
    {
      timestampMs: now - 3000,
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
    },
    {
      timestampMs: now - 2000,
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
    },
    { ...intCustom, timestampMs: now - 1000 },
  ];
}

describe('remote-write 2.0 to promspool’s own receiver', () => {
  let sink: FakeReceiver;
  let a: DaemonProcess;
  let b: DaemonProcess;
  let dir: TempDir;
  let dirA: TempDir;

  before(async () => {
    dir = makeTempDir('rw2-send');
    sink = await startFakeReceiver();
    b = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: join(dir.path, 'data-b'),
          endpoints: [{ name: 'sink', url: sink.url, protobufMessage: V2 }],
        }),
    });
    dirA = makeTempDir('rw2-send-a');
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
    dir?.remove();
    dirA?.remove();
    assert.deepEqual(exitA, { code: 0, signal: null }, a?.tail());
    assert.deepEqual(exitB, { code: 0, signal: null }, b?.tail());
  });

  it('samples, native histograms (integer, float, custom buckets), exemplars and metadata arrive through 2.0 twice', async () => {
    const now = Date.now();
    const hs = histograms(now);
    const series: SeriesInput[] = [
      {
        labels: { __name__: 'rw2_requests_total', job: 'api' },
        samples: [
          [now - 3000, 1],
          [now - 2000, 2],
          [now - 1000, 3],
        ],
        exemplars: [{ labels: { trace_id: 'abc' }, value: 2, timestampMs: now - 2000 }],
      },
      { labels: { __name__: 'rw2_latency_seconds', job: 'api' }, histograms: hs },
    ];
    const metadata: MetadataEntry[] = [
      { metricFamilyName: 'rw2_requests_total', type: 'counter', help: 'Requests served.', unit: '' },
      { metricFamilyName: 'rw2_latency_seconds', type: 'histogram', help: 'Latency.', unit: 'seconds' },
    ];
    const res = await postWrite(a.writeUrl, buildWriteRequestV1(series, metadata));
    assert.equal(res.status, 204, res.body.toString());
    // Samples only: stored as received (the relay route), which a 2.0 endpoint must still encode as 2.0.
    const relayed = { __name__: 'rw2_relayed', job: 'api' };
    const raw = await postWrite(
      a.writeUrl,
      buildWriteRequestV1([
        {
          labels: relayed,
          samples: [
            [now - 2000, 7],
            [now - 1000, 8],
          ],
        },
      ]),
    );
    assert.equal(raw.status, 204, raw.body.toString());

    await sink
      .waitFor((r) => r.totalSamples >= 5 && r.totalHistograms >= 3 && r.totalExemplars >= 1, 20_000)
      .catch((err) => {
        throw new Error(`${(err as Error).message}\nA:\n${a.tail()}\nB:\n${b.tail()}`);
      });
    assert.deepEqual(
      sink.received.get(seriesKey({ __name__: 'rw2_requests_total', job: 'api' }))?.map((s) => [s.ts, s.value]),
      [
        [now - 3000, 1],
        [now - 2000, 2],
        [now - 1000, 3],
      ],
    );
    const got = sink.receivedHistograms.get(seriesKey({ __name__: 'rw2_latency_seconds', job: 'api' })) ?? [];
    assert.deepEqual(
      got.map((h) => [h.ts, h.histogram.isFloat, h.histogram.schema, h.histogram.count, h.histogram.sum]),
      hs.map((h) => [h.timestampMs, h.histogram.isFloat, h.histogram.schema, h.histogram.count, h.histogram.sum]),
    );
    assert.deepEqual(got[2].histogram.customValues, intCustom.histogram.customValues);
    assert.deepEqual(
      sink.received.get(seriesKey(relayed))?.map((s) => [s.ts, s.value]),
      [
        [now - 2000, 7],
        [now - 1000, 8],
      ],
    );
    assert.equal(sink.totalSamples, 5);
    assert.equal(sink.totalHistograms, 3);
    assert.equal(sink.totalExemplars, 1);
    // 2.0 metadata travels with each series: the sink's requests carried both families.
    const families = new Map(sink.metadata.map((m) => [m.metricFamilyName, m]));
    assert.deepEqual(families.get('rw2_requests_total'), metadata[0]);
    assert.deepEqual(families.get('rw2_latency_seconds'), metadata[1]);
    assert.match(String(sink.headersSeen['content-type']), /proto=io\.prometheus\.write\.v2\.Request/);
    assert.equal(sink.headersSeen['x-prometheus-remote-write-version'], '2.0.0');

    const m = await metricsOf(a);
    assert.equal(labeledMetricValue(m, 'promspool_remote_write_protocol', { protobuf_message: V2 }), 1);
    assert.equal(
      labeledMetricValue(m, 'promspool_remote_write_protocol_fallbacks_total', { reason: 'unsupported_media_type' }),
      0,
    );
    assert.equal(
      labeledMetricValue(m, 'promspool_remote_write_protocol_fallbacks_total', { reason: 'no_written_headers' }),
      0,
    );
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_samples_total', { remote_name: 'b' }), 5);
    assert.equal(
      metricValue(m, 'promspool_receiver_requests_stored_as_received_total'),
      1,
      'the samples-only push took the relay route',
    );
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_histograms_total', { remote_name: 'b' }), 3);
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_samples_failed_total', { remote_name: 'b' }), 0);
  });
});

const skip = receiversSkipReason('prometheus');

describe('remote-write 2.0 to Debian’s Prometheus 2.42 (1.0 only)', { skip }, () => {
  let prom: PrometheusInstance;
  let daemon: DaemonProcess;
  let dir: TempDir;
  let configYaml: (port: number) => string;

  before(async () => {
    dir = makeTempDir('rw2-fallback');
    prom = await startPrometheus({ features: ['native-histograms'] });
    configYaml = (port) =>
      daemonConfigYaml(port, {
        dataDir: join(dir.path, 'data'),
        endpoints: [{ name: 'prom', url: prom.writeUrl, protobufMessage: V2 }],
      });
    daemon = await startDaemonProcess({ dir: dir.path, configYaml });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await prom?.stop();
    dir?.remove();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon?.tail());
  });

  it('falls back to 1.0 and everything is stored exactly once', async () => {
    const SERIES = 50;
    const SAMPLES = 5;
    const t0 = Date.now() - 5 * 60_000;
    const tsOf = (k: number) => t0 + k * 10_000;
    const series: SeriesInput[] = Array.from({ length: SERIES }, (_, i) => ({
      labels: { __name__: 'rw2_fallback', i: String(i) },
      samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [tsOf(k), i * 10 + k]),
    }));
    const hs = histograms(Date.now());
    series.push({ labels: { __name__: 'rw2_fallback_seconds' }, histograms: hs.slice(0, 2) });
    const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(series));
    assert.equal(res.status, 204, res.body.toString());

    const stored = await waitUntil(() => prom.query('rw2_fallback[10m]'), {
      until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= SERIES * SAMPLES,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `${SERIES * SAMPLES} samples in Prometheus`,
    });
    assert.equal(stored.length, SERIES);
    for (const s of stored) {
      const i = Number(s.metric.i);
      assert.deepEqual(
        s.samples,
        Array.from({ length: SAMPLES }, (_, k) => ({ timestampMs: tsOf(k), value: i * 10 + k })),
      );
    }
    const hist = await waitUntil(() => prom.query('rw2_fallback_seconds[10m]'), {
      until: (r) => r.length === 1 && r[0].histograms.length >= 2,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: 'the two native histograms in Prometheus',
    });
    assert.deepEqual(
      hist[0].histograms.map((h) => [h.timestampMs, h.histogram.count, h.histogram.sum]),
      hs.slice(0, 2).map((h) => [h.timestampMs, h.histogram.count, h.histogram.sum]),
    );

    const m = await waitUntil(() => metricsOf(daemon), {
      until: (text) =>
        labeledMetricValue(text, 'prometheus_remote_storage_samples_total', { remote_name: 'prom' }) ===
        SERIES * SAMPLES,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: 'the delivered samples counted',
    });
    // Prometheus 2.42 ignores the 2.0 Content-Type, reads the body as an empty 1.0 request and
    // answers 204 without written headers: the spec's "treat as 415".
    assert.equal(
      labeledMetricValue(m, 'promspool_remote_write_protocol', { protobuf_message: 'prometheus.WriteRequest' }),
      1,
    );
    assert.equal(
      labeledMetricValue(m, 'promspool_remote_write_protocol_fallbacks_total', { reason: 'no_written_headers' }),
      1,
    );
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_samples_failed_total', { remote_name: 'prom' }), 0);
    assert.equal(labeledMetricValue(m, 'prometheus_remote_storage_histograms_total', { remote_name: 'prom' }), 2);
    assert.equal(daemon.tail(1000).match(/does not take protocol 2\.0/g)?.length, 1, daemon.tail());
    const stateFile = join(dir.path, 'data', 'prom', PROTOCOL_STATE_FILE);
    assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).protobufMessage, 'prometheus.WriteRequest');

    // A restart keeps 1.0 from the queue directory: no 2.0 request, no second fallback.
    assert.deepEqual(await daemon.stop(), { code: 0, signal: null }, daemon.tail());
    daemon = await startDaemonProcess({ dir: dir.path, configYaml });
    const later = Array.from({ length: SERIES }, (_, i) => ({
      labels: { __name__: 'rw2_after_restart', i: String(i) },
      samples: [[tsOf(0), i] as [number, number]],
    }));
    const res2 = await postWrite(daemon.writeUrl, buildWriteRequestV1(later));
    assert.equal(res2.status, 204, res2.body.toString());
    await waitUntil(() => prom.query('rw2_after_restart[10m]'), {
      until: (r) => r.length === SERIES,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `${SERIES} series after the restart in Prometheus`,
    });
    const m2 = await metricsOf(daemon);
    assert.equal(
      labeledMetricValue(m2, 'promspool_remote_write_protocol', { protobuf_message: 'prometheus.WriteRequest' }),
      1,
    );
    assert.equal(
      labeledMetricValue(m2, 'promspool_remote_write_protocol_fallbacks_total', { reason: 'no_written_headers' }),
      0,
    );
    assert.match(daemon.tail(1000), /sending 1\.0 as after an earlier fallback/);
  });
});
