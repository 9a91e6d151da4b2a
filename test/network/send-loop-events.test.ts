import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { QueueConfig } from '../../src/config/types.js';
import { createRemoteWriteClient, type RemoteWriteClient } from '../../src/network/http-client.js';
import {
  type DeliveryDrop,
  type DeliveryEvents,
  type DeliveryFailure,
  type SendLoop,
  startSendLoop,
} from '../../src/network/send-loop.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { compress, DoneRecorder, endpointConfig, type LogLine, nextState, recordingLogger, workOf } from './harness.js';
import { createJsonEncoder } from './json-encoder.js';
import { buildRecord, samples } from './record-builder.js';
import { startTestReceiver, type TestReceiver } from './test-receiver.js';

type Event = ['failed', string, DeliveryFailure] | ['dropped', string, DeliveryDrop] | ['delivered', string, number];

describe('SendLoop delivery events', () => {
  let receiver: TestReceiver;
  let client: RemoteWriteClient;
  let clock: SimulatedClock;
  let done: DoneRecorder;
  let loop: SendLoop | undefined;
  let logs: LogLine[];
  let events: Event[];
  const recorder: DeliveryEvents = {
    failed: (l, f) => events.push(['failed', l, f]),
    dropped: (l, d) => events.push(['dropped', l, d]),
    delivered: (l, n) => events.push(['delivered', l, n]),
  };

  beforeEach(async () => {
    receiver = await startTestReceiver();
    clock = new SimulatedClock(0);
    done = new DoneRecorder();
    logs = [];
    events = [];
  });
  afterEach(async () => {
    await loop?.stop({ timeoutMs: 0 });
    loop = undefined;
    await client?.destroy();
    await receiver.close();
  });

  function start(url: string, queue: Partial<QueueConfig> = {}): SendLoop {
    const config = endpointConfig(url, { batchSendDeadlineMs: 0, minBackoffMs: 100, maxBackoffMs: 5000, ...queue });
    client = createRemoteWriteClient({ config, connections: 2, version: 'test' });
    loop = startSendLoop({
      name: 'ep/shard-0',
      queue: config.queue,
      remoteTimeoutMs: 30_000,
      client,
      encoder: createJsonEncoder(),
      compress,
      onPortionDone: done.callback,
      clock,
      logger: recordingLogger(logs),
      random: () => 0,
      events: recorder,
    });
    return loop;
  }

  it('a 503 then a 204: failed with status and retry delay, then delivered with the signals', async () => {
    receiver.replies = [{ status: 503, body: 'busy' }];
    const l = start(receiver.url);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(7) }]), P));
    await backoff;
    assert.deepEqual(events, [['failed', 'ep/shard-0', { error: 'HTTP 503: busy', status: 503, retryInMs: 100 }]]);
    clock.advance(100);
    await done.waitFor(1);
    assert.deepEqual(events[1], ['delivered', 'ep/shard-0', 7]);
  });

  it('a 400: one dropped event with the counts, and no warn of its own (the events own the log)', async () => {
    receiver.replies = [{ status: 400, body: 'out of order' }];
    const l = start(receiver.url);
    await l.send(workOf(buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(3) }]), P));
    await done.waitFor(1);
    assert.deepEqual(events, [
      ['dropped', 'ep/shard-0', { status: 400, error: 'out of order', samples: 3, histograms: 0, exemplars: 0 }],
    ]);
    assert.deepEqual(
      logs.filter((x) => x.level === 'warn'),
      [],
    );
  });

  it('connection refused: the error code comes with the failure', async () => {
    const closed = await startTestReceiver();
    const url = closed.url;
    await closed.close();
    const l = start(url);
    const backoff = nextState((f) => l.onStateChange(f), 'backoff');
    await l.send(workOf(buildRecord([{ labels: { __name__: 'a' }, hash: 0, samples: samples(1) }]), P));
    await backoff;
    assert.equal(events.length, 1);
    const [kind, name, f] = events[0] as ['failed', string, DeliveryFailure];
    assert.equal(kind, 'failed');
    assert.equal(name, 'ep/shard-0');
    assert.equal(f.code, 'ECONNREFUSED');
    assert.match(f.error, /ECONNREFUSED/);
    assert.equal(f.status, undefined);
    assert.equal(f.retryInMs, 100);
  });
});

const P = { segmentId: 1, record: 0, vshard: 0 };
