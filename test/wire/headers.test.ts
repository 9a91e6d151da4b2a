import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import { isReservedHeader, remoteWriteHeaders, validateUserHeaders } from '../../src/wire/headers.js';

function rejects(headers: Record<string, string>, code: string, message: RegExp): void {
  assert.throws(
    () => validateUserHeaders(headers),
    (err: unknown) => err instanceof PromspoolError && err.code === code && message.test(err.message),
  );
}

describe('remote-write headers', () => {
  it('sets the 1.0 protocol headers', () => {
    assert.deepEqual(remoteWriteHeaders('prometheus.WriteRequest', { 'X-Scope-OrgID': 'team-a' }, '0.1.0'), {
      'X-Scope-OrgID': 'team-a',
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'promspool/0.1.0',
    });
  });

  it('sets the 2.0 protocol headers', () => {
    assert.deepEqual(remoteWriteHeaders('io.prometheus.write.v2.Request', {}, '1.2.3'), {
      'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '2.0.0',
      'User-Agent': 'promspool/1.2.3',
    });
  });

  it('never lets user headers override reserved ones, whatever their case', () => {
    const h = remoteWriteHeaders(
      'prometheus.WriteRequest',
      {
        'content-type': 'text/plain',
        'USER-AGENT': 'evil',
        'x-prometheus-remote-write-version': '9',
        'Content-Encoding': 'gzip',
        Authorization: 'x',
        'X-Ok': '1',
      },
      '0.1.0',
    );
    assert.deepEqual(h, {
      'X-Ok': '1',
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'promspool/0.1.0',
    });
  });

  it('rejects reserved and malformed headers at config time, naming them', () => {
    validateUserHeaders({ 'X-Scope-OrgID': 'a', 'X-Custom': 'b c' });
    rejects({ 'X-Ok': '1', 'user-agent': 'x' }, 'ERR_RESERVED_HEADER', /^header "user-agent" is reserved/);
    rejects({ 'Content-Encoding': 'gzip' }, 'ERR_RESERVED_HEADER', /header "Content-Encoding" is reserved/);
    rejects({ 'X-PROMETHEUS-REMOTE-WRITE-VERSION': '1' }, 'ERR_RESERVED_HEADER', /X-PROMETHEUS-REMOTE-WRITE-VERSION/);
    rejects({ Authorization: 'Bearer x' }, 'ERR_RESERVED_HEADER', /use basic_auth or authorization instead/);
    rejects({ 'Bad Name': 'x' }, 'ERR_INVALID_HEADER', /header name "Bad Name"/);
    rejects({ 'X-Split': 'a\r\nInjected: 1' }, 'ERR_INVALID_HEADER', /header "X-Split" has a value with CR, LF or NUL/);
    assert.equal(isReservedHeader('Content-Type'), true);
    assert.equal(isReservedHeader('X-Scope-OrgID'), false);
  });
});
