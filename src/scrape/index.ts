/** Exposition-format parsing for scraping: text 0.0.4, OpenMetrics 1.0 and the protobuf format. */
import { isAscii, isUtf8 } from 'node:buffer';
import {
  acceptHeader,
  type ExpositionFormat,
  type FormatChoice,
  formatOfProtocol,
  negotiateFormat,
  SCRAPE_ACCEPT_HEADER,
  SCRAPE_PROTOCOL_HEADERS,
} from './content-type.js';
import { OpenMetricsParser, type OpenMetricsParserOptions } from './openmetrics-parser.js';
import { ProtobufParser, type ProtobufParserOptions } from './protobuf-parser.js';
import { PromTextParser } from './text-parser.js';
import { ExpositionParseError, type ExpositionParser } from './types.js';

export { formatGoFloatG, formatOpenMetricsFloat, parseGoFloat } from './go-float.js';
export type { EntryKind, MetricType, ParsedExemplar, ParsedLabel } from './types.js';
export {
  acceptHeader,
  type ExpositionFormat,
  ExpositionParseError,
  type ExpositionParser,
  type FormatChoice,
  formatOfProtocol,
  negotiateFormat,
  OpenMetricsParser,
  type OpenMetricsParserOptions,
  PromTextParser,
  ProtobufParser,
  type ProtobufParserOptions,
  SCRAPE_ACCEPT_HEADER,
  SCRAPE_PROTOCOL_HEADERS,
};

/** Options of {@link createParser}: each applies to the format that names it. */
export type ParserOptions = OpenMetricsParserOptions & ProtobufParserOptions;

/**
 * A parser for `body` in `format`. A text Buffer must be valid UTF-8 as a whole: Prometheus refuses
 * invalid UTF-8 in names, label values and help text and lets it pass only in comments, so refusing
 * the body outright differs only for an invalid comment; the error names the line and column.
 * A protobuf body must be a Buffer (or Uint8Array); its strings are checked where they are read.
 * `options` apply to the format they belong to.
 */
export function createParser(format: 'protobuf', body: Uint8Array, options?: ProtobufParserOptions): ExpositionParser;
export function createParser(
  format: 'text-0.0.4' | 'openmetrics-1.0.0',
  body: string | Buffer,
  options?: OpenMetricsParserOptions,
): ExpositionParser;
export function createParser(
  format: ExpositionFormat,
  body: string | Buffer | Uint8Array,
  options?: ParserOptions,
): ExpositionParser;
export function createParser(
  format: ExpositionFormat,
  body: string | Buffer | Uint8Array,
  options: ParserOptions = {},
): ExpositionParser {
  if (format === 'protobuf') {
    if (typeof body === 'string') throw new TypeError('the protobuf exposition format needs a binary body (Buffer)');
    return new ProtobufParser(body, options);
  }
  const formatName = format === 'text-0.0.4' ? 'text format' : 'OpenMetrics';
  let input: string;
  if (typeof body === 'string') input = body;
  else {
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // Most bodies are ASCII: decoding them as such is ~5x faster than as UTF-8 (13 MB: 2 vs 10 ms).
    if (isAscii(b)) input = b.toString('ascii');
    else {
      if (!isUtf8(b)) throw invalidUtf8(b, formatName);
      input = b.toString('utf8');
    }
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
