import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { compressSync, uncompressSync } from 'lz4-napi';
import { PromspoolError } from '../../src/errors.js';
import {
  countRecordSignals,
  decodeRecord,
  encodeRecord,
  encodeRecordAsync,
} from '../../src/serialization/record-codec.js';
import { hashLabelPairs } from '../../src/serialization/series.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { moduleUrl, runWithV8Natives } from '../helpers/v8-natives.js';

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

function staleNaN(): number {
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  u[0] = STALE_LO;
  u[1] = STALE_HI;
  return f[0];
}

function sample(): SignalRecord {
  const values = new Float64Array([1.5, -0, Number.POSITIVE_INFINITY, 0]);
  new Uint32Array(values.buffer, 24, 2).set([STALE_LO, STALE_HI]);
  return {
    strings: ['__name__', 'up', 'job', 'a', 'b', 'trace_id', 'abc', 'lat'],
    seriesCount: 3,
    labelOffsets: new Uint32Array([0, 2, 4, 5]),
    labelRefs: new Uint32Array([0, 1, 2, 3, 0, 1, 2, 4, 0, 7]),
    seriesHash: new Uint32Array([1, 0xffffffff, 42]),
    sampleOffsets: new Uint32Array([0, 3, 4, 4]),
    timestamps: new Float64Array([1000, 2000, 3000, -5]),
    values,
    histogramOffsets: new Uint32Array([0, 0, 0, 2]),
    histograms: [
      {
        timestampMs: 7,
        histogram: {
          isFloat: false,
          count: 10,
          sum: 12.5,
          schema: 3,
          zeroThreshold: 1e-128,
          zeroCount: 2,
          positiveSpans: [
            { offset: -2, length: 2 },
            { offset: 1, length: 1 },
          ],
          negativeSpans: [{ offset: 0, length: 1 }],
          positiveDeltas: [3, -1, 1],
          negativeDeltas: [1],
          resetHint: 1,
        },
      },
      {
        timestampMs: 8,
        histogram: {
          isFloat: true,
          count: 3.5,
          sum: staleNaN(),
          schema: -4,
          zeroThreshold: 0,
          zeroCount: 0.5,
          positiveSpans: [{ offset: 0, length: 2 }],
          negativeSpans: [],
          positiveCounts: [1.25, 1.75],
          negativeCounts: [],
          resetHint: 3,
        },
      },
    ],
    exemplarOffsets: new Uint32Array([0, 1, 1, 1]),
    exemplars: [{ labelRefs: new Uint32Array([5, 6]), value: 0.25, timestampMs: 999 }],
    metadata: [{ metricFamilyName: 'up', type: 'gauge', help: 'Is it up? ✓', unit: '' }],
  };
}

