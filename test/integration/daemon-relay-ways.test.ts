// `promspool_relay_records_total{way}` from the real CLI: relayed 1.0 requests through a config with
// external labels and no rules go out as their stored bytes (merged at ingest); with
// `sample_age_limit` set the same requests go out as stored labels (each series copied, the
// request compressed again); to a 2.0 endpoint they are transcoded. Each request is one relayed
// record, counted once by the one endpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, type SeriesInput } from '../helpers/remote-write-client.js';
import {
  type DaemonProcess,
  daemonConfigYaml,
  labeledMetricValue,
  makeTempDir,
  metricSum,
  postWrite,
  startDaemonProcess,
  type TempDir,
} from './daemon-helpers.js';
import { httpRequest } from './harness/http.js';
import { waitUntil } from './harness/wait.js';

const REQUESTS = 6;
const SERIES = 40;
const SAMPLES = 3;
const METRIC = 'promspool_relay_records_total';
const WAYS = ['stored-bytes', 'stored-labels', 'transcoded', 'decoded'] as const;

/** Request `r`: every series with `SAMPLES` recent samples (well inside a 1h sample age limit). */
function request(r: number, nowMs: number): SeriesInput[] {
  return Array.from({ length: SERIES }, (_, i) => ({
    labels: { __name__: 'relay_ways_test', i: String(i) },
    samples: Array.from({ length: SAMPLES }, (_, k): [number, number] => [nowMs - 60_000 + r * 1000 + k, r * 10 + k]),
  }));
}

/**
 * Starts the daemon with one 1.0 endpoint (one send loop, so a stored group always lines up with
 * it), relays `REQUESTS` requests, waits until the receiver holds every sample with the external
 * label, and answers the metric's value for each way once the endpoint counted every record.
 */
async function relayWays(
  name: string,
  queueConfig: Record<string, string | number>,
  protobufMessage?: 'io.prometheus.write.v2.Request',
): Promise<Record<(typeof WAYS)[number], number | undefined>> {
  const dir: TempDir = makeTempDir(`relay-ways-${name}`);
  let receiver: FakeReceiver | undefined;
  let daemon: DaemonProcess | undefined;
  try {
    const rx = await startFakeReceiver();
    receiver = rx;
    daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) =>
        daemonConfigYaml(port, {
          dataDir: `${dir.path}/data`,
          externalLabels: { cluster: 'eu-1' },
          endpoints: [
            {
              name,
              url: rx.url,
              ...(protobufMessage === undefined ? {} : { protobufMessage }),
              queueConfig: { min_shards: 1, max_shards: 1, ...queueConfig },
            },
          ],
        }),
    });
    const now = Date.now();
    for (let r = 0; r < REQUESTS; r++) {
      const res = await postWrite(daemon.writeUrl, buildWriteRequestV1(request(r, now)), '1.0');
      assert.equal(res.status, 204, res.body.toString());
    }
    await rx.waitFor((x) => x.totalSamples >= REQUESTS * SERIES * SAMPLES, 20_000);
    assert.equal(rx.totalSamples, REQUESTS * SERIES * SAMPLES);
    assert.equal(rx.received.size, SERIES);
    for (const key of rx.received.keys()) assert.match(key, /cluster="eu-1"/, 'the external label was merged');

    const d = daemon;
    const text = await waitUntil(() => httpRequest(`${d.url}/metrics`).then((res) => res.body.toString()), {
      until: (t) => metricSum(t, METRIC, { remote_name: name }) >= REQUESTS,
      timeoutMs: 10_000,
      description: `${REQUESTS} relayed records counted by ${name}`,
    });
    assert.equal(
      labeledMetricValue(text, 'promspool_receiver_requests_stored_as_received_total'),
      REQUESTS,
      'every request was stored as received (a relayed record)',
    );
    const byWay = Object.fromEntries(
      WAYS.map((way) => [way, labeledMetricValue(text, METRIC, { remote_name: name, url: rx.url, way })]),
    ) as Record<(typeof WAYS)[number], number | undefined>;
    const exit = await daemon.stop();
    daemon = undefined;
    assert.deepEqual(exit, { code: 0, signal: null });
    return byWay;
  } finally {
    await daemon?.kill9();
    await receiver?.close();
    dir.remove();
  }
}

describe('promspool_relay_records_total from the real CLI', () => {
  it('external labels, no rules, one 1.0 endpoint: every record goes out as its stored bytes', async () => {
    assert.deepEqual(await relayWays('bytes', {}), {
      'stored-bytes': REQUESTS,
      'stored-labels': 0,
      transcoded: 0,
      decoded: 0,
    });
  });

  it('the same with sample_age_limit set: every record goes out as stored labels', async () => {
    assert.deepEqual(await relayWays('labels', { sample_age_limit: '1h' }), {
      'stored-bytes': 0,
      'stored-labels': REQUESTS,
      transcoded: 0,
      decoded: 0,
    });
  });

  it('the same to a 2.0 endpoint: every record is transcoded', async () => {
    assert.deepEqual(await relayWays('v2', {}, 'io.prometheus.write.v2.Request'), {
      'stored-bytes': 0,
      'stored-labels': 0,
      transcoded: REQUESTS,
      decoded: 0,
    });
  });
});
