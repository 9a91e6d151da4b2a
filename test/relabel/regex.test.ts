/**
 * Relabel regexes: what RE2 refuses is refused (with the regex and RE2's reason), which patterns
 * run as a JavaScript translation, and a differential test: generated patterns of the safe subset
 * on generated inputs must give the same match and the same groups on both engines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRelabelRegex, execOnRe2, RelabelRegexError } from '../../src/relabel/regex.js';
import { fuzzCases, fuzzSeed, Rng } from '../reliability/fuzz-random.js';

describe('compileRelabelRegex refuses what Go refuses', () => {
  const refused: readonly [pattern: string, reason: string][] = [
    ['(a)\\1', 'invalid escape sequence: \\1'],
    ['(?=a)b', 'invalid perl operator: (?='],
    ['(?!a)b', 'invalid perl operator: (?!'],
    ['(?<=a)b', 'invalid perl operator: (?<'],
    ['(?<!a)b', 'invalid perl operator: (?<'],
    ['a*+', 'bad repetition operator: *+'],
    ['a++', 'bad repetition operator: ++'],
    ['a**', 'bad repetition operator: **'],
    ['abc(def', 'missing ): abc(def'],
    ['abc)', 'unexpected ): abc)'],
    ['a{1001}', 'invalid repetition size: {1001}'],
    ['[z-a]', 'invalid character class range: z-a'],
    ['\\u0041', 'invalid escape sequence: \\u'],
    ['\\cA', 'invalid escape sequence: \\c'],
    ['\\C', 'invalid escape sequence: `\\C`'],
    ['(?P<é>a)', 'invalid named capture group: (?P<é>'],
    ['(?P=n)', 'invalid perl operator: (?P'],
    ['\\Qa', 'missing ): \\Qa'],
  ];
  for (const [pattern, reason] of refused) {
    it(`${JSON.stringify(pattern)}: ${reason}`, () => {
      assert.throws(
        () => compileRelabelRegex(pattern),
        (e: unknown) => {
          assert.ok(e instanceof RelabelRegexError);
          assert.equal(e.regex, pattern);
          assert.equal(e.message, `error parsing regexp ${JSON.stringify(pattern)}: ${e.reason}`);
          assert.ok(e.reason.startsWith(reason.split(':')[0]), e.reason);
          assert.ok(e.reason.includes(reason.slice(reason.indexOf(':') + 2)), e.reason);
          return true;
        },
      );
    });
  }
});

describe('compileRelabelRegex: engines', () => {
  const cases: readonly [
    pattern: string,
    engine: 'js' | 're2',
    input: string,
    groups: (string | undefined)[] | null,
  ][] = [
    ['(.*)', 'js', 'abc', ['abc', 'abc']],
    ['f(.*)', 'js', 'xfoo', null],
    ['.*_total', 'js', 'http_requests_total', ['http_requests_total']],
    ['(.+?)(\\:\\d+)?;(\\d+)', 'js', '10.0.0.1:80;9090', ['10.0.0.1:80;9090', '10.0.0.1', ':80', '9090']],
    ['(.+?)(\\:\\d+)?;(\\d+)', 'js', 'host;9090', ['host;9090', 'host', undefined, '9090']],
    ['(?P<x>hi)|(?P<x>bye)', 'js', 'bye', ['bye', undefined, 'bye']],
    ['(?<second>b)', 'js', 'b', ['b', 'b']],
    ['a|b', 'js', 'ab', null],
    ['\\s+', 'js', '\t\n\f\r ', ['\t\n\f\r ']],
    // RE2's \s has no \v and no Unicode spaces.
    ['\\s', 'js', '\v', null],
    ['\\s', 'js', '\u00a0', null],
    ['[\\s]', 'js', '\u2003', null],
    ['\\S', 'js', '\u00a0', ['\u00a0']],
    // \d, \w and \b are ASCII.
    ['\\d', 'js', '\u0663', null],
    ['\\w+', 'js', 'é', null],
    ['.\\b.', 'js', 'aé', ['aé']],
    ['.', 'js', '😀', ['😀']],
    ['.', 'js', '\n', ['\n']],
    ['[^a]', 'js', '\n', ['\n']],
    ['\\Aa\\z', 'js', 'a', ['a']],
    ['\\x41\\x{1F600}', 'js', 'A😀', ['A😀']],
    ['[\\x{1F600}-\\x{1F64F}]+', 'js', '😀🙏', ['😀🙏']],
    ['\\:\\-\\_\\ \\#', 'js', ':-_ #', [':-_ #']],
    ['[]a]+', 'js', ']a]', [']a]']],
    ['[a-]+', 'js', 'a-', ['a-']],
    ['a{2,3}', 'js', 'aaa', ['aaa']],
    ['(a*)?', 're2', '', ['', '']],
    ['(a*)*', 're2', '', ['', undefined]],
    ['(?:(a)|b)+', 're2', 'ab', ['ab', 'a']],
    ['(?i)ABC', 're2', 'abc', ['abc']],
    ['\\pL+', 're2', 'héllo', ['héllo']],
    ['\\p{Greek}+', 're2', 'αβγ', ['αβγ']],
    ['[[:alpha:]]+', 're2', 'abc', ['abc']],
    ['\\Q.*\\E', 're2', '.*', ['.*']],
    ['\\Q.*\\E', 're2', 'ab', null],
    ['\\12', 're2', '\n', ['\n']],
    ['a{,3}', 're2', 'a{,3}', ['a{,3}']],
    ['(?U)(a+)', 're2', 'aa', ['aa', 'aa']],
    ['(?m)^a$', 're2', 'a', ['a']],
  ];
  for (const [pattern, engine, input, groups] of cases) {
    it(`${pattern} runs on ${engine}; ${JSON.stringify(input)} -> ${JSON.stringify(groups)}`, () => {
      const re = compileRelabelRegex(pattern);
      assert.equal(re.engine, engine);
      const got = re.exec(input);
      assert.deepEqual(got === null ? null : Array.from(got), groups);
      assert.equal(re.test(input), groups !== null);
      const onRe2 = execOnRe2(re, input);
      assert.deepEqual(onRe2 === null ? null : Array.from(onRe2), groups);
    });
  }

  it('names groups as Go does (SubexpNames)', () => {
    assert.deepEqual(compileRelabelRegex('(a)(?P<x>b)(?:c)(?<y>d)[(](e)').subexpNames, ['', '', 'x', 'y', '']);
    assert.deepEqual(compileRelabelRegex('\\Q(\\E(a)').subexpNames, ['', '']);
    assert.deepEqual(compileRelabelRegex('[[:alpha:](](a)').subexpNames, ['', '']);
  });

  it('bounds backtracking: longer inputs than the budget allows go to RE2, with the same result', () => {
    const re = compileRelabelRegex('(.*)_(.*)_(.*)x');
    assert.equal(re.engine, 'js');
    assert.ok(re.jsMaxInput >= 32 && re.jsMaxInput < 100, String(re.jsMaxInput));
    const long = '_'.repeat(20_000);
    assert.equal(re.test(long), false);
    assert.deepEqual(Array.from(re.exec(`${long}x`) ?? []), [`${long}x`, long.slice(2), '', '']);
    assert.equal(compileRelabelRegex('abc|def').jsMaxInput, Number.POSITIVE_INFINITY);
  });
});

/** A generated pattern and a way to make strings it (most likely) matches. */
interface Gen {
  readonly re: string;
  sample(rng: Rng): string;
}

