import { PromspoolError } from '../errors.js';
import type { ProtobufMessage } from './types.js';

/** Remote-write protocol version header values by message. */
const PROTOCOL_VERSION: Record<ProtobufMessage, string> = {
  'prometheus.WriteRequest': '0.1.0',
  'io.prometheus.write.v2.Request': '2.0.0',
};

const CONTENT_TYPE: Record<ProtobufMessage, string> = {
  'prometheus.WriteRequest': 'application/x-protobuf',
  'io.prometheus.write.v2.Request': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
};

/**
 * Headers promspool owns (lower case). The protocol ones must be exact for the receiver to parse
 * the body; auth has its own config keys (as in Prometheus); the rest are hop-by-hop or set by
 * the HTTP client.
 */
const RESERVED = new Map<string, string>([
  ['content-type', 'it is set from protobuf_message'],
  ['content-encoding', 'the body is always snappy'],
  ['x-prometheus-remote-write-version', 'it is set from protobuf_message'],
  ['user-agent', 'it is set by promspool'],
  ['authorization', 'use basic_auth or authorization instead'],
  ['host', 'it comes from the url'],
  ['content-length', 'it is set by the HTTP client'],
  ['transfer-encoding', 'it is set by the HTTP client'],
  ['connection', 'it is a hop-by-hop header'],
  ['keep-alive', 'it is a hop-by-hop header'],
  ['proxy-authenticate', 'it is a hop-by-hop header'],
  ['proxy-authorization', 'use proxy_url credentials instead'],
  ['www-authenticate', 'it is a response header'],
  ['te', 'it is a hop-by-hop header'],
  ['upgrade', 'it is a hop-by-hop header'],
  ['accept-encoding', 'it is set by the HTTP client'],
  ['x-prometheus-remote-read-version', 'it belongs to the remote-read protocol'],
  // Reserved by Prometheus for SigV4 signing.
  ['x-amz-date', 'it is reserved for request signing'],
  ['x-amz-security-token', 'it is reserved for request signing'],
  ['x-amz-content-sha256', 'it is reserved for request signing'],
]);

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Config-time check of an endpoint's `headers`: throws PromspoolError 'ERR_RESERVED_HEADER'
 * naming the first reserved header (case-insensitive), or 'ERR_INVALID_HEADER' for a name that
 * is not an HTTP token or a value with CR, LF or NUL.
 */
export function validateUserHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    const why = RESERVED.get(name.toLowerCase());
    if (why !== undefined) {
      throw new PromspoolError('ERR_RESERVED_HEADER', `header "${name}" is reserved and cannot be set: ${why}`);
    }
    if (!TOKEN.test(name)) throw new PromspoolError('ERR_INVALID_HEADER', `header name "${name}" is not a valid token`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw new PromspoolError('ERR_INVALID_HEADER', `header "${name}" has a value with CR, LF or NUL`);
    }
  }
}

/**
 * The request headers of one remote-write POST: the user's headers, then the protocol ones,
 * which always win. Reserved user headers are dropped here too, defensively, in case a config
 * skipped {@link validateUserHeaders}. `version` is promspool's version for the User-Agent.
 */
export function remoteWriteHeaders(
  message: ProtobufMessage,
  userHeaders: Record<string, string>,
  version: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(userHeaders)) {
    if (!RESERVED.has(name.toLowerCase())) out[name] = value;
  }
  out['Content-Type'] = CONTENT_TYPE[message];
  out['Content-Encoding'] = 'snappy';
  out['X-Prometheus-Remote-Write-Version'] = PROTOCOL_VERSION[message];
  out['User-Agent'] = `promspool/${version}`;
  return out;
}

/** True if `name` is a header promspool sets itself (case-insensitive). */
export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}
