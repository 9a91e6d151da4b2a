import assert from 'node:assert/strict';
import { test } from 'node:test';
import { remoteWriteVersion } from '../../src/daemon/content-negotiation.js';
import { localUrl, parseListenAddress } from '../../src/daemon/listen-address.js';
import { createReceiverAuth } from '../../src/daemon/receiver-auth.js';
import { createSemaphore } from '../../src/daemon/semaphore.js';

test('content type -> remote-write version', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, '1.0'],
    ['', '1.0'],
    ['application/x-protobuf', '1.0'],
    ['application/x-protobuf;proto=prometheus.WriteRequest', '1.0'],
    ['Application/X-Protobuf; proto="prometheus.WriteRequest"', '1.0'],
    ['application/x-protobuf;proto=io.prometheus.write.v2.Request', '2.0'],
    ['application/x-protobuf; charset=utf-8; proto=io.prometheus.write.v2.Request', '2.0'],
    ['application/x-protobuf;proto=io.prometheus.write.v3.Request', undefined],
    ['application/json', undefined],
    ['text/plain;proto=prometheus.WriteRequest', undefined],
  ];
  for (const [ct, want] of cases) assert.equal(remoteWriteVersion(ct), want, String(ct));
});

test('semaphore: at most N holders, waiters served first in first out, double release is harmless', async () => {
  const sem = createSemaphore(2);
  const r1 = await sem.acquire();
  const r2 = await sem.acquire();
  assert.equal(sem.available, 0);
  const order: number[] = [];
  const w3 = sem.acquire().then((r) => {
    order.push(3);
    return r;
  });
  const w4 = sem.acquire().then((r) => {
    order.push(4);
    return r;
  });
  assert.equal(sem.waiting, 2);
  r1();
  r1();
  const r3 = await w3;
  assert.deepEqual(order, [3]);
  assert.equal(sem.waiting, 1);
  r2();
  const r4 = await w4;
  assert.deepEqual(order, [3, 4]);
  r3();
  r4();
  assert.equal(sem.available, 2);
  assert.throws(() => createSemaphore(0), RangeError);
});

test('receiver auth: bearer and basic, scheme case-insensitive, credentials exact', () => {
  const none = createReceiverAuth({});
  assert.equal(none.required, false);
  assert.equal(none.check(undefined), true);
  const auth = createReceiverAuth({
    authorization: { type: 'Bearer', credentials: 'tok' },
    basicAuth: { username: 'u', password: 'p' },
  });
  assert.equal(auth.required, true);
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  for (const ok of [
    'Bearer tok',
    'bearer tok',
    'BEARER  tok',
    basic('u:p'),
    `basic ${Buffer.from('u:p').toString('base64')}`,
  ]) {
    assert.equal(auth.check(ok), true, ok);
  }
  for (const bad of [undefined, '', 'Bearer', 'Bearer TOK', 'Bearer tok2', 'Token tok', basic('u:P'), basic('u:p ')]) {
    assert.equal(auth.check(bad), false, String(bad));
  }
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9201'), { host: '127.0.0.1', port: 9201 });
  assert.deepEqual(parseListenAddress(':9201'), { host: undefined, port: 9201 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseListenAddress('localhost'), RangeError);
  assert.throws(() => parseListenAddress('localhost:99999'), RangeError);
  assert.equal(localUrl(undefined, 1), 'http://127.0.0.1:1');
  assert.equal(localUrl('0.0.0.0', 2), 'http://127.0.0.1:2');
  assert.equal(localUrl('::', 3), 'http://[::1]:3');
  assert.equal(localUrl('::1', 4), 'http://[::1]:4');
  assert.equal(localUrl('example.org', 5), 'http://example.org:5');
});
