/**
 * Remote-write 2.0 sending with fallback to 1.0, through a NetworkManager with the real encoders
 * and the fault-injecting fake receiver (which decodes both protocols with protobufjs): 415s,
 * 2xx without written headers, partial written counts, the persisted fallback and the probe.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { EndpointConfig } from '../../src/config/types.js';
import { createNetworkManager, type NetworkManager } from '../../src/network/manager.js';
import { PROTOCOL_STATE_FILE, parseWrittenCounts } from '../../src/network/protocol-negotiation.js';
import type { MetadataEntry } from '../../src/serialization/types.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { createWriteRequestEncoderV2 } from '../../src/wire/rw2-encoder.js';
import type { ProtobufMessage } from '../../src/wire/types.js';
import { type Behaviour, type FakeReceiver, type RequestInfo, startFakeReceiver } from '../helpers/fake-receiver.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { compress, DoneRecorder, endpointConfig, type LogLine, recordingLogger, workOf } from './harness.js';
import { buildRecord, samples } from './record-builder.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const V1: ProtobufMessage = 'prometheus.WriteRequest';
const V2: ProtobufMessage = 'io.prometheus.write.v2.Request';
const HOUR = 3_600_000;

const encoderOf = (message: ProtobufMessage) =>
  message === V2
    ? createWriteRequestEncoderV2({ externalLabels: {} })
    : createWriteRequestEncoderV1({ externalLabels: {} });

/** Two series of `n` samples each, starting at `t0`, on virtual shard `vshard`. */
function record(n: number, t0: number, vshard = 0) {
  return buildRecord([
    { labels: { __name__: 'up', job: 'a' }, hash: vshard, samples: samples(n, t0) },
    { labels: { __name__: 'up', job: 'b' }, hash: vshard, samples: samples(n, t0) },
  ]);
}

