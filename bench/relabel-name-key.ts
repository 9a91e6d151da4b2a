/**
 * Measured, not built (issue 17): a write relabel cache keyed by what the rules read (the label
 * names and the `__name__` value) against today's cache keyed by all the label bytes, in one
 * process, over bench/relay's own bodies (100,000 series x 10 labels, 2,000 per body).
 *
 * Three ways, alternated within each round, CPU ns per scanned series (the body copied into
 * linear memory, scanned, and grouped into 16 groups):
 * - `none`: the plain scan + gather_groups, no rules (`WasmRelayScan.scan` + `gather`);
 * - `today`: the scan + src/relay/ingest-relabel.ts's `IngestRelabeler.relabel` with bench/relay's
 *   three rules (relabel_lookup / relabel_gather; the cache warm);
 * - `names`: the scan + bench/relabel-name-key.c (key of names and `__name__` value, a 1,024-slot
 *   table, the gather by label index, hash version 2 of the output per series), built here with
 *   scripts/build-wasm.mjs's clang flags into a temporary directory.
 * Before timing, `names`' groups are checked byte for byte against `today`'s for every body.
 *
 *   node dist/bench/relabel-name-key.js [--rounds=15] [--sweeps=3]
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_INGEST_RELABEL_ARENA_BYTES,
  DEFAULT_INGEST_RELABEL_SLOTS,
  IngestRelabeler,
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

const root = fileURLToPath(new URL('../..', import.meta.url));
const argv = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, Number(v)];
  }),
);
const ROUNDS = argv.rounds ?? 15;
const SWEEPS = argv.sweeps ?? 3;
const GROUPS = 16;
const SERIES = 100_000;
/** Ablation of the prototype's steps (see bench/relabel-name-key.c, p_mode); 0: all of them, checked. */
const MODE = argv.mode ?? 0;

/** The prototype module, compiled with scripts/build-wasm.mjs's flags (scripts/wasm-clang-flags.json). */
function buildPrototype(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'promspool-relabel-name-key-'));
  try {
    const out = join(dir, 'proto.wasm');
    const flags: string[] = JSON.parse(readFileSync(join(root, 'scripts/wasm-clang-flags.json'), 'utf8'));
    execFileSync(process.env.CLANG ?? 'clang', [
      ...flags,
      '-o',
      out,
      join(root, 'bench/relabel-name-key.c'),
      join(root, 'src/wire/siphash.c'),
    ]);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ProtoExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  scan(...args: number[]): number;
  proto_reset(s0: number, s1: number, s2: number, s3: number): void;
  proto_entries(): number;
  proto_relabel(...args: number[]): number;
  proto_mode(mode: number): void;
}

/** The prototype over one instance: memory laid out for the largest body once. */
class Prototype {
  private readonly at: Record<string, number> = {};
  constructor(
    private readonly m: ProtoExports,
    maxBody: number,
  ) {
    const cap = (maxBody >>> 4) + 2;
    let p = (Number(m.__heap_base.value) + 63) & ~63;
    const take = (name: string, bytes: number) => {
      this.at[name] = p;
      p = (p + bytes + 64 + 63) & ~63;
    };
    take('body', maxBody + 64);
    for (const a of ['hashes', 'counts', 'starts', 'labelEnds', 'slotOf', 'innerOf', 'newHashes', 'sizes', 'order'])
      take(a, 4 * cap);
    take('ts', 24);
    take('off', 2 * 33 * cap);
    take('groups', 4 * 3 * 64);
    take('result', 16);
    take('out', maxBody + 64);
    const have = m.memory.buffer.byteLength;
    if (p > have) m.memory.grow(Math.ceil((p - have) / 65536));
    const seed = new Uint32Array(4);
    randomFillSync(seed);
    m.proto_reset(seed[0], seed[1], seed[2], seed[3]);
  }

  /** Scans and relabels `body`; the groups' byte ends and bytes (views of linear memory). */
  run(body: Uint8Array): { byteEnd: Uint32Array; bytes: Uint8Array; result: Uint32Array } {
    const { m, at } = this;
    new Uint8Array(m.memory.buffer, at.body, body.length).set(body);
    const cap = (body.length >>> 4) + 1;
    const n = m.scan(at.body, body.length, at.hashes, at.counts, at.starts, at.labelEnds, cap, at.ts, 0);
    if (n === 0) throw new Error('relabel-name-key: the scan refused a bench body');
    const g = at.groups;
    const bad = m.proto_relabel(
      at.body,
      at.starts,
      at.labelEnds,
      at.hashes,
      n,
      GROUPS,
      at.off,
      at.slotOf,
      at.innerOf,
      at.newHashes,
      at.sizes,
      at.order,
      g,
      g + 256,
      g + 512,
      at.out,
      at.result,
    );
    if (bad !== 0) throw new Error('relabel-name-key: a series the prototype does not take');
    const byteEnd = new Uint32Array(m.memory.buffer, g + 256, GROUPS);
    return {
      byteEnd,
      bytes: new Uint8Array(m.memory.buffer, at.out, byteEnd[GROUPS - 1]),
      result: new Uint32Array(m.memory.buffer, at.result, 3),
    };
  }
}

