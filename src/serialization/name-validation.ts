/**
 * Metric and label name rules, one place for every layer (library appends, receiver, relabel
 * targets, config). Prometheus 3 accepts any valid UTF-8 name by default (`utf8`); `legacy`
 * (`global.metric_name_validation_scheme: legacy`) restores the classic character sets.
 */

/** Prometheus' `metric_name_validation_scheme`. */
export type NameValidationScheme = 'utf8' | 'legacy';

/** Every value of {@link NameValidationScheme}, as `metric_name_validation_scheme` spells them. */
export const NAME_VALIDATION_SCHEMES: readonly NameValidationScheme[] = ['utf8', 'legacy'];

/** Prometheus 3's default. */
export const DEFAULT_NAME_VALIDATION_SCHEME: NameValidationScheme = 'utf8';

const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Human-readable rule for error messages. */
export function labelNameRule(scheme: NameValidationScheme): string {
  return scheme === 'legacy' ? 'must match [a-zA-Z_][a-zA-Z0-9_]*' : 'must be non-empty valid UTF-8';
}

/** Human-readable rule for error messages. */
export function metricNameRule(scheme: NameValidationScheme): string {
  return scheme === 'legacy' ? 'must match [a-zA-Z_:][a-zA-Z0-9_:]*' : 'must be non-empty valid UTF-8';
}

/** True when `name` is a valid label name under `scheme`. */
export function isValidLabelNameFor(name: string, scheme: NameValidationScheme): boolean {
  if (scheme === 'legacy') return LEGACY_LABEL_NAME.test(name);
  return name.length > 0 && isWellFormedString(name);
}

/** True when `name` is a valid metric name under `scheme`. */
export function isValidMetricNameFor(name: string, scheme: NameValidationScheme): boolean {
  if (scheme === 'legacy') return LEGACY_METRIC_NAME.test(name);
  return name.length > 0 && isWellFormedString(name);
}

/** No lone surrogates: the string encodes to UTF-8 and back unchanged. */
export function isWellFormedString(s: string): boolean {
  // String.prototype.isWellFormed: V8 11.3, in every Node this package supports (>= 20.18).
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * A label set as Prometheus prints one (`labels.Labels.String()`), for error messages:
 * `{__name__="up", "http.status_code"="200"}`, a name quoted unless it is a legacy label name.
 * `pairs` holds names and values interleaved.
 */
export function formatLabelPairs(pairs: readonly string[]): string {
  const parts: string[] = [];
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    const name = pairs[k];
    parts.push(`${LEGACY_LABEL_NAME.test(name) ? name : JSON.stringify(name)}=${JSON.stringify(pairs[k + 1])}`);
  }
  return `{${parts.join(', ')}}`;
}
