/**
 * The 2.0 transcoder (rw2-transcode.c in WebAssembly) against the 2.0 encoder: for the same
 * slices of relayed (kind-2) records, the same bytes, request after request (its dictionary and
 * series cache, and the encoder's, carried across them and forgotten under pressure).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import type { MetadataEntry, SignalRecord } from '../../src/serialization/types.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { createWriteRequestEncoderV2 } from '../../src/wire/rw2-encoder.js';
import { createRw2Transcoder, type Rw2Transcoder } from '../../src/wire/rw2-transcode-wasm.js';
import { RW2_TRANSCODE_SOURCES, RW2_TRANSCODE_SOURCES_SHA256 } from '../../src/wire/rw2-transcode-wasm-binary.js';
import { compressBlock } from '../../src/wire/snappy.js';
import type { SeriesRun, SeriesSlice, WriteRequestEncoder } from '../../src/wire/types.js';
import { decodeV2WithProtobufjs } from '../helpers/fake-receiver.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../helpers/remote-write-client.js';
import { mulberry32 as prng } from '../reliability/fuzz-random.js';
import { floatFromBits, STALE_NAN_BITS, wholeSlices } from './record-builder.js';

/** A 1.0 body of `series` as protobufjs writes it (stale markers by bits), stored as a kind-2 record in `groups` groups. */
function relayed(series: SeriesInput[], groups: number, stale: [number, number][] = []): SignalRecord {
  const { WriteRequest } = remoteWriteProtos();
  const obj = writeRequestV1Object(series) as { timeseries: { samples: { value?: number }[] }[] };
  for (const [s, k] of stale) obj.timeseries[s].samples[k].value = floatFromBits(STALE_NAN_BITS);
  const body = Buffer.from(WriteRequest.encode(WriteRequest.fromObject(obj)).finish());
  const scan = scanWriteRequestV1(body, 'utf8');
  assert.ok(scan, 'the scan accepts the body');
  const rec = decodeRecord(encodeRawRecord(compressBlock(body), scan, { body, groups }), { deferRawBody: true });
  assert.ok(rec.rawSeries);
  return rec;
}

const NAMES = ['a', 'b_label', 'cluster', 'env', 'instance', 'job', 'le', 'method', 'zone', 'ünïcode', '€uro'];
const SHARED = [
  'GET',
  'POST',
  '200',
  '404',
  'prod',
  'api',
  '0.25',
  'Zürich',
  '°C',
  '🚀 launch',
  '東京',
  'x'.repeat(300),
];

/** `count` series: shared and unique values, UTF-8 names and values, long values (2-byte varints). */
function randomSeries(rnd: () => number, count: number, tag: string): SeriesInput[] {
  const out: SeriesInput[] = [];
  for (let i = 0; i < count; i++) {
    const labels: Record<string, string> = {};
    // Every relayed series has a name (the scan stores no other).
    labels.__name__ = `metric_${Math.floor(rnd() * 6)}${['', '_bucket', '_sum', '_count'][i % 4]}`;
    for (const n of NAMES) {
      if (rnd() < 0.5) continue;
      labels[n] = rnd() < 0.7 ? SHARED[Math.floor(rnd() * SHARED.length)] : `${tag}-${i}-${Math.floor(rnd() * 1e9)}`;
    }
    const samples: [number, number][] = [];
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) {
      const ts = [0, -5, 1_700_000_000_000 + k * 15_000, 2 ** 40 + k][Math.floor(rnd() * 4)];
      const value = [0, -0, 1.5, -273.15, 1e300, i * 10 + k][Math.floor(rnd() * 6)];
      samples.push([ts, value]);
    }
    out.push({ labels, samples });
  }
  return out;
}

const METADATA: MetadataEntry[] = [
  { metricFamilyName: 'metric_0', type: 'counter', help: 'Counts.', unit: '' },
  { metricFamilyName: 'metric_1', type: 'histogram', help: 'A histogram: its _bucket, _sum and _count.', unit: 's' },
  { metricFamilyName: 'metric_1', type: 'gauge', help: 'second entry of a name: ignored', unit: '' },
  { metricFamilyName: 'metric_2', type: 'gauge', help: '', unit: 'bytes' },
  { metricFamilyName: 'metric_3', type: 'summary', help: 'Zürich °C', unit: '' },
  { metricFamilyName: 'metric_4', type: 'unknown', help: '', unit: '' },
  { metricFamilyName: 'metric_4_sum', type: 'counter', help: 'exact name wins', unit: '' },
];

