// Durability of the OTel exporter: a child (otel-app.ts) whose export reported SUCCESS to the SDK
// is SIGKILLed with its receiver down; a second process on its data dir delivers every series.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createQueue } from '../../src/queue.js';
import { startFakeReceiver } from '../helpers/fake-receiver.js';
import { tempDataDir } from '../queue/queue-helpers.js';
import { freePort } from './harness/ports.js';

const APP = new URL('./otel-app.js', import.meta.url).pathname;

describe('the OTel exporter survives a kill -9 right after an export succeeded', () => {
  it('a second process on the same data dir delivers the committed export', async () => {
    const dir = await tempDataDir('otel-kill');
    // Nothing listens there: the first process can only keep the export on disk.
    const deadPort = await freePort();
    const receiver = await startFakeReceiver();
    try {
      const child = spawn(process.execPath, [APP], {
        env: { ...process.env, APP_DATA_DIR: dir.path, APP_WRITE_URL: `http://127.0.0.1:${deadPort}/api/v1/write` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      const [line] = (await Promise.race([
        once(child.stdout.setEncoding('utf8'), 'data'),
        exited.then(([code]) => [`exited ${code}: ${stderr}`]),
      ])) as [string];
      assert.equal(line, 'committed\n');
      child.kill('SIGKILL');
      const [, signal] = await exited;
      assert.equal(signal, 'SIGKILL');

      const queue = await createQueue({
        dataDir: dir.path,
        endpoints: [{ name: 'ep', url: receiver.url, metadataConfig: { send: false } }],
      });
      try {
        await receiver.waitFor((r) => r.totalSamples >= 1 && r.totalHistograms >= 1, 20_000);
      } finally {
        await queue.stop();
      }
      const id = 'instance="run-1",job="batch"';
      assert.deepEqual(
        [...receiver.received]
          .filter(([, samples]) => samples.length > 0)
          .map(([key, samples]) => [key, samples.map((s) => s.value)]),
        // No target_info: the resource has identifying attributes only.
        [[`{__name__="job_items_total",${id},job_step="load"}`, [7]]],
      );
      const histograms = receiver.receivedHistograms.get(`{__name__="job_item_size_bytes",${id}}`);
      assert.equal(histograms?.length, 1);
      assert.equal(histograms[0]!.histogram.count, 1);
      assert.equal(histograms[0]!.histogram.sum, 1.5);
    } finally {
      await receiver.close();
      await dir.remove();
    }
  });
});
