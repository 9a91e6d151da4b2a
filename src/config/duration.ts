/**
 * Prometheus duration syntax (`model.ParseDuration`): integer amounts with the units
 * `y w d h m s ms`, each at most once and in that order, no spaces, no sign, no fractions;
 * `0` alone is allowed without a unit. A year is 365 days and a week 7 days, as in Prometheus.
 */

const MS_PER = {
  y: 365 * 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  h: 60 * 60 * 1000,
  m: 60 * 1000,
  s: 1000,
  ms: 1,
} as const;

type Unit = keyof typeof MS_PER;

const UNITS_DESCENDING: readonly Unit[] = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

// The same expression Prometheus documents for <duration>.
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

const SYNTAX_HINT = 'expected whole numbers with units y, w, d, h, m, s, ms in that order, e.g. "30s" or "1h30m"';

/** Thrown by {@link parseDuration}; the message says what is wrong and how to write it. */
export class DurationSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationSyntaxError';
  }
}

/** Parses a Prometheus duration into milliseconds. Throws {@link DurationSyntaxError}. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new DurationSyntaxError('empty duration');
  const quoted = JSON.stringify(text);
  const match = DURATION_RE.exec(text);
  if (match === null) throw new DurationSyntaxError(`invalid duration ${quoted}: ${explain(text)}`);
  let total = 0;
  for (let i = 0; i < UNITS_DESCENDING.length; i++) {
    const digits = match[i + 1];
    if (digits === undefined) continue;
    const part = Number(digits) * MS_PER[UNITS_DESCENDING[i]];
    total += part;
    if (!Number.isSafeInteger(part) || !Number.isSafeInteger(total)) {
      throw new DurationSyntaxError(`invalid duration ${quoted}: too large`);
    }
  }
  return total;
}

/** The most specific reason a string is not a duration, so the user sees what to fix. */
function explain(text: string): string {
  if (/^\s|\s$/.test(text) || /\d\s+[a-z]/.test(text)) return 'spaces are not allowed';
  if (text.startsWith('-')) return 'durations cannot be negative';
  if (text.startsWith('+')) return 'a sign is not allowed';
  if (/\d[.,]\d/.test(text)) return 'fractions are not allowed, use a smaller unit (e.g. "1h30m", "1500ms")';
  if (/^\d+$/.test(text)) return `missing unit (did you mean "${text}s"?)`;
  const units = text.match(/[a-zA-Z]+/g) ?? [];
  const unknown = units.find((u) => !(u in MS_PER));
  if (unknown !== undefined) return `unknown unit "${unknown}" (units are y, w, d, h, m, s, ms)`;
  return SYNTAX_HINT;
}

/**
 * Formats milliseconds the way Prometheus prints a duration: `0s` for zero; years and weeks
 * only when they divide the value exactly (`90d` reads better than `12w6d`).
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`cannot format ${ms} as a duration`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNITS_DESCENDING) {
    const mult = MS_PER[unit];
    if ((unit === 'y' || unit === 'w') && rest % mult !== 0) continue;
    const amount = Math.floor(rest / mult);
    if (amount > 0) {
      out += `${amount}${unit}`;
      rest -= amount * mult;
    }
  }
  return out;
}
