/**
 * Write relabel rules the relay scan plans by label name, without the ingest cache
 * (src/wire/rw1-raw-scan.c, scan_plan and plan_gather). After the external labels are merged (a
 * series' own label of the same name staying), a rule set made only of
 * - `labeldrop` / `labelkeep` (a predicate on each name alone),
 * - `replace` without `source_labels` (the source is '', so the outcome is one constant for every
 *   series: set a label, delete one, or nothing),
 * - `keep` / `drop` with exactly one source label (a filter on that label's value at that point of
 *   the chain)
 * decides each label of a series by its name alone (kept as received, or left out: dropped, or
 * replaced by a constant), adds constant labels at their sorted places, and drops a series by the
 * value of a filtered label. {@link planNameRules} works that out by following each name through
 * the rules symbolically, with the engine's own regexes and template expansion, so the plan gives
 * the engine's answer (`relabelSeriesAtIngest` is the oracle in test/relay/name-rule-plan.test.ts).
 * Anything else (a replace or keep/drop reading several labels, labelmap, hashmod, lowercase,
 * uppercase, keepequal, dropequal, a filter that drops every series) returns undefined: the body
 * takes the cache's route, unchanged.
 */

import { hasTemplateVariable } from '../relabel/expand.js';
import {
  compareUtf8,
  compileRelabelRegex,
  expandTemplate,
  type RelabelRegex,
  type RelabelRule,
} from '../relabel/index.js';
import { RELABEL_DEFAULTS } from '../relabel/types.js';
import { isValidLabelNameFor, type NameValidationScheme } from '../serialization/name-validation.js';
import {
  PLAN_EQUAL,
  PLAN_FILTER_SHIFT,
  PLAN_RANK_SHIFT,
  PLAN_SKIP,
  type PlannedNameRules,
} from '../wire/rw1-raw-scan-wasm.js';

/** Most filtered labels a plan takes (bits of the scan's per-series mask). */
export const MAX_PLANNED_FILTERS = 32;

/** A plan of write relabel rules by label name (see the module comment). */
export interface NameRulePlan extends Omit<PlannedNameRules, 'flags'> {
  /**
   * The constant labels the scan inserts, sorted by name (UTF-8 bytes): external labels that
   * yield to a series' own label (`override` false) and rules' constants that replace it.
   */
  readonly constants: readonly { readonly name: string; readonly value: string; readonly override: boolean }[];
  /** Frees the rules' compiled regexes. */
  dispose(): void;
}

/** What a name holds at a point of the chain: the series' own (or external) label, a constant, or nothing. */
type NameState = { kind: 'own' } | { kind: 'constant'; value: string } | { kind: 'absent' };

const OWN: NameState = { kind: 'own' };
const ABSENT: NameState = { kind: 'absent' };

/** One rule as the plan follows it. */
type Step =
  | { kind: 'names'; drop: boolean; regex: RelabelRegex }
  | { kind: 'constant'; name: string; value: string }
  | { kind: 'filter'; label: string; keep: boolean; regex: RelabelRegex };

/**
 * The plan of `rules` after `external` (`[name, value, ...]`, sorted, none empty:
 * `externalLabelList`), or undefined when the rule set is not one the scan plans.
 */
