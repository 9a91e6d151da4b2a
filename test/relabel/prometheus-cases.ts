// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go templates (`${1}`) are data here, not JavaScript.
/**
 * Prometheus' relabel test tables as data (prometheus/prometheus model/relabel/relabel_test.go,
 * config/config_test.go and its testdata/*.bad.yml). Each Go `Config` literal is written as the
 * YAML mapping that produces it; fields the Go test leaves unset are left out here, so the
 * reader's defaults stand in for the defaults the Go test fills in.
 */
import type { NameValidationScheme } from '../../src/serialization/name-validation.js';

export type YamlRule = Record<string, unknown>;

export interface RelabelCase {
  readonly name: string;
  readonly input: Record<string, string>;
  readonly rules: readonly YamlRule[];
  /** The labels after relabeling, or 'drop'. */
  readonly output: Record<string, string> | 'drop';
}

/** `TestRelabel` (run with UTF-8 validation, as the Go test does). */
export const TEST_RELABEL: readonly RelabelCase[] = [
  {
    name: 'replace with ${1} twice',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'f(.*)',
        target_label: 'd',
        separator: ';',
        replacement: 'ch${1}-ch${1}',
        action: 'replace',
      },
    ],
    output: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' },
  },
  {
    name: 'two replaces, the second reading the first',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a', 'b'],
        regex: 'f(.*);(.*)r',
        target_label: 'a',
        separator: ';',
        replacement: 'b${1}${2}m',
        action: 'replace',
      },
      {
        source_labels: ['c', 'a'],
        regex: '(b).*b(.*)ba(.*)',
        target_label: 'd',
        separator: ';',
        replacement: '$1$2$2$3',
        action: 'replace',
      },
    ],
    output: { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
  },
  {
    name: 'drop stops before a later replace',
    input: { a: 'foo' },
    rules: [
      { source_labels: ['a'], regex: '.*o.*', action: 'drop' },
      {
        source_labels: ['a'],
        regex: 'f(.*)',
        target_label: 'd',
        separator: ';',
        replacement: 'ch$1-ch$1',
        action: 'replace',
      },
    ],
    output: 'drop',
  },
  {
    name: 'drop on a match',
    input: { a: 'foo', b: 'bar' },
    rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }],
    output: 'drop',
  },
  {
    name: 'replace with a group in the middle',
    input: { a: 'abc' },
    rules: [
      {
        source_labels: ['a'],
        regex: '.*(b).*',
        target_label: 'd',
        separator: ';',
        replacement: '$1',
        action: 'replace',
      },
    ],
    output: { a: 'abc', d: 'b' },
  },
  {
    name: 'drop without a match keeps',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'no-match', action: 'drop' }],
    output: { a: 'foo' },
  },
  {
    name: 'drop regex is anchored (f|o does not match foo)',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }],
    output: { a: 'foo' },
  },
  {
    name: 'keep without a match drops',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }],
    output: 'drop',
  },
  {
    name: 'keep with a match keeps',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }],
    output: { a: 'foo' },
  },
  {
    name: 'no replacement without a match',
    input: { a: 'boo' },
    rules: [{ source_labels: ['a'], regex: 'f', target_label: 'b', replacement: 'bar', action: 'replace' }],
    output: { a: 'boo' },
  },
  {
    name: 'blank replacement deletes the label',
    input: { a: 'foo', f: 'baz' },
    rules: [{ source_labels: ['a'], regex: '(f).*', target_label: '$1', replacement: '$2', action: 'replace' }],
    output: { a: 'foo' },
  },
  {
    name: 'hashmod',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['c'], target_label: 'd', separator: ';', action: 'hashmod', modulus: 1000 }],
    output: { a: 'foo', b: 'bar', c: 'baz', d: '976' },
  },
  {
    name: 'hashmod of a value with a newline',
    input: { a: 'foo\nbar' },
    rules: [{ source_labels: ['a'], target_label: 'b', separator: ';', action: 'hashmod', modulus: 1000 }],
    output: { a: 'foo\nbar', b: '734' },
  },
  {
    name: 'labelmap',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }],
    output: { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' },
  },
  {
    name: 'labelmap of __meta_ labels',
    input: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' },
    rules: [{ regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' }],
    output: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc', my_bar: 'aaa', my_baz: 'bbb' },
  },
  {
    name: 'target label from a group',
    input: { a: 'some-name-value' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'some-([^-]+)-([^,]+)',
        action: 'replace',
        replacement: '${2}',
        target_label: '${1}',
      },
    ],
    output: { a: 'some-name-value', name: 'value' },
  },
  {
    name: 'replacement of a missing group is empty: nothing set',
    input: { a: 'some-name-value' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'some-([^-]+)-([^,]+)',
        action: 'replace',
        replacement: '${3}',
        target_label: '${1}',
      },
    ],
    output: { a: 'some-name-value' },
  },
  {
    name: 'target labels that expand to nothing do nothing',
    input: { a: 'some-name-0' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'some-([^-]+)-([^,]+)',
        action: 'replace',
        replacement: '${1}',
        target_label: '${3}',
      },
      {
        source_labels: ['a'],
        regex: 'some-([^-]+)-([^,]+)',
        action: 'replace',
        replacement: '${1}',
        target_label: '${3}',
      },
      {
        source_labels: ['a'],
        regex: 'some-([^-]+)(-[^,]+)',
        action: 'replace',
        replacement: '${1}',
        target_label: '${3}',
      },
    ],
    output: { a: 'some-name-0' },
  },
  {
    name: 'real-life service discovery tags',
    input: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar' },
    rules: [
      {
        source_labels: ['__meta_sd_tags'],
        regex: '(?:.+,|^)path:(/[^,]+).*',
        action: 'replace',
        replacement: '${1}',
        target_label: '__metrics_path__',
      },
      {
        source_labels: ['__meta_sd_tags'],
        regex: '(?:.+,|^)job:([^,]+).*',
        action: 'replace',
        replacement: '${1}',
        target_label: 'job',
      },
      {
        source_labels: ['__meta_sd_tags'],
        regex: '(?:.+,|^)label:([^=]+)=([^,]+).*',
        action: 'replace',
        replacement: '${2}',
        target_label: '${1}',
      },
    ],
    output: {
      __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar',
      __metrics_path__: '/secret',
      job: 'some-job',
      foo: 'bar',
    },
  },
  {
    name: 'prometheus#12283: labeldrop then replace then keep',
    input: {
      __meta_kubernetes_pod_container_port_name: 'foo',
      __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091',
    },
    rules: [
      { regex: '^__meta_kubernetes_pod_container_port_name$', action: 'labeldrop' },
      {
        source_labels: ['__meta_kubernetes_pod_annotation_XXX_metrics_port'],
        regex: '(.+)',
        action: 'replace',
        replacement: 'metrics',
        target_label: '__meta_kubernetes_pod_container_port_name',
      },
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '^metrics$', action: 'keep' },
    ],
    output: {
      __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091',
      __meta_kubernetes_pod_container_port_name: 'metrics',
    },
  },
  {
    name: 'labelkeep',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', action: 'labelkeep' }],
    output: { b1: 'bar', b2: 'baz' },
  },
  {
    name: 'labeldrop',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', action: 'labeldrop' }],
    output: { a: 'foo' },
  },
  {
    name: 'uppercase and lowercase',
    input: { foo: 'bAr123Foo' },
    rules: [
      { source_labels: ['foo'], action: 'uppercase', target_label: 'foo_uppercase' },
      { source_labels: ['foo'], action: 'lowercase', target_label: 'foo_lowercase' },
    ],
    output: { foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' },
  },
  {
    name: 'keepequal with equal values keeps',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port1' }],
    output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
  },
  {
    name: 'dropequal with equal values drops',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port1' }],
    output: 'drop',
  },
  {
    name: 'dropequal with different values keeps',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port2' }],
    output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
  },
  {
    name: 'keepequal with different values drops',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port2' }],
    output: 'drop',
  },
  {
    name: '. matches a newline',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'line1.*line2',
        target_label: 'd',
        separator: ';',
        replacement: 'match${1}',
        action: 'replace',
      },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', d: 'match' },
  },
  {
    name: 'UTF-8 source label',
    input: { 'utf-8.label': 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['utf-8.label'],
        regex: 'line1.*line2',
        target_label: 'd',
        separator: ';',
        replacement: 'match${1}',
        action: 'replace',
      },
    ],
    output: { 'utf-8.label': 'line1\nline2', b: 'bar', c: 'baz', d: 'match' },
  },
  {
    name: 'UTF-8 target label',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'line1.*line2',
        target_label: 'utf-8.label',
        separator: ';',
        replacement: 'match${1}',
        action: 'replace',
      },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', 'utf-8.label': 'match' },
  },
  {
    name: 'UTF-8 target label with a variable',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a'],
        regex: 'line1.*line2',
        target_label: 'utf-8.label${1}',
        separator: ';',
        replacement: 'match${1}',
        action: 'replace',
      },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', 'utf-8.label': 'match' },
  },
  {
    name: 'numbered and named groups, both template styles',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a'],
        regex: '(line1).*(?<second>line2)',
        target_label: 'label1_${1}',
        separator: ';',
        replacement: 'val_${second}',
        action: 'replace',
      },
      {
        source_labels: ['a'],
        regex: '(line1).*(?<second>line2)',
        target_label: 'label2_$1',
        separator: ';',
        replacement: 'val_$second',
        action: 'replace',
      },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', label1_line1: 'val_line2', label2_line1: 'val_line2' },
  },
  {
    name: '__type__ from the metric name',
    input: { __name__: 'http_requests_total' },
    rules: [
      {
        source_labels: ['__name__'],
        regex: '.*_total$',
        target_label: '__type__',
        replacement: 'counter',
        action: 'replace',
      },
    ],
    output: { __name__: 'http_requests_total', __type__: 'counter' },
  },
  {
    name: '__unit__ from the metric name',
    input: { __name__: 'disk_usage_bytes' },
    rules: [
      {
        source_labels: ['__name__'],
        regex: '.*_bytes$',
        target_label: '__unit__',
        replacement: 'bytes',
        action: 'replace',
      },
    ],
    output: { __name__: 'disk_usage_bytes', __unit__: 'bytes' },
  },
];

