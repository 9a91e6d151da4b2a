/** ASCII character classes of the exposition formats' lexers, as a lookup table. */

/** `[a-zA-Z_:]`: may start a metric name. */
export const METRIC_START = 1;
/** `[a-zA-Z0-9_:]`: may continue a metric name. */
export const METRIC_CHAR = 2;
/** `[a-zA-Z_]`: may start a label name. */
export const LABEL_START = 4;
/** `[a-zA-Z0-9_]`: may continue a label name. */
export const LABEL_CHAR = 8;

/** Class bits per char code below 128 (0 for everything else, non-ASCII included). */
export const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  let bits = 0;
  if (letter || c === 58) bits |= METRIC_START | METRIC_CHAR;
  if (digit) bits |= METRIC_CHAR | LABEL_CHAR;
  if (letter) bits |= LABEL_START | LABEL_CHAR;
  CHAR_CLASS[c] = bits;
}

/** Whether char code `c` has any of the class bits `bits`. */
export function hasClass(c: number, bits: number): boolean {
  return c < 128 && (CHAR_CLASS[c] & bits) !== 0;
}

/** Char codes the lexers compare against. */
export const C_NUL = 0;
export const C_TAB = 9;
export const C_NL = 10;
export const C_SP = 32;
export const C_QUOTE = 34;
export const C_HASH = 35;
export const C_COMMA = 44;
export const C_EQ = 61;
export const C_BACKSLASH = 92;
export const C_UNDERSCORE = 95;
export const C_LBRACE = 123;
export const C_RBRACE = 125;
