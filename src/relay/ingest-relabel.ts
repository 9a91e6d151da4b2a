/**
 * Write relabeling at ingest, on the relay route: when every endpoint has the same
 * `write_relabel_configs` (the same rules, or none) and there are rules or external labels (see
 * {@link ingestRelabelPlan} in relay-route.ts), the relay scan merges the external labels and
 * applies the rules once, as Prometheus does before sending (`processExternalLabels`, then
 * `relabel.Process`), as it builds the kind-2 record, so the record's groups hold the series as
 * they go out and still go out as stored bytes: the senders merge nothing again for such a record.
 *
 * Per series the outcome (kept as received, dropped, or new label fields) is cached in the scan's
 * WebAssembly memory (rw1-raw-scan.c, `relabel_*`), keyed by a 128-bit hash of the series'
 * received label bytes (SipHash-1-3-128 under a per-process random seed; the collision argument is
 * in the C file): a hit reads one 64-byte slot holding the key and the outcome, a changed series'
 * new labels included when they fit (runs of its received label fields and the added bytes); the
 * gather then copies the series into its group (kept: its field as received; changed: its new
 * label fields and its sample bytes as received). A miss decodes the series' labels to strings and
 * runs the relabel engine on them merged with the external labels (`relabelSeriesAtIngest`, the
 * same decision the send-time cache makes, so both routes send byte-identical series), ~2-5 us.
 * A series the merge adds a label to is a changed series: `cluster="eu-west-1"` alone is a run, a
 * 22-byte literal and a run (32 of the slot's 36 bytes: a `cluster` value of up to 13 bytes fits
 * between two runs); a longer value, or bench/relay's three rules on top, take the arena (8 bytes
 * a piece and the literal bytes): 52 bytes a series for `cluster="bench-eu-west-1"`, 87 with the
 * rules, 8.7 MB for bench/relay's 100,000 series. In-process, scan + record with the cache warm:
 * 0.45-0.53 CPU s/1M without a plan, 0.66-0.73 merging in the slot, 0.75-0.85 in the arena.
 *
 * External labels without rules take no cache: a series' outcome then follows from its label
 * names alone (each external label at its sorted place unless the series has that name), so the
 * scan plans the merge as it goes (rw1-raw-scan.c, scan_merge: where each goes, the merged
 * labels' hash in a second FNV chain) and the gather copies the series with the external labels'
 * fields (encoded once here, {@link encodeExternalLabels}) in their places: the same record, byte
 * for byte, with no key, no slot and no engine. In-process on bench/relay's series, scan + record:
 * 0.53-0.58 CPU s/1M against 0.75-0.87 through the cache (0.45-0.48 without external labels). A
 * body scanned without the merge, or one whose changed series have a length varint longer than
 * needed (the cache's route writes those fields anew) or new labels over 64 KiB, takes the
 * cache's route (emptied before its first use, not when the relabeler is made: emptying writes
 * every slot in use, 16 MiB at first).
 *
 * Rules that decide by label name take no cache either (src/relay/name-rule-plan.ts: labeldrop,
 * labelkeep, replace without source labels, keep/drop on one label, after the external labels):
 * a series' outcome then follows from its label names and one filtered label's value, so the
 * scan plans it (rw1-raw-scan.c, scan_plan: each name's decision and each filtered value's from
 * small tables the engine fills on a miss, the constants at their sorted places, the output
 * labels' hash forked from the scan's chain at the first change) and the gather copies it
 * (plan_gather): the cache route's record, byte for byte ({@link encodeNamePlan}, `namePlan`).
 * In-process on bench/relay's bodies and rules (bench/relabel-name-plan.ts, 15 alternated rounds):
 * +189 CPU ns per series over no rules against +200 through the cache (with a `cluster` external
 * label +255 against +321), and no 16 MiB of slots to miss in; in the daemon 0.93-1.05 of the
 * cache route's CPU with the rules (docs/performance.md). Other rule sets, and bodies the plan leaves (as the merge's), take the cache's route.
 *
 * The record says which rule set it was relabeled under (a digest, raw-record.ts version 3), and
 * lists the dropped series (hash and samples), which each endpoint counts when it reads the record.
 * A body this module cannot relabel (larger than the WebAssembly scan takes, a cache that filled up
 * within one body, new labels of more than 64 KiB) is stored as received and unmarked: the
 * endpoints then relabel it at send time, as before.
 */
