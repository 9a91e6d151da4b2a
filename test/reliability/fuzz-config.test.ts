// Mutated configuration files into parseConfig: whatever the text, it returns (never throws)
// either a config with no errors, or errors that each say where (a non-empty YAML path or a line).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ParseConfigResult, parseConfig } from '../../src/config/index.js';
import { fuzzCases, fuzzSeed, Rng } from './fuzz-random.js';

/** dist/test/reliability -> repository root. */
const EXAMPLE = fileURLToPath(new URL('../../../promspool.example.yaml', import.meta.url));
/** The compiled config module, for the child process of the abort test. */
const CONFIG_MODULE = new URL('../../src/config/index.js', import.meta.url).href;

const RANDOM_VALUES = [
  '0',
  '-1',
  '1e309',
  '99999999999999999999999',
  '0x1F',
  'true',
  'null',
  '~',
  '""',
  "''",
  '[]',
  '{}',
  '[1, [2, [3]]]',
  '{a: {b: {c: 1}}}',
  '-30s',
  '1h-5m',
  '10QiB',
  'NaN',
  '.inf',
  '!!binary aGVsbG8=',
  '!!timestamp 2001-12-14',
  '!unknown_tag x',
  '*undefined_alias',
  '&anchor value',
  '"\\u0000"',
  '"\\x7f\\ud800"',
  'ünïcödé ✓ 🦀',
  '"\u202e reversed"',
  '|\n  block\n  text',
  ':',
  '- - -',
  '? complex key',
  '%YAML 1.2',
  '---',
  '...',
  '@reserved',
  '`backtick',
  '"unterminated',
  'http://[::1',
  'a'.repeat(5_000),
];

/** Random printable and non-printable code points, including astral and lone surrogates. */
function randomUnicode(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const kind = rng.int(4);
    if (kind === 0) s += String.fromCharCode(rng.range(0x20, 0x7e));
    else if (kind === 1) s += String.fromCharCode(rng.range(0, 0x1f));
    else if (kind === 2) s += String.fromCodePoint(rng.range(0x80, 0x10ffff));
    else s += String.fromCharCode(rng.range(0xd800, 0xdfff));
  }
  return s;
}

