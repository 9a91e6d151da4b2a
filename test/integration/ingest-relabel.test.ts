// Write relabeling at ingest through the real CLI: relayed 1.0 bodies relabeled once as they are
// stored (every endpoint with the same rules, no external labels), delivered exactly, their drops
// counted exactly; records stored under old rules delivered after a restart with new rules, the new
// ones applied on top; endpoints with different rules relabeling at send time instead.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { scanRelayRequest } from '../../src/daemon/relay-scan.js';
import { STORED_GROUPS } from '../../src/network/partition.js';
import { virtualShardOf } from '../../src/network/types.js';
import { ingestRelabelerFor } from '../../src/relay/ingest-relabel.js';
import { decodeRawRecord, ingestRelabelOf } from '../../src/serialization/raw-record.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import { planOf } from '../relay/ingest-relabel-helpers.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  makeTempDir,
  metricValue,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { waitUntil } from './harness/wait.js';

const SERIES = 40;
const SAMPLES = 3;
const OLD_RULES = [
  // Every fourth series by name (10 of 40).
  { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
  { regex: 'tmp', action: 'labeldrop' },
  { target_label: 'relayed_by', replacement: 'agent' },
];
const NEW_RULES = [
  // Series 1, 11, 21, 31 (and those starting with 1: 1, 10-19).
  { source_labels: ['i'], regex: '1.*', action: 'drop' },
  { target_label: 'relayed_by', replacement: 'agent-2' },
];

function request(t0: number, round: number): SeriesInput[] {
  return Array.from({ length: SERIES }, (_, i) => ({
    labels: { __name__: i % 4 === 0 ? 'drop_me' : 'ingest_relabel', i: String(i), tmp: `t${i}` },
    samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [t0 + round * 1000 + k, i * 100 + k]),
  }));
}

/** Dropped samples of `series` (under OLD_RULES) in virtual shards of groups left with no series. */
function doneBeforeRestart(series: SeriesInput[]): number {
  const out = scanRelayRequest(
    buildWriteRequestV1(series),
    1 << 20,
    STORED_GROUPS,
    'utf8',
    undefined,
    ingestRelabelerFor(planOf(OLD_RULES)),
  );
  assert.equal(out.kind, 'record');
  const rec = decodeRawRecord((out as { payload: Uint8Array }).payload);
  const mark = ingestRelabelOf(rec);
  assert.ok(mark && rec.rawGroups);
  const groups = rec.rawGroups;
  let done = 0;
  for (let d = 0; d < mark.droppedHashes.length; d++) {
    const k = virtualShardOf(mark.droppedHashes[d]) % groups.count;
    if (groups.seriesEnd[k] === (k === 0 ? 0 : groups.seriesEnd[k - 1])) done += mark.droppedSamples[d];
  }
  return done;
}

function droppedSamplesMetric(text: string, name: string, url: string): number | undefined {
  return metricValue(
    text,
    `prometheus_remote_storage_samples_dropped_total{remote_name="${name}",url="${url}",reason="dropped_series"}`,
  );
}

