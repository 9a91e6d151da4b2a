/**
 * Metric, unit and label names of OTel metrics as Prometheus' OTLP endpoint gives them: a port of
 * github.com/prometheus/otlptranslator (MetricNamer, UnitNamer, LabelNamer, v1.0, the library
 * Prometheus 3's storage/remote/otlptranslator uses), with its translation strategies.
 */

/**
 * Prometheus' `otlp.translation_strategy`. `UnderscoreEscapingWithSuffixes` is Prometheus 3's
 * default: names escaped to the legacy character set, unit and `_total` suffixes added.
 * `NoUTF8EscapingWithSuffixes` keeps UTF-8 names (`http.server.duration_milliseconds`): the
 * receiver must accept UTF-8 names (Prometheus 3) and the queue must use the `utf8` name
 * validation scheme. `NoTranslation` keeps names exactly as the OTel SDK has them.
 */
export type TranslationStrategy =
  | 'UnderscoreEscapingWithSuffixes'
  | 'UnderscoreEscapingWithoutSuffixes'
  | 'NoUTF8EscapingWithSuffixes'
  | 'NoTranslation';

/** Every {@link TranslationStrategy}, as Prometheus spells them. */
export const TRANSLATION_STRATEGIES: readonly TranslationStrategy[] = [
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
];

/** Whether names are escaped to the legacy character set (otherwise kept as UTF-8). */
export function shouldEscape(strategy: TranslationStrategy): boolean {
  return strategy === 'UnderscoreEscapingWithSuffixes' || strategy === 'UnderscoreEscapingWithoutSuffixes';
}

/** Whether unit, `_total` and `_ratio` suffixes are added to metric names. */
export function shouldAddSuffixes(strategy: TranslationStrategy): boolean {
  return strategy === 'UnderscoreEscapingWithSuffixes' || strategy === 'NoUTF8EscapingWithSuffixes';
}

/** The OTel metric kinds naming distinguishes (otlptranslator.MetricType). */
export type OtelMetricKind =
  | 'gauge'
  | 'monotonic-counter'
  | 'non-monotonic-counter'
  | 'histogram'
  | 'exponential-histogram';

const UNIT_MAP: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNIT_MAP: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const has = (map: Readonly<Record<string, string>>, key: string) => Object.hasOwn(map, key);

/** Splits an OTel (UCUM) unit into Prometheus' main and `per_` suffixes; `{...}` annotations give none. */
function unitSuffixes(unit: string): [main: string, per: string] {
  const slash = unit.indexOf('/');
  const mainOtel = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  let main = '';
  if (mainOtel !== '' && !/[{}]/.test(mainOtel)) main = has(UNIT_MAP, mainOtel) ? UNIT_MAP[mainOtel]! : mainOtel;
  let per = '';
  if (slash >= 0 && slash + 1 < unit.length) {
    const perOtel = unit.slice(slash + 1).trim();
    if (perOtel !== '' && !/[{}]/.test(perOtel)) per = has(PER_UNIT_MAP, perOtel) ? PER_UNIT_MAP[perOtel]! : perOtel;
    if (per !== '') per = `per_${per}`;
  }
  return [main, per];
}

const isMetricChar = (c: string) => /^[a-zA-Z0-9:]$/.test(c);
const isLabelChar = (c: string) => /^[a-zA-Z0-9]$/.test(c);

function collapseUnderscores(s: string): string {
  return s.replace(/_+/g, '_');
}

/** Legacy characters only, runs of `_` collapsed, no leading `_`. */
function cleanUpUnit(unit: string): string {
  let mapped = '';
  for (const c of unit) mapped += isMetricChar(c) ? c : '_';
  return collapseUnderscores(mapped).replace(/^_/, '');
}

/**
 * The `unit` of a metric's metadata (otlptranslator.UnitNamer with UTF-8 off, as Prometheus'
 * OTLP endpoint uses it): `ms` -> `milliseconds`, `By/s` -> `bytes_per_second`, `{request}` -> ``.
 */
export function metadataUnit(unit: string): string {
  const [main0, per0] = unitSuffixes(unit);
  const main = cleanUpUnit(main0);
  const per = cleanUpUnit(per0);
  let u = main !== '' && per !== '' ? `${main}_${per}` : main !== '' ? main : per;
  if (u.startsWith('_')) u = u.slice(1);
  if (u.endsWith('_')) u = u.slice(0, -1);
  return u;
}

