/**
 * Translates a checked safe subset of RE2 syntax into a JavaScript RegExp source (flags `su`)
 * that matches the same strings with the same capture groups. Anything outside the subset gives
 * undefined and the pattern stays on RE2 (re2-wasm). The caller compiles with RE2 first: this
 * parser assumes a valid pattern and only has to recognise what it can translate exactly.
 *
 * The subset: literals, `.`, `^`, `$`, `\A`, `\z`, `\b`, `\B`, `\d \D \w \W \s \S`, `\x..`,
 * `\a \f \t \n \r \v`, escaped punctuation, character classes of single characters, ranges and
 * `\d \D \w \W \s`, alternation, capturing and `(?:` groups, and quantifiers on single-character
 * atoms. A group may only carry `?` and only when it cannot match the empty string: JavaScript
 * rejects an empty iteration and resets captures on each iteration where RE2 does neither
 * (`(a*)?` on '' gives group 1 = '' in RE2, undefined in JS), and a repeated group is where
 * backtracking can blow up. Left out (stay on RE2): flags `(?i)` etc., `\p` classes, POSIX
 * classes, `\Q..\E`, octal escapes, a literal `{`, `\S` inside a class.
 *
 * Differences handled: RE2's `\s` is `[\t\n\f\r ]` (JS's is Unicode-wide); every literal is
 * written as `\u{..}` unless alphanumeric, so JS's `u`-mode escaping rules never apply.
 */

/** A translation and what bounds its backtracking. */
export interface JsTranslation {
  /** JavaScript source, to be used as `^(?:source)$` with flags `su`. */
  readonly source: string;
  /** Capturing groups, in order (must equal RE2's count). */
  readonly groups: number;
  /** Quantifiers whose choices grow with the input (`*`, `+`, `{n,}`). */
  readonly unbounded: number;
  /** Product of the choices that do not grow with the input (`?`, `{n,m}`, alternation). */
  readonly fixedChoices: number;
}

class Unsupported extends Error {}

/** Set only while parsing: thrown to abandon the translation. */
function unsupported(): never {
  throw new Unsupported();
}

interface Piece {
  readonly js: string;
  /** Can match the empty string. */
  readonly empty: boolean;
}

const RE2_SPACE = '\\t\\n\\f\\r ';

function hexEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** A literal code point, written so that JavaScript's `u` mode reads it as itself anywhere. */
function literal(cp: number): string {
  const alnum = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  if (alnum || cp > 0x7f) return String.fromCodePoint(cp);
  return hexEscape(cp);
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

class Translator {
  private i = 0;
  groups = 0;
  unbounded = 0;
  fixedChoices = 1;

  constructor(private readonly s: string) {}

  run(): string {
    const p = this.alternation();
    if (this.i < this.s.length) unsupported();
    return p.js;
  }

  private peek(): string | undefined {
    return this.s[this.i];
  }

  private alternation(): Piece {
    const branches: Piece[] = [this.concat()];
    while (this.peek() === '|') {
      this.i++;
      branches.push(this.concat());
    }
    this.choices(branches.length);
    return { js: branches.map((b) => b.js).join('|'), empty: branches.some((b) => b.empty) };
  }

  private concat(): Piece {
    let js = '';
    let empty = true;
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      const p = this.repeat();
      js += p.js;
      empty &&= p.empty;
    }
    return { js, empty };
  }

  private repeat(): Piece {
    const atom = this.atom();
    const q = this.quantifier();
    if (q === undefined) return atom.piece;
    if (atom.kind === 'assertion') unsupported();
    if (atom.kind === 'group') {
      // Only `?` on a group that cannot match empty: see the module comment.
      if (q.min !== 0 || q.max !== 1 || atom.piece.empty) unsupported();
    }
    if (q.max === undefined) this.unbounded++;
    else this.choices(q.max - q.min + 1);
    return { js: atom.piece.js + q.js, empty: atom.piece.empty || q.min === 0 };
  }

  private choices(k: number): void {
    this.fixedChoices *= k;
  }

  /** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each optionally lazy (`?`). */
  private quantifier(): { min: number; max: number | undefined; js: string } | undefined {
    const c = this.peek();
    let min: number;
    let max: number | undefined;
    let js: string;
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : undefined;
      js = c;
    } else if (c === '{') {
      const m = /^\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}/.exec(this.s.slice(this.i));
      // Not a repeat: a literal `{`, left out of the subset.
      if (m === null) unsupported();
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === undefined ? undefined : Number(m[3]);
      js = m[0];
    } else {
      return undefined;
    }
    if (this.peek() === '?') {
      this.i++;
      js += '?';
    }
    const after = this.peek();
    if (after === '*' || after === '+' || after === '?' || after === '{') unsupported();
    return { min, max, js };
  }

  private atom(): { kind: 'char' | 'group' | 'assertion'; piece: Piece } {
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case '(': {
        this.i++;
        let open = '(';
        if (s[this.i] === '?') {
          if (s[this.i + 1] !== ':') unsupported();
          this.i += 2;
          open = '(?:';
        } else {
          this.groups++;
        }
        const inner = this.alternation();
        if (s[this.i] !== ')') unsupported();
        this.i++;
        return { kind: 'group', piece: { js: `${open}${inner.js})`, empty: inner.empty } };
      }
      case '[':
        return { kind: 'char', piece: { js: this.charClass(), empty: false } };
      case '.':
        this.i++;
        return { kind: 'char', piece: { js: '.', empty: false } };
      case '^':
      case '$':
        this.i++;
        return { kind: 'assertion', piece: { js: c, empty: true } };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
      case '{':
      case ')':
      case '|':
      case undefined:
        return unsupported();
      default: {
        const cp = s.codePointAt(this.i)!;
        this.i += cp > 0xffff ? 2 : 1;
        return { kind: 'char', piece: { js: literal(cp), empty: false } };
      }
    }
  }

  private escape(): { kind: 'char' | 'assertion'; piece: Piece } {
    const e = this.s[this.i + 1];
    switch (e) {
      case 'A':
        this.i += 2;
        return { kind: 'assertion', piece: { js: '^', empty: true } };
      case 'z':
        this.i += 2;
        return { kind: 'assertion', piece: { js: '$', empty: true } };
      case 'b':
      case 'B':
        this.i += 2;
        return { kind: 'assertion', piece: { js: `\\${e}`, empty: true } };
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        this.i += 2;
        return { kind: 'char', piece: { js: `\\${e}`, empty: false } };
      case 's':
        this.i += 2;
        return { kind: 'char', piece: { js: `[${RE2_SPACE}]`, empty: false } };
      case 'S':
        this.i += 2;
        return { kind: 'char', piece: { js: `[^${RE2_SPACE}]`, empty: false } };
      default:
        return { kind: 'char', piece: { js: literal(this.escapedChar()), empty: false } };
    }
  }

  /** A single-character escape at `\`: `\x41`, `\x{263a}`, `\n` and friends, escaped punctuation. */
  private escapedChar(): number {
    const s = this.s;
    const e = s[this.i + 1];
    if (e === undefined) unsupported();
    if (e === 'x') {
      const m = /^\\x(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(s.slice(this.i, this.i + 16));
      if (m === null) unsupported();
      this.i += m[0].length;
      return Number.parseInt(m[1] ?? m[2], 16);
    }
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      this.i += 2;
      return simple;
    }
    const cp = e.charCodeAt(0);
    // Go: any ASCII punctuation may be escaped to stand for itself.
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(e)) {
      this.i += 2;
      return cp;
    }
    return unsupported();
  }

  /** `[...]` at `[`: single characters, ranges and `\d \D \w \W \s`. */
  private charClass(): string {
    const s = this.s;
    this.i++;
    let js = '[';
    if (s[this.i] === '^') {
      js += '^';
      this.i++;
    }
    let first = true;
    while (true) {
      const c = s[this.i];
      if (c === undefined) unsupported();
      if (c === ']' && !first) break;
      first = false;
      if (c === '[' && s[this.i + 1] === ':') unsupported();
      if (c === '\\') {
        const e = s[this.i + 1];
        if (e === 'd' || e === 'D' || e === 'w' || e === 'W') {
          js += `\\${e}`;
          this.i += 2;
          continue;
        }
        if (e === 's') {
          js += RE2_SPACE;
          this.i += 2;
          continue;
        }
      }
      const lo = this.classChar();
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && s[this.i + 1] !== undefined) {
        this.i++;
        const hi = this.classChar();
        js += `${literal(lo)}-${literal(hi)}`;
      } else {
        js += literal(lo);
      }
    }
    this.i++;
    return `${js}]`;
  }

  private classChar(): number {
    const s = this.s;
    if (s[this.i] === '\\') return this.escapedChar();
    const cp = s.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

/**
 * The JavaScript equivalent of RE2 pattern `re2Source` (named groups already written as `(`,
 * see `scanRe2`), or undefined when it is outside the safe subset.
 */
export function translateToJs(re2Source: string): JsTranslation | undefined {
  const t = new Translator(re2Source);
  try {
    const source = t.run();
    return { source, groups: t.groups, unbounded: t.unbounded, fixedChoices: t.fixedChoices };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
