// Records joined by the endpoint (several records of the same series sent as one TimeSeries per
// series with all their samples) reach a real Prometheus and a real VictoriaMetrics exactly:
// every sample, in timestamp order, with external labels merged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
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

/** One series as a receiver returns it: its labels and its [timestamp, value] points in order. */
interface ReadSeries {
  labels: Record<string, string>;
  points: [number, number][];
}

/**
 * Sends the segment through a real endpoint (1.0 encoder, snappy, 2 shards, an external label) to
 * `url`, then reads `metric` back with `read` until every sample is there and checks each series.
 */
async function deliverAndReadBack(url: string, metric: string, read: () => Promise<ReadSeries[]>): Promise<void> {
  const t0 = Math.floor((Date.now() - 10 * 60_000) / 1000) * 1000;
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
  try {
    await fq.waitForReleases(1);
    const s = ep.stats();
    assert.equal(s.recordsCoalesced, RECORDS - 1);
    assert.equal(s.samples.sent, SERIES * RECORDS);
    assert.equal(s.samples.failed, 0);
    const got = await waitUntil(read, {
      until: (r) => r.reduce((n, x) => n + x.points.length, 0) >= SERIES * RECORDS,
      timeoutMs: 20_000,
      intervalMs: 250,
      description: `${SERIES * RECORDS} samples readable`,
    });
    assert.equal(got.length, SERIES);
    for (const x of got) {
      const i = Number(x.labels.i);
      assert.deepEqual(x.labels, { __name__: metric, i: String(i), job: 'coalesce', cluster: 'eu1' });
      assert.deepEqual(
        x.points,
        Array.from({ length: RECORDS }, (_, k) => [t0 + k * STEP_MS, i * 1000 + k]),
        `samples of series ${i}`,
      );
    }
  } finally {
    await ep.stop({ timeoutMs: 0 });
  }
}

const TITLE = `${SERIES} series x ${RECORDS} joined records: every sample, in order, external labels merged`;

describe('records joined by the endpoint reach a real Prometheus', { skip: receiversSkipReason('prometheus') }, () => {
  let prom: PrometheusInstance;
  before(async () => {
    prom = await startPrometheus();
  });
  after(async () => {
    await prom?.stop();
  });

  it(TITLE, () =>
    deliverAndReadBack(prom.writeUrl, 'coalesce_prom', async () =>
      (await prom.query('coalesce_prom[1h]')).map((x) => ({
        labels: x.metric,
        points: x.samples.map((p): [number, number] => [p.timestampMs, p.value]),
      })),
    ),
  );
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

  it(TITLE, () =>
    deliverAndReadBack(vm.writeUrl, 'coalesce_vm', async () =>
      (await vm.exportSeries('{__name__="coalesce_vm"}')).map((x) => ({
        labels: x.metric,
        points: x.timestamps.map((t, k): [number, number] => [t, x.values[k]!]),
      })),
    ),
  );
});