/** Go's strings.FieldsFunc: the non-empty runs of characters `keep` accepts. */
function fields(s: string, keep: (c: string) => boolean): string[] {
  const out: string[] = [];
  let cur = '';
  for (const c of s) {
    if (keep(c)) cur += c;
    else if (cur !== '') {
      out.push(cur);
      cur = '';
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

const startsWithDigit = (s: string) => /^[0-9]/.test(s);

/**
 * The Prometheus metric name of an OTel metric under `strategy` (otlptranslator.MetricNamer.Build,
 * no namespace). Throws an Error naming the metric when escaping leaves nothing usable.
 */
export function metricName(name: string, unit: string, kind: OtelMetricKind, strategy: TranslationStrategy): string {
  const suffixes = shouldAddSuffixes(strategy);
  if (!shouldEscape(strategy)) return suffixes ? utf8NameWithSuffixes(name, unit, kind) : name;
  let normalized: string;
  if (suffixes) {
    normalized = escapedNameWithSuffixes(name, unit, kind);
  } else {
    normalized = fields(name, (c) => isMetricChar(c) || c === '_').join('_');
    if (startsWithDigit(normalized)) normalized = `_${normalized}`;
  }
  if (normalized === '') throw new Error(`OTel metric ${JSON.stringify(name)}: its Prometheus name is empty`);
  if (normalized !== name && /^_+$/.test(normalized)) {
    throw new Error(
      `OTel metric ${JSON.stringify(name)}: its Prometheus name ${JSON.stringify(normalized)} is invalid`,
    );
  }
  return normalized;
}

/** otlptranslator's normalizeName: tokens of legacy characters, unit tokens, `total`/`ratio`. */
function escapedNameWithSuffixes(name: string, unit: string, kind: OtelMetricKind): string {
  let tokens = fields(name, isMetricChar);
  const [main0, per0] = unitSuffixes(unit);
  let main = cleanUpUnit(main0);
  let per = cleanUpUnit(per0);
  if (tokens.includes(main)) main = '';
  if (per === 'per_') per = '';
  else {
    per = per.replace(/_$/, '');
    if (tokens.includes(per)) per = '';
  }
  if (per !== '') main = main.replace(/_$/, '');
  if (main !== '') tokens.push(main);
  if (per !== '') tokens.push(per);
  if (kind === 'monotonic-counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  let normalized = tokens.join('_');
  if (startsWithDigit(normalized)) normalized = `_${normalized}`;
  return normalized;
}

function trimSuffixAndDelimiter(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length + 1 ? name.slice(0, -(suffix.length + 1)) : name;
}

/** otlptranslator's buildMetricName with suffixes: the name as is, suffixes added once. */
function utf8NameWithSuffixes(input: string, unit: string, kind: OtelMetricKind): string {
  let name = input;
  const ratio = unit === '1' && kind === 'gauge';
  const total = kind === 'monotonic-counter';
  if (ratio) name = trimSuffixAndDelimiter(name, 'ratio');
  if (total) name = trimSuffixAndDelimiter(name, 'total');
  const [main, per] = unitSuffixes(unit);
  if (per !== '') name = trimSuffixAndDelimiter(name, per);
  if (main !== '' && !name.endsWith(main)) name = `${name}_${main}`;
  // Go's deferred appends run in reverse order: per-unit first, then _total, then _ratio.
  if (per !== '') name = `${name}_${per}`;
  if (total) name += '_total';
  if (ratio) name += '_ratio';
  return name;
}

/**
 * The Prometheus label name of an OTel attribute key (otlptranslator.LabelNamer, no underscore
 * sanitization, multiple underscores collapsed). Throws an Error naming the key when it is empty
 * or only underscores.
 */
export function labelName(key: string, escaping: boolean): string {
  if (key === '') throw new Error('OTel attribute key is empty');
  if (!escaping) {
    if (/^_+$/.test(key)) throw new Error(`OTel attribute key ${JSON.stringify(key)} contains only underscores`);
    return key;
  }
  let normalized = sanitizeLabelName(key);
  if (startsWithDigit(normalized)) normalized = `key_${normalized}`;
  if (/^_+$/.test(normalized)) {
    throw new Error(
      `OTel attribute key ${JSON.stringify(key)}: its label name ${JSON.stringify(normalized)} is invalid`,
    );
  }
  return normalized;
}

/** Invalid characters to `_`, runs of them collapsed; a reserved `__x__` keeps its underscores. */
function sanitizeLabelName(name: string): string {
  const reserved = name.length >= 4 && name.startsWith('__') && name.endsWith('__');
  const inner = reserved ? name.slice(2, -2) : name;
  let out = '';
  let prevUnderscore = false;
  for (const c of inner) {
    if (isLabelChar(c)) {
      out += c;
      prevUnderscore = false;
    } else if (!prevUnderscore) {
      out += '_';
      prevUnderscore = true;
    }
  }
  return reserved ? `__${out}__` : out;
}
