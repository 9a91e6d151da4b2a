// The prom-client bridge end to end. An app-like child process (prom-client-app.ts: HTTP server,
// its own registry, createQueue + snapshotRegistry) is both scraped by a real Prometheus (job
// app-scrape) and pushed through promspool (job app-push): the pushed series must be the scraped
// ones, label for label, with job as the only difference. And durability: a child that resolved
// pushRegistryOnce is SIGKILLed; a second process on its data dir delivers that snapshot.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createQueue } from '../../src/queue.js';
import { startFakeReceiver } from '../helpers/fake-receiver.js';
import { tempDataDir } from '../queue/queue-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const APP = new URL('./prom-client-app.js', import.meta.url).pathname;

interface App {
  child: ChildProcess;
  /** Resolves when the child printed `line` on stdout. */
  printed(line: string): Promise<void>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  stderr(): string;
}

function startApp(env: Record<string, string>): App {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters) if (out.split('\n').includes(w.line)) w.resolve();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    exited,
    stderr: () => err,
    printed: (line) =>
      Promise.race([
        new Promise<void>((resolve) => {
          waiters.push({ line, resolve });
          if (out.split('\n').includes(line)) resolve();
        }),
        exited.then(([code, signal]) => {
          throw new Error(`prom-client-app exited (${code ?? signal}) before printing ${line}: ${err}`);
        }),
      ]),
  };
}

const skip = receiversSkipReason('prometheus');

describe('an app pushing its prom-client registry through promspool to a real Prometheus', { skip }, () => {
  let prom: PrometheusInstance;
  let app: App | undefined;
  let dir: Awaited<ReturnType<typeof tempDataDir>>;
  let appPort: number;

  before(async () => {
    appPort = await freePort();
    dir = await tempDataDir('bridge-app');
    prom = await startPrometheus({
      scrapeInterval: '1s',
      scrapeConfigs: [{ job_name: 'app-scrape', static_configs: [{ targets: [`127.0.0.1:${appPort}`] }] }],
    });
  });

  after(async () => {
    if (app && app.child.exitCode === null) app.child.kill('SIGKILL');
    await prom?.stop();
    await dir?.remove();
  });

  it('stores the series a scrape of the app stores (counter, histogram buckets, exported_job), with job and instance', async () => {
    app = startApp({
      APP_MODE: 'serve',
      APP_PORT: String(appPort),
      APP_DATA_DIR: dir.path,
      APP_WRITE_URL: prom.writeUrl,
    });
    await app.printed('ready');
    for (let i = 0; i < 5; i++) assert.equal((await httpRequest(`http://127.0.0.1:${appPort}/work`)).status, 200);

    const scalarOf = async (promql: string) => {
      const r = await prom.query(promql);
      return r.length === 1 ? r[0]!.samples[0]!.value : undefined;
    };
    for (const job of ['app-push', 'app-scrape']) {
      await waitUntil(() => scalarOf(`app_requests_total{job="${job}",route="/work"}`), {
        until: (v) => v === 5,
        timeoutMs: 20_000,
        intervalMs: 200,
        description: `app_requests_total == 5 in job ${job}`,
      });
    }

    // The pushed label sets are the scraped ones (less the scrape's own up/scrape_* series).
    const labelSets = async (job: string) =>
      (await prom.series(`{job="${job}",__name__=~"app_.*"}`))
        .map((l) => JSON.stringify(Object.entries({ ...l, job: 'J' }).sort()))
        .sort();
    const scraped = await labelSets('app-scrape');
    assert.deepEqual(await labelSets('app-push'), scraped);
    assert.equal(scraped.length, 1 + 6 + 1, 'counter, histogram 4 buckets + sum + count, gauge');

    const pushed = await prom.query(
      '{job="app-push",__name__=~"app_request_duration_seconds_bucket|app_last_run_seconds"}',
    );
    const byLe = Object.fromEntries(
      pushed.filter((s) => s.metric.le !== undefined).map((s) => [s.metric.le, s.samples[0]!.value]),
    );
    assert.deepEqual(byLe, { '0.01': 0, '0.1': 5, '1': 5, '+Inf': 5 });
    assert.deepEqual(
      pushed.find((s) => s.metric.__name__ === 'app_request_duration_seconds_bucket' && s.metric.le === '0.1')?.metric,
      {
        __name__: 'app_request_duration_seconds_bucket',
        le: '0.1',
        route: '/work',
        job: 'app-push',
        instance: `127.0.0.1:${appPort}`,
      },
    );
    assert.deepEqual(pushed.find((s) => s.metric.__name__ === 'app_last_run_seconds')?.metric, {
      __name__: 'app_last_run_seconds',
      exported_job: 'nightly',
      job: 'app-push',
      instance: `127.0.0.1:${appPort}`,
    });

    // The final snapshot: a request just before SIGTERM is in Prometheus after the app stopped by itself.
    await httpRequest(`http://127.0.0.1:${appPort}/work`);
    app.child.kill('SIGTERM');
    await app.printed('stopped');
    const [code] = await app.exited;
    assert.equal(code, 0, `the app exits by itself once stopped (no timer keeps it alive): ${app.stderr()}`);
    assert.equal(await scalarOf('app_requests_total{job="app-push",route="/work"}'), 6);

    // One timestamp per snapshot: every sample of every pushed series sits at one of the instants
    // of the gauge, which is in every snapshot (the counter and histogram only from the first request on).
    const raw = await prom.query('{job="app-push"}[5m]');
    assert.equal(raw.length, 8);
    const instants = (s: (typeof raw)[number]) => s.samples.map((p) => p.timestampMs);
    const gauge = instants(raw.find((s) => s.metric.__name__ === 'app_last_run_seconds')!);
    assert.ok(gauge.length >= 3, 'several snapshots taken');
    for (const s of raw) {
      const mine = instants(s);
      assert.deepEqual(mine, gauge.slice(gauge.length - mine.length), `instants of ${JSON.stringify(s.metric)}`);
    }
  });
});

