import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { DiskFullError } from '../../src/errors.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function capture(level: 'debug' | 'info' | 'warn' | 'error', format: 'logfmt' | 'json') {
  const lines: string[] = [];
  const logger = createDaemonLogger({ level, format, write: (l) => lines.push(l), now: () => T0 });
  return { logger, lines };
}

test('logfmt: one line with ts, level, msg, then fields; quoting and escaping', () => {
  const { logger, lines } = capture('info', 'logfmt');
  logger.info('listening', { address: '127.0.0.1:9201', n: 3, ok: true, text: 'a "b" c', empty: '', nl: 'x\ny' });
  assert.deepEqual(lines, [
    'ts=2026-01-02T03:04:05.678Z level=info msg=listening address=127.0.0.1:9201 n=3 ok=true text="a \\"b\\" c" empty="" nl="x\\ny"\n',
  ]);
});

test('json: one object per line', () => {
  const { logger, lines } = capture('info', 'json');
  logger.warn('slow', { ms: 12.5, inf: Number.POSITIVE_INFINITY });
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith('\n'));
  assert.deepEqual(JSON.parse(lines[0]), {
    ts: '2026-01-02T03:04:05.678Z',
    level: 'warn',
    msg: 'slow',
    ms: 12.5,
    inf: 'Infinity',
  });
});

test('levels below the configured one are dropped; setLevel applies to children', () => {
  const { logger, lines } = capture('warn', 'logfmt');
  const child = logger.child({ component: 'x' });
  logger.debug('d');
  logger.info('i');
  child.info('i2');
  logger.warn('w');
  child.error('e');
  assert.deepEqual(
    lines.map((l) => l.split(' ').slice(1).join(' ')),
    ['level=warn msg=w\n', 'level=error msg=e component=x\n'],
  );
  logger.setLevel('debug');
  child.debug('now visible');
  assert.equal(lines.length, 3);
  assert.match(lines[2], /level=debug msg="now visible" component=x\n$/);
});

test('child fields come before call fields and nest', () => {
  const { logger, lines } = capture('info', 'json');
  logger.child({ a: 1 }).child({ b: 2 }).info('m', { c: 3 });
  assert.deepEqual(Object.keys(JSON.parse(lines[0])), ['ts', 'level', 'msg', 'a', 'b', 'c']);
});

test('a nested child replaces a field its parent binds instead of repeating it', () => {
  const { logger, lines } = capture('info', 'logfmt');
  logger.child({ component: 'queue', endpoint: 'p' }).child({ component: 'filequeue' }).info('opened');
  assert.equal(lines[0], 'ts=2026-01-02T03:04:05.678Z level=info msg=opened component=filequeue endpoint=p\n');
});

test('expected errors: message and code, never a stack (even at debug)', () => {
  const { logger, lines } = capture('debug', 'logfmt');
  logger.warn('refused', { err: new DiskFullError('disk cap reached') });
  assert.equal(lines.length, 1);
  assert.match(lines[0], / err="disk cap reached" err_code=ERR_DISK_FULL\n$/);
  assert.doesNotMatch(lines[0], /stack/);
});

test('unexpected errors: stack only at debug', () => {
  const info = capture('info', 'json');
  info.logger.error('boom', { err: new Error('kaput') });
  assert.deepEqual(Object.keys(JSON.parse(info.lines[0])), ['ts', 'level', 'msg', 'err']);
  const debug = capture('debug', 'json');
  debug.logger.error('boom', { err: new Error('kaput') });
  const obj = JSON.parse(debug.lines[0]);
  assert.equal(obj.err, 'kaput');
  assert.match(obj.err_stack, /^Error: kaput\n\s+at /);
});

test('secrets are never logged: secret-named fields and URL credentials are redacted', () => {
  const { logger, lines } = capture('info', 'logfmt');
  logger.info('endpoint', {
    password: 'hunter2',
    credentials: 'tok',
    url: 'https://user:hunter2@example.com/api/v1/write?api_key=abc&x=1',
  });
  assert.equal(
    lines[0],
    'ts=2026-01-02T03:04:05.678Z level=info msg=endpoint password=<redacted> credentials=<redacted> url="https://user:redacted@example.com/api/v1/write?api_key=redacted&x=1"\n',
  );
});
