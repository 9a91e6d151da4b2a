/**
 * Write relabel rules planned by label name in the relay scan (issue 17; src/relay/name-rule-plan.ts,
 * rw1-raw-scan.c's scan_plan and plan_gather) against the ingest cache and against no rules, in one
 * process, over bench/relay's own bodies (100,000 series x 10 labels, 2,000 per body).
 *
 * Three ways, alternated within each round (rotated order), CPU ns per scanned series (the body
 * copied into linear memory, scanned, and grouped into 16 groups), one module instance each:
 * - `none`: the plain scan + gather_groups, no rules;
 * - `cache`: the scan + `IngestRelabeler.relabel` on the cache's route (`cacheOnly`: SipHash key,
 *   slot, gather by pieces), bench/relay's three rules, the cache warm;
 * - `plan`: the scan planning the same rules by name (`IngestRelabeler.merge`) + plan_gather.
 * Before timing, the plan's groups, hashes and dropped series are checked against the cache's,
 * body by body. Optional `--external-labels`: `cluster="bench-eu-west-1"` merged before the rules.
 *
 *   node dist/bench/relabel-name-plan.js [--rounds=11] [--sweeps=3] [--external-labels]
 */
import { externalLabelList } from '../src/endpoint/write-relabel.js';
import {
  DEFAULT_INGEST_RELABEL_ARENA_BYTES,
  DEFAULT_INGEST_RELABEL_SLOTS,
  IngestRelabeler,
  type IngestRelabelPlan,
  ingestRelabelDigest,
} from '../src/relay/ingest-relabel.js';
import { createWasmRelayScan } from '../src/wire/rw1-raw-scan-wasm.js';
import { printTable } from './lib/measure.js';
import {
  benchRelabelRules,
  median,
  relabelAll,
  scanAndGatherAll,
  timeWays,
  uncompressedRelayBodies,
} from './lib/relay-scan-bodies.js';
import { recordResult } from './lib/results.js';

const args = process.argv.slice(2);
const argv = Object.fromEntries(
  args.map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, Number(v)];
  }),
);
const ROUNDS = argv.rounds ?? 11;
const SWEEPS = argv.sweeps ?? 3;
const EXTERNAL = args.includes('--external-labels');
const GROUPS = 16;
const SERIES = 100_000;

const plain = createWasmRelayScan();
const cachedWasm = createWasmRelayScan();
const plannedWasm = createWasmRelayScan();
if (plain === undefined || cachedWasm === undefined || plannedWasm === undefined)
  throw new Error('relabel-name-plan: no WebAssembly scan');
// bench/relay's bodies, uncompressed once (the snappy step is the same for every way).
const bodies = uncompressedRelayBodies(plain, SERIES, 'relabel-name-plan');

const ruleList = benchRelabelRules('relabel-name-plan');
const externalLabels: Record<string, string> = EXTERNAL ? { cluster: 'bench-eu-west-1' } : {};
const plan: IngestRelabelPlan = {
  digest: ingestRelabelDigest(ruleList, 'utf8', externalLabels),
  rules: ruleList,
  scheme: 'utf8',
  external: externalLabelList(externalLabels),
};
const caching = new IngestRelabeler(plan, cachedWasm, {
  slots: DEFAULT_INGEST_RELABEL_SLOTS,
  arenaBytes: DEFAULT_INGEST_RELABEL_ARENA_BYTES,
  cacheOnly: true,
});
const planning = new IngestRelabeler(plan, plannedWasm);
if (planning.namePlan === undefined) throw new Error('relabel-name-plan: the rules were not planned by name');

let sink = 0;
const ways: Record<string, () => void> = {
  none() {
    sink += scanAndGatherAll(plain, bodies, GROUPS, 'relabel-name-plan');
  },
  cache() {
    sink += relabelAll(cachedWasm, caching, bodies, GROUPS, 'relabel-name-plan: cache');
  },
  plan() {
    sink += relabelAll(plannedWasm, planning, bodies, GROUPS, 'relabel-name-plan: plan', planning.merge);
  },
};

