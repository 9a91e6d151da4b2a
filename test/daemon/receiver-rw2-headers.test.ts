/**
 * The remote-write 2.0 spec's X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written
 * headers are on every 2.0 answer, refusals included: what was written, 0 when nothing was (a
 * refused request is rolled back whole). 1.0 answers carry none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { DiskFullError } from '../../src/errors.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest, postWrite, RW1_HEADERS, RW2_HEADERS, type TestResponse } from './http-client.js';
import { TWO_SERIES, writeRequestV1, writeRequestV2 } from './rw-bodies.js';
import { testConfig } from './test-config.js';

const WRITTEN = ['samples', 'histograms', 'exemplars'].map((k) => `x-prometheus-remote-write-${k}-written`);

function written(res: TestResponse): unknown[] {
  return WRITTEN.map((h) => res.headers[h]);
}

describe('X-Prometheus-Remote-Write-*-Written on every 2.0 answer', () => {
  let daemon: Daemon;
  let queue: FakeQueue;
  let write: string;
  before(async () => {
    queue = new FakeQueue();
    daemon = await startDaemon(
      testConfig('', 'receiver:\n  enabled: true\n  max_body_bytes: 1KiB\n  authorization:\n    credentials: tok\n'),
      { queueFactory: async () => queue, collectDefaultMetrics: false },
    );
    write = `${daemon.url}/api/v1/write`;
  });
  after(() => daemon.stop());

  const AUTH = { ...RW2_HEADERS, Authorization: 'Bearer tok' };

  test('204: what was written', async () => {
    const res = await postWrite(write, writeRequestV2(TWO_SERIES), AUTH);
    assert.equal(res.status, 204);
    assert.deepEqual(written(res), ['3', '0', '0']);
  });

  test('400 for a body that does not decode: zeros, and the appender rolled back', async () => {
    const rollbacks = queue.rollbacks;
    const res = await postWrite(write, Buffer.from([0x2a, 0x05, 0x0a]), AUTH);
    assert.equal(res.status, 400);
    assert.match(res.body, /^bad remote-write request/);
    assert.deepEqual(written(res), ['0', '0', '0']);
    assert.equal(queue.rollbacks, rollbacks + 1);
  });

  test('400 for a series refused after others were appended: zeros, nothing committed', async () => {
    const before = queue.samples.length;
    const res = await postWrite(
      write,
      writeRequestV2([
        TWO_SERIES[0],
        {
          labels: [
            ['__name__', 'x'],
            ['a', ''],
          ],
          samples: [[1, 1]],
        },
      ]),
      AUTH,
    );
    assert.equal(res.status, 400);
    assert.deepEqual(written(res), ['0', '0', '0']);
    assert.equal(queue.samples.length, before);
  });

  test('401, 413, 429 and 500: zeros', async () => {
    const unauthorized = await postWrite(write, writeRequestV2(TWO_SERIES), RW2_HEADERS);
    assert.equal(unauthorized.status, 401);
    assert.deepEqual(written(unauthorized), ['0', '0', '0']);

    const tooLarge = await httpRequest(write, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Length': '4096' },
      body: Buffer.alloc(4096),
    });
    assert.equal(tooLarge.status, 413);
    assert.deepEqual(written(tooLarge), ['0', '0', '0']);

    queue.commitError = new DiskFullError('max_disk_bytes reached');
    try {
      const full = await postWrite(write, writeRequestV2(TWO_SERIES), AUTH);
      assert.equal(full.status, 429);
      assert.deepEqual(written(full), ['0', '0', '0']);
      queue.commitError = new Error('disk on fire');
      const failed = await postWrite(write, writeRequestV2(TWO_SERIES), AUTH);
      assert.equal(failed.status, 500);
      assert.deepEqual(written(failed), ['0', '0', '0']);
    } finally {
      queue.commitError = undefined;
    }
  });

  test('1.0 answers carry none, 204 or 400', async () => {
    const auth1 = { ...RW1_HEADERS, Authorization: 'Bearer tok' };
    const ok = await postWrite(write, writeRequestV1(TWO_SERIES), auth1);
    assert.equal(ok.status, 204);
    assert.deepEqual(written(ok), [undefined, undefined, undefined]);
    const bad = await postWrite(write, Buffer.from([0x0a, 0x05, 0x0a]), auth1);
    assert.equal(bad.status, 400);
    assert.deepEqual(written(bad), [undefined, undefined, undefined]);
  });
});