import { createHash } from 'node:crypto';
import { relabelSeriesAtIngest, writeLabelFields } from '../endpoint/write-relabel.js';
import { compileRelabeling, compileRelabelRegex, type Relabeler, type RelabelRule } from '../relabel/index.js';
import type { NameValidationScheme } from '../serialization/name-validation.js';
import type { IngestRelabelMark } from '../serialization/raw-record.js';
import { ScratchWriter } from '../wire/proto-writer.js';
import type { RawWriteRequestScan } from '../wire/rw1-raw-scan.js';
import {
  type EncodedExternalLabels,
  type GatheredGroups,
  PLAN_OVERRIDE,
  RELABEL_CHANGED,
  RELABEL_DROP,
  RELABEL_KEEP,
  type RelabelCacheTestHooks,
  type RelabeledBody,
  type WasmRelayScan,
  wasmRelayScan,
} from '../wire/rw1-raw-scan-wasm.js';
import { readLength, varintCursor } from '../wire/varint-reader.js';
import { type NameRulePlan, planNameRules } from './name-rule-plan.js';

/** The rule set the relay scan applies at ingest: what the scan worker compiles. */
export interface IngestRelabelPlan {
  /** {@link ingestRelabelDigest} of the rules. */
  readonly digest: string;
  /** The rules; empty: the external labels are merged and nothing else. */
  readonly rules: readonly RelabelRule[];
  readonly scheme: NameValidationScheme;
  /** The external labels merged before the rules (`externalLabelList`: sorted, none empty). */
  readonly external: readonly string[];
}

/**
 * Whether `rules` leave every series a label of each name in `external` (`[name, value, ...]`)
 * that it had: then merging the external labels again into a series relabeled at ingest adds
 * nothing, and a sender that merges (the 2.0 transcoder, which cannot be told per record) sends
 * the stored labels as they are. Conservative: false as soon as a rule might remove one (a
 * labeldrop whose regex matches its name, a labelkeep whose regex does not, a replace, lowercase
 * or uppercase whose target is that name or is a template: a '' result deletes the target). Keep,
 * drop, keepequal, dropequal, hashmod (never '') and labelmap (copies values, never '') remove none.
 */
