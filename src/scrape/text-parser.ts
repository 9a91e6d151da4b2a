/**
 * The Prometheus text exposition format 0.0.4, with the semantics of Prometheus' `PromParser`
 * (model/textparse/promparse.go and promlex.l): blanks and tabs between any two tokens, blank lines,
 * free comments, labels without commas between them, quoted (UTF-8) metric and label names, a
 * timestamp of integer milliseconds.
 */
import {
  C_BACKSLASH,
  C_COMMA,
  C_EQ,
  C_HASH,
  C_LBRACE,
  C_NL,
  C_NUL,
  C_QUOTE,
  C_RBRACE,
  C_SP,
  C_TAB,
  hasClass,
  LABEL_CHAR,
  LABEL_START,
  METRIC_CHAR,
  METRIC_START,
} from './char-class.js';
import { parseDigitsInt64, parseGoFloat } from './go-float.js';
import { ParserBase, unescapeHelp } from './parser-base.js';
import type { EntryKind, ExpositionParser, MetricType, ParsedLabel, SeriesHint } from './types.js';

const TEXT_TYPES: Record<string, MetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'unknown',
};

/**
 * Parser of one text-format body. Known departures from Prometheus, all on bodies Prometheus also
 * mishandles: a NUL byte at the start of a line is an error (Prometheus silently stops there).
 */
export class PromTextParser extends ParserBase implements ExpositionParser {
  private pos = 0;
  private kind: EntryKind | undefined;
  private hint: SeriesHint | undefined;
  /** The current series line began with the hinted text: its labels were not lexed (see {@link useSeriesHint}). */
  hintMatched = false;

  constructor(input: string) {
    super(input, 'text format');
  }

  /**
   * From now on, before lexing a series line the parser asks `hint` for the series text it
   * expects there; a line that begins with it (then a blank, and no `{` after the blanks) gets
   * `hintMatched` and only its value and timestamp are read: the text is that series' exactly, as
   * a full lex would have ended it at the same offset. `labels()` still works (it lexes then).
   */
  useSeriesHint(hint: SeriesHint): void {
    this.hint = hint;
  }

  override labels(): ParsedLabel[] {
    if (this.hintMatched) {
      this.hintMatched = false;
      this.nameStart = -1;
      this.labelCount = 0;
      this.lexHead(this.seriesStart);
    }
    return super.labels();
  }

  help(): string {
    return unescapeHelp(this.input, this.textStart, this.textEnd);
  }

  next(): EntryKind | undefined {
    const s = this.input;
    const len = s.length;
    for (;;) {
      this.lineStart = this.pos;
      this.labelCount = 0;
      this.nameStart = -1;
      this.nameEnd = -1;
      const pos = this.skipBlanks(this.pos);
      if (pos >= len) {
        this.pos = pos;
        this.kind = undefined;
        return undefined;
      }
      const c = s.charCodeAt(pos);
      if (c === C_NL) {
        this.pos = pos + 1;
        continue;
      }
      if (c === C_HASH) {
        this.kind = this.lexHash(pos);
        return this.kind;
      }
      if (c === C_LBRACE || hasClass(c, METRIC_START)) {
        this.lexSeries(pos);
        this.kind = 'series';
        return 'series';
      }
      throw this.errorAt(`expected a metric name, '{' or '#', got ${this.found(pos)}`, pos);
    }
  }

  private skipBlanks(pos: number): number {
    const s = this.input;
    for (;;) {
      const c = s.charCodeAt(pos);
      if (c !== C_SP && c !== C_TAB) return pos;
      pos++;
    }
  }

  private endOfLine(pos: number): number {
    const eol = this.input.indexOf('\n', pos);
    return eol === -1 ? this.input.length : eol;
  }

  /** `#` lines: HELP and TYPE after blanks, anything else a comment. */
  private lexHash(hash: number): EntryKind {
    const s = this.input;
    const eol = this.endOfLine(hash);
    const afterHash = this.skipBlanks(hash + 1);
    if (afterHash > hash + 1) {
      const isHelp = s.startsWith('HELP', afterHash);
      if (isHelp || s.startsWith('TYPE', afterHash)) {
        const sep = s.charCodeAt(afterHash + 4);
        if (sep === C_SP || sep === C_TAB) return this.lexMetadata(isHelp, this.skipBlanks(afterHash + 4));
      }
    }
    this.textStart = hash;
    this.textEnd = eol;
    this.pos = eol + 1;
    return 'comment';
  }

  private lexMetadata(isHelp: boolean, pos: number): EntryKind {
    const s = this.input;
    const what = isHelp ? 'HELP' : 'TYPE';
    const c = s.charCodeAt(pos);
    if (c === C_QUOTE) {
      const close = this.scanQuoted(pos, `metric name after ${what}`);
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
    // Prometheus' lexer drops exactly one character between name and text, and a rest of only
    // blanks is empty text.
    const eol = this.endOfLine(pos);
    const restStart = this.skipBlanks(pos) >= eol ? eol : Math.min(pos + 1, eol);
    this.textStart = restStart;
    this.textEnd = eol;
    this.pos = eol + 1;
    if (isHelp) return 'help';
    const word = s.slice(restStart, eol);
    const type = TEXT_TYPES[word];
    if (!Object.hasOwn(TEXT_TYPES, word)) {
      throw this.errorAt(`invalid metric type ${JSON.stringify(word)}`, restStart);
    }
    this.metricType = type;
    return 'type';
  }

  private scanWhile(pos: number, cls: number): number {
    const s = this.input;
    while (hasClass(s.charCodeAt(pos), cls)) pos++;
    return pos;
  }

  /** Returns the offset of the closing quote of the string opening at `open`; may span lines (as in Prometheus). */
  private scanQuoted(open: number, what: string): number {
    const s = this.input;
    // A plain character loop: indexOf for a backslash would scan to the end of the body when there is none.
    for (let i = open + 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === C_BACKSLASH) i++;
      else if (c === C_QUOTE) return i;
    }
    throw this.errorAt(`expected ${what}, got an unterminated quoted string`, open);
  }

