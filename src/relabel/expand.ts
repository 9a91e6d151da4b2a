/**
 * Go's `Regexp.Expand`, which Prometheus uses for `target_label`, `replacement` and labelmap:
 * `$1` / `${1}` is group 1, `$name` / `${name}` the first group so named that took part, `$$` a
 * `$`. A name is the longest run of letters, digits and `_` (Unicode), so `$1x` means the group
 * named `1x` (there is none: ''). A group that does not exist or did not take part gives ''. A `$`
 * not followed by a valid name (`$`, `${`, `${}`, `$-`) is kept as a literal `$`.
 */

/** True when `template` would expand to something that depends on the match. */
export function hasTemplateVariable(template: string): boolean {
  // Prometheus' varInRegexTemplate: any `$` at all.
  return template.includes('$');
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Expands `template` with the groups of a match (`groups[0]` the whole match) and Go's
 * `SubexpNames()` (`names[i]` the name of group i, '' if unnamed).
 */
export function expandTemplate(
  template: string,
  groups: readonly (string | undefined)[],
  names: readonly string[],
): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractReference(rest);
    if (ref === undefined) {
      out += '$';
      continue;
    }
    rest = rest.slice(ref.length);
    if (ref.num >= 0) {
      out += groups[ref.num] ?? '';
      continue;
    }
    for (let i = 0; i < names.length; i++) {
      if (names[i] === ref.name && groups[i] !== undefined) {
        out += groups[i];
        break;
      }
    }
  }
  return out + rest;
}

/** Go's `extract`: the name after a `$` (already removed), as `name` or `{name}`. */
function extractReference(s: string): { name: string; num: number; length: number } | undefined {
  if (s === '') return undefined;
  const brace = s[0] === '{';
  let i = brace ? 1 : 0;
  const start = i;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === start) return undefined;
  const name = s.slice(start, i);
  if (brace) {
    if (s[i] !== '}') return undefined;
    i++;
  }
  return { name, num: groupNumber(name), length: i };
}

/** Go's number parse in `extract`: decimal, no leading zero, -1 if not a number or too long. */
function groupNumber(name: string): number {
  let num = 0;
  for (let i = 0; i < name.length; i++) {
    const d = name.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || num >= 1e8) return -1;
    num = num * 10 + d;
  }
  if (name[0] === '0' && name.length > 1) return -1;
  return num;
}