describe('pushRegistryOnce survives a kill -9 right after it resolved', () => {
  it('a second process on the same data dir delivers the committed snapshot', async () => {
    const dir = await tempDataDir('bridge-once');
    // Nothing listens there: the first process can only keep the snapshot on disk.
    const deadPort = await freePort();
    const receiver = await startFakeReceiver();
    try {
      const app = startApp({
        APP_MODE: 'once',
        APP_DATA_DIR: dir.path,
        APP_WRITE_URL: `http://127.0.0.1:${deadPort}/api/v1/write`,
      });
      await app.printed('committed');
      app.child.kill('SIGKILL');
      const [, signal] = await app.exited;
      assert.equal(signal, 'SIGKILL');

      const queue = await createQueue({
        dataDir: dir.path,
        endpoints: [{ name: 'ep', url: receiver.url, metadataConfig: { send: false } }],
      });
      try {
        await receiver.waitFor((r) => r.totalSamples >= 8, 20_000);
      } finally {
        await queue.stop();
      }
      const got = [...receiver.received].map(([key, samples]) => [key, samples.map((s) => s.value)]).sort();
      const id = 'instance="run-1",job="batch"';
      assert.deepEqual(
        got,
        [
          [`{__name__="app_last_run_seconds",exported_job="nightly",${id}}`, [1234]],
          [`{__name__="app_request_duration_seconds_bucket",${id},le="+Inf",route="/batch"}`, [1]],
          [`{__name__="app_request_duration_seconds_bucket",${id},le="0.01",route="/batch"}`, [0]],
          [`{__name__="app_request_duration_seconds_bucket",${id},le="0.1",route="/batch"}`, [1]],
          [`{__name__="app_request_duration_seconds_bucket",${id},le="1",route="/batch"}`, [1]],
          [`{__name__="app_request_duration_seconds_count",${id},route="/batch"}`, [1]],
          [`{__name__="app_request_duration_seconds_sum",${id},route="/batch"}`, [0.05]],
          [`{__name__="app_requests_total",code="200",${id},route="/batch"}`, [7]],
        ].sort(),
      );
      const stamps = new Set([...receiver.received.values()].flatMap((s) => s.map((x) => x.ts)));
      assert.equal(stamps.size, 1, 'one timestamp for the snapshot');
    } finally {
      await receiver.close();
      await dir.remove();
    }
  });
});
