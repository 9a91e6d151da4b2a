/**
 * Reads a list of relabel configs (`write_relabel_configs`, or `writeRelabelConfigs` in JS
 * options) into {@link RelabelRule}s, with Prometheus' defaults and the checks of its
 * `relabel.Config.Validate`, each error on the path of the field at fault.
 *
 * As in Prometheus (yaml.v2), a key written with no value (`regex:`) is that field's zero value,
 * not the default: `regex:` is the empty regex, `separator:` the empty separator, `action:` an
 * empty action (refused).
 */

import { didYouMean } from '../config/did-you-mean.js';
import { type FieldReader, indexPath, isPlainObject } from '../config/field-reader.js';
import type { NameValidationScheme } from '../serialization/name-validation.js';
import { isValidLabelNameFor } from '../serialization/name-validation.js';
import { hasTemplateVariable } from './expand.js';
import { relabelRegexProblem } from './regex.js';
import { RELABEL_ACTIONS, RELABEL_DEFAULTS, type RelabelAction, type RelabelRule } from './types.js';

const KEYS = ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'] as const;
type Key = (typeof KEYS)[number];

const UINT64_LIMIT = 1n << 64n;

/** Actions that need `target_label` (Prometheus' Validate). */
const NEEDS_TARGET: ReadonlySet<RelabelAction> = new Set([
  'replace',
  'hashmod',
  'lowercase',
  'uppercase',
  'keepequal',
  'dropequal',
]);

/** A rule as read, before validation: which keys were written, even with no value. */
interface ReadRule {
  readonly rule: RelabelRule;
  /** Keys present in the mapping, null values included (Go's "set" for pointer-compared fields). */
  readonly written: ReadonlySet<Key>;
  /** Go's `SourceLabels != nil`: a list was given (an empty one counts, no value does not). */
  readonly sourceLabelsSet: boolean;
  readonly path: string;
}

/**
 * Reads the relabel config list at `path`. Returns the rules, [] when `value` is absent, or
 * undefined when anything is wrong (every problem is reported to `r`).
 */
export function readRelabelConfigs(
  r: FieldReader,
  value: unknown,
  path: string,
  scheme: NameValidationScheme,
): RelabelRule[] | undefined {
  if (value === undefined || value === null) return [];
  const list = r.list(value, path);
  if (list === undefined) return undefined;
  const rules: RelabelRule[] = [];
  let ok = true;
  list.forEach((item, i) => {
    const itemPath = indexPath(path, i);
    if (item === null || item === undefined) {
      r.error(itemPath, 'empty or null relabeling rule');
      ok = false;
      return;
    }
    const read = readRule(r, item, itemPath, scheme);
    if (read === undefined || !validate(r, read, scheme)) {
      ok = false;
      return;
    }
    rules.push(read.rule);
  });
  return ok ? rules : undefined;
}

function readRule(r: FieldReader, item: unknown, path: string, scheme: NameValidationScheme): ReadRule | undefined {
  const errorsBefore = r.errors.length;
  const m = r.map(item, path, { known: KEYS });
  if (m === undefined) return undefined;
  // r.map drops null values; Go gives such a key its zero value, so note which keys were written.
  const written = new Set<Key>();
  if (isPlainObject(item)) {
    for (const key of KEYS) if (Object.hasOwn(item, r.name(key))) written.add(key);
  }
  const text = (key: Key, fallback: string): string | undefined => {
    if (!written.has(key)) return fallback;
    if (!m.values.has(key)) return '';
    return scalarText(r, m.values.get(key), r.at(path, key));
  };

  const separator = text('separator', RELABEL_DEFAULTS.separator);
  const regex = text('regex', RELABEL_DEFAULTS.regex);
  const targetLabel = text('target_label', '');
  const replacement = text('replacement', RELABEL_DEFAULTS.replacement);
  const actionText = text('action', RELABEL_DEFAULTS.action);
  const sourceLabels = readSourceLabels(r, m.values.get('source_labels'), r.at(path, 'source_labels'), scheme);
  const modulus = readModulus(r, m.values.get('modulus'), r.at(path, 'modulus'));

  let action: RelabelAction | '' | undefined;
  if (actionText !== undefined) {
    const lower = actionText.toLowerCase();
    if (lower === '' || (RELABEL_ACTIONS as readonly string[]).includes(lower)) action = lower as RelabelAction | '';
    else {
      const hint = didYouMean(lower, RELABEL_ACTIONS);
      r.error(
        r.at(path, 'action'),
        `unknown relabel action ${JSON.stringify(actionText)}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`,
      );
    }
  }
  const regexProblem = regex === undefined ? undefined : relabelRegexProblem(regex);
  if (regexProblem !== undefined) r.error(r.at(path, 'regex'), regexProblem);
  if (r.errors.length !== errorsBefore) return undefined;
  if (action === '') {
    r.error(r.at(path, 'action'), 'relabel action cannot be empty');
    return undefined;
  }
  const rule: RelabelRule = {
    sourceLabels: sourceLabels!,
    separator: separator!,
    regex: regex!,
    modulus: modulus!,
    targetLabel: targetLabel!,
    replacement: replacement!,
    action: action!,
  };
  return { rule, written, sourceLabelsSet: m.values.has('source_labels'), path };
}

/**
 * A string field's text. YAML numbers and booleans are taken as text (`replacement: 1`), as
 * yaml.v2 does for Prometheus' string fields.
 */
function scalarText(r: FieldReader, v: unknown, path: string): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  r.error(path, `expected a string, got ${describeValue(v)}`);
  return undefined;
}

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  return `a ${typeof v}`;
}

