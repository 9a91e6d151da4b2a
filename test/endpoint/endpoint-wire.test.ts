import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import type { Segment } from '../../src/filequeue/types.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { startFakeReceiver } from '../helpers/fake-receiver.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord, samples } from '../network/record-builder.js';
import { FakeFileQueue, RecordTokens, segment } from './fake-file-queue.js';

describe('Endpoint with the real RW 1.0 encoder and snappy', () => {
  it('delivers every sample in order with external labels through 503s', async () => {
    const receiver = await startFakeReceiver();
    receiver.respondWith([{ status: 503 }, { status: 204 }, { status: 503, headers: { 'retry-after': '0' } }]);
    const tokens = new RecordTokens<SignalRecord>();
    const segs: Segment[] = [];
    for (let s = 0; s < 2; s++) {
      const series = Array.from({ length: 20 }, (_, k) => ({
        labels: { __name__: 'm', k: String(k) },
        hash: Math.imul(k + 7, 2654435761) >>> 0,
        samples: samples(10, 1000 + s * 10),
      }));
      segs.push(segment(s + 1, [tokens.token(buildRecord(series))]));
    }
    const fq = new FakeFileQueue(segs);
    const ep = createEndpoint({
      config: endpointConfig(receiver.url, {
        minShards: 2,
        maxSamplesPerSend: 33,
        batchSendDeadlineMs: 0,
        minBackoffMs: 1,
        maxBackoffMs: 2,
      }),
      fileQueue: fq,
      ttlMs: 0,
      externalLabels: { cluster: 'eu1' },
      decodeRecord: (p) => tokens.lookup(p) as SignalRecord,
      clock: systemClock,
    });
    try {
      await fq.waitForReleases(2);
      assert.equal(receiver.totalSamples, 400);
      assert.equal(receiver.orderViolations, 0);
      assert.equal(receiver.received.size, 20);
      const got = receiver.received.get('{__name__="m",cluster="eu1",k="3"}');
      assert.deepEqual(
        got?.map((x) => x.ts),
        Array.from({ length: 20 }, (_, i) => 1000 + i),
      );
      assert.match(String(receiver.headersSeen['user-agent']), /^promspool\//);
      assert.equal(ep.stats().samples.sent, 400);
    } finally {
      await ep.stop({ timeoutMs: 0 });
      await receiver.close();
    }
  });
});