export function keepsExternalLabelNames(rules: readonly RelabelRule[], external: readonly string[]): boolean {
  if (external.length === 0) return true;
  const names: string[] = [];
  for (let i = 0; i < external.length; i += 2) names.push(external[i]);
  for (const r of rules) {
    switch (r.action) {
      case 'labeldrop':
      case 'labelkeep': {
        const re = compileRelabelRegex(r.regex);
        try {
          const drop = r.action === 'labeldrop';
          if (names.some((n) => re.test(n) === drop)) return false;
        } finally {
          re.dispose();
        }
        break;
      }
      case 'replace':
      case 'lowercase':
      case 'uppercase':
        if (r.targetLabel.includes('$') || names.includes(r.targetLabel)) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

/**
 * A rule set's identity: SHA-256 (first 8 bytes, hex) over the parsed rules (every default
 * applied), the name validation scheme they were read under and the external labels merged before
 * them. Two endpoints relabel alike exactly when their digests are equal; a record relabeled at
 * ingest carries the digest, so an endpoint can tell whether its rules are the ones applied.
 */
export function ingestRelabelDigest(
  rules: readonly RelabelRule[],
  scheme: NameValidationScheme,
  externalLabels: Readonly<Record<string, string>>,
): string {
  const canonical = JSON.stringify({
    rules: rules.map((r) => [
      r.action,
      r.sourceLabels,
      r.separator,
      r.regex,
      String(r.modulus),
      r.targetLabel,
      r.replacement,
    ]),
    scheme,
    external: Object.keys(externalLabels)
      .sort()
      .map((k) => [k, externalLabels[k]]),
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * Slots of the outcome cache in use at first (a power of two; half of them hold entries):
 * 131,072 series, 64 bytes a slot, 16 MiB. With {@link DEFAULT_INGEST_RELABEL_ARENA_BYTES} that
 * is ~32 MiB of a scanning thread's linear memory, touched only as it fills (bench/relay's
 * 100,000 series: unchanged by the growth below, which they never need).
 */
export const DEFAULT_INGEST_RELABEL_SLOTS = 1 << 18;
/**
 * Most slots the cache grows to: 2^21 = 2,097,152 slots, 1,048,576 series, 128 MiB of slots;
 * with the arena scaled alike (8 x 16 MiB = 128 MiB, 128 bytes per series: bench/relay's changed
 * series need 87 with a `cluster` external label, 0 without) 256 MiB reserved per scanning
 * thread as linear memory grown but not written: only the slots in use are ever written (a
 * clear writes those alone), so a thread's resident size follows the slots in use, 64 bytes
 * each, 2 to 4 per series of the working set it grew for. When a body finds the entries full
 * (not merely the arena), the cache doubles its slots and starts over empty instead of being
 * emptied at the same size: with more live series than entries an emptied cache misses on every
 * series forever (bench/relay, 400,000 series through the cache, in-process: 7.8-8.6 CPU s per
 * million samples and 108-121k samples/s at 131,072 entries; grown to 2^20 slots 1.2-1.6 and
 * 520k, peak RSS 269-299 MB against 229: docs/performance.md), while re-filling once after a
 * growth costs each series one miss. Past the maximum it is emptied as before. This memory is
 * outside what `storage.max_memory_bytes` bounds (src/daemon/memory-budget.ts): a scanning
 * thread's linear memory is not an array buffer of the main thread; it counts in the resident
 * size the memory pacer watches, which collects garbage but does not shrink this cache.
 */
export const DEFAULT_INGEST_RELABEL_MAX_SLOTS = 1 << 21;

/**
 * The cache grows only when it filled within this many lookups per entry since it was last
 * emptied, that is when at least about half of those lookups missed: a working set larger than
 * the cache refills it within one entry's worth of lookups (every lookup after an emptying
 * misses). Series that churn (a pod label that changes, each series living a while) fill it
 * slowly, by a few misses per body: a larger cache would only take longer to fill with dead
 * series and grow again, up to the maximum, without saving a miss. With a working set of 90% of
 * the entries and 1% new series a body it fills after ~11 entries' worth of lookups (not grown);
 * with 10% new series after ~1.9 (grown: emptied half as often).
 */
const GROWTH_LOOKUPS_PER_ENTRY = 2;
/**
 * Bytes of the cache's arena in use at first (scaled with the slots as they grow): the new labels
 * of changed series whose ops do not fit in their slot (36 bytes: a labeldrop and an added label
 * of ~20 bytes fit; bench/relay's series leave the arena empty). A body needs at most twice its
 * bytes (4 MiB at most on this route), so one fits in an emptied arena. A cache whose arena
 * cannot take the next body is emptied before it (not grown: its entries are not full) and live
 * series are decided again (each a miss).
 */
export const DEFAULT_INGEST_RELABEL_ARENA_BYTES = 16 * 1024 * 1024;

/**
 * Most external labels the scan merges without the cache: its plan takes 4 bytes per series and
 * external label of the scan's capacity (len / 16 + 1 series: 16 MiB for a 4 MiB body at 16,
 * touched only for the series there are). More take the cache's route.
 */
export const MAX_MERGED_EXTERNAL_LABELS = 16;

/** Sizes of one thread's cache (tests make it small). */
export interface IngestRelabelCacheSizes {
  /** Slots in use at first. */
  slots: number;
  /** Arena bytes in use at first. */
  arenaBytes: number;
  /** Slots the cache may grow to (see {@link DEFAULT_INGEST_RELABEL_MAX_SLOTS}); default `slots`: it never grows. */
  maxSlots?: number;
  /** Tests only: a fixed key seed, one probe sequence for every key. */
  hooks?: RelabelCacheTestHooks;
  /**
   * Tests only: external labels without rules, and rules planned by label name, take the cache's
   * route too (the route every plan took before), to compare the routes' records byte for byte.
   */
  cacheOnly?: boolean;
}

/** Counters of one thread's ingest relabeling. */
export interface IngestRelabelStats {
  /** Bodies relabeled (records written as version 3). */
  bodies: number;
  /** Series decided by the engine (cache misses). */
  decisions: number;
  /** Times the cache was emptied because the next body might not fit (growths included). */
  clears: number;
  /**
   * Times the cache doubled its slots (and emptied itself) because the next body's series might
   * not fit in its entries; `slots` says how many it has now.
   */
  growths: number;
  /** Slots the cache has in use now (half of them hold entries). */
  slots: number;
  /** Bodies left unmarked (stored as received, relabeled at send time). */
  fallbacks: number;
  /**
   * Bodies planned in the scan without the cache (counted in `bodies` too): external labels
   * merged without rules, or rules planned by label name (see {@link IngestRelabeler.namePlan}).
   */
  merged: number;
}

/** A body relabeled at ingest: its kept series gathered into their groups, and the record's mark. */
export interface IngestRelabeled {
  /** The kept series (see `RelabeledBody.scan`). */
  readonly scan: RawWriteRequestScan;
  readonly gathered: GatheredGroups;
  /** The rules changed and dropped nothing: the received bytes are the record's. */
  readonly unchanged: boolean;
  readonly mark: IngestRelabelMark;
}

/** One thread's relabeler of one rule set, over one WebAssembly scan instance. */
export class IngestRelabeler {
  readonly stats: IngestRelabelStats = {
    bodies: 0,
    decisions: 0,
    clears: 0,
    growths: 0,
    slots: 0,
    fallbacks: 0,
    merged: 0,
  };
  private readonly relabeler: Relabeler;
  /** Series looked up in the cache since it was last emptied (see GROWTH_LOOKUPS_PER_ENTRY). */
  private lookupsSinceClear = 0;
  private readonly writer = new ScratchWriter(1024);
  /**
   * No rules: the external labels the scan module merges without the cache. The body must be
   * scanned with them (`WasmRelayScan.uncompressAndScan`'s `merge`), else it takes the cache's route.
   */
  readonly merge: EncodedExternalLabels | undefined;
  /**
   * The rules planned by label name (src/relay/name-rule-plan.ts): `merge` then carries their
   * constants and decisions, and a body scanned with it takes no cache. Undefined: no rules, or
   * rules outside that class (the cache's route).
   */
  readonly namePlan: NameRulePlan | undefined;
  /** The cache may hold another rule set's outcomes: emptied before its first use. */
  private cacheStale: boolean;

  constructor(
    readonly plan: IngestRelabelPlan,
    private readonly wasm: WasmRelayScan,
    sizes: IngestRelabelCacheSizes = {
      slots: DEFAULT_INGEST_RELABEL_SLOTS,
      arenaBytes: DEFAULT_INGEST_RELABEL_ARENA_BYTES,
      maxSlots: DEFAULT_INGEST_RELABEL_MAX_SLOTS,
    },
  ) {
    this.relabeler = compileRelabeling(plan.rules, plan.scheme);
    // Reserved either way (its per-call arrays serve the merge too; a merge may fall back to it),
    // but emptied only when used: emptying writes every slot in use, 16 MiB of a thread's memory.
    wasm.enableRelabelCache(sizes.slots, sizes.arenaBytes, sizes.hooks, sizes.maxSlots);
    this.stats.slots = wasm.relabelCacheUsage().slots;
    const planned =
      plan.rules.length > 0 && plan.external.length <= 2 * MAX_MERGED_EXTERNAL_LABELS && sizes.cacheOnly !== true
        ? planNameRules(plan.rules, plan.scheme, plan.external)
        : undefined;
    if (planned !== undefined && planned.constants.length > MAX_MERGED_EXTERNAL_LABELS) planned.dispose();
    else this.namePlan = planned;
    this.merge =
      this.namePlan !== undefined
        ? encodeNamePlan(this.namePlan, this.writer)
        : plan.rules.length === 0 &&
            plan.external.length > 0 &&
            plan.external.length <= 2 * MAX_MERGED_EXTERNAL_LABELS &&
            sizes.cacheOnly !== true
          ? encodeExternalLabels(plan.external, this.writer)
          : undefined;
    this.cacheStale = true;
    if (this.merge === undefined) this.clearStale();
  }

  private clearStale(): void {
    if (!this.cacheStale) return;
    // The cache may hold another rule set's outcomes (this thread's previous relabeler).
    this.wasm.relabelClear();
    this.lookupsSinceClear = 0;
    this.cacheStale = false;
  }

  /**
   * Relabels the body the instance scanned last (`scan`, its answer; `bodyLength` its bytes) and
   * gathers it into `groups` groups. Undefined when the body must be stored as received instead
   * (see the module comment). The result's views live in linear memory, like the scan's: build
   * the record before the next scan.
   */
  relabel(scan: RawWriteRequestScan, bodyLength: number, groups: number): IngestRelabeled | undefined {
    const wasm = this.wasm;
    if (this.merge !== undefined) {
      // External labels and no rules, or rules planned by name: each series' outcome follows from
      // its label names (and a filtered label's value), planned by the scan.
      const out = wasm.mergeExternalGather(scan, groups, this.merge);
      if (out !== undefined) {
        this.stats.merged++;
        return this.relabeled(out);
      }
      // Scanned without the merge, or a body it leaves to the cache's route (rw1-raw-scan.c, scan_merge).
    }
    this.clearStale();
    const usage = wasm.relabelCacheUsage();
    // Emptied only between bodies: a body's entries must stay until it is gathered. A body adds
    // at most its series and its label bytes as keys, plus new labels (about as many bytes again).
    if (usage.entries + scan.series > usage.entryCapacity) {
      // The entries are full. Filled within GROWTH_LOOKUPS_PER_ENTRY lookups per entry since it
      // was last emptied, the working set does not fit: grow (emptied) while it may. Filled
      // slowly, by series that come and go (churn), a larger cache would fill with dead series
      // too: emptied at the same size.
      if (this.lookupsSinceClear >= GROWTH_LOOKUPS_PER_ENTRY * usage.entryCapacity) wasm.relabelClear();
      else if (wasm.relabelGrow()) {
        this.stats.growths++;
        this.stats.slots = wasm.relabelCacheUsage().slots;
      } // else at the maximum: relabelGrow emptied it at the same size.
      this.lookupsSinceClear = 0;
      this.stats.clears++;
    } else if (usage.arenaUsed + 2 * bodyLength > usage.arenaCapacity) {
      wasm.relabelClear();
      this.lookupsSinceClear = 0;
      this.stats.clears++;
    }
    this.lookupsSinceClear += scan.series;
    const misses = wasm.relabelLookup(scan);
    if (misses.length > 0) {
      const body = wasm.relabelBody();
      const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      for (const i of misses) {
        const [from, to] = wasm.relabelLabelRange(i);
        const out = relabelSeriesAtIngest(this.relabeler, labelsOf(b, from, to), this.plan.external);
        this.stats.decisions++;
        let ok: boolean;
        if (out === null) ok = wasm.relabelInsert(scan, i, RELABEL_DROP);
        else if (out === undefined) ok = wasm.relabelInsert(scan, i, RELABEL_KEEP);
        else {
          const w = this.writer;
          w.reset();
          writeLabelFields(w, out);
          ok = wasm.relabelInsert(scan, i, RELABEL_CHANGED, w.buf.subarray(0, w.pos));
        }
        if (!ok) {
          // Full within one body (or new labels too large to stage): this body goes unmarked.
          wasm.relabelClear();
          this.lookupsSinceClear = 0;
          this.stats.clears++;
          this.stats.fallbacks++;
          return undefined;
        }
      }
    }
    return this.relabeled(wasm.relabelGather(scan, groups));
  }

  /** A relabeled body (either route's gather), marked with this rule set's digest and its drops. */
  private relabeled(out: RelabeledBody): IngestRelabeled {
    this.stats.bodies++;
    const mark: IngestRelabelMark = {
      digest: this.plan.digest,
      droppedHashes: out.droppedHashes,
      droppedSamples: out.droppedCounts,
    };
    const unchanged = out.changed === 0 && out.droppedHashes.length === 0;
    return { scan: out.scan, gathered: out.gathered, unchanged, mark };
  }

  /** Frees the rules' compiled regexes. */
  dispose(): void {
    this.relabeler.dispose();
    this.namePlan?.dispose();
  }
}

/**
 * The external labels `[name, value, ...]` (sorted, none empty: `externalLabelList`) as the scan
 * module's merge takes them: each label's field as {@link writeLabelFields} writes it (the bytes
 * the cache's route would store), and where its name is in it.
 */
export function encodeExternalLabels(external: readonly string[], w: ScratchWriter): EncodedExternalLabels {
  w.reset();
  const count = external.length / 2;
  const table = new Uint32Array(4 * count);
  for (let k = 0; k < count; k++) {
    const at = w.pos;
    writeLabelFields(w, external.slice(2 * k, 2 * k + 2));
    // 0x0a, the field's length, 0x0a, the name's length, the name.
    readLength(w.buf, at + 1, w.pos);
    const nameLen = readLength(w.buf, varintCursor.end + 1, w.pos);
    table.set([at, w.pos - at, varintCursor.end, nameLen], 4 * k);
  }
  // A copy: the writer is reused for the cache route's new labels.
  return { fields: Uint8Array.from(w.buf.subarray(0, w.pos)), table };
}

/**
 * A name plan's constants as {@link encodeExternalLabels} encodes external labels, with the plan's
 * decisions for the scan (`rules`).
 */
export function encodeNamePlan(plan: NameRulePlan, w: ScratchWriter): EncodedExternalLabels {
  const flat: string[] = [];
  for (const c of plan.constants) flat.push(c.name, c.value);
  const encoded = encodeExternalLabels(flat, w);
  const flags = Uint32Array.from(plan.constants, (c) => (c.override ? PLAN_OVERRIDE : 0));
  return {
    ...encoded,
    rules: {
      flags,
      absentFail: plan.absentFail,
      nameDecision: (name) => plan.nameDecision(name),
      valuePasses: (filter, value) => plan.valuePasses(filter, value),
    },
  };
}

/** The label fields `b[from, to)` (`0x0a len 0x0a nameLen name 0x12 valueLen value`, checked by the scan) as `[name, value, ...]`. */
function labelsOf(b: Buffer, from: number, to: number): string[] {
  const out: string[] = [];
  let p = from;
  while (p < to) {
    const labelLen = readLength(b, p + 1, to);
    const labelStop = varintCursor.end + labelLen;
    const nameLen = readLength(b, varintCursor.end + 1, labelStop);
    const n = varintCursor.end;
    const name = b.toString('utf8', n, n + nameLen);
    const valueLen = readLength(b, n + nameLen + 1, labelStop);
    out.push(name, b.toString('utf8', varintCursor.end, varintCursor.end + valueLen));
    p = labelStop;
  }
  return out;
}

/** This thread's relabeler: one rule set at a time, on this thread's WebAssembly scan instance. */
let current: IngestRelabeler | undefined;

/**
 * The relabeler of `plan` for this thread's scan instance (`wasmRelayScan`), made on first use
 * and kept while the plan's digest stays; undefined where WebAssembly is unavailable (the bodies
 * are then stored unmarked and relabeled at send time).
 */
export function ingestRelabelerFor(plan: IngestRelabelPlan): IngestRelabeler | undefined {
  if (current !== undefined && current.plan.digest === plan.digest) return current;
  const wasm = wasmRelayScan();
  if (wasm === undefined) return undefined;
  current?.dispose();
  current = new IngestRelabeler(plan, wasm);
  return current;
}
