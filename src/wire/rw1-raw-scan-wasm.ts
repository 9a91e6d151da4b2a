/**
 * The relay scan's WebAssembly module (rw1-raw-scan.c, snappy-uncompress.c): the scan of
 * {@link scanWriteRequestV1Js} with the same answers in about half the time, plus what lets a
 * relayed body stay in linear memory from its compressed bytes to its groups (bench/RESULTS.md,
 * "Eighth session"):
 * - `uncompressAndScan`: the compressed body is copied in (~1/7 of the bytes) and uncompressed
 *   there, instead of into a new buffer that is then copied in;
 * - `gather`: the series are put in their send-loop groups there, as encodeRawRecord would.
 *
 * Each instance owns one linear memory, laid out per call as
 * `[min ts, max ts, samples: 3 f64][compressed][body + slack][hashes][counts][starts][label ends]
 * [order][series ends][byte ends][cursors][gathered + slack]`. Linear memory only grows, so
 * bodies over {@link MAX_WASM_SCAN_BODY_BYTES} are left to the JavaScript path: one large
 * request must not pin tens of MB in every thread that scans.
 *
 * Write relabeling at ingest (src/relay/ingest-relabel.ts) adds, once enabled, a region of its
 * own before the per-call layout: the outcome cache (header, 64-byte slots, staging, arena),
 * which stays from call to call. Its per-call arrays (series keys among them) and the rewritten
 * body follow the gather's. External labels merged without rules (`merge` of a scan, then
 * {@link WasmRelayScan.mergeExternalGather}) use those arrays too, not the cache: the scan
 * (rw1-raw-scan.c's scan_merge) writes each series' new hash and size, and where each external
 * label goes (4 bytes per series and label, after the relabel arrays with the encoded labels).
 */

import { randomFillSync } from 'node:crypto';
import type { NameValidationScheme } from '../serialization/name-validation.js';
import type { RawWriteRequestScan } from './rw1-raw-scan.js';
import { RW1_RAW_SCAN_WASM_BASE64 } from './rw1-raw-scan-wasm-binary.js';

/** The largest uncompressed body handled in WebAssembly: memory then stays under ~20 MiB. */
export const MAX_WASM_SCAN_BODY_BYTES = 4 * 1024 * 1024;

const PAGE_BYTES = 65536;
/**
 * Most relabel cache slots an instance reserves: 2^22 (256 MiB of slots, 2,097,152 series), so
 * that the header's u32 byte counts (relabel_clear's) and the 4 GiB of wasm32 memory stay far.
 */
export const MAX_RELABEL_SLOTS = 1 << 22;
/** Most arena bytes an instance reserves (the arena's offsets are u32 in its slots). */
export const MAX_RELABEL_ARENA_BYTES = 512 * 1024 * 1024;
/** Most send-loop groups (raw-record.ts's MAX_RAW_GROUPS: one per virtual shard). */
const MAX_GROUPS = 256;
/** Bytes the uncompress and the gathers may write past their output (see the C sources: copy_piece). */
const WRITE_SLACK = 32;

/** Series gathered by send-loop group: group `k` is `bytes[byteEnd[k - 1], byteEnd[k])` (0 for k = 0). */
export interface GatheredGroups {
  /** `order[j]`: the scanned series at position `j`, group after group. */
  readonly order: Uint32Array;
  /** Cumulative series count at the end of each group. */
  readonly seriesEnd: Uint32Array;
  readonly byteEnd: Uint32Array;
  readonly bytes: Uint8Array;
}

/**
 * What the module does. Every array and byte view it returns lives in linear memory and is
 * reused (or detached, when memory grows) by the next call: copy what must outlive it.
 */
