/**
 * An app-like child process for prom-client-bridge.test.ts: its own prom-client registry, the
 * library queue and the bridge, in one of two modes (environment variables):
 *
 * - `APP_MODE=serve`: an HTTP server on `APP_PORT` (`GET /work` counts a request and observes its
 *   duration, `GET /metrics` is the exposition for a Prometheus to scrape), `snapshotRegistry`
 *   every 500 ms as job `app-push`; on SIGTERM `bridge.stop()` then `queue.stop()`, prints `stopped`.
 * - `APP_MODE=once`: one `pushRegistryOnce` as job `batch`, prints `committed` once it resolved,
 *   then idles until killed.
 *
 * Both deliver to `APP_WRITE_URL` from `APP_DATA_DIR` with the library's default persistence.
 */
import { createServer } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { pushRegistryOnce, snapshotRegistry } from '../../src/bridges/prom-client.js';
import { createQueue } from '../../src/queue.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`prom-client-app: ${name} is not set`);
  return v;
};

const registry = new Registry();
const requests = new Counter({
  name: 'app_requests_total',
  help: 'Requests handled.',
  labelNames: ['route', 'code'],
  registers: [registry],
});
const duration = new Histogram({
  name: 'app_request_duration_seconds',
  help: 'Request duration.',
  labelNames: ['route'],
  buckets: [0.01, 0.1, 1],
  registers: [registry],
});
// Carries its own job label, which a scrape (honor_labels: false) keeps as exported_job.
const lastRun = new Gauge({
  name: 'app_last_run_seconds',
  help: 'Last run per job.',
  labelNames: ['job'],
  registers: [registry],
});
lastRun.set({ job: 'nightly' }, 1234);

const queue = await createQueue({
  dataDir: env('APP_DATA_DIR'),
  endpoints: [
    {
      name: 'ep',
      url: env('APP_WRITE_URL'),
      metadataConfig: { send: false },
      queueConfig: { batchSendDeadline: '50ms', minBackoff: '20ms', maxBackoff: '200ms' },
    },
  ],
});

if (env('APP_MODE') === 'once') {
  requests.inc({ route: '/batch', code: '200' }, 7);
  duration.observe({ route: '/batch' }, 0.05);
  await pushRegistryOnce(queue, { registry, job: 'batch', instance: 'run-1' });
  process.stdout.write('committed\n');
  setInterval(() => {}, 60_000); // wait for SIGKILL
} else {
  const port = Number(env('APP_PORT'));
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
      return;
    }
    if (req.url === '/work') {
      requests.inc({ route: '/work', code: '200' });
      duration.observe({ route: '/work' }, 0.05);
      res.end('ok');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bridge = snapshotRegistry(queue, { registry, job: 'app-push', instance: `127.0.0.1:${port}`, intervalMs: 500 });
  process.on('SIGTERM', async () => {
    server.close();
    await bridge.stop();
    await queue.stop();
    process.stdout.write('stopped\n');
  });
  process.stdout.write('ready\n');
}
