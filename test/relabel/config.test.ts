// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go templates (`${1}`) are data here, not JavaScript.
/** readRelabelConfigs: paths of errors, both key styles, Go's zero values for keys with no value. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldReader } from '../../src/config/field-reader.js';
import { readRelabelConfigs } from '../../src/relabel/config.js';
import type { NameValidationScheme } from '../../src/serialization/name-validation.js';

const PATH = 'remote_write[0].write_relabel_configs';

function read(value: unknown, scheme: NameValidationScheme = 'utf8', style: 'snake' | 'camel' = 'snake') {
  const r = new FieldReader(style);
  const rules = readRelabelConfigs(r, value, style === 'snake' ? PATH : 'endpoints[0].writeRelabelConfigs', scheme);
  return { rules, errors: r.errors.map((e) => `${e.path}: ${e.message}`) };
}

describe('readRelabelConfigs', () => {
  it('points each error at its field, in every rule', () => {
    const { rules, errors } = read(
      [
        { source_labels: ['__name__'], regex: 'up', action: 'keep' },
        { source_labels: ['__name__'], regex: '(a)\\1', action: 'drop' },
        { action: 'hashmod', target_label: 'x' },
        { sourec_labels: ['a'], target_label: 'b' },
        { action: 'Keeep' },
        { source_labels: ['a', 'b.c'], target_label: 'x' },
      ],
      'legacy',
    );
    assert.equal(rules, undefined);
    assert.deepEqual(errors, [
      `${PATH}[1].regex: error parsing regexp "(a)\\\\1": invalid escape sequence: \\1`,
      `${PATH}[2].modulus: relabel configuration for hashmod requires non-zero modulus`,
      `${PATH}[3].sourec_labels: unknown key, did you mean "source_labels"?`,
      `${PATH}[4].action: unknown relabel action "Keeep" (did you mean "keep"?)`,
      `${PATH}[5].source_labels[1]: "b.c" is not a valid label name`,
    ]);
  });

  it('reads JS options in camelCase and reports camelCase paths', () => {
    const ok = read([{ sourceLabels: ['a'], targetLabel: 'b', action: 'REPLACE' }], 'utf8', 'camel');
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.rules, [
      {
        sourceLabels: ['a'],
        separator: ';',
        regex: '(.*)',
        modulus: 0n,
        targetLabel: 'b',
        replacement: '$1',
        action: 'replace',
      },
    ]);
    const bad = read([{ action: 'uppercase', sourceLabels: ['a'] }], 'utf8', 'camel');
    assert.deepEqual(bad.errors, [
      "endpoints[0].writeRelabelConfigs[0].targetLabel: relabel configuration for uppercase action requires 'target_label' value",
    ]);
  });

  it('takes a key with no value as Go zero value, not the default', () => {
    const { rules, errors } = read([
      { target_label: 'x', regex: null, separator: null, replacement: null, source_labels: null },
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(rules?.[0], {
      sourceLabels: [],
      separator: '',
      regex: '',
      modulus: 0n,
      targetLabel: 'x',
      replacement: '',
      action: 'replace',
    });
  });

  it('refuses on keepequal any regex written, even the default one (Go compares the pointer)', () => {
    assert.deepEqual(read([{ source_labels: ['a'], target_label: 'b', action: 'keepequal', regex: '(.*)' }]).errors, [
      `${PATH}[0].regex: keepequal action requires only 'source_labels' and \`target_label\`, and no other fields`,
    ]);
  });

  it('refuses an empty source_labels list on labeldrop, accepts one with no value', () => {
    assert.deepEqual(read([{ regex: 'a', action: 'labeldrop', source_labels: [] }]).errors, [
      `${PATH}[0].source_labels: labeldrop action requires only 'regex', and no other fields`,
    ]);
    assert.deepEqual(read([{ regex: 'a', action: 'labeldrop', source_labels: null }]).errors, []);
  });

  it('takes YAML numbers and booleans in string fields as their text', () => {
    const { rules, errors } = read([{ source_labels: ['code'], regex: 404, target_label: 'x', replacement: true }]);
    assert.deepEqual(errors, []);
    assert.equal(rules?.[0].regex, '404');
    assert.equal(rules?.[0].replacement, 'true');
  });

  it('checks modulus as a uint64', () => {
    assert.deepEqual(read([{ action: 'hashmod', target_label: 'x', modulus: -1 }]).errors, [
      `${PATH}[0].modulus: expected a non-negative integer (uint64), got -1`,
    ]);
    assert.deepEqual(read([{ action: 'hashmod', target_label: 'x', modulus: 2 ** 60 }]).errors, [
      `${PATH}[0].modulus: ${2 ** 60} is too large to be read exactly (above 2^53)`,
    ]);
    assert.deepEqual(read([{ action: 'hashmod', target_label: 'x', modulus: 1n << 64n }]).errors, [
      `${PATH}[0].modulus: expected a non-negative integer (uint64), got a bigint`,
    ]);
  });

  it('gives [] for no list, an error for something else', () => {
    assert.deepEqual(read(undefined), { rules: [], errors: [] });
    assert.deepEqual(read(null), { rules: [], errors: [] });
    assert.deepEqual(read({ action: 'drop' }).errors, [`${PATH}: expected a list, got a mapping`]);
    assert.deepEqual(read(['drop']).errors, [`${PATH}[0]: expected a mapping, got a string ("drop")`]);
  });

  it('validates a legacy labelmap replacement with the relabelTargetLegacy rule', () => {
    assert.deepEqual(read([{ regex: '(.*)', action: 'labelmap', replacement: 'a.$1' }], 'legacy').errors, [
      `${PATH}[0].replacement: "a.$1" is invalid 'replacement' for labelmap action`,
    ]);
    assert.deepEqual(read([{ regex: '(.*)', action: 'labelmap', replacement: 'a.$1' }], 'utf8').errors, []);
  });
});
