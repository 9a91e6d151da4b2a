import { formatLabelPairs } from '../serialization/name-validation.js';
import { METRIC_TYPES } from '../serialization/types.js';
import { readHistogram } from './histogram-reader.js';
import { compareRanges, ProtoReader, WT_I64, WT_LEN, WT_VARINT } from './proto-reader.js';
import { readSample } from './rw1-decoder.js';
import type { DecodedCounts, RemoteWriteVisitor } from './types.js';

/** Arrays reused across the series of one request. */
interface Scratch {
  refs: number[];
  labels: string[];
  exemplarLabels: string[];
  /** A series' labels encoded as 1.0 Label fields, for RemoteWriteVisitor.knownSeries. */
  key: Buffer;
}

/**
 * The symbol table of one request: where each symbol's bytes are (checked as UTF-8 up front),
 * and its string once something asked for it. Symbols are decoded lazily because a visitor that
 * recognises a series' label bytes never needs its label strings.
 */
interface Symbols {
  strings: (string | undefined)[];
  start: number[];
  len: number[];
  /**
   * Symbols that are not valid UTF-8, if any. They are refused where they are used, as
   * Prometheus does (its decoder takes any bytes, its label check then refuses the series), so a
   * refusal can name the series; an unused one is no error.
   */
  badUtf8: Set<number> | undefined;
}

/** Symbol `i` as a string (decoded on first use); fails for one that is not valid UTF-8. */
function sym(r: ProtoReader, symbols: Symbols, i: number, what = 'symbol'): string {
  if (symbols.badUtf8?.has(i)) r.fail(`${what} (symbol ${i}) is not valid UTF-8`);
  return symText(r, symbols, i);
}

/** Symbol `i` as a string, bytes that are not valid UTF-8 as U+FFFD: for error messages. */
function symText(r: ProtoReader, symbols: Symbols, i: number): string {
  let s = symbols.strings[i];
  if (s === undefined) {
    s = r.stringAt(symbols.start[i], symbols.len[i]);
    // Not cached when bad: sym() must keep failing for it.
    if (symbols.badUtf8?.has(i)) return s;
    symbols.strings[i] = s;
  }
  return s;
}

const NAME_LABEL = Buffer.from('__name__');

/**
 * Decodes a remote-write 2.0 `io.prometheus.write.v2.Request` (uncompressed) into `visitor`.
 * The symbol table is read first (it may come after the series on the wire); every reference
 * is checked against it. Validates strictly and throws PromspoolError('ERR_BAD_REQUEST').
 * Per series, `series()` comes first, then its metadata (if any), then samples, histograms
 * and exemplars in wire order.
 */
