/**
 * OpenMetrics 1.0 text, with the semantics of Prometheus' `OpenMetricsParser`
 * (model/textparse/openmetricsparse.go and openmetricslex.l): exactly one space between tokens, no
 * blank lines or free comments, `# UNIT`, the OpenMetrics types, float-second timestamps, exemplars,
 * and a mandatory `# EOF` as the last line.
 */
import {
  C_BACKSLASH,
  C_COMMA,
  C_EQ,
  C_HASH,
  C_LBRACE,
  C_NL,
  C_QUOTE,
  C_RBRACE,
  C_SP,
  C_UNDERSCORE,
  hasClass,
  LABEL_CHAR,
  LABEL_START,
  METRIC_CHAR,
  METRIC_START,
} from './char-class.js';
import { parseGoFloat } from './go-float.js';
import { ParserBase, unescapeLabelValue } from './parser-base.js';
import type { EntryKind, ExpositionParser, MetricType, ParsedExemplar } from './types.js';

const OM_TYPES: Record<string, MetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'gaugehistogram',
  summary: 'summary',
  info: 'info',
  stateset: 'stateset',
  unknown: 'unknown',
};

/** Types whose samples may have a `_created` companion (Prometheus' `typeRequiresST`). */
function hasCreated(t: MetricType): boolean {
  return t === 'counter' || t === 'summary' || t === 'histogram';
}

/** Options of {@link OpenMetricsParser}. */
export interface OpenMetricsParserOptions {
  /**
   * Skip the `_created` samples of counters, summaries and histograms instead of returning them as
   * series (Prometheus' `WithOMParserSTSeriesSkipped`, used when it ingests start timestamps); their
   * values remain available through {@link OpenMetricsParser.startTimestamp}. Default false, as
   * Prometheus' scrape loop without `created-timestamp-zero-ingestion`.
   */
  readonly skipCreatedSeries?: boolean;
}

/**
 * Parser of one OpenMetrics body. `_created` lines are returned as ordinary series unless
 * `skipCreatedSeries` is set; {@link isCreatedSeries} tells them apart.
 */
export class OpenMetricsParser extends ParserBase implements ExpositionParser {
  private pos = 0;
  private done = false;
  private readonly skipCreated: boolean;
  /** Length of the metric family name of the last HELP/TYPE/UNIT line. */
  private familyNameLength = 0;
  /** The last start timestamp found, and the identity (family and labels) it belongs to. */
  private stKey = '';
  private st = 0;
  private unitText = '';
  private exemplarOffsets = new Int32Array(16);
  private exemplarCount = 0;
  private hasExemplar = false;
  private exemplarValue = 0;
  private exemplarTimestamp: number | undefined = undefined;

  constructor(input: string, options: OpenMetricsParserOptions = {}) {
    super(input, 'OpenMetrics');
    this.skipCreated = options.skipCreatedSeries ?? false;
  }

  /**
   * The current series' start timestamp in milliseconds from its `_created` line, 0 when there is
   * none, as Prometheus' `StartTimestamp`: for counters, summaries and histograms only, looking
   * ahead within the family for `<family>_created` with the same labels (`le` / `quantile`
   * ignored), stopping at the first metadata line or a `_created` of other labels. The result is
   * cached for the following series of the same identity. Costs a look-ahead parse: call it only
   * when start timestamps are wanted.
   */
  startTimestamp(): number {
    if (!hasCreated(this.metricType)) {
      this.stKey = '';
      return 0;
    }
    const current = this.identity(this.nameStart, this.nameStart + this.familyNameLength);
    if (current === this.stKey && this.st > 0) return this.st;
    const peek = new OpenMetricsParser(this.input);
    peek.pos = this.pos;
    peek.metricType = this.metricType;
    peek.familyNameLength = this.familyNameLength;
    try {
      for (;;) {
        if (peek.next() !== 'series') break;
        const n = peek.nameEnd;
        if (n - peek.nameStart < 8 || !this.input.startsWith('_created', n - 8)) continue;
        if (peek.identity(peek.nameStart, n - 8) !== current) break;
        this.stKey = current;
        this.st = Math.trunc(peek.value * 1000);
        return this.st;
      }
    } catch {
      // The body fails later anyway; no start timestamp meanwhile, as Prometheus.
    }
    this.stKey = '';
    return 0;
  }

