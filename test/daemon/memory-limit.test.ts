import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const FIXTURE = fileURLToPath(new URL('./memory-churn-fixture.js', import.meta.url));
const MiB = 2 ** 20;

async function peakRss(limitBytes: number): Promise<{ hwm: number; collections: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE, String(limitBytes)]);
  return JSON.parse(stdout) as { hwm: number; collections: number };
}

describe('storage.max_memory_bytes is honoured', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it('a workload that peaks above 128 MiB without the limit stays under it with the limit', async () => {
    const free = await peakRss(0);
    const limited = await peakRss(128 * MiB);
    assert.equal(free.collections, 0);
    assert.ok(free.hwm > 128 * MiB, `without a limit the workload peaked at ${(free.hwm / MiB).toFixed(1)} MiB`);
    assert.ok(limited.collections > 0);
    assert.ok(limited.hwm < 128 * MiB, `with 128 MiB the workload peaked at ${(limited.hwm / MiB).toFixed(1)} MiB`);
  });
});
