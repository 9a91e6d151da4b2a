import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BacklogView, DELIVERY_LOG_MESSAGES, DeliveryHealthLog } from '../../src/endpoint/delivery-health-log.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';

const MINUTE = 60_000;
const refused = { error: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED', retryInMs: 30 };

function setup(backlog: BacklogView = { samples: 5000, oldestPendingMs: 0 }) {
  const clock = new SimulatedClock(1_000_000);
  const lines: LoggedLine[] = [];
  const view = { ...backlog };
  const log = new DeliveryHealthLog({
    logger: recordingLogger(lines).child({ remote_name: 'primary' }),
    clock,
    backlog: () => view,
  });
  return { clock, lines, log, view };
}

describe('DeliveryHealthLog', () => {
  it('logs the first failure at once with the endpoint, error, code and retry delay', () => {
    const { lines, log } = setup();
    log.failed('primary/shard-0', refused);
    assert.deepEqual(lines, [
      {
        level: 'warn',
        msg: DELIVERY_LOG_MESSAGES.failing,
        fields: { remote_name: 'primary', err: refused.error, err_code: 'ECONNREFUSED', retry_in: '30ms' },
      },
    ]);
  });

  it('names the HTTP status of a failure the receiver answered', () => {
    const { lines, log } = setup();
    log.failed('primary/shard-0', { error: 'HTTP 503: busy', status: 503, retryInMs: 5000 });
    assert.deepEqual(lines[0].fields, { remote_name: 'primary', err: 'HTTP 503: busy', status: 503, retry_in: '5s' });
  });

  it('writes nothing more within a minute, then one summary a minute with counts and backlog', () => {
    const { clock, lines, log, view } = setup();
    log.failed('primary/shard-0', refused);
    for (let i = 0; i < 5; i++) {
      clock.advance(5000);
      log.failed('primary/shard-0', refused);
    }
    assert.equal(lines.length, 1);
    view.oldestPendingMs = clock.now() - 90_000;
    view.samples = 12_345;
    clock.advance(MINUTE - 25_000 - 1);
    assert.equal(lines.length, 1, 'not before the minute is over');
    clock.advance(1);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1], {
      level: 'warn',
      msg: DELIVERY_LOG_MESSAGES.stillFailing,
      fields: {
        remote_name: 'primary',
        down_for: '1m',
        failures: 6,
        err: refused.error,
        err_code: 'ECONNREFUSED',
        backlog_samples: 12_345,
        oldest_pending_age: '2m5s',
      },
    });
    // Still down without a single new attempt finishing (a hanging request): still one line a minute.
    clock.advance(MINUTE);
    assert.equal(lines.length, 3);
    assert.equal(lines[2].fields.down_for, '2m');
    assert.equal(lines[2].fields.failures, 6);
  });

  it('logs one info line on recovery with the downtime, then one when caught up with what it delivered', () => {
    const { clock, lines, log, view } = setup();
    log.failed('primary/shard-0', refused);
    clock.advance(2 * MINUTE + 30_000);
    log.failed('primary/shard-0', refused);
    lines.length = 0;
    view.samples = 4000;
    log.delivered('primary/shard-0', 2000);
    assert.deepEqual(lines, [
      {
        level: 'info',
        msg: DELIVERY_LOG_MESSAGES.recovered,
        fields: { remote_name: 'primary', down_for: '2m30s', failures: 2, backlog_samples: 4000 },
      },
    ]);
    clock.advance(1500);
    log.delivered('primary/shard-0', 2000);
    log.delivered('primary/shard-0', 500);
    log.caughtUp();
    log.caughtUp();
    assert.deepEqual(lines.slice(1), [
      {
        level: 'info',
        msg: DELIVERY_LOG_MESSAGES.caughtUp,
        fields: { remote_name: 'primary', samples: 4500, requests: 3, took: '1s500ms' },
      },
    ]);
    // Healthy again: the summary timer finds no outage and writes nothing.
    clock.advance(10 * MINUTE);
    assert.equal(lines.length, 2);
    assert.equal(clock.pending, 0);
  });

  it('leaves out the backlog where the endpoint cannot see the FileQueue (a delivery worker)', () => {
    const { clock, lines, log } = setup({ oldestPendingMs: 0 });
    log.failed('a', refused);
    clock.advance(MINUTE);
    assert.deepEqual(Object.keys(lines[1].fields), ['remote_name', 'down_for', 'failures', 'err', 'err_code']);
  });

  it('is down until every loop that failed delivered again', () => {
    const { lines, log } = setup();
    log.failed('p/shard-0', refused);
    log.failed('p/shard-1', refused);
    log.delivered('p/shard-2', 10); // never failed: says nothing about the others
    log.delivered('p/shard-0', 10);
    assert.equal(lines.length, 1);
    assert.equal(log.failing, true);
    log.delivered('p/shard-1', 10);
    assert.equal(lines.length, 2);
    assert.equal(lines[1].msg, DELIVERY_LOG_MESSAGES.recovered);
    assert.equal(log.failing, false);
  });

  it('folds outages that start within a minute of the last line into one line a minute', () => {
    const { clock, lines, log } = setup();
    log.failed('a', refused);
    log.delivered('a', 1); // announced outage: recovery logged
    assert.equal(lines.length, 2);
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      log.failed('a', { error: 'HTTP 502: bad gateway', status: 502, retryInMs: 30 });
      log.delivered('a', 1);
    }
    assert.equal(lines.length, 2, 'a flapping receiver writes nothing more within the minute');
    clock.advance(MINUTE);
    assert.deepEqual(lines[2], {
      level: 'warn',
      msg: DELIVERY_LOG_MESSAGES.failedBriefly,
      fields: { remote_name: 'primary', outages: 4, failures: 4, err: 'HTTP 502: bad gateway', status: 502 },
    });
    clock.advance(MINUTE);
    assert.equal(lines.length, 3);
    // A minute after the last line, the next outage is logged at once again.
    log.failed('a', refused);
    assert.equal(lines.length, 4);
    assert.equal(lines[3].msg, DELIVERY_LOG_MESSAGES.failing);
  });

  it('reports an outage that began within the minute at the minute if it lasts', () => {
    const { clock, lines, log } = setup();
    log.failed('a', refused);
    log.delivered('a', 1);
    clock.advance(10_000);
    log.failed('a', refused);
    assert.equal(lines.length, 2);
    clock.advance(50_000);
    assert.equal(lines.length, 3);
    assert.equal(lines[2].msg, DELIVERY_LOG_MESSAGES.stillFailing);
    assert.equal(lines[2].fields.down_for, '50s');
    log.delivered('a', 1);
    assert.equal(lines[3].msg, DELIVERY_LOG_MESSAGES.recovered);
  });

  it('logs a refused (4xx) batch at once, then the drops of each minute as one line', () => {
    const { clock, lines, log } = setup();
    const drop = { status: 400, error: 'out of order sample', samples: 100, histograms: 2, exemplars: 1 };
    log.dropped('a', drop);
    assert.deepEqual(lines, [
      {
        level: 'warn',
        msg: DELIVERY_LOG_MESSAGES.refused,
        fields: {
          remote_name: 'primary',
          status: 400,
          err: 'out of order sample',
          samples: 100,
          histograms: 2,
          exemplars: 1,
        },
      },
    ]);
    for (let i = 0; i < 5; i++) log.dropped('a', { ...drop, status: 409, error: `dup ${i}` });
    assert.equal(lines.length, 1);
    clock.advance(MINUTE);
    assert.deepEqual(lines[1], {
      level: 'warn',
      msg: DELIVERY_LOG_MESSAGES.refusedMore,
      fields: {
        remote_name: 'primary',
        batches: 5,
        samples: 500,
        histograms: 10,
        exemplars: 5,
        status: 409,
        err: 'dup 4',
      },
    });
    clock.advance(MINUTE); // a quiet minute: nothing, and the next drop is logged at once
    log.dropped('a', drop);
    assert.equal(lines.length, 3);
    assert.equal(lines[2].msg, DELIVERY_LOG_MESSAGES.refused);
  });

  it('stop writes the drops counted since the last line and leaves no timer', () => {
    const { clock, lines, log } = setup();
    const drop = { status: 400, error: 'bad', samples: 1, histograms: 0, exemplars: 0 };
    log.failed('a', refused);
    log.dropped('a', drop);
    log.dropped('a', drop);
    log.stop();
    assert.deepEqual(
      lines.map((l) => l.msg),
      [DELIVERY_LOG_MESSAGES.failing, DELIVERY_LOG_MESSAGES.refused, DELIVERY_LOG_MESSAGES.refusedMore],
    );
    assert.equal(clock.pending, 0);
    log.failed('a', refused);
    assert.equal(lines.length, 3);
  });
});