export interface WasmRelayScan {
  /**
   * {@link scanWriteRequestV1Js} on `body` (copied in); at most {@link MAX_WASM_SCAN_BODY_BYTES}.
   * `merge`: the external labels {@link mergeExternalGather} will merge (planned during the scan).
   */
  scan(body: Uint8Array, scheme: NameValidationScheme, merge?: EncodedExternalLabels): RawWriteRequestScan | undefined;
  /**
   * Uncompresses a snappy block whose header claims `claimed` bytes (at most
   * {@link MAX_WASM_SCAN_BODY_BYTES}) and scans it. Undefined when the block is malformed (the
   * caller's native uncompress then words the error); otherwise the body and its scan, names
   * checked under `scheme`; `merge` as for {@link scan}.
   */
  uncompressAndScan(
    compressed: Uint8Array,
    claimed: number,
    scheme: NameValidationScheme,
    merge?: EncodedExternalLabels,
  ): { body: Uint8Array; scan: RawWriteRequestScan | undefined } | undefined;
  /**
   * Groups the series of the last `uncompressAndScan` (or of its {@link relabelRewrite}) for
   * `groups` send loops (its scan accepted the body).
   */
  gather(scan: RawWriteRequestScan, groups: number): GatheredGroups;
  /**
   * Reserves the write relabel outcome cache (once; later calls keep the first sizes): `slots`
   * (a power of two; at most half of them hold entries; 64 bytes each) and `arenaBytes` for the
   * new labels that do not fit in their slot, in use at first; `maxSlots` (a power of two, at
   * least `slots`; default `slots`) and the arena scaled alike are reserved, as memory grown but
   * not written (out of RSS until {@link relabelGrow} puts them in use and they fill). Its
   * 128-bit key seed is drawn at random here unless `hooks` (tests only) fixes it. Call before a
   * scan: the per-call layout moves past the cache.
   */
  enableRelabelCache(slots: number, arenaBytes: number, hooks?: RelabelCacheTestHooks, maxSlots?: number): void;
  /** Entries and arena bytes the cache holds, and its capacities. */
  relabelCacheUsage(): RelabelCacheUsage;
  /** Forgets every cached outcome; returns the bytes of slots it wrote (the slots in use). */
  relabelClear(): number;
  /**
   * Forgets every cached outcome and doubles the slots in use, their entry capacity and the
   * arena's usable part (up to what {@link enableRelabelCache} reserved). False when the slots
   * were at their maximum: the cache was only emptied.
   */
  relabelGrow(): boolean;
  /**
   * Looks up every series of the last scanned body in the cache; returns the series that missed
   * (a view reused by the next call). {@link relabelLabelRange} says where a series' label fields
   * are in {@link relabelBody}.
   */
  relabelLookup(scan: RawWriteRequestScan): Uint32Array;
  /** The last scanned body (a view of linear memory, valid until the next call that may grow it). */
  relabelBody(): Uint8Array;
  /** `[from, to)` of series `i`'s label fields in {@link relabelBody}. */
  relabelLabelRange(i: number): [number, number];
  /**
   * Caches series `i`'s outcome (`newLabels`: its new label fields, for {@link RELABEL_CHANGED}).
   * False when the cache is full: the body must then not be relabeled.
   */
  relabelInsert(scan: RawWriteRequestScan, i: number, kind: RelabelOutcome, newLabels?: Uint8Array): boolean;
  /**
   * The cache's key of `bytes` (SipHash-1-3-128 under the cache's seed, rw1-raw-scan.c's
   * relabel_key) as two 64-bit words: for tests.
   */
  relabelKey(bytes: Uint8Array): [bigint, bigint];
  /**
   * Gathers the last scanned body into `groups` groups as {@link gather} does, with the cached
   * outcome of every series (each looked up or inserted): the kept series only, their labels
   * replaced where they changed, grouped by their new labels' hash. Memory may grow: views
   * returned before (the scan's) are then detached.
   */
  relabelGather(scan: RawWriteRequestScan, groups: number): RelabeledBody;
  /**
   * External labels merged without rules, no cache: gathers the last scanned body into `groups`
   * groups as {@link relabelGather} would with every series' outcome the merge of `external` (its
   * own label of a name staying), byte for byte (rw1-raw-scan.c, scan_merge and
   * merge_external_gather). The body must have been scanned with `merge` = `external` (the same
   * object), the relabel cache enabled (its per-call arrays; it need not be emptied). Undefined
   * when it was not, or when the body must take the cache's route (a changed series with a length
   * varint longer than needed, or new label fields the cache's route could not stage). Memory may
   * grow, as for {@link relabelGather}.
   */
  mergeExternalGather(
    scan: RawWriteRequestScan,
    groups: number,
    external: EncodedExternalLabels,
  ): RelabeledBody | undefined;
}

/**
 * External labels as {@link WasmRelayScan.mergeExternalGather} takes them, or (with `rules`) the
 * constant label fields of write relabel rules planned by label name.
 */
export interface EncodedExternalLabels {
  /** Their `TimeSeries.labels` fields one after another, sorted by name (as bytes). */
  readonly fields: Uint8Array;
  /** Per label 4 entries: its field's offset in `fields` and length, its name's offset and length. */
  readonly table: Uint32Array;
  /** Write relabel rules planned by label name (rw1-raw-scan.c, scan_plan); absent: a merge alone. */
  readonly rules?: PlannedNameRules;
}

/**
 * What rw1-raw-scan.c's scan_plan asks of write relabel rules planned by label name
 * (src/relay/name-rule-plan.ts), once per distinct name or filtered value (the module keeps the
 * answers in small tables).
 */
export interface PlannedNameRules {
  /** Per constant of `fields`: {@link PLAN_OVERRIDE} when it replaces a series' own label of its name. */
  readonly flags: Uint32Array;
  /** Bit `f`: a series without filter `f`'s label is dropped. */
  readonly absentFail: number;
  /**
   * A label name's decision: {@link PLAN_SKIP} when it is left out, `(filter + 1) <<
   * PLAN_FILTER_SHIFT` when a filter reads its value, the constants sorting before it `<<
   * PLAN_RANK_SHIFT`, {@link PLAN_EQUAL} when a constant has its name.
   */
  nameDecision(name: string): number;
  /** Whether a series whose filter `filter` label has `value` passes it. */
  valuePasses(filter: number, value: string): boolean;
}

