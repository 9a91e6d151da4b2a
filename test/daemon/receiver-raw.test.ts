/**
 * The receiver's relay fast path: which requests are stored as received (record kind 2), what
 * such a record holds, and that every other request still goes through the decoding path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { DiskFullError } from '../../src/errors.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest, postWrite, RW1_HEADERS } from './http-client.js';
import { type TestSeries, TWO_SERIES, writeRequestV1 } from './rw-bodies.js';
import { testConfig } from './test-config.js';

const SERIES = TWO_SERIES;

async function start(relayScanWorkers: number): Promise<{ daemon: Daemon; queue: FakeQueue; write: string }> {
  const queue = new FakeQueue();
  queue.storesRawRequests = true;
  const daemon = await startDaemon(testConfig('', 'receiver:\n  enabled: true\n'), {
    queueFactory: async () => queue,
    collectDefaultMetrics: false,
    relayScanWorkers,
  });
  return { daemon, queue, write: `${daemon.url}/api/v1/write` };
}

async function metricValue(daemon: Daemon, line: string): Promise<number> {
  const res = await httpRequest(`${daemon.url}/metrics`);
  const found = res.body.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

// The same behaviour whether the scan runs on the event loop or in a worker thread.
for (const workers of [0, 1])
  describe(`receiver relay fast path (${workers} scan workers)`, () => {
    let d: Awaited<ReturnType<typeof start>>;
    before(async () => {
      d = await start(workers);
    });
    after(() => d.daemon.stop());

    test('a Prometheus-shaped 1.0 request is appended as one record holding its series as received', async () => {
      const records = d.queue.records.length;
      const res = await postWrite(d.write, writeRequestV1(SERIES));
      assert.equal(res.status, 204);
      assert.equal(d.queue.records.length, records + 1);
      assert.equal(d.queue.samples.length, 0, 'nothing went through an appender');
      const { payload, signals } = d.queue.records.at(-1)!;
      assert.equal(signals, 3);
      const rec = decodeRecord(payload);
      assert.ok(rec.rawSeries !== undefined);
      assert.equal(rec.seriesCount, 2);
      assert.deepEqual([...rec.sampleOffsets], [0, 2, 3]);
      assert.deepEqual([...rec.timestamps], [1_700_000_000_000, 1_700_000_015_000, 1_700_000_000_500]);
      assert.deepEqual([...rec.values], [1, 0, 21.5]);
      const labelsOf = (s: number) => {
        const out: string[] = [];
        for (let i = rec.labelOffsets[s]; i < rec.labelOffsets[s + 1]; i++) {
          out.push(`${rec.strings[rec.labelRefs[2 * i]]}=${rec.strings[rec.labelRefs[2 * i + 1]]}`);
        }
        return out;
      };
      assert.deepEqual(labelsOf(0), ['__name__=up', 'instance=a:9100', 'job=node']);
      assert.deepEqual(labelsOf(1), ['__name__=temp_celsius', 'room=lab']);
    });

    test("a record's buffer is reused only after its append settled: two appends held at once keep their own bytes", async () => {
      const series = (name: string): TestSeries[] => [{ labels: [['__name__', name]], samples: [[5, 1]] }];
      const namesOf = (p: Uint8Array) => {
        const rec = decodeRecord(p);
        return [rec.strings[rec.labelRefs[1]]];
      };
      const before = d.queue.records.length;
      const started = d.queue.commitsStarted;
      let open!: () => void;
      d.queue.commitGate = new Promise((r) => {
        open = r;
      });
      const commitStarted = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (d.queue.commitsStarted >= started + n) {
              d.queue.onCommit = undefined;
              resolve();
            }
          };
          d.queue.onCommit = check;
          check();
        });
      // A's append waits at the gate; B is scanned meanwhile. Had A's buffer gone back to the
      // worker before A's append settled, B's record would have been written over it.
      const a = postWrite(d.write, writeRequestV1(series('first')));
      await commitStarted(1);
      const b = postWrite(d.write, writeRequestV1(series('second')));
      await commitStarted(2);
      open();
      d.queue.commitGate = undefined;
      assert.deepEqual([(await a).status, (await b).status], [204, 204]);
      // And later requests, written into the released buffers, hold their own bytes too.
      for (let i = 0; i < 4; i++)
        assert.equal((await postWrite(d.write, writeRequestV1(series(`later_${i}`)))).status, 204);
      assert.deepEqual(
        d.queue.records.slice(before).map((r) => namesOf(r.payload)),
        [['first'], ['second'], ['later_0'], ['later_1'], ['later_2'], ['later_3']],
      );
    });

    test('fast-path requests are counted, and their samples too', async () => {
      const raw0 = await metricValue(d.daemon, 'promspool_receiver_requests_stored_as_received_total');
      const samples0 = await metricValue(d.daemon, 'promspool_receiver_samples_total{type="sample"}');
      assert.equal((await postWrite(d.write, writeRequestV1(SERIES))).status, 204);
      assert.equal(await metricValue(d.daemon, 'promspool_receiver_requests_stored_as_received_total'), raw0 + 1);
      assert.equal(await metricValue(d.daemon, 'promspool_receiver_samples_total{type="sample"}'), samples0 + 3);
    });

    test('unsorted labels take the decoding path, which refuses them with a 400 naming the labels', async () => {
      const records = d.queue.records.length;
      const unsorted: TestSeries[] = [
        {
          labels: [
            ['job', 'node'],
            ['__name__', 'up'],
          ],
          samples: [[1, 1]],
        },
      ];
      const res = await postWrite(d.write, writeRequestV1(unsorted));
      assert.equal(res.status, 400);
      assert.match(res.body, /not sorted/);
      assert.equal(d.queue.records.length, records);
    });

    test('a series without __name__ is refused with the decoding path error', async () => {
      const res = await postWrite(d.write, writeRequestV1([{ labels: [['job', 'x']], samples: [[1, 1]] }]));
      assert.equal(res.status, 400);
      assert.match(res.body, /__name__/);
    });

    test('a body that is not snappy is refused with 400 naming the problem, a body over the cap with 413', async () => {
      const records = d.queue.records.length;
      const post = (body: Buffer) => httpRequest(d.write, { method: 'POST', headers: RW1_HEADERS, body });
      const bad = await post(Buffer.from([0x0a, 0x01, 0xff]));
      assert.equal(bad.status, 400);
      assert.match(bad.body, /malformed snappy block/);
      // Claims 2^28 uncompressed bytes, over the default max_body_bytes.
      const huge = await post(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01, 0x00]));
      assert.equal(huge.status, 413);
      assert.equal(d.queue.records.length, records);
    });

    test('a refused commit answers 429 on the fast path too, and nothing is kept', async () => {
      const records = d.queue.records.length;
      d.queue.commitError = new DiskFullError('max_disk_bytes reached');
      try {
        const res = await postWrite(d.write, writeRequestV1(SERIES));
        assert.equal(res.status, 429);
      } finally {
        d.queue.commitError = undefined;
      }
      assert.equal(d.queue.records.length, records);
    });

    test('when the queue does not take requests as received, every request is decoded', async () => {
      d.queue.storesRawRequests = false;
      try {
        const records = d.queue.records.length;
        const samples = d.queue.samples.length;
        assert.equal((await postWrite(d.write, writeRequestV1(SERIES))).status, 204);
        assert.equal(d.queue.records.length, records);
        assert.equal(d.queue.samples.length, samples + 3);
      } finally {
        d.queue.storesRawRequests = true;
      }
    });
  });
