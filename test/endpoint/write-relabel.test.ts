import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { FieldReader } from '../../src/config/field-reader.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { WriteRelabeler } from '../../src/endpoint/write-relabel.js';
import type { Segment } from '../../src/filequeue/types.js';
import { readRelabelConfigs } from '../../src/relabel/config.js';
import { compileRelabeling } from '../../src/relabel/index.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { startFakeReceiver } from '../helpers/fake-receiver.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../helpers/remote-write-client.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord, zeroBucketHistogram } from '../wire/record-builder.js';
import { FakeFileQueue, RecordTokens, segment } from './fake-file-queue.js';

/** The three rules of the issue's benchmark: drop by name, a labeldrop, a replace adding a label. */
const RULES_YAML = [
  { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
  { regex: 'tmp', action: 'labeldrop' },
  { target_label: 'env', replacement: 'prod' },
];

function rules(yaml: unknown[] = RULES_YAML): RelabelRule[] {
  const r = new FieldReader('snake');
  const out = readRelabelConfigs(r, yaml, 'write_relabel_configs', 'utf8');
  assert.deepEqual(r.errors, []);
  return out as RelabelRule[];
}

/** 30 series: k=0..29; every third is named drop_me, every other has a tmp label. */
function seriesSet(samplesEach: number, t0: number): (SeriesInput & { hash: number })[] {
  return Array.from({ length: 30 }, (_, k) => {
    const labels: Record<string, string> = { __name__: k % 3 === 0 ? 'drop_me' : 'keep_me', k: String(k) };
    if (k % 2 === 0) labels.tmp = 'x';
    return {
      labels,
      hash: Math.imul(k + 11, 2654435761) >>> 0,
      samples: Array.from({ length: samplesEach }, (_, i) => [t0 + i, k * 1000 + i] as [number, number]),
    };
  });
}

function rawRecord(series: SeriesInput[]): SignalRecord {
  const { WriteRequest } = remoteWriteProtos();
  const body = WriteRequest.encode(WriteRequest.fromObject(writeRequestV1Object(series))).finish();
  const scan = scanWriteRequestV1(body);
  assert.ok(scan, 'the scan accepts the body');
  const r = decodeRecord(encodeRawRecord(compressBlock(body), scan));
  assert.ok(r.rawSeries);
  return r;
}

async function deliver(
  build: (seg: number) => SignalRecord,
  opts: {
    externalLabels?: Record<string, string>;
    relabel?: RelabelRule[];
    segments?: number;
    sendExemplars?: boolean;
    sendNativeHistograms?: boolean;
  } = {},
) {
  const receiver = await startFakeReceiver();
  const tokens = new RecordTokens<SignalRecord>();
  const n = opts.segments ?? 2;
  const segs: Segment[] = [];
  for (let s = 0; s < n; s++) segs.push(segment(s + 1, [tokens.token(build(s))]));
  const fq = new FakeFileQueue(segs);
  const ep = createEndpoint({
    config: endpointConfig(
      receiver.url,
      { minShards: 2, maxSamplesPerSend: 17, batchSendDeadlineMs: 0 },
      {
        writeRelabelConfigs: opts.relabel ?? rules(),
        sendExemplars: opts.sendExemplars ?? true,
        sendNativeHistograms: opts.sendNativeHistograms ?? true,
      },
    ),
    fileQueue: fq,
    ttlMs: 0,
    externalLabels: opts.externalLabels ?? {},
    decodeRecord: (p) => tokens.lookup(p) as SignalRecord,
    clock: systemClock,
  });
  try {
    await fq.waitForReleases(n);
    return { receiver, stats: ep.stats(), snapshot: ep.metricsSnapshot() };
  } finally {
    await ep.stop({ timeoutMs: 0 });
    await receiver.close();
  }
}

function expectedKept(samplesEach: number, segments: number, extra: Record<string, string> = {}) {
  const out = new Map<string, number[]>();
  for (let k = 0; k < 30; k++) {
    if (k % 3 === 0) continue;
    const labels = { __name__: 'keep_me', env: 'prod', k: String(k), ...extra };
    const key = `{${Object.keys(labels)
      .sort()
      .map((n) => `${n}="${(labels as Record<string, string>)[n]}"`)
      .join(',')}}`;
    const values: number[] = [];
    for (let s = 0; s < segments; s++) for (let i = 0; i < samplesEach; i++) values.push(k * 1000 + i);
    out.set(key, values);
  }
  return out;
}

describe('write_relabel_configs on an endpoint', () => {
  for (const kind of ['decoded', 'series ids', 'relayed bytes'] as const) {
    it(`drops, removes and adds labels once per series (${kind} records), counting what it dropped`, async () => {
      const samplesEach = 3;
      const { receiver, stats, snapshot } = await deliver((seg) => {
        const set = seriesSet(samplesEach, 1000 + seg * 10);
        if (kind === 'relayed bytes') return rawRecord(set);
        const rec = buildRecord(set);
        if (kind === 'series ids') {
          rec.seriesIds = Uint32Array.from(set.map((_, k) => k + 1));
          rec.seriesIdScope = 7;
        }
        return rec;
      });
      const want = expectedKept(samplesEach, 2);
      assert.deepEqual([...receiver.received.keys()].sort(), [...want.keys()].sort());
      for (const [key, values] of want) {
        assert.deepEqual(
          receiver.received.get(key)?.map((x) => x.value),
          values,
          `series ${key} in order, every sample`,
        );
      }
      assert.equal(receiver.orderViolations, 0);
      // 10 of 30 series dropped, 3 samples each, 2 segments.
      assert.equal(stats.samples.sent, 20 * samplesEach * 2);
      assert.equal(stats.samples.dropped.dropped_series, 10 * samplesEach * 2);
      assert.equal(snapshot.samples.dropped.dropped_series, 60);
      // Decided once per series: the second segment's series come from the cache.
      assert.equal(stats.relabel?.decisions, 30);
      assert.equal(stats.relabel?.seriesDropped, 10);
      assert.equal(stats.relabel?.seriesChanged, 20);
      assert.equal(snapshot.relabelSeriesDropped, 10);
    });
  }

  it('sees the external labels (rules run after they are merged) and can drop by them', async () => {
    const { receiver, stats } = await deliver((seg) => buildRecord(seriesSet(1, 5000 + seg)), {
      externalLabels: { cluster: 'eu1', k: 'external-loses' },
      relabel: rules([
        // Keeps only series whose merged labels say cluster=eu1 and k=1..9 (the series' own k wins).
        { source_labels: ['cluster', 'k'], regex: 'eu1;[1-9]', action: 'keep' },
        { source_labels: ['cluster'], target_label: 'region', replacement: 'europe-$1' },
      ]),
    });
    const keys = [...receiver.received.keys()].sort();
    assert.equal(keys.length, 9);
    assert.ok(
      keys.includes('{__name__="keep_me",cluster="eu1",k="1",region="europe-eu1"}'),
      `got ${keys.slice(0, 3).join(' ')}`,
    );
    assert.equal(stats.samples.dropped.dropped_series, 21 * 2);
    assert.equal(stats.samples.sent, 9 * 2);
  });

  it('leaves relayed series the rules do not change byte for byte as received', async () => {
    const { receiver, stats } = await deliver(() => rawRecord(seriesSet(2, 100)), {
      relabel: rules([{ source_labels: ['__name__'], regex: 'drop_me', action: 'drop' }]),
      segments: 1,
    });
    assert.equal(receiver.received.size, 20);
    assert.ok(receiver.received.has('{__name__="keep_me",k="1"}'));
    assert.ok(receiver.received.has('{__name__="keep_me",k="2",tmp="x"}'));
    assert.equal(stats.relabel?.seriesChanged, 0);
    assert.equal(stats.samples.dropped.dropped_series, 20);
  });

  it('counts no dropped_series reason on an endpoint without rules', async () => {
    const { stats } = await deliver(() => buildRecord(seriesSet(1, 100)), { relabel: [], segments: 1 });
    assert.equal(stats.samples.dropped.dropped_series, undefined);
    assert.equal(stats.relabel, undefined);
    assert.equal(stats.samples.sent, 30);
  });
});

describe('WriteRelabeler cache', () => {
  it('empties itself between records when over its byte bound, never under a record still to be sent', () => {
    const relabeler = new WriteRelabeler(compileRelabeling(rules(), 'utf8'), {}, 2_000);
    const first = buildRecord(seriesSet(1, 0));
    relabeler.apply(first);
    assert.equal(relabeler.stats.decisions, 30);
    assert.ok(relabeler.stats.cacheBytes > 2_000, `${relabeler.stats.cacheBytes} bytes cached`);
    const rl = first.relabeled;
    assert.ok(rl !== undefined);
    const before = Buffer.from(rl.bytes).toString('hex');
    // Over the bound: the next record starts from an empty cache and decides its series again.
    relabeler.apply(buildRecord(seriesSet(1, 0)));
    assert.equal(relabeler.stats.decisions, 60);
    assert.equal(relabeler.stats.cachedSeries, 30);
    // The first record's new labels are where they were: the cache got a new arena.
    assert.equal(Buffer.from(rl.bytes).toString('hex'), before);
    // Under a larger bound, the same series are found again.
    const roomy = new WriteRelabeler(compileRelabeling(rules(), 'utf8'), {});
    roomy.apply(buildRecord(seriesSet(1, 0)));
    roomy.apply(buildRecord(seriesSet(1, 0)));
    assert.equal(roomy.stats.decisions, 30);
  });

  it('tells apart relayed series whose label hashes collide', () => {
    const relabeler = new WriteRelabeler(
      compileRelabeling(rules([{ source_labels: ['k'], regex: '1', action: 'drop' }]), 'utf8'),
      {},
    );
    const set = seriesSet(1, 0).slice(0, 3);
    for (const s of set) s.hash = 42; // one hash for all three
    const rec = rawRecord(set);
    rec.seriesHash.fill(42);
    const { dropped, droppedCount } = relabeler.apply(rec);
    assert.equal(droppedCount, 1);
    assert.deepEqual([...(dropped ?? [])], [0, 1, 0]);
    const again = rawRecord(set);
    again.seriesHash.fill(42);
    assert.deepEqual([...(relabeler.apply(again).dropped ?? [])], [0, 1, 0]);
    assert.equal(relabeler.stats.decisions, 3);
  });
});

describe('send_exemplars and send_native_histograms', () => {
  /** 6 series: each 2 samples, 1 exemplar and (the even ones) 1 histogram; series 0 and 3 are named drop_me. */
  const build = () =>
    buildRecord(
      Array.from({ length: 6 }, (_, k) => ({
        labels: { __name__: k % 3 === 0 ? 'drop_me' : 'keep_me', k: String(k) },
        hash: Math.imul(k + 3, 2654435761) >>> 0,
        samples: [
          [100, k],
          [200, k],
        ] as [number, number][],
        exemplars: [{ labels: { trace_id: `t${k}` }, value: k, timestampMs: 150 }],
        ...(k % 2 === 0 ? { histograms: [zeroBucketHistogram(300)] } : {}),
      })),
    );

  it('false leaves them out and counts them as disabled_by_config; dropped series count only as dropped_series', async () => {
    const { receiver, stats, snapshot } = await deliver(build, {
      segments: 1,
      sendExemplars: false,
      sendNativeHistograms: false,
      relabel: rules([{ source_labels: ['__name__'], regex: 'drop_me', action: 'drop' }]),
    });
    assert.equal(receiver.totalSamples, 8);
    assert.equal(receiver.totalExemplars, 0);
    assert.equal(receiver.totalHistograms, 0);
    assert.equal(stats.samples.sent, 8);
    assert.equal(stats.samples.dropped.dropped_series, 4);
    // Of the 4 kept series: 4 exemplars and 2 histograms (series 2 and 4) left out by the switches.
    assert.equal(stats.exemplars.dropped.disabled_by_config, 4);
    assert.equal(stats.histograms.dropped.disabled_by_config, 2);
    assert.equal(stats.exemplars.dropped.dropped_series, 2);
    assert.equal(stats.histograms.dropped.dropped_series, 1);
    assert.equal(snapshot.exemplars.dropped.disabled_by_config, 4);
  });

  it('true (the default) forwards them', async () => {
    const { receiver, stats } = await deliver(build, { segments: 1, relabel: [] });
    assert.equal(receiver.totalSamples, 12);
    assert.equal(receiver.totalExemplars, 6);
    assert.equal(receiver.totalHistograms, 3);
    assert.equal(stats.exemplars.dropped.disabled_by_config, undefined);
  });
});