export interface ValidateCase {
  readonly name: string;
  readonly rule: YamlRule | null;
  readonly scheme: NameValidationScheme;
  /** undefined: accepted. Otherwise the field at fault (relative to the rule) and the message. */
  readonly error?: { readonly field: string; readonly message: string };
}

/** `TestRelabelValidate`, each with the scheme its Go `Config` carries. */
export const TEST_RELABEL_VALIDATE: readonly ValidateCase[] = [
  {
    name: 'empty action',
    rule: { action: null },
    scheme: 'utf8',
    error: { field: 'action', message: 'relabel action cannot be empty' },
  },
  {
    name: 'replace without target_label',
    rule: { action: 'replace' },
    scheme: 'utf8',
    error: { field: 'target_label', message: "relabel configuration for replace action requires 'target_label' value" },
  },
  {
    name: 'lowercase without target_label',
    rule: { action: 'lowercase' },
    scheme: 'utf8',
    error: {
      field: 'target_label',
      message: "relabel configuration for lowercase action requires 'target_label' value",
    },
  },
  {
    name: 'lowercase to ${3}, UTF-8',
    rule: { action: 'lowercase', replacement: '$1', target_label: '${3}' },
    scheme: 'utf8',
  },
  {
    name: 'lowercase to ${3}, legacy',
    rule: { action: 'lowercase', replacement: '$1', target_label: '${3}' },
    scheme: 'legacy',
    error: { field: 'target_label', message: `"\${3}" is invalid 'target_label' for lowercase action` },
  },
  {
    name: 'replace to ${3}, UTF-8',
    rule: {
      source_labels: ['a'],
      regex: 'some-([^-]+)-([^,]+)',
      action: 'replace',
      replacement: '${1}',
      target_label: '${3}',
    },
    scheme: 'utf8',
  },
  {
    name: 'replace to 0${3}, UTF-8',
    rule: {
      source_labels: ['a'],
      regex: 'some-([^-]+)-([^,]+)',
      action: 'replace',
      replacement: '${1}',
      target_label: '0${3}',
    },
    scheme: 'utf8',
  },
  {
    name: 'replace to -${3}, UTF-8',
    rule: {
      source_labels: ['a'],
      regex: 'some-([^-]+)-([^,]+)',
      action: 'replace',
      replacement: '${1}',
      target_label: '-${3}',
    },
    scheme: 'utf8',
  },
  {
    name: 'labelmap to $1, legacy',
    rule: { regex: '__meta_kubernetes_pod_label_(strimzi_io_.+)', action: 'labelmap', replacement: '$1' },
    scheme: 'legacy',
  },
  {
    name: 'labelmap to ${1}, legacy',
    rule: { regex: '__meta_(.+)', action: 'labelmap', replacement: '${1}' },
    scheme: 'legacy',
  },
];