  /** Family name `input[nameStart:nameEnd]` plus the raw labels, without `le` / `quantile` of histograms / summaries. */
  private identity(nameStart: number, nameEnd: number): string {
    const s = this.input;
    let key = s.slice(nameStart, nameEnd);
    const o = this.labelOffsets;
    for (let i = 0; i < this.labelCount; i++) {
      const name = s.slice(o[i * 4], o[i * 4 + 1]);
      if ((this.metricType === 'summary' && name === 'quantile') || (this.metricType === 'histogram' && name === 'le'))
        continue;
      key += `\u0000${name}\u0000${s.slice(o[i * 4 + 2], o[i * 4 + 3])}`;
    }
    return key;
  }

  help(): string {
    // OpenMetrics escapes help text as label values (`\"` too).
    return unescapeLabelValue(this.input, this.textStart, this.textEnd);
  }

  override unit(): string {
    return this.unitText;
  }

  override exemplar(): ParsedExemplar | undefined {
    if (!this.hasExemplar) return undefined;
    return {
      labels: this.buildLabels(this.exemplarOffsets, this.exemplarCount, false),
      value: this.exemplarValue,
      timestamp: this.exemplarTimestamp,
    };
  }

  /** Whether the current series is a `_created` sample of a counter, summary or histogram. */
  isCreatedSeries(): boolean {
    return (
      hasCreated(this.metricType) &&
      this.nameEnd - this.nameStart >= 8 &&
      this.input.startsWith('_created', this.nameEnd - 8)
    );
  }

  next(): EntryKind | undefined {
    for (;;) {
      const kind = this.nextEntry();
      if (kind !== 'series' || !this.skipCreated || !this.isCreatedSeries()) return kind;
    }
  }

  private nextEntry(): EntryKind | undefined {
    if (this.done) return undefined;
    const s = this.input;
    const pos = this.pos;
    this.lineStart = pos;
    this.labelCount = 0;
    this.exemplarCount = 0;
    this.hasExemplar = false;
    this.nameStart = -1;
    this.nameEnd = -1;
    if (pos >= s.length) throw this.errorAt('data does not end with # EOF', pos);
    const c = s.charCodeAt(pos);
    if (c === C_HASH && s.charCodeAt(pos + 1) === C_SP) {
      const k = pos + 2;
      if (s.startsWith('EOF', k)) {
        let end = k + 3;
        if (s.charCodeAt(end) === C_NL) end++;
        if (end !== s.length) throw this.errorAt('unexpected data after # EOF', end);
        this.pos = end;
        this.done = true;
        return undefined;
      }
      if (s.charCodeAt(k + 4) === C_SP) {
        if (s.startsWith('HELP', k)) return this.lexMetadata('help', k + 5);
        if (s.startsWith('TYPE', k)) return this.lexMetadata('type', k + 5);
        if (s.startsWith('UNIT', k)) return this.lexMetadata('unit', k + 5);
      }
      throw this.errorAt(`expected HELP, TYPE, UNIT or EOF after '# ', got ${this.found(k)}`, k);
    }
    if (c === C_LBRACE || hasClass(c, METRIC_START)) {
      this.lexSeries(pos);
      return 'series';
    }
    throw this.errorAt(`expected a metric name, '{' or '#', got ${this.found(pos)}`, pos);
  }

  private endOfLine(pos: number): number {
    const eol = this.input.indexOf('\n', pos);
    return eol === -1 ? this.input.length : eol;
  }

  private scanWhile(pos: number, cls: number): number {
    const s = this.input;
    while (hasClass(s.charCodeAt(pos), cls)) pos++;
    return pos;
  }

  /** Offset of the closing quote of the string opening at `open`, which must end before `eol`. */
  private scanQuoted(open: number, eol: number, what: string): number {
    const s = this.input;
    // A plain character loop: indexOf for a backslash would scan to the end of the body when there is none.
    for (let i = open + 1; i < eol; i++) {
      const c = s.charCodeAt(i);
      if (c === C_BACKSLASH) i++;
      else if (c === C_QUOTE) return i;
    }
    throw this.errorAt(`expected ${what}, got an unterminated quoted string`, open);
  }

