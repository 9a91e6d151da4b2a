import { isUtf8 } from 'node:buffer';
import { DEFAULT_NAME_VALIDATION_SCHEME, type NameValidationScheme } from '../serialization/name-validation.js';
import { MAX_WASM_SCAN_BODY_BYTES, wasmRelayScan } from './rw1-raw-scan-wasm.js';
import { readInt64, readLength, varintCursor } from './varint-reader.js';

/**
 * What {@link scanWriteRequestV1} learnt about a remote-write 1.0 body it can pass through.
 * `hashes` and `sampleCounts` view buffers reused by the next scan: copy them before scanning again.
 */
export interface RawWriteRequestScan {
  series: number;
  samples: number;
  minTimestampMs: number;
  maxTimestampMs: number;
  /** Per series, the label hash of `hashLabelPairs` (same value the series registry computes). */
  hashes: Uint32Array;
  /** Per series, its samples. */
  sampleCounts: Uint32Array;
  /** Series `i`'s field (tag included) is `body[fieldStarts[i], fieldStarts[i + 1])`; `series + 1` entries. */
  fieldStarts: Uint32Array;
}

/**
 * Byte classes of legacy label names: bit 1 may start a name, bit 2 may continue one; 4 and 8
 * likewise for `__name__` values. Under the `utf8` scheme every byte may (the name must then be
 * valid UTF-8, checked apart).
 */
const NAME_START = 1;
const NAME_REST = 2;
const METRIC_START = 4;
const METRIC_REST = 8;
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  const alpha = /[a-zA-Z_]/.test(ch);
  const digit = /[0-9]/.test(ch);
  if (alpha) CLASS[c] |= NAME_START | METRIC_START;
  if (alpha || digit) CLASS[c] |= NAME_REST | METRIC_REST;
  if (ch === ':') CLASS[c] |= METRIC_START | METRIC_REST;
}

/** `__name__` as bytes. */
const METRIC_NAME_LABEL = [0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f];

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

let hashScratch = new Uint32Array(4096);
let countScratch = new Uint32Array(4096);
let startScratch = new Uint32Array(4097);

/**
 * Checks whether a remote-write 1.0 body (uncompressed) can be stored and forwarded as it is: in
 * WebAssembly (rw1-raw-scan.c) where it runs, bodies up to {@link MAX_WASM_SCAN_BODY_BYTES};
 * otherwise {@link scanWriteRequestV1Js}. Both give the same answer. The result's arrays view
 * buffers reused (or detached) by the next scan: copy them before scanning again.
 */
export function scanWriteRequestV1(
  body: Uint8Array,
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
): RawWriteRequestScan | undefined {
  const wasm = body.length <= MAX_WASM_SCAN_BODY_BYTES ? wasmRelayScan() : undefined;
  return wasm !== undefined ? wasm.scan(body, scheme) : scanWriteRequestV1Js(body, scheme);
}

/**
 * The scan in JavaScript: the reference for rw1-raw-scan.c, and the scan where WebAssembly is
 * not available or the body is large.
 *
 * Checks whether a remote-write 1.0 body (uncompressed) can be stored and forwarded as it is,
 * and gathers what the queue needs for that: per-series label hashes, sample count and the
 * timestamp range. It can when every series is written the way Prometheus writes it and would
 * pass the series registry's validation unchanged:
 * - only `timeseries` fields at the top (no metadata), at least one;
 * - each TimeSeries: its labels first, each exactly `{name, value}`, names valid under `scheme`
 *   (`utf8`: valid UTF-8; `legacy`: `[a-zA-Z_][a-zA-Z0-9_]*`), strictly sorted by bytes, values
 *   non-empty and UTF-8, `__name__` present and a valid metric name under `scheme`;
 *   then at least one sample and nothing else (no exemplar, histogram or unknown field);
 * - each Sample: only `value` (fixed64) and `timestamp` (varint) fields.
 * Returns undefined otherwise, without saying why: the caller then decodes the body in full,
 * which accepts the other shapes and words the error for invalid ones. Never throws; every read
 * is bounds-checked.
 */
