// Custom-bucket native histograms (schema -53) end to end, run as the real CLI: pushed into the
// daemon's receiver in remote-write 1.0 and 2.0, stored in its queue on disk, forwarded by the
// endpoint. Debian's Prometheus 2.42 cannot store schema -53 (custom buckets came in Prometheus
// 3.x), so the test asserts on what promspool sent: the fake receiver decodes each request body
// with protobufjs and the official .proto files (test/fixtures/proto).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HistogramEntry } from '../../src/serialization/types.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, buildWriteRequestV2 } from '../helpers/remote-write-client.js';
import { floatCustom, intCustom } from '../wire/custom-bucket-histograms.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  makeTempDir,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';

const EXTERNAL = { relay: 'promspool' };

describe('custom-bucket histograms through the daemon to the endpoint', () => {
  let receiver: FakeReceiver;
  let daemon: DaemonProcess;
  let dir: TempDir;

  before(async () => {
    dir = makeTempDir('custom-buckets');
    receiver = await startFakeReceiver();
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: join(dir.path, 'data'),
          externalLabels: EXTERNAL,
          endpoints: [{ name: 'sink', url: receiver.url }],
        }),
    });
  });

  after(async () => {
    await daemon?.stop();
    await receiver?.close();
    dir?.remove();
  });

  it('forwards what it was given (bounds, counts, spans, reset hints), in 1.0, from 1.0 and 2.0 pushes; refuses a count mismatch with 400', async () => {
    const v1Labels = { __name__: 'rpc_duration_seconds', job: 'api', via: 'rw1' };
    const v2Labels = { __name__: 'rpc_duration_seconds', job: 'api', via: 'rw2' };
    // Recent timestamps: the fixtures' 2023 ones would be dropped by the endpoint's ttl.
    const now = Date.now();
    const entries: HistogramEntry[] = [
      { ...intCustom, timestampMs: now - 1000 },
      { ...floatCustom, timestampMs: now - 500 },
    ];
    const r1 = await postWrite(daemon.writeUrl, buildWriteRequestV1([{ labels: v1Labels, histograms: entries }]));
    assert.equal(r1.status, 204, r1.body.toString());
    const r2 = await postWrite(
      daemon.writeUrl,
      buildWriteRequestV2([{ labels: v2Labels, histograms: entries }]),
      '2.0',
    );
    assert.equal(r2.status, 204, r2.body.toString());

    const bad = { timestampMs: now, histogram: { ...intCustom.histogram, count: intCustom.histogram.count + 1 } };
    const refused = await postWrite(
      daemon.writeUrl,
      buildWriteRequestV1([{ labels: { __name__: 'bad_seconds' }, histograms: [bad] }]),
    );
    assert.equal(refused.status, 400);
    assert.match(
      refused.body.toString(),
      /^invalid histogram for series \{__name__="bad_seconds"\}: 6 observations found in buckets, but the Count field is 7/,
    );

    await receiver
      .waitFor((r) => r.totalHistograms >= 4, 20_000)
      .catch((err) => {
        throw new Error(`${(err as Error).message}\n${daemon.tail()}`);
      });
    const expected = entries.map((e) => ({ ts: e.timestampMs, histogram: e.histogram }));
    for (const labels of [v1Labels, v2Labels]) {
      assert.deepEqual(receiver.receivedHistograms.get(seriesKey({ ...labels, ...EXTERNAL })), expected);
    }
    assert.equal(receiver.totalHistograms, 4, 'the refused histogram was not forwarded');
    assert.equal(receiver.decodeErrors, 0);
    assert.equal(receiver.orderViolations, 0);
  });
});
