import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  type RemoteStorageSnapshot,
  relayRecordsByWay,
  remoteStorageMetrics,
} from '../../src/metrics/remote-storage-metrics.js';

function snapshot(sent: number, dropped: Record<string, number> = {}): RemoteStorageSnapshot {
  const none = { sent: 0, failed: 0, retried: 0, dropped: {} };
  return {
    samples: { sent, failed: 0, retried: 0, dropped },
    histograms: none,
    exemplars: none,
    pendingSignals: 4,
    metadataSent: 0,
    metadataFailed: 0,
    bytes: 100,
    shards: 2,
    shardsDesired: 2,
    shardsMin: 1,
    shardsMax: 8,
    highestTimestampMs: 5000,
    highestSentTimestampMs: 4000,
    queueSegments: 3,
    queuePendingBytes: 1234,
    oldestPendingTimestampMs: 1000,
    recordsCorrupt: 1,
    mailboxes: [{ actor: 'a/shard-0', depth: 2, fullCount: 7 }],
  };
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const v = (metric?.values as { labels: Record<string, string>; value: number }[] | undefined)?.find((x) =>
    Object.entries(labels).every(([k, want]) => x.labels[k] === want),
  );
  return v?.value;
}

describe('remote storage metrics', () => {
  it('registers once per registry and reads components at scrape time', async () => {
    const registry = new Registry();
    const m = remoteStorageMetrics(registry);
    assert.equal(remoteStorageMetrics(registry), m);
    let sent = 10;
    let reads = 0;
    const a = m.attach({ remoteName: 'a', url: 'http://a' }, () => {
      reads++;
      return snapshot(sent, { ttl: 2 });
    });
    m.attach({ remoteName: 'b', url: 'http://b' }, () => snapshot(1));
    const la = { remote_name: 'a', url: 'http://a' };
    assert.equal(await value(registry, 'prometheus_remote_storage_samples_total', la), 10);
    assert.equal(reads, 1, 'one snapshot per scrape');
    assert.equal(await value(registry, 'prometheus_remote_storage_samples_total', { remote_name: 'b' }), 1);
    assert.equal(await value(registry, 'prometheus_remote_storage_samples_dropped_total', { ...la, reason: 'ttl' }), 2);
    assert.equal(await value(registry, 'prometheus_remote_storage_shards_max', la), 8);
    assert.equal(await value(registry, 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds', la), 4);
    assert.equal(await value(registry, 'promspool_queue_pending_bytes', la), 1234);
    assert.equal(await value(registry, 'promspool_mailbox_full_total', { ...la, actor: 'a/shard-0' }), 7);
    assert.equal(await value(registry, 'promspool_mailbox_depth', { ...la, actor: 'a/shard-0' }), 2);
    sent = 15;
    assert.equal(await value(registry, 'prometheus_remote_storage_samples_total', la), 15);
    a.observeBatchDuration(0.2);
    assert.match(
      await registry.metrics(),
      /prometheus_remote_storage_sent_batch_duration_seconds_count\{remote_name="a",url="http:\/\/a"\} 1\n/,
    );
    sent = 16;
    a.detach();
    // Re-attached after a reload, the new endpoint counts from 0: the counter continues from 16.
    m.attach({ remoteName: 'a', url: 'http://a' }, () => snapshot(3));
    assert.equal(await value(registry, 'prometheus_remote_storage_samples_total', la), 19);
  });

  it('promspool_relay_records_total: one series per way from the snapshot, none without relay counts', async () => {
    const registry = new Registry();
    const m = remoteStorageMetrics(registry);
    let relay = relayRecordsByWay({ storedBytes: 4, storedLabels: 1, transcoded: 0, decoded: 2 });
    const a = m.attach({ remoteName: 'a', url: 'http://a' }, () => ({ ...snapshot(1), relayRecords: relay }));
    m.attach({ remoteName: 'b', url: 'http://b' }, () => snapshot(1));
    const ways = async (remote_name: string) => {
      const metric = (await registry.getMetricsAsJSON()).find((x) => x.name === 'promspool_relay_records_total');
      const values = metric?.values as { labels: Record<string, string>; value: number }[];
      return values.filter((v) => v.labels.remote_name === remote_name).map((v) => [v.labels.way, v.value]);
    };
    assert.deepEqual(await ways('a'), [
      ['stored-bytes', 4],
      ['stored-labels', 1],
      ['transcoded', 0],
      ['decoded', 2],
    ]);
    assert.deepEqual(await ways('b'), []);
    // A delivery worker before its first report has no counts: every way reads 0.
    assert.deepEqual(relayRecordsByWay(undefined), {
      'stored-bytes': 0,
      'stored-labels': 0,
      transcoded: 0,
      decoded: 0,
    });
    relay = relayRecordsByWay({ storedBytes: 9, storedLabels: 1, transcoded: 0, decoded: 2 });
    a.detach();
    // Re-attached after a reload, the new endpoint counts from 0: the counter continues from 9.
    m.attach({ remoteName: 'a', url: 'http://a' }, () => ({
      ...snapshot(1),
      relayRecords: relayRecordsByWay({ storedBytes: 3, storedLabels: 0, transcoded: 0, decoded: 0 }),
    }));
    assert.deepEqual(await ways('a'), [
      ['stored-bytes', 12],
      ['stored-labels', 1],
      ['transcoded', 0],
      ['decoded', 2],
    ]);
  });

  it('removes the gauges of a detached endpoint', async () => {
    const registry = new Registry();
    const h = remoteStorageMetrics(registry).attach({ remoteName: 'a', url: 'u' }, () => snapshot(1));
    assert.equal(await value(registry, 'prometheus_remote_storage_shards', { remote_name: 'a' }), 2);
    h.detach();
    assert.equal(await value(registry, 'prometheus_remote_storage_shards', { remote_name: 'a' }), undefined);
    assert.equal(await value(registry, 'prometheus_remote_storage_samples_total', { remote_name: 'a' }), 1);
  });
});
