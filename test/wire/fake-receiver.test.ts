import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { remoteWriteHeaders } from '../../src/wire/headers.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1, buildWriteRequestV2, postRemoteWrite } from '../helpers/remote-write-client.js';
import { buildRecord, STALE_NAN_BITS, wholeSlices } from './record-builder.js';

describe('fake receiver', () => {
  let rx: FakeReceiver;
  before(async () => {
    rx = await startFakeReceiver();
  });
  after(async () => {
    await rx.close();
  });

  it('records accepted samples per series and counts order violations', async () => {
    const up = { __name__: 'up', job: 'a' };
    const r1 = await postRemoteWrite(
      rx.url,
      buildWriteRequestV1([
        {
          labels: up,
          samples: [
            [10, 1],
            [20, 1],
          ],
        },
      ]),
    );
    assert.equal(r1.status, 204);
    await postRemoteWrite(
      rx.url,
      buildWriteRequestV1([
        {
          labels: up,
          samples: [
            [20, 2],
            [30, 3],
          ],
        },
      ]),
    );
    const key = seriesKey(up);
    assert.equal(key, '{__name__="up",job="a"}');
    assert.deepEqual(
      rx.received.get(key)?.map((s) => [s.ts, s.value]),
      [
        [10, 1],
        [20, 1],
        [20, 2],
        [30, 3],
      ],
    );
    assert.equal(rx.orderViolations, 1);
    assert.equal(rx.totalSamples, 4);
    assert.equal(rx.requests, 2);
    assert.equal(rx.headersSeen['content-encoding'], 'snappy');
  });

  it('follows queued behaviours and counts only 2xx-answered samples', async () => {
    const before = rx.totalSamples;
    rx.respondWith([{ status: 500, body: 'boom' }, { status: 429, headers: { 'Retry-After': '3' } }, { reset: true }]);
    const body = buildWriteRequestV1([{ labels: { __name__: 'q' }, samples: [[1, 1]] }]);
    const r1 = await postRemoteWrite(rx.url, body);
    assert.deepEqual([r1.status, r1.body], [500, 'boom']);
    const r2 = await postRemoteWrite(rx.url, body);
    assert.deepEqual([r2.status, r2.headers['retry-after']], [429, '3']);
    await assert.rejects(postRemoteWrite(rx.url, body));
    assert.equal(rx.totalSamples, before);
    const r4 = await postRemoteWrite(rx.url, body);
    assert.equal(r4.status, 204);
    assert.equal(rx.totalSamples, before + 1);
  });

  it('runs a script once the queue is empty, and answers 400 to undecodable bodies', async () => {
    rx.script((req) =>
      req.series.some((s) => s.labels.__name__ === 'reject_me') ? { status: 400, body: 'no' } : { status: 200 },
    );
    const bad = await postRemoteWrite(
      rx.url,
      buildWriteRequestV1([{ labels: { __name__: 'reject_me' }, samples: [[1, 1]] }]),
    );
    const good = await postRemoteWrite(
      rx.url,
      buildWriteRequestV1([{ labels: { __name__: 'fine' }, samples: [[1, 1]] }]),
    );
    rx.script(undefined);
    assert.deepEqual([bad.status, good.status], [400, 200]);
    assert.equal(rx.received.has('{__name__="reject_me"}'), false);
    assert.equal(rx.received.has('{__name__="fine"}'), true);
    const garbage = await postRemoteWrite(rx.url, Buffer.from('not snappy at all'));
    assert.equal(garbage.status, 400);
    assert.equal(rx.decodeErrors, 1);
  });

  it('answers 2.0 requests with the written-count headers', async () => {
    const res = await postRemoteWrite(
      rx.url,
      buildWriteRequestV2([
        { labels: { __name__: 'v2', a: 'b' }, samples: [[5, 6]], metadata: { type: 'gauge', help: 'H', unit: '' } },
      ]),
      { version: '2.0' },
    );
    assert.equal(res.status, 204);
    assert.equal(res.headers['x-prometheus-remote-write-samples-written'], '1');
    assert.equal(res.headers['x-prometheus-remote-write-histograms-written'], '0');
    assert.deepEqual(
      rx.received.get('{__name__="v2",a="b"}')?.map((s) => s.value),
      [6],
    );
    assert.deepEqual(rx.metadata.at(-1), { metricFamilyName: 'v2', type: 'gauge', help: 'H', unit: '' });
  });

  it('waitFor resolves on the request that makes it true and rejects after its timeout', async () => {
    rx.respondWith([{ status: 204, delayMs: 30 }]);
    const waiting = rx.waitFor((r) => r.received.has('{__name__="late"}'), 5000);
    const post = postRemoteWrite(rx.url, buildWriteRequestV1([{ labels: { __name__: 'late' }, samples: [[1, 1]] }]));
    await waiting;
    assert.equal((await post).status, 204);
    await assert.rejects(
      rx.waitFor(() => false, 20),
      /condition not met within 20 ms/,
    );
  });

  it('decodes what the promspool encoder sends with promspool headers, stale markers intact', async () => {
    const record = buildRecord([
      {
        labels: { __name__: 'e2e', job: 'x' },
        samples: [
          [100, 1],
          [200, 0],
        ],
      },
    ]);
    new BigUint64Array(record.values.buffer)[1] = STALE_NAN_BITS;
    const enc = createWriteRequestEncoderV1({ externalLabels: { cluster: 'eu1' } });
    const body = compressBlock(enc.encode(wholeSlices(record), 1, []));
    const res = await request(rx.url, {
      method: 'POST',
      body,
      headers: remoteWriteHeaders('prometheus.WriteRequest', { 'X-Scope-OrgID': 't' }, '0.1.0'),
    });
    await res.body.dump();
    assert.equal(res.statusCode, 204);
    assert.equal(rx.headersSeen['user-agent'], 'promspool/0.1.0');
    assert.equal(rx.headersSeen['x-scope-orgid'], 't');
    assert.deepEqual(
      rx.received.get('{__name__="e2e",cluster="eu1",job="x"}')?.map((s) => [s.ts, s.bits]),
      [
        [100, 0x3ff0000000000000n],
        [200, STALE_NAN_BITS],
      ],
    );
  });
});
