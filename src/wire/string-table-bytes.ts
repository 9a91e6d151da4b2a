/**
 * A record's string table encoded to UTF-8 once, shared by every encoder (one per SendLoop) for
 * as long as the record lives: label strings are then copied as bytes instead of being
 * re-encoded for every request that carries the series.
 */
export interface StringTableBytes {
  bytes: Buffer;
  /** String `i` is `bytes[offsets[i] .. offsets[i+1])`. */
  offsets: Uint32Array;
}

const cache = new WeakMap<readonly string[], StringTableBytes>();

/**
 * The UTF-8 bytes of `strings`, encoded on first use. Existing entries must not change
 * afterwards; a table that grew is re-encoded.
 */
export function stringTableBytes(strings: readonly string[]): StringTableBytes {
  let t = cache.get(strings);
  if (t === undefined || t.offsets.length !== strings.length + 1) {
    t = encodeStringTable(strings);
    cache.set(strings, t);
  }
  return t;
}

function encodeStringTable(strings: readonly string[]): StringTableBytes {
  const n = strings.length;
  const offsets = new Uint32Array(n + 1);
  let total = 0;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    let len = s.length;
    for (let j = 0; j < len; j++) {
      if (s.charCodeAt(j) >= 0x80) {
        len = Buffer.byteLength(s, 'utf8');
        ascii = false;
        break;
      }
    }
    offsets[i] = total;
    total += len;
  }
  offsets[n] = total;
  const bytes = Buffer.allocUnsafe(total);
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    const start = offsets[i];
    const len = offsets[i + 1] - start;
    if (ascii || len === s.length) {
      for (let j = 0; j < len; j++) bytes[start + j] = s.charCodeAt(j);
    } else {
      bytes.write(s, start, len, 'utf8');
    }
  }
  return { bytes, offsets };
}