// bench/relay's bodies, uncompressed once (the snappy step is the same for every way).
const plain = createWasmRelayScan();
const cached = createWasmRelayScan();
if (plain === undefined || cached === undefined) throw new Error('relabel-name-key: no WebAssembly scan');
const bodies = uncompressedRelayBodies(plain, SERIES, 'relabel-name-key');
const maxBody = Math.max(...bodies.map((b) => b.length));

const ruleList = benchRelabelRules('relabel-name-key');
// The cache's route (`cacheOnly`): the three rules are otherwise planned by name (relabel-name-plan.ts).
const relabeler = new IngestRelabeler(
  { digest: ingestRelabelDigest(ruleList, 'utf8', {}), rules: ruleList, scheme: 'utf8', external: [] },
  cached,
  { slots: DEFAULT_INGEST_RELABEL_SLOTS, arenaBytes: DEFAULT_INGEST_RELABEL_ARENA_BYTES, cacheOnly: true },
);
// rw1-raw-scan.c (included by the prototype) imports the name plan's two miss handlers; the
// prototype never plans by name.
const notPlanned = (): number => {
  throw new Error('relabel-name-key: the prototype does not plan by name');
};
const instance = new WebAssembly.Instance(new WebAssembly.Module(buildPrototype()), {
  env: { plan_name: notPlanned, plan_value: notPlanned },
});
const proto = new Prototype(instance.exports as unknown as ProtoExports, maxBody);

let sink = 0;
const ways: Record<string, () => void> = {
  none() {
    sink += scanAndGatherAll(plain, bodies, GROUPS, 'relabel-name-key');
  },
  today() {
    sink += relabelAll(cached, relabeler, bodies, GROUPS, 'relabel-name-key: today');
  },
  names() {
    for (const body of bodies) sink += proto.run(body).byteEnd[GROUPS - 1];
  },
};

// Warm both caches, then check the prototype's groups against today's, body by body.
ways.today();
ways.names();
let changed = 0;
let dropped = 0;
for (const body of bodies) {
  const scan = cached.scan(body, 'utf8');
  if (scan === undefined) throw new Error('relabel-name-key: scan refused');
  const t = relabeler.relabel(scan, body.length, GROUPS);
  if (t === undefined) throw new Error('relabel-name-key: today: body left unrelabeled');
  const tBytes = Buffer.from(t.gathered.bytes);
  const tEnds = [...t.gathered.byteEnd];
  const p = proto.run(body);
  if (!tBytes.equals(Buffer.from(p.bytes)) || tEnds.join() !== [...p.byteEnd].join())
    throw new Error('relabel-name-key: the prototype groups differ from relabel_gather');
  if (p.result[1] !== t.mark.droppedHashes.length) throw new Error('relabel-name-key: dropped series differ');
  if (p.result[0] !== 0) throw new Error('relabel-name-key: the prototype missed after warm-up');
  changed += p.result[2];
  dropped += p.result[1];
}
(instance.exports as unknown as ProtoExports).proto_mode(MODE);
console.log(
  `checked: ${bodies.length} bodies, groups byte-identical; ${dropped} dropped, ${changed} changed; ` +
    `prototype keys ${(instance.exports as unknown as ProtoExports).proto_entries()}, today's cache ${relabeler.stats.decisions} decisions`,
);

const names = Object.keys(ways);
const ns = timeWays(ways, ROUNDS, SWEEPS, SERIES);
const paired = (a: string) => ns[a].map((v, r) => v - ns.none[r]);
printTable(
  names.map((n) => ({
    way: n,
    'CPU ns/series (median)': median(ns[n]).toFixed(1),
    range: `${Math.min(...ns[n]).toFixed(1)}-${Math.max(...ns[n]).toFixed(1)}`,
    'paired extra over none (median)': n === 'none' ? '' : median(paired(n)).toFixed(1),
  })),
);
console.log(`sink ${sink}`);

recordResult({
  scenario: MODE === 0 ? 'relabel-name-key' : 'relabel-name-key-ablation',
  title:
    MODE === 0
      ? 'write relabel cache keyed by what the rules read (prototype, in-process)'
      : `write relabel cache keyed by what the rules read, ablation --mode=${MODE}`,
  subject: 'names',
  keyMetric: 'extraNs',
  metrics: [
    { key: 'nsPerSeries', label: 'CPU ns / series', better: 'lower', digits: 1 },
    { key: 'extraNs', label: 'paired extra over none, ns / series', better: 'lower', digits: 1 },
  ],
  agents: names.map((n) => ({
    name: n,
    figures: { nsPerSeries: median(ns[n]), extraNs: n === 'none' ? 0 : median(paired(n)) },
  })),
  targets: [],
  notes: [
    `${ROUNDS} rounds, the three ways alternated (rotated order), each ${SWEEPS} sweeps over bench/relay's 50 bodies (100,000 series x 10 labels); medians.`,
    `Per round CPU ns per series: ${names.map((n) => `${n} ${ns[n].map((v) => v.toFixed(0)).join('/')}`).join('; ')}`,
    MODE === 0
      ? "The prototype's groups were checked byte for byte against relabel_gather's before timing."
      : `Ablation --mode=${MODE} (bench/relabel-name-key.c p_mode: 1 no output hash, 2 no SipHash, 8 no hash of the first run): not checked.`,
  ],
});
