/**
 * An app-like child process for otel-durability.test.ts: the OTel SDK with PromspoolMetricExporter
 * over a library queue (default persistence) delivering to `APP_WRITE_URL` from `APP_DATA_DIR`.
 * It records a counter and an exponential histogram, exports once through the reader, prints
 * `committed` once the export reported SUCCESS (anything else: `failed <error>` and exit 1), then
 * idles until killed.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PromspoolMetricExporter } from '../../src/otel/index.js';
import { createQueue } from '../../src/queue.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`otel-app: ${name} is not set`);
  return v;
};

const queue = await createQueue({
  dataDir: env('APP_DATA_DIR'),
  endpoints: [{ name: 'ep', url: env('APP_WRITE_URL'), metadataConfig: { send: false } }],
});
const exporter = new PromspoolMetricExporter(queue);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
const provider = new MeterProvider({
  resource: resourceFromAttributes({ 'service.name': 'batch', 'service.instance.id': 'run-1' }),
  readers: [reader],
  views: [{ instrumentName: 'job.item.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
});
const meter = provider.getMeter('batch');
meter.createCounter('job.items').add(7, { 'job.step': 'load' });
meter.createHistogram('job.item.size', { unit: 'By' }).record(1.5);

// The reader's own export path, with the result the SDK gets.
const { resourceMetrics } = await reader.collect();
exporter.export(resourceMetrics, (result) => {
  if (result.code === 0) {
    process.stdout.write('committed\n');
    setInterval(() => {}, 60_000); // wait for SIGKILL
  } else {
    process.stdout.write(`failed ${result.error}\n`);
    process.exit(1);
  }
});
