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
import { startFakeReceiver } from '../helpers/fake-receiver.js';
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

async function deliver(segs: Segment[], rules: RelabelRule[], lines: LoggedLine[] = []) {
  const receiver = await startFakeReceiver();
  const fq = new FakeFileQueue(segs);
  const ep = createEndpoint({
    config: endpointConfig(
      receiver.url,
      { minShards: 2, maxShards: 2, maxSamplesPerSend: 500, batchSendDeadlineMs: 0 },
      { writeRelabelConfigs: rules },
    ),
    fileQueue: fq,
    ttlMs: 0,
    externalLabels: {},
    decodeRecord: (p) => decodeRecord(p, { deferRawBody: true }),
    clock: systemClock,
    logger: recordingLogger(lines),
  });
  try {
    await fq.waitForReleases(segs.length);
    return { receiver, fq, stats: ep.stats() };
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
});