/**
 * rw1-raw-scan.c's name decision bits: PLAN_SKIP (the label is left out), the filter reading its
 * value + 1 at PLAN_FILTER_SHIFT, how many constants sort before the name at PLAN_RANK_SHIFT, and
 * PLAN_EQUAL when a constant has the name; PLAN_OVERRIDE is a constant's flag.
 */
export const PLAN_SKIP = 1;
export const PLAN_FILTER_SHIFT = 8;
export const PLAN_RANK_SHIFT = 16;
export const PLAN_EQUAL = 1 << 24;
export const PLAN_OVERRIDE = 1;

/** Outcomes of write relabeling for one series (rw1-raw-scan.c's RELABEL_*). */
export type RelabelOutcome = typeof RELABEL_KEEP | typeof RELABEL_DROP | typeof RELABEL_CHANGED;
export const RELABEL_KEEP = 0;
export const RELABEL_DROP = 1;
export const RELABEL_CHANGED = 2;

/** Test-only settings of the relabel cache (see {@link WasmRelayScan.enableRelabelCache}). */
export interface RelabelCacheTestHooks {
  /** The key's seed instead of a random one. */
  seed?: readonly [bigint, bigint];
  /** Every key starts probing at slot 0: one probe sequence holds every entry. */
  oneProbeSequence?: boolean;
}

/** See {@link WasmRelayScan.relabelCacheUsage}. */
export interface RelabelCacheUsage {
  entries: number;
  entryCapacity: number;
  arenaUsed: number;
  arenaCapacity: number;
  /** Slots in use (entries at most half of them). */
  slots: number;
  /** Slots reserved: {@link WasmRelayScan.relabelGrow} doubles `slots` up to these. */
  maxSlots: number;
  /** Bytes the cache region reserves in linear memory (touched only as slots come in use and fill). */
  regionBytes: number;
}

/** A body {@link WasmRelayScan.relabelGather} relabeled. Views of linear memory, like the scan's. */
export interface RelabeledBody {
  /**
   * The kept series (`series` may be 0 when every series was dropped): `hashes` and
   * `sampleCounts` are indexed by the scanned series (`gathered.order` names the kept ones);
   * no `fieldStarts` (empty).
   */
  readonly scan: RawWriteRequestScan;
  readonly gathered: GatheredGroups;
  /** Per dropped series, in order: its received labels' hash and its samples. */
  readonly droppedHashes: Uint32Array;
  readonly droppedCounts: Uint32Array;
  /** Kept series whose labels changed. */
  readonly changed: number;
}

interface ModuleExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  scan(
    body: number,
    len: number,
    hashes: number,
    counts: number,
    starts: number,
    labelEnds: number,
    capacity: number,
    ts: number,
    legacy: number,
  ): number;
  snappy_uncompress(src: number, srcLen: number, dst: number, dstLen: number): number;
  gather_groups(
    body: number,
    starts: number,
    hashes: number,
    n: number,
    g: number,
    order: number,
    seriesEnd: number,
    byteEnd: number,
    cursor: number,
    out: number,
  ): void;
  relabel_key(bytes: number, len: number, seed: number, out: number): void;
  relabel_lookup(
    cache: number,
    body: number,
    starts: number,
    labelEnds: number,
    n: number,
    keys: number,
    slotOf: number,
    misses: number,
    newHashes: number,
    sizes: number,
    changed: number,
  ): number;
  relabel_insert(
    cache: number,
    key: number,
    labels: number,
    len: number,
    hash: number,
    kind: number,
    out: number,
    outLen: number,
  ): number;
  relabel_clear(cache: number): number;
  relabel_grow(cache: number): number;
  relabel_resolve(
    cache: number,
    starts: number,
    labelEnds: number,
    slotOf: number,
    misses: number,
    m: number,
    newHashes: number,
    sizes: number,
    changed: number,
  ): void;
  relabel_plan(
    hashes: number,
    counts: number,
    sizes: number,
    n: number,
    droppedHashes: number,
    droppedCounts: number,
    result: number,
  ): number;
  scan_merge(
    body: number,
    len: number,
    hashes: number,
    counts: number,
    starts: number,
    labelEnds: number,
    capacity: number,
    ts: number,
    legacy: number,
    ext: number,
    extTable: number,
    e: number,
    maxLabelBytes: number,
    at: number,
    newHashes: number,
    sizes: number,
    mergeResult: number,
  ): number;
  scan_plan(
    body: number,
    len: number,
    hashes: number,
    counts: number,
    starts: number,
    labelEnds: number,
    capacity: number,
    ts: number,
    legacy: number,
    ext: number,
    extTable: number,
    e: number,
    maxLabelBytes: number,
    at: number,
    newHashes: number,
    sizes: number,
    mergeResult: number,
    flags: number,
    plan: number,
    skips: number,
    skipStart: number,
  ): number;
  plan_clear(plan: number): void;
  plan_gather(
    body: number,
    starts: number,
    ext: number,
    extTable: number,
    e: number,
    at: number,
    skips: number,
    skipStart: number,
    newHashes: number,
    sizes: number,
    n: number,
    g: number,
    order: number,
    seriesEnd: number,
    byteEnd: number,
    cursor: number,
    out: number,
  ): void;
  merge_external_gather(
    body: number,
    starts: number,
    ext: number,
    extTable: number,
    e: number,
    at: number,
    newHashes: number,
    sizes: number,
    n: number,
    g: number,
    order: number,
    seriesEnd: number,
    byteEnd: number,
    cursor: number,
    out: number,
  ): void;
  relabel_gather(
    cache: number,
    body: number,
    starts: number,
    labelEnds: number,
    slotOf: number,
    newHashes: number,
    sizes: number,
    n: number,
    g: number,
    order: number,
    seriesEnd: number,
    byteEnd: number,
    cursor: number,
    out: number,
  ): void;
}

