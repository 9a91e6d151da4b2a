import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';

const RW = 'remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n';

describe('storage.max_memory_bytes', () => {
  it('reads a size, and leaves the field out when absent or 0 (no limit)', () => {
    assert.equal(
      parseConfig(`storage:\n  max_memory_bytes: 256MiB\n${RW}`).config?.storage.maxMemoryBytes,
      256 * 2 ** 20,
    );
    assert.equal(parseConfig(`storage:\n  max_memory_bytes: 100000000\n${RW}`).config?.storage.maxMemoryBytes, 1e8);
    assert.equal('maxMemoryBytes' in (parseConfig(RW).config?.storage ?? {}), false);
    assert.equal(
      'maxMemoryBytes' in (parseConfig(`storage:\n  max_memory_bytes: 0\n${RW}`).config?.storage ?? {}),
      false,
    );
  });

  it('refuses what is not a size', () => {
    const result = parseConfig(`storage:\n  max_memory_bytes: 1 GiB\n${RW}`);
    assert.equal(result.config, undefined);
    assert.deepEqual(result.errors.map(formatConfigError), [
      'storage.max_memory_bytes: invalid size "1 GiB": spaces are not allowed (line 2)',
    ]);
  });
});