  private lexMetadata(kind: 'help' | 'type' | 'unit', pos: number): EntryKind {
    const s = this.input;
    const what = kind.toUpperCase();
    const eol = this.endOfLine(pos);
    const c = s.charCodeAt(pos);
    if (c === C_QUOTE) {
      const close = this.scanQuoted(pos, eol, `metric name after ${what}`);
      this.nameStart = pos + 1;
      this.nameEnd = close;
      pos = close + 1;
    } else if (hasClass(c, METRIC_START)) {
      this.nameStart = pos;
      pos = this.scanWhile(pos + 1, METRIC_CHAR);
      this.nameEnd = pos;
    } else {
      throw this.errorAt(`expected metric name after ${what}, got ${this.found(pos)}`, pos);
    }
    // The text is everything after one space, up to a newline that must be there.
    if (s.charCodeAt(pos) !== C_SP || eol === s.length) {
      throw this.errorAt(`expected a space and text in ${what}, got ${this.found(pos)}`, pos);
    }
    this.textStart = pos + 1;
    this.textEnd = eol;
    this.pos = eol + 1;
    this.familyNameLength = this.nameEnd - this.nameStart;
    if (kind === 'type') {
      const word = s.slice(pos + 1, eol);
      if (!Object.hasOwn(OM_TYPES, word)) throw this.errorAt(`invalid metric type ${JSON.stringify(word)}`, pos + 1);
      this.metricType = OM_TYPES[word];
    } else if (kind === 'unit') {
      const unit = s.slice(pos + 1, eol);
      // A unit must be the metric name's suffix after an underscore.
      const n = this.nameEnd;
      if (
        unit !== '' &&
        !(
          n - this.nameStart > unit.length &&
          s.startsWith(unit, n - unit.length) &&
          s.charCodeAt(n - unit.length - 1) === C_UNDERSCORE
        )
      ) {
        throw this.errorAt(
          `unit ${JSON.stringify(unit)} not a suffix of metric ${JSON.stringify(s.slice(this.nameStart, n))}`,
          pos + 1,
        );
      }
      this.unitText = unit;
    }
    return kind;
  }

  private lexSeries(pos: number): void {
    const s = this.input;
    const eol = this.endOfLine(pos);
    this.seriesStart = pos;
    if (s.charCodeAt(pos) !== C_LBRACE) {
      this.nameStart = pos;
      pos = this.scanWhile(pos + 1, METRIC_CHAR);
      this.nameEnd = pos;
      if (s.charCodeAt(pos) === C_LBRACE) pos = this.lexLabels(pos, eol, false);
    } else {
      pos = this.lexLabels(pos, eol, false);
    }
    this.seriesEnd = pos;
    if (this.nameStart === -1) {
      throw this.errorAt(`metric name not set in ${JSON.stringify(s.slice(this.seriesStart, pos))}`, this.seriesStart);
    }
    const valueEnd = this.token(pos, eol, 'value after metric');
    const v = parseGoFloat(s, pos + 1, valueEnd);
    if (v === undefined) throw this.errorAt(`invalid value ${JSON.stringify(s.slice(pos + 1, valueEnd))}`, pos + 1);
    this.value = v;
    pos = valueEnd;
    this.timestamp = undefined;
    if (pos < eol && !this.atExemplar(pos)) {
      const tsEnd = this.token(pos, eol, 'timestamp, exemplar or end of line');
      this.timestamp = this.parseTimestamp(pos + 1, tsEnd, 'timestamp');
      pos = tsEnd;
    }
    if (pos < eol) {
      if (!this.atExemplar(pos)) throw this.errorAt(`expected exemplar or end of line, got ${this.found(pos)}`, pos);
      pos = this.lexExemplar(pos + 3, eol);
    }
    if (eol === s.length) throw this.errorAt('data does not end with # EOF', eol);
    this.pos = eol + 1;
  }

  private atExemplar(pos: number): boolean {
    const s = this.input;
    return (
      s.charCodeAt(pos) === C_SP &&
      s.charCodeAt(pos + 1) === C_HASH &&
      s.charCodeAt(pos + 2) === C_SP &&
      s.charCodeAt(pos + 3) === C_LBRACE
    );
  }