/** config/config_test.go's relabel entries of `expectedErrors` (testdata/*.bad.yml), the rule only. */
export const CONFIG_BAD_FILES: readonly ValidateCase[] = [
  {
    name: 'regex.bad.yml',
    rule: { regex: 'abc(def' },
    scheme: 'utf8',
    error: { field: 'regex', message: 'error parsing regexp' },
  },
  {
    name: 'modulus_missing.bad.yml',
    rule: { regex: 'abcdef', action: 'hashmod' },
    scheme: 'utf8',
    error: { field: 'modulus', message: 'relabel configuration for hashmod requires non-zero modulus' },
  },
  ...(['labelkeep', 'labeldrop'] as const).flatMap((action) =>
    (
      [
        ['', { source_labels: ['abcdef'] }, 'source_labels'],
        ['2', { modulus: 8 }, 'modulus'],
        ['3', { separator: ',' }, 'separator'],
        ['4', { replacement: 'yolo-{1}' }, 'replacement'],
        ['5', { target_label: 'yolo' }, 'target_label'],
      ] as const
    ).map(
      ([n, extra, field]): ValidateCase => ({
        name: `${action}${n}.bad.yml`,
        rule: { ...extra, action },
        scheme: 'utf8',
        error: { field, message: `${action} action requires only 'regex', and no other fields` },
      }),
    ),
  ),
  ...(['dropequal', 'keepequal'] as const).flatMap((action): ValidateCase[] => [
    {
      name: `${action}.bad.yml`,
      rule: { source_labels: ['abcdef'], action },
      scheme: 'utf8',
      error: {
        field: 'target_label',
        message: `relabel configuration for ${action} action requires 'target_label' value`,
      },
    },
    {
      name: `${action}1.bad.yml`,
      rule: { source_labels: ['abcdef'], action, regex: 'foo', target_label: 'bar' },
      scheme: 'utf8',
      error: {
        field: 'regex',
        message: `${action} action requires only 'source_labels' and \`target_label\`, and no other fields`,
      },
    },
  ]),
  {
    name: 'lowercase.bad.yml (legacy)',
    rule: { action: 'lowercase', source_labels: ['__name__'] },
    scheme: 'legacy',
    error: {
      field: 'target_label',
      message: "relabel configuration for lowercase action requires 'target_label' value",
    },
  },
  {
    name: 'lowercase3.bad.yml',
    rule: { action: 'lowercase', source_labels: ['__name__'], target_label: '__name__', replacement: 'bar' },
    scheme: 'utf8',
    error: { field: 'replacement', message: "'replacement' can not be set for lowercase action" },
  },
  {
    name: 'uppercase.bad.yml',
    rule: { action: 'uppercase', source_labels: ['__name__'] },
    scheme: 'utf8',
    error: {
      field: 'target_label',
      message: "relabel configuration for uppercase action requires 'target_label' value",
    },
  },
  {
    name: 'uppercase3.bad.yml',
    rule: { action: 'uppercase', source_labels: ['__name__'], target_label: '__name__', replacement: 'bar' },
    scheme: 'utf8',
    error: { field: 'replacement', message: "'replacement' can not be set for uppercase action" },
  },
  {
    name: 'target_label_missing.bad.yml',
    rule: { regex: 'abcdef' },
    scheme: 'utf8',
    error: { field: 'target_label', message: "relabel configuration for replace action requires 'target_label' value" },
  },
  {
    name: 'target_label_hashmod_missing.bad.yml',
    rule: { source_labels: ['__address__'], modulus: 8, action: 'hashmod' },
    scheme: 'utf8',
    error: { field: 'target_label', message: "relabel configuration for hashmod action requires 'target_label' value" },
  },
  {
    name: 'empty_rw_relabel_config.bad.yml',
    rule: null,
    scheme: 'utf8',
    error: { field: '', message: 'empty or null relabeling rule' },
  },
  {
    name: 'empty_scrape_config_action.bad.yml',
    rule: { action: null },
    scheme: 'utf8',
    error: { field: 'action', message: 'relabel action cannot be empty' },
  },
];

