import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedError, DiskFullError } from '../../src/errors.js';
import { createAppender } from '../../src/serialization/appender.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import { createSerializer } from '../../src/serialization/serializer.js';
import { createSeriesRegistry } from '../../src/serialization/series.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { FakeFileQueue } from './fake-file-queue.js';

function labelsOf(r: SignalRecord, i: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = r.labelOffsets[i]; k < r.labelOffsets[i + 1]; k++) {
    out[r.strings[r.labelRefs[2 * k]]] = r.strings[r.labelRefs[2 * k + 1]];
  }
  return out;
}

/** series key -> [timestamp, value][] across records, in record order. */
function samplesBySeries(fq: FakeFileQueue): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const { payload, signals } of fq.appended) {
    const r = decodeRecord(payload);
    assert.equal(signals, r.timestamps.length + r.histograms.length + r.exemplars.length + r.metadata.length);
    const seen = new Set<string>();
    for (let i = 0; i < r.seriesCount; i++) {
      const key = JSON.stringify(labelsOf(r, i));
      assert.ok(!seen.has(key), `series ${key} twice in one record`);
      seen.add(key);
      const list = out.get(key) ?? [];
      for (let s = r.sampleOffsets[i]; s < r.sampleOffsets[i + 1]; s++) list.push([r.timestamps[s], r.values[s]]);
      out.set(key, list);
    }
  }
  return out;
}

/** Yields to the event loop until `cond` holds; fails after a bounded number of turns. */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail('condition not reached within 1000 event-loop turns');
}

