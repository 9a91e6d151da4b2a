/**
 * State and helpers shared by the text 0.0.4 and OpenMetrics parsers: the label offsets recorded
 * while lexing a series line, and the deferred `labels()` that turns them into strings.
 */

import { compareUtf8 } from '../serialization/label-order.js';
import type { NativeHistogram } from '../serialization/types.js';
import { C_BACKSLASH } from './char-class.js';
import { formatOpenMetricsFloat, parseGoFloat } from './go-float.js';
import { ExpositionParseError, type MetricType, type ParsedExemplar, type ParsedLabel } from './types.js';

/** Offset of the first backslash in `s[start:end]`, or -1 (bounded, unlike indexOf). */
function backslashIn(s: string, start: number, end: number): number {
  for (let i = start; i < end; i++) if (s.charCodeAt(i) === C_BACKSLASH) return i;
  return -1;
}

/**
 * Undoes label-value escaping as Prometheus' `lvalReplacer` does: `\\`, `\"` and `\n`, scanned left
 * to right; any other backslash pair stays as written.
 */
export function unescapeLabelValue(s: string, start: number, end: number): string {
  const first = backslashIn(s, start, end);
  if (first === -1) return s.slice(start, end);
  let out = s.slice(start, first);
  let i = first;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === C_BACKSLASH && i + 1 < end) {
      const n = s.charCodeAt(i + 1);
      if (n === C_BACKSLASH) {
        out += '\\';
        i += 2;
        continue;
      }
      if (n === 34) {
        out += '"';
        i += 2;
        continue;
      }
      if (n === 110) {
        out += '\n';
        i += 2;
        continue;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

/** Help text escaping of the text format: only `\\` and `\n` (Prometheus' `helpReplacer`). */
export function unescapeHelp(s: string, start: number, end: number): string {
  const first = backslashIn(s, start, end);
  if (first === -1) return s.slice(start, end);
  let out = s.slice(start, first);
  let i = first;
  while (i < end) {
    if (s.charCodeAt(i) === C_BACKSLASH && i + 1 < end) {
      const n = s.charCodeAt(i + 1);
      if (n === C_BACKSLASH || n === 110) {
        out += n === C_BACKSLASH ? '\\' : '\n';
        i += 2;
        continue;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

function byName(a: ParsedLabel, b: ParsedLabel): number {
  return compareUtf8(a.name, b.name);
}

/**
 * Prometheus 3 rewrites the `le` of histogram buckets and the `quantile` of summaries in
 * OpenMetrics float spelling (`1` -> `1.0`) when they parse as floats, so both formats and every
 * exporter's spelling give one series. (Go's ParseFloat there also takes hex floats like `0x1p-3`;
 * those are left as written here.)
 */
function normalizeFloatLabel(type: MetricType, name: string, value: string): string {
  if ((type === 'summary' && name === 'quantile') || (type === 'histogram' && name === 'le')) {
    const f = parseGoFloat(value, 0, value.length);
    if (f !== undefined) return formatOpenMetricsFloat(f);
  }
  return value;
}

/** Offsets and values of the current entry; the lexers fill them, the accessors read them. */
export abstract class ParserBase {
  seriesStart = 0;
  seriesEnd = 0;
  value = 0;
  timestamp: number | undefined = undefined;
  metricType: MetricType = 'unknown';

  /** Metric name of the current series or metadata entry; -1 when a series has none (yet). */
  protected nameStart = -1;
  protected nameEnd = -1;
  /** Pairs of (name start, name end, value start, value end) per label, quotes stripped. */
  protected labelOffsets = new Int32Array(64);
  protected labelCount = 0;
  /** Start and end of the help/unit text or the comment line. */
  protected textStart = 0;
  protected textEnd = 0;
  /** Start of the current line (for errors). */
  protected lineStart = 0;

  constructor(
    readonly input: string,
    private readonly formatName: string,
  ) {}

  series(): string {
    return this.input.slice(this.seriesStart, this.seriesEnd);
  }

  metricFamily(): string {
    return unescapeLabelValue(this.input, this.nameStart, this.nameEnd);
  }

  /** The text formats have no native histograms (see {@link ExpositionParser.histogram}). */
  histogram(): NativeHistogram {
    throw new Error('the text formats have no native histogram entries');
  }

  comment(): string {
    return this.input.slice(this.textStart, this.textEnd);
  }

  unit(): string {
    return '';
  }

  exemplar(): ParsedExemplar | undefined {
    return undefined;
  }

  labels(): ParsedLabel[] {
    return this.buildLabels(this.labelOffsets, this.labelCount, true);
  }

  protected buildLabels(offsets: Int32Array, count: number, withName: boolean): ParsedLabel[] {
    const s = this.input;
    const out: ParsedLabel[] = [];
    if (withName) out.push({ name: '__name__', value: unescapeLabelValue(s, this.nameStart, this.nameEnd) });
    for (let i = 0; i < count; i++) {
      const o = i * 4;
      const name = unescapeLabelValue(s, offsets[o], offsets[o + 1]);
      const raw = unescapeLabelValue(s, offsets[o + 2], offsets[o + 3]);
      out.push({ name, value: withName ? normalizeFloatLabel(this.metricType, name, raw) : raw });
    }
    out.sort(byName);
    for (let i = 1; i < out.length; i++) {
      if (out[i].name === out[i - 1].name) {
        throw this.errorAt(
          `duplicate label name ${JSON.stringify(out[i].name)} in series ${JSON.stringify(this.series())}`,
          this.seriesStart,
        );
      }
    }
    return out;
  }

  protected pushLabel(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const o = this.labelCount * 4;
    if (o + 4 > this.labelOffsets.length) {
      const grown = new Int32Array(this.labelOffsets.length * 2);
      grown.set(this.labelOffsets);
      this.labelOffsets = grown;
    }
    this.labelOffsets[o] = nameStart;
    this.labelOffsets[o + 1] = nameEnd;
    this.labelOffsets[o + 2] = valueStart;
    this.labelOffsets[o + 3] = valueEnd;
    this.labelCount++;
  }

  /** An error at character offset `pos`, with the line and column computed only now (errors are rare). */
  protected errorAt(reason: string, pos: number): ExpositionParseError {
    const s = this.input;
    let line = 1;
    let lineStart = 0;
    for (let i = s.indexOf('\n'); i !== -1 && i < pos; i = s.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return new ExpositionParseError(reason, line, pos - lineStart + 1, this.formatName);
  }

  /** Quotes what was found at `pos` for an error: up to the end of the line, at most 40 characters. */
  protected found(pos: number): string {
    const s = this.input;
    if (pos >= s.length) return 'end of input';
    let end = s.indexOf('\n', pos);
    if (end === -1) end = s.length;
    if (end === pos) return 'end of line';
    return JSON.stringify(s.slice(pos, Math.min(end, pos + 40)));
  }
}