/** rw1-raw-scan.c's relabel_cache: 5 u32, 2 pointers, a u32, the seed (2 u64 at byte 32), 3 u32. */
const CACHE_HEADER_BYTES = 64;
/** Byte offsets in the header (rw1-raw-scan.c's relabel_cache). */
const HEADER_START_MASK = 28;
const HEADER_SEED = 32;
/** max_mask, then arena_max. */
const HEADER_MAX_MASK = 52;
/** rw1-raw-scan.c's relabel_slot: one cache line. */
const SLOT_BYTES = 64;
/** New label fields of one series are staged here before relabel_insert copies them to the arena. */
const STAGING_BYTES = 64 * 1024;
/**
 * rw1-raw-scan.c's name_plan (8 u32, then its per-label-index memo: 64 names as 2 u64, 64 u32
 * lengths, 64 u32 decisions: 1,568 bytes) and its tables' entries (64 bytes each).
 */
const PLAN_HEADER_BYTES = 2048;
const PLAN_ENTRY_BYTES = 64;
/**
 * Entries of each plan table (names; filtered values): emptied when half full. bench/relay's
 * bodies have 13 label names and 50 `__name__` values; 128 KiB for both tables, touched as used.
 */
const PLAN_TABLE_ENTRIES = 1024;

const EMPTY = new Uint8Array(0);

function checkGroups(groups: number): void {
  if (!Number.isInteger(groups) || groups < 1 || groups > MAX_GROUPS)
    throw new RangeError(`groups must be 1..${MAX_GROUPS}, got ${groups}`);
}

let shared: WasmRelayScan | undefined | null = null;

/**
 * This thread's instance, created on first use (a thread that never scans never pays the ~4 MB a
 * compiled instance costs), or undefined where WebAssembly is unavailable. Callers share it: every
 * call finishes with its views before another starts, as all of them are synchronous.
 */
export function wasmRelayScan(): WasmRelayScan | undefined {
  if (shared === null) shared = createWasmRelayScan();
  return shared;
}

/** A module instance of its own, or undefined where WebAssembly is unavailable (`--jitless`). */
export function createWasmRelayScan(): WasmRelayScan | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  const module = new WebAssembly.Module(Buffer.from(RW1_RAW_SCAN_WASM_BASE64, 'base64'));
  // The plan's table misses call back (scan_plan): answered by the rules the instance scans with.
  let answer: WasmRelayScanModule | undefined;
  const imports = {
    env: {
      plan_name: (at: number, len: number) => (answer as WasmRelayScanModule).planName(at, len),
      plan_value: (filter: number, at: number, len: number) =>
        (answer as WasmRelayScanModule).planValue(filter, at, len),
    },
  };
  answer = new WasmRelayScanModule(new WebAssembly.Instance(module, imports).exports as unknown as ModuleExports);
  return answer;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

class WasmRelayScanModule implements WasmRelayScan {
  private readonly tsAt: number;
  /** Where the per-call layout starts: after the f64s, and after the relabel cache once enabled. */
  private callAt: number;
  /** The relabel cache's header (0: not enabled) and staging area. */
  private cacheAt = 0;
  private stagingAt = 0;
  private cacheRegionBytes = 0;
  /** End of the last call's layout: the relabel arrays go after it. */
  private layoutEnd = 0;
  private slotOfAt = 0;
  /** Per series its 128-bit key (relabel_lookup's). */
  private keysAt = 0;
  private missesAt = 0;
  private newHashAt = 0;
  private sizeAt = 0;
  /** A u32: series whose labels changed, of the last lookup (and its misses once resolved). */
  private changedAt = 0;
  private lastMisses = 0;
  /** The external labels the last scan planned a merge of (scan_merge), and where they are. */
  private mergeScanned: EncodedExternalLabels | undefined;
  private mergeExtAt = 0;
  private mergeTableAt = 0;
  private mergeAtAt = 0;
  private mergeResultAt = 0;
  /** Planning by label name (`merge.rules`): the flags, the skipped ranges, the tables' header. */
  private planFlagsAt = 0;
  private planSkipsAt = 0;
  private planSkipStartAt = 0;
  private planAt = 0;
  /** The rules whose answers the plan's tables hold. */
  private planned: PlannedNameRules | undefined;
  private labelEndAt = 0;
  // The layout of the last call, for gather.
  private bodyAt = 0;
  private bodyLength = 0;
  private startAt = 0;
  private hashAt = 0;
  private countAt = 0;
  /** Series the output columns hold: every accepted series takes more than 16 bytes (rw1-raw-scan.c). */
  private capacity = 0;
  private orderAt = 0;
  private seriesEndAt = 0;
  private byteEndAt = 0;
  private cursorAt = 0;
  private gatheredAt = 0;

