/**
 * Label name order as Prometheus sorts labels: by UTF-8 bytes, which is code point order.
 * JavaScript's `<` compares UTF-16 code units, which puts U+E000..U+FFFF after supplementary
 * characters (surrogates D800-DFFF come before E000); this comparison does not.
 */

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in UTF-8 byte order. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Exactly one a surrogate and the other at or above U+E000: the surrogate's code point
    // (>= U+10000) is the larger one.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (xs ? y >= 0xe000 : x >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