export function scanWriteRequestV1Js(
  body: Uint8Array,
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
): RawWriteRequestScan | undefined {
  const end = body.length;
  const legacy = scheme === 'legacy';
  // Class bits a name's bytes must have: none under utf8 (any byte; UTF-8 checked after).
  const startMask = legacy ? NAME_START : 0;
  const restMask = legacy ? NAME_REST : 0;
  // One load per value word instead of four byte loads and shifts: ~4% of the scan.
  const words = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  let series = 0;
  let samples = 0;
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  while (pos < end) {
    if (body[pos] !== 0x0a) return undefined; // WriteRequest.timeseries = 1, length-delimited
    const fieldStart = pos;
    pos++;
    const len = readLength(body, pos, end);
    if (len < 0) return undefined;
    pos = varintCursor.end;
    const stop = pos + len;
    if (stop > end) return undefined;

    // Labels: `0x0a len 0x0a nameLen name 0x12 valueLen value`, as long as they come.
    const labelsStart = pos;
    let h = FNV_OFFSET;
    let prevName = -1;
    let prevNameLen = 0;
    let hasMetricName = false;
    let high = 0;
    let nameHigh = 0;
    let labels = 0;
    while (pos < stop && body[pos] === 0x0a) {
      // Lengths under 128 (nearly all of them) are read inline; longer ones through readLength.
      let labelLen = pos + 1 < stop ? body[pos + 1] : 0x80;
      pos += 2;
      if (labelLen >= 0x80) {
        labelLen = readLength(body, pos - 1, stop);
        if (labelLen < 0) return undefined;
        pos = varintCursor.end;
      }
      const labelStop = pos + labelLen;
      if (labelStop > stop || body[pos] !== 0x0a) return undefined;
      const nameLen = body[pos + 1];
      const nameStart = pos + 2;
      if (nameLen === 0 || nameLen >= 0x80) return undefined;
      let p = nameStart + nameLen;
      if (p + 2 > labelStop || body[p] !== 0x12) return undefined;
      let valueLen = body[p + 1];
      let valueStart = p + 2;
      if (valueLen >= 0x80) {
        valueLen = readLength(body, p + 1, labelStop);
        valueStart = varintCursor.end;
      }
      if (valueLen <= 0 || valueStart + valueLen !== labelStop) return undefined;
      // Name: valid bytes, hashed.
      if ((CLASS[body[nameStart]] & startMask) !== startMask) return undefined;
      for (p = nameStart; p < nameStart + nameLen; p++) {
        const b = body[p];
        if ((CLASS[b] & restMask) !== restMask) return undefined;
        nameHigh |= b;
        h = Math.imul(h ^ b, FNV_PRIME);
      }
      h = Math.imul(h ^ 0xff, FNV_PRIME);
      // Values four bytes at a time, as hash version 2 defines (see hashLabelPairs).
      for (p = valueStart; p + 4 <= labelStop; p += 4) {
        const w = words.getInt32(p, true);
        high |= w;
        h = Math.imul(h ^ w, FNV_PRIME);
      }
      for (; p < labelStop; p++) {
        const b = body[p];
        high |= b;
        h = Math.imul(h ^ b, FNV_PRIME);
      }
      h = Math.imul(h ^ 0xff, FNV_PRIME);
      // Strictly increasing names (byte order, as Go and the registry order them).
      if (prevName >= 0) {
        const n = Math.min(prevNameLen, nameLen);
        let d = 0;
        for (let i = 0; i < n && d === 0; i++) d = body[prevName + i] - body[nameStart + i];
        if (d === 0) d = prevNameLen - nameLen;
        if (d >= 0) return undefined;
      }
      if (nameLen === 8 && isMetricNameLabel(body, nameStart)) {
        // Under utf8 any non-empty UTF-8 value is a metric name (UTF-8 is checked with the values).
        if (legacy && !isMetricName(body, valueStart, valueLen)) return undefined;
        hasMetricName = true;
      }
      prevName = nameStart;
      prevNameLen = nameLen;
      labels++;
      pos = labelStop;
    }
    if (!hasMetricName) return undefined;
    if (((high & 0x80808080) | (nameHigh & 0x80)) !== 0 && !walkLabelsUtf8(body, labelsStart, labels)) return undefined;

    // Samples: `0x12 len [0x09 f64] [0x10 varint]`, and nothing else.
    let seriesSamples = 0;
    while (pos < stop) {
      if (body[pos] !== 0x12) return undefined;
      pos++;
      if (pos >= stop) return undefined;
      const sampleLen = body[pos++];
      if (sampleLen >= 0x80) return undefined;
      const sampleStop = pos + sampleLen;
      if (sampleStop > stop) return undefined;
      let ts = 0;
      while (pos < sampleStop) {
        const tag = body[pos++];
        if (tag === 0x09) {
          pos += 8;
        } else if (tag === 0x10) {
          ts = readInt64(body, pos, sampleStop);
          if (varintCursor.end < 0) return undefined;
          pos = varintCursor.end;
        } else {
          return undefined;
        }
      }
      if (pos !== sampleStop) return undefined;
      if (ts < minTs) minTs = ts;
      if (ts > maxTs) maxTs = ts;
      seriesSamples++;
    }
    if (seriesSamples === 0) return undefined;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    if (series === hashScratch.length) {
      const grown = new Uint32Array(series * 2);
      grown.set(hashScratch);
      hashScratch = grown;
      const grownCounts = new Uint32Array(series * 2);
      grownCounts.set(countScratch);
      countScratch = grownCounts;
      const grownStarts = new Uint32Array(series * 2 + 1);
      grownStarts.set(startScratch);
      startScratch = grownStarts;
    }
    startScratch[series] = fieldStart;
    countScratch[series] = seriesSamples;
    hashScratch[series++] = h >>> 0;
    samples += seriesSamples;
  }
  if (series === 0) return undefined;
  startScratch[series] = end;
  return {
    series,
    samples,
    minTimestampMs: minTs,
    maxTimestampMs: maxTs,
    hashes: hashScratch.subarray(0, series),
    sampleCounts: countScratch.subarray(0, series),
    fieldStarts: startScratch.subarray(0, series + 1),
  };
}