  constructor(private readonly m: ModuleExports) {
    this.tsAt = align(Number(m.__heap_base.value), 8);
    this.callAt = this.tsAt + 24;
  }

  enableRelabelCache(slots: number, arenaBytes: number, hooks: RelabelCacheTestHooks = {}, maxSlots = slots): void {
    if (this.cacheAt !== 0) return;
    if (!Number.isInteger(Math.log2(slots)) || slots < 16)
      throw new RangeError(`slots must be a power of two >= 16, got ${slots}`);
    if (!Number.isInteger(Math.log2(maxSlots)) || maxSlots < slots || maxSlots > MAX_RELABEL_SLOTS)
      throw new RangeError(`maxSlots must be a power of two in ${slots}..${MAX_RELABEL_SLOTS}, got ${maxSlots}`);
    const entryCap = slots >>> 1;
    // The arena grows with the slots: the same bytes per entry at every size.
    const arenaMax = arenaBytes * (maxSlots / slots);
    if (arenaMax > MAX_RELABEL_ARENA_BYTES)
      throw new RangeError(`the arena reserved (${arenaMax} bytes) exceeds ${MAX_RELABEL_ARENA_BYTES}`);
    const at = align(this.callAt, SLOT_BYTES);
    const slotsAt = at + CACHE_HEADER_BYTES;
    const stagingAt = slotsAt + SLOT_BYTES * maxSlots;
    const arenaAt = align(stagingAt + STAGING_BYTES, 8);
    const planAt = align(arenaAt + arenaMax + WRITE_SLACK, SLOT_BYTES);
    const namesAt = planAt + PLAN_HEADER_BYTES;
    const valuesAt = namesAt + PLAN_ENTRY_BYTES * PLAN_TABLE_ENTRIES;
    const end = valuesAt + PLAN_ENTRY_BYTES * PLAN_TABLE_ENTRIES;
    this.grow(end);
    new Uint32Array(this.m.memory.buffer, planAt, 7).set([
      namesAt,
      PLAN_TABLE_ENTRIES - 1,
      0,
      valuesAt,
      PLAN_TABLE_ENTRIES - 1,
      0,
      0,
    ]);
    this.planAt = planAt;
    const h = new Uint32Array(this.m.memory.buffer, at, 8);
    h[0] = slots - 1;
    h[1] = 0;
    h[2] = entryCap;
    h[3] = 0;
    h[4] = arenaBytes;
    h[5] = slotsAt;
    h[6] = arenaAt;
    h[HEADER_START_MASK / 4] = hooks.oneProbeSequence === true ? 0 : 0xffffffff;
    new Uint32Array(this.m.memory.buffer, at + HEADER_MAX_MASK, 2).set([maxSlots - 1, arenaMax]);
    // Per process (per instance) at random: which label sets collide cannot be known in advance.
    const seed = new BigUint64Array(this.m.memory.buffer, at + HEADER_SEED, 2);
    if (hooks.seed !== undefined) seed.set(hooks.seed);
    else randomFillSync(seed);
    // Fresh pages are zero: every slot is empty, those reserved for growth too (never written
    // until in use: relabel_clear writes only the slots in use).
    this.cacheAt = at;
    this.stagingAt = stagingAt;
    this.cacheRegionBytes = end - at;
    this.callAt = end;
  }

  relabelCacheUsage(): RelabelCacheUsage {
    if (this.cacheAt === 0)
      return { entries: 0, entryCapacity: 0, arenaUsed: 0, arenaCapacity: 0, slots: 0, maxSlots: 0, regionBytes: 0 };
    const h = new Uint32Array(this.m.memory.buffer, this.cacheAt, 5);
    const maxMask = new Uint32Array(this.m.memory.buffer, this.cacheAt + HEADER_MAX_MASK, 1)[0];
    return {
      entries: h[1],
      entryCapacity: h[2],
      arenaUsed: h[3],
      arenaCapacity: h[4],
      slots: h[0] + 1,
      maxSlots: maxMask + 1,
      regionBytes: this.cacheRegionBytes,
    };
  }

  relabelClear(): number {
    this.needCache();
    return this.m.relabel_clear(this.cacheAt);
  }

  relabelGrow(): boolean {
    this.needCache();
    return this.m.relabel_grow(this.cacheAt) === 1;
  }

  relabelLookup(scan: RawWriteRequestScan): Uint32Array {
    this.needCache();
    const missed = this.m.relabel_lookup(
      this.cacheAt,
      this.bodyAt,
      this.startAt,
      this.labelEndAt,
      scan.series,
      this.keysAt,
      this.slotOfAt,
      this.missesAt,
      this.newHashAt,
      this.sizeAt,
      this.changedAt,
    );
    this.lastMisses = missed;
    return new Uint32Array(this.m.memory.buffer, this.missesAt, missed);
  }