/** `TestTargetLabelLegacyValidity`: Prometheus' relabelTargetLegacy pattern. */
export const LEGACY_TARGET_VALIDITY: readonly [string, boolean][] = [
  ['-label', false],
  ['label', true],
  ['label${1}', true],
  ['${1}label', true],
  ['${1}', true],
  ['${1}label', true],
  ['${', false],
  ['$', false],
  ['${}', false],
  ['foo${', false],
  ['$1', true],
  ['asd$2asd', true],
  ['-foo${1}bar-', false],
  ['bar.foo${1}bar', false],
  ['_${1}_', true],
  ['foo${bar}foo', true],
];

/**
 * `TestConfig_UnmarshalThenMarshal`: configs Prometheus accepts, with the rule they resolve to
 * (Prometheus checks the round trip; here, what each field became).
 */
export const UNMARSHAL_CASES: readonly { name: string; rule: YamlRule; resolved: Record<string, unknown> }[] = [
  {
    name: 'Values provided',
    rule: {
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_port'],
      separator: ';',
      regex: '\\\\d+',
      target_label: '__meta_kubernetes_pod_container_port_number',
      replacement: '$1',
      action: 'replace',
    },
    resolved: { separator: ';', regex: '\\\\d+', replacement: '$1', action: 'replace' },
  },
  {
    name: 'No regex provided',
    rule: {
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_port'],
      separator: ';',
      target_label: '__meta_kubernetes_pod_container_port_number',
      replacement: '$1',
      action: 'keepequal',
    },
    resolved: { separator: ';', regex: '(.*)', replacement: '$1', action: 'keepequal' },
  },
  {
    name: 'Default regex provided',
    rule: {
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_port'],
      separator: ';',
      regex: '(.*)',
      target_label: '__meta_kubernetes_pod_container_port_number',
      replacement: '$1',
      action: 'replace',
    },
    resolved: { separator: ';', regex: '(.*)', replacement: '$1', action: 'replace' },
  },
  {
    name: 'Explicit empty separator and replacement',
    rule: {
      source_labels: ['namespace', 'k8s_app'],
      separator: '',
      regex: '',
      target_label: 'target_cluster',
      replacement: '',
      action: 'replace',
    },
    resolved: { separator: '', regex: '', replacement: '', action: 'replace' },
  },
];
