/**
 * Which parser a scrape response needs, from its Content-Type, as Prometheus' `textparse.New`
 * decides: `application/openmetrics-text` is OpenMetrics (1.0.0, also when the version is missing;
 * other versions are refused), `text/plain` with version 0.0.4 or none is the text format, and an
 * empty or unknown type is the text format only when the caller has a fallback (Prometheus'
 * `fallback_scrape_protocol`). The protobuf format (`application/vnd.google.protobuf;
 * proto=io.prometheus.client.MetricFamily`, native histograms) is recognised but not parsed yet.
 */

/** The exposition formats; `protobuf` is named so callers can report it, not parsed yet. */
export type ExpositionFormat = 'text-0.0.4' | 'openmetrics-1.0.0' | 'protobuf';

/**
 * The outcome of {@link negotiateFormat}. `warning` is set when a fallback was used (Prometheus logs
 * it and scrapes anyway).
 */
export type FormatChoice =
  | { readonly ok: true; readonly format: 'text-0.0.4' | 'openmetrics-1.0.0'; readonly warning?: string }
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
export function negotiateFormat(
  contentType: string | undefined,
  fallback?: 'text-0.0.4' | 'openmetrics-1.0.0',
): FormatChoice {
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
      return { ok: false, reason: 'the protobuf exposition format (native histograms) is not supported yet' };
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