export function planNameRules(
  rules: readonly RelabelRule[],
  scheme: NameValidationScheme,
  external: readonly string[],
): NameRulePlan | undefined {
  const regexes: RelabelRegex[] = [];
  const dispose = () => {
    for (const r of regexes) r.dispose();
  };
  const steps: Step[] = [];
  for (const rule of rules) {
    const step = stepOf(rule, scheme, regexes);
    if (step === undefined) {
      dispose();
      return undefined;
    }
    if (step !== null) steps.push(step);
  }
  const externalValue = new Map<string, string>();
  for (let i = 0; i < external.length; i += 2) externalValue.set(external[i], external[i + 1]);

  /** What `name` holds after steps[0, to). */
  const stateAt = (name: string, to: number): NameState => {
    let s = OWN;
    for (let j = 0; j < to; j++) {
      const st = steps[j];
      if (st.kind === 'names') {
        if (s !== ABSENT && st.regex.test(name) === st.drop) s = ABSENT;
      } else if (st.kind === 'constant' && st.name === name) {
        s = st.value === '' ? ABSENT : { kind: 'constant', value: st.value };
      }
    }
    return s;
  };

  // Filters: per label read in its own state, the rules reading it; one read after a rule set or
  // removed it reads a constant, which passes every series (left out) or drops every one (no plan).
  const filterOf = new Map<string, number>();
  const filters: { keep: boolean; regex: RelabelRegex }[][] = [];
  for (let j = 0; j < steps.length; j++) {
    const st = steps[j];
    if (st.kind !== 'filter') continue;
    const s = stateAt(st.label, j);
    if (s.kind === 'own') {
      let f = filterOf.get(st.label);
      if (f === undefined) {
        f = filters.length;
        if (f === MAX_PLANNED_FILTERS) {
          dispose();
          return undefined;
        }
        filterOf.set(st.label, f);
        filters.push([]);
      }
      filters[f].push({ keep: st.keep, regex: st.regex });
    } else if (st.regex.test(s.kind === 'constant' ? s.value : '') !== st.keep) {
      dispose();
      return undefined;
    }
  }
  const valuePasses = (filter: number, value: string): boolean => {
    for (const r of filters[filter]) if (r.regex.test(value) !== r.keep) return false;
    return true;
  };
  let absentFail = 0;
  for (const [label, f] of filterOf) if (!valuePasses(f, externalValue.get(label) ?? '')) absentFail |= 1 << f;

  // Constants: every name a rule may set, and the external labels, in their final state.
  const names = new Set<string>(externalValue.keys());
  for (const st of steps) if (st.kind === 'constant') names.add(st.name);
  const constants: { name: string; value: string; override: boolean }[] = [];
  for (const name of names) {
    const s = stateAt(name, steps.length);
    if (s.kind === 'constant') constants.push({ name, value: s.value, override: true });
    else if (s.kind === 'own' && externalValue.has(name))
      constants.push({ name, value: externalValue.get(name) as string, override: false });
  }
  constants.sort((a, b) => compareUtf8(a.name, b.name));

  return {
    constants,
    absentFail,
    nameDecision(name) {
      const f = filterOf.get(name);
      let rank = 0;
      while (rank < constants.length && compareUtf8(constants[rank].name, name) < 0) rank++;
      return (
        (stateAt(name, steps.length).kind === 'own' ? 0 : PLAN_SKIP) |
        (f === undefined ? 0 : (f + 1) << PLAN_FILTER_SHIFT) |
        (rank << PLAN_RANK_SHIFT) |
        (rank < constants.length && constants[rank].name === name ? PLAN_EQUAL : 0)
      );
    },
    valuePasses,
    dispose,
  };
}

/** A rule as a step of the plan; null: it never changes anything; undefined: not plannable. */
function stepOf(rule: RelabelRule, scheme: NameValidationScheme, regexes: RelabelRegex[]): Step | null | undefined {
  switch (rule.action) {
    case 'labeldrop':
    case 'labelkeep':
      return { kind: 'names', drop: rule.action === 'labeldrop', regex: keep(regexes, rule.regex) };
    case 'keep':
    case 'drop':
      if (rule.sourceLabels.length > 1) return undefined;
      if (rule.sourceLabels.length === 0) {
        // The source is '': one answer for every series.
        const re = keep(regexes, rule.regex);
        return re.test('') === (rule.action === 'keep') ? null : undefined;
      }
      return {
        kind: 'filter',
        label: rule.sourceLabels[0],
        keep: rule.action === 'keep',
        regex: keep(regexes, rule.regex),
      };
    case 'replace': {
      if (rule.sourceLabels.length > 0) return undefined;
      // The engine's replace (src/relabel/engine.ts, applyRule) with the value ''.
      if (
        rule.regex === RELABEL_DEFAULTS.regex &&
        !hasTemplateVariable(rule.targetLabel) &&
        !hasTemplateVariable(rule.replacement)
      )
        return { kind: 'constant', name: rule.targetLabel, value: rule.replacement };
      const re = keep(regexes, rule.regex);
      const groups = re.exec('');
      if (groups === null) return null;
      const target = expandTemplate(rule.targetLabel, groups, re.subexpNames);
      if (!isValidLabelNameFor(target, scheme)) return null;
      return { kind: 'constant', name: target, value: expandTemplate(rule.replacement, groups, re.subexpNames) };
    }
    default:
      return undefined;
  }
}

function keep(regexes: RelabelRegex[], source: string): RelabelRegex {
  const re = compileRelabelRegex(source);
  regexes.push(re);
  return re;
}
