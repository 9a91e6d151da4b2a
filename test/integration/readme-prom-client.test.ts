// The README's "Push a prom-client registry" snippet must work when pasted into an Express app.
// It is taken verbatim from README.md (only the receiver URL, data directory and port changed) and
// run as a user would, importing 'promspool' by name. Express is not a dependency of promspool, so
// the test provides a stand-in `express` package (get + listen over node:http) next to the script.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { receiversSkipReason } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const root = new URL('../../../', import.meta.url).pathname;

function bridgeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Push a prom-client registry'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README.md has a ```js block under "## Push a prom-client registry"');
  return m[1]!;
}

const EXPRESS_STAND_IN = `
const http = require('node:http');
module.exports = function express() {
  const routes = new Map();
  return {
    get(path, handler) { routes.set(path, handler); },
    listen(port) {
      return http.createServer((req, res) => {
        const handler = routes.get(req.url);
        if (!handler) { res.writeHead(404).end(); return; }
        res.send = (body) => res.end(body);
        handler(req, res);
      }).listen(port, '127.0.0.1', () => process.stdout.write('listening\\n'));
    },
  };
};
`;

describe('README prom-client bridge snippet', { skip: receiversSkipReason('prometheus') }, () => {
  let prom: PrometheusInstance;
  const work = join(root, '.tmp', `readme-bridge-${process.pid}`);

  before(async () => {
    prom = await startPrometheus({});
    mkdirSync(join(work, 'node_modules', 'express'), { recursive: true });
    writeFileSync(join(work, 'node_modules', 'express', 'package.json'), '{"name":"express","main":"index.js"}');
    writeFileSync(join(work, 'node_modules', 'express', 'index.js'), EXPRESS_STAND_IN);
  });
  after(async () => {
    await prom?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs as pasted: requests counted, pushed with job and instance, final snapshot on SIGTERM', async () => {
    const snippet = bridgeSnippet();
    assert.ok(snippet.includes("from 'promspool'"));
    assert.ok(snippet.includes('app.listen(3000)'));
    const port = await freePort();
    const script = snippet
      .replace('http://127.0.0.1:9090/api/v1/write', prom.writeUrl)
      .replace("'./promspool-data'", JSON.stringify(join(work, 'data')))
      .replace('app.listen(3000)', `app.listen(${port})`);
    const file = join(work, 'app.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = once(child, 'exit');
    try {
      const [line] = (await Promise.race([once(child.stdout, 'data'), exited.then(() => [`exited: ${stderr}`])])) as [
        unknown,
      ];
      assert.equal(String(line), 'listening\n');
      for (let i = 0; i < 3; i++) assert.equal(String((await httpRequest(`http://127.0.0.1:${port}/`)).body), 'ok');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, `the app stops by itself after SIGTERM: ${stderr}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // The first snapshot was taken at start (counter still empty), the final one on SIGTERM.
    const got = await waitUntil(() => prom.query('http_requests_total'), {
      until: (r) => r.length === 1 && r[0]!.samples[0]!.value === 3,
      timeoutMs: 10_000,
      description: 'http_requests_total == 3 in Prometheus',
    });
    assert.deepEqual(got[0]!.metric, {
      __name__: 'http_requests_total',
      route: '/',
      job: 'shop',
      instance: hostname(),
    });
  });
});
