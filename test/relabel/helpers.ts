/** Shared by the relabel tests: labels as records <-> flat sorted arrays, and reading rules. */
import { FieldReader } from '../../src/config/field-reader.js';
import { readRelabelConfigs } from '../../src/relabel/config.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import { compareUtf8 } from '../../src/serialization/label-order.js';
import type { NameValidationScheme } from '../../src/serialization/name-validation.js';

/** A record as promspool stores labels: flat, sorted by name in UTF-8 byte order. */
export function flat(labels: Record<string, string>): string[] {
  return Object.entries(labels)
    .sort((a, b) => compareUtf8(a[0], b[0]))
    .flat();
}

/** Reads rules that must be valid; fails with every error otherwise. */
export function readRules(rules: unknown, scheme: NameValidationScheme = 'utf8'): RelabelRule[] {
  const r = new FieldReader('snake');
  const out = readRelabelConfigs(r, rules, 'write_relabel_configs', scheme);
  if (out === undefined || r.errors.length > 0) {
    throw new Error(`rules refused: ${JSON.stringify(r.errors)}`);
  }
  return out;
}
