/** Exposition-format parsing for scraping: text 0.0.4 and OpenMetrics 1.0 (protobuf not yet). */
import { isUtf8 } from 'node:buffer';
import { type ExpositionFormat, type FormatChoice, negotiateFormat, SCRAPE_ACCEPT_HEADER } from './content-type.js';
import { OpenMetricsParser, type OpenMetricsParserOptions } from './openmetrics-parser.js';
import { PromTextParser } from './text-parser.js';
import { ExpositionParseError, type ExpositionParser } from './types.js';

export { formatGoFloatG, formatOpenMetricsFloat, parseGoFloat } from './go-float.js';
export type { EntryKind, MetricType, ParsedExemplar, ParsedLabel } from './types.js';
export {
  type ExpositionFormat,
  ExpositionParseError,
  type ExpositionParser,
  type FormatChoice,
  negotiateFormat,
  OpenMetricsParser,
  type OpenMetricsParserOptions,
  PromTextParser,
  SCRAPE_ACCEPT_HEADER,
};

/**
 * A parser for `body` in `format`. A Buffer must be valid UTF-8 as a whole: Prometheus refuses
 * invalid UTF-8 in names, label values and help text and lets it pass only in comments, so refusing
 * the body outright differs only for an invalid comment; the error names the line and column.
 * `options` apply to OpenMetrics only.
 */
export function createParser(
  format: 'text-0.0.4' | 'openmetrics-1.0.0',
  body: string | Buffer,
  options: OpenMetricsParserOptions = {},
): ExpositionParser {
  const formatName = format === 'text-0.0.4' ? 'text format' : 'OpenMetrics';
  let input: string;
  if (typeof body === 'string') input = body;
  else {
    if (!isUtf8(body)) throw invalidUtf8(body, formatName);
    input = body.toString('utf8');
  }
  return format === 'text-0.0.4' ? new PromTextParser(input) : new OpenMetricsParser(input, options);
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || !isUtf8(b.subarray(i, i + n + 1))) return i;
    i += n + 1;
  }
  return b.length;
}

function invalidUtf8(body: Buffer, formatName: string): ExpositionParseError {
  const bad = firstInvalidUtf8(body);
  const lineStart = body.lastIndexOf(10, bad - 1) + 1;
  let line = 1;
  for (let i = body.indexOf(10); i !== -1 && i < lineStart; i = body.indexOf(10, i + 1)) line++;
  const column = body.toString('utf8', lineStart, bad).length + 1;
  return new ExpositionParseError('invalid UTF-8', line, column, formatName);
}
