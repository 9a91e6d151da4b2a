// The CLI at the default log level (info) with an endpoint whose receiver is down (a closed
// loopback port): a warn line naming the endpoint and the error appears at the first failed
// attempt; once a receiver listens on that port, one info line says it recovered (and how long it
// was down), another that it caught up, and every sample pushed arrives.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DELIVERY_LOG_MESSAGES } from '../../src/endpoint/delivery-health-log.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  type LogLine,
  makeTempDir,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { freePort } from './harness/ports.js';

const SERIES = 3;
const SAMPLES_PER_SERIES = 20;
/** Recent: older samples would be dropped by `storage.ttl` (2h) when read. */
const T0 = Date.now() - 60_000;

function request(): SeriesInput[] {
  const out: SeriesInput[] = [];
  for (let s = 0; s < SERIES; s++) {
    const samples: [number, number][] = [];
    for (let i = 0; i < SAMPLES_PER_SERIES; i++) samples.push([T0 + i * 1000, s * 100 + i]);
    out.push({ labels: { __name__: 'outage_test', series: String(s) }, samples });
  }
  return out;
}

describe('delivery failures in the daemon log', () => {
  let dir: TempDir | undefined;
  let daemon: DaemonProcess | undefined;
  let receiver: FakeReceiver | undefined;

  after(async () => {
    await daemon?.kill9();
    await receiver?.close();
    dir?.remove();
  });

  it('a receiver down: warn at the first failure, info when it comes back, every sample delivered', async () => {
    dir = makeTempDir('promspool-health-');
    const port = await freePort(); // closed again: connecting to it is refused
    const d = await startDaemonProcess({
      dir: dir.path,
      logLevel: process.env.PROMSPOOL_TEST_LOG_LEVEL ?? 'info',
      configYaml: (p) =>
        daemonConfigYaml(p, {
          dataDir: `${dir!.path}/data`,
          endpoints: [{ name: 'downstream', url: `http://127.0.0.1:${port}/api/v1/write` }],
        }),
    });
    daemon = d;
    const res = await postWrite(d.writeUrl, buildWriteRequestV1(request()));
    assert.equal(res.status, 204);

    const isFailing = (l: LogLine) => l.msg === DELIVERY_LOG_MESSAGES.failing;
    // batch_interval 200ms seals the segment, the first attempt fails at once: well within 10 s.
    const warn = await d.waitForLog(isFailing, 10_000);
    assert.equal(warn.level, 'warn');
    assert.equal(warn.remote_name, 'downstream');
    assert.equal(warn.err_code, 'ECONNREFUSED', JSON.stringify(warn));
    assert.match(String(warn.retry_in), /^\d+ms$/);

    receiver = await startFakeReceiver({ port });
    const recovered = await d.waitForLog(DELIVERY_LOG_MESSAGES.recovered, 20_000);
    assert.equal(recovered.level, 'info');
    assert.equal(recovered.remote_name, 'downstream');
    assert.match(String(recovered.down_for), /^(\d+m)?(\d+s)?(\d+ms)?$/);
    assert.ok(Number(recovered.failures) >= 1, JSON.stringify(recovered));
    const caughtUp = await d.waitForLog(DELIVERY_LOG_MESSAGES.caughtUp, 20_000);
    assert.equal(caughtUp.samples, SERIES * SAMPLES_PER_SERIES, JSON.stringify(caughtUp));

    await receiver.waitFor((r) => r.totalSamples >= SERIES * SAMPLES_PER_SERIES, 20_000);
    for (const s of request()) {
      const got = receiver.received.get(seriesKey(s.labels as Record<string, string>));
      assert.deepEqual(
        got?.map((x) => [x.ts, x.value]),
        s.samples,
      );
    }
    assert.equal(receiver.totalSamples, SERIES * SAMPLES_PER_SERIES);
    // However many attempts failed, the outage was one warn line (the next would come a minute later).
    assert.equal(d.logs().filter(isFailing).length, 1, d.tail(30));
    assert.deepEqual(await d.stop(), { code: 0, signal: null });
  });
});
