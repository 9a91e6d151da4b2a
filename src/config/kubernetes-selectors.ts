/**
 * Load-time checks of `kubernetes_sd_configs.selectors` label and field selectors, so a typo is a
 * `check-config` error with its line rather than a 400 from the API server on every list, as
 * Prometheus checks them (`labels.Parse`, `fields.ParseSelector` of Kubernetes' apimachinery).
 */

/** A label key: an optional DNS subdomain prefix and `/`, then a name of up to 63 characters. */
const KEY = String.raw`(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = `(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const LABEL_TERMS: readonly RegExp[] = [
  new RegExp(String.raw`^!?\s*${KEY}$`),
  new RegExp(String.raw`^${KEY}\s*(?:==|!=|=)\s*${VALUE}$`),
  new RegExp(String.raw`^${KEY}\s+(?:in|notin)\s*\(\s*${VALUE}(?:\s*,\s*${VALUE})*\s*\)$`),
  new RegExp(String.raw`^${KEY}\s*[<>]\s*-?\d+$`),
];

/** Why `selector` is not a valid label selector; undefined when it is. */
export function labelSelectorProblem(selector: string): string | undefined {
  for (const term of splitTerms(selector)) {
    const t = term.trim();
    if (t === '' && selector.trim() === '') return undefined;
    if (!LABEL_TERMS.some((re) => re.test(t))) {
      return `invalid label selector ${JSON.stringify(selector)}: cannot understand ${JSON.stringify(t)} (key, !key, key=value, key!=value, key in (a,b), key notin (a,b))`;
    }
  }
  return undefined;
}

/** Why `selector` is not a valid field selector; undefined when it is. */
export function fieldSelectorProblem(selector: string): string | undefined {
  if (selector.trim() === '') return undefined;
  for (const term of splitUnescaped(selector, ',')) {
    // key=value, key==value or key!=value; a backslash escapes the next character in the value.
    if (!/^[^=!\\,]+(?:==|!=|=)(?:[^\\]|\\.)*$/s.test(term)) {
      return `invalid field selector ${JSON.stringify(selector)}: cannot understand ${JSON.stringify(term)} (key=value, key==value or key!=value)`;
    }
  }
  return undefined;
}

/** Comma-separated terms, commas inside `( )` kept (the `in` and `notin` lists). */
function splitTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  out.push(selector.slice(start));
  return out;
}

function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}