// Warm the cache and the plan's tables, then check the plan against the cache, body by body.
ways.cache();
ways.plan();
let changed = 0;
let dropped = 0;
for (const body of bodies) {
  const cs = cachedWasm.scan(body, 'utf8');
  const ps = plannedWasm.scan(body, 'utf8', planning.merge);
  if (cs === undefined || ps === undefined) throw new Error('relabel-name-plan: scan refused');
  const c = caching.relabel(cs, body.length, GROUPS);
  const p = planning.relabel(ps, body.length, GROUPS);
  if (c === undefined || p === undefined) throw new Error('relabel-name-plan: a body left unrelabeled');
  const same =
    Buffer.from(c.gathered.bytes).equals(Buffer.from(p.gathered.bytes)) &&
    c.gathered.byteEnd.join() === p.gathered.byteEnd.join() &&
    c.gathered.order.join() === p.gathered.order.join() &&
    c.scan.hashes.join() === p.scan.hashes.join() &&
    c.mark.droppedHashes.join() === p.mark.droppedHashes.join() &&
    c.unchanged === p.unchanged;
  if (!same) throw new Error('relabel-name-plan: the plan differs from the cache route');
  dropped += p.mark.droppedHashes.length;
  changed += p.scan.series;
}
const before = { ...planning.stats };
console.log(
  `checked: ${bodies.length} bodies identical to the cache route; ${dropped} dropped, ${changed} kept; ` +
    `plan bodies ${before.merged}/${before.bodies}, engine decisions ${before.decisions}`,
);

const names = Object.keys(ways);
const ns = timeWays(ways, ROUNDS, SWEEPS, SERIES);
const paired = (a: string) => ns[a].map((v, r) => v - ns.none[r]);
const ratio = (a: string) => median(ns[a].map((v, r) => v / ns.none[r]));
printTable(
  names.map((n) => ({
    way: n,
    'CPU ns/series (median)': median(ns[n]).toFixed(1),
    range: `${Math.min(...ns[n]).toFixed(1)}-${Math.max(...ns[n]).toFixed(1)}`,
    'paired extra over none (median)': n === 'none' ? '' : median(paired(n)).toFixed(1),
    'paired ratio (median)': n === 'none' ? '' : ratio(n).toFixed(2),
  })),
);
console.log(`sink ${sink}`);

recordResult({
  scenario: EXTERNAL ? 'relabel-name-plan-external' : 'relabel-name-plan',
  title: `write relabel rules planned by label name in the relay scan (in-process)${EXTERNAL ? ', cluster external label' : ''}`,
  subject: 'plan',
  keyMetric: 'extraNs',
  metrics: [
    { key: 'nsPerSeries', label: 'CPU ns / series', better: 'lower', digits: 1 },
    { key: 'extraNs', label: 'paired extra over none, ns / series', better: 'lower', digits: 1 },
    { key: 'ratio', label: 'paired ratio over none', better: 'lower', digits: 2 },
  ],
  agents: names.map((n) => ({
    name: n,
    figures: {
      nsPerSeries: median(ns[n]),
      extraNs: n === 'none' ? 0 : median(paired(n)),
      ratio: n === 'none' ? 1 : ratio(n),
    },
  })),
  targets: [],
  notes: [
    `${ROUNDS} rounds, the three ways alternated (rotated order), each ${SWEEPS} sweeps over bench/relay's 50 bodies (100,000 series x 10 labels, 16 groups); medians.`,
    `Per round CPU ns per series: ${names.map((n) => `${n} ${ns[n].map((v) => v.toFixed(0)).join('/')}`).join('; ')}`,
    "The plan's groups, hashes and dropped series were checked against the cache route's before timing.",
  ],
});
