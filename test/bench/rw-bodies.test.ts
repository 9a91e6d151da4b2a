import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uncompressSync } from 'snappy';
import { plannedSamples } from '../../bench/lib/loadgen.js';
import { buildBodySet, compressKeepingHoles, seriesLabels, setBodyTimestamp } from '../../bench/lib/rw-bodies.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';

function decode(body: Uint8Array) {
  const series: string[][] = [];
  const samples: [number, number][] = [];
  decodeWriteRequestV1(uncompressSync(body) as Buffer, {
    series(labels) {
      series.push([...labels]);
    },
    sample(ts, v) {
      samples.push([ts, v]);
    },
    histogram() {},
    exemplar() {},
    metadata() {},
  });
  return { series, samples };
}

test('bodies decode to every series once, sorted labels, one sample each at the set timestamp', () => {
  const bodies = buildBodySet({ series: 250, labelsPerSeries: 10, seriesPerRequest: 100 }, 1_700_000_000_000);
  assert.deepEqual(
    bodies.map((b) => b.samples),
    [100, 100, 50],
  );
  const seen = new Set<string>();
  for (const b of bodies) {
    setBodyTimestamp(b, 1_700_000_123_456);
    const { series, samples } = decode(b.compressed);
    assert.equal(series.length, b.samples);
    assert.equal(samples.length, b.samples);
    for (const [ts] of samples) assert.equal(ts, 1_700_000_123_456);
    for (const s of series) {
      assert.equal(s.length, 20);
      const names = s.filter((_, i) => i % 2 === 0);
      assert.deepEqual(names, [...names].sort());
      seen.add(s[s.indexOf('pod') + 1]!);
    }
  }
  assert.equal(seen.size, 250);
  assert.deepEqual(seriesLabels(7, 10)[0], ['__name__', 'bench_metric_7_total']);
});

test('patching timestamps twice gives the second value everywhere and keeps the rest byte-identical', () => {
  const [body] = buildBodySet({ series: 500, labelsPerSeries: 10, seriesPerRequest: 500 }, 1_700_000_000_000);
  const before = decode(body!.compressed);
  setBodyTimestamp(body!, 1_800_000_000_999);
  const after = decode(body!.compressed);
  assert.deepEqual(after.series, before.series);
  assert.deepEqual(
    after.samples.map(([, v]) => v),
    before.samples.map(([, v]) => v),
  );
  assert.ok(after.samples.every(([ts]) => ts === 1_800_000_000_999));
  // Real compression: repeated label text is copied, not sent literally.
  assert.ok(body!.compressed.length < body!.uncompressedBytes / 3);
});

test('compressKeepingHoles round-trips and leaves hole bytes in place', () => {
  const src = new Uint8Array(4000);
  for (let i = 0; i < src.length; i++) src[i] = i % 37;
  const holes = [100, 2000, 3990];
  const { compressed, holeOffsets } = compressKeepingHoles(src, holes, 6);
  assert.deepEqual(new Uint8Array(uncompressSync(compressed) as Buffer), src);
  compressed[holeOffsets[1]!] = 0xee;
  const changed = new Uint8Array(uncompressSync(compressed) as Buffer);
  assert.equal(changed[2000], 0xee);
  assert.equal(changed.filter((b, i) => b !== src[i]).length, 1);
});

test('plannedSamples counts whole requests, with the short last body of each round', () => {
  const base = { url: 'http://127.0.0.1:1/', labelsPerSeries: 10, connections: 1 };
  assert.equal(
    plannedSamples({ ...base, series: 100_000, seriesPerRequest: 2000, totalSamples: 10_000_000 }),
    10_000_000,
  );
  assert.equal(plannedSamples({ ...base, series: 250, seriesPerRequest: 100, totalSamples: 500 }), 450);
  assert.equal(plannedSamples({ ...base, series: 250, seriesPerRequest: 100, totalSamples: 1 }), 100);
});