export function decodeWriteRequestV2(body: Uint8Array, visitor: RemoteWriteVisitor): DecodedCounts {
  const r = new ProtoReader(body);
  const symbols: Symbols = { strings: [], start: [], len: [], badUtf8: undefined };
  // Pass 1: symbols, and a structural check of the top level.
  while (r.pos < r.end) {
    const key = r.tag();
    if (key >>> 3 === 4) {
      r.expect(key, WT_LEN, 'symbols');
      if (!r.stringBytes(true)) (symbols.badUtf8 ??= new Set()).add(symbols.strings.length);
      symbols.strings.push(undefined);
      symbols.start.push(r.strStart);
      symbols.len.push(r.strLen);
    } else {
      if (key >>> 3 === 5) r.expect(key, WT_LEN, 'timeseries');
      r.skip(key & 7);
    }
  }
  if (symbols.len.length > 0 && symbols.len[0] !== 0) r.fail('symbols must start with the empty string');

  const counts: DecodedCounts = { series: 0, samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
  const scratch: Scratch = { refs: [], labels: [], exemplarLabels: [], key: Buffer.allocUnsafeSlow(1024) };
  r.pos = 0;
  while (r.pos < r.end) {
    const key = r.tag();
    if (key >>> 3 !== 5) {
      r.skip(key & 7);
      continue;
    }
    const stop = r.delimited();
    r.series = counts.series;
    readTimeSeries(r, stop, symbols, visitor, scratch, counts);
    r.series = -1;
    counts.series++;
  }
  return counts;
}

function readTimeSeries(
  r: ProtoReader,
  stop: number,
  symbols: Symbols,
  visitor: RemoteWriteVisitor,
  scratch: Scratch,
  counts: DecodedCounts,
): void {
  const outerEnd = r.end;
  const start = r.pos;
  r.end = stop;
  // Pass 1: labels, metadata, created timestamp.
  const { refs, labels } = scratch;
  refs.length = 0;
  let createdTimestampMs = 0;
  let metadataType = 0;
  let helpRef = 0;
  let unitRef = 0;
  let hasMetadata = false;
  let hasSamples = false;
  let hasHistograms = false;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        readRefs(r, key, symbols, refs, 'labels_refs');
        break;
      case 2:
        r.expect(key, WT_LEN, 'sample');
        hasSamples = true;
        r.skip(WT_LEN);
        break;
      case 3:
        r.expect(key, WT_LEN, 'histogram');
        hasHistograms = true;
        r.skip(WT_LEN);
        break;
      case 5: {
        r.expect(key, WT_LEN, 'metadata');
        const mstop = r.delimited();
        const mEnd = r.end;
        r.end = mstop;
        while (r.pos < mstop) {
          const mkey = r.tag();
          switch (mkey >>> 3) {
            case 1:
              r.expect(mkey, WT_VARINT, 'metadata type');
              metadataType = r.int64();
              break;
            case 3:
              r.expect(mkey, WT_VARINT, 'metadata help_ref');
              helpRef = symbolRef(r, symbols, 'metadata help_ref');
              break;
            case 4:
              r.expect(mkey, WT_VARINT, 'metadata unit_ref');
              unitRef = symbolRef(r, symbols, 'metadata unit_ref');
              break;
            default:
              r.skip(mkey & 7);
          }
        }
        r.end = mEnd;
        hasMetadata = true;
        break;
      }
      case 6:
        r.expect(key, WT_VARINT, 'created_timestamp');
        createdTimestampMs = r.int64();
        break;
      default:
        r.skip(key & 7);
    }
  }
  validateLabels(r, symbols, refs);
  if (hasSamples && hasHistograms) r.fail('series has both samples and histograms');
  let known = false;
  if (visitor.knownSeries !== undefined) {
    const end = labelKey(r, symbols, scratch);
    known = visitor.knownSeries(scratch.key, 0, end, createdTimestampMs);
  }
  if (!known) {
    labels.length = 0;
    for (let i = 0; i < refs.length; i++) labels.push(sym(r, symbols, refs[i]));
    visitor.series(labels, createdTimestampMs);
  }
  if (hasMetadata && (metadataType !== 0 || helpRef !== 0 || unitRef !== 0)) {
    visitor.metadata({
      metricFamilyName: metricName(r, symbols, refs),
      type: METRIC_TYPES[metadataType] ?? 'unknown',
      help: sym(r, symbols, helpRef, 'metadata help'),
      unit: sym(r, symbols, unitRef, 'metadata unit'),
    });
    counts.metadata++;
  }

  // Pass 2: signals.
  r.pos = start;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 2:
        readSample(r, r.delimited(), visitor);
        counts.samples++;
        break;
      case 3: {
        const h = readHistogram(r, r.delimited());
        visitor.histogram(h.timestampMs, h.histogram);
        counts.histograms++;
        break;
      }
      case 4:
        r.expect(key, WT_LEN, 'exemplar');
        readExemplar(r, r.delimited(), symbols, visitor, scratch);
        counts.exemplars++;
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
}