function assertCorrupt(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PromspoolError, `not a PromspoolError: ${String(err)}`);
    assert.equal(err.code, 'ERR_CORRUPT_RECORD');
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('record codec', () => {
  it('encodes the same bytes async as sync, for small and large records in turns', async () => {
    const small = sample();
    // ~12 MB of columns: the encoder's buffer grows, and is reused by the next records.
    const n = 500_000;
    const big: SignalRecord = {
      ...sample(),
      seriesCount: n,
      labelOffsets: Uint32Array.from({ length: n + 1 }, (_x, i) => (i === n ? n + 4 : i)),
      labelRefs: new Uint32Array(2 * (n + 4)),
      seriesHash: new Uint32Array(n),
      sampleOffsets: Uint32Array.from({ length: n + 1 }, (_x, i) => Math.min(i, 4)),
      histogramOffsets: Uint32Array.from({ length: n + 1 }, (_x, i) => (i < 2 ? 0 : 2)),
      exemplarOffsets: Uint32Array.from({ length: n + 1 }, (_x, i) => (i === 0 ? 0 : 1)),
    };
    for (const r of [big, small, big, big, small]) {
      const async = await encodeRecordAsync(r);
      assert.deepEqual(Buffer.from(async), Buffer.from(encodeRecord(r)));
      assert.equal(decodeRecord(async).seriesCount, r.seriesCount);
    }
  });

  it('round-trips every column exactly', () => {
    const r = sample();
    const decoded = decodeRecord(encodeRecord(r));
    assert.deepEqual(decoded.strings, r.strings);
    // Cut out on first access, then the same array (the wire encoder caches its UTF-8 by identity).
    assert.equal(decoded.strings, decoded.strings);
    assert.equal(decoded.seriesCount, 3);
    assert.deepEqual([...decoded.labelOffsets], [...r.labelOffsets]);
    assert.deepEqual([...decoded.labelRefs], [...r.labelRefs]);
    assert.deepEqual([...decoded.seriesHash], [1, 0xffffffff, 42]);
    assert.deepEqual([...decoded.sampleOffsets], [0, 3, 4, 4]);
    assert.deepEqual([...decoded.timestamps], [1000, 2000, 3000, -5]);
    assert.ok(Object.is(decoded.values[1], -0));
    assert.equal(decoded.values[2], Number.POSITIVE_INFINITY);
    assert.deepEqual([...decoded.histogramOffsets], [0, 0, 0, 2]);
    assert.deepEqual(decoded.histograms[0], r.histograms[0]);
    const f = decoded.histograms[1].histogram;
    assert.equal(f.isFloat, true);
    assert.deepEqual(f.positiveCounts, [1.25, 1.75]);
    assert.equal(f.count, 3.5);
    assert.equal(f.zeroCount, 0.5);
    assert.equal(f.schema, -4);
    assert.equal(f.resetHint, 3);
    assert.deepEqual([...decoded.exemplarOffsets], [0, 1, 1, 1]);
    assert.deepEqual([...decoded.exemplars[0].labelRefs], [5, 6]);
    assert.equal(decoded.exemplars[0].value, 0.25);
    assert.equal(decoded.exemplars[0].timestampMs, 999);
    assert.deepEqual(decoded.metadata, r.metadata);
  });

  it('encodes each record with its own string table, the same table twice, a changed one, and one changed in place', () => {
    const stringsOf = (payload: Uint8Array) => {
      const d = decodeRecord(payload);
      return Array.from(d.labelRefs, (ref) => d.strings[ref]);
    };
    const other = { ...sample(), strings: ['__name__', 'down', 'job', 'c', 'd', 'trace_id', 'xyz', 'lat'] };
    assert.deepEqual(stringsOf(encodeRecord(other))[1], 'down');
    const r = sample();
    const first = stringsOf(encodeRecord(r));
    assert.deepEqual(first[1], 'up', 'a table of the same size, other strings');
    assert.deepEqual(stringsOf(encodeRecord(r)), first, 'the same table again');
    r.strings[1] = 'changed';
    assert.deepEqual(stringsOf(encodeRecord(r))[1], 'changed', 'the same array, changed in place since');
    assert.deepEqual(stringsOf(encodeRecord(sample())), first, 'and back');
  });

  it('keeps the stale marker NaN bits 0x7ff0000000000002 in values and histogram sums', () => {
    const decoded = decodeRecord(encodeRecord(sample()));
    const bits = new Uint32Array(decoded.values.buffer, decoded.values.byteOffset + 24, 2);
    assert.deepEqual([bits[1], bits[0]], [STALE_HI, STALE_LO]);
    // Not via an array literal: V8 quiets NaNs stored into double arrays (see the next test).
    const sum = new Float64Array(1);
    sum[0] = decoded.histograms[1].histogram.sum;
    const sumBits = new Uint32Array(sum.buffer);
    assert.deepEqual([sumBits[1], sumBits[0]], [STALE_HI, STALE_LO]);
  });

  it('restores the stale marker when a double array quieted it to 0x7ff8000000000002', () => {
    const r = sample();
    const viaArray = [1.5, staleNaN()]; // PACKED_DOUBLE_ELEMENTS: V8 sets the quiet bit
    r.histograms[1].histogram.sum = viaArray[1];
    const probe = new Float64Array(1);
    probe[0] = viaArray[1];
    assert.equal(new Uint32Array(probe.buffer)[1], 0x7ff80000, 'precondition: V8 quieted the NaN');
    const decoded = decodeRecord(encodeRecord(r));
    probe[0] = decoded.histograms[1].histogram.sum;
    assert.deepEqual([...new Uint32Array(probe.buffer)], [STALE_LO, STALE_HI]);
  });

  it('decodes every record into one fast-mode hidden class (column reads on the send path are not hash lookups)', () => {
    // Needs V8 natives, so it runs in a child. A record in dictionary mode (as an object literal
    // with a getter came out) made the send path ~40% slower: bench/read-side.ts.
    const codec = moduleUrl('../../src/serialization/record-codec.js', import.meta.url);
    const script = `
      const { decodeRecord, encodeRecord } = await import(${codec});
      const base = ${JSON.stringify({ ...sample(), strings: undefined })};
      const cols = (r) => ({
        ...r,
        strings: ['__name__', 'up', 'job', 'a', 'b', 'trace_id', 'abc', 'lat'],
        labelOffsets: new Uint32Array(Object.values(r.labelOffsets)),
        labelRefs: new Uint32Array(Object.values(r.labelRefs)),
        seriesHash: new Uint32Array(Object.values(r.seriesHash)),
        sampleOffsets: new Uint32Array(Object.values(r.sampleOffsets)),
        timestamps: new Float64Array(Object.values(r.timestamps)),
        values: new Float64Array(Object.values(r.values)),
        histogramOffsets: new Uint32Array(Object.values(r.histogramOffsets)),
        exemplarOffsets: new Uint32Array(Object.values(r.exemplarOffsets)),
        exemplars: r.exemplars.map((e) => ({ ...e, labelRefs: new Uint32Array(Object.values(e.labelRefs)) })),
      });
      const plain = decodeRecord(encodeRecord(cols(base)));
      const withIds = decodeRecord(encodeRecord({ ...cols(base), seriesIds: new Uint32Array([0, 1, 2]), seriesIdScope: 7 }));
      void plain.strings;
      console.log(JSON.stringify([%HasFastProperties(plain), %HasFastProperties(withIds), %HaveSameMap(plain, withIds)]));
    `;
    assert.deepEqual(runWithV8Natives(script), [true, true, true]);
  });

  it('round-trips an empty record', () => {
    const empty: SignalRecord = {
      strings: [],
      seriesCount: 0,
      labelOffsets: new Uint32Array([0]),
      labelRefs: new Uint32Array(0),
      seriesHash: new Uint32Array(0),
      sampleOffsets: new Uint32Array([0]),
      timestamps: new Float64Array(0),
      values: new Float64Array(0),
      histogramOffsets: new Uint32Array([0]),
      histograms: [],
      exemplarOffsets: new Uint32Array([0]),
      exemplars: [],
      metadata: [],
    };
    const d = decodeRecord(encodeRecord(empty));
    assert.equal(d.seriesCount, 0);
    assert.equal(countRecordSignals(encodeRecord(empty)), 0);
  });

  it('counts signals from the head: samples + histograms + exemplars + metadata', () => {
    assert.equal(countRecordSignals(encodeRecord(sample())), 4 + 2 + 1 + 1);
  });

  it('rejects truncated payloads at every length with ERR_CORRUPT_RECORD', () => {
    const payload = encodeRecord(sample());
    for (let len = 0; len < payload.length; len++) {
      assertCorrupt(() => decodeRecord(payload.subarray(0, len)));
    }
  });

  it('rejects random bytes and bit flips with ERR_CORRUPT_RECORD, never anything else', () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(1 + (rand() % 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = rand() & 0xff;
      assertCorrupt(() => decodeRecord(bytes));
    }
    const payload = encodeRecord(sample());
    let decodedOk = 0;
    for (let i = 0; i < 300; i++) {
      const copy = payload.slice();
      copy[4 + (rand() % (copy.length - 4))] ^= 1 << (rand() % 8);
      try {
        decodeRecord(copy);
        decodedOk++; // a flip inside a value can still be a well-formed record
      } catch (err) {
        assert.ok(err instanceof PromspoolError && err.code === 'ERR_CORRUPT_RECORD', String(err));
      }
    }
    assert.ok(decodedOk < 300);
  });

  it('rejects an impossible declared size without allocating it', () => {
    const bytes = new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4]);
    assertCorrupt(() => decodeRecord(bytes), /declared size/);
  });

  function payloadOf(map: Record<string, unknown>): Uint8Array {
    const msg = new Encoder().encode(map);
    return compressSync(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
  }

  it('rejects a wrong version and a non-map', () => {
    assertCorrupt(() => decodeRecord(payloadOf({ v: 4, n: 0 })), /unsupported format version 4/);
    assertCorrupt(() => countRecordSignals(payloadOf({ v: 4, n: 0 })), /unsupported format version 4/);
    assertCorrupt(() => decodeRecord(payloadOf([1, 2, 3] as unknown as Record<string, unknown>)), /not a map/);
  });

  it('rejects a string table whose lengths do not add up', () => {
    const lengths = (xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
    assertCorrupt(() => decodeRecord(payloadOf({ v: 1, n: 0, s: 'abc', sl: lengths([2, 5]) })), /runs past the end/);
    assertCorrupt(() => decodeRecord(payloadOf({ v: 1, n: 0, s: 'abc', sl: lengths([2]) })), /trailing characters/);
    assertCorrupt(() => decodeRecord(payloadOf({ v: 1, n: 0, s: ['a'], sl: lengths([1]) })), /field s is missing/);
  });

  it('rejects inconsistent columns', () => {
    const base = () => {
      const r = sample();
      return { r };
    };
    const cases: [string, (r: SignalRecord) => void, RegExp][] = [
      ['label ref out of range', (r) => (r.labelRefs[3] = 99), /refers to string 99/],
      ['offsets decrease', (r) => (r.sampleOffsets[1] = 5), /field so/],
      ['hash count', (r) => (r.seriesHash = new Uint32Array(2)), /field sh/],
      ['values length', (r) => (r.values = new Float64Array(3)), /values/],
      ['exemplar ref', (r) => (r.exemplars[0].labelRefs = new Uint32Array([5, 100])), /field er/],
      ['series id count', (r) => Object.assign(r, { seriesIds: new Uint32Array(2), seriesIdScope: 7 }), /field si/],
      ['series id scope', (r) => Object.assign(r, { seriesIds: new Uint32Array(3), seriesIdScope: -1 }), /field sc/],
    ];
    for (const [what, mutate, message] of cases) {
      const { r } = base();
      mutate(r);
      assertCorrupt(() => decodeRecord(encodeRecord(r)), message);
      assert.ok(what);
    }
  });

  it('round-trips series ids and their scope when the record has them', () => {
    const r = { ...sample(), seriesIds: new Uint32Array([7, 0xffffffff, 0]), seriesIdScope: 2 ** 48 - 1 };
    const d = decodeRecord(encodeRecord(r));
    assert.deepEqual([...(d.seriesIds ?? [])], [7, 0xffffffff, 0]);
    assert.equal(d.seriesIdScope, 2 ** 48 - 1);
    const without = decodeRecord(encodeRecord(sample()));
    assert.equal(without.seriesIds, undefined);
    assert.equal(without.seriesIdScope, undefined);
  });

  it('reads the version-2 golden record: label hash version 2 as stored (values from an independent implementation)', () => {
    const payload = readFileSync(new URL('../../../test/fixtures/segments/record-v2.bin', import.meta.url));
    const d = decodeRecord(payload);
    assert.deepEqual(d.strings, ['__name__', 'http_requests_total', 'instance', 'host-1:9100', 'host-2:9100']);
    assert.deepEqual([...d.seriesHash], [0xd234b792, 0x18c97bea]);
    assert.deepEqual([...d.sampleOffsets], [0, 2, 3]);
    assert.deepEqual([...d.timestamps], [1000, 2000, 3000]);
    assert.deepEqual([...d.values], [1, 2, 3]);
    assert.equal(countRecordSignals(payload), 3);
  });

  it('round-trips custom-bucket histograms (version 3, keys hco/hcv); records without them stay version 2', () => {
    const versionOf = (payload: Uint8Array) =>
      (new Decoder().decode(uncompressSync(Buffer.from(payload))) as { v: number }).v;
    const plain = sample();
    assert.equal(versionOf(encodeRecord(plain)), 2);
    const r = sample();
    const custom = {
      isFloat: false,
      count: 4,
      sum: 0.75,
      schema: -53,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpans: [{ offset: 1, length: 2 }],
      negativeSpans: [],
      positiveDeltas: [1, 2],
      negativeDeltas: [],
      resetHint: 0 as const,
      customValues: [0.005, 0.1, 2.5e10],
    };
    // Only the +Inf bucket: custom values present and empty.
    const onlyInf = {
      ...custom,
      count: 1,
      positiveSpans: [{ offset: 0, length: 1 }],
      positiveDeltas: [1],
      customValues: [],
    };
    r.histograms.push({ timestampMs: 9, histogram: custom }, { timestampMs: 10, histogram: onlyInf });
    r.histogramOffsets = new Uint32Array([0, 0, 0, 4]);
    const payload = encodeRecord(r);
    assert.equal(versionOf(payload), 3);
    const d = decodeRecord(payload);
    assert.deepEqual(d.histograms[0], r.histograms[0], 'an exponential histogram gets no custom values');
    assert.equal(d.histograms[1].histogram.customValues, undefined);
    assert.deepEqual(d.histograms[2], r.histograms[2]);
    assert.deepEqual(d.histograms[3], r.histograms[3]);
    assert.equal(countRecordSignals(payload), 4 + 4 + 1 + 1);
  });

  it('rejects custom value columns that disagree with the histograms', () => {
    const lz = (map: Record<string, unknown>) => {
      const msg = new Encoder().encode(map);
      return compressSync(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
    };
    const r = sample();
    r.histograms[0].histogram = { ...r.histograms[0].histogram, schema: -53, customValues: [1, 2] };
    const map = new Decoder().decode(uncompressSync(Buffer.from(encodeRecord(r)))) as Record<string, unknown>;
    const u32 = (xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
    assertCorrupt(() => decodeRecord(lz({ ...map, hco: u32([0, 2]) })), /field hco has 2 offsets for 2 entries/);
    assertCorrupt(() => decodeRecord(lz({ ...map, hco: u32([0, 3, 3]) })), /field hco ends at 3, expected 2/);
    assertCorrupt(() => decodeRecord(lz({ ...map, hcv: new Uint8Array(12) })), /field hcv has 12 bytes/);
    assertCorrupt(() => decodeRecord(lz({ ...map, hcv: undefined })), /field hcv is missing/);
  });

  it('reads the version-3 golden record: custom-bucket histograms beside an exponential one', () => {
    const payload = readFileSync(
      new URL('../../../test/fixtures/segments/record-v3-custom-buckets.bin', import.meta.url),
    );
    const d = decodeRecord(payload);
    assert.deepEqual(d.strings, ['__name__', 'rpc_seconds', 'job', 'api', 'up']);
    assert.deepEqual([...d.histogramOffsets], [0, 3, 3]);
    assert.deepEqual(
      d.histograms.map((e) => [e.timestampMs, e.histogram.schema, e.histogram.customValues]),
      [
        [1000, -53, [0.1, 0.5, 1, 5]],
        [1500, 2, undefined],
        [2000, -53, [-1, 0.25]],
      ],
    );
    assert.deepEqual(d.histograms[0].histogram, {
      isFloat: false,
      count: 6,
      sum: 2.5,
      schema: -53,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 1 },
      ],
      negativeSpans: [],
      positiveDeltas: [1, 2, -1],
      negativeDeltas: [],
      resetHint: 2,
      customValues: [0.1, 0.5, 1, 5],
    });
    assert.deepEqual(d.histograms[2].histogram.positiveCounts, [2.5, 5]);
    assert.equal(d.histograms[2].histogram.isFloat, true);
    assert.deepEqual([...d.values], [1]);
    assert.equal(countRecordSignals(payload), 4);
  });

  it('reads a record written before series ids existed (fixture from that version)', () => {
    const payload = readFileSync(
      new URL('../../../test/fixtures/segments/record-v1-no-series-ids.bin', import.meta.url),
    );
    const d = decodeRecord(payload);
    assert.deepEqual(d.strings, ['__name__', 'up', 'job', 'a', 'b', 'trace_id', 'abc']);
    assert.equal(d.seriesCount, 2);
    assert.deepEqual([...d.labelRefs], [0, 1, 2, 3, 0, 1, 2, 4]);
    // Written with label hash version 1 (the fixture's hashes were 1 and 0xffffffff): read with
    // today's hash of each series' labels, so the series shard as newly written records do.
    assert.deepEqual(
      [...d.seriesHash],
      [hashLabelPairs(['__name__', 'up', 'job', 'a']), hashLabelPairs(['__name__', 'up', 'job', 'b'])],
    );
    assert.deepEqual([...d.sampleOffsets], [0, 2, 3]);
    assert.deepEqual([...d.timestamps], [1000, 2000, 3000]);
    const bits = new Uint32Array(d.values.buffer, d.values.byteOffset, 6);
    assert.equal(d.values[0], 1.5);
    assert.ok(Object.is(d.values[1], -0));
    assert.deepEqual([bits[5], bits[4]], [STALE_HI, STALE_LO]);
    assert.equal(d.histograms.length, 1);
    assert.deepEqual(d.histograms[0].histogram.positiveDeltas, [3, -1]);
    assert.equal(d.histograms[0].histogram.customValues, undefined, 'written before custom buckets existed');
    assert.equal(d.exemplars[0].timestampMs, 999);
    assert.deepEqual(d.metadata, [{ metricFamilyName: 'up', type: 'gauge', help: 'Is it up?', unit: '' }]);
    assert.equal(d.seriesIds, undefined);
    assert.equal(countRecordSignals(payload), 3 + 1 + 1 + 1);
  });
});
