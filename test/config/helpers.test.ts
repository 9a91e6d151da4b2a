import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { didYouMean, editDistance } from '../../src/config/did-you-mean.js';
import { headerProblem } from '../../src/config/http-headers.js';
import { parseListenAddress } from '../../src/config/listen-address.js';

describe('didYouMean', () => {
  it('counts an adjacent swap as one edit', () => {
    assert.equal(editDistance('remote_wirte', 'remote_write'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
  it('suggests the closest key, ignoring case, within a length-scaled limit', () => {
    const keys = ['storage', 'server', 'remote_write'];
    assert.equal(didYouMean('Storage', keys), 'storage');
    assert.equal(didYouMean('remote-write', keys), 'remote_write');
    assert.equal(didYouMean('servr', keys), 'server');
    assert.equal(didYouMean('colour', keys), undefined);
    // Short inputs allow one edit: "ur" -> "url" yes, "uxy" (two edits) no.
    assert.equal(didYouMean('ur', ['url']), 'url');
    assert.equal(didYouMean('uxy', ['url']), undefined);
  });
});

describe('parseListenAddress', () => {
  const valid: [string, string, number][] = [
    ['127.0.0.1:9201', '127.0.0.1', 9201],
    [':9201', '', 9201],
    ['[::1]:9201', '::1', 9201],
    ['localhost:0', 'localhost', 0],
    ['0.0.0.0:65535', '0.0.0.0', 65535],
  ];
  for (const [text, host, port] of valid) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseListenAddress(text), { host, port });
    });
  }
  const invalid = ['localhost', '127.0.0.1', '::1:9201', '[::1]9201', 'host:65536', 'host:', 'host:http', 'a b:1'];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.ok('error' in parseListenAddress(text));
    });
  }
});

describe('headerProblem', () => {
  it('allows ordinary headers and refuses reserved ones in any case', () => {
    assert.equal(headerProblem('X-Scope-OrgID', 'team-a'), undefined);
    assert.equal(headerProblem('USER-AGENT', 'x'), 'USER-AGENT is a reserved header and cannot be set');
    assert.equal(headerProblem('Content-Encoding', 'gzip'), 'Content-Encoding is a reserved header and cannot be set');
    assert.equal(
      headerProblem('authorization', 'x'),
      'set Authorization with basic_auth or authorization, not headers',
    );
    assert.equal(headerProblem('Bad Header', 'x'), 'invalid header name');
    assert.equal(headerProblem('X-Ok', 'a\r\nX-Evil: 1'), 'header values cannot contain CR, LF or NUL');
  });
});
