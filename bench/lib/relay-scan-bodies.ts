/**
 * What the in-process harnesses of the relay scan's write relabeling share (bench/relabel-name-key.ts,
 * bench/relabel-name-plan.ts): bench/relay's bodies uncompressed once, its three rules parsed,
 * the plain scan and gather as the baseline way, and the median of a round's figures.
 */
import { FieldReader } from '../../src/config/field-reader.js';
import { readRelabelConfigs } from '../../src/relabel/config.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import type { IngestRelabeler } from '../../src/relay/ingest-relabel.js';
import type { EncodedExternalLabels, WasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';
import { BENCH_RELABEL_RULES } from './agents.js';
import { buildBodySet } from './rw-bodies.js';

/** {@link BENCH_RELABEL_RULES} as the config loader reads them; `who` names the harness in errors. */
export function benchRelabelRules(who: string): RelabelRule[] {
  const r = new FieldReader('snake');
  const out = readRelabelConfigs(r, BENCH_RELABEL_RULES, 'write_relabel_configs', 'utf8') as RelabelRule[];
  if (r.errors.length > 0) throw new Error(`${who}: BENCH_RELABEL_RULES: ${JSON.stringify(r.errors)}`);
  return out;
}

/**
 * bench/relay's bodies of `series` series (10 labels, 2,000 series a body), uncompressed once by
 * `scan` (the snappy step is the same for every way a harness compares).
 */
export function uncompressedRelayBodies(scan: WasmRelayScan, series: number, who: string): Buffer[] {
  const bodies: Buffer[] = [];
  for (const b of buildBodySet({ series, labelsPerSeries: 10, seriesPerRequest: 2000 }, 2 ** 40)) {
    const r = scan.uncompressAndScan(b.compressed, b.uncompressedBytes, 'utf8');
    if (r === undefined || r.scan === undefined) throw new Error(`${who}: a bench body did not scan`);
    bodies.push(Buffer.from(r.body));
  }
  return bodies;
}

/** The way without rules: each body scanned and gathered into `groups` groups; a sum of their sizes. */
export function scanAndGatherAll(plain: WasmRelayScan, bodies: readonly Buffer[], groups: number, who: string): number {
  let sum = 0;
  for (const body of bodies) {
    const scan = plain.scan(body, 'utf8');
    if (scan === undefined) throw new Error(`${who}: scan refused`);
    sum += plain.gather(scan, groups).byteEnd[groups - 1];
  }
  return sum;
}

/**
 * A way with rules: each body scanned (with `merge`, the relabeler's plan, when it has one) and
 * relabeled by `relabeler` into `groups` groups; a sum of their sizes.
 */
export function relabelAll(
  wasm: WasmRelayScan,
  relabeler: IngestRelabeler,
  bodies: readonly Buffer[],
  groups: number,
  who: string,
  merge?: EncodedExternalLabels,
): number {
  let sum = 0;
  for (const body of bodies) {
    const scan = wasm.scan(body, 'utf8', merge);
    if (scan === undefined) throw new Error(`${who}: scan refused`);
    const out = relabeler.relabel(scan, body.length, groups);
    if (out === undefined) throw new Error(`${who}: body left unrelabeled`);
    sum += out.gathered.byteEnd[groups - 1];
  }
  return sum;
}

/**
 * CPU ns per series of each way, per round: `rounds` rounds, the ways in a rotated order within
 * each (so no way always runs first), each way run `sweeps` times over `series` series.
 */
export function timeWays(
  ways: Record<string, () => void>,
  rounds: number,
  sweeps: number,
  series: number,
): Record<string, number[]> {
  const names = Object.keys(ways);
  const ns: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const t0 = process.cpuUsage();
      for (let s = 0; s < sweeps; s++) ways[name]();
      const d = process.cpuUsage(t0);
      ns[name].push(((d.user + d.system) * 1000) / (sweeps * series));
    }
  }
  return ns;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}
