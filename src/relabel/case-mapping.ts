/**
 * Go's `strings.ToLower` / `strings.ToUpper`: each code point on its own through Unicode's simple
 * case mapping (`unicode.ToLower` / `unicode.ToUpper`), never changing the number of code points.
 *
 * JavaScript's toLowerCase/toUpperCase apply the full mappings of SpecialCasing.txt, which differ
 * in two ways: some code points map to several ('ß' -> 'SS', 'İ' -> 'i̇'), and final sigma
 * depends on context ('ΣΑΣ' -> 'σας'). Mapping one code point at a time removes the context;
 * where the full mapping has several code points, the simple mapping is taken from
 * {@link SIMPLE_WHEN_FULL_DIFFERS} (UnicodeData.txt), and is the code point itself otherwise.
 */

/**
 * Simple mappings of the code points whose full mapping is several code points, when the simple
 * one is not the code point itself (UnicodeData.txt fields 12 and 13).
 */
const SIMPLE_WHEN_FULL_DIFFERS: {
  readonly lower: ReadonlyMap<number, number>;
  readonly upper: ReadonlyMap<number, number>;
} = {
  // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE: full 'i̇', simple 'i'.
  lower: new Map([[0x130, 0x69]]),
  upper: new Map([
    // Greek small letters with ypogegrammeni: full = capital + IOTA, simple = the titlecase
    // letter 8 code points on (ᾀ -> ᾈ), and ᾳ -> ᾼ, ῃ -> ῌ, ῳ -> ῼ.
    ...[0x1f80, 0x1f90, 0x1fa0].flatMap((base) =>
      Array.from({ length: 8 }, (_, k): [number, number] => [base + k, base + k + 8]),
    ),
    [0x1fb3, 0x1fbc],
    [0x1fc3, 0x1fcc],
    [0x1ff3, 0x1ffc],
  ]),
};

/** Nothing above U+007F (where both mappings are plain ASCII case changes). */
const NON_ASCII = /[^\p{ASCII}]/u;

function mapCodePoints(s: string, full: (c: string) => string, simple: ReadonlyMap<number, number>): string {
  let out = '';
  for (const c of s) {
    const m = full(c);
    if (m === c) out += c;
    else if (m.length === 1 || (m.length === 2 && m.codePointAt(0)! > 0xffff)) out += m;
    else {
      const cp = c.codePointAt(0)!;
      const to = simple.get(cp);
      out += to === undefined ? c : String.fromCodePoint(to);
    }
  }
  return out;
}

/** Go's `strings.ToLower`. */
export function goToLower(s: string): string {
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return mapCodePoints(s, (c) => c.toLowerCase(), SIMPLE_WHEN_FULL_DIFFERS.lower);
}

/** Go's `strings.ToUpper`. */
export function goToUpper(s: string): string {
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  return mapCodePoints(s, (c) => c.toUpperCase(), SIMPLE_WHEN_FULL_DIFFERS.upper);
}
