// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go templates (`${1}`) are data here, not JavaScript.
/**
 * Go's Regexp.Expand: the template cases of Go's regexp `replaceTests` (all_test.go) whose match
 * is the whole input, so the anchored relabel regex gives the same groups, plus the corners of
 * Go's `extract` (names made of letters and digits, numbers without leading zeros, malformed `$`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandTemplate } from '../../src/relabel/expand.js';
import { compileRelabelRegex } from '../../src/relabel/regex.js';

const CASES: readonly [pattern: string, template: string, input: string, expected: string][] = [
  // From Go's replaceTests.
  ['hello, (.+)', 'goodbye, ${1}', 'hello, world', 'goodbye, world'],
  ['hello, (.+)', 'goodbye, $1x', 'hello, world', 'goodbye, '],
  ['hello, (.+)', 'goodbye, ${1}x', 'hello, world', 'goodbye, worldx'],
  ['hello, (.+)', '<$0><$1><$2><$3>', 'hello, world', '<hello, world><world><><>'],
  ['hello, (?P<noun>.+)', 'goodbye, $noun!', 'hello, world', 'goodbye, world!'],
  ['hello, (?P<noun>.+)', 'goodbye, ${noun}', 'hello, world', 'goodbye, world'],
  ['(?P<x>hi)|(?P<x>bye)', '$x$x$x', 'hi', 'hihihi'],
  ['(?P<x>hi)|(?P<x>bye)', '$x$x$x', 'bye', 'byebyebye'],
  ['(?P<x>hi)|(?P<x>bye)', '$xyz', 'hi', ''],
  ['(?P<x>hi)|(?P<x>bye)', '${x}yz', 'hi', 'hiyz'],
  ['(?P<x>hi)|(?P<x>bye)', 'hello $$x', 'hi', 'hello $x'],
  ['a+', '${oops', 'aaa', '${oops'],
  ['a+', '$$', 'aaa', '$'],
  ['a+', '$', 'aaa', '$'],
  ['a+', '($0)', 'aaa', '(aaa)'],
  ['a+', '(${0})$0', 'aaa', '(aaa)aaa'],
  ['(x)?', '[$1]', '', '[]'],
  // extract's corners.
  ['(?P<1x>a)', '$1x', 'a', 'a'],
  ['(a)', '$1x', 'a', ''],
  ['(a)', '${1}x', 'a', 'ax'],
  ['(a)', '${01}', 'a', ''],
  ['(a)', '$01', 'a', ''],
  ['(a)', '$00', 'a', ''],
  ['(a)', '$0', 'a', 'a'],
  ['(a)', '$1-$1', 'a', 'a-a'],
  ['(a)', '$-', 'a', '$-'],
  ['(a)', '${}', 'a', '${}'],
  ['(a)', '${1', 'a', '${1'],
  ['(a)', '${1 }', 'a', '${1 }'],
  ['(a)', '$$1', 'a', '$1'],
  ['(a)', '$$$1', 'a', '$a'],
  ['(a)', 'x$', 'a', 'x$'],
  ['(a)', '$100000000', 'a', ''],
  ['(a)', '$1000000000', 'a', ''],
  ['(a)', '$é', 'a', ''],
  ['(?P<_x>a)(b)', '$_x/${2}', 'ab', 'a/b'],
  ['(a)|(b)', '[$1][$2]', 'b', '[][b]'],
];

describe('expandTemplate (Go Regexp.Expand)', () => {
  for (const [pattern, template, input, expected] of CASES) {
    it(`${JSON.stringify(template)} with ${pattern} on ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      const re = compileRelabelRegex(pattern);
      const groups = re.exec(input);
      assert.ok(groups !== null, 'the regex matches');
      assert.equal(expandTemplate(template, groups, re.subexpNames), expected);
    });
  }

  it('a name is letters and digits in any script: ${é1} is one name', () => {
    assert.equal(expandTemplate('[$é1]', ['x', 'y'], ['', 'é1']), '[y]');
    assert.equal(expandTemplate('[${é1}]', ['x', 'y'], ['', 'é1']), '[y]');
  });
});