describe('remote-write 2.0 negotiation', () => {
  let receiver: FakeReceiver;
  let clock: SimulatedClock;
  let dir: string;
  let logs: LogLine[];
  let done: DoneRecorder;
  let net: NetworkManager | undefined;
  /** Protocol of every request the receiver saw, in order. */
  let versions: string[];

  beforeEach(() => {
    clock = new SimulatedClock(T0);
    dir = mkdtempSync(join(tmpdir(), 'promspool-negotiation-'));
    logs = [];
    done = new DoneRecorder();
    versions = [];
  });
  afterEach(async () => {
    await net?.stop({ timeoutMs: 0 });
    net = undefined;
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a receiver whose answers `answer` decides per request (and records each one's protocol). */
  async function startReceiver(answer: (req: RequestInfo) => Behaviour, writtenHeaders = true): Promise<void> {
    receiver = await startFakeReceiver({ writtenHeaders });
    receiver.script((req) => {
      versions.push(req.version);
      return answer(req);
    });
  }

  function start(rest: Partial<EndpointConfig> = {}, metadata: readonly MetadataEntry[] = []): NetworkManager {
    const config = endpointConfig(
      receiver.url,
      { maxSamplesPerSend: 1000, minBackoffMs: 100, maxBackoffMs: 100 },
      { protobufMessage: V2, protobufMessageProbeIntervalMs: HOUR, ...rest },
    );
    net = createNetworkManager({
      config,
      createEncoder: encoderOf,
      onPortionDone: done.callback,
      compress,
      clock,
      logger: recordingLogger(logs),
      random: () => 0,
      stateDir: dir,
      metadata: () => metadata,
    });
    return net;
  }

  async function sendAndWait(n: number, t0: number, portions: number): Promise<void> {
    const m = net!;
    await m.sendOrWait(workOf(record(n, t0), { segmentId: 1, record: portions - 1, vshard: 0 }));
    // The loop takes the work from its mailbox in a promise callback: flush once it holds it.
    await clock.settle();
    m.flush();
    await done.waitFor(portions);
  }

  const fallbackWarnings = () => logs.filter((l) => l.level === 'warn' && l.msg.includes('does not take protocol 2.0'));

  it('a 415 sends the same batch again as 1.0, once, keeps 1.0 and persists it', async () => {
    await startReceiver((req) => ({ status: req.version === '2.0' ? 415 : 204 }));
    const m = start();
    await sendAndWait(10, 1000, 1);
    assert.deepEqual(versions, ['2.0', '1.0']);
    assert.deepEqual(done.calls, [{ portion: { segmentId: 1, record: 0, vshard: 0 }, outcome: { status: 'sent' } }]);
    // Every sample delivered once, in order.
    assert.deepEqual(
      receiver.received.get('{__name__="up",job="a"}')?.map((s) => [s.ts, s.value]),
      samples(10, 1000),
    );
    assert.equal(receiver.totalSamples, 20);
    assert.equal(receiver.orderViolations, 0);
    const s = m.stats();
    assert.deepEqual(s.protocol, {
      protobufMessage: V1,
      fallbacks: { unsupported_media_type: 1, no_written_headers: 0 },
      probes: 0,
    });
    const loop = s.loops[0];
    assert.equal(loop.samples.sent, 20);
    assert.equal(loop.samples.failed, 0);
    assert.equal(loop.samples.dropped4xx, 0);
    assert.equal(loop.failedAttempts, 0);
    assert.deepEqual(loop.writes, { partial: 0, nothingWritten: 0, fallbackResends: 1 });
    const persisted = JSON.parse(readFileSync(join(dir, PROTOCOL_STATE_FILE), 'utf8'));
    assert.deepEqual(persisted, { protobufMessage: V1, fellBackAtMs: T0, reason: 'unsupported_media_type' });
    assert.equal(fallbackWarnings().length, 1);

    // The next batch goes as 1.0 at once.
    await sendAndWait(5, 5000, 2);
    assert.deepEqual(versions, ['2.0', '1.0', '1.0']);
    assert.equal(receiver.totalSamples, 30);
    assert.equal(fallbackWarnings().length, 1);
  });

  it('after a restart with the persisted fallback sends 1.0 directly, and probes 2.0 after the interval', async () => {
    writeFileSync(
      join(dir, PROTOCOL_STATE_FILE),
      JSON.stringify({ protobufMessage: V1, fellBackAtMs: T0 - HOUR + 60_000, reason: 'unsupported_media_type' }),
    );
    await startReceiver(() => ({ status: 204 }));
    const m = start();
    await sendAndWait(3, 1000, 1);
    assert.deepEqual(versions, ['1.0']);
    assert.equal(m.stats().protocol?.protobufMessage, V1);
    // One minute later the hour since the fallback is over: 2.0 again, which this receiver takes.
    await clock.advanceAndSettle(60_000);
    await sendAndWait(3, 2000, 2);
    assert.deepEqual(versions, ['1.0', '2.0']);
    assert.deepEqual(m.stats().protocol, {
      protobufMessage: V2,
      fallbacks: { unsupported_media_type: 0, no_written_headers: 0 },
      probes: 1,
    });
    assert.equal(existsSync(join(dir, PROTOCOL_STATE_FILE)), false, 'a confirmed probe forgets the fallback');
    assert.equal(receiver.totalSamples, 12);
  });

  it('a probe the receiver refuses again falls back again (counted) and the batch still arrives once', async () => {
    await startReceiver((req) => ({ status: req.version === '2.0' ? 415 : 204 }));
    const m = start();
    await sendAndWait(2, 1000, 1);
    await clock.advanceAndSettle(HOUR);
    await sendAndWait(2, 2000, 2);
    assert.deepEqual(versions, ['2.0', '1.0', '2.0', '1.0']);
    assert.deepEqual(m.stats().protocol, {
      protobufMessage: V1,
      fallbacks: { unsupported_media_type: 2, no_written_headers: 0 },
      probes: 1,
    });
    assert.equal(receiver.totalSamples, 8);
    assert.equal(JSON.parse(readFileSync(join(dir, PROTOCOL_STATE_FILE), 'utf8')).fellBackAtMs, T0 + HOUR);
  });

  it('a 2xx to 2.0 without written headers is a 415: the batch is sent again as 1.0', async () => {
    await startReceiver(() => ({ status: 200 }), false);
    const m = start();
    await sendAndWait(4, 1000, 1);
    assert.deepEqual(versions, ['2.0', '1.0']);
    // A receiver that took the 2.0 body (without saying so) has it twice: a duplicate, never a loss.
    assert.equal(receiver.totalSamples, 16);
    assert.deepEqual(m.stats().protocol?.fallbacks, { unsupported_media_type: 0, no_written_headers: 1 });
    assert.equal(m.stats().loops[0].samples.sent, 8);
    assert.equal(fallbackWarnings().length, 1);
  });

  it('counts what the written headers say was not written as failed, without retrying', async () => {
    const written = (samples: number): Behaviour => ({
      status: 200,
      headers: {
        'X-Prometheus-Remote-Write-Samples-Written': String(samples),
        'X-Prometheus-Remote-Write-Histograms-Written': '0',
        'X-Prometheus-Remote-Write-Exemplars-Written': '0',
      },
    });
    const answers = [written(15), written(0)];
    await startReceiver(() => answers.shift() ?? { status: 204 });
    const m = start();
    await sendAndWait(10, 1000, 1);
    let loop = m.stats().loops[0];
    assert.equal(loop.samples.sent, 15);
    assert.equal(loop.samples.failed, 5);
    assert.equal(loop.samples.retried, 0);
    assert.deepEqual(loop.writes, { partial: 1, nothingWritten: 0, fallbackResends: 0 });
    // Nothing written of a non-empty batch: an error of its own, still not retried.
    await sendAndWait(10, 2000, 2);
    loop = m.stats().loops[0];
    assert.equal(loop.samples.sent, 15);
    assert.equal(loop.samples.failed, 25);
    assert.deepEqual(loop.writes, { partial: 1, nothingWritten: 1, fallbackResends: 0 });
    assert.match(loop.lastError?.message ?? '', /nothing of the batch was written/);
    assert.deepEqual(versions, ['2.0', '2.0']);
    assert.equal(m.stats().protocol?.protobufMessage, V2);
    assert.deepEqual(
      done.calls.map((c) => c.outcome),
      [{ status: 'sent' }, { status: 'sent' }],
    );
    assert.equal(
      logs.filter((l) => l.msg.includes('did not write all of the batch')).length,
      1,
      'the second short write falls in the throttled minute',
    );
  });

  it('with two loops the first 415 flips the endpoint; the other loop retries its batch as 1.0', async () => {
    let first = true;
    await startReceiver((req) => {
      if (req.version === '1.0') return { status: 204 };
      if (first) {
        first = false;
        // Answer after the other loop's 2.0 request arrived (that one gets a 503).
        return { status: 415, delayMs: 50 };
      }
      return { status: 503 };
    });
    const m = start({ queue: { ...endpointConfig('').queue, minShards: 2, maxShards: 2, maxSamplesPerSend: 1000 } });
    await m.sendOrWait(workOf(record(3, 1000, 0), { segmentId: 1, record: 0, vshard: 0 }));
    await m.sendOrWait(workOf(record(3, 1000, 1), { segmentId: 1, record: 0, vshard: 1 }));
    await clock.settle();
    m.flush();
    await receiver.waitFor(() => versions.length >= 3, 5000);
    // The 503'd loop waits its backoff (100 ms) and then sends 1.0.
    await clock.advanceAndSettle(100);
    await done.waitFor(2);
    assert.deepEqual(versions, ['2.0', '2.0', '1.0', '1.0']);
    assert.deepEqual(m.stats().protocol?.fallbacks, { unsupported_media_type: 1, no_written_headers: 0 });
    assert.equal(receiver.totalSamples, 6 * 2);
    assert.equal(fallbackWarnings().length, 1);
  });

  it('2.0 carries metadata inline; metadata requests are not sent on 2.0', async () => {
    await startReceiver(() => ({ status: 204 }));
    const meta: MetadataEntry[] = [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }];
    const m = start({}, meta);
    await sendAndWait(1, 1000, 1);
    assert.deepEqual(versions, ['2.0']);
    assert.deepEqual(
      receiver.metadata.map((e) => [e.metricFamilyName, e.type, e.help]),
      [
        ['up', 'gauge', 'Up.'],
        ['up', 'gauge', 'Up.'],
      ],
    );
    assert.equal(await m.sendMetadata(meta), 'inline');
    assert.deepEqual(versions, ['2.0']);
  });

  it('after a fallback metadata goes in 1.0 metadata requests again', async () => {
    await startReceiver((req) => ({ status: req.version === '2.0' ? 415 : 204 }));
    const meta: MetadataEntry[] = [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }];
    const m = start({}, meta);
    await sendAndWait(1, 1000, 1);
    assert.equal(await m.sendMetadata(meta), 'sent');
    assert.deepEqual(versions, ['2.0', '1.0', '1.0']);
    assert.deepEqual(receiver.metadata.at(-1), meta[0]);
  });
});

describe('parseWrittenCounts', () => {
  it('is undefined without any written header, and counts a missing or malformed one as 0', () => {
    assert.equal(parseWrittenCounts({ 'content-type': 'text/plain' }), undefined);
    assert.deepEqual(parseWrittenCounts({ 'x-prometheus-remote-write-samples-written': '7' }), {
      samples: 7,
      histograms: 0,
      exemplars: 0,
    });
    assert.deepEqual(
      parseWrittenCounts({
        'x-prometheus-remote-write-samples-written': '-1',
        'x-prometheus-remote-write-histograms-written': ' 3 ',
        'x-prometheus-remote-write-exemplars-written': 'x',
      }),
      { samples: 0, histograms: 3, exemplars: 0 },
    );
  });
});