  relabelBody(): Uint8Array {
    return new Uint8Array(this.m.memory.buffer, this.bodyAt, this.bodyLength);
  }

  relabelLabelRange(i: number): [number, number] {
    const buffer = this.m.memory.buffer;
    const start = new Uint32Array(buffer, this.startAt + 4 * i, 1)[0];
    const end = new Uint32Array(buffer, this.labelEndAt + 4 * i, 1)[0];
    const body = new Uint8Array(buffer, this.bodyAt, this.bodyLength);
    // After the TimeSeries tag and its length varint.
    let p = start + 1;
    while (body[p] >= 0x80) p++;
    return [p + 1, end];
  }

  relabelInsert(scan: RawWriteRequestScan, i: number, kind: RelabelOutcome, newLabels?: Uint8Array): boolean {
    this.needCache();
    const out = newLabels ?? EMPTY;
    if (out.length > STAGING_BYTES) return false;
    const buffer = this.m.memory.buffer;
    new Uint8Array(buffer, this.stagingAt, out.length).set(out);
    const [from, to] = this.relabelLabelRange(i);
    const slot = this.m.relabel_insert(
      this.cacheAt,
      this.keysAt + 16 * i,
      this.bodyAt + from,
      to - from,
      scan.hashes[i],
      kind,
      this.stagingAt,
      out.length,
    );
    if (slot < 0) return false;
    new Int32Array(this.m.memory.buffer, this.slotOfAt, scan.series)[i] = slot;
    return true;
  }

  relabelKey(bytes: Uint8Array): [bigint, bigint] {
    this.needCache();
    // In the staging area: free between calls.
    if (bytes.length + 16 > STAGING_BYTES) throw new RangeError(`relabelKey: at most ${STAGING_BYTES - 16} bytes`);
    const outAt = this.stagingAt;
    new Uint8Array(this.m.memory.buffer, outAt + 16, bytes.length).set(bytes);
    this.m.relabel_key(outAt + 16, bytes.length, this.cacheAt + HEADER_SEED, outAt);
    const out = new BigUint64Array(this.m.memory.buffer, outAt, 2);
    return [out[0], out[1]];
  }

  relabelGather(scan: RawWriteRequestScan, groups: number): RelabeledBody {
    this.needCache();
    checkGroups(groups);
    const n = scan.series;
    if (this.lastMisses > 0)
      this.m.relabel_resolve(
        this.cacheAt,
        this.startAt,
        this.labelEndAt,
        this.slotOfAt,
        this.missesAt,
        this.lastMisses,
        this.newHashAt,
        this.sizeAt,
        this.changedAt,
      );
    return this.planAndGather(scan, groups, this.layoutEnd, (outAt) =>
      this.m.relabel_gather(
        this.cacheAt,
        this.bodyAt,
        this.startAt,
        this.labelEndAt,
        this.slotOfAt,
        this.newHashAt,
        this.sizeAt,
        n,
        groups,
        this.orderAt,
        this.seriesEndAt,
        this.byteEndAt,
        this.cursorAt,
        outAt,
      ),
    );
  }

  mergeExternalGather(
    scan: RawWriteRequestScan,
    groups: number,
    external: EncodedExternalLabels,
  ): RelabeledBody | undefined {
    this.needCache();
    checkGroups(groups);
    if (this.mergeScanned !== external) return undefined;
    const buffer = this.m.memory.buffer;
    const [changed, toCache] = new Uint32Array(buffer, this.mergeResultAt, 2);
    if (toCache !== 0) return undefined;
    new Uint32Array(buffer, this.changedAt, 1)[0] = changed;
    const n = scan.series;
    const e = external.table.length / 4;
    if (external.rules !== undefined)
      return this.planAndGather(scan, groups, this.layoutEnd, (outAt) =>
        this.m.plan_gather(
          this.bodyAt,
          this.startAt,
          this.mergeExtAt,
          this.mergeTableAt,
          e,
          this.mergeAtAt,
          this.planSkipsAt,
          this.planSkipStartAt,
          this.newHashAt,
          this.sizeAt,
          n,
          groups,
          this.orderAt,
          this.seriesEndAt,
          this.byteEndAt,
          this.cursorAt,
          outAt,
        ),
      );
    return this.planAndGather(scan, groups, this.layoutEnd, (outAt) =>
      this.m.merge_external_gather(
        this.bodyAt,
        this.startAt,
        this.mergeExtAt,
        this.mergeTableAt,
        e,
        this.mergeAtAt,
        this.newHashAt,
        this.sizeAt,
        n,
        groups,
        this.orderAt,
        this.seriesEndAt,
        this.byteEndAt,
        this.cursorAt,
        outAt,
      ),
    );
  }