/** A random pattern of the safe subset (and, now and then, something just outside it). */
function generatePattern(rng: Rng, depth = 0): Gen {
  const branches: Gen[] = [];
  const count = rng.chance(0.2) ? rng.range(2, 3) : 1;
  for (let b = 0; b < count; b++) {
    const pieces: Gen[] = [];
    const n = rng.range(depth === 0 ? 1 : 0, 4);
    for (let p = 0; p < n; p++) pieces.push(generatePiece(rng, depth));
    branches.push({ re: pieces.map((x) => x.re).join(''), sample: (r) => pieces.map((x) => x.sample(r)).join('') });
  }
  return { re: branches.map((b) => b.re).join('|'), sample: (r) => r.pick(branches).sample(r) };
}

/** [pattern, characters it matches]. */
const LITERALS: readonly [string, string][] = [
  ['a', 'a'],
  ['b', 'b'],
  ['c', 'c'],
  ['_', '_'],
  ['-', '-'],
  ['\\.', '.'],
  [' ', ' '],
  ['é', 'é'],
  ['😀', '😀'],
  ['0', '0'],
  ['\\:', ':'],
  ['\\x61', 'a'],
  ['\\t', '\t'],
  ['\\n', '\n'],
  ['\\{', '{'],
  ['}', '}'],
  [']', ']'],
  ['/', '/'],
];
const CLASSES: readonly [string, string[]][] = [
  ['.', ['a', '\n', 'é', '😀', ' ']],
  ['\\d', ['0', '9']],
  ['\\D', ['a', '\u0663', '\n']],
  ['\\w', ['a', '_', '0']],
  ['\\W', ['-', 'é', ' ']],
  ['\\s', ['\t', '\n', '\f', '\r', ' ']],
  ['\\S', ['a', '\v', '\u00a0']],
  ['[ab]', ['a', 'b']],
  ['[^a]', ['b', '\n', '😀']],
  ['[a-c]', ['a', 'b', 'c']],
  ['[\\d_]', ['0', '_']],
  ['[\\w-]', ['a', '-']],
  ['[\\s.]', [' ', '.', '\t']],
  ['[^\\s]', ['a', '\v']],
  ['[]a]', [']', 'a']],
  ['[a-]', ['a', '-']],
  ['[é-😀]', ['é', '😀', 'ÿ']],
  ['[\\x00-\\x{10FFFF}]', ['a', '😀', '\n']],
  ['[\\D]', ['a', '-']],
  ['[^\\W]', ['a', '0', '_']],
  ['[\\-a]', ['-', 'a']],
];
const ASSERTIONS = ['^', '$', '\\b', '\\B', '\\A', '\\z'];
const QUANTIFIERS: readonly [string, number, number][] = [
  ['*', 0, 3],
  ['+', 1, 3],
  ['?', 0, 1],
  ['{2}', 2, 2],
  ['{1,}', 1, 3],
  ['{0,2}', 0, 2],
  ['{1,3}', 1, 3],
];