describe('write relabeling at ingest through the CLI', () => {
  const dirs: TempDir[] = [];
  const receivers: FakeReceiver[] = [];
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    for (const d of dirs) d.remove();
  });

  it('delivers the relabeled series and counts the drops; after a restart with new rules, applies them on top of the old', async () => {
    const dir = makeTempDir('ingest-relabel');
    dirs.push(dir);
    const receiver = await startFakeReceiver();
    receivers.push(receiver);
    const config = (rules: Record<string, unknown>[]) => (port: number) =>
      daemonConfigYaml(port, {
        dataDir: `${dir.path}/data`,
        shutdownTimeout: '1s',
        endpoints: [{ name: 'sink', url: receiver.url, writeRelabelConfigs: rules }],
      });
    const t0 = Date.now() - 60_000;
    daemon = await startDaemonProcess({ dir: dir.path, configYaml: config(OLD_RULES) });
    const r1 = await postWrite(daemon.writeUrl, buildWriteRequestV1(request(t0, 0)));
    assert.equal(r1.status, 204, r1.body.toString());
    const kept = Array.from({ length: SERIES }, (_, i) => i).filter((i) => i % 4 !== 0);
    await receiver.waitFor((r) => r.totalSamples >= kept.length * SAMPLES, 20_000);
    for (const i of kept) {
      const key = seriesKey({ __name__: 'ingest_relabel', i: String(i), relayed_by: 'agent' });
      assert.deepEqual(
        receiver.received.get(key)?.map((s) => s.value),
        Array.from({ length: SAMPLES }, (_, k) => i * 100 + k),
        key,
      );
    }
    assert.equal(receiver.received.size, kept.length);
    const oldDrops = (SERIES - kept.length) * SAMPLES;
    await waitUntil(async () => (await fetch(`${daemon?.url}/metrics`)).text(), {
      until: (text) => droppedSamplesMetric(text, 'sink', receiver.url) === oldDrops,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: `${oldDrops} samples dropped by relabeling`,
    });

    // The receiver refuses for now: the next body stays on disk, relabeled under the old rules.
    receiver.script(() => ({ status: 503 }));
    const r2 = await postWrite(daemon.writeUrl, buildWriteRequestV1(request(t0, 1)));
    assert.equal(r2.status, 204, r2.body.toString());
    await receiver.waitFor((r) => r.requests > r.acceptedRequests, 10_000);
    // Read and sent once (refused): its drops count in this run, as at send time.
    await waitUntil(async () => (await fetch(`${daemon?.url}/metrics`)).text(), {
      until: (text) => droppedSamplesMetric(text, 'sink', receiver.url) === 2 * oldDrops,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: `${2 * oldDrops} samples dropped by relabeling before the restart`,
    });
    await daemon.stop();

    daemon = await startDaemonProcess({ dir: dir.path, configYaml: config(NEW_RULES) });
    receiver.script(undefined);
    const keptNow = kept.filter((i) => !String(i).startsWith('1'));
    await receiver.waitFor((r) => r.totalSamples >= (kept.length + keptNow.length) * SAMPLES, 20_000);
    for (const i of keptNow) {
      const key = seriesKey({ __name__: 'ingest_relabel', i: String(i), relayed_by: 'agent-2' });
      assert.deepEqual(
        receiver.received.get(key)?.map((s) => s.value),
        Array.from({ length: SAMPLES }, (_, k) => i * 100 + k),
        `${key}: the old rules' result (no tmp) with the new rules on top`,
      );
    }
    assert.equal(receiver.received.size, kept.length + keptNow.length);
    const warned = daemon.logs().filter((l) => l.msg.includes('relabeled at ingest under other write_relabel_configs'));
    assert.equal(warned.length, 1, 'logged once');
    // The second body's drops, the old rules' and the new ones', less those of the virtual shards
    // whose series were all dropped and whose group went out empty: done in the first run, they
    // are not read again (as a portion acked before a restart is not).
    const drops = (SERIES - keptNow.length) * SAMPLES - doneBeforeRestart(request(t0, 1));
    await waitUntil(async () => (await fetch(`${daemon?.url}/metrics`)).text(), {
      until: (text) => droppedSamplesMetric(text, 'sink', receiver.url) === drops,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: `${drops} samples dropped by relabeling after the restart`,
    });
    await daemon.stop();
    daemon = undefined;
  });

  it('endpoints with different rules each relabel at send time', async () => {
    const dir = makeTempDir('ingest-relabel-two');
    dirs.push(dir);
    const a = await startFakeReceiver();
    const b = await startFakeReceiver();
    receivers.push(a, b);
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          endpoints: [
            { name: 'a', url: a.url, writeRelabelConfigs: OLD_RULES },
            { name: 'b', url: b.url, writeRelabelConfigs: NEW_RULES },
          ],
        }),
    });
    const t0 = Date.now() - 60_000;
    const r = await postWrite(daemon.writeUrl, buildWriteRequestV1(request(t0, 0)));
    assert.equal(r.status, 204, r.body.toString());
    const keptA = Array.from({ length: SERIES }, (_, i) => i).filter((i) => i % 4 !== 0);
    const keptB = Array.from({ length: SERIES }, (_, i) => i).filter((i) => !String(i).startsWith('1'));
    await a.waitFor((x) => x.totalSamples >= keptA.length * SAMPLES, 20_000);
    await b.waitFor((x) => x.totalSamples >= keptB.length * SAMPLES, 20_000);
    assert.deepEqual(
      [...a.received.keys()].sort(),
      keptA.map((i) => seriesKey({ __name__: 'ingest_relabel', i: String(i), relayed_by: 'agent' })).sort(),
    );
    assert.deepEqual(
      [...b.received.keys()].sort(),
      keptB
        .map((i) =>
          seriesKey({
            __name__: i % 4 === 0 ? 'drop_me' : 'ingest_relabel',
            i: String(i),
            relayed_by: 'agent-2',
            tmp: `t${i}`,
          }),
        )
        .sort(),
    );
    const text = await waitUntil(async () => (await fetch(`${daemon?.url}/metrics`)).text(), {
      until: (t) =>
        droppedSamplesMetric(t, 'a', a.url) === (SERIES - keptA.length) * SAMPLES &&
        droppedSamplesMetric(t, 'b', b.url) === (SERIES - keptB.length) * SAMPLES,
      timeoutMs: 10_000,
      intervalMs: 100,
      description: 'each endpoint counts its own drops',
    });
    assert.ok(text.length > 0);
    await daemon.stop();
    daemon = undefined;
  });
});
