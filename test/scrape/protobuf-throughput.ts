/**
 * Throughput of the protobuf exposition parser beside the text parser on the same 100,000 series
 * (5 metric names of 20,000 series with 6 labels each, issue 20's benchmark shape), run by hand:
 * `node dist/test/scrape/protobuf-throughput.js` (not a test). Paths per format:
 * - `next`: entries only (value, timestamp), what a cache hit needs before the lookup;
 * - `cache hit`: plus a Map lookup keyed by `series()`, the scrape loop's steady state;
 * - `labels`: plus `labels()` for every series, a first scrape (cache miss).
 * The formats alternate within each round; prints series per second, the median of the rounds.
 */
import { createParser, type ExpositionFormat } from '../../src/scrape/index.js';
import { encodeFamilies } from './protobuf-fixtures.js';

const NAMES = 5;
const PER_NAME = 20_000;
const LABELS = ['instance', 'job', 'device', 'mode', 'cpu', 'region'];

function labelValue(l: number, i: number): string {
  return l === 0 ? `host-${i % 500}:9100` : l === 1 ? 'node' : `${LABELS[l]}-${(i * (l + 3)) % 4000}`;
}

function bodies(): { text: Buffer; proto: Buffer; series: number } {
  const lines: string[] = [];
  const families: Record<string, unknown>[] = [];
  for (let n = 0; n < NAMES; n++) {
    const name = `bench_metric_${n}_total`;
    lines.push(`# HELP ${name} Bench counter ${n}.`, `# TYPE ${name} counter`);
    const metric: unknown[] = [];
    for (let i = 0; i < PER_NAME; i++) {
      const v = i * 1.5 + n;
      lines.push(`${name}{${LABELS.map((l, k) => `${l}="${labelValue(k, i)}"`).join(',')}} ${v}`);
      metric.push({ label: LABELS.map((l, k) => ({ name: l, value: labelValue(k, i) })), counter: { value: v } });
    }
    families.push({ name, help: `Bench counter ${n}.`, type: 'COUNTER', metric });
  }
  return { text: Buffer.from(`${lines.join('\n')}\n`), proto: encodeFamilies(families), series: NAMES * PER_NAME };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const { text, proto, series } = bodies();
const inputs: Record<string, { format: ExpositionFormat; body: Buffer }> = {
  protobuf: { format: 'protobuf', body: proto },
  'text-0.0.4': { format: 'text-0.0.4', body: text },
};
const caches = new Map<string, Map<string, number>>();
for (const [name, { format, body }] of Object.entries(inputs)) {
  const cache = new Map<string, number>();
  const p = createParser(format, body);
  let id = 0;
  for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') cache.set(p.series(), id++);
  caches.set(name, cache);
}
const paths: Record<string, (format: ExpositionFormat, body: Buffer, cache: Map<string, number>) => number> = {
  next: (format, body) => {
    const p = createParser(format, body);
    let sum = 0;
    for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += p.value;
    return sum;
  },
  'cache hit': (format, body, cache) => {
    const p = createParser(format, body);
    let sum = 0;
    for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += cache.get(p.series()) ?? 0;
    return sum;
  },
  labels: (format, body) => {
    const p = createParser(format, body);
    let sum = 0;
    for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += p.labels().length;
    return sum;
  },
};
const ROUNDS = Number(process.env.ROUNDS ?? 15);
for (const [path, run] of Object.entries(paths)) {
  const times = new Map<string, number[]>(Object.keys(inputs).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS + 3; round++) {
    for (const [name, { format, body }] of Object.entries(inputs)) {
      const cache = caches.get(name) as Map<string, number>;
      const t0 = process.hrtime.bigint();
      run(format, body, cache);
      const ns = Number(process.hrtime.bigint() - t0);
      if (round >= 3) times.get(name)?.push(ns);
    }
  }
  const ms = new Map([...times].map(([k, v]) => [k, median(v) / 1e6]));
  for (const [name, t] of ms) {
    console.log(
      `${name.padEnd(11)} ${path.padEnd(10)} ${series} series (${inputs[name].body.length} bytes) in ${t.toFixed(1)} ms = ${(((series / t) * 1000) / 1e6).toFixed(2)} M series/s`,
    );
  }
  console.log(`  protobuf / text time ratio: ${((ms.get('protobuf') ?? 0) / (ms.get('text-0.0.4') ?? 1)).toFixed(2)}`);
}
