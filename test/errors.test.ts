import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, type PromspoolErrorCode } from '../src/errors.js';
import * as api from '../src/index.js';

// Compiled to dist/test/errors.test.js: the sources and docs are two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * Codes promspool makes in src/: the first argument of `new PromspoolError(` / `new RetryableError(`
 * / `super(`, and string constants assigned `'ERR_...'` (passed on by name). Comparisons such as
 * tls.ts' `code === 'ERR_SSL_...'` read Node's codes and are not matched.
 */
function codesThrownInSrc(): Map<string, string[]> {
  const made = /(?:new\s+(?:PromspoolError|RetryableError)|\bsuper)\(\s*['"`](ERR_[A-Z0-9_]+)['"`]/g;
  const constant = /(?:const|let)\s+\w+\s*(?::[^=]+)?=\s*['"`](ERR_[A-Z0-9_]+)['"`]/g;
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const re of [made, constant]) {
      for (const m of text.matchAll(re)) {
        const where = found.get(m[1]) ?? [];
        where.push(file.slice(root.length));
        found.set(m[1], where);
      }
    }
  }
  return found;
}

/** Rows of the table in docs/errors.md: code -> { class, retried }. */
function documentedCodes(): Map<string, { class: string; retried: string }> {
  const rows = new Map<string, { class: string; retried: string }>();
  const text = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  for (const line of text.split('\n')) {
    const m = /^\| `(ERR_[A-Z0-9_]+)` \| `(\w+)` \| .* \| ([^|]+) \|$/.exec(line);
    if (m !== null) rows.set(m[1], { class: m[2], retried: m[3].trim() });
  }
  return rows;
}

const catalogue = Object.entries(ERROR_CODES) as [PromspoolErrorCode, (typeof ERROR_CODES)[PromspoolErrorCode]][];

describe('error catalogue', () => {
  it('every code made in src/ is in ERROR_CODES, and every listed code is made somewhere', () => {
    const thrown = codesThrownInSrc();
    const missing = [...thrown].filter(([code]) => !(code in ERROR_CODES)).map(([c, w]) => `${c} (${w.join(', ')})`);
    assert.deepEqual(missing, [], 'codes thrown but not in src/errors.ts ERROR_CODES');
    const unused = catalogue.map(([code]) => code).filter((code) => !thrown.has(code));
    assert.deepEqual(unused, [], 'codes in ERROR_CODES that nothing in src/ throws');
  });

  it('docs/errors.md has one row per code, with the same class and retry answer', () => {
    const docs = documentedCodes();
    assert.deepEqual([...docs.keys()].sort(), catalogue.map(([code]) => code).sort());
    for (const [code, entry] of catalogue) {
      const row = docs.get(code);
      assert.equal(row?.class, entry.class, `${code}: class in docs/errors.md`);
      assert.equal(row?.retried.startsWith('yes'), entry.retryable, `${code}: "Retried" in docs/errors.md`);
    }
  });

  it('every class a code is thrown as is exported from the package; retryable means RetryableError', () => {
    for (const [code, entry] of catalogue) {
      const cls = (api as Record<string, unknown>)[entry.class];
      assert.equal(typeof cls, 'function', `${entry.class} (for ${code}) is exported from src/index.ts`);
      assert.ok(
        cls === api.PromspoolError || (cls as { prototype: unknown }).prototype instanceof api.PromspoolError,
        `${entry.class} extends PromspoolError`,
      );
      assert.equal(entry.retryable, entry.class === 'RetryableError', `${code}: retryable iff RetryableError`);
    }
  });

  it('the classes with a fixed code carry it, and their names', () => {
    const closed = new api.ClosedError('queue');
    assert.equal(closed.code, 'ERR_CLOSED');
    assert.equal(closed.name, 'ClosedError');
    assert.equal(closed.message, 'queue is closed');
    const full = new api.DiskFullError('max_disk_bytes=10 reached');
    assert.equal(full.code, 'ERR_DISK_FULL');
    assert.equal(full.name, 'DiskFullError');
    const invalid = new api.InvalidConfigError('options', [{ path: 'endpoints[0].url', message: 'required' }]);
    assert.equal(invalid.code, 'ERR_INVALID_CONFIG');
    assert.equal(invalid.name, 'InvalidConfigError');
    assert.equal(invalid.message, 'invalid options (1 problem):\n  endpoints[0].url: required');
    assert.ok(invalid instanceof api.PromspoolError);
    const retry = new api.RetryableError('ERR_TIMEOUT', 'no answer', 250);
    assert.equal(retry.retryAfterMs, 250);
    assert.ok(retry instanceof api.PromspoolError);
  });
});
