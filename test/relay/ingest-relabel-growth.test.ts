/**
 * The ingest relabel cache grows (doubles its slots, emptied) when a body finds its entries full,
 * up to its maximum, instead of being emptied at the same size for ever (issue 17).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_INGEST_RELABEL_ARENA_BYTES,
  DEFAULT_INGEST_RELABEL_MAX_SLOTS,
  DEFAULT_INGEST_RELABEL_SLOTS,
  type IngestRelabelCacheSizes,
  IngestRelabeler,
} from '../../src/relay/ingest-relabel.js';
import { encodeGatheredRawRecord } from '../../src/serialization/raw-record.js';
import { createWasmRelayScan, MAX_RELABEL_SLOTS, type WasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { bodyOf, planOf, seriesSet } from './ingest-relabel-helpers.js';

/** Outside the plan by label name (a replace with source labels): the cache's route either way. */
const RULES = [
  { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
  { regex: 'tmp', action: 'labeldrop' },
  { source_labels: ['job'], regex: '(.*)', target_label: 'relayed_by', replacement: 'agent-$1' },
];

/** Body `set`: 6 series of their own (label k), seriesSet's variety otherwise. */
function bodyOfSet(set: number): Uint8Array {
  return bodyOf(
    seriesSet(1_700_000_000_000 + set, 6).map((s, k) => ({ ...s, labels: { ...s.labels, k: `${set}-${k}` } })),
  );
}

function instance(): WasmRelayScan {
  const wasm = createWasmRelayScan();
  assert.ok(wasm, 'WebAssembly is available');
  return wasm;
}

/** The record `rl` writes for `body` (undefined: left unmarked). */
function recordOf(wasm: WasmRelayScan, rl: IngestRelabeler, body: Uint8Array): Uint8Array | undefined {
  const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
  assert.ok(out?.scan);
  const r = rl.relabel(out.scan, body.length, 4);
  return r === undefined ? undefined : encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark);
}

