/**
 * An endpoint configured with remote-write 2.0, with the real encoders and the fake receiver:
 * metadata from the records travels inline (or not, with `metadata_config.send: false`), and the
 * fallback to 1.0 is kept in `stateDir`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { PROTOCOL_STATE_FILE } from '../../src/network/protocol-negotiation.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import type { MetadataEntry, SignalRecord } from '../../src/serialization/types.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { type RequestInfo, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { encodeWriteRequestV1 } from '../helpers/remote-write-client.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord, samples } from '../network/record-builder.js';
import { FakeFileQueue, RecordTokens, segment } from './fake-file-queue.js';

const META: MetadataEntry = { metricFamilyName: 'm', type: 'gauge', help: 'A gauge.', unit: 'bytes' };

/** A fake receiver answering `answer(req)` (204 by default), and the protocol version of each request it got, in order. */
async function versionRecordingReceiver(answer: (req: RequestInfo) => number = () => 204) {
  const receiver = await startFakeReceiver();
  const versions: string[] = [];
  receiver.script((req) => {
    versions.push(req.version);
    return { status: answer(req) };
  });
  return { receiver, versions };
}

async function deliverOnce(send: boolean, answer: (req: RequestInfo) => number) {
  const { receiver, versions } = await versionRecordingReceiver(answer);
  const dir = mkdtempSync(join(tmpdir(), 'promspool-endpoint-rw2-'));
  const tokens = new RecordTokens<SignalRecord>();
  const rec = buildRecord(
    [
      { labels: { __name__: 'm', k: '1' }, hash: 0, samples: samples(5, 1000) },
      { labels: { __name__: 'm', k: '2' }, hash: 1, samples: samples(5, 1000) },
    ],
    [META],
  );
  const fq = new FakeFileQueue([segment(1, [tokens.token(rec)])]);
  const base = endpointConfig(receiver.url, { batchSendDeadlineMs: 0 });
  const ep = createEndpoint({
    config: {
      ...base,
      protobufMessage: 'io.prometheus.write.v2.Request',
      metadata: { ...base.metadata, send },
    },
    fileQueue: fq,
    ttlMs: 0,
    externalLabels: {},
    decodeRecord: (p) => tokens.lookup(p) as SignalRecord,
    clock: systemClock,
    stateDir: dir,
  });
  try {
    await fq.waitForReleases(1);
    return {
      versions,
      metadata: [...receiver.metadata],
      samples: receiver.totalSamples,
      stateFile: existsSync(join(dir, PROTOCOL_STATE_FILE)),
      protocol: ep.stats().network.protocol,
    };
  } finally {
    await ep.stop({ timeoutMs: 0 });
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A relayed (kind-2) record of 300 series `relayed{k, city}` with samples at `from` and `from + 1`. */
function relayedPayload(from: number, groups: number): Uint8Array {
  const body = encodeWriteRequestV1(
    Array.from({ length: 300 }, (_, k) => ({
      labels: { __name__: 'relayed', k: String(k), city: 'Zürich' },
      samples: [
        [from, k],
        [from + 1, k + 0.5],
      ] as [number, number][],
    })),
  );
  const scan = scanWriteRequestV1(body);
  assert.ok(scan);
  return encodeRawRecord(compressBlock(body), scan, { body, groups });
}

describe('Endpoint sending remote-write 2.0', () => {
  it('sends the records’ metadata inline with their series', async () => {
    const r = await deliverOnce(true, () => 204);
    assert.deepEqual(r.versions, ['2.0']);
    assert.equal(r.samples, 10);
    assert.deepEqual(r.metadata, [META, META]);
    assert.equal(r.stateFile, false);
    assert.equal(r.protocol?.protobufMessage, 'io.prometheus.write.v2.Request');
  });

  it('leaves metadata out with metadata_config.send: false', async () => {
    const r = await deliverOnce(false, () => 204);
    assert.deepEqual(r.versions, ['2.0']);
    assert.equal(r.samples, 10);
    assert.deepEqual(r.metadata, []);
  });

  it('falls back on a 415 and persists it in stateDir', async () => {
    const r = await deliverOnce(true, (req) => (req.version === '2.0' ? 415 : 204));
    assert.deepEqual(r.versions, ['2.0', '1.0']);
    assert.equal(r.samples, 10);
    assert.equal(r.stateFile, true);
    assert.deepEqual(r.protocol?.fallbacks, { unsupported_media_type: 1, no_written_headers: 0 });
  });

  it('sends relayed records through the 2.0 transcoder: every series, external labels merged, as 2.0', async () => {
    const { receiver, versions } = await versionRecordingReceiver();
    const fq = new FakeFileQueue([segment(1, [relayedPayload(1000, 1), relayedPayload(2000, 16)])]);
    const base = endpointConfig(receiver.url, { batchSendDeadlineMs: 0, minShards: 2, maxShards: 2 });
    const ep = createEndpoint({
      config: { ...base, protobufMessage: 'io.prometheus.write.v2.Request' },
      fileQueue: fq,
      ttlMs: 0,
      externalLabels: { cluster: 'eu1' },
      decodeRecord: (p) => decodeRecord(p, { deferRawBody: true }),
      clock: systemClock,
    });
    try {
      await fq.waitForReleases(1);
      assert.deepEqual([...new Set(versions)], ['2.0']);
      assert.equal(receiver.totalSamples, 1200);
      for (const k of [0, 137, 299]) {
        const got = receiver.received.get(
          seriesKey({ __name__: 'relayed', city: 'Zürich', cluster: 'eu1', k: String(k) }),
        );
        assert.deepEqual(
          got?.map((s) => [s.ts, s.value]),
          [
            [1000, k],
            [1001, k + 0.5],
            [2000, k],
            [2001, k + 0.5],
          ],
          `series ${k}, in order`,
        );
      }
      const st = ep.stats();
      assert.deepEqual(st.relay, { storedBytes: 0, storedLabels: 0, transcoded: 2, decoded: 0 });
      assert.equal(st.transcoder?.loads, 2);
      assert.equal(st.transcoder?.fallbacks, 0);
      assert.ok((st.transcoder?.requests ?? 0) >= 2, 'each loop sent through the transcoder');
      // The loops' batches of whole series went as runs, without a slice per series.
      assert.ok((st.transcoder?.runRequests ?? 0) > 0, 'batches of whole series sent as runs');
    } finally {
      await ep.stop({ timeoutMs: 0 });
      await receiver.close();
    }
  });

  it('leaves relayed records out of the transcoder while the endpoint sends 1.0 after a fallback', async () => {
    const { receiver, versions } = await versionRecordingReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'promspool-endpoint-rw2-'));
    // Fell back a moment ago (persisted): 1.0 until the probe interval has passed.
    writeFileSync(
      join(dir, PROTOCOL_STATE_FILE),
      JSON.stringify({
        protobufMessage: 'prometheus.WriteRequest',
        fellBackAtMs: Date.now(),
        reason: 'unsupported_media_type',
      }),
    );
    const fq = new FakeFileQueue([segment(1, [relayedPayload(1000, 1), relayedPayload(2000, 16)])]);
    const base = endpointConfig(receiver.url, { batchSendDeadlineMs: 0, minShards: 2, maxShards: 2 });
    const ep = createEndpoint({
      config: { ...base, protobufMessage: 'io.prometheus.write.v2.Request' },
      fileQueue: fq,
      ttlMs: 0,
      externalLabels: {},
      decodeRecord: (p) => decodeRecord(p, { deferRawBody: true }),
      clock: systemClock,
      stateDir: dir,
    });
    try {
      await fq.waitForReleases(1);
      assert.deepEqual([...new Set(versions)], ['1.0']);
      assert.equal(receiver.totalSamples, 1200);
      assert.deepEqual(
        receiver.received
          .get(seriesKey({ __name__: 'relayed', city: 'Zürich', k: '137' }))
          ?.map((s) => [s.ts, s.value]),
        [
          [1000, 137],
          [1001, 137.5],
          [2000, 137],
          [2001, 137.5],
        ],
      );
      const st = ep.stats();
      assert.deepEqual(st.relay, { storedBytes: 0, storedLabels: 0, transcoded: 0, decoded: 2 });
      assert.equal(st.transcoder?.loads, 0, 'nothing uncompressed for the transcoder');
    } finally {
      await ep.stop({ timeoutMs: 0 });
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