function generatePiece(rng: Rng, depth: number): Gen {
  const roll = rng.float();
  let atom: Gen;
  if (roll < 0.3 || (roll >= 0.7 && depth >= 2)) {
    const [re, c] = rng.pick(LITERALS);
    atom = { re, sample: () => c };
  } else if (roll < 0.62) {
    const [re, chars] = rng.pick(CLASSES);
    atom = { re, sample: (r) => r.pick(chars) };
  } else if (roll < 0.7) {
    return { re: rng.pick(ASSERTIONS), sample: () => '' };
  } else {
    const open = rng.pick(['(', '(', '(?:', '(?P<n>', '(?<m>']);
    const inner = generatePattern(rng, depth + 1);
    const group = { re: `${open}${inner.re})`, sample: inner.sample };
    // Mostly `?` (the subset allows it on a group that cannot match empty); now and then `*`
    // or `+`, which must stay on RE2.
    if (!rng.chance(0.3)) return group;
    const q = rng.pick(['?', '??', '?', '*', '+']);
    return { re: group.re + q, sample: (r) => (q === '+' || r.chance(0.5) ? group.sample(r) : '') };
  }
  if (!rng.chance(0.45)) return atom;
  const [q, min, max] = rng.pick(QUANTIFIERS);
  const lazy = rng.chance(0.2) ? '?' : '';
  return {
    re: `${atom.re}${q}${lazy}`,
    sample: (r) => {
      let s = '';
      for (let k = r.range(min, max); k > 0; k--) s += atom.sample(r);
      return s;
    },
  };
}

const INPUT_CHARS = [
  'a',
  'b',
  'c',
  '_',
  '-',
  '.',
  ' ',
  '\n',
  '\t',
  '\v',
  '\f',
  '\u00a0',
  'é',
  '😀',
  '0',
  '9',
  ':',
  '{',
  '}',
  ']',
  '/',
];

/** A sample of the pattern, a sample with one character changed, or random text. */
function generateInput(rng: Rng, gen: Gen): string {
  const roll = rng.float();
  if (roll < 0.5) return gen.sample(rng);
  if (roll < 0.75) {
    const chars = [...gen.sample(rng)];
    const at = rng.int(chars.length + 1);
    if (rng.chance(0.5)) chars.splice(at, 1);
    else chars.splice(at, 0, rng.pick(INPUT_CHARS));
    return chars.join('');
  }
  let s = '';
  for (let i = rng.int(9); i > 0; i--) s += rng.pick(INPUT_CHARS);
  return s;
}

describe('the JavaScript translation agrees with RE2 (differential)', () => {
  it('on generated patterns and inputs: same match, same groups', (t) => {
    const seed = fuzzSeed(0x5e1abe1);
    const rng = new Rng(seed);
    const patterns = fuzzCases(1500);
    let translated = 0;
    let compared = 0;
    let matched = 0;
    for (let p = 0; p < patterns; p++) {
      const gen = generatePattern(rng);
      const pattern = gen.re;
      let re: ReturnType<typeof compileRelabelRegex>;
      try {
        re = compileRelabelRegex(pattern);
      } catch (e) {
        if (e instanceof RelabelRegexError) continue;
        throw e;
      }
      if (re.engine !== 'js') {
        re.dispose();
        continue;
      }
      translated++;
      for (let k = 0; k < 40; k++) {
        const input = generateInput(rng, gen);
        const js = re.exec(input);
        const re2 = execOnRe2(re, input);
        const where = `seed ${seed}, pattern ${JSON.stringify(pattern)}, input ${JSON.stringify(input)}`;
        assert.deepEqual(js === null ? null : Array.from(js), re2 === null ? null : Array.from(re2), where);
        assert.equal(re.test(input), re2 !== null, where);
        compared++;
        if (re2 !== null) matched++;
      }
      re.dispose();
    }
    t.diagnostic(
      `seed ${seed}: ${translated} of ${patterns} patterns translated, ${matched} of ${compared} inputs matched`,
    );
    // The test must exercise the translation, with matches as well as misses.
    assert.ok(translated > patterns / 3, `only ${translated} of ${patterns} patterns translated`);
    assert.ok(matched > compared / 4, `only ${matched} of ${compared} inputs matched`);
  });
});
