// Prometheus 3's names through the daemon's receiver, run as the real CLI: UTF-8 metric and label
// names (the default `utf8` scheme), 2.0 label refs in any order, bytes that are not valid UTF-8,
// and `global.metric_name_validation_scheme: legacy`.
//
// Debian's Prometheus (2.42) predates UTF-8 names: it refuses `resource.cpu.usage` with a 400
// (that promspool would count as a drop). So where the names are UTF-8, the test asserts on what
// promspool sent, decoded by the fake receiver (test/helpers/fake-receiver.ts); legacy names go
// to the real Prometheus as well, and must be there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compressSync } from 'snappy';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { rawRequestV2, rawWriteRequestV1 } from '../helpers/raw-remote-write.js';
import { buildWriteRequestV1, buildWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  makeTempDir,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const T0 = Date.now() - 60_000;

/** Prometheus 3 names: OpenTelemetry dots, a non-Latin script, emoji, a `__` prefix. */
const UTF8_SERIES: SeriesInput[] = [
  { labels: { __name__: 'resource.cpu.usage', 'service.name': 'api', job: 'otel' }, samples: [[T0, 0.5]] },
  { labels: { __name__: 'http_requests_total', 'http.status_code': '200', job: 'otel' }, samples: [[T0, 7]] },
  { labels: { __name__: 'запросы_всего', 名前: '値', job: 'otel' }, samples: [[T0, 3]] },
  { labels: { __name__: '😀_total', '🔥': 'hot', __tenant__: 'a', job: 'otel' }, samples: [[T0, 1]] },
];

const WRITTEN = ['samples', 'histograms', 'exemplars'].map((k) => `x-prometheus-remote-write-${k}-written`);

/** The three X-Prometheus-Remote-Write-*-Written headers of an answer. */
function written(headers: Record<string, unknown>): unknown[] {
  return WRITTEN.map((h) => headers[h]);
}

function daemonYaml(
  port: number,
  dataDir: string,
  endpoints: { name: string; url: string; v2?: boolean }[],
  legacy = false,
) {
  const yaml = daemonConfigYaml(port, {
    dataDir,
    endpoints: endpoints.map((e) => ({
      name: e.name,
      url: e.url,
      ...(e.v2 ? { protobufMessage: 'io.prometheus.write.v2.Request' as const } : {}),
    })),
  });
  return legacy ? `${yaml}global:\n  metric_name_validation_scheme: legacy\n` : yaml;
}

describe('daemon: UTF-8 names (default scheme)', () => {
  let dir: TempDir;
  let v1: FakeReceiver;
  let v2: FakeReceiver;
  let daemon: DaemonProcess;

  before(async () => {
    dir = makeTempDir('promspool-utf8-');
    [v1, v2] = await Promise.all([startFakeReceiver(), startFakeReceiver()]);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonYaml(port, `${dir.path}/data`, [
          { name: 'a', url: v1.url },
          { name: 'b', url: v2.url },
        ]),
    });
  });
  after(async () => {
    await daemon?.stop();
    await Promise.all([v1?.close(), v2?.close()]);
    dir?.remove();
  });

  it('takes UTF-8 names in 1.0 (the relay path) and 2.0, and forwards them unchanged to every endpoint', async () => {
    const r1 = await postWrite(daemon.writeUrl, buildWriteRequestV1(UTF8_SERIES.slice(0, 2)));
    assert.equal(r1.status, 204, String(r1.body));
    const r2 = await postWrite(daemon.writeUrl, buildWriteRequestV2(UTF8_SERIES.slice(2)), '2.0');
    assert.equal(r2.status, 204, String(r2.body));
    assert.deepEqual(written(r2.headers), ['2', '0', '0']);
    for (const rx of [v1, v2]) {
      await rx.waitFor((r) => r.totalSamples >= UTF8_SERIES.length, 20_000);
      assert.deepEqual([...rx.received.keys()].sort(), UTF8_SERIES.map((s) => seriesKey(s.labels)).sort());
      for (const s of UTF8_SERIES)
        assert.deepEqual(
          rx.received.get(seriesKey(s.labels))?.map((x) => [x.ts, x.value]),
          s.samples,
        );
    }
  });

  it('2.0: label refs not sorted by name are sorted on receipt and sent sorted', async () => {
    const symbols = ['', 'job', 'otel', '__name__', 'unsorted.metric', 'a.b', 'x'];
    const body = rawRequestV2(symbols, [{ labelsRefs: [1, 2, 5, 6, 3, 4], samples: [{ value: 4, timestamp: T0 }] }]);
    const res = await postWrite(daemon.writeUrl, compressSync(Buffer.from(body)), '2.0');
    assert.equal(res.status, 204, String(res.body));
    assert.deepEqual(written(res.headers), ['1', '0', '0']);
    const key = seriesKey({ __name__: 'unsorted.metric', 'a.b': 'x', job: 'otel' });
    for (const rx of [v1, v2]) {
      await rx.waitFor((r) => r.received.has(key), 20_000);
      assert.deepEqual(
        rx.received.get(key)?.map((x) => [x.ts, x.value]),
        [[T0, 4]],
      );
    }
  });

  it('refuses a 2.0 request with a duplicate label name: 400 naming it, and nothing written', async () => {
    const body = rawRequestV2(
      ['', '__name__', 'dup', 'job', 'a', 'b'],
      [{ labelsRefs: [3, 4, 1, 2, 3, 5], samples: [{ value: 1, timestamp: T0 }] }],
    );
    const res = await postWrite(daemon.writeUrl, compressSync(Buffer.from(body)), '2.0');
    assert.equal(res.status, 400);
    assert.match(String(res.body), /duplicate label name "job" in series \{__name__="dup", job="a", job="b"\}/);
    assert.deepEqual(written(res.headers), ['0', '0', '0']);
  });

  it('refuses bytes that are not valid UTF-8 with a 400 naming the series, in 1.0 and 2.0', async () => {
    const bad1 = rawWriteRequestV1([
      {
        labels: [
          ['__name__', 'bad.utf8'],
          ['job', [0x61, 0xff]],
        ],
        samples: [[T0, 1]],
      },
    ]);
    const r1 = await postWrite(daemon.writeUrl, compressSync(Buffer.from(bad1)));
    assert.equal(r1.status, 400);
    assert.match(
      String(r1.body),
      /timeseries\[0\]: value of label "job" is not valid UTF-8, in series \{__name__="bad.utf8", job="a\uFFFD"\}/,
    );
    const bad2 = rawRequestV2(
      ['', '__name__', 'bad.utf8', [0x6a, 0xc3], 'x'],
      [{ labelsRefs: [1, 2, 3, 4], samples: [{ value: 1, timestamp: T0 }] }],
    );
    const r2 = await postWrite(daemon.writeUrl, compressSync(Buffer.from(bad2)), '2.0');
    assert.equal(r2.status, 400);
    assert.match(String(r2.body), /timeseries\[0\]: label name "j\uFFFD" \(symbol 3\) is not valid UTF-8, in series/);
    assert.deepEqual(written(r2.headers), ['0', '0', '0']);
  });
});

