/**
 * The relay scan compiled to WebAssembly (rw1-raw-scan.c): the same answers as the JavaScript
 * {@link scanWriteRequestV1Js}, in about half the time (bench/RESULTS.md, "Eighth session").
 *
 * Each instance owns one linear memory, laid out per scan as
 * `[3 doubles: min ts, max ts, samples][body][hashes][counts][starts]`. Linear memory only
 * grows, so bodies over {@link MAX_WASM_SCAN_BODY_BYTES} are left to the JavaScript scan: one
 * large request must not pin tens of MB in every thread that scans.
 */

import type { RawWriteRequestScan } from './rw1-raw-scan.js';
import { RW1_RAW_SCAN_WASM_BASE64 } from './rw1-raw-scan-wasm-binary.js';

/** The largest uncompressed body scanned in WebAssembly; memory then stays under ~7 MiB. */
export const MAX_WASM_SCAN_BODY_BYTES = 4 * 1024 * 1024;

const PAGE_BYTES = 65536;

interface ScanExports {
  memory: WebAssembly.Memory;
  scan(body: number, len: number, hashes: number, counts: number, starts: number, capacity: number, ts: number): number;
  __heap_base: WebAssembly.Global;
}

/** A scan function backed by its own WebAssembly instance, or undefined where WebAssembly is unavailable (`--jitless`). */
export function createWasmRawScan(): ((body: Uint8Array) => RawWriteRequestScan | undefined) | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  const module = new WebAssembly.Module(Buffer.from(RW1_RAW_SCAN_WASM_BASE64, 'base64'));
  const exports = new WebAssembly.Instance(module).exports as unknown as ScanExports;
  const { memory, scan } = exports;
  const tsAt = (Number(exports.__heap_base.value) + 7) & ~7;
  const bodyAt = tsAt + 24;
  return (body) => {
    const len = body.length;
    // Every accepted series takes more than 16 bytes (see rw1-raw-scan.c), so this many always fit.
    const capacity = (len >>> 4) + 1;
    const hashAt = (bodyAt + len + 3) & ~3;
    const countAt = hashAt + 4 * capacity;
    const startAt = countAt + 4 * capacity;
    const needed = startAt + 4 * (capacity + 1);
    if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE_BYTES));
    const buffer = memory.buffer;
    new Uint8Array(buffer, bodyAt, len).set(body);
    const series = scan(bodyAt, len, hashAt, countAt, startAt, capacity, tsAt);
    if (series === 0) return undefined;
    const ts = new Float64Array(buffer, tsAt, 3);
    return {
      series,
      samples: ts[2],
      minTimestampMs: ts[0],
      maxTimestampMs: ts[1],
      hashes: new Uint32Array(buffer, hashAt, series),
      sampleCounts: new Uint32Array(buffer, countAt, series),
      fieldStarts: new Uint32Array(buffer, startAt, series + 1),
    };
  };
}
