import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoFloatG, formatOpenMetricsFloat, parseDigitsInt64, parseGoFloat } from '../../src/scrape/go-float.js';

const parse = (s: string) => parseGoFloat(s, 0, s.length);

describe('parseGoFloat (Go strconv.ParseFloat minus p, P, _)', () => {
  it('reads what Go reads', () => {
    assert.equal(parse('0'), 0);
    assert.equal(parse('1423'), 1423);
    assert.equal(parse('-7'), -7);
    assert.equal(parse('+1.5'), 1.5);
    assert.equal(parse('.5'), 0.5);
    assert.equal(parse('5.'), 5);
    assert.equal(parse('4.9351e-05'), 4.9351e-5);
    assert.equal(parse('7.424100000000001e-05'), 7.424100000000001e-5);
    assert.equal(parse('1E3'), 1000);
    assert.equal(parse('007'), 7);
    assert.equal(parse('1e-400'), 0);
    assert.equal(parse('12345678901234567890'), 1.2345678901234567e19);
  });
  it('reads every NaN and Inf spelling Go has, which JS Number() mostly does not', () => {
    for (const s of ['NaN', 'nan', 'nAn']) assert.ok(Number.isNaN(parse(s)), s);
    for (const s of ['Inf', '+Inf', 'inf', '+inf', 'INF', 'Infinity', '+infinity']) assert.equal(parse(s), Infinity, s);
    for (const s of ['-Inf', '-inf', '-Infinity']) assert.equal(parse(s), -Infinity, s);
  });
  it('refuses what Go (or Prometheus) refuses, including what JS Number() takes', () => {
    for (const s of [
      '',
      ' 1',
      '1 ',
      '0x10',
      '0b1',
      '0o7',
      '0x1p-3',
      '0x1P-3',
      '1_000',
      '+nan',
      '-NaN',
      'infin',
      'Infinityx',
      'true',
      '1z',
      '1e',
      '1e+',
      '.',
      '+',
      '-',
      '1.2.3',
      '1e400',
      '-1e400',
      '1\t2',
    ]) {
      assert.equal(parse(s), undefined, JSON.stringify(s));
    }
  });
  it('agrees with Number() on random decimal literals (fast path and slow path)', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const digits = (n: number) => Array.from({ length: n }, () => String(rnd(10))).join('');
    for (let k = 0; k < 20000; k++) {
      let lit = ['', '-', '+'][rnd(3)] + digits(1 + rnd(18));
      if (rnd(2)) lit += `.${digits(rnd(12))}`;
      if (rnd(2)) lit += `${['e', 'E'][rnd(2)]}${['', '-', '+'][rnd(3)]}${rnd(330)}`;
      const want = Number(lit);
      const got = parse(lit);
      if (Number.isFinite(want)) assert.ok(Object.is(got, want), `${lit}: ${got} !== ${want}`);
      else assert.equal(got, undefined, lit);
    }
  });
  it('parses within a larger string without slicing it', () => {
    assert.equal(parseGoFloat('a 42 7', 2, 4), 42);
  });
  it('reads int64 timestamps and refuses beyond int64', () => {
    assert.equal(parseDigitsInt64('123123', 0, 6), 123123);
    assert.equal(parseDigitsInt64('9223372036854775807', 0, 19), 2 ** 63); // the nearest double
    assert.equal(parseDigitsInt64('9223372036854775808', 0, 19), undefined);
  });
});

describe("formatGoFloatG / formatOpenMetricsFloat (Go's FormatFloat 'g' -1, labels.FormatOpenMetricsFloat)", () => {
  it("spells like Go's %g with shortest digits", () => {
    const cases: [number, string][] = [
      [1, '1'],
      [0.1, '0.1'],
      [123456, '123456'],
      [1e6, '1e+06'],
      [1234567, '1.234567e+06'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1.5e300, '1.5e+300'],
      [-2.5e-7, '-2.5e-07'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [Number.NaN, 'NaN'],
    ];
    for (const [f, s] of cases) assert.equal(formatGoFloatG(f), s, String(f));
  });
  it('adds .0 to integers as OpenMetrics spells them', () => {
    assert.equal(formatOpenMetricsFloat(0), '0.0');
    assert.equal(formatOpenMetricsFloat(1), '1.0');
    assert.equal(formatOpenMetricsFloat(10), '10.0');
    assert.equal(formatOpenMetricsFloat(0.25), '0.25');
    assert.equal(formatOpenMetricsFloat(1e6), '1e+06');
    assert.equal(formatOpenMetricsFloat(Infinity), '+Inf');
  });
});
