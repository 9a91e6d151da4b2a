/**
 * The receiver's decode + ingest alone, in one process and without HTTP or snappy: uncompressed
 * remote-write bodies (the relay bench's workload: S series x L labels, P series per request, one
 * sample each) go through the daemon's Ingester into a real Appender and SeriesRegistry (rolled
 * back instead of committed, so nothing is serialized). Reports CPU seconds per 1M samples for
 * the first pass over the series (every series new) and for the passes after it (series known).
 *
 * Usage: node dist/bench/ingest.js [--series=100000] [--labels=10] [--per-request=2000]
 *   [--rounds=8] [--versions=1.0,2.0] [--no-append]
 */
import { createIngester } from '../src/daemon/ingest.js';
import { createAppender, createSeriesRegistry } from '../src/serialization/index.js';
import { decodeWriteRequestV1 } from '../src/wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../src/wire/rw2-decoder.js';
import { uncompressBlock } from '../src/wire/snappy.js';
import { encodeWriteRequestV2 } from '../test/helpers/remote-write-client.js';
import { printTable } from './lib/measure.js';
import { recordResult } from './lib/results.js';
import { buildBodySet, seriesLabels } from './lib/rw-bodies.js';
import { scenarioArgs } from './lib/scenario-args.js';

const args = scenarioArgs({
  series: 100_000,
  labels: 10,
  'per-request': 2000,
  rounds: 8,
  versions: '1.0,2.0',
  'no-append': false,
});
const versions = args.versions.split(',').map((v) => v.trim()) as ('1.0' | '2.0')[];
const TS = 1_700_000_000_000;

function bodiesV1(): Uint8Array[] {
  const set = buildBodySet(
    { series: args.series, labelsPerSeries: args.labels, seriesPerRequest: args['per-request'] },
    2 ** 40,
  );
  return set.map((b) => uncompressBlock(b.compressed, 1 << 30));
}

function bodiesV2(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let first = 0; first < args.series; first += args['per-request']) {
    const series = [];
    for (let i = first; i < Math.min(first + args['per-request'], args.series); i++) {
      series.push({ labels: Object.fromEntries(seriesLabels(i, args.labels)), samples: [[TS, i % 1000]] });
    }
    out.push(encodeWriteRequestV2(series as Parameters<typeof encodeWriteRequestV2>[0]));
  }
  return out;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function run(version: '1.0' | '2.0'): Record<string, string | number> {
  const bodies = version === '1.0' ? bodiesV1() : bodiesV2();
  const registry = createSeriesRegistry({ maxCachedSeries: Math.max(100_000, args.series * 2) });
  const ingester = createIngester(
    { series: (labels) => registry.resolve(labels) },
    { decoders: { '1.0': decodeWriteRequestV1, '2.0': decodeWriteRequestV2 } },
  );
  const appender = createAppender({ registry, submit: () => Promise.resolve() });
  const pass = (): number => {
    let samples = 0;
    for (const body of bodies) {
      samples += ingester.ingest(version, body, appender).samples;
      appender.rollback();
    }
    return samples;
  };
  let t = cpuSeconds();
  const coldSamples = pass();
  const cold = cpuSeconds() - t;
  t = cpuSeconds();
  let warmSamples = 0;
  for (let i = 1; i < args.rounds; i++) warmSamples += pass();
  const warm = cpuSeconds() - t;
  return {
    version,
    'first pass samples': coldSamples,
    'first pass CPU s/1M': (cold / coldSamples) * 1e6,
    'later samples': warmSamples,
    'later CPU s/1M': (warm / warmSamples) * 1e6,
    'later samples/s/core': Math.round(warmSamples / warm),
    'cached series': ingester.cachedSeries,
  };
}

const rows = versions.map(run);
printTable(rows);
if (!args['no-append']) {
  // Each remote-write version is an "agent" of the record: the same ingest path fed 1.0 or 2.0 bodies.
  recordResult({
    scenario: 'ingest',
    title: 'ingest (receiver decode + ingest, one process)',
    subject: `RW ${versions[0]}`,
    keyMetric: 'laterPerM',
    metrics: [
      { key: 'firstPerM', label: 'first pass CPU s / 1M', better: 'lower', digits: 3 },
      { key: 'laterPerM', label: 'later passes CPU s / 1M', better: 'lower', digits: 3 },
      { key: 'laterPerCore', label: 'later samples/s/core', better: 'higher', digits: 0 },
      { key: 'cachedSeries', label: 'cached series', better: 'lower', digits: 0 },
    ],
    agents: rows.map((r) => ({
      name: `RW ${r.version}`,
      figures: {
        firstPerM: Number(r['first pass CPU s/1M']),
        laterPerM: Number(r['later CPU s/1M']),
        laterPerCore: Number(r['later samples/s/core']),
        cachedSeries: Number(r['cached series']),
      },
    })),
    targets: [],
    notes: [
      `${args.series} series x ${args.labels} labels, ${args['per-request']} series per request, one sample each, ` +
        `${args.rounds} passes over every series; bodies uncompressed up front; appends rolled back, not committed.`,
    ],
  });
}
