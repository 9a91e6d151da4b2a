// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go templates (`${1}`) are data here, not JavaScript.
/**
 * The engine beyond Prometheus' table: identity when nothing changes, UTF-8 byte order, hashmod
 * values and exactness past 2^53, Go's case mapping, labels.Builder's visiting order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goToLower, goToUpper } from '../../src/relabel/case-mapping.js';
import { compileRelabeling } from '../../src/relabel/engine.js';
import { hashMod } from '../../src/relabel/hashmod.js';
import { compareUtf8 } from '../../src/serialization/label-order.js';
import { flat, readRules } from './helpers.js';

describe('compileRelabeling: identity', () => {
  const input = flat({ __name__: 'up', job: 'node' });
  const cases: readonly [string, unknown[]][] = [
    ['no rules', []],
    ['a keep that matches', [{ source_labels: ['job'], regex: 'node', action: 'keep' }]],
    ['a replace writing the same value', [{ source_labels: ['job'], target_label: 'job' }]],
    ['a labeldrop matching nothing', [{ regex: 'instance', action: 'labeldrop' }]],
    [
      'setting then deleting a label',
      [
        { target_label: 'x', replacement: 'y' },
        { regex: 'x', action: 'labeldrop' },
      ],
    ],
    ['a lowercase of a lowercase value', [{ source_labels: ['job'], target_label: 'job', action: 'lowercase' }]],
  ];
  for (const [name, rules] of cases) {
    it(`${name}: the same array instance`, () => {
      assert.equal(compileRelabeling(readRules(rules), 'utf8').process(input), input);
    });
  }

  it('a change gives a new sorted array and leaves the input alone', () => {
    const relabeler = compileRelabeling(readRules([{ target_label: 'env', replacement: 'prod' }]), 'utf8');
    const out = relabeler.process(input);
    assert.deepEqual(out, ['__name__', 'up', 'env', 'prod', 'job', 'node']);
    assert.deepEqual(input, ['__name__', 'up', 'job', 'node']);
  });

  it('a series whose every label is dropped is kept, empty (as Prometheus)', () => {
    assert.deepEqual(compileRelabeling(readRules([{ regex: '.*', action: 'labeldrop' }]), 'utf8').process(input), []);
  });
});

describe('label order is UTF-8 byte order', () => {
  it('a supplementary character sorts after U+FFFD (JavaScript < says before)', () => {
    assert.ok('😀' < '\ufffd');
    assert.ok(compareUtf8('😀', '\ufffd') > 0);
    assert.ok(compareUtf8('a\ue000', 'a😀') < 0);
    assert.ok(compareUtf8('ab', 'abc') < 0);
    assert.equal(compareUtf8('é', 'é'), 0);
    const relabeler = compileRelabeling(readRules([{ target_label: '😀', replacement: 'x' }]), 'utf8');
    assert.deepEqual(relabeler.process(['a', '1', '\ufffd', '2']), ['a', '1', '\ufffd', '2', '😀', 'x']);
  });
});

describe('hashmod', () => {
  // The first two from Prometheus' TestRelabel; the others checked with Python's hashlib and int.
  const cases: readonly [string, bigint, string][] = [
    ['baz', 1000n, '976'],
    ['foo\nbar', 1000n, '734'],
    ['baz', 1n, '0'],
    ['baz', 18446744073709551615n, '16450797887570275976'], // the hash itself: it is below the modulus
    ['baz', 9007199254740993n, '3652048413222758'], // 2^53 + 1: exact only in integer arithmetic
  ];
  for (const [value, modulus, expected] of cases) {
    it(`${JSON.stringify(value)} mod ${modulus} = ${expected}`, () => {
      assert.equal(hashMod(value, modulus), expected);
    });
  }

  it('reads a modulus given as a bigint (a YAML loader reading big integers exactly)', () => {
    const [rule] = readRules([
      { source_labels: ['c'], target_label: 'd', action: 'hashmod', modulus: 18446744073709551615n },
    ]);
    assert.equal(rule.modulus, 18446744073709551615n);
    assert.deepEqual(compileRelabeling([rule], 'utf8').process(['c', 'baz']), [
      'c',
      'baz',
      'd',
      '16450797887570275976',
    ]);
  });
});

describe("Go's case mapping", () => {
  const lower: readonly [string, string][] = [
    ['bAr123Foo', 'bar123foo'],
    ['İ', 'i'], // full mapping: 'i̇' (2 code points)
    ['ΣΑΣ', 'σασ'], // no final sigma
    ['ǅ', 'ǆ'],
    ['Ａ😀', 'ａ😀'],
    ['K', 'k'], // KELVIN SIGN
  ];
  const upper: readonly [string, string][] = [
    ['bAr123Foo', 'BAR123FOO'],
    ['ß', 'ß'], // full: 'SS'
    ['ﬀ', 'ﬀ'], // full: 'FF'
    ['ŉ', 'ŉ'], // full: 'ʼN'
    ['ᾳ', 'ᾼ'], // full: 'ΑΙ'
    ['ᾀ', 'ᾈ'], // full: 'ἈΙ'
    ['ᾈ', 'ᾈ'], // titlecase: full 'ἈΙ', no simple mapping
    ['ı', 'I'],
    ['ſ', 'S'],
    ['ǆ', 'Ǆ'],
    ['\u0345', '\u0399'],
  ];
  for (const [s, expected] of lower) it(`lower ${s} -> ${expected}`, () => assert.equal(goToLower(s), expected));
  for (const [s, expected] of upper) it(`upper ${s} -> ${expected}`, () => assert.equal(goToUpper(s), expected));

  it('lowercase of an empty value deletes the target', () => {
    const rules = readRules([{ source_labels: ['missing'], target_label: 'a', action: 'lowercase' }]);
    assert.deepEqual(compileRelabeling(rules, 'utf8').process(['a', 'x', 'b', 'y']), ['b', 'y']);
  });
});

describe('labels.Builder semantics', () => {
  it('labelmap visits base labels in order, then added ones: the last mapped wins', () => {
    const rules = readRules([
      { target_label: 'z_b', replacement: 'added' },
      { regex: '[a-z]_(.*)', replacement: 'm_$1', action: 'labelmap' },
    ]);
    // a_b and then z_b (added by the first rule, so visited last) both map to m_b.
    assert.deepEqual(compileRelabeling(rules, 'utf8').process(['a_b', 'base']), [
      'a_b',
      'base',
      'm_b',
      'added',
      'z_b',
      'added',
    ]);
  });

  it('a replace whose expanded target is invalid for the scheme does nothing', () => {
    const rules = [{ source_labels: ['a'], regex: '(.*)', target_label: '$1', replacement: 'v' }];
    assert.deepEqual(compileRelabeling(readRules(rules, 'legacy'), 'legacy').process(['a', 'x.y']), ['a', 'x.y']);
    assert.deepEqual(compileRelabeling(readRules(rules, 'utf8'), 'utf8').process(['a', 'x.y']), [
      'a',
      'x.y',
      'x.y',
      'v',
    ]);
  });

  it('source labels read values set by earlier rules, joined by the separator', () => {
    const rules = readRules([
      { target_label: 'b', replacement: '2' },
      { source_labels: ['a', 'b', 'missing'], separator: '/', target_label: 'c' },
    ]);
    assert.deepEqual(compileRelabeling(rules, 'utf8').process(['a', '1']), ['a', '1', 'b', '2', 'c', '1/2/']);
  });
});
