import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createFileQueue, inspectQueueDir } from '../../src/filequeue/index.js';
import { options, payload, settle, tempDir } from './helpers.js';

describe('inspectQueueDir', () => {
  it('describes every segment without changing the directory', async () => {
    const dir = tempDir();
    try {
      const q = await createFileQueue(options(dir.path, { maxSignalsPerSegment: 2 }));
      for (let i = 0; i < 5; i++) await q.append(payload(i, 10), 1);
      const seg = await q.next();
      assert.equal(seg?.id, 1);
      q.ack(1, 0, 5);
      q.ack(1, 1, 5);
      q.ack(1, 1, 5); // duplicate: counted once
      await settle();
      await q.close();
      // A torn tail on the open segment, a flipped byte in segment 2, a foreign file, an orphan acks file.
      const openPath = join(dir.path, '0000000000000003.open');
      writeFileSync(openPath, Buffer.concat([readFileSync(openPath), Buffer.from([5, 0, 0])]));
      const s2 = join(dir.path, '0000000000000002.committed');
      const b2 = readFileSync(s2);
      b2[16 + 8 + 2] ^= 1;
      writeFileSync(s2, b2);
      writeFileSync(join(dir.path, 'notes.txt'), 'x');
      writeFileSync(join(dir.path, '0000000000000009.acks'), Buffer.alloc(8));
      const before = readdirSync(dir.path).sort();

      const report = await inspectQueueDir(dir.path);
      assert.deepEqual(readdirSync(dir.path).sort(), before);
      assert.deepEqual(report.foreignFiles, ['notes.txt']);
      assert.deepEqual(report.orphanAckFiles, [join(dir.path, '0000000000000009.acks')]);
      assert.deepEqual(
        report.segments.map((s) => [s.id, s.state, s.bytes, s.records, s.corruptRecords, s.tailBytes, s.ackedPortions]),
        [
          [1, 'committed', 16 + 2 * 18, 2, 0, 0, 2],
          [2, 'committed', 16 + 2 * 18, 2, 1, 0, 0],
          [3, 'open', 16 + 18 + 3, 1, 1, 3, 0],
        ],
      );
      assert.equal(report.segments[0].ackBytes, 8 + 3 * 8);
      assert.equal(report.segments[0].version, 1);
      assert.equal(report.segments[0].compression, 1);
    } finally {
      dir.remove();
    }
  });
});
