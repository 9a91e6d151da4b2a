/**
 * Applies relabel rules to one series' labels with Prometheus' semantics (`relabel.ProcessBuilder`
 * in model/relabel/relabel.go): rules run in order, a drop ends processing, a missing source
 * label reads as '', setting a label to '' deletes it, a replace whose expanded target is not a
 * valid label name does nothing.
 *
 * Callers cache the outcome per series, so this runs once per new series; it favours clarity, but
 * does not allocate when no rule changes anything.
 */
import type { NameValidationScheme } from '../serialization/name-validation.js';
import { isValidLabelNameFor } from '../serialization/name-validation.js';
import { goToLower, goToUpper } from './case-mapping.js';
import { expandTemplate, hasTemplateVariable } from './expand.js';
import { hashMod } from './hashmod.js';
import { LabelBuilder } from './label-builder.js';
import { compileRelabelRegex, type RelabelRegex } from './regex.js';
import { RELABEL_DEFAULTS, type RelabelRule } from './types.js';

/** A compiled list of relabel rules. */
export interface Relabeler {
  /**
   * Relabels `labels` (flat, [name0, value0, ...], sorted by name in UTF-8 byte order). Returns
   * null when a rule drops the series; `labels` itself (===) when the result is the same label
   * set; otherwise a new flat array sorted the same way. The result may be empty (Prometheus
   * does not drop a series for that).
   */
  process(labels: readonly string[]): readonly string[] | null;
  /**
   * Frees the rules' RE2 memory now (call when a reload replaces this relabeler); garbage
   * collection does it otherwise. Processing afterwards still works (RE2 is compiled again).
   */
  dispose(): void;
}

interface CompiledRule {
  readonly rule: RelabelRule;
  readonly regex: RelabelRegex;
  /** Prometheus' fast path: default regex and no `$` anywhere, so a '' value sets the replacement. */
  readonly plainReplace: boolean;
}

/** True when relabeling with `rules` can never change or drop a series (no rules). */
export function isNoopRelabeling(rules: readonly RelabelRule[]): boolean {
  return rules.length === 0;
}

/**
 * Compiles `rules` (as `readRelabelConfigs` returns them).
 * @throws RelabelRegexError when a rule's regex is invalid (the config reader reports it first).
 */
export function compileRelabeling(rules: readonly RelabelRule[], scheme: NameValidationScheme): Relabeler {
  const compiled: CompiledRule[] = rules.map((rule) => ({
    rule,
    regex: compileRelabelRegex(rule.regex),
    plainReplace:
      rule.regex === RELABEL_DEFAULTS.regex &&
      !hasTemplateVariable(rule.targetLabel) &&
      !hasTemplateVariable(rule.replacement),
  }));
  if (compiled.length === 0) return { process: (labels) => labels, dispose: () => {} };
  const builder = new LabelBuilder();
  return {
    dispose() {
      for (const c of compiled) c.regex.dispose();
    },
    process(labels) {
      builder.reset(labels);
      for (const c of compiled) {
        if (!applyRule(c, builder, scheme)) return null;
      }
      return builder.labels();
    },
  };
}

/** Prometheus' `relabel()`: false when the series is dropped. */
function applyRule(c: CompiledRule, lb: LabelBuilder, scheme: NameValidationScheme): boolean {
  const { rule, regex } = c;
  const value = sourceValue(rule, lb);
  switch (rule.action) {
    case 'drop':
      return !regex.test(value);
    case 'keep':
      return regex.test(value);
    case 'dropequal':
      return lb.get(rule.targetLabel) !== value;
    case 'keepequal':
      return lb.get(rule.targetLabel) === value;
    case 'replace': {
      if (value === '' && c.plainReplace) {
        lb.set(rule.targetLabel, rule.replacement);
        return true;
      }
      const groups = regex.exec(value);
      if (groups === null) return true;
      const target = expandTemplate(rule.targetLabel, groups, regex.subexpNames);
      if (!isValidLabelNameFor(target, scheme)) return true;
      const result = expandTemplate(rule.replacement, groups, regex.subexpNames);
      if (result === '') lb.delete(target);
      else lb.set(target, result);
      return true;
    }
    case 'lowercase':
      lb.set(rule.targetLabel, goToLower(value));
      return true;
    case 'uppercase':
      lb.set(rule.targetLabel, goToUpper(value));
      return true;
    case 'hashmod':
      lb.set(rule.targetLabel, hashMod(value, rule.modulus));
      return true;
    case 'labelmap':
      lb.range((name, v) => {
        const groups = regex.exec(name);
        if (groups !== null) lb.set(expandTemplate(rule.replacement, groups, regex.subexpNames), v);
      });
      return true;
    case 'labeldrop':
      lb.range((name) => {
        if (regex.test(name)) lb.delete(name);
      });
      return true;
    case 'labelkeep':
      lb.range((name) => {
        if (!regex.test(name)) lb.delete(name);
      });
      return true;
  }
}

/** The source labels' values joined with the separator (Go's `strings.Join`). */
function sourceValue(rule: RelabelRule, lb: LabelBuilder): string {
  const names = rule.sourceLabels;
  if (names.length === 0) return '';
  if (names.length === 1) return lb.get(names[0]);
  let out = lb.get(names[0]);
  for (let i = 1; i < names.length; i++) out += rule.separator + lb.get(names[i]);
  return out;
}