const skip = receiversSkipReason('prometheus');

describe('daemon: metric_name_validation_scheme legacy, to a real Prometheus', { skip }, () => {
  let dir: TempDir;
  let prom: PrometheusInstance;
  let fake: FakeReceiver;
  let daemon: DaemonProcess;

  before(async () => {
    dir = makeTempDir('promspool-legacy-');
    [prom, fake] = await Promise.all([startPrometheus(), startFakeReceiver()]);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonYaml(
          port,
          `${dir.path}/data`,
          [
            { name: 'prometheus', url: prom.writeUrl },
            { name: 'fake', url: fake.url },
          ],
          true,
        ),
    });
  });
  after(async () => {
    await daemon?.stop();
    await Promise.all([prom?.stop(), fake?.close()]);
    dir?.remove();
  });

  it('refuses UTF-8 names with a 400 saying the rule, in 1.0 and 2.0, and sends nothing of them', async () => {
    const r1 = await postWrite(daemon.writeUrl, buildWriteRequestV1([UTF8_SERIES[1]]));
    assert.equal(r1.status, 400);
    assert.match(
      String(r1.body),
      /invalid label name "http.status_code": must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*, in series \{__name__="http_requests_total", "http.status_code"="200", job="otel"\}/,
    );
    const r2 = await postWrite(
      daemon.writeUrl,
      buildWriteRequestV2([{ labels: { __name__: 'resource.cpu.usage', job: 'otel' }, samples: [[T0, 1]] }]),
      '2.0',
    );
    assert.equal(r2.status, 400);
    assert.match(
      String(r2.body),
      /invalid metric name __name__="resource.cpu.usage": must match \[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*/,
    );
    assert.deepEqual(written(r2.headers), ['0', '0', '0']);
  });

  it('delivers legacy names to the real Prometheus (and the same samples to the fake receiver)', async () => {
    const series: SeriesInput[] = [
      {
        labels: { __name__: 'legacy_gauge', job: 'names', i: '0' },
        samples: [
          [T0, 1],
          [T0 + 1000, 2],
        ],
      },
      { labels: { __name__: 'legacy:rule_total', job: 'names', i: '1' }, samples: [[T0, 5]] },
    ];
    assert.equal((await postWrite(daemon.writeUrl, buildWriteRequestV1([series[0]]))).status, 204);
    const r2 = await postWrite(daemon.writeUrl, buildWriteRequestV2([series[1]]), '2.0');
    assert.equal(r2.status, 204, String(r2.body));
    assert.deepEqual(written(r2.headers), ['1', '0', '0']);
    const fromProm = await waitUntil(() => prom.query('{job="names"}[10m]'), {
      until: (r) => r.reduce((n, s) => n + s.samples.length, 0) >= 3,
      timeoutMs: 30_000,
      intervalMs: 250,
      description: '3 samples of job="names" in Prometheus',
    });
    const got = fromProm
      .map((s) => ({ labels: s.metric, samples: s.samples.map((p) => [p.timestampMs, p.value]) }))
      .sort((a, b) => a.labels.i.localeCompare(b.labels.i));
    assert.deepEqual(got, series);
    await fake.waitFor((r) => r.totalSamples >= 3, 20_000);
    for (const s of series)
      assert.deepEqual(
        fake.received.get(seriesKey(s.labels))?.map((x) => [x.ts, x.value]),
        s.samples,
      );
  });
});
