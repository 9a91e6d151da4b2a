/**
 * A light scan of an RE2 pattern that finds its capturing groups and their names, and rewrites
 * named groups `(?P<name>` / `(?<name>` as plain `(`.
 *
 * Why: the RE2 inside re2-wasm (2021) predates `(?<name>` (Go accepts it since 1.22, and
 * Prometheus' own tests use it), and Go allows a name twice (`(?P<x>a)|(?P<x>b)`). Names only
 * matter to `$name` expansion, which promspool does itself, so RE2 never needs to see them: it
 * judges everything else about the pattern.
 */

/** The scan's result. */
export interface Re2Scan {
  /** The pattern with every valid named group written as `(`. */
  readonly re2Source: string;
  /** Go's `SubexpNames()`: index 0 is the whole match; '' for an unnamed group. */
  readonly names: readonly string[];
  /** Set when Go refuses something RE2 accepts (`\C`). */
  readonly error?: string;
}

/** Go's `isValidCaptureName`: non-empty, ASCII letters, digits and `_`. */
export function isValidCaptureName(name: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(name);
}

/** Scans `source` (unanchored, as written in the config). */
export function scanRe2(source: string): Re2Scan {
  const names: string[] = [''];
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      if (next === 'Q') {
        // \Q...\E is literal text: nothing inside opens a group.
        const end = source.indexOf('\\E', i + 2);
        const stop = end < 0 ? n : end + 2;
        out += source.slice(i, stop);
        i = stop;
        continue;
      }
      if (next === 'C') return { re2Source: source, names, error: 'invalid escape sequence: `\\C`' };
      out += source.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '[') {
      const end = classEnd(source, i);
      out += source.slice(i, end);
      i = end;
      continue;
    }
    if (c === '(') {
      const named = source.startsWith('(?P<', i) ? 4 : source.startsWith('(?<', i) ? 3 : 0;
      if (named > 0) {
        const close = source.indexOf('>', i + named);
        const name = close < 0 ? '' : source.slice(i + named, close);
        if (isValidCaptureName(name)) {
          names.push(name);
          out += '(';
          i = close + 1;
          continue;
        }
        // Anything else (`(?<=`, `(?<!`, a bad name) is left for RE2 to refuse.
      } else if (source[i + 1] !== '?') {
        names.push('');
      }
    }
    out += c;
    i++;
  }
  return { re2Source: out, names };
}

/**
 * The index just past the character class opening at `start`, as Go's parser delimits it: a `]`
 * right after `[` or `[^` is literal, `\` escapes one character, `[:name:]` is one item. An
 * unterminated class runs to the end (RE2 then refuses the pattern).
 */
function classEnd(s: string, start: number): number {
  let i = start + 1;
  if (s[i] === '^') i++;
  let first = true;
  while (i < s.length) {
    const c = s[i];
    if (c === ']' && !first) return i + 1;
    first = false;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[' && s[i + 1] === ':') {
      const close = s.indexOf(':]', i + 2);
      if (close >= 0) {
        i = close + 2;
        continue;
      }
    }
    i++;
  }
  return s.length;
}
