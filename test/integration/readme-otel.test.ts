// The README's "OpenTelemetry" snippet must work as pasted. It is taken verbatim from README.md
// (only the receiver URL, data directory and port changed) and run as a user would, importing
// 'promspool' and 'promspool/otel' by name, against a real Prometheus.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { receiversSkipReason } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const root = new URL('../../../', import.meta.url).pathname;

function otelSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## OpenTelemetry'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README.md has a ```js block under "## OpenTelemetry"');
  return m[1]!;
}

describe('README OpenTelemetry snippet', { skip: receiversSkipReason('prometheus') }, () => {
  let prom: PrometheusInstance;
  const work = join(root, '.tmp', `readme-otel-${process.pid}`);

  before(async () => {
    prom = await startPrometheus({});
    mkdirSync(work, { recursive: true });
  });
  after(async () => {
    await prom?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs as pasted: 3 requests counted, pushed with job and instance by the final export on SIGTERM', async () => {
    const snippet = otelSnippet();
    assert.ok(snippet.includes("from 'promspool/otel'"));
    assert.ok(snippet.includes('server.listen(3000)'));
    const port = await freePort();
    const script = snippet
      .replace('http://127.0.0.1:9090/api/v1/write', prom.writeUrl)
      .replace("'./promspool-data'", JSON.stringify(join(work, 'data')))
      .replace('server.listen(3000)', `server.listen(${port}, '127.0.0.1')`);
    const file = join(work, 'app.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = once(child, 'exit');
    try {
      // The app prints nothing: it is up once it answers.
      await waitUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`the app exited: ${stderr}`);
          return String((await httpRequest(`http://127.0.0.1:${port}/`)).body);
        },
        { until: (body) => body === 'ok', timeoutMs: 10_000, description: 'the app answers' },
      );
      for (let i = 0; i < 2; i++) assert.equal(String((await httpRequest(`http://127.0.0.1:${port}/`)).body), 'ok');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, `the app stops by itself after SIGTERM: ${stderr}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const got = await waitUntil(() => prom.query('http_server_requests_total'), {
      until: (r) => r.length === 1,
      timeoutMs: 10_000,
      description: 'http_server_requests_total in Prometheus',
    });
    assert.deepEqual(got[0]!.metric, {
      __name__: 'http_server_requests_total',
      http_route: '/',
      job: 'shop',
      instance: 'web-1',
    });
    assert.equal(got[0]!.samples[0]!.value, 3);
  });
});
