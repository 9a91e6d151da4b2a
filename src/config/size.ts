/**
 * Byte sizes: a plain integer (bytes) or an integer with a unit. `KiB MiB GiB TiB` are powers of
 * 1024; `KB MB GB TB` (and `kB`) are powers of 1000, as in alecthomas/units' `ParseStrictBytes`.
 * Note that Prometheus' own `<size>` fields (e.g. `body_size_limit`) use `ParseBase2Bytes`, where
 * `KB` means 1024: write the `iB` units to mean the same thing in both.
 */

const BYTES_PER: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1000,
  kB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

const SIZE_RE = /^(\d+)([A-Za-z]*)$/;

const UNIT_LIST = 'B, KB, MB, GB, TB, KiB, MiB, GiB, TiB';

/** Thrown by {@link parseSize}. */
export class SizeSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SizeSyntaxError';
  }
}

/** Parses `123`, `10KiB`, `32MiB`, `10GiB`, `1TiB`, `500MB`... into bytes. Throws {@link SizeSyntaxError}. */
export function parseSize(text: string): number {
  const quoted = JSON.stringify(text);
  if (text === '') throw new SizeSyntaxError('empty size');
  const match = SIZE_RE.exec(text);
  if (match === null) {
    let why = `expected a whole number of bytes, optionally with a unit (${UNIT_LIST}), e.g. "32MiB"`;
    if (text.startsWith('-')) why = 'sizes cannot be negative';
    else if (/\s/.test(text)) why = 'spaces are not allowed';
    else if (/\d[.,]\d/.test(text)) why = 'fractions are not allowed, use a smaller unit (e.g. "1536MiB")';
    throw new SizeSyntaxError(`invalid size ${quoted}: ${why}`);
  }
  const unit = match[2] === '' ? 'B' : match[2];
  const mult = BYTES_PER[unit];
  if (mult === undefined) throw new SizeSyntaxError(`invalid size ${quoted}: unknown unit "${unit}" (${UNIT_LIST})`);
  const bytes = Number(match[1]) * mult;
  if (!Number.isSafeInteger(bytes)) throw new SizeSyntaxError(`invalid size ${quoted}: too large`);
  return bytes;
}

/** Formats bytes with the largest binary unit that divides them exactly (`10GiB`), else `123B`. */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`cannot format ${bytes} as a size`);
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB']) {
    const mult = BYTES_PER[unit];
    if (bytes > 0 && bytes % mult === 0) return `${bytes / mult}${unit}`;
  }
  return `${bytes}B`;
}
