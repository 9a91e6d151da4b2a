import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import { LOCK_FILE, lockQueueDir } from '../../src/filequeue/dir-lock.js';

describe('queue directory lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'promspool-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const isLocked = (err: unknown) => err instanceof PromspoolError && err.code === 'ERR_LOCKED';

  it('writes our pid, refuses a second holder in this process, and is free again after release', () => {
    const lock = lockQueueDir(dir);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${process.pid}\n`);
    assert.throws(() => lockQueueDir(dir), isLocked);
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    lockQueueDir(dir).release();
  });

  it('refuses a directory held by another live process, naming its pid', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
      assert.throws(
        () => lockQueueDir(dir),
        (err: unknown) => isLocked(err) && (err as Error).message.includes(`pid ${other.pid}`),
      );
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that died (kill -9) or an unreadable lock file', async () => {
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = dead.pid!;
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(dir, LOCK_FILE), `${pid}\n`);
    const lock = lockQueueDir(dir);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${process.pid}\n`);
    lock.release();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    lockQueueDir(dir).release();
  });
});