describe('the ingest relabel cache grows instead of thrashing', () => {
  it('reserves the maximum, uses the first slots, and clears only the slots in use', () => {
    const wasm = instance();
    wasm.enableRelabelCache(16, 1024, {}, 64);
    const usage = () => {
      const u = wasm.relabelCacheUsage();
      return [u.slots, u.maxSlots, u.entryCapacity, u.arenaCapacity];
    };
    assert.deepEqual(usage(), [16, 64, 8, 1024]);
    // The header, the 64 slots reserved, 64 KiB of staging, the arena reserved (4 x 1024 and 32
    // bytes of slack, to 64 bytes), then the plan's header and two tables of 1,024 64-byte entries.
    assert.equal(wasm.relabelCacheUsage().regionBytes, 64 + 64 * 64 + 65536 + 4160 + 2048 + 2 * 1024 * 64);
    assert.equal(wasm.relabelClear(), 16 * 64, 'the 16 slots in use, not the 64 reserved');
    assert.equal(wasm.relabelGrow(), true);
    assert.deepEqual(usage(), [32, 64, 16, 2048]);
    assert.equal(wasm.relabelClear(), 32 * 64);
    assert.equal(wasm.relabelGrow(), true);
    assert.deepEqual(usage(), [64, 64, 32, 4096]);
    assert.equal(wasm.relabelGrow(), false, 'at the maximum: emptied only');
    assert.deepEqual(usage(), [64, 64, 32, 4096]);
    assert.equal(wasm.relabelClear(), 64 * 64);
  });

  it('rejects a maximum below the first size, not a power of two, or past the bound', () => {
    assert.throws(() => instance().enableRelabelCache(64, 1024, {}, 32), /maxSlots must be a power of two in 64\.\./);
    assert.throws(() => instance().enableRelabelCache(64, 1024, {}, 96), /maxSlots must be a power of two/);
    assert.throws(() => instance().enableRelabelCache(64, 1024, {}, 2 * MAX_RELABEL_SLOTS), /maxSlots/);
  });

  it('grows when the series of successive bodies exceed it, up to the maximum, then clears as before', () => {
    const plan = planOf(RULES);
    // 16 slots (8 entries) growing to 64 (32 entries); the reference never needs to empty.
    const sizes: IngestRelabelCacheSizes = { slots: 16, arenaBytes: 64 * 1024, maxSlots: 64 };
    const wasm = instance();
    const rl = new IngestRelabeler(plan, wasm, sizes);
    const refWasm = instance();
    const ref = new IngestRelabeler(plan, refWasm, { slots: 4096, arenaBytes: 1 << 20 });
    const check = (set: number) => {
      const body = bodyOfSet(set);
      const got = recordOf(wasm, rl, body);
      assert.ok(got, `set ${set}: relabeled`);
      assert.deepEqual(got, recordOf(refWasm, ref, body), `set ${set}: the record byte for byte`);
    };
    assert.equal(rl.stats.slots, 16);
    // A working set of 24 series in 4 bodies, twice over: 8 entries cannot hold it.
    const seen: [number, number, number, number][] = [];
    for (const set of [0, 1, 2, 3, 0, 1, 2, 3]) {
      check(set);
      seen.push([rl.stats.decisions, rl.stats.growths, rl.stats.clears, rl.stats.slots]);
    }
    assert.deepEqual(seen, [
      [6, 0, 0, 16],
      // 6 + 6 > 8 entries: doubled, emptied.
      [12, 1, 1, 32],
      [18, 1, 1, 32],
      // 12 + 6 > 16 entries: doubled again, emptied.
      [24, 2, 2, 64],
      // Sets 0-2 again (emptied by the growth), set 3 a hit.
      [30, 2, 2, 64],
      [36, 2, 2, 64],
      [42, 2, 2, 64],
      [42, 2, 2, 64],
    ]);
    assert.deepEqual(
      [wasm.relabelCacheUsage().entries, wasm.relabelCacheUsage().arenaCapacity],
      [24, 4 * 64 * 1024],
      'the arena doubled with the slots',
    );
    // The working set fits now: every body a hit.
    for (const set of [0, 1, 2, 3]) check(set);
    assert.equal(rl.stats.decisions, 42);
    // Two more sets: 36 series, past the maximum's 32 entries: emptied at the same size.
    check(4);
    check(5);
    assert.deepEqual([rl.stats.decisions, rl.stats.growths, rl.stats.clears, rl.stats.slots], [54, 2, 3, 64]);
    assert.equal(wasm.relabelCacheUsage().entries, 6);
    assert.equal(wasm.relabelClear(), 64 * 64, 'clears the 64 slots in use');
    assert.equal(rl.stats.fallbacks, 0);
    rl.dispose();
    ref.dispose();
  });

  it('clears without growing when series churn: the cache filled slowly, by a few new series a body', () => {
    const plan = planOf(RULES);
    // 64 slots (32 entries), may grow to 256. Each body: 4 series every body has, 1 new one.
    const churnBody = (b: number) =>
      bodyOf(
        seriesSet(1_700_000_000_000 + b, 5).map((s, k) => ({
          ...s,
          labels: { ...s.labels, k: k < 4 ? `shared-${k}` : `new-${b}` },
        })),
      );
    const wasm = instance();
    const rl = new IngestRelabeler(plan, wasm, { slots: 64, arenaBytes: 64 * 1024, maxSlots: 256 });
    const refWasm = instance();
    const ref = new IngestRelabeler(plan, refWasm, { slots: 4096, arenaBytes: 1 << 20 });
    for (let b = 0; b < 60; b++) {
      const body = churnBody(b);
      assert.deepEqual(recordOf(wasm, rl, body), recordOf(refWasm, ref, body), `body ${b}: the record byte for byte`);
    }
    // Entries after body b: 4 + (b + 1) until a body's 5 series would pass 32: before body 24
    // (28 entries), after 24 bodies, 120 lookups >= 2 x 32: emptied, not grown. Then 4 + 1 a body
    // again from body 24: 28 entries + 5 > 32 before body 48.
    assert.deepEqual([rl.stats.growths, rl.stats.clears, rl.stats.slots], [0, 2, 64]);
    // Misses: bodies 0, 24 and 48 miss all 5, the others their new series only.
    assert.equal(rl.stats.decisions, 3 * 5 + 57);
    rl.dispose();
    ref.dispose();
  });

  it('clears without growing when only the arena is full', () => {
    // A 40-byte added value: every changed series' new labels go to the arena.
    const plan = planOf([{ source_labels: ['job'], target_label: 'relayed_by', replacement: 'x'.repeat(40) }]);
    const bodies = [bodyOfSet(0), bodyOfSet(1)];
    // Room for one body's 2 x its bytes, not for the next one's on top of what the first used.
    const arenaBytes = 2 * Math.max(...bodies.map((b) => b.length)) + 8;
    const wasm = instance();
    const rl = new IngestRelabeler(plan, wasm, { slots: 64, arenaBytes, maxSlots: 256 });
    const refWasm = instance();
    const ref = new IngestRelabeler(plan, refWasm, { slots: 4096, arenaBytes: 1 << 20 });
    for (const body of bodies) assert.deepEqual(recordOf(wasm, rl, body), recordOf(refWasm, ref, body));
    assert.deepEqual([rl.stats.decisions, rl.stats.clears, rl.stats.growths, rl.stats.slots], [12, 1, 0, 64]);
    const usage = wasm.relabelCacheUsage();
    assert.deepEqual([usage.slots, usage.entries, usage.arenaCapacity], [64, 6, arenaBytes]);
    assert.ok(usage.arenaUsed > 0);
    rl.dispose();
    ref.dispose();
  });

  it('starts at the default size and may grow to the default maximum', () => {
    const wasm = instance();
    const rl = new IngestRelabeler(planOf(RULES), wasm);
    const usage = wasm.relabelCacheUsage();
    assert.deepEqual(
      [usage.slots, usage.maxSlots, usage.entryCapacity, usage.arenaCapacity, rl.stats.slots],
      [
        DEFAULT_INGEST_RELABEL_SLOTS,
        DEFAULT_INGEST_RELABEL_MAX_SLOTS,
        DEFAULT_INGEST_RELABEL_SLOTS / 2,
        DEFAULT_INGEST_RELABEL_ARENA_BYTES,
        DEFAULT_INGEST_RELABEL_SLOTS,
      ],
    );
    rl.dispose();
  });
});
