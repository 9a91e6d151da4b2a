import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDaemon } from '../../src/daemon/daemon.js';
import { REFUSAL_LOG_MESSAGES, RefusalLog } from '../../src/daemon/refusal-log.js';
import { DiskFullError } from '../../src/errors.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { FakeQueue } from './fake-queue.js';
import { postWrite, RW1_HEADERS } from './http-client.js';
import { TWO_SERIES, writeRequestV1 } from './rw-bodies.js';
import { testConfig } from './test-config.js';

const MINUTE = 60_000;

describe('RefusalLog', () => {
  function setup() {
    const clock = new SimulatedClock(0);
    const lines: LoggedLine[] = [];
    return { clock, lines, log: new RefusalLog({ logger: recordingLogger(lines), clock }) };
  }

  it('logs the first refusal of a reason at once, then at most one line a minute with the count and latest detail', () => {
    const { clock, lines, log } = setup();
    log.refused('too_large', { status: 413, client: '10.0.0.1:5000', error: 'body larger than 1KiB' });
    assert.deepEqual(lines, [
      {
        level: 'warn',
        msg: REFUSAL_LOG_MESSAGES.first,
        fields: { reason: 'too_large', status: 413, client: '10.0.0.1:5000', err: 'body larger than 1KiB' },
      },
    ]);
    for (let i = 1; i <= 5; i++) {
      clock.advance(1000);
      log.refused('too_large', { status: 413, client: `10.0.0.${i + 1}:5000`, error: `too large ${i}` });
    }
    clock.advance(MINUTE - 5001);
    assert.equal(lines.length, 1);
    clock.advance(1);
    assert.deepEqual(lines[1], {
      level: 'warn',
      msg: REFUSAL_LOG_MESSAGES.more,
      fields: { reason: 'too_large', count: 5, over: '1m', status: 413, client: '10.0.0.6:5000', err: 'too large 5' },
    });
    // A quiet minute, then the next refusal is logged at once again.
    clock.advance(MINUTE);
    assert.equal(lines.length, 2);
    log.refused('too_large', { status: 413, error: 'again' });
    assert.deepEqual(lines[2].fields, { reason: 'too_large', status: 413, err: 'again' });
    assert.equal(lines[2].msg, REFUSAL_LOG_MESSAGES.first);
  });

  it('rate-limits each reason on its own; shutting down is info', () => {
    const { clock, lines, log } = setup();
    log.refused('unauthorized', { status: 401, error: 'unauthorized' });
    log.refused('queue_full', { status: 429, error: 'max_disk_bytes reached' });
    log.refused('disk_full', { status: 429, error: 'disk full' });
    log.refused('bad_request', { status: 400, error: 'bad' });
    log.refused('shutting_down', { status: 503, error: 'shutting down' });
    log.refused('unauthorized', { status: 401, error: 'unauthorized' });
    assert.deepEqual(
      lines.map((l) => [l.level, l.fields.reason]),
      [
        ['warn', 'unauthorized'],
        ['warn', 'queue_full'],
        ['warn', 'disk_full'],
        ['warn', 'bad_request'],
        ['info', 'shutting_down'],
      ],
    );
    clock.advance(MINUTE);
    assert.deepEqual(
      lines.slice(5).map((l) => [l.msg, l.fields.reason, l.fields.count]),
      [[REFUSAL_LOG_MESSAGES.more, 'unauthorized', 1]],
    );
    log.stop();
    assert.equal(clock.pending, 0);
  });
});

describe('receiver refusals in the log', () => {
  const lines: LoggedLine[] = [];
  const queue = new FakeQueue();
  let write = '';
  let stop: () => Promise<void>;
  before(async () => {
    const daemon = await startDaemon(
      testConfig('', 'receiver:\n  enabled: true\n  max_body_bytes: 1KiB\n  authorization:\n    credentials: tok\n'),
      { queueFactory: async () => queue, collectDefaultMetrics: false, logger: recordingLogger(lines) },
    );
    write = `${daemon.url}/api/v1/write`;
    stop = () => daemon.stop();
  });
  after(() => stop());
  const refusals = (reason: string) =>
    lines.filter((l) => l.msg === REFUSAL_LOG_MESSAGES.first && l.fields.reason === reason);
  const authed = { ...RW1_HEADERS, Authorization: 'Bearer tok' };

  it('three 401s make one warn line naming the client', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await postWrite(write, writeRequestV1(TWO_SERIES))).status, 401);
    const got = refusals('unauthorized');
    assert.equal(got.length, 1);
    assert.equal(got[0].level, 'warn');
    assert.equal(got[0].fields.component, 'receiver');
    assert.equal(got[0].fields.status, 401);
    assert.match(String(got[0].fields.client), /^127\.0\.0\.1:\d+$/);
  });

  it('a body that uncompresses to more than max_body_bytes: one too_large line with the limit', async () => {
    const big = Buffer.alloc(4096, 7);
    for (let i = 0; i < 2; i++) assert.equal((await postWrite(write, big, authed)).status, 413);
    const got = refusals('too_large');
    assert.equal(got.length, 1);
    assert.equal(got[0].fields.err, 'snappy block would uncompress to 4096 bytes, more than the limit of 1024');
  });

  it('429 says queue_full at max_disk_bytes and disk_full when the disk itself is full', async () => {
    queue.commitError = new DiskFullError('max_disk_bytes=1000 reached (990 bytes queued)');
    assert.equal((await postWrite(write, writeRequestV1(TWO_SERIES), authed)).status, 429);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    queue.commitError = new DiskFullError('disk full appending to the queue in /q', { cause: enospc });
    assert.equal((await postWrite(write, writeRequestV1(TWO_SERIES), authed)).status, 429);
    queue.commitError = undefined;
    assert.deepEqual(
      refusals('queue_full').map((l) => [l.fields.status, l.fields.err]),
      [[429, 'max_disk_bytes=1000 reached (990 bytes queued)']],
    );
    assert.deepEqual(
      refusals('disk_full').map((l) => [l.fields.status, l.fields.err]),
      [[429, 'disk full appending to the queue in /q']],
    );
  });

  it('a body that does not decode: bad_request', async () => {
    const res = await postWrite(write, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), authed);
    assert.equal(res.status, 400);
    assert.equal(refusals('bad_request').length, 1);
  });
});