  /**
   * What both gathers share once every series' new hash and size are known: relabel_plan (the
   * kept, the dropped, the output's bytes) laid out from `freeAt`, then `gather` into an output
   * after it, and the views of the result.
   */
  private planAndGather(
    scan: RawWriteRequestScan,
    groups: number,
    freeAt: number,
    gather: (outAt: number) => void,
  ): RelabeledBody {
    const n = scan.series;
    const newHashAt = this.newHashAt;
    const droppedHashAt = align(freeAt, 8);
    const droppedCountAt = droppedHashAt + 4 * n;
    const resultAt = droppedCountAt + 4 * n;
    this.grow(resultAt + 16);
    const size = this.m.relabel_plan(
      this.hashAt,
      this.countAt,
      this.sizeAt,
      n,
      droppedHashAt,
      droppedCountAt,
      resultAt,
    );
    const outAt = align(resultAt + 16, 8);
    this.grow(outAt + size + WRITE_SLACK);
    gather(outAt);
    const buffer = this.m.memory.buffer;
    const [kept, dropped, samples] = new Uint32Array(buffer, resultAt, 3);
    const changed = new Uint32Array(buffer, this.changedAt, 1)[0];
    return {
      scan: {
        series: kept,
        samples,
        minTimestampMs: scan.minTimestampMs,
        maxTimestampMs: scan.maxTimestampMs,
        hashes: new Uint32Array(buffer, newHashAt, n),
        sampleCounts: new Uint32Array(buffer, this.countAt, n),
        fieldStarts: new Uint32Array(0),
      },
      gathered: {
        order: new Uint32Array(buffer, this.orderAt, kept),
        seriesEnd: new Uint32Array(buffer, this.seriesEndAt, groups),
        byteEnd: new Uint32Array(buffer, this.byteEndAt, groups),
        bytes: new Uint8Array(buffer, outAt, size),
      },
      droppedHashes: new Uint32Array(buffer, droppedHashAt, dropped),
      droppedCounts: new Uint32Array(buffer, droppedCountAt, dropped),
      changed,
    };
  }

  private needCache(): void {
    if (this.cacheAt === 0) throw new Error('rw1-raw-scan-wasm: the relabel cache is not enabled');
  }

  private grow(needed: number): void {
    const have = this.m.memory.buffer.byteLength;
    if (needed > have) this.m.memory.grow(Math.ceil((needed - have) / PAGE_BYTES));
  }

  scan(body: Uint8Array, scheme: NameValidationScheme, merge?: EncodedExternalLabels): RawWriteRequestScan | undefined {
    this.layout(0, body.length, merge);
    new Uint8Array(this.m.memory.buffer, this.bodyAt, body.length).set(body);
    return this.scanInPlace(body.length, scheme);
  }

  uncompressAndScan(
    compressed: Uint8Array,
    claimed: number,
    scheme: NameValidationScheme,
    merge?: EncodedExternalLabels,
  ) {
    const compressedAt = this.callAt;
    this.layout(compressed.length, claimed, merge);
    new Uint8Array(this.m.memory.buffer, compressedAt, compressed.length).set(compressed);
    if (this.m.snappy_uncompress(compressedAt, compressed.length, this.bodyAt, claimed) !== 1) return undefined;
    const scan = this.scanInPlace(claimed, scheme);
    return { body: new Uint8Array(this.m.memory.buffer, this.bodyAt, claimed), scan };
  }

  gather(scan: RawWriteRequestScan, groups: number): GatheredGroups {
    checkGroups(groups);
    const n = scan.series;
    this.m.gather_groups(
      this.bodyAt,
      this.startAt,
      this.hashAt,
      n,
      groups,
      this.orderAt,
      this.seriesEndAt,
      this.byteEndAt,
      this.cursorAt,
      this.gatheredAt,
    );
    const buffer = this.m.memory.buffer;
    const byteEnd = new Uint32Array(buffer, this.byteEndAt, groups);
    return {
      order: new Uint32Array(buffer, this.orderAt, n),
      seriesEnd: new Uint32Array(buffer, this.seriesEndAt, groups),
      byteEnd,
      bytes: new Uint8Array(buffer, this.gatheredAt, byteEnd[groups - 1]),
    };
  }

