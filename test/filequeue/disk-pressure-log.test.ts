import assert from 'node:assert/strict';
import { writevSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DISK_PRESSURE_LOG_MESSAGES, DiskPressureLog } from '../../src/filequeue/disk-pressure-log.js';
import type { FileOps } from '../../src/filequeue/index.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { payload, useQueueDir } from './helpers.js';

const MINUTE = 60_000;

describe('DiskPressureLog', () => {
  function setup(policy: 'drop_oldest' | 'reject' = 'drop_oldest') {
    const clock = new SimulatedClock(0);
    const lines: LoggedLine[] = [];
    const usage = { bytes: 1000 };
    const log = new DiskPressureLog({
      logger: recordingLogger(lines),
      clock,
      policy,
      maxDiskBytes: 1024,
      diskBytes: () => usage.bytes,
    });
    return { clock, lines, log, usage };
  }

  it('warns at the first drop, sums the drops of each minute in one line, and says when it cleared', () => {
    const { clock, lines, log, usage } = setup();
    log.note({ kind: 'dropped', cause: 'max_disk_bytes', segment: 7, signals: 500 });
    assert.deepEqual(lines, [
      {
        level: 'warn',
        msg: DISK_PRESSURE_LOG_MESSAGES.dropping,
        fields: {
          cause: 'max_disk_bytes',
          policy: 'drop_oldest',
          disk_bytes: 1000,
          max_disk_bytes: 1024,
          segment: 7,
          signals: 500,
        },
      },
    ]);
    for (let i = 0; i < 5; i++) {
      clock.advance(2000);
      log.note({ kind: 'dropped', cause: 'max_disk_bytes', segment: 8 + i, signals: 100 });
    }
    clock.advance(MINUTE - 10_001);
    assert.equal(lines.length, 1);
    clock.advance(1);
    assert.deepEqual(lines[1], {
      level: 'warn',
      msg: DISK_PRESSURE_LOG_MESSAGES.still,
      fields: {
        cause: 'max_disk_bytes',
        policy: 'drop_oldest',
        over: '1m',
        dropped_segments: 5,
        dropped_signals: 500,
        refused_appends: 0,
        disk_bytes: 1000,
        max_disk_bytes: 1024,
      },
    });
    usage.bytes = 200;
    clock.advance(MINUTE);
    assert.deepEqual(lines[2], {
      level: 'info',
      msg: DISK_PRESSURE_LOG_MESSAGES.cleared,
      fields: {
        lasted: '10s',
        dropped_segments: 6,
        dropped_signals: 1000,
        refused_appends: 0,
        disk_bytes: 200,
        max_disk_bytes: 1024,
      },
    });
    assert.equal(clock.pending, 0);
    // The next drop starts a new episode, logged at once.
    log.note({ kind: 'dropped', cause: 'disk_full', segment: 20, signals: 3 });
    assert.equal(lines[3].msg, DISK_PRESSURE_LOG_MESSAGES.dropping);
    assert.equal(lines[3].fields.cause, 'disk_full');
  });

  it('reject: one warn for the first refusal, then the refusals of a minute counted in one line', () => {
    const { clock, lines, log } = setup('reject');
    log.note({ kind: 'refused', cause: 'max_disk_bytes', error: 'max_disk_bytes=1024 reached' });
    log.note({ kind: 'refused', cause: 'max_disk_bytes', error: 'max_disk_bytes=1024 reached' });
    log.note({ kind: 'refused', cause: 'disk_full', error: 'disk full appending' });
    assert.deepEqual(lines, [
      {
        level: 'warn',
        msg: DISK_PRESSURE_LOG_MESSAGES.refusing,
        fields: {
          cause: 'max_disk_bytes',
          policy: 'reject',
          disk_bytes: 1000,
          max_disk_bytes: 1024,
          err: 'max_disk_bytes=1024 reached',
        },
      },
    ]);
    clock.advance(MINUTE);
    assert.deepEqual(lines[1].fields, {
      cause: 'disk_full',
      policy: 'reject',
      over: '1m',
      dropped_segments: 0,
      dropped_signals: 0,
      refused_appends: 2,
      disk_bytes: 1000,
      max_disk_bytes: 1024,
      err: 'disk full appending',
    });
  });
});

describe('the FileQueue logs disk pressure', () => {
  const dir = useQueueDir();

  it('reject at max_disk_bytes: one warn for many refused appends, info once a minute passed without one', async () => {
    const clock = new SimulatedClock(0);
    const lines: LoggedLine[] = [];
    const q = await dir.open({
      maxDiskBytes: 16 + 3 * 108,
      onDiskFull: 'reject',
      clock,
      logger: recordingLogger(lines),
    });
    for (let i = 0; i < 3; i++) await q.append(payload(i, 100), 1);
    for (let i = 0; i < 4; i++) await assert.rejects(q.append(payload(10 + i, 100), 1), { code: 'ERR_DISK_FULL' });
    const pressure = () => lines.filter((l) => l.level !== 'debug' && l.msg !== 'queue opened');
    assert.deepEqual(pressure(), [
      {
        level: 'warn',
        msg: DISK_PRESSURE_LOG_MESSAGES.refusing,
        fields: {
          component: 'filequeue',
          dir: dir.path,
          cause: 'max_disk_bytes',
          policy: 'reject',
          disk_bytes: 340,
          max_disk_bytes: 340,
          err: 'max_disk_bytes=340 reached (340 bytes queued)',
        },
      },
    ]);
    clock.advance(MINUTE);
    assert.equal(pressure()[1].msg, DISK_PRESSURE_LOG_MESSAGES.still);
    assert.equal(pressure()[1].fields.refused_appends, 3);
    clock.advance(MINUTE);
    assert.deepEqual(
      pressure().map((l) => [l.level, l.msg]),
      [
        ['warn', DISK_PRESSURE_LOG_MESSAGES.refusing],
        ['warn', DISK_PRESSURE_LOG_MESSAGES.still],
        ['info', DISK_PRESSURE_LOG_MESSAGES.cleared],
      ],
    );
    assert.equal(pressure()[2].fields.refused_appends, 4);
  });

  it('drop_oldest on ENOSPC: the drop is one warn line with cause disk_full', async () => {
    const clock = new SimulatedClock(0);
    const lines: LoggedLine[] = [];
    let calls = 0;
    const ops: Partial<FileOps> = {
      writev(fd, buffers, position) {
        calls++;
        if (calls === 5) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return writevSync(fd, buffers as Uint8Array[], position);
      },
    };
    const q = await dir.open({
      onDiskFull: 'drop_oldest',
      maxSignalsPerSegment: 2,
      clock,
      logger: recordingLogger(lines),
      fileOps: ops,
    });
    for (let i = 0; i < 5; i++) await q.append(payload(i, 100), 1);
    const warns = lines.filter((l) => l.level === 'warn');
    assert.deepEqual(
      warns.map((l) => [l.msg, l.fields.cause, l.fields.segment, l.fields.signals]),
      [[DISK_PRESSURE_LOG_MESSAGES.dropping, 'disk_full', 1, 2]],
    );
    assert.equal(q.stats().droppedSignalsByReason.disk_full, 2);
  });
});
