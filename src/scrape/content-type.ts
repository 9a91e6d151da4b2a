/**
 * Which parser a scrape response needs, from its Content-Type, as Prometheus' `textparse.New`
 * decides: `application/openmetrics-text` is OpenMetrics (1.0.0, also when the version is missing;
 * other versions are refused), `text/plain` with version 0.0.4 or none is the text format, and an
 * empty or unknown type is the text format only when the caller has a fallback (Prometheus'
 * `fallback_scrape_protocol`); `application/vnd.google.protobuf` (Prometheus checks no parameter)
 * is the protobuf format (delimited `io.prometheus.client.MetricFamily` messages, native histograms).
 * Also the Accept header a scrape sends for its `scrape_protocols` ({@link acceptHeader}).
 */
import type { ScrapeProtocol } from '../config/types.js';

/** The exposition formats. */
export type ExpositionFormat = 'text-0.0.4' | 'openmetrics-1.0.0' | 'protobuf';

/**
 * The outcome of {@link negotiateFormat}. `warning` is set when a fallback was used (Prometheus logs
 * it and scrapes anyway).
 */
export type FormatChoice =
  | { readonly ok: true; readonly format: ExpositionFormat; readonly warning?: string }
  | { readonly ok: false; readonly reason: string };

interface MediaType {
  type: string;
  params: Map<string, string>;
}

function parseMediaType(header: string): MediaType | undefined {
  const parts = header.split(';');
  const type = parts[0].trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) return undefined;
  const params = new Map<string, string>();
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i].trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) return undefined;
    params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  return { type, params };
}

/**
 * Chooses the parser for a response's Content-Type header (undefined or '' when absent), as
 * Prometheus' `textparse.New`: the media type alone decides (`text/plain` is the text format and
 * `application/openmetrics-text` OpenMetrics whatever their `version` parameter, since Prometheus
 * does not look at it). `fallback` (Prometheus 3's `fallback_scrape_protocol`) is used for a
 * missing, unparseable or unknown type, with a warning; without it those are refused with the reason.
 */
export function negotiateFormat(contentType: string | undefined, fallback?: ExpositionFormat): FormatChoice {
  const orFallback = (problem: string): FormatChoice =>
    fallback
      ? { ok: true, format: fallback, warning: `${problem}, using fallback_scrape_protocol ${fallback}` }
      : { ok: false, reason: `${problem} and no fallback_scrape_protocol` };
  if (contentType === undefined || contentType.trim() === '')
    return orFallback('non-compliant scrape target sending blank Content-Type');
  const mt = parseMediaType(contentType);
  if (mt === undefined) return orFallback(`cannot parse Content-Type ${JSON.stringify(contentType)}`);
  switch (mt.type) {
    case 'application/openmetrics-text':
      return { ok: true, format: 'openmetrics-1.0.0' };
    case 'text/plain':
      return { ok: true, format: 'text-0.0.4' };
    case 'application/vnd.google.protobuf':
      return { ok: true, format: 'protobuf' };
    default:
      return orFallback(`received unsupported Content-Type ${JSON.stringify(contentType)}`);
  }
}

/**
 * The Accept header Prometheus sends when a scrape config prefers OpenMetrics then the text format
 * (its default `scrape_protocols` minus protobuf).
 */
export const SCRAPE_ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

/** Media types per `scrape_protocols` entry, as Prometheus' `config.ScrapeProtocolsHeaders`. */
export const SCRAPE_PROTOCOL_HEADERS: Readonly<Record<ScrapeProtocol, string>> = {
  PrometheusProto: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  'PrometheusText0.0.4': 'text/plain;version=0.0.4',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
};

/**
 * The Accept header of a scrape, as Prometheus' `acceptHeader`: the protocols in preference order
 * with q-values from 0.6 down (one step per protocol; 0.6 because Prometheus knows five), then the
 * any-type wildcard one step lower. `escaping` (Prometheus 3's `escaping=` parameter, e.g. `allow-utf-8` or
 * `underscores`) is added to the 1.0.0 text and OpenMetrics entries only, as Prometheus does;
 * without it there is no escaping parameter, as in Prometheus 2 (whose weights started at 0.5).
 */
export function acceptHeader(protocols: readonly ScrapeProtocol[], escaping?: string): string {
  let weight = Object.keys(SCRAPE_PROTOCOL_HEADERS).length + 1;
  const parts: string[] = [];
  for (const p of protocols) {
    let v = SCRAPE_PROTOCOL_HEADERS[p];
    if (escaping !== undefined && (p === 'PrometheusText1.0.0' || p === 'OpenMetricsText1.0.0'))
      v += `;escaping=${escaping}`;
    parts.push(`${v};q=0.${weight}`);
    weight--;
  }
  parts.push(`*/*;q=0.${weight}`);
  return parts.join(',');
}

/** The parser a `scrape_protocols` entry (e.g. `fallback_scrape_protocol`) stands for. */
export function formatOfProtocol(protocol: ScrapeProtocol): ExpositionFormat {
  if (protocol === 'PrometheusProto') return 'protobuf';
  return protocol.startsWith('OpenMetrics') ? 'openmetrics-1.0.0' : 'text-0.0.4';
}
