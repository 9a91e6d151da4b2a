import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compressSync } from 'snappy';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { DiskFullError } from '../../src/errors.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest, postWrite, RW1_HEADERS, RW2_HEADERS } from './http-client.js';
import { type TestSeries, TWO_SERIES, writeRequestV1, writeRequestV2 } from './rw-bodies.js';
import { testConfig } from './test-config.js';

const EXPECTED_SAMPLES = [
  { labels: { __name__: 'up', instance: 'a:9100', job: 'node' }, timestampMs: 1_700_000_000_000, value: 1 },
  { labels: { __name__: 'up', instance: 'a:9100', job: 'node' }, timestampMs: 1_700_000_015_000, value: 0 },
  { labels: { __name__: 'temp_celsius', room: 'lab' }, timestampMs: 1_700_000_000_500, value: 21.5 },
];

async function start(extra = '', receiver?: string): Promise<{ daemon: Daemon; queue: FakeQueue; write: string }> {
  const queue = new FakeQueue();
  const daemon = await startDaemon(testConfig(extra, receiver), {
    queueFactory: async () => queue,
    collectDefaultMetrics: false,
  });
  return { daemon, queue, write: `${daemon.url}/api/v1/write` };
}

describe('receiver without auth', () => {
  let d: Awaited<ReturnType<typeof start>>;
  before(async () => {
    d = await start('', 'receiver:\n  enabled: true\n  max_body_bytes: 1KiB\n');
  });
  after(() => d.daemon.stop());

  test('RW 1.0: 204 and exactly the samples of the body reach the appender, in order', async () => {
    const before = d.queue.samples.length;
    const res = await postWrite(d.write, writeRequestV1(TWO_SERIES));
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.equal(res.headers['x-prometheus-remote-write-samples-written'], undefined);
    assert.deepEqual(d.queue.samples.slice(before), EXPECTED_SAMPLES);
  });

  test('RW 2.0: 204 with the written-counts headers', async () => {
    const before = d.queue.samples.length;
    const res = await postWrite(d.write, writeRequestV2(TWO_SERIES), RW2_HEADERS);
    assert.equal(res.status, 204);
    assert.equal(res.headers['x-prometheus-remote-write-samples-written'], '3');
    assert.equal(res.headers['x-prometheus-remote-write-histograms-written'], '0');
    assert.equal(res.headers['x-prometheus-remote-write-exemplars-written'], '0');
    assert.deepEqual(d.queue.samples.slice(before), EXPECTED_SAMPLES);
  });

  test('series handles are cached: a repeated push validates no label set again', async () => {
    const calls = d.queue.seriesCalls;
    const res = await postWrite(d.write, writeRequestV1(TWO_SERIES));
    assert.equal(res.status, 204);
    assert.equal(d.queue.seriesCalls, calls);
  });

  test('400 for a body that is not snappy', async () => {
    const before = d.queue.samples.length;
    const res = await httpRequest(d.write, {
      method: 'POST',
      headers: RW1_HEADERS,
      body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]),
    });
    assert.equal(res.status, 400);
    assert.match(res.body, /snappy/);
    assert.equal(d.queue.samples.length, before);
  });

  test('400 for snappy that holds no valid protobuf', async () => {
    const res = await postWrite(d.write, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]));
    assert.equal(res.status, 400);
    assert.match(res.body, /^bad remote-write request/);
  });

  test('400 for unsorted labels, and nothing of the request is committed', async () => {
    const before = d.queue.samples.length;
    const rollbacks = d.queue.rollbacks;
    const unsorted: TestSeries[] = [
      TWO_SERIES[0],
      {
        labels: [
          ['__name__', 'x'],
          ['zone', 'b'],
          ['app', 'c'],
        ],
        samples: [[1, 1]],
      },
    ];
    const res = await postWrite(d.write, writeRequestV1(unsorted));
    assert.equal(res.status, 400);
    assert.match(res.body, /sort/i);
    assert.equal(d.queue.samples.length, before);
    assert.equal(d.queue.rollbacks, rollbacks + 1);
  });

  test('400 for a label name the queue refuses', async () => {
    const res = await postWrite(
      d.write,
      writeRequestV1([
        {
          labels: [
            ['__name__', 'x'],
            ['bad-name', 'v'],
          ],
          samples: [[1, 1]],
        },
      ]),
    );
    assert.equal(res.status, 400);
    assert.match(res.body, /invalid label name "bad-name"/);
  });

  test('413 when Content-Length announces more than max_body_bytes', async () => {
    const body = Buffer.alloc(2048, 1);
    const res = await httpRequest(d.write, {
      method: 'POST',
      headers: { ...RW1_HEADERS, 'Content-Length': String(body.length) },
      body,
    });
    assert.equal(res.status, 413);
  });

  test('413 when a chunked body grows past max_body_bytes while streaming', async () => {
    const chunk = Buffer.alloc(600, 1);
    const res = await httpRequest(d.write, { method: 'POST', headers: RW1_HEADERS, body: [chunk, chunk] });
    assert.equal(res.status, 413);
  });

  test('413 when the snappy header claims more than max_body_bytes, before decompressing', async () => {
    // 100 KiB of zeros compresses to a few bytes: small on the wire, too large uncompressed.
    const res = await httpRequest(d.write, {
      method: 'POST',
      headers: RW1_HEADERS,
      body: compressSync(Buffer.alloc(100 * 1024)),
    });
    assert.equal(res.status, 413);
  });

  test('415 for an unknown content type, proto or encoding', async () => {
    const body = compressSync(writeRequestV1(TWO_SERIES));
    const cases: Record<string, string>[] = [
      { 'Content-Type': 'application/json', 'Content-Encoding': 'snappy' },
      { 'Content-Type': 'application/x-protobuf;proto=io.example.Other', 'Content-Encoding': 'snappy' },
      { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
      { 'Content-Type': 'application/x-protobuf' },
    ];
    for (const headers of cases) {
      const res = await httpRequest(d.write, { method: 'POST', headers, body });
      assert.equal(res.status, 415, JSON.stringify(headers));
    }
  });

  test('1.0 also under its explicit proto parameter', async () => {
    const res = await postWrite(d.write, writeRequestV1(TWO_SERIES), {
      'Content-Type': 'application/x-protobuf;proto=prometheus.WriteRequest',
      'Content-Encoding': 'snappy',
    });
    assert.equal(res.status, 204);
  });

  test('405 for GET on the write path', async () => {
    const res = await httpRequest(d.write);
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
  });

  test('429 when the queue refuses the commit with DiskFullError', async () => {
    d.queue.commitError = new DiskFullError('max_disk_bytes reached');
    try {
      const res = await postWrite(d.write, writeRequestV1(TWO_SERIES));
      assert.equal(res.status, 429);
      assert.equal(res.body, 'max_disk_bytes reached\n');
    } finally {
      d.queue.commitError = undefined;
    }
  });

  test('/metrics counts every answer by code', async () => {
    const res = await httpRequest(`${d.daemon.url}/metrics`);
    assert.equal(res.status, 200);
    const counts = Object.fromEntries(
      [...res.body.matchAll(/^promspool_receiver_requests_total\{code="(\d+)"\} (\d+)$/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    // Tests in this block run in order: 204 x4, 400 x4, 413 x3, 415 x4, 429 x1 (405 is not a write).
    assert.deepEqual(counts, { 204: 4, 400: 4, 413: 3, 415: 4, 429: 1 });
    assert.match(res.body, /^promspool_receiver_samples_total\{type="sample"\} 12$/m);
  });
});

describe('receiver with authentication', () => {
  let d: Awaited<ReturnType<typeof start>>;
  before(async () => {
    d = await start(
      '',
      'receiver:\n  enabled: true\n  authorization:\n    credentials: s3cret-token\n  basic_auth:\n    username: prom\n    password: pw\n',
    );
  });
  after(() => d.daemon.stop());

  const withAuth = (value: string | undefined) =>
    value === undefined ? RW1_HEADERS : { ...RW1_HEADERS, Authorization: value };

  test('401 without or with wrong credentials, nothing appended', async () => {
    for (const auth of [
      undefined,
      'Bearer wrong',
      'Bearer s3cret-toke',
      `Basic ${Buffer.from('prom:nope').toString('base64')}`,
    ]) {
      const res = await postWrite(d.write, writeRequestV1(TWO_SERIES), withAuth(auth));
      assert.equal(res.status, 401, String(auth));
    }
    assert.equal(d.queue.samples.length, 0);
  });

  test('204 with the bearer token or the basic credentials', async () => {
    for (const auth of [
      'Bearer s3cret-token',
      'bearer s3cret-token',
      `Basic ${Buffer.from('prom:pw').toString('base64')}`,
    ]) {
      const res = await postWrite(d.write, writeRequestV1(TWO_SERIES), withAuth(auth));
      assert.equal(res.status, 204, auth);
    }
    assert.equal(d.queue.samples.length, 9);
  });
});

test('503 for writes once shutdown began; the write in flight still completes with 204', async () => {
  const d = await start();
  let releaseCommit!: () => void;
  d.queue.commitGate = new Promise((r) => {
    releaseCommit = r;
  });
  const committing = new Promise<void>((r) => {
    d.queue.onCommit = r;
  });
  const first = postWrite(d.write, writeRequestV1(TWO_SERIES));
  await committing;
  const stopped = d.daemon.stop();
  const second = await postWrite(d.write, writeRequestV1(TWO_SERIES));
  assert.equal(second.status, 503);
  const ready = await httpRequest(`${d.daemon.url}/-/ready`);
  assert.equal(ready.status, 503);
  assert.equal(d.queue.stopCalls, 0, 'queue must not stop while a write is in flight');
  releaseCommit();
  assert.equal((await first).status, 204);
  await stopped;
  assert.equal(d.queue.stopCalls, 1);
  assert.deepEqual(d.queue.samples, EXPECTED_SAMPLES);
});

test('a client that stalls mid-body loses its slot at the request timeout; the next write gets through', async () => {
  const queue = new FakeQueue();
  const daemon = await startDaemon(testConfig(), {
    queueFactory: async () => queue,
    collectDefaultMetrics: false,
    limits: { maxConcurrentBodies: 1, requestTimeoutMs: 300, headersTimeoutMs: 300 },
  });
  const { connect } = await import('node:net');
  const port = daemon.port;
  const stalled = connect(port, '127.0.0.1');
  const stalledClosed = new Promise<void>((r) => stalled.on('close', () => r()));
  let stalledAnswer = '';
  // Reading is what lets the client see the server's FIN, so 'close' fires.
  stalled.on('data', (d: Buffer) => {
    stalledAnswer += d.toString('latin1');
  });
  stalled.on('error', () => {});
  try {
    await new Promise<void>((r) => stalled.once('connect', () => r()));
    // Announces 1000 bytes, sends 10, then nothing.
    stalled.write(
      'POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: 1000\r\n\r\n0123456789',
    );
    // Wait (bounded) until the stalled request holds the only body slot.
    for (let i = 0; i < 200; i++) {
      const m = await httpRequest(`${daemon.url}/metrics`);
      if (/^promspool_receiver_requests_in_flight 1$/m.test(m.body)) break;
      if (i === 199) assert.fail('stalled request never reached the receiver');
    }
    const started = Date.now();
    const res = await postWrite(`${daemon.url}/api/v1/write`, writeRequestV1(TWO_SERIES));
    assert.equal(res.status, 204);
    await stalledClosed;
    // The stalled request held the only slot when B was sent: B's 204 means the timeout freed it.
    assert.ok(Date.now() - started < 5000);
    assert.match(stalledAnswer, /^HTTP\/1\.1 408 /);
    assert.deepEqual(queue.samples, EXPECTED_SAMPLES);
  } finally {
    stalled.destroy();
    await daemon.stop();
  }
});