  /** A token of one space then non-spaces, starting at `pos`; returns its end. */
  private token(pos: number, eol: number, what: string): number {
    const s = this.input;
    if (s.charCodeAt(pos) !== C_SP) throw this.errorAt(`expected a space and ${what}, got ${this.found(pos)}`, pos);
    let end = pos + 1;
    while (end < eol && s.charCodeAt(end) !== C_SP) end++;
    if (end === pos + 1) throw this.errorAt(`expected ${what}, got ${this.found(end)}`, end);
    return end;
  }

  private parseTimestamp(start: number, end: number, what: string): number {
    const ts = parseGoFloat(this.input, start, end);
    if (ts === undefined || !Number.isFinite(ts))
      throw this.errorAt(`invalid ${what} ${JSON.stringify(this.input.slice(start, end))}`, start);
    // Seconds to milliseconds as Go's int64(ts * 1000): truncated toward zero.
    return Math.trunc(ts * 1000);
  }

  private lexExemplar(pos: number, eol: number): number {
    const s = this.input;
    pos = this.lexLabels(pos, eol, true);
    this.hasExemplar = true;
    const valueEnd = this.token(pos, eol, 'value after exemplar labels');
    const v = parseGoFloat(s, pos + 1, valueEnd);
    if (v === undefined)
      throw this.errorAt(`invalid exemplar value ${JSON.stringify(s.slice(pos + 1, valueEnd))}`, pos + 1);
    this.exemplarValue = v;
    pos = valueEnd;
    this.exemplarTimestamp = undefined;
    if (pos < eol) {
      const tsEnd = this.token(pos, eol, 'exemplar timestamp or end of line');
      this.exemplarTimestamp = this.parseTimestamp(pos + 1, tsEnd, 'exemplar timestamp');
      pos = tsEnd;
      if (pos < eol) throw this.errorAt(`expected end of line after exemplar timestamp, got ${this.found(pos)}`, pos);
    }
    return pos;
  }

  private pushExemplarLabel(a: number, b: number, c: number, d: number): void {
    const o = this.exemplarCount * 4;
    if (o + 4 > this.exemplarOffsets.length) {
      const grown = new Int32Array(this.exemplarOffsets.length * 2);
      grown.set(this.exemplarOffsets);
      this.exemplarOffsets = grown;
    }
    this.exemplarOffsets[o] = a;
    this.exemplarOffsets[o + 1] = b;
    this.exemplarOffsets[o + 2] = c;
    this.exemplarOffsets[o + 3] = d;
    this.exemplarCount++;
  }

  /** Lexes `{...}` (no blanks allowed) from the brace at `pos`; returns the offset after `}`. */
  private lexLabels(pos: number, eol: number, exemplar: boolean): number {
    const s = this.input;
    pos++;
    for (;;) {
      let c = s.charCodeAt(pos);
      if (c === C_RBRACE) return pos + 1;
      let a: number;
      let b: number;
      let quoted = false;
      if (hasClass(c, LABEL_START)) {
        a = pos;
        pos = this.scanWhile(pos + 1, LABEL_CHAR);
        b = pos;
      } else if (c === C_QUOTE) {
        const close = this.scanQuoted(pos, eol, 'label name');
        a = pos + 1;
        b = close;
        pos = close + 1;
        quoted = true;
      } else {
        throw this.errorAt(`expected label name, got ${this.found(pos)}`, pos);
      }
      c = s.charCodeAt(pos);
      if (quoted && !exemplar && (c === C_COMMA || c === C_RBRACE)) {
        if (this.nameStart !== -1) throw this.errorAt('metric name already set', a - 1);
        this.nameStart = a;
        this.nameEnd = b;
        pos++;
        if (c === C_RBRACE) return pos;
        continue;
      }
      if (c !== C_EQ) throw this.errorAt(`expected '=' after label name, got ${this.found(pos)}`, pos);
      pos++;
      if (s.charCodeAt(pos) !== C_QUOTE) throw this.errorAt(`expected quoted label value, got ${this.found(pos)}`, pos);
      const close = this.scanQuoted(pos, eol, 'label value');
      if (exemplar) this.pushExemplarLabel(a, b, pos + 1, close);
      else this.pushLabel(a, b, pos + 1, close);
      pos = close + 1;
      c = s.charCodeAt(pos);
      if (c === C_COMMA) pos++;
      else if (c !== C_RBRACE) throw this.errorAt(`expected ',' or '}' after label value, got ${this.found(pos)}`, pos);
    }
  }
}
