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
 * `[min ts, max ts, samples: 3 f64][compressed][body + slack][hashes][counts][starts]
 * [order][series ends][byte ends][cursors][gathered + slack]`. Linear memory only grows, so
 * bodies over {@link MAX_WASM_SCAN_BODY_BYTES} are left to the JavaScript path: one large
 * request must not pin tens of MB in every thread that scans.
 */

import type { NameValidationScheme } from '../serialization/name-validation.js';
import type { RawWriteRequestScan } from './rw1-raw-scan.js';
import { RW1_RAW_SCAN_WASM_BASE64 } from './rw1-raw-scan-wasm-binary.js';

/** The largest uncompressed body handled in WebAssembly: memory then stays under ~20 MiB. */
export const MAX_WASM_SCAN_BODY_BYTES = 4 * 1024 * 1024;

const PAGE_BYTES = 65536;
/** Most send-loop groups (raw-record.ts's MAX_RAW_GROUPS: one per virtual shard). */
const MAX_GROUPS = 256;
/** Bytes the uncompress and the gather may write past their output (see the C sources). */
const WRITE_SLACK = 16;

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
  /** {@link scanWriteRequestV1Js} on `body` (copied in); at most {@link MAX_WASM_SCAN_BODY_BYTES}. */
  scan(body: Uint8Array, scheme: NameValidationScheme): RawWriteRequestScan | undefined;
  /**
   * Uncompresses a snappy block whose header claims `claimed` bytes (at most
   * {@link MAX_WASM_SCAN_BODY_BYTES}) and scans it. Undefined when the block is malformed (the
   * caller's native uncompress then words the error); otherwise the body and its scan, names
   * checked under `scheme`.
   */
  uncompressAndScan(
    compressed: Uint8Array,
    claimed: number,
    scheme: NameValidationScheme,
  ): { body: Uint8Array; scan: RawWriteRequestScan | undefined } | undefined;
  /** Groups the series of the last `uncompressAndScan` for `groups` send loops (its scan accepted the body). */
  gather(scan: RawWriteRequestScan, groups: number): GatheredGroups;
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
  return new WasmRelayScanModule(new WebAssembly.Instance(module).exports as unknown as ModuleExports);
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

class WasmRelayScanModule implements WasmRelayScan {
  private readonly tsAt: number;
  // The layout of the last call, for gather.
  private bodyAt = 0;
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
  }

  scan(body: Uint8Array, scheme: NameValidationScheme): RawWriteRequestScan | undefined {
    this.layout(0, body.length);
    new Uint8Array(this.m.memory.buffer, this.bodyAt, body.length).set(body);
    return this.scanInPlace(body.length, scheme);
  }

  uncompressAndScan(compressed: Uint8Array, claimed: number, scheme: NameValidationScheme) {
    const compressedAt = this.tsAt + 24;
    this.layout(compressed.length, claimed);
    new Uint8Array(this.m.memory.buffer, compressedAt, compressed.length).set(compressed);
    if (this.m.snappy_uncompress(compressedAt, compressed.length, this.bodyAt, claimed) !== 1) return undefined;
    const scan = this.scanInPlace(claimed, scheme);
    return { body: new Uint8Array(this.m.memory.buffer, this.bodyAt, claimed), scan };
  }

  gather(scan: RawWriteRequestScan, groups: number): GatheredGroups {
    if (!Number.isInteger(groups) || groups < 1 || groups > MAX_GROUPS)
      throw new RangeError(`groups must be 1..${MAX_GROUPS}, got ${groups}`);
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

  private layout(compressedLength: number, len: number): void {
    const capacity = (len >>> 4) + 1;
    this.capacity = capacity;
    this.bodyAt = align(this.tsAt + 24 + compressedLength, 8);
    this.hashAt = align(this.bodyAt + len + WRITE_SLACK, 8);
    this.countAt = this.hashAt + 4 * capacity;
    this.startAt = this.countAt + 4 * capacity;
    this.orderAt = this.startAt + 4 * (capacity + 1);
    this.seriesEndAt = this.orderAt + 4 * capacity;
    this.byteEndAt = this.seriesEndAt + 4 * MAX_GROUPS;
    this.cursorAt = this.byteEndAt + 4 * MAX_GROUPS;
    this.gatheredAt = align(this.cursorAt + 4 * MAX_GROUPS, 8);
    const needed = this.gatheredAt + len + WRITE_SLACK;
    const have = this.m.memory.buffer.byteLength;
    if (needed > have) this.m.memory.grow(Math.ceil((needed - have) / PAGE_BYTES));
  }

  /** Scans the body the last `layout` placed. */
  private scanInPlace(len: number, scheme: NameValidationScheme): RawWriteRequestScan | undefined {
    const legacy = scheme === 'legacy' ? 1 : 0;
    const series = this.m.scan(
      this.bodyAt,
      len,
      this.hashAt,
      this.countAt,
      this.startAt,
      this.capacity,
      this.tsAt,
      legacy,
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