function isMetricNameLabel(body: Uint8Array, start: number): boolean {
  for (let i = 0; i < 8; i++) if (body[start + i] !== METRIC_NAME_LABEL[i]) return false;
  return true;
}

function isMetricName(body: Uint8Array, start: number, len: number): boolean {
  if ((CLASS[body[start]] & METRIC_START) === 0) return false;
  for (let i = start + 1; i < start + len; i++) if ((CLASS[body[i]] & METRIC_REST) === 0) return false;
  return true;
}

/**
 * The slow path for series with non-ASCII bytes in their label names or values: each must be
 * well-formed UTF-8 (which also rules out encoded lone surrogates). The label fields starting
 * at `start` were already checked to be `0x0a len 0x0a nameLen name 0x12 valueLen value`.
 */
function walkLabelsUtf8(body: Uint8Array, start: number, labels: number): boolean {
  let p = start;
  for (let i = 0; i < labels; i++) {
    const labelLen = readLength(body, p + 1, body.length);
    const labelStop = varintCursor.end + labelLen;
    const nameStart = varintCursor.end + 2;
    const nameLen = body[varintCursor.end + 1];
    if (!isUtf8(body.subarray(nameStart, nameStart + nameLen))) return false;
    const valueLen = readLength(body, nameStart + nameLen + 1, labelStop);
    if (!isUtf8(body.subarray(varintCursor.end, varintCursor.end + valueLen))) return false;
    p = labelStop;
  }
  return true;
}