describe('Serializer', () => {
  it('group-commits concurrent appenders: fewer records than commits, each sample once, per-series order kept', async () => {
    const fq = new FakeFileQueue();
    fq.hold = true;
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 16, maxPendingAppends: 1 });
    const registry = createSeriesRegistry();
    const submit = serializer.submit.bind(serializer);
    const appenders = Array.from({ length: 5 }, () => createAppender({ registry, submit }));
    const commits: Promise<void>[] = [];
    const commitOne = (a: number) => {
      const app = appenders[a];
      for (let k = 0; k < 3; k++) {
        for (let s = 0; s < 10; s++) app.append({ __name__: 'm', s: String(s) }, a * 100 + k, a + k / 10);
      }
      commits.push(app.commit());
    };
    commitOne(0);
    // While the first record waits for its (held) append, four more commits arrive.
    await waitFor(() => fq.held.length === 1);
    for (let a = 1; a < 5; a++) commitOne(a);
    await waitFor(() => serializer.stats().queuedBatches === 4);
    assert.equal(fq.appended.length, 1);
    fq.releaseAll();
    await waitFor(() => fq.held.length === 1);
    fq.releaseAll();
    await Promise.all(commits);
    assert.equal(fq.appended.length, 2);
    assert.deepEqual(
      fq.appended.map((a) => a.signals),
      [30, 120],
    );
    const bySeries = samplesBySeries(fq);
    assert.equal(bySeries.size, 10);
    for (let s = 0; s < 10; s++) {
      const expected: [number, number][] = [];
      for (let a = 0; a < 5; a++) for (let k = 0; k < 3; k++) expected.push([a * 100 + k, a + k / 10]);
      assert.deepEqual(bySeries.get(JSON.stringify({ __name__: 'm', s: String(s) })), expected);
    }
    await serializer.stop();
  });

  it('writes series hashes, histograms, exemplars and metadata into the record', async () => {
    const fq = new FakeFileQueue();
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 4 });
    const registry = createSeriesRegistry();
    const app = createAppender({ registry, submit: (b) => serializer.submit(b) });
    const h = registry.resolve({ __name__: 'lat', job: 'x' });
    app.appendHistogram(h, 5, {
      isFloat: true,
      count: 2,
      sum: 1,
      schema: 1,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpans: [{ offset: 1, length: 1 }],
      negativeSpans: [],
      positiveCounts: [2],
      negativeCounts: [],
    });
    app.appendExemplar(h, { labels: { trace_id: 't1' }, value: 0.5, timestampMs: 4 });
    app.append({ __name__: 'up', job: 'x' }, 6, 1);
    app.updateMetadata('lat', { type: 'histogram', help: 'Latency.', unit: 'seconds' });
    await app.commit();
    const r = decodeRecord(fq.appended[0].payload);
    assert.equal(r.seriesCount, 2);
    // Series order is first appearance: samples are counted before histograms.
    assert.deepEqual(labelsOf(r, 0), { __name__: 'up', job: 'x' });
    assert.deepEqual(labelsOf(r, 1), { __name__: 'lat', job: 'x' });
    assert.equal(r.seriesHash[1], h.hash);
    assert.deepEqual([...r.histogramOffsets], [0, 0, 1]);
    assert.equal(r.histograms[0].timestampMs, 5);
    assert.deepEqual(r.histograms[0].histogram.positiveCounts, [2]);
    assert.deepEqual([...r.exemplarOffsets], [0, 0, 1]);
    assert.deepEqual(
      [...r.exemplars[0].labelRefs].map((i) => r.strings[i]),
      ['trace_id', 't1'],
    );
    assert.deepEqual(r.metadata, [{ metricFamilyName: 'lat', type: 'histogram', help: 'Latency.', unit: 'seconds' }]);
    assert.equal(fq.appended[0].signals, 4);
    await serializer.stop();
  });

  it('gives each series an id that stays the same across records, within one scope', async () => {
    const fq = new FakeFileQueue();
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 4 });
    const registry = createSeriesRegistry();
    const app = createAppender({ registry, submit: (b) => serializer.submit(b) });
    const a = registry.resolve({ __name__: 'up', job: 'a' });
    const b = registry.resolve({ __name__: 'up', job: 'b' });
    app.append(a, 1, 1);
    app.append(b, 1, 2);
    await app.commit();
    app.append(b, 2, 3);
    app.append(registry.resolve({ __name__: 'up', job: 'c' }), 2, 4);
    app.append(a, 2, 5);
    await app.commit();
    const [r1, r2] = fq.appended.map((x) => decodeRecord(x.payload));
    const idOf = (r: SignalRecord, job: string) => {
      for (let i = 0; i < r.seriesCount; i++) if (labelsOf(r, i).job === job) return r.seriesIds?.[i];
      assert.fail(`no series ${job}`);
    };
    assert.equal(r1.seriesIds?.length, 2);
    assert.equal(r2.seriesIds?.length, 3);
    assert.equal(idOf(r2, 'a'), idOf(r1, 'a'));
    assert.equal(idOf(r2, 'b'), idOf(r1, 'b'));
    assert.equal(new Set([idOf(r2, 'a'), idOf(r2, 'b'), idOf(r2, 'c')]).size, 3);
    assert.equal(typeof r1.seriesIdScope, 'number');
    assert.equal(r2.seriesIdScope, r1.seriesIdScope);
    await serializer.stop();
  });

  it('appends records in build order although a later, smaller record finishes compressing first', async () => {
    const fq = new FakeFileQueue();
    const big = 50_000;
    const serializer = createSerializer({
      fileQueue: fq,
      mailboxCapacity: 4,
      maxSignalsPerRecord: big,
      maxPendingAppends: 4,
    });
    const registry = createSeriesRegistry();
    const a = createAppender({ registry, submit: (b) => serializer.submit(b) });
    const b = createAppender({ registry, submit: (x) => serializer.submit(x) });
    for (let i = 0; i < big; i++) a.append({ __name__: 'big', instance: `host-${i}.example.org:9100` }, 1000, i);
    b.append({ __name__: 'small' }, 2000, 1);
    await Promise.all([a.commit(), b.commit()]);
    assert.deepEqual(
      fq.appended.map((x) => x.signals),
      [big, 1],
    );
    assert.deepEqual(decodeRecord(fq.appended[1].payload).strings, ['__name__', 'small']);
    await serializer.stop();
  });

  it('starts the next record with a waiting batch that does not fit whole, instead of cutting it', async () => {
    const fq = new FakeFileQueue();
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 8, maxSignalsPerRecord: 10 });
    const registry = createSeriesRegistry();
    const sizes = [1, 6, 5, 12];
    // Committed in one tick: all four wait in the mailbox when the serializer takes the first.
    const commits = sizes.map((n, i) => {
      const app = createAppender({ registry, submit: (b) => serializer.submit(b) });
      for (let k = 0; k < n; k++) app.append({ __name__: `m${i}`, k: String(k) }, 1000, k);
      return app.commit();
    });
    await Promise.all(commits);
    // 1 + 6; 5 (it did not fit whole beside them); 12 cut at 10 only because it is larger than a record.
    assert.deepEqual(
      fq.appended.map((a) => a.signals),
      [7, 5, 10, 2],
    );
    await serializer.stop();
  });

  it('splits batches over several records at maxSignalsPerRecord, keeping order', async () => {
    const fq = new FakeFileQueue();
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 4, maxSignalsPerRecord: 7 });
    const app = createAppender({ registry: createSeriesRegistry(), submit: (b) => serializer.submit(b) });
    for (let i = 0; i < 20; i++) app.append({ __name__: 'm', s: String(i % 2) }, i, i);
    app.updateMetadata('m', { type: 'gauge', help: '', unit: '' });
    await app.commit();
    assert.deepEqual(
      fq.appended.map((a) => a.signals),
      [7, 7, 7],
    );
    const bySeries = samplesBySeries(fq);
    assert.deepEqual(
      bySeries.get(JSON.stringify({ __name__: 'm', s: '0' }))?.map(([t]) => t),
      [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
    );
    assert.deepEqual(
      bySeries.get(JSON.stringify({ __name__: 'm', s: '1' }))?.map(([t]) => t),
      [1, 3, 5, 7, 9, 11, 13, 15, 17, 19],
    );
    await serializer.stop();
  });

  it('rejects every commit in a failed record with the FileQueue error, then carries on', async () => {
    const fq = new FakeFileQueue();
    fq.failWith = new DiskFullError('max_disk_bytes reached');
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 4 });
    const registry = createSeriesRegistry();
    const a = createAppender({ registry, submit: (b) => serializer.submit(b) });
    const b = createAppender({ registry, submit: (x) => serializer.submit(x) });
    a.append({ __name__: 'm' }, 1, 1);
    b.append({ __name__: 'm' }, 2, 2);
    const results = await Promise.allSettled([a.commit(), b.commit()]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof DiskFullError);
    }
    assert.equal(serializer.stats().failedRecords >= 1, true);
    fq.failWith = undefined;
    a.append({ __name__: 'm' }, 3, 3);
    await a.commit();
    assert.deepEqual(samplesBySeries(fq).get(JSON.stringify({ __name__: 'm' })), [[3, 3]]);
    await serializer.stop();
  });

  it('makes commit wait while the mailbox is full (backpressure)', async () => {
    const fq = new FakeFileQueue();
    fq.hold = true;
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 1, maxPendingAppends: 1 });
    const registry = createSeriesRegistry();
    const apps = Array.from({ length: 3 }, () => createAppender({ registry, submit: (b) => serializer.submit(b) }));
    const settled: number[] = [];
    const commitOne = (i: number) => {
      apps[i].append({ __name__: 'm' }, i, i);
      return apps[i].commit().then(() => settled.push(i));
    };
    const commits = [commitOne(0)];
    await waitFor(() => fq.held.length === 1);
    commits.push(commitOne(1), commitOne(2));
    await waitFor(() => serializer.stats().mailboxFull === 1);
    // One batch in the held append, one in the mailbox, the third sender waits for room.
    assert.equal(serializer.stats().queuedBatches, 1);
    assert.equal(serializer.stats().mailboxFull, 1);
    assert.deepEqual(settled, []);
    fq.releaseAll();
    await waitFor(() => fq.held.length === 1);
    fq.releaseAll();
    await Promise.all(commits);
    assert.deepEqual(settled, [0, 1, 2]);
    assert.equal(fq.appended.length, 2);
    await serializer.stop();
  });

  it('stop() writes what is queued, then refuses new batches with ClosedError', async () => {
    const fq = new FakeFileQueue();
    const serializer = createSerializer({ fileQueue: fq, mailboxCapacity: 4 });
    const app = createAppender({ registry: createSeriesRegistry(), submit: (b) => serializer.submit(b) });
    app.append({ __name__: 'm' }, 1, 1);
    const c = app.commit();
    await serializer.stop();
    await c;
    assert.equal(fq.appended.length, 1);
    app.append({ __name__: 'm' }, 2, 2);
    await assert.rejects(app.commit(), ClosedError);
    await serializer.stop();
  });
});