  private layout(compressedLength: number, len: number, merge: EncodedExternalLabels | undefined): void {
    const capacity = (len >>> 4) + 1;
    this.capacity = capacity;
    this.bodyAt = align(this.callAt + compressedLength, 8);
    this.bodyLength = len;
    this.hashAt = align(this.bodyAt + len + WRITE_SLACK, 8);
    this.countAt = this.hashAt + 4 * capacity;
    this.startAt = this.countAt + 4 * capacity;
    this.labelEndAt = this.startAt + 4 * (capacity + 1);
    this.orderAt = this.labelEndAt + 4 * capacity;
    this.seriesEndAt = this.orderAt + 4 * capacity;
    this.byteEndAt = this.seriesEndAt + 4 * MAX_GROUPS;
    this.cursorAt = this.byteEndAt + 4 * MAX_GROUPS;
    this.gatheredAt = align(this.cursorAt + 4 * MAX_GROUPS, 8);
    let needed = this.gatheredAt + len + WRITE_SLACK;
    if (this.cacheAt !== 0) {
      // The relabel lookup's arrays, laid out with the scan's: growing memory after the scan would
      // detach the views it returned.
      this.keysAt = align(needed, 8);
      this.slotOfAt = this.keysAt + 16 * capacity;
      this.missesAt = this.slotOfAt + 4 * capacity;
      this.newHashAt = this.missesAt + 4 * capacity;
      this.sizeAt = this.newHashAt + 4 * capacity;
      this.changedAt = this.sizeAt + 4 * capacity;
      needed = this.changedAt + 8;
    }
    // The merge's inputs (tens of bytes, copied per body; copy_piece reads past them) and plan.
    this.mergeScanned = this.cacheAt !== 0 ? merge : undefined;
    if (merge !== undefined && this.mergeScanned !== undefined) {
      this.mergeExtAt = align(needed, 8);
      this.mergeTableAt = align(this.mergeExtAt + merge.fields.length + WRITE_SLACK, 8);
      this.mergeResultAt = this.mergeTableAt + 4 * merge.table.length;
      this.mergeAtAt = this.mergeResultAt + 16;
      needed = this.mergeAtAt + 4 * (capacity + 1) * (merge.table.length / 4);
      if (merge.rules !== undefined) {
        this.planFlagsAt = needed;
        this.planSkipStartAt = this.planFlagsAt + 4 * merge.rules.flags.length;
        this.planSkipsAt = this.planSkipStartAt + 4 * (capacity + 1);
        // 2 u32 per skipped range, each holding a label field of 6 bytes or more.
        needed = this.planSkipsAt + 8 * (Math.floor(len / 6) + 1);
      }
    }
    this.layoutEnd = needed;
    this.grow(needed);
    if (merge !== undefined && this.mergeScanned !== undefined) {
      const buffer = this.m.memory.buffer;
      new Uint8Array(buffer, this.mergeExtAt, merge.fields.length).set(merge.fields);
      new Uint32Array(buffer, this.mergeTableAt, merge.table.length).set(merge.table);
      const rules = merge.rules;
      if (rules !== undefined) {
        new Uint32Array(buffer, this.planFlagsAt, rules.flags.length).set(rules.flags);
        if (this.planned !== rules) {
          // The tables hold another rule set's answers.
          this.m.plan_clear(this.planAt);
          this.planned = rules;
        }
        new Uint32Array(this.m.memory.buffer, this.planAt, 7)[6] = rules.absentFail;
      }
    }
  }

  /** scan_plan's miss of a label name (the import `plan_name`). */
  planName(at: number, len: number): number {
    const name = Buffer.from(this.m.memory.buffer, at, len).toString('utf8');
    return (this.planned as PlannedNameRules).nameDecision(name);
  }

  /** scan_plan's miss of a filtered value (the import `plan_value`). */
  planValue(filter: number, at: number, len: number): number {
    const value = Buffer.from(this.m.memory.buffer, at, len).toString('utf8');
    return (this.planned as PlannedNameRules).valuePasses(filter, value) ? 1 : 0;
  }

  /** Scans the body the last `layout` placed. */
  private scanInPlace(len: number, scheme: NameValidationScheme): RawWriteRequestScan | undefined {
    const legacy = scheme === 'legacy' ? 1 : 0;
    const merge = this.mergeScanned;
    const series =
      merge?.rules !== undefined
        ? this.m.scan_plan(
            this.bodyAt,
            len,
            this.hashAt,
            this.countAt,
            this.startAt,
            this.labelEndAt,
            this.capacity,
            this.tsAt,
            legacy,
            this.mergeExtAt,
            this.mergeTableAt,
            merge.table.length / 4,
            STAGING_BYTES,
            this.mergeAtAt,
            this.newHashAt,
            this.sizeAt,
            this.mergeResultAt,
            this.planFlagsAt,
            this.planAt,
            this.planSkipsAt,
            this.planSkipStartAt,
          )
        : merge === undefined
          ? this.m.scan(
              this.bodyAt,
              len,
              this.hashAt,
              this.countAt,
              this.startAt,
              this.labelEndAt,
              this.capacity,
              this.tsAt,
              legacy,
            )
          : this.m.scan_merge(
              this.bodyAt,
              len,
              this.hashAt,
              this.countAt,
              this.startAt,
              this.labelEndAt,
              this.capacity,
              this.tsAt,
              legacy,
              this.mergeExtAt,
              this.mergeTableAt,
              merge.table.length / 4,
              STAGING_BYTES,
              this.mergeAtAt,
              this.newHashAt,
              this.sizeAt,
              this.mergeResultAt,
            );
    if (series === 0) return undefined;
    const buffer = this.m.memory.buffer;
    const ts = new Float64Array(buffer, this.tsAt, 3);
    return {
      series,
      samples: ts[2],
      minTimestampMs: ts[0],
      maxTimestampMs: ts[1],
      hashes: new Uint32Array(buffer, this.hashAt, series),
      sampleCounts: new Uint32Array(buffer, this.countAt, series),
      fieldStarts: new Uint32Array(buffer, this.startAt, series + 1),
    };
  }
}
