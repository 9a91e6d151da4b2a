/**
 * Numbers as Prometheus' text parsers read and print them, which is Go's `strconv`, not JavaScript's
 * `Number()`:
 * - Go accepts `NaN`/`nan` (any case, no sign), `Inf`/`+inf`/`-Infinity` (any case); JS knows only
 *   `NaN`, `Infinity`, `+Infinity`, `-Infinity` (case-sensitive) and returns NaN for the rest.
 * - JS accepts `0x10`, `0b1`, `0o7`, surrounding whitespace and the empty string (= 0); Go rejects them
 *   for float parsing (a hex mantissa needs a `p` exponent, and Prometheus refuses `p`, `P` and `_`
 *   outright to keep to pre-Go 1.13 float syntax), so `0x1p-3` and `1_000` are errors here.
 * - Go fails with ErrRange on a finite literal beyond float64 (`1e400`), which Prometheus treats as a
 *   parse error; JS gives Infinity. Underflow (`1e-400`) is 0 in both.
 * Both accept a leading `+`, `.5` and `5.`, and round correctly, so once the syntax is checked here
 * `Number()` does the conversion.
 */

const C_0 = 48;
const C_9 = 57;
const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;

/** 1e0..1e22, the powers of ten a double holds exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

function matchesIgnoreCase(s: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((s.charCodeAt(start + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses `s[start:end]` as Prometheus' `parseFloat` does (Go's `strconv.ParseFloat(s, 64)` minus
 * `p`, `P` and `_`). Returns undefined when Go would return an error (syntax or range).
 * Pure integers of up to 15 digits, the common case in expositions, are converted without slicing.
 */
export function parseGoFloat(s: string, start: number, end: number): number | undefined {
  if (start >= end) return undefined;
  let i = start;
  let c = s.charCodeAt(i);
  let negative = false;
  if (c === C_PLUS || c === C_MINUS) {
    negative = c === C_MINUS;
    i++;
    if (i === end) return undefined;
    c = s.charCodeAt(i);
  }
  if (!isDigit(c) && c !== C_DOT) {
    // Go's special(): inf/infinity with an optional sign, nan only without one.
    if (matchesIgnoreCase(s, i, end, 'inf') || matchesIgnoreCase(s, i, end, 'infinity')) {
      return negative ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (i === start && matchesIgnoreCase(s, i, end, 'nan')) return Number.NaN;
    return undefined;
  }
  // Fast path: only digits, few enough to be exact in a double.
  let j = i;
  let acc = 0;
  while (j < end && isDigit(s.charCodeAt(j))) {
    acc = acc * 10 + (s.charCodeAt(j) - C_0);
    j++;
  }
  if (j === end && j - i <= 15) return negative ? -acc : acc;
  // General decimal syntax: digits [. digits] | . digits, then [eE [+-] digits]. Up to 15
  // significant digits are gathered as an exact integer, so that with a net power of ten within
  // +-22 (exact in a double) one multiplication or division gives the correctly rounded result,
  // as Number() would, without slicing a string.
  let mantissaDigits = j - i;
  let fracDigits = 0;
  if (j < end && s.charCodeAt(j) === C_DOT) {
    j++;
    while (j < end && isDigit(s.charCodeAt(j))) {
      acc = acc * 10 + (s.charCodeAt(j) - C_0);
      j++;
      mantissaDigits++;
      fracDigits++;
    }
  }
  if (mantissaDigits === 0) return undefined;
  let exp10 = 0;
  if (j < end && (s.charCodeAt(j) | 0x20) === 101 /* e */) {
    j++;
    let expNegative = false;
    if (j < end && (s.charCodeAt(j) === C_PLUS || s.charCodeAt(j) === C_MINUS)) {
      expNegative = s.charCodeAt(j) === C_MINUS;
      j++;
    }
    const expStart = j;
    while (j < end && isDigit(s.charCodeAt(j))) {
      if (j - expStart < 6) exp10 = exp10 * 10 + (s.charCodeAt(j) - C_0);
      j++;
    }
    if (j === expStart) return undefined;
    if (expNegative) exp10 = -exp10;
  }
  if (j !== end) return undefined;
  const net = exp10 - fracDigits;
  if (mantissaDigits <= 15 && net >= -22 && net <= 22) {
    const v = net >= 0 ? acc * POW10[net] : acc / POW10[-net];
    return negative ? -v : v;
  }
  const v = Number(s.slice(start, end));
  // A finite literal that rounds to infinity is Go's ErrRange.
  if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) return undefined;
  return v;
}

/** Parses `s[start:end]` as Go's `strconv.ParseInt(s, 10, 64)` of an unsigned digit run; undefined beyond int64. */
export function parseDigitsInt64(s: string, start: number, end: number): number | undefined {
  if (end - start <= 15) {
    let acc = 0;
    for (let i = start; i < end; i++) acc = acc * 10 + (s.charCodeAt(i) - C_0);
    return acc;
  }
  const big = BigInt(s.slice(start, end));
  if (big > 9223372036854775807n) return undefined;
  return Number(big);
}

/**
 * Go's `strconv.FormatFloat(f, 'g', -1, 64)`: shortest round-trip digits, exponent form when the
 * decimal exponent is below -4 or at least 6 (Go's rule for the shortest 'g'), written `e+06` /
 * `e-05` (at least two exponent digits).
 */
export function formatGoFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // toExponential() without an argument gives the shortest round-trip digits, as Go does.
  const e = f.toExponential();
  const ePos = e.indexOf('e');
  const exp = Number(e.slice(ePos + 1));
  if (exp < -4 || exp >= 6) {
    const digits = String(Math.abs(exp));
    return `${e.slice(0, ePos)}e${exp < 0 ? '-' : '+'}${digits.length < 2 ? `0${digits}` : digits}`;
  }
  // 1e-4 <= |f| < 1e6: JS prints these in fixed notation with the same shortest digits.
  return String(f);
}

/**
 * Prometheus' `labels.FormatOpenMetricsFloat`: Go's 'g' format, with `.0` appended when the result
 * has neither a `.` nor an exponent (so `1` becomes `1.0`), `+Inf`, `-Inf` and `NaN` spelled out.
 */
export function formatOpenMetricsFloat(f: number): string {
  const g = formatGoFloatG(f);
  if (Number.isNaN(f) || !Number.isFinite(f)) return g;
  if (g.includes('.') || g.includes('e')) return g;
  return `${g}.0`;
}
