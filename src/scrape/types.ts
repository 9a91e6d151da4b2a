/** What the exposition parsers hand out, shared by the text 0.0.4, OpenMetrics 1.0 and protobuf parsers. */

/** One entry of an exposition, as Prometheus' `textparse.Entry`. */
export type EntryKind = 'series' | 'histogram' | 'help' | 'type' | 'unit' | 'comment';

/**
 * Metric types as Prometheus' `model.MetricType` spells them (the queue's own type). The text
 * format's `untyped` is `unknown`; `gaugehistogram`, `info` and `stateset` exist only in OpenMetrics.
 */
import type { MetricType, NativeHistogram } from '../serialization/types.js';

export type { MetricType };

/** One label; a series' labels include `__name__` and are sorted by name in UTF-8 byte order. */
export interface ParsedLabel {
  readonly name: string;
  readonly value: string;
}

/** An OpenMetrics exemplar (`# {trace_id="..."} 1.5 1520879607.789`). */
export interface ParsedExemplar {
  /** Sorted by name; no `__name__`. */
  readonly labels: ParsedLabel[];
  readonly value: number;
  /** Milliseconds (seconds * 1000 truncated toward zero, as Prometheus converts); absent when not given. */
  readonly timestamp: number | undefined;
}

/**
 * A pull parser over one exposition body, in the spirit of Prometheus' `textparse.Parser`.
 * `next()` moves to the next entry; the accessors describe the current one and are only meaningful
 * for the entry kind they name. Nothing is allocated per series unless asked for: the raw series
 * text (everything before the value, the scrape cache's key) is `input.slice(seriesStart, seriesEnd)`
 * or `series()`, and label parsing happens only in `labels()`.
 *
 * The protobuf parser's body is binary: its `input` is '' and `seriesStart`/`seriesEnd` are the
 * byte offsets of the current `Metric` message in the body; `series()` is a key built from the
 * family name, the name suffix (`_count`, `_sum`, `_bucket` and its bound, a quantile) and the
 * raw label bytes, so it too costs no label decoding. Keys of different formats never collide.
 */
export interface ExpositionParser {
  /** The whole body as given. */
  readonly input: string;
  /** Advances; undefined at the end of the body. Throws {@link ExpositionParseError} on bad input. */
  next(): EntryKind | undefined;
  /** Offsets into {@link input} of the current series' raw text (metric name and `{...}`). */
  readonly seriesStart: number;
  readonly seriesEnd: number;
  /** `input.slice(seriesStart, seriesEnd)`: a cache key, cheap in V8 (a sliced string, not a copy). */
  series(): string;
  /** The current sample's value; NaN for every NaN spelling (never the stale marker's bits). */
  readonly value: number;
  /** Milliseconds, or undefined when the line carries no timestamp. */
  readonly timestamp: number | undefined;
  /**
   * Parses the current series' labels (name unescaped, `__name__` first added, then sorted).
   * Throws {@link ExpositionParseError} on a duplicate label name.
   */
  labels(): ParsedLabel[];
  /**
   * The current `histogram` entry's native histogram (the protobuf format only: the text formats
   * never return a `histogram` entry). Its series is described by `series()` and `labels()` like
   * a `series` entry's; `value` is NaN.
   */
  histogram(): NativeHistogram;
  /** The current series' exemplar (OpenMetrics only), or undefined. */
  exemplar(): ParsedExemplar | undefined;
  /** The metric family named by the current help, type or unit entry. */
  metricFamily(): string;
  /** The current help entry's text, unescaped. */
  help(): string;
  /** The type of the current type entry; for a series, the type of the last TYPE line seen. */
  readonly metricType: MetricType;
  /** The current unit entry's unit ('' for none). */
  unit(): string;
  /** The current comment entry's whole line, `#` included. */
  comment(): string;
  /**
   * The current series' start (created) timestamp in milliseconds, 0 when it has none, as
   * Prometheus' `StartTimestamp` (OpenMetrics: from the `_created` line; protobuf: the
   * `created_timestamp` of counters, summaries and histograms). Absent on the text parser.
   */
  startTimestamp?(): number;
  /**
   * Every exemplar of the current entry, in order: a native histogram entry may have several
   * (those Prometheus ingests: with a timestamp); other entries have at most `exemplar()`.
   * Absent on the text parsers, which have at most one per series.
   */
  exemplars?(): ParsedExemplar[];
  /**
   * The text parser only: asks `hint` for the series text expected on each series line, and skips
   * lexing the labels of a line that begins with it (`hintMatched` then true until the next entry).
   */
  useSeriesHint?(hint: SeriesHint): void;
  readonly hintMatched?: boolean;
}

/** What a parser may expect on its next series line (the scrape cache's guess, by position). */
export interface SeriesHint {
  /** The raw series text expected on the next series line, or undefined for no guess. */
  expectedKey(): string | undefined;
}

/**
 * A body that is not a valid exposition; names the 1-based line and column (in characters) of a
 * text body, or the byte offset of a binary (protobuf) one, whose `line` and `column` are 0.
 */
export class ExpositionParseError extends Error {
  constructor(
    /** What was wrong, without the position. */
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    format: string,
    /** Byte offset into a binary body; undefined for the text formats. */
    readonly byteOffset?: number,
  ) {
    super(
      byteOffset === undefined
        ? `${format} line ${line}, column ${column}: ${reason}`
        : `${format} at byte ${byteOffset}: ${reason}`,
    );
    this.name = 'ExpositionParseError';
  }
}
