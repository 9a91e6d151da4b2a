/**
 * Headers an endpoint's `headers:` may not set. Prometheus' `reservedHeaders` list (config.go),
 * which covers the ones promspool sets itself (Content-Type, Content-Encoding, User-Agent,
 * X-Prometheus-Remote-Write-Version) and hop-by-hop ones the HTTP client owns. Lower case.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

// RFC 9110 token.
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Why this header cannot be configured, or undefined if it can. `authKeys` names the settings to
 * use instead of an Authorization header, in the caller's spelling.
 */
export function headerProblem(
  name: string,
  value: string,
  authKeys = 'basic_auth or authorization',
): string | undefined {
  if (!HEADER_NAME_RE.test(name)) return 'invalid header name';
  const lower = name.toLowerCase();
  if (lower === 'authorization') return `set Authorization with ${authKeys}, not headers`;
  if (RESERVED_HEADERS.has(lower)) return `${name} is a reserved header and cannot be set`;
  if (/[\r\n\0]/.test(value)) return 'header values cannot contain CR, LF or NUL';
  return undefined;
}
