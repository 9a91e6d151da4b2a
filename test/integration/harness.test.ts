// Proves the integration harness against the real receivers: a hand-built remote-write 1.0 request
// (independent of src/wire on purpose) goes in, and the exact samples come back out.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Root } from 'protobufjs';
import { compressSync } from 'snappy';
import { binaryOverrideVariable, findBinary, requireReceivers } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';
import { startPrometheus } from './harness/prometheus.js';
import { startVictoriaMetrics } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

// The subset of prometheus/prompb/{types,remote}.proto this test needs, field numbers as upstream.
const remoteWrite = Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 3 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        Exemplar: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            value: { type: 'double', id: 2 },
            timestamp: { type: 'int64', id: 3 },
          },
        },
      },
    },
  },
}).lookupType('prometheus.WriteRequest');

interface TestSeries {
  labels: Record<string, string>;
  samples: Array<{ timestampMs: number; value: number }>;
  exemplars?: Array<{ labels: Record<string, string>; value: number; timestampMs: number }>;
}

const toLabelList = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => ({ name, value }));

function encodeWriteRequest(series: TestSeries[]): Buffer {
  const message = remoteWrite.fromObject({
    timeseries: series.map((s) => ({
      labels: toLabelList(s.labels),
      samples: s.samples.map((p) => ({ value: p.value, timestamp: p.timestampMs })),
      exemplars: (s.exemplars ?? []).map((e) => ({
        labels: toLabelList(e.labels),
        value: e.value,
        timestamp: e.timestampMs,
      })),
    })),
  });
  return compressSync(Buffer.from(remoteWrite.encode(message).finish()));
}

async function postWrite(url: string, series: TestSeries[]): Promise<{ status: number; text: string }> {
  const res = await httpRequest(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    },
    body: encodeWriteRequest(series),
  });
  return { status: res.status, text: res.body.toString('utf8').trim() };
}

// Whole seconds keep the float-seconds API timestamps exact; a minute back stays inside the head window.
const now = Math.floor(Date.now() / 1000) * 1000;
const t0 = now - 60_000;
const fixture: TestSeries[] = [
  {
    labels: { __name__: 'harness_test_total', job: 'harness', instance: 'a' },
    samples: [
      { timestampMs: t0, value: 1 },
      { timestampMs: t0 + 15_000, value: 2.5 },
      { timestampMs: t0 + 30_123, value: -7 },
    ],
    exemplars: [{ labels: { trace_id: 'abc123' }, value: 2.5, timestampMs: t0 + 15_000 }],
  },
  {
    labels: { __name__: 'harness_test_total', job: 'harness', instance: 'b' },
    samples: [{ timestampMs: t0 + 1, value: 1e21 }],
  },
];