function readSourceLabels(
  r: FieldReader,
  v: unknown,
  path: string,
  scheme: NameValidationScheme,
): string[] | undefined {
  if (v === undefined) return [];
  const list = r.list(v, path);
  if (list === undefined) return undefined;
  const names: string[] = [];
  let ok = true;
  list.forEach((item, i) => {
    const itemPath = indexPath(path, i);
    const name = item === null ? '' : scalarText(r, item, itemPath);
    if (name === undefined) {
      ok = false;
    } else if (!isValidLabelNameFor(name, scheme)) {
      r.error(itemPath, `${JSON.stringify(name)} is not a valid label name`);
      ok = false;
    } else {
      names.push(name);
    }
  });
  return ok ? names : undefined;
}

/** A uint64: a non-negative safe integer, or a bigint below 2^64 (for a YAML loader that gives them). */
function readModulus(r: FieldReader, v: unknown, path: string): bigint | undefined {
  if (v === undefined) return 0n;
  if (typeof v === 'bigint' && v >= 0n && v < UINT64_LIMIT) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) {
    r.error(path, `${v} is too large to be read exactly (above 2^53)`);
    return undefined;
  }
  r.error(path, `expected a non-negative integer (uint64), got ${typeof v === 'number' ? v : describeValue(v)}`);
  return undefined;
}

/** Prometheus' `Validate`, in its order; reports the first failure, on the field at fault. */
function validate(r: FieldReader, read: ReadRule, scheme: NameValidationScheme): boolean {
  const { rule, written, path } = read;
  const { action, targetLabel, replacement } = rule;
  const fail = (key: Key, message: string): false => {
    r.error(r.at(path, key), message);
    return false;
  };
  const isValidWithVariables = (s: string): boolean =>
    scheme === 'utf8' ? isValidLabelNameFor(s, scheme) : isLegacyRelabelTarget(s);

  if (action === 'hashmod' && rule.modulus === 0n) {
    return fail('modulus', 'relabel configuration for hashmod requires non-zero modulus');
  }
  if (NEEDS_TARGET.has(action) && targetLabel === '') {
    return fail('target_label', `relabel configuration for ${action} action requires 'target_label' value`);
  }
  const invalidTarget = `${JSON.stringify(targetLabel)} is invalid 'target_label' for ${action} action`;
  if (action === 'replace') {
    const valid = hasTemplateVariable(targetLabel)
      ? isValidWithVariables(targetLabel)
      : isValidLabelNameFor(targetLabel, scheme);
    if (!valid) return fail('target_label', invalidTarget);
  }
  const equalOrCase =
    action === 'lowercase' || action === 'uppercase' || action === 'keepequal' || action === 'dropequal';
  if (equalOrCase && !isValidLabelNameFor(targetLabel, scheme)) return fail('target_label', invalidTarget);
  if (equalOrCase && replacement !== RELABEL_DEFAULTS.replacement) {
    return fail('replacement', `'replacement' can not be set for ${action} action`);
  }
  if (action === 'labelmap' && !isValidWithVariables(replacement)) {
    return fail('replacement', `${JSON.stringify(replacement)} is invalid 'replacement' for ${action} action`);
  }
  if (action === 'hashmod' && !isValidLabelNameFor(targetLabel, scheme)) return fail('target_label', invalidTarget);

  if (action === 'keepequal' || action === 'dropequal') {
    // Go compares the regex by pointer: any regex written, even "(.*)", is not the default.
    const offending: Key | undefined = written.has('regex')
      ? 'regex'
      : rule.modulus !== 0n
        ? 'modulus'
        : rule.separator !== RELABEL_DEFAULTS.separator
          ? 'separator'
          : undefined;
    if (offending !== undefined) {
      return fail(
        offending,
        `${action} action requires only 'source_labels' and \`target_label\`, and no other fields`,
      );
    }
  }
  if (action === 'labeldrop' || action === 'labelkeep') {
    const offending: Key | undefined = read.sourceLabelsSet
      ? 'source_labels'
      : targetLabel !== ''
        ? 'target_label'
        : rule.modulus !== 0n
          ? 'modulus'
          : rule.separator !== RELABEL_DEFAULTS.separator
            ? 'separator'
            : replacement !== RELABEL_DEFAULTS.replacement
              ? 'replacement'
              : undefined;
    if (offending !== undefined) return fail(offending, `${action} action requires only 'regex', and no other fields`);
  }
  return true;
}

/**
 * Prometheus' `relabelTargetLegacy`, `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`, checked by hand
 * in linear time (as a JavaScript regex its nested repetition backtracks exponentially): a
 * letter, `_` or variable first, then any word characters and variables (`$name`, `${name}`).
 */
export function isLegacyRelabelTarget(s: string): boolean {
  const word = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
  let i = 0;
  const variable = (): boolean => {
    // At `$`.
    i++;
    if (s[i] === '{') {
      const start = ++i;
      while (word(s[i])) i++;
      if (i === start || s[i] !== '}') return false;
      i++;
      return true;
    }
    const start = i;
    while (word(s[i])) i++;
    return i > start;
  };
  if (s === '') return false;
  if (s[0] === '$') {
    if (!variable()) return false;
  } else if (/[A-Za-z_]/.test(s[0])) {
    i = 1;
  } else {
    return false;
  }
  while (i < s.length) {
    if (word(s[i])) i++;
    else if (s[i] === '$') {
      if (!variable()) return false;
    } else return false;
  }
  return true;
}
