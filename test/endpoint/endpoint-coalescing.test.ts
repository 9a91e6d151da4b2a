import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import { PromspoolError } from '../../src/errors.js';
import type { Segment } from '../../src/filequeue/types.js';
import { VIRTUAL_SHARDS } from '../../src/network/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord, zeroBucketHistogram } from '../wire/record-builder.js';
import { FakeFileQueue } from './fake-file-queue.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Series ids 0..19 spread over 20 virtual shards. */
const A = Array.from({ length: 20 }, (_, i) => i);
const B = Array.from({ length: 20 }, (_, i) => 100 + i);
const hashOf = (id: number) => ((Math.imul(id + 1, 2654435761) >>> 0) & ~(VIRTUAL_SHARDS - 1)) | (id % 20);

/** One sample per series, at `t`, value `t`, as an application appending the same series each interval writes. */
function record(ids: number[], t: number, extra?: (rec: SignalRecord) => void): SignalRecord {
  const rec = buildRecord(
    ids.map((id) => ({ labels: { __name__: 'm', id: String(id) }, hash: hashOf(id), samples: [[t, t]] })),
  );
  rec.seriesIds = Uint32Array.from(ids);
  rec.seriesIdScope = 42;
  extra?.(rec);
  return rec;
}

describe('Endpoint coalescing records of the same series', () => {
  let receiver: FakeReceiver | undefined;
  let endpoint: Endpoint | undefined;
  afterEach(async () => {
    await endpoint?.stop({ timeoutMs: 0 });
    endpoint = undefined;
    await receiver?.close();
    receiver = undefined;
  });

  /** Runs `segs` through an endpoint with the real 1.0 encoder; returns every received TimeSeries as [id, timestamps]. */
  async function deliver(
    segs: Segment[],
    ttlMs = 0,
    clockMs = T0,
  ): Promise<{ fq: FakeFileQueue; series: [string, number[]][] }> {
    receiver = await startFakeReceiver();
    const series: [string, number[]][] = [];
    receiver.script((req) => {
      for (const s of req.series) series.push([s.labels.id!, s.samples.map((x) => x.ts)]);
      return { status: 204 };
    });
    const fq = new FakeFileQueue(segs);
    endpoint = createEndpoint({
      config: endpointConfig(receiver.url, { minShards: 2, maxSamplesPerSend: 1000, batchSendDeadlineMs: 0 }),
      fileQueue: fq,
      ttlMs,
      externalLabels: {},
      decodeRecord: (p) => {
        const r = recordOf(p);
        if (r === 'corrupt') throw new PromspoolError('ERR_CORRUPT_RECORD', 'bad record');
        return r;
      },
      clock: new SimulatedClock(clockMs),
    });
    await fq.waitForReleases(segs.length);
    return { fq, series };
  }

  it('sends the records of one segment holding the same series as one TimeSeries per series, samples in order', async () => {
    // Metadata in a record joined to an earlier one still reaches the endpoint's metadata.
    const recs = [0, 1, 2, 3, 4].map((k) =>
      record(A, 1000 + k, (rec) => {
        if (k === 2) rec.metadata.push({ metricFamilyName: 'm', type: 'counter', help: 'h', unit: '' });
      }),
    );
    const { fq, series } = await deliver([seg(1, recs)]);
    assert.equal(series.length, 20, 'one TimeSeries per series');
    for (const [, ts] of series) assert.deepEqual(ts, [1000, 1001, 1002, 1003, 1004]);
    assert.deepEqual(new Set(series.map(([id]) => id)).size, 20);
    // Every record's portion of every shard is acknowledged, once.
    const acks = fq.acks.map((a) => a.join('/')).sort();
    const expected = recs.flatMap((_, r) => A.map((id) => `1/${r}/${id % 20}`)).sort();
    assert.deepEqual(acks, expected);
    const s = endpoint!.stats();
    assert.equal(s.samples.sent, 100);
    assert.equal(s.portionsSent, 100);
    assert.equal(s.recordsCoalesced, 4);
    assert.equal(s.metadataFamilies, 1);
    assert.equal(s.pendingSignals, 0);
  });

  it('ends a run at other series, a histogram, a damaged record, or a record acked in an earlier run', async () => {
    const withHistogram = (rec: SignalRecord) => {
      rec.histograms.push(zeroBucketHistogram(1010));
      rec.histogramOffsets.fill(1, 1);
    };
    const segs = [
      seg(
        1,
        [
          record(A, 1000), // r0 \ one run
          record(A, 1001), // r1 /
          record(B, 1002), // r2 \ one run: other series than r1
          record(B, 1003), // r3 /
          null, // r4 CRC failure
          record(B, 1005), // r5 alone: r6 does not decode
          'corrupt', // r6
          record(B, 1007), // r7 alone: r8 was acked in an earlier run
          record(B, 1008), // r8 alone: acked before (shard 3), so it starts no run either
          record(B, 1009), // r9 alone: r10 has a histogram
          record(B, 1010, withHistogram), // r10
        ],
        [[8, [3]]],
      ),
    ];
    const { fq, series } = await deliver(segs);
    const byId = new Map<string, number[][]>();
    for (const [id, ts] of series) byId.set(id, [...(byId.get(id) ?? []), ts]);
    for (const id of A) assert.deepEqual(byId.get(String(id)), [[1000, 1001]], `series ${id}`);
    for (const id of B) {
      const want =
        id % 20 === 3
          ? [[1002, 1003], [1005], [1007], [1009], [1010]]
          : [[1002, 1003], [1005], [1007], [1008], [1009], [1010]];
      assert.deepEqual(byId.get(String(id)), want, `series ${id}`);
    }
    const s = endpoint!.stats();
    assert.equal(s.corruptRecords, 2);
    assert.equal(s.portionsSkipped, 1);
    assert.equal(s.recordsCoalesced, 2, 'r1 and r3');
    assert.equal(s.samples.sent, 2 * 20 + 7 * 20 - 1);
    assert.equal(s.histograms.sent, 1);
    const acked = new Set(fq.acks.map((a) => a.join('/')));
    assert.equal(acked.size, fq.acks.length, 'each portion acked once');
    for (const r of [0, 1, 2, 3, 5, 7, 8, 9, 10]) {
      for (let v = 0; v < 20; v++) {
        assert.equal(acked.has(`1/${r}/${v}`), !(r === 8 && v === 3), `record ${r} shard ${v}`);
      }
    }
    assert.equal(fq.acks.length, 9 * 20 - 1);
  });

  it('cuts expired samples from a coalesced run and acks the portions of every record in it', async () => {
    const now = T0;
    // ttl 1 h: records 0 and 1 are older, record 2 is fresh.
    const old = now - 2 * 3600_000;
    const recs = [record(A, old), record(A, old + 1), record(A, now - 1000)];
    const { fq, series } = await deliver([seg(1, recs)], 3600_000, now);
    assert.equal(series.length, 20);
    for (const [, ts] of series) assert.deepEqual(ts, [now - 1000]);
    const s = endpoint!.stats();
    assert.equal(s.samples.dropped.ttl, 40);
    assert.equal(s.samples.sent, 20);
    assert.equal(s.recordsCoalesced, 2);
    assert.equal(fq.acks.length, 60);
    assert.equal(new Set(fq.acks.map((a) => a.join('/'))).size, 60);
  });

  it('acks every record of a run whose samples all expired, sending nothing', async () => {
    const old = T0 - 2 * 3600_000;
    const { fq, series } = await deliver([seg(1, [record(A, old), record(A, old + 1)])], 3600_000, T0);
    assert.equal(series.length, 0);
    assert.equal(endpoint!.stats().samples.dropped.ttl, 40);
    assert.equal(new Set(fq.acks.map((a) => a.join('/'))).size, 40);
  });
});

type Entry = SignalRecord | 'corrupt' | null;
const entries = new Map<Uint8Array, SignalRecord | 'corrupt'>();

/** A segment of the given records (null: failed its CRC), each stored as a token `recordOf` maps back. */
function seg(id: number, records: Entry[], acked: [number, number[]][] = []): Segment {
  const payloads = records.map((r) => {
    if (r === null) return null;
    const t = new Uint8Array(1);
    entries.set(t, r);
    return t;
  });
  return {
    id,
    records: payloads,
    acked: new Map(acked.map(([r, ps]) => [r, new Set(ps)])),
    corruptRecords: records.filter((r) => r === null).length,
  };
}

function recordOf(token: Uint8Array): SignalRecord | 'corrupt' {
  const e = entries.get(token);
  if (e === undefined) throw new Error('unknown token');
  return e;
}