/** The value of the `__name__` label among `refs`, or ''. */
function metricName(r: ProtoReader, symbols: Symbols, refs: number[]): string {
  const { start, len } = symbols;
  const buf = r.buf;
  for (let i = 0; i < refs.length; i += 2) {
    const n = refs[i];
    if (
      len[n] === NAME_LABEL.length &&
      buf.compare(NAME_LABEL, 0, NAME_LABEL.length, start[n], start[n] + len[n]) === 0
    ) {
      return sym(r, symbols, refs[i + 1]);
    }
  }
  return '';
}

/**
 * Writes the labels of `scratch.refs` into `scratch.key` as 1.0 Label fields
 * (`0x0a len 0x0a nameLen name 0x12 valueLen value`, as Prometheus encodes them), so a series
 * has the same key whichever version sent it. Returns the key's length.
 */
function labelKey(r: ProtoReader, symbols: Symbols, scratch: Scratch): number {
  const { refs } = scratch;
  const { start, len } = symbols;
  let need = 0;
  for (let i = 0; i < refs.length; i += 2) need += 2 * 5 + 3 + len[refs[i]] + len[refs[i + 1]] + 5;
  if (need > scratch.key.length) scratch.key = Buffer.allocUnsafeSlow(Math.max(need, scratch.key.length * 2));
  const key = scratch.key;
  const buf = r.buf;
  let p = 0;
  for (let i = 0; i < refs.length; i += 2) {
    const ns = start[refs[i]];
    const nl = len[refs[i]];
    const vs = start[refs[i + 1]];
    const vl = len[refs[i + 1]];
    key[p++] = 0x0a;
    p = putVarint(key, p, 1 + varintSize(nl) + nl + 1 + varintSize(vl) + vl);
    key[p++] = 0x0a;
    p = putVarint(key, p, nl);
    p = putBytes(key, p, buf, ns, nl);
    key[p++] = 0x12;
    p = putVarint(key, p, vl);
    p = putBytes(key, p, buf, vs, vl);
  }
  return p;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function putVarint(out: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    out[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[p++] = v;
  return p;
}

function putBytes(out: Uint8Array, p: number, src: Buffer, start: number, len: number): number {
  // Label strings are short: a loop beats a native call's overhead.
  if (len > 64) {
    src.copy(out, p, start, start + len);
    return p + len;
  }
  for (let i = 0; i < len; i++) out[p + i] = src[start + i];
  return p + len;
}

function symbolRef(r: ProtoReader, symbols: Symbols, field: string): number {
  const ref = r.varint32();
  if (ref >= symbols.strings.length) r.fail(`${field} ${ref} out of range (${symbols.strings.length} symbols)`);
  return ref;
}

/** Appends symbol refs, packed or one per field, checking each is in range. */
function readRefs(r: ProtoReader, key: number, symbols: Symbols, out: number[], field: string): void {
  if ((key & 7) === WT_VARINT) {
    out.push(symbolRef(r, symbols, field));
    return;
  }
  r.expect(key, WT_LEN, field);
  const stop = r.delimited();
  const outerEnd = r.end;
  r.end = stop;
  while (r.pos < stop) out.push(symbolRef(r, symbols, field));
  r.end = outerEnd;
}

/**
 * Checks label refs held in `refs`: pairs, names and values non-empty and valid UTF-8, names
 * unique. Refs not sorted by name bytes are sorted here, in place, as Prometheus sorts them on
 * receipt (the 2.0 spec asks senders to sort, receivers take either).
 */
function validateLabels(r: ProtoReader, symbols: Symbols, refs: number[]): void {
  const n = refs.length;
  if (n === 0) r.fail('series has no labels');
  if (n % 2 !== 0) r.fail(`labels_refs has odd length ${n}`);
  // Bad UTF-8 first: the series is named by its labels, which the other messages print.
  if (symbols.badUtf8 !== undefined) checkLabelsUtf8(r, symbols, refs);
  const { start, len } = symbols;
  let sorted = true;
  for (let i = 0; i < n; i += 2) {
    const name = refs[i];
    const value = refs[i + 1];
    if (len[name] === 0) r.fail('empty label name');
    if (len[value] === 0) r.fail(`empty value for label "${symText(r, symbols, name)}"`);
    if (sorted && i > 0) {
      const prev = refs[i - 2];
      if (compareRanges(r.buf, start[prev], len[prev], start[name], len[name]) >= 0) sorted = false;
    }
  }
  if (sorted) return;
  sortLabelRefs(r.buf, symbols, refs);
  for (let i = 2; i < n; i += 2) {
    const prev = refs[i - 2];
    const name = refs[i];
    if (compareRanges(r.buf, start[prev], len[prev], start[name], len[name]) === 0)
      r.fail(`duplicate label name "${symText(r, symbols, name)}" in series ${describeSeries(r, symbols, refs)}`);
  }
}

/** Fails for the first label whose name or value is a symbol that is not valid UTF-8, naming the series. */
function checkLabelsUtf8(r: ProtoReader, symbols: Symbols, refs: number[]): void {
  const bad = symbols.badUtf8!;
  for (let i = 0; i < refs.length; i += 2) {
    const name = JSON.stringify(symText(r, symbols, refs[i]));
    let what: string | undefined;
    if (bad.has(refs[i])) what = `label name ${name} (symbol ${refs[i]})`;
    else if (bad.has(refs[i + 1])) what = `value of label ${name} (symbol ${refs[i + 1]})`;
    if (what !== undefined) r.fail(`${what} is not valid UTF-8, in series ${describeSeries(r, symbols, refs)}`);
  }
}

/** The series of `refs` as Prometheus prints labels, for error messages. */
function describeSeries(r: ProtoReader, symbols: Symbols, refs: number[]): string {
  const pairs: string[] = [];
  for (let i = 0; i < refs.length; i++) pairs.push(symText(r, symbols, refs[i]));
  return formatLabelPairs(pairs);
}

/** Sorts the (name, value) ref pairs of `refs` by name bytes, stably (duplicates stay in wire order). */
function sortLabelRefs(buf: Uint8Array, symbols: Symbols, refs: number[]): void {
  const { start, len } = symbols;
  const pairs: [number, number][] = [];
  for (let i = 0; i < refs.length; i += 2) pairs.push([refs[i], refs[i + 1]]);
  pairs.sort((a, b) => compareRanges(buf, start[a[0]], len[a[0]], start[b[0]], len[b[0]]));
  for (let k = 0; k < pairs.length; k++) {
    refs[2 * k] = pairs[k][0];
    refs[2 * k + 1] = pairs[k][1];
  }
}

function readExemplar(
  r: ProtoReader,
  stop: number,
  symbols: Symbols,
  visitor: RemoteWriteVisitor,
  scratch: Scratch,
): void {
  const outerEnd = r.end;
  r.end = stop;
  const { refs, exemplarLabels: labels } = scratch;
  refs.length = 0;
  let value = 0;
  let ts = 0;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        readRefs(r, key, symbols, refs, 'exemplar labels_refs');
        break;
      case 2:
        r.expect(key, WT_I64, 'exemplar value');
        value = r.double();
        break;
      case 3:
        r.expect(key, WT_VARINT, 'exemplar timestamp');
        ts = r.int64();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
  if (refs.length % 2 !== 0) r.fail(`exemplar labels_refs has odd length ${refs.length}`);
  labels.length = 0;
  for (let i = 0; i < refs.length; i++) {
    if (i % 2 === 0 && symbols.len[refs[i]] === 0) r.fail('empty exemplar label name');
    labels.push(sym(r, symbols, refs[i], i % 2 === 0 ? 'exemplar label name' : 'exemplar label value'));
  }
  visitor.exemplar(labels, value, ts);
}
