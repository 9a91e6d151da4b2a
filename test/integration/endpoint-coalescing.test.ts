// Records joined by the endpoint (several records of the same series sent as one TimeSeries per
// series with all their samples) reach a real Prometheus and a real VictoriaMetrics exactly:
// every sample, in timestamp order, with external labels merged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { Segment } from '../../src/filequeue/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { FakeFileQueue } from '../endpoint/fake-file-queue.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord } from '../wire/record-builder.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';
import { waitUntil } from './harness/wait.js';

const SERIES = 300;
const RECORDS = 6;
const STEP_MS = 15_000;

/** One segment of RECORDS records, each one sample of every series (as a scrape loop writes them). */
function coalescibleSegment(metric: string, t0: number): { seg: Segment; decode: (p: Uint8Array) => SignalRecord } {
  const records = new Map<Uint8Array, SignalRecord>();
  const payloads: Uint8Array[] = [];
  for (let k = 0; k < RECORDS; k++) {
    const rec = buildRecord(
      Array.from({ length: SERIES }, (_, i) => ({
        labels: { __name__: metric, i: String(i), job: 'coalesce' },
        hash: Math.imul(i + 1, 2654435761) >>> 0,
        samples: [[t0 + k * STEP_MS, i * 1000 + k]] as [number, number][],
      })),
    );
    rec.seriesIds = Uint32Array.from({ length: SERIES }, (_, i) => i);
    rec.seriesIdScope = 1;
    const token = new Uint8Array(1);
    records.set(token, rec);
    payloads.push(token);
  }
  return {
    seg: { id: 1, records: payloads, acked: new Map(), corruptRecords: 0 },
    decode: (p) => records.get(p)!,
  };
}

/** Sends the segment through a real endpoint (1.0 encoder, snappy, 2 shards); resolves once it is released. */
async function deliver(url: string, metric: string, t0: number): Promise<Endpoint> {
  const { seg, decode } = coalescibleSegment(metric, t0);
  const fq = new FakeFileQueue([seg]);
  const ep = createEndpoint({
    config: endpointConfig(url, { minShards: 2, maxSamplesPerSend: 500, batchSendDeadlineMs: 0 }),
    fileQueue: fq,
    ttlMs: 0,
    externalLabels: { cluster: 'eu1' },
    decodeRecord: decode,
    clock: systemClock,
  });
  await fq.waitForReleases(1);
  return ep;
}

function expectedTimestamps(t0: number): number[] {
  return Array.from({ length: RECORDS }, (_, k) => t0 + k * STEP_MS);
}

describe('records joined by the endpoint reach a real Prometheus', { skip: receiversSkipReason('prometheus') }, () => {
  let prom: PrometheusInstance;
  before(async () => {
    prom = await startPrometheus();
  });
  after(async () => {
    await prom?.stop();
  });

  it(`${SERIES} series x ${RECORDS} joined records: every sample, in order, external labels merged`, async () => {
    const t0 = Math.floor((Date.now() - 10 * 60_000) / 1000) * 1000;
    const ep = await deliver(prom.writeUrl, 'coalesce_prom', t0);
    try {
      const s = ep.stats();
      assert.equal(s.recordsCoalesced, RECORDS - 1);
      assert.equal(s.samples.sent, SERIES * RECORDS);
      assert.equal(s.samples.failed, 0);
      const raw = await waitUntil(() => prom.query('coalesce_prom[1h]'), {
        until: (r) => r.reduce((n, x) => n + x.samples.length, 0) >= SERIES * RECORDS,
        timeoutMs: 20_000,
        intervalMs: 200,
        description: `${SERIES * RECORDS} samples queryable`,
      });
      assert.equal(raw.length, SERIES);
      for (const x of raw) {
        const i = Number(x.metric.i);
        assert.deepEqual(x.metric, { __name__: 'coalesce_prom', i: String(i), job: 'coalesce', cluster: 'eu1' });
        assert.deepEqual(
          x.samples.map((p) => [p.timestampMs, p.value]),
          expectedTimestamps(t0).map((t, k) => [t, i * 1000 + k]),
          `samples of series ${i}`,
        );
      }
    } finally {
      await ep.stop({ timeoutMs: 0 });
    }
  });
});

describe('records joined by the endpoint reach a real VictoriaMetrics', {
  skip: receiversSkipReason('victoria-metrics'),
}, () => {
  let vm: VictoriaMetricsInstance;
  before(async () => {
    vm = await startVictoriaMetrics();
  });
  after(async () => {
    await vm?.stop();
  });

  it(`${SERIES} series x ${RECORDS} joined records: every sample, in order, external labels merged`, async () => {
    const t0 = Math.floor((Date.now() - 10 * 60_000) / 1000) * 1000;
    const ep = await deliver(vm.writeUrl, 'coalesce_vm', t0);
    try {
      assert.equal(ep.stats().recordsCoalesced, RECORDS - 1);
      const exported = await waitUntil(() => vm.exportSeries('{__name__="coalesce_vm"}'), {
        until: (r) => r.reduce((n, x) => n + x.values.length, 0) >= SERIES * RECORDS,
        timeoutMs: 20_000,
        intervalMs: 250,
        description: `${SERIES * RECORDS} samples exported`,
      });
      assert.equal(exported.length, SERIES);
      for (const x of exported) {
        const i = Number(x.metric.i);
        assert.deepEqual(x.metric, { __name__: 'coalesce_vm', i: String(i), job: 'coalesce', cluster: 'eu1' });
        assert.deepEqual(x.timestamps, expectedTimestamps(t0), `timestamps of series ${i}`);
        assert.deepEqual(
          x.values,
          expectedTimestamps(t0).map((_, k) => i * 1000 + k),
          `values of series ${i}`,
        );
      }
    } finally {
      await ep.stop({ timeoutMs: 0 });
    }
  });
});