  private lexSeries(pos: number): void {
    const s = this.input;
    this.seriesStart = pos;
    this.hintMatched = false;
    const key = this.hint?.expectedKey();
    if (key !== undefined && s.startsWith(key, pos) && this.endsHintedSeries(pos + key.length)) {
      this.hintMatched = true;
      this.seriesEnd = pos + key.length;
      pos = this.skipBlanks(this.seriesEnd);
    } else pos = this.lexHead(pos);
    this.lexValue(pos);
  }

  /** Whether a series text ending at `end` is followed by what a full lex would also end it at. */
  private endsHintedSeries(end: number): boolean {
    const c = this.input.charCodeAt(end);
    if (c !== C_SP && c !== C_TAB) return false;
    return this.input.charCodeAt(this.skipBlanks(end)) !== C_LBRACE;
  }

  /** Lexes the metric name and labels from `pos`; returns the offset after the blanks that follow. */
  private lexHead(pos: number): number {
    const s = this.input;
    if (s.charCodeAt(pos) !== C_LBRACE) {
      this.nameStart = pos;
      pos = this.scanWhile(pos + 1, METRIC_CHAR);
      this.nameEnd = pos;
      this.seriesEnd = pos;
      pos = this.skipBlanks(pos);
      if (s.charCodeAt(pos) === C_LBRACE) {
        pos = this.lexLabels(pos);
        this.seriesEnd = pos;
        pos = this.skipBlanks(pos);
      }
    } else {
      pos = this.lexLabels(pos);
      this.seriesEnd = pos;
      pos = this.skipBlanks(pos);
    }
    if (this.nameStart === -1) {
      throw this.errorAt(
        `metric name not set in ${JSON.stringify(s.slice(this.seriesStart, this.seriesEnd))}`,
        this.seriesStart,
      );
    }
    return pos;
  }

  /** Lexes the value and the optional timestamp from `pos` to the end of the line. */
  private lexValue(pos: number): void {
    const s = this.input;
    // The value: everything up to a blank, newline or '{'.
    const valueStart = pos;
    for (;;) {
      const c = s.charCodeAt(pos);
      if (c === C_SP || c === C_TAB || c === C_NL || c === C_LBRACE || c === C_NUL || pos >= s.length) break;
      pos++;
    }
    if (pos === valueStart) throw this.errorAt(`expected value after metric, got ${this.found(pos)}`, pos);
    const v = parseGoFloat(s, valueStart, pos);
    if (v === undefined) throw this.errorAt(`invalid value ${JSON.stringify(s.slice(valueStart, pos))}`, valueStart);
    this.value = v;
    pos = this.skipBlanks(pos);
    let c = s.charCodeAt(pos);
    if (c >= 48 && c <= 57) {
      const tsStart = pos;
      while (c >= 48 && c <= 57) c = s.charCodeAt(++pos);
      const ts = parseDigitsInt64(s, tsStart, pos);
      if (ts === undefined) throw this.errorAt(`timestamp ${s.slice(tsStart, pos)} out of int64 range`, tsStart);
      this.timestamp = ts;
      pos = this.skipBlanks(pos);
      if (pos < s.length && s.charCodeAt(pos) !== C_NL) {
        throw this.errorAt(`expected end of line after timestamp, got ${this.found(pos)}`, pos);
      }
    } else {
      this.timestamp = undefined;
      if (pos < s.length && c !== C_NL)
        throw this.errorAt(`expected timestamp or end of line, got ${this.found(pos)}`, pos);
    }
    this.pos = pos + 1;
  }

  /** Lexes `{...}` from the brace at `pos`, recording offsets; returns the offset after `}`. */
  private lexLabels(pos: number): number {
    const s = this.input;
    pos++;
    for (;;) {
      pos = this.skipBlanks(pos);
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
        const close = this.scanQuoted(pos, 'label name');
        a = pos + 1;
        b = close;
        pos = close + 1;
        quoted = true;
      } else {
        throw this.errorAt(`expected label name, got ${this.found(pos)}`, pos);
      }
      pos = this.skipBlanks(pos);
      c = s.charCodeAt(pos);
      if (quoted && (c === C_COMMA || c === C_RBRACE)) {
        // A lone quoted string is the metric name (Prometheus 3 UTF-8 names).
        if (this.nameStart !== -1) throw this.errorAt('metric name already set', a - 1);
        this.nameStart = a;
        this.nameEnd = b;
        pos++;
        if (c === C_RBRACE) return pos;
        continue;
      }
      if (c !== C_EQ) throw this.errorAt(`expected '=' after label name, got ${this.found(pos)}`, pos);
      pos = this.skipBlanks(pos + 1);
      if (s.charCodeAt(pos) !== C_QUOTE) throw this.errorAt(`expected quoted label value, got ${this.found(pos)}`, pos);
      const close = this.scanQuoted(pos, 'label value');
      this.pushLabel(a, b, pos + 1, close);
      pos = this.skipBlanks(close + 1);
      // Commas are optional between labels in Prometheus' text parser (unlike OpenMetrics).
      if (s.charCodeAt(pos) === C_COMMA) pos++;
    }
  }
}
