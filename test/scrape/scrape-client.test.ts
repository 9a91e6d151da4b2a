import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import type { ScrapeConfig } from '../../src/config/types.js';
import {
  createScrapeClient,
  MAX_SCRAPE_REDIRECTS,
  ScrapeFailure,
  type ScrapeFailureReason,
} from '../../src/scrape/scrape-client.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { loopConfig, TestTarget } from './loop-helpers.js';

async function failure(p: Promise<unknown>): Promise<{ reason: ScrapeFailureReason; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ScrapeFailure, `a ScrapeFailure, got ${String(err)}`);
    return { reason: err.reason, message: err.message };
  }
  assert.fail('the scrape succeeded');
}

describe('scrape client', () => {
  let server: TestTarget;
  before(async () => {
    server = await TestTarget.start();
  });
  after(async () => {
    await server.close();
  });

  async function withClient<T>(
    over: Partial<ScrapeConfig>,
    f: (c: ReturnType<typeof createScrapeClient>) => Promise<T>,
  ) {
    const client = createScrapeClient(loopConfig(over), { version: '1.2.3' });
    try {
      return await f(client);
    } finally {
      await client.close();
    }
  }

  it('sends the scrape headers and credentials', async () => {
    server.serve('a 1\n');
    server.requests.length = 0;
    const res = await withClient(
      {
        basicAuth: { username: 'u', password: 'p' },
        httpHeaders: { 'X-Extra': { values: ['v1'], secrets: [], files: [] } },
        enableCompression: false,
      },
      (c) => c.scrape(server.url, 2500),
    );
    assert.equal(res.body.toString(), 'a 1\n');
    assert.equal(res.contentType, 'text/plain; version=0.0.4');
    const h = server.requests[0];
    assert.equal(
      h.accept,
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3',
    );
    assert.equal(h['accept-encoding'], 'identity');
    assert.equal(h['x-prometheus-scrape-timeout-seconds'], '2.5');
    assert.equal(h['user-agent'], 'promspool/1.2.3');
    assert.equal(h.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(h['x-extra'], 'v1');
  });

  it('a non-200 answer fails with its status', async () => {
    server.handler = (_req, res) => {
      res.statusCode = 503;
      res.end('later');
    };
    assert.deepEqual(await withClient({}, (c) => failure(c.scrape(server.url, 1000))), {
      reason: 'http_status',
      message: 'server returned HTTP status 503 Service Unavailable',
    });
  });

  it('follows redirects, fails a redirect loop, and does not follow with follow_redirects false', async () => {
    server.handler = (req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(302, { location: '/elsewhere' }).end();
        return;
      }
      if (req.url === '/elsewhere') {
        res.end('a 1\n');
        return;
      }
      res.writeHead(301, { location: req.url }).end();
    };
    const ok = await withClient({}, (c) => c.scrape(server.url, 1000));
    assert.equal(ok.body.toString(), 'a 1\n');
    const loop = server.url.replace('/metrics', '/loop');
    server.requests.length = 0;
    assert.deepEqual(await withClient({}, (c) => failure(c.scrape(loop, 1000))), {
      reason: 'redirect',
      message: `Get "${loop}": stopped after ${MAX_SCRAPE_REDIRECTS} redirects`,
    });
    assert.equal(server.requests.length, MAX_SCRAPE_REDIRECTS + 1);
    assert.deepEqual(await withClient({ followRedirects: false }, (c) => failure(c.scrape(server.url, 1000))), {
      reason: 'http_status',
      message: 'server returned HTTP status 302 Found',
    });
  });

  it('a target that never answers fails at the timeout (on the injected clock)', async () => {
    server.handler = () => {};
    const clock = new SimulatedClock(0);
    const client = createScrapeClient(loopConfig(), { clock });
    const p = failure(client.scrape(server.url, 5000));
    await clock.settle(5);
    clock.advance(4999);
    await clock.settle(5);
    let done = false;
    void p.then(() => {
      done = true;
    });
    await clock.settle(5);
    assert.equal(done, false, 'still waiting before the timeout');
    clock.advance(1);
    assert.deepEqual(await p, {
      reason: 'timeout',
      message: `Get "${server.url}": context deadline exceeded (timeout 5000ms)`,
    });
    await client.close();
  });

  it("a hanging target fails with the deadline's words when undici's own timer fires first", async () => {
    server.handler = () => {};
    // The injected clock never advances: only undici's header timer (on the real clock) can fire.
    const client = createScrapeClient(loopConfig({ scrapeTimeoutMs: 50 }), { clock: new SimulatedClock(0) });
    assert.deepEqual(await failure(client.scrape(server.url, 50)), {
      reason: 'timeout',
      message: `Get "${server.url}": context deadline exceeded (timeout 50ms)`,
    });
    await client.close();
  });

  for (const announced of [true, false]) {
    it(`a 2 GB body (${announced ? 'with' : 'without'} Content-Length) stops at body_size_limit without reading it`, async () => {
      let written = 0;
      server.handler = (_req, res) => {
        res.writeHead(200, {
          'content-type': 'text/plain',
          ...(announced ? { 'content-length': String(2 * 1024 ** 3) } : {}),
        });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const pump = () => {
          while (!res.destroyed && written < 2 * 1024 ** 3) {
            written += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
      };
      assert.deepEqual(
        await withClient({ bodySizeLimitBytes: 1024 * 1024 }, (c) => failure(c.scrape(server.url, 10_000))),
        {
          reason: 'body_size_limit',
          message: 'body size limit exceeded (limit: 1048576 bytes)',
        },
      );
      assert.ok(written < 64 * 1024 * 1024, `the target wrote ${written} bytes before the client hung up`);
    });
  }

  it('a gzip bomb stops at body_size_limit on the inflated size', async () => {
    // 256 MB of zeros in ~250 KB.
    const bomb = await new Promise<Buffer>((resolve) => {
      const gz = createGzip({ level: 9 });
      const parts: Buffer[] = [];
      gz.on('data', (b: Buffer) => parts.push(b));
      gz.on('end', () => resolve(Buffer.concat(parts)));
      const zeros = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < 256; i++) gz.write(zeros);
      gz.end();
    });
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(bomb);
    };
    assert.deepEqual(
      await withClient({ bodySizeLimitBytes: 4 * 1024 * 1024 }, (c) => failure(c.scrape(server.url, 10_000))),
      {
        reason: 'body_size_limit',
        message: 'body size limit exceeded (limit: 4194304 bytes)',
      },
    );
  });

  it('a body of exactly body_size_limit fails as in Prometheus; one byte less passes', async () => {
    server.serve('a 1\n');
    assert.equal(
      (await failure(withClient({ bodySizeLimitBytes: 4 }, (c) => c.scrape(server.url, 1000)))).reason,
      'body_size_limit',
    );
    const res = await withClient({ bodySizeLimitBytes: 5 }, (c) => c.scrape(server.url, 1000));
    assert.equal(res.body.length, 4);
    const gz = gzipSync('a 1\n');
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gz);
    };
    assert.equal(
      (await failure(withClient({ bodySizeLimitBytes: 4 }, (c) => c.scrape(server.url, 1000)))).reason,
      'body_size_limit',
    );
  });

  it('a corrupt gzip body fails with a decompression reason', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end('not gzip at all');
    };
    const f = await withClient({}, (c) => failure(c.scrape(server.url, 1000)));
    assert.equal(f.reason, 'decompression');
    assert.match(f.message, /^decompressing the gzip body: /);
  });

  it('a refused connection fails with a network reason naming the URL', async () => {
    const dead = await TestTarget.start();
    const url = dead.url;
    await dead.close();
    const f = await withClient({}, (c) => failure(c.scrape(url, 1000)));
    assert.equal(f.reason, 'network');
    assert.ok(f.message.startsWith(`Get "${url}": `), f.message);
  });
});