/** Copies out: both outputs view reused memory. */
function both(js: WriteRequestEncoder, tc: Rw2Transcoder, slices: SeriesSlice[], meta: readonly MetadataEntry[]) {
  const expected = Buffer.from(js.encode(slices, slices.length, meta));
  const got = tc.encode(slices, slices.length, meta);
  assert.ok(got, 'the transcoder encodes the request');
  return { expected, got: Buffer.from(got) };
}

describe('rw2 transcoder (WebAssembly)', () => {
  it('was built from the C sources in this tree (else run node scripts/build-wasm.mjs)', () => {
    const hash = createHash('sha256');
    for (const f of RW2_TRANSCODE_SOURCES)
      hash.update(`${f}\n`).update(readFileSync(new URL(`../../../${f}`, import.meta.url)));
    assert.equal(hash.digest('hex'), RW2_TRANSCODE_SOURCES_SHA256);
  });

  it('writes the 2.0 encoder’s bytes over random requests: subsets, split series, series seen again, cache clears', () => {
    const configs: { name: string; ext: Record<string, string>; tc: object; js: object }[] = [
      { name: 'defaults', ext: {}, tc: {}, js: {} },
      {
        name: 'external labels, caches forgotten often',
        ext: { cluster: 'eu1', job: 'ext', aa: 'first', zz: 'last', empty: '', __name__: 'ext_name' },
        tc: { rememberedStrings: 40, seriesCacheBytes: 4096, bodyBytes: 1 << 20 },
        js: { rememberedStrings: 40, relayedLabelCacheBytes: 4096 },
      },
    ];
    for (const c of configs) {
      const rnd = prng(7);
      const js = createWriteRequestEncoderV2({ externalLabels: c.ext, ...c.js });
      const tc = createRw2Transcoder({ externalLabels: c.ext, ...c.tc });
      assert.ok(tc);
      const records: SignalRecord[] = [];
      let requests = 0;
      for (let round = 0; round < 30; round++) {
        // New records, and some that repeat earlier series (the cache hits across requests).
        const groups = [1, 16, 64][round % 3];
        const fresh = randomSeries(rnd, 5 + Math.floor(rnd() * 60), `r${round % 10}`);
        const rec = relayed(fresh, groups, [[0, 0]]);
        assert.equal(tc.load(rec), true);
        records.push(rec);
        // A request: parts of up to three records (as a loop takes its virtual shards), series
        // split across two requests by a sample cut, metadata with every other request.
        const slices: SeriesSlice[] = [];
        for (const r of records.slice(-3)) {
          for (const s of wholeSlices(r)) if (rnd() < 0.6) slices.push(s);
        }
        const tail: SeriesSlice[] = [];
        for (const s of slices) {
          const n = s.sampleEnd - s.sampleStart;
          if (n > 1 && rnd() < 0.3) {
            const cut = s.sampleStart + 1 + Math.floor(rnd() * (n - 1));
            tail.push({ ...s, sampleStart: cut });
            s.sampleEnd = cut;
          }
        }
        const meta = round % 2 === 0 ? METADATA : [];
        for (const part of [slices, tail]) {
          if (part.length === 0) continue;
          const { expected, got } = both(js, tc, part, meta);
          assert.equal(got.toString('hex'), expected.toString('hex'), `${c.name}: round ${round}`);
          requests++;
        }
      }
      assert.equal(tc.stats.requests, requests, c.name);
      assert.equal(tc.stats.fallbacks, 0, c.name);
      if (c.name !== 'defaults') assert.ok(tc.usage().epoch > 0, 'the dictionary was forgotten at least once');
    }
  });

  it('numbers each string once per request: values of 1, 2 and many series, label-name shapes shared or not, a series twice in a request, help equal to a value, caches forgotten', () => {
    // A fixed pool of series, so records repeat series (and a request can hold one twice). Each
    // value is the series' own, shared with exactly one other series (which may come requests
    // later, or later in the same request), or one of a few shared by many; the label names make
    // a few shapes shared by many series and some of one series each (`dup<i>`).
    const POOL = 160;
    const pool: SeriesInput[] = [];
    const rndPool = prng(101);
    const pairOf = Array.from({ length: POOL }, (_, i) => i ^ 1);
    for (let i = 0; i < POOL; i++) {
      const labels: Record<string, string> = { __name__: `metric_${i % 5}` };
      labels.own = `own-${i}`;
      labels.pair = `pair-${Math.min(i, pairOf[i])}`;
      if (rndPool() < 0.5) labels.many = SHARED[i % 4];
      // The same string as name and value of one series (a shape of its own), and a value also
      // used as a name.
      if (i % 7 === 0) labels[`dup${i}`] = `dup${i}`;
      if (i % 11 === 0) labels.zz = 'pair';
      // A name sorted before `__name__` (uppercase): the name is not always the first label.
      if (i % 3 === 0) labels.Region = SHARED[i % 5];
      pool.push({ labels, samples: [[1000 + i, i]] });
    }
    // Help texts equal to series' values: the entries keeping them give them up when metadata comes.
    const helpMeta: MetadataEntry[] = [
      { metricFamilyName: 'metric_0', type: 'counter', help: 'own-10', unit: 'pair-20' },
      { metricFamilyName: 'metric_1', type: 'gauge', help: 'own-101', unit: '' },
    ];
    const configs: { name: string; ext: Record<string, string>; tc: object; js: object }[] = [
      { name: 'defaults', ext: {}, tc: {}, js: {} },
      {
        name: 'external labels: one every series overrides, one in every shape',
        ext: { own: 'own-3', region: 'own-4' },
        tc: {},
        js: {},
      },
      // ~25 series' entries: the cache fills inside requests and is emptied before the next.
      {
        name: 'cache full often',
        ext: {},
        tc: { seriesCacheBytes: 3000 },
        js: { relayedLabelCacheBytes: 3000 },
      },
      {
        name: 'dictionary forgotten often',
        ext: {},
        tc: { rememberedStrings: 100 },
        js: { rememberedStrings: 100 },
      },
    ];
    for (const c of configs) {
      const rnd = prng(55);
      const js = createWriteRequestEncoderV2({ externalLabels: c.ext, ...c.js });
      const tc = createRw2Transcoder({ externalLabels: c.ext, ...c.tc });
      assert.ok(tc);
      let requests = 0;
      for (let round = 0; round < 40; round++) {
        // Two records of random pool series (some in both), loaded together.
        const recs = [0, 1].map(() => {
          const picked = pool.filter(() => rnd() < 0.25);
          return relayed(picked.length > 0 ? picked : [pool[round]], 1 + (round % 2) * 15);
        });
        for (const r of recs) assert.equal(tc.load(r), true);
        const slices: SeriesSlice[] = [];
        for (const r of recs) for (const s of wholeSlices(r)) if (rnd() < 0.8) slices.push(s);
        // The same slice twice in a row, now and then.
        if (slices.length > 0 && rnd() < 0.5) slices.push(slices[Math.floor(rnd() * slices.length)]);
        if (slices.length === 0) continue;
        const meta = [METADATA, [], helpMeta][round % 3];
        const { expected, got } = both(js, tc, slices, meta);
        assert.equal(got.toString('hex'), expected.toString('hex'), `${c.name}: round ${round}`);
        // Each string once in the request's symbols.
        const symbols = (remoteWriteProtos().RequestV2.decode(got) as unknown as { symbols: string[] }).symbols;
        assert.equal(new Set(symbols).size, symbols.length, `${c.name}: round ${round}: symbols unique`);
        requests++;
      }
      assert.equal(tc.stats.requests, requests, c.name);
      assert.equal(tc.stats.fallbacks, 0, c.name);
      if (c.name === 'dictionary forgotten often') assert.ok(tc.usage().epoch > 0, 'the dictionary was forgotten');
    }
  });

  it('encodeRuns writes the 2.0 encoder’s bytes for runs of whole series; leaves what it cannot encode to the slices', () => {
    const rnd = prng(21);
    const ext = { cluster: 'eu1', job: 'ext' };
    const js = createWriteRequestEncoderV2({ externalLabels: ext, rememberedStrings: 60 });
    const tc = createRw2Transcoder({ externalLabels: ext, rememberedStrings: 60, bodyBytes: 1 << 20 });
    assert.ok(tc);
    const records: SignalRecord[] = [];
    for (let round = 0; round < 30; round++) {
      const rec = relayed(randomSeries(rnd, 5 + Math.floor(rnd() * 60), `u${round % 10}`), [1, 16][round % 2]);
      assert.equal(tc.load(rec), true);
      records.push(rec);
      // Runs over up to three records: each record's series in two interleaved lists (virtual
      // shards), taken as runs of consecutive entries, some series left out.
      const runs: SeriesRun[] = [];
      const slices: SeriesSlice[] = [];
      for (const r of records.slice(-3)) {
        const all = wholeSlices(r);
        for (const parity of [0, 1]) {
          const list = Uint32Array.from(all.map((_, i) => i).filter((i) => i % 2 === parity));
          for (let i = 0; i < list.length; ) {
            const n = 1 + Math.floor(rnd() * 5);
            const end = Math.min(list.length, i + n);
            if (rnd() < 0.7) {
              runs.push({ record: r, series: list, start: i, end });
              for (let k = i; k < end; k++) slices.push(all[list[k]]);
            }
            i = end;
          }
        }
      }
      if (runs.length === 0) continue;
      const meta = round % 2 === 0 ? METADATA : [];
      const expected = Buffer.from(js.encode(slices, slices.length, meta));
      const got = tc.encodeRuns(runs, runs.length, meta);
      assert.ok(got, `round ${round}`);
      assert.equal(Buffer.from(got).toString('hex'), expected.toString('hex'), `round ${round}`);
    }
    assert.equal(tc.stats.fallbacks, 0);
    assert.equal(tc.stats.runRequests, tc.stats.requests);
    assert.ok(tc.usage().epoch > 0, 'the dictionary was forgotten at least once');
    // Not loaded, or cut at send time: undefined, not counted (encode counts it for the slices).
    const requests = tc.stats.requests;
    const other = relayed(randomSeries(rnd, 4, 'n'), 1);
    const held = records[records.length - 1];
    const list = Uint32Array.from([0, 1]);
    assert.equal(
      tc.encodeRuns(
        [
          { record: held, series: list, start: 0, end: 2 },
          { record: other, series: list, start: 0, end: 2 },
        ],
        2,
        [],
      ),
      undefined,
    );
    (held.rawSeries as { intact: boolean }).intact = false;
    assert.equal(tc.encodeRuns([{ record: held, series: list, start: 0, end: 2 }], 1, []), undefined);
    assert.deepEqual([tc.stats.requests, tc.stats.runRequests, tc.stats.fallbacks], [requests, requests, 0]);
  });

  it('decodes with the official .proto to the series merged with the external labels, metadata inline, stale bits kept', () => {
    const series: SeriesInput[] = [
      {
        labels: { __name__: 'metric_1_bucket', job: 'api', le: '0.5' },
        samples: [
          [1000, 1],
          [2000, 2],
        ],
      },
      { labels: { __name__: 'temperature', city: 'Zürich', unit: '°C' }, samples: [[-5, -273.15]] },
      { labels: { __name__: 'no_metadata', job: 'other' }, samples: [[0, 0]] },
    ];
    const tc = createRw2Transcoder({ externalLabels: { cluster: 'eu1', job: 'ext' } });
    assert.ok(tc);
    const rec = relayed(series, 16, [[0, 1]]);
    assert.equal(tc.load(rec), true);
    const slices = wholeSlices(rec);
    const body = tc.encode(slices, slices.length, METADATA);
    assert.ok(body);
    const got = decodeV2WithProtobufjs(Buffer.from(body));
    const byName = new Map(got.series.map((s) => [s.labels.__name__, s]));
    assert.deepEqual(byName.get('metric_1_bucket')?.labels, {
      __name__: 'metric_1_bucket',
      cluster: 'eu1',
      job: 'api',
      le: '0.5',
    });
    assert.deepEqual(
      byName.get('metric_1_bucket')?.samples.map((s) => [s.ts, s.bits]),
      [
        [1000, 0x3ff0000000000000n],
        [2000, STALE_NAN_BITS],
      ],
    );
    assert.deepEqual(byName.get('temperature')?.labels, {
      __name__: 'temperature',
      city: 'Zürich',
      cluster: 'eu1',
      job: 'ext',
      unit: '°C',
    });
    assert.deepEqual(byName.get('no_metadata')?.labels, { __name__: 'no_metadata', cluster: 'eu1', job: 'other' });
    assert.deepEqual(got.metadata, [
      {
        metricFamilyName: 'metric_1_bucket',
        type: 'histogram',
        help: 'A histogram: its _bucket, _sum and _count.',
        unit: 's',
      },
    ]);
  });

  it('leaves to the 2.0 encoder a request with a record it does not hold, cut at send time or relabeled', () => {
    const tc = createRw2Transcoder({ externalLabels: {} });
    assert.ok(tc);
    const series = randomSeries(prng(3), 10, 'f');
    const held = relayed(series, 1);
    assert.equal(tc.load(held), true);
    const other = relayed(series, 1);
    assert.equal(tc.holds(other), false);
    assert.equal(tc.encode(wholeSlices(other), series.length, []), undefined, 'not loaded');
    const mixed = [...wholeSlices(held), ...wholeSlices(other)];
    assert.equal(tc.encode(mixed, mixed.length, []), undefined, 'one record of the request not loaded');
    const cut = relayed(series, 1);
    assert.equal(tc.load(cut), true);
    (cut.rawSeries as { intact: boolean }).intact = false;
    assert.equal(tc.encode(wholeSlices(cut), series.length, []), undefined, 'cut');
    const relabeled = relayed(series, 1);
    assert.equal(tc.load(relabeled), true);
    relabeled.relabeled = {
      bytes: new Uint8Array(0),
      start: new Int32Array(series.length),
      length: new Int32Array(series.length),
    };
    assert.equal(tc.encode(wholeSlices(relabeled), series.length, []), undefined, 'relabeled');
    assert.ok(tc.encode(wholeSlices(held), series.length, []));
    assert.deepEqual(tc.stats, { loads: 3, reloads: 0, requests: 1, fallbacks: 4, runRequests: 0 });
  });

  it('loads a record again once the ring overwrote it; a request whose records do not fit together goes to the encoder', () => {
    const series = randomSeries(prng(11), 200, 'ring');
    const recs = [relayed(series, 1), relayed(series, 1), relayed(series, 1)];
    const one = (recs[0].rawGroups?.elements[0].rawLength ?? 0) + 16 + 32 * series.length;
    // Room for two records' bodies and indexes, not three.
    const tc = createRw2Transcoder({ externalLabels: {}, bodyBytes: 2 * one + 64 });
    assert.ok(tc);
    const js = createWriteRequestEncoderV2({ externalLabels: {} });
    for (const r of recs) assert.equal(tc.load(r), true);
    const first = wholeSlices(recs[0]);
    const { expected, got } = both(js, tc, first, []);
    assert.equal(got.toString('hex'), expected.toString('hex'));
    assert.equal(tc.stats.reloads, 1, 'the first record was overwritten by the third');
    const all = recs.flatMap((r) => wholeSlices(r));
    assert.equal(tc.encode(all, all.length, []), undefined);
    assert.equal(tc.stats.fallbacks, 1);
    const big = createRw2Transcoder({ externalLabels: {}, bodyBytes: one - 8 });
    assert.equal(big?.load(relayed(series, 1)), false, 'a body larger than the ring is not held');
  });

  it('leaves a request with more new strings than its dictionary has room for to the encoder, then starts over', () => {
    // Room: the remembered strings (40) plus 65,536 for the request that passes them.
    const tc = createRw2Transcoder({ externalLabels: {}, rememberedStrings: 40 });
    const js = createWriteRequestEncoderV2({ externalLabels: {}, rememberedStrings: 40 });
    assert.ok(tc);
    const wide: SeriesInput[] = Array.from({ length: 33_000 }, (_, i) => ({
      labels: { __name__: 'wide', a: `a${i}`, b: `b${i}` },
      samples: [[1000, i]] as [number, number][],
    }));
    const big = relayed(wide, 1);
    assert.equal(tc.load(big), true);
    const slices = wholeSlices(big);
    assert.equal(tc.encode(slices, slices.length, []), undefined, '66,002 strings');
    assert.equal(tc.stats.fallbacks, 1);
    const small = relayed(randomSeries(prng(9), 30, 's'), 1);
    assert.equal(tc.load(small), true);
    const { expected, got } = both(js, tc, wholeSlices(small), []);
    assert.equal(got.toString('hex'), expected.toString('hex'));
    assert.equal(tc.usage().epoch, 1, 'forgotten once');
  });

  it('reports a record whose groups do not uncompress as corrupt', () => {
    const tc = createRw2Transcoder({ externalLabels: {} });
    assert.ok(tc);
    const rec = relayed(randomSeries(prng(5), 20, 'c'), 1);
    const e = rec.rawGroups?.elements[0];
    assert.ok(e);
    // Copy tags with offsets before the start of the output.
    (e.bytes as Uint8Array).fill(0xff, e.start, e.end);
    assert.throws(
      () => tc.load(rec),
      (err: unknown) => err instanceof PromspoolError && err.code === 'ERR_CORRUPT_RECORD',
    );
    assert.equal(tc.holds(rec), false);
  });
});