function deepNesting(rng: Rng, depth: number): string {
  const kind = rng.int(3);
  if (kind === 0) return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  if (kind === 1) return `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
  // Block style: each level indented one more space.
  let s = '';
  for (let i = 0; i < depth; i++) s += `\n${' '.repeat(i + 1)}k${i}:`;
  return `${s} 1`;
}

/**
 * One to four random edits of the example file, line-based. `deep` adds deeply nested values
 * (kept apart: they find a bug, see the todo tests).
 */
function mutate(rng: Rng, lines: string[], deep: boolean): string {
  const out = [...lines];
  for (let e = 0, n = rng.range(1, 4); e < n; e++) {
    const i = rng.int(out.length);
    const line = out[i] ?? '';
    let kind = rng.int(8);
    if (kind === 4 && !deep) kind = 2;
    switch (kind) {
      case 0:
        out.splice(i, 1);
        break;
      case 1:
        out.splice(i, 0, line);
        break;
      case 2: {
        // Replace the value of a `key: value` line (or the whole line) with a random one.
        const m = /^(\s*-?\s*[\w.-]+:)/.exec(line);
        out[i] = m ? `${m[1]} ${rng.pick(RANDOM_VALUES)}` : rng.pick(RANDOM_VALUES);
        break;
      }
      case 3: {
        const at = rng.int(line.length + 1);
        out[i] = line.slice(0, at) + randomUnicode(rng, rng.range(1, 8)) + line.slice(at);
        break;
      }
      case 4: {
        const m = /^(\s*-?\s*[\w.-]+:)/.exec(line);
        out[i] = `${m ? m[1] : 'x:'} ${deepNesting(rng, rng.pick([10, 100, 1_000, 5_000]))}`;
        break;
      }
      case 5:
        // Shift indentation.
        out[i] = rng.chance(0.5) ? `  ${line}` : line.replace(/^ {1,2}/, '');
        break;
      case 6:
        // Tabs are not allowed as YAML indentation.
        out[i] = line.replace(/^ +/, '\t');
        break;
      default:
        // Cut the file here.
        out.length = i;
    }
  }
  return out.join('\n');
}

/** Asserts the contract of parseConfig's result; returns 'config' or 'errors'. */
function checkResult(res: ParseConfigResult, what: string): 'config' | 'errors' {
  assert.ok(Array.isArray(res.errors), `${what}: errors is an array`);
  if (res.errors.length === 0) {
    assert.ok(res.config, `${what}: no errors and no config`);
    return 'config';
  }
  assert.equal(res.config, undefined, `${what}: config alongside errors`);
  for (const e of res.errors) {
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0, `${what}: empty message`);
    assert.ok(
      (typeof e.path === 'string' && e.path.length > 0) || (Number.isInteger(e.line) && (e.line ?? 0) > 0),
      `${what}: error without path or line: ${JSON.stringify(e)}`,
    );
  }
  return 'errors';
}

function parseSafely(text: string, what: string): ParseConfigResult {
  const t0 = performance.now();
  let res: ParseConfigResult;
  try {
    res = parseConfig(text);
  } catch (err) {
    const stack = String((err as Error)?.stack ?? '')
      .split('\n')
      .slice(1, 8)
      .join('\n');
    assert.fail(
      `${what}: parseConfig threw ${String(err)}\n${stack}\n--- input (${text.length} chars) ---\n${text.slice(0, 300)}`,
    );
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 2_000, `${what}: took ${ms.toFixed(0)} ms`);
  return res;
}

describe('mutated configuration files', () => {
  const seed = fuzzSeed(0x5eed_0003);
  const cases = fuzzCases(1_500);
  const example = readFileSync(EXAMPLE, 'utf8');
  const lines = example.split('\n');

  it('the unmutated example parses', () => {
    assert.equal(checkResult(parseConfig(example), 'example'), 'config');
  });

  it(`${cases} mutations of promspool.example.yaml: never throws, every error says where`, () => {
    const rng = new Rng(seed);
    const got = { config: 0, errors: 0, errorCount: 0 };
    for (let c = 0; c < cases; c++) {
      const text = mutate(rng, lines, false);
      const res = parseSafely(text, `case ${c} (seed ${seed})`);
      got[checkResult(res, `case ${c} (seed ${seed})`)]++;
      got.errorCount += res.errors.length;
    }
    console.log(`# config fuzz (seed ${seed}): ${JSON.stringify(got)}`);
    assert.equal(got.config + got.errors, cases);
    assert.ok(got.config > 0 && got.errors > 0);
  });

  it(`${Math.round(cases / 3)} random texts and byte soups: never throws, every error says where`, () => {
    const rng = new Rng(seed + 1);
    const got = { config: 0, errors: 0 };
    for (let c = 0; c < Math.round(cases / 3); c++) {
      const text = rng.chance(0.5)
        ? randomUnicode(rng, rng.range(0, 400))
        : Buffer.from(rng.bytes(300)).toString('latin1');
      got[checkResult(parseSafely(text, `soup ${c}`), `soup ${c}`)]++;
    }
    console.log(`# config soup (seed ${seed + 1}): ${JSON.stringify(got)}`);
  });

  it(`${Math.round(cases / 10)} mutations with deeply nested values: never throws`, () => {
    const rng = new Rng(seed + 2);
    for (let c = 0; c < Math.round(cases / 10); c++) {
      const text = mutate(rng, lines, true);
      checkResult(parseSafely(text, `deep case ${c} (seed ${seed + 2})`), `deep case ${c}`);
    }
  });

  it('deep nesting is refused with a located error', () => {
    const texts = [
      `storage: ${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      `storage: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}`,
      // Merge keys into themselves.
      'base: &base { path: ./d }\nstorage:\n  <<: *base\n  <<: *base\n',
    ];
    for (const [i, text] of texts.entries()) {
      const res = parseSafely(text, `nesting ${i}`);
      assert.equal(checkResult(res, `nesting ${i}`), 'errors');
    }
  });

  it('alias expansion ("billion laughs") and an unresolved alias are refused with an error that says where', () => {
    // Each level doubles the previous one: 2^9 strings from 9 short lines.
    const text = [
      'a: &a ["x", "x"]',
      'b: &b [*a, *a]',
      'c: &c [*b, *b]',
      'd: &d [*c, *c]',
      'e: &e [*d, *d]',
      'f: &f [*e, *e]',
      'g: &g [*f, *f]',
      'h: &h [*g, *g]',
      'storage: [*h, *h]',
    ].join('\n');
    const res = parseSafely(text, 'billion laughs');
    assert.equal(checkResult(res, 'billion laughs'), 'errors');
    // Found by the fuzzer (a value replaced by an alias nobody defined), same code path.
    const unresolved = parseSafely('storage:\n  path: *undefined_alias\n', 'unresolved alias');
    assert.equal(checkResult(unresolved, 'unresolved alias'), 'errors');
  });

  it('a 20000-deep flow sequence after a 1000-deep one does not abort the process', () => {
    // In a child process: the failure is a V8 fatal error, which no try/catch can stop.
    const script = [
      `import { parseConfig } from ${JSON.stringify(CONFIG_MODULE)};`,
      "for (const d of [1000, 20000]) parseConfig('storage: ' + '['.repeat(d) + '1' + ']'.repeat(d));",
      "console.log('survived');",
    ].join('\n');
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(
      res.status,
      0,
      `exit ${res.status} ${res.signal ?? ''}: ${res.stderr.split('\n').find((l) => l.includes('FATAL')) ?? res.stderr.slice(-300)}`,
    );
    assert.match(res.stdout, /survived/);
  });
});
