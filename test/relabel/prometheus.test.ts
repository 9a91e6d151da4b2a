/**
 * Prometheus' own relabel test tables (see prometheus-cases.ts), run through promspool's config
 * reader (rules as plain YAML-shaped objects) and engine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldReader } from '../../src/config/field-reader.js';
import { isLegacyRelabelTarget, readRelabelConfigs } from '../../src/relabel/config.js';
import { compileRelabeling } from '../../src/relabel/engine.js';
import { flat, readRules } from './helpers.js';
import {
  CONFIG_BAD_FILES,
  LEGACY_TARGET_VALIDITY,
  TEST_RELABEL,
  TEST_RELABEL_VALIDATE,
  UNMARSHAL_CASES,
  type ValidateCase,
} from './prometheus-cases.js';

describe('TestRelabel (prometheus/model/relabel)', () => {
  for (const c of TEST_RELABEL) {
    it(c.name, () => {
      const relabeler = compileRelabeling(readRules(c.rules, 'utf8'), 'utf8');
      const out = relabeler.process(flat(c.input));
      assert.deepEqual(out, c.output === 'drop' ? null : flat(c.output));
    });
  }
});

function checkValidation(c: ValidateCase): void {
  const r = new FieldReader('snake');
  const path = 'remote_write[0].write_relabel_configs';
  const rules = readRelabelConfigs(r, [c.rule], path, c.scheme);
  if (c.error === undefined) {
    assert.deepEqual(r.errors, []);
    assert.equal(rules?.length, 1);
    return;
  }
  assert.equal(rules, undefined);
  assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
  const [error] = r.errors;
  assert.equal(error.path, c.error.field === '' ? `${path}[0]` : `${path}[0].${c.error.field}`);
  assert.ok(
    error.message.includes(c.error.message),
    `${JSON.stringify(error.message)} lacks ${JSON.stringify(c.error.message)}`,
  );
}

describe('TestRelabelValidate (prometheus/model/relabel)', () => {
  for (const c of TEST_RELABEL_VALIDATE) it(`${c.name} (${c.scheme})`, () => checkValidation(c));
});

describe('relabel entries of config_test.go expectedErrors', () => {
  for (const c of CONFIG_BAD_FILES) it(c.name, () => checkValidation(c));
});

describe('TestTargetLabelLegacyValidity (relabelTargetLegacy)', () => {
  for (const [target, valid] of LEGACY_TARGET_VALIDITY) {
    it(`${JSON.stringify(target)} is ${valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isLegacyRelabelTarget(target), valid);
    });
  }
});

describe('TestConfig_UnmarshalThenMarshal: accepted configs and what they resolve to', () => {
  for (const c of UNMARSHAL_CASES) {
    it(c.name, () => {
      const [rule] = readRules([c.rule], 'utf8');
      assert.deepEqual(
        { separator: rule.separator, regex: rule.regex, replacement: rule.replacement, action: rule.action },
        c.resolved,
      );
    });
  }
});
