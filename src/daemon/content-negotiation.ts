/**
 * Which remote-write protocol a request speaks, from its Content-Type, as the remote-write 2.0
 * spec defines it: `application/x-protobuf` alone (or without a Content-Type) is 1.0, the `proto`
 * parameter names the message otherwise.
 */
export type RemoteWriteVersion = '1.0' | '2.0';

export const RW1_PROTO = 'prometheus.WriteRequest';
export const RW2_PROTO = 'io.prometheus.write.v2.Request';

/** The protocol version, or `undefined` for a media type or proto this receiver does not accept (415). */
export function remoteWriteVersion(contentType: string | undefined): RemoteWriteVersion | undefined {
  if (contentType === undefined || contentType.trim() === '') return '1.0';
  const parts = contentType.split(';');
  const media = parts[0].trim().toLowerCase();
  if (media !== 'application/x-protobuf') return undefined;
  let proto: string | undefined;
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq < 0) continue;
    const key = parts[i].slice(0, eq).trim().toLowerCase();
    if (key !== 'proto') continue;
    proto = parts[i]
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  if (proto === undefined || proto === RW1_PROTO) return '1.0';
  if (proto === RW2_PROTO) return '2.0';
  return undefined;
}

/** True when Content-Encoding is exactly snappy (the only encoding remote-write defines). */
export function isSnappyEncoding(contentEncoding: string | undefined): boolean {
  return contentEncoding !== undefined && contentEncoding.trim().toLowerCase() === 'snappy';
}
