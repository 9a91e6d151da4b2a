import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildRequestHeaders, createRemoteWriteClient } from '../../src/network/http-client.js';
import { compress, endpointConfig } from './harness.js';
import { startTestReceiver, type TestReceiver } from './test-receiver.js';

describe('remote-write client', () => {
  let receiver: TestReceiver;
  before(async () => {
    receiver = await startTestReceiver();
  });
  after(() => receiver.close());

  it('sends basic auth and user headers, never letting them override reserved ones', async () => {
    const config = endpointConfig(
      receiver.url,
      {},
      {
        headers: { 'X-Scope-OrgID': 'team-a', 'content-type': 'text/plain', Authorization: 'Bearer stolen' },
        basicAuth: { username: 'u', password: 'p' },
      },
    );
    const client = createRemoteWriteClient({ config, connections: 1, version: '9.9.9' });
    receiver.replies = [{ status: 204 }, { status: 400, body: 'y'.repeat(5000) }];
    const body = compress(Buffer.from(JSON.stringify({ series: [], metadata: [] })));
    const ok = await client.post(body, new AbortController().signal);
    assert.deepEqual(ok, { status: 204, retryAfter: undefined, message: '' });
    const h = receiver.requests[0].headers;
    assert.equal(h['x-scope-orgid'], 'team-a');
    assert.equal(h['content-type'], 'application/x-protobuf');
    assert.equal(h['content-encoding'], 'snappy');
    assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(h['user-agent'], 'promspool/9.9.9');
    assert.equal(h.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    const refused = await client.post(body, new AbortController().signal);
    assert.equal(refused.status, 400);
    assert.equal(refused.message, 'y'.repeat(1024));
    await client.close();
  });

  it('uses the authorization block when there is no basic auth', () => {
    const config = endpointConfig(
      'http://127.0.0.1:1/w',
      {},
      { authorization: { type: 'Bearer', credentials: 't0k' } },
    );
    assert.equal(buildRequestHeaders(config, '1').Authorization, 'Bearer t0k');
  });
});