test('freePort returns a port that can be bound on 127.0.0.1', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536, `port ${port}`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('waitUntil returns the first accepted value and reports the last value on timeout', async () => {
  let calls = 0;
  assert.equal(await waitUntil(() => ++calls, { until: (n) => n === 3, intervalMs: 1 }), 3);
  let failCalls = 0;
  await assert.rejects(
    waitUntil(() => ({ seen: ++failCalls }), {
      until: () => false,
      timeoutMs: 30,
      intervalMs: 5,
      description: 'never',
    }),
    (err: Error) => {
      assert.match(
        err.message,
        /^waitUntil: never not met within 30 ms \(\d+ attempts\); last value: \{ seen: \d+ \}$/,
      );
      return true;
    },
  );
  await assert.rejects(
    waitUntil(
      () => {
        throw new Error('503 warming up');
      },
      { timeoutMs: 10, intervalMs: 5 },
    ),
    /last error: 503 warming up$/,
  );
});

test('a missing receiver fails the test under CI and skips it (with the apt-get hint) locally', (t) => {
  const override = binaryOverrideVariable('vmagent');
  assert.equal(override, 'PROMSPOOL_VMAGENT_BIN');
  const saved = { override: process.env[override], ci: process.env.CI };
  t.after(() => {
    for (const [name, value] of [
      [override, saved.override],
      ['CI', saved.ci],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  process.env[override] = '/nonexistent/vmagent';
  assert.equal(findBinary('vmagent'), undefined);
  let skipped: string | undefined;
  const fakeContext = { skip: (message: string) => (skipped = message) } as unknown as TestContext;

  process.env.CI = 'true';
  assert.throws(
    () => requireReceivers(fakeContext, 'vmagent'),
    /vmagent\. Install them with `sudo apt-get install -y --no-install-recommends victoria-metrics`.*CI is set/,
  );
  assert.equal(skipped, undefined);

  delete process.env.CI;
  assert.equal(requireReceivers(fakeContext, 'vmagent'), undefined);
  assert.match(skipped ?? '', /^integration receivers not found: vmagent\. Install them with/);
});

test('Prometheus stores a remote-write 1.0 request and returns the exact samples', async (t) => {
  if (!requireReceivers(t, 'prometheus')) return;
  const prom = await startPrometheus({ features: ['exemplar-storage'] });
  t.after(() => prom.stop());
  assert.ok(prom.readyAfterMs < 30_000);
  t.diagnostic(`prometheus ready after ${prom.readyAfterMs} ms`);

  const written = await postWrite(prom.writeUrl, fixture);
  assert.deepEqual(written, { status: 204, text: '' });

  // Visible straight after the 204: no polling.
  const result = await prom.query('harness_test_total[5m]', now);
  result.sort((a, b) => (a.metric.instance < b.metric.instance ? -1 : 1));
  assert.deepEqual(result, [
    {
      metric: { __name__: 'harness_test_total', job: 'harness', instance: 'a' },
      samples: fixture[0].samples,
      histograms: [],
    },
    {
      metric: { __name__: 'harness_test_total', job: 'harness', instance: 'b' },
      samples: fixture[1].samples,
      histograms: [],
    },
  ]);
  const latest = await prom.query('harness_test_total{instance="a"}', now);
  assert.deepEqual(latest[0].samples, [{ timestampMs: now, value: -7 }]);
  const series = await prom.series('{job="harness"}', { startMs: t0 - 1000, endMs: now });
  assert.equal(series.length, 2);
  const exemplars = await prom.queryExemplars('harness_test_total', { startMs: t0 - 1000, endMs: now });
  assert.deepEqual(exemplars, [
    {
      seriesLabels: { __name__: 'harness_test_total', job: 'harness', instance: 'a' },
      exemplars: [{ labels: { trace_id: 'abc123' }, value: 2.5, timestampMs: t0 + 15_000 }],
    },
  ]);

  // The documented time-window quirks: a sample older than the series' last is refused with 400,
  // and so is anything more than 1 h behind the newest sample in the head.
  const outOfOrder = await postWrite(prom.writeUrl, [
    { labels: fixture[0].labels, samples: [{ timestampMs: t0 + 1, value: 9 }] },
  ]);
  assert.equal(outOfOrder.status, 400);
  assert.match(outOfOrder.text, /out of order sample/);
  const tooOld = await postWrite(prom.writeUrl, [
    { labels: { __name__: 'harness_test_old' }, samples: [{ timestampMs: now - 2 * 3600_000, value: 1 }] },
  ]);
  assert.equal(tooOld.status, 400);
  assert.match(tooOld.text, /out of bounds/);
});

test('Prometheus with outOfOrderTimeWindow accepts old and out-of-order samples', async (t) => {
  if (!requireReceivers(t, 'prometheus')) return;
  const prom = await startPrometheus({ outOfOrderTimeWindow: '3h' });
  t.after(() => prom.stop());
  const labels = { __name__: 'harness_ooo' };
  assert.equal((await postWrite(prom.writeUrl, [{ labels, samples: [{ timestampMs: now, value: 3 }] }])).status, 204);
  const old = now - 2 * 3600_000;
  assert.equal((await postWrite(prom.writeUrl, [{ labels, samples: [{ timestampMs: old, value: 1 }] }])).status, 204);
  const result = await prom.query('harness_ooo[150m]', now);
  assert.deepEqual(result[0].samples, [
    { timestampMs: old, value: 1 },
    { timestampMs: now, value: 3 },
  ]);
});

test('VictoriaMetrics stores a remote-write 1.0 request and exports the exact samples', async (t) => {
  if (!requireReceivers(t, 'victoria-metrics')) return;
  const vm = await startVictoriaMetrics();
  t.after(() => vm.stop());
  t.diagnostic(`victoria-metrics ready after ${vm.readyAfterMs} ms`);

  const written = await postWrite(vm.writeUrl, fixture);
  assert.deepEqual(written, { status: 204, text: '' });
  await vm.flush();

  const exported = await vm.exportSeries('{__name__="harness_test_total"}');
  assert.deepEqual(exported, [
    {
      metric: { __name__: 'harness_test_total', instance: 'a', job: 'harness' },
      values: [1, 2.5, -7],
      timestamps: [t0, t0 + 15_000, t0 + 30_123],
    },
    { metric: { __name__: 'harness_test_total', instance: 'b', job: 'harness' }, values: [1e21], timestamps: [t0 + 1] },
  ]);
  const latest = await vm.query('harness_test_total{instance="a"}', now);
  assert.deepEqual(latest, [
    {
      metric: { __name__: 'harness_test_total', instance: 'a', job: 'harness' },
      samples: [{ timestampMs: now, value: -7 }],
      histograms: [],
    },
  ]);
});

test('Prometheus in agent mode becomes ready and forwards what it receives to remoteWriteUrl', async (t) => {
  if (!requireReceivers(t, 'prometheus', 'victoria-metrics')) return;
  const vm = await startVictoriaMetrics();
  t.after(() => vm.stop());
  const agent = await startPrometheus({ agent: true, remoteWriteUrl: vm.writeUrl });
  t.after(() => agent.stop());
  t.diagnostic(`prometheus agent ready after ${agent.readyAfterMs} ms`);
  await assert.rejects(agent.query('up'), /agent mode has no query API/);

  // Prometheus' remote-write queue skips samples stamped before the queue started, so stamp after ready.
  const sent = Date.now();
  const labels = { __name__: 'harness_relayed', job: 'harness' };
  const samples = [
    { timestampMs: sent, value: 10 },
    { timestampMs: sent + 1, value: 11 },
  ];
  assert.equal((await postWrite(agent.writeUrl, [{ labels, samples }])).status, 204);

  const startedWaiting = Date.now();
  const exported = await waitUntil(() => vm.exportSeries('harness_relayed'), {
    until: (s) => s[0]?.values.length === 2,
    timeoutMs: 15_000,
    intervalMs: 200,
    description: 'relayed samples',
  });
  t.diagnostic(`agent -> victoria-metrics delivery took ${Date.now() - startedWaiting} ms`);
  assert.deepEqual(exported, [{ metric: labels, values: [10, 11], timestamps: [sent, sent + 1] }]);
});

test('a server that fails to start rejects with its own error output', async (t) => {
  if (!requireReceivers(t, 'prometheus')) return;
  await assert.rejects(startPrometheus({ extraArgs: ['--no-such-flag'] }), (err: Error) => {
    assert.match(err.message, /prometheus .* exited with code \d+ before becoming ready/);
    assert.match(err.message, /no-such-flag/);
    return true;
  });
});
