/**
 * Relabel rules as promspool holds them after reading the config: every default applied, every
 * field checked (see `readRelabelConfigs`), so the engine never has to second-guess one.
 */

/** Prometheus' relabel actions (lower case; the config reader takes any case, as Prometheus does). */
export type RelabelAction =
  | 'replace'
  | 'keep'
  | 'drop'
  | 'keepequal'
  | 'dropequal'
  | 'hashmod'
  | 'labelmap'
  | 'labeldrop'
  | 'labelkeep'
  | 'lowercase'
  | 'uppercase';

/** Every action, in Prometheus' documentation order. */
export const RELABEL_ACTIONS: readonly RelabelAction[] = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
];

/** One resolved relabel rule (Prometheus' `relabel.Config`). */
export interface RelabelRule {
  /** Labels whose values are joined with {@link separator}; a missing label counts as ''. */
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  /** The regex as written (RE2 syntax, not yet anchored: the engine matches `^(?s:regex)$`). */
  readonly regex: string;
  /**
   * hashmod's divisor. Prometheus reads it as a uint64, so it may exceed 2^53: a bigint, 0n when
   * not set.
   */
  readonly modulus: bigint;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly action: RelabelAction;
}

/** Prometheus' defaults (`relabel.DefaultRelabelConfig`). */
export const RELABEL_DEFAULTS = {
  separator: ';',
  regex: '(.*)',
  replacement: '$1',
  action: 'replace',
} as const;
