import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { scanRelayRequest } from '../../src/daemon/relay-scan.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import type { Segment } from '../../src/filequeue/types.js';
import { STORED_GROUPS } from '../../src/network/partition.js';
import { virtualShardOf } from '../../src/network/types.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import { type IngestRelabelPlan, ingestRelabelerFor } from '../../src/relay/ingest-relabel.js';
import { decodeRawRecord, encodeRawRecord, ingestRelabelOf } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { endpointConfig } from '../network/harness.js';
import { bodyOf, planOf, seriesSet } from '../relay/ingest-relabel-helpers.js';
import { FakeFileQueue, segment } from './fake-file-queue.js';

const BENCH_THREE = [
  { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
  { regex: 'tmp', action: 'labeldrop' },
  { target_label: 'relayed_by', replacement: 'agent' },
];

/** A kind-2 record payload of `body`: relabeled at ingest under `plan`, or stored as received. */
function payloadOf(body: Uint8Array, plan: IngestRelabelPlan | undefined, groups = STORED_GROUPS): Uint8Array {
  if (plan === undefined) {
    const scan = scanWriteRequestV1(body);
    assert.ok(scan);
    return encodeRawRecord(compressBlock(body), scan, { body, groups });
  }
  const out = scanRelayRequest(compressBlock(body), 1 << 20, groups, 'utf8', undefined, ingestRelabelerFor(plan));
  assert.equal(out.kind, 'record');
  return (out as { payload: Uint8Array }).payload;
}

async function deliver(
  segs: Segment[],
  rules: RelabelRule[],
  lines: LoggedLine[] = [],
  more: { externalLabels?: Record<string, string>; v2?: boolean; sampleAgeLimitMs?: number } = {},
) {
  const receiver = await startFakeReceiver();
  const versions: string[] = [];
  receiver.script((req) => {
    versions.push(req.version);
    return { status: 204 };
  });
  const fq = new FakeFileQueue(segs);
  const ep = createEndpoint({
    config: endpointConfig(
      receiver.url,
      {
        minShards: 2,
        maxShards: 2,
        maxSamplesPerSend: 500,
        batchSendDeadlineMs: 0,
        ...(more.sampleAgeLimitMs === undefined ? {} : { sampleAgeLimitMs: more.sampleAgeLimitMs }),
      },
      {
        writeRelabelConfigs: rules,
        ...(more.v2 === true ? { protobufMessage: 'io.prometheus.write.v2.Request' as const } : {}),
      },
    ),
    fileQueue: fq,
    ttlMs: 0,
    externalLabels: more.externalLabels ?? {},
    decodeRecord: (p) => decodeRecord(p, { deferRawBody: true }),
    clock: systemClock,
    logger: recordingLogger(lines),
  });
  try {
    await fq.waitForReleases(segs.length);
    return { receiver, fq, stats: ep.stats(), versions };
  } finally {
    await ep.stop({ timeoutMs: 0 });
    await receiver.close();
  }
}

/** Samples of the series `plan` drops from `body`, from the record's mark. */
function droppedSamples(payload: Uint8Array): number {
  const mark = ingestRelabelOf(decodeRawRecord(payload));
  assert.ok(mark);
  return mark.droppedSamples.reduce((a, b) => a + b, 0);
}

describe('an endpoint reading records relabeled at ingest', () => {
  it('sends them as their stored groups, as the send-time route would, and counts their drops once', async () => {
    const plan = planOf(BENCH_THREE);
    const bodies = [bodyOf(seriesSet(1000)), bodyOf(seriesSet(2000))];
    const marked = bodies.map((b) => payloadOf(b, plan));
    const atIngest = await deliver(
      marked.map((p, i) => segment(i + 1, [p])),
      plan.rules as RelabelRule[],
    );
    const atSend = await deliver(
      bodies.map((b, i) => segment(i + 1, [payloadOf(b, undefined)])),
      plan.rules as RelabelRule[],
    );
    // The same series with the same samples, in order.
    assert.deepEqual([...atIngest.receiver.received.entries()].sort(), [...atSend.receiver.received.entries()].sort());
    assert.ok(
      atIngest.receiver.received.has(
        '{__name__="keep_me",instance="host-3:9100",job="Worker",k="3",relayed_by="agent"}',
      ),
    );
    assert.equal(atIngest.receiver.orderViolations, 0);
    const drops = droppedSamples(marked[0]) + droppedSamples(marked[1]);
    assert.ok(drops > 0);
    assert.equal(atIngest.stats.samples.dropped.dropped_series, drops);
    assert.equal(atSend.stats.samples.dropped.dropped_series, drops);
    assert.equal(atIngest.stats.samples.sent, atSend.stats.samples.sent);
    // Sent as stored bytes, not relabeled again (the endpoint's cache decided nothing).
    assert.equal(atIngest.stats.relay?.storedBytes, 2);
    assert.equal(atIngest.stats.relay?.decoded, 0);
    assert.equal(atIngest.stats.relabel?.decisions, 0);
    assert.equal(atSend.stats.relay?.decoded, 2);
  });

  it('acks the virtual shards whose series were all dropped, counting their samples', async () => {
    const plan = planOf([{ source_labels: ['__name__'], regex: '.*', action: 'drop' }]);
    const set = seriesSet(10, 40);
    const payload = payloadOf(bodyOf(set), plan);
    const { fq, stats, receiver } = await deliver([segment(1, [payload])], plan.rules as RelabelRule[]);
    const mark = ingestRelabelOf(decodeRawRecord(payload));
    assert.ok(mark);
    const vshards = new Set([...mark.droppedHashes].map(virtualShardOf));
    assert.deepEqual(
      fq.acks.map(([, , v]) => v).sort((a, b) => a - b),
      [...vshards].sort((a, b) => a - b),
      'every shard of a dropped series done once',
    );
    assert.equal(
      stats.samples.dropped.dropped_series,
      set.reduce((n, s) => n + (s.samples?.length ?? 0), 0),
    );
    assert.equal(stats.samples.sent, 0);
    assert.equal(receiver.received.size, 0);
  });

  it('does not count again the drops of portions acked in an earlier run', async () => {
    const plan = planOf(BENCH_THREE);
    const payload = payloadOf(bodyOf(seriesSet(3000)), plan);
    const mark = ingestRelabelOf(decodeRawRecord(payload));
    assert.ok(mark);
    // The earlier run acked the shards of the first two dropped series.
    const acked = [virtualShardOf(mark.droppedHashes[0]), virtualShardOf(mark.droppedHashes[1])];
    let want = 0;
    for (let d = 0; d < mark.droppedHashes.length; d++)
      if (!acked.includes(virtualShardOf(mark.droppedHashes[d]))) want += mark.droppedSamples[d];
    const { stats } = await deliver([segment(1, [payload], [[0, acked]])], plan.rules as RelabelRule[]);
    assert.equal(stats.samples.dropped.dropped_series, want);
    assert.ok(want < droppedSamples(payload));
  });

  it('applies its current rules on top of records relabeled under other rules (a restart with changed rules), logging once', async () => {
    const before = planOf(BENCH_THREE);
    const after = planOf([
      { source_labels: ['job'], regex: 'api', action: 'drop' },
      { target_label: 'relayed_by', replacement: 'agent-2' },
    ]);
    const set = seriesSet(4000);
    const payloads = [payloadOf(bodyOf(set), before), payloadOf(bodyOf(seriesSet(5000)), before)];
    const lines: LoggedLine[] = [];
    const { receiver, stats } = await deliver(
      payloads.map((p, i) => segment(i + 1, [p])),
      after.rules as RelabelRule[],
      lines,
    );
    // Kept: not dropped by the old rules (drop_*), nor by the new (job=api); tmp gone (old rule),
    // relayed_by set by the new rule over the old one's value.
    const kept = set.filter((s) => !s.labels.__name__.startsWith('drop_') && s.labels.job !== 'api');
    assert.equal(receiver.received.size, kept.length);
    for (const s of kept) {
      const labels: Record<string, string> = { ...s.labels, relayed_by: 'agent-2' };
      delete labels.tmp;
      const key = `{${Object.keys(labels)
        .sort()
        .map((n) => `${n}="${labels[n]}"`)
        .join(',')}}`;
      assert.equal(receiver.received.get(key)?.length, 2 * (s.samples?.length ?? 0), key);
    }
    const all = 2 * set.reduce((n, s) => n + (s.samples?.length ?? 0), 0);
    const sent = 2 * kept.reduce((n, s) => n + (s.samples?.length ?? 0), 0);
    assert.equal(stats.samples.sent, sent);
    assert.equal(stats.samples.dropped.dropped_series, all - sent, 'old and new rules drops, each once');
    const warned = lines.filter((l) => l.level === 'warn' && l.msg.includes('relabeled at ingest under other'));
    assert.equal(warned.length, 1);
    assert.equal(warned[0].fields.record_rules, before.digest);
    assert.equal(warned[0].fields.current_rules, after.digest);
  });

  it('without rules sends them as stored, still counting the drops they carry', async () => {
    const plan = planOf(BENCH_THREE);
    const payload = payloadOf(bodyOf(seriesSet(6000)), plan);
    const { stats, receiver } = await deliver([segment(1, [payload])], []);
    assert.equal(stats.relay?.storedBytes, 1);
    assert.equal(stats.samples.dropped.dropped_series, droppedSamples(payload));
    assert.ok([...receiver.received.keys()].every((k) => k.includes('relayed_by="agent"')));
  });

  describe('merged at ingest with the external labels', () => {
    const external = { cluster: 'eu-west-1' };
    /** seriesSet with some series carrying their own cluster (it wins over the external one). */
    const bodies = () =>
      [1000, 2000].map((t0) =>
        bodyOf(seriesSet(t0).map((s, k) => (k % 7 === 0 ? { ...s, labels: { ...s.labels, cluster: `own-${k}` } } : s))),
      );
    const cases: {
      name: string;
      yaml: unknown[];
      v2?: boolean;
      sampleAgeLimitMs?: number;
      way: 'storedBytes' | 'storedLabels' | 'transcoded' | 'decoded';
      sendTimeWay: 'storedBytes' | 'storedLabels' | 'transcoded' | 'decoded';
    }[] = [
      { name: '1.0, no rules', yaml: [], way: 'storedBytes', sendTimeWay: 'storedLabels' },
      {
        name: '1.0, labeldrop cluster, a sample age limit',
        yaml: [{ regex: 'cluster', action: 'labeldrop' }],
        sampleAgeLimitMs: 3_600_000_000_000,
        way: 'storedLabels',
        sendTimeWay: 'decoded',
      },
      { name: '2.0, no rules', yaml: [], v2: true, way: 'transcoded', sendTimeWay: 'transcoded' },
      { name: '2.0, the bench three', yaml: BENCH_THREE, v2: true, way: 'transcoded', sendTimeWay: 'decoded' },
      {
        name: '2.0, labeldrop cluster',
        yaml: [{ regex: 'cluster', action: 'labeldrop' }],
        v2: true,
        way: 'decoded',
        sendTimeWay: 'decoded',
      },
    ];
    for (const c of cases) {
      it(`sends what the send-time route sends, merging once: ${c.name}`, async () => {
        const plan = planOf(c.yaml, external);
        const rules = plan.rules as RelabelRule[];
        const opts = {
          externalLabels: external,
          ...(c.v2 === true ? { v2: true } : {}),
          ...(c.sampleAgeLimitMs === undefined ? {} : { sampleAgeLimitMs: c.sampleAgeLimitMs }),
        };
        const atIngest = await deliver(
          bodies().map((b, i) => segment(i + 1, [payloadOf(b, plan)])),
          rules,
          [],
          opts,
        );
        const atSend = await deliver(
          bodies().map((b, i) => segment(i + 1, [payloadOf(b, undefined)])),
          rules,
          [],
          opts,
        );
        assert.deepEqual(
          [...new Set(atIngest.versions)],
          [c.v2 === true ? '2.0' : '1.0'],
          'the configured message, every request',
        );
        assert.deepEqual(
          [...atIngest.receiver.received.entries()].sort(),
          [...atSend.receiver.received.entries()].sort(),
        );
        // Series 2 gets the external cluster, series 7 keeps its own; unless a rule drops cluster.
        const dropsCluster = JSON.stringify(c.yaml).includes('cluster');
        const addsLabel: Record<string, string> = c.yaml === BENCH_THREE ? { relayed_by: 'agent' } : {};
        const two = { __name__: 'Node_CPU', instance: 'host-2:9100', job: 'api', k: '2', ...addsLabel };
        const seven = { __name__: 'keep_me', instance: 'host-0:9100', job: 'Worker', k: '7', ...addsLabel };
        for (const [labels, cluster] of [
          [two, 'eu-west-1'],
          [seven, 'own-7'],
        ] as const) {
          const key = seriesKey(dropsCluster ? labels : { ...labels, cluster });
          assert.equal(atIngest.receiver.received.get(key)?.length, 2 * (labels.k === '2' ? 3 : 2), key);
        }
        assert.equal(atIngest.stats.samples.sent, atSend.stats.samples.sent);
        assert.equal(atIngest.stats.relay?.[c.way], 2, `at ingest: ${JSON.stringify(atIngest.stats.relay)}`);
        assert.equal(atSend.stats.relay?.[c.sendTimeWay], 2, `at send time: ${JSON.stringify(atSend.stats.relay)}`);
        assert.equal(atIngest.stats.relabel?.decisions ?? 0, 0, 'not relabeled again');
        if (c.way === 'transcoded') assert.equal(atIngest.stats.transcoder?.fallbacks, 0);
      });
    }
  });
});
