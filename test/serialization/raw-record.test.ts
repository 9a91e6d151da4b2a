import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import { encodeRawRecord, isRawRecord, RAW_RECORD_VERSION } from '../../src/serialization/raw-record.js';
import { countRecordSignals, decodeRecord, encodeRecord } from '../../src/serialization/record-codec.js';
import { hashLabelPairs } from '../../src/serialization/series.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { type RawWriteRequestScan, scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import {
  remoteWriteProtos,
  type SeriesInput,
  sortedLabelPairs,
  writeRequestV1Object,
} from '../helpers/remote-write-client.js';
import { moduleUrl, runWithV8Natives } from '../helpers/v8-natives.js';

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

/** Series of the round trip; the value 0.125 of the first series' second sample becomes a stale marker. */
const SERIES: SeriesInput[] = [
  {
    labels: { __name__: 'http_requests_total', code: '200', instance: 'a:9100', job: 'api', method: 'GET' },
    samples: [
      [1_700_000_000_000, 10],
      [1_700_000_015_000, 0.125],
      [1_700_000_030_000, 0],
    ],
  },
  {
    labels: { __name__: 'temperature', city: 'Zürich', unit: '°C' },
    samples: [
      [-5, -273.15],
      [0, 21.5],
    ],
  },
  { labels: { __name__: 'long_label', v: 'x'.repeat(200) }, samples: [[42, 1e300]] },
  {
    labels: { __name__: 'http_requests_total', code: '500', instance: 'a:9100', job: 'api', method: 'GET' },
    samples: [
      [1_700_000_000_000, 1],
      [1_700_000_060_000, 2],
      [1_700_000_120_000, 3],
      [1_700_000_180_000, 4],
    ],
  },
];
const STALE_SAMPLE = 1; // absolute index of the stale marker in the record's columns

type Obj = { timeseries: { samples: { value?: number }[] }[] };

/** The value at `i` as [low word, high word]: a view, never a read through a JS number. */
function words(values: Float64Array, i: number): [number, number] {
  const u = new Uint32Array(values.buffer, values.byteOffset + i * 8, 2);
  return [u[0], u[1]];
}

function staleNaN(): number {
  const f = new Float64Array(1);
  new Uint32Array(f.buffer).set([STALE_LO, STALE_HI]);
  return f[0];
}

/** The uncompressed body, each series' own WriteRequest (concatenated they are the body), and their label-only TimeSeries bytes. */
function buildBody(series: SeriesInput[]): { body: Uint8Array; parts: Uint8Array[]; labelBytes: number[] } {
  const { WriteRequest, root } = remoteWriteProtos();
  const TimeSeries = root.lookupType('prometheus.TimeSeries');
  const encodeOne = (s: SeriesInput, i: number): Uint8Array => {
    const obj = writeRequestV1Object([s]) as Obj;
    if (i === 0) obj.timeseries[0].samples[STALE_SAMPLE].value = staleNaN(); // an object property keeps the bits
    return WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
  };
  const parts = series.map(encodeOne);
  const whole = writeRequestV1Object(series) as Obj;
  whole.timeseries[0].samples[STALE_SAMPLE].value = staleNaN();
  const body = WriteRequest.encode(WriteRequest.fromObject(whole)).finish();
  assert.deepEqual(Buffer.from(body), Buffer.concat(parts), 'repeated fields encode one after the other');
  const labelBytes = series.map((s) => {
    const labels = sortedLabelPairs(s.labels).map(([name, value]) => ({ name, value }));
    return TimeSeries.encode(TimeSeries.fromObject({ labels })).finish().length;
  });
  return { body, parts, labelBytes };
}

/** Bytes of `0x0a len` at the start of a one-series WriteRequest. */
function fieldHeaderLength(part: Uint8Array): number {
  assert.equal(part[0], 0x0a);
  let i = 1;
  while (part[i] >= 0x80) i++;
  return i + 1;
}

function copyScan(s: RawWriteRequestScan): RawWriteRequestScan {
  return { ...s, hashes: s.hashes.slice(), sampleCounts: s.sampleCounts.slice() };
}

function rawPayload(series: SeriesInput[] = SERIES): {
  payload: Uint8Array;
  snappy: Uint8Array;
  scan: RawWriteRequestScan;
} {
  const { body } = buildBody(series);
  const scan = scanWriteRequestV1(body);
  assert.ok(scan, 'the scan accepts the body');
  const snappy = compressBlock(body);
  return { payload: encodeRawRecord(snappy, scan), snappy, scan: copyScan(scan) };
}

function assertCorrupt(fn: () => unknown, what: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof PromspoolError, `${what}: not a PromspoolError: ${err}`);
      assert.equal(err.code, 'ERR_CORRUPT_RECORD', `${what}: ${err.message}`);
      return true;
    },
    what,
  );
}

/** Reads all that a reader may touch, so that lazy decoding errors (if any) surface too. */
function decodeFully(payload: Uint8Array): SignalRecord {
  const r = decodeRecord(payload);
  void r.timestamps.length;
  void r.values.length;
  void r.strings.length;
  void r.labelOffsets.length;
  void r.labelRefs.length;
  void r.rawSeries?.labelsEnd.length;
  return r;
}

describe('raw record (kind 2): round trip', () => {
  it('gives back the series as the scan and the body describe them', () => {
    const { body, parts, labelBytes } = buildBody(SERIES);
    const { payload, scan } = rawPayload();
    assert.equal(isRawRecord(payload), true);
    assert.equal(countRecordSignals(payload), 10);
    assert.equal(scan.samples, 10);

    const r = decodeRecord(payload);
    assert.equal(r.seriesCount, 4);
    assert.deepEqual(
      Array.from(r.seriesHash),
      SERIES.map((s) => hashLabelPairs(sortedLabelPairs(s.labels).flat())),
    );
    assert.deepEqual(Array.from(r.sampleOffsets), [0, 3, 5, 6, 10]);
    assert.deepEqual(Array.from(r.histogramOffsets), [0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(r.exemplarOffsets), [0, 0, 0, 0, 0]);
    assert.deepEqual(r.histograms, []);
    assert.deepEqual(r.exemplars, []);
    assert.deepEqual(r.metadata, []);

    const raw = r.rawSeries;
    assert.ok(raw);
    assert.equal(raw.intact, true);
    assert.equal(raw.minTimestampMs, -5);
    assert.equal(raw.maxTimestampMs, 1_700_000_180_000);
    assert.deepEqual(Buffer.from(raw.bytes), Buffer.from(body));
    let offset = 0;
    for (let s = 0; s < SERIES.length; s++) {
      // Each part is `0x0a len TimeSeries`: the series' bytes are the part without its field header.
      const ts = parts[s].subarray(fieldHeaderLength(parts[s]));
      assert.equal(raw.start[s], offset + parts[s].length - ts.length, `start of series ${s}`);
      assert.equal(raw.end[s], offset + parts[s].length, `end of series ${s}`);
      assert.deepEqual(Buffer.from(raw.bytes.subarray(raw.start[s], raw.end[s])), Buffer.from(ts));
      assert.equal(raw.labelsEnd[s], raw.start[s] + labelBytes[s], `labelsEnd of series ${s}`);
      offset += parts[s].length;
    }
  });

  it('decodes into fast-mode objects, the record and its rawSeries (read per series when sending)', () => {
    // An object literal with a getter (as rawSeries was) is created in dictionary mode: every
    // field read on the send path became a hash lookup (bench/relay.ts: ~13% of the CPU).
    const codec = moduleUrl('../../src/serialization/record-codec.js', import.meta.url);
    const payload = Buffer.from(rawPayload().payload).toString('base64');
    const script = `
      const { decodeRecord } = await import(${codec});
      const a = decodeRecord(Buffer.from('${payload}', 'base64'));
      const b = decodeRecord(Buffer.from('${payload}', 'base64'));
      const before = [%HasFastProperties(a), %HasFastProperties(a.rawSeries), %HaveSameMap(a.rawSeries, b.rawSeries)];
      void a.rawSeries.labelsEnd;
      void a.timestamps;
      void a.strings;
      const after = [%HasFastProperties(a), %HasFastProperties(a.rawSeries), %HaveSameMap(a.rawSeries, b.rawSeries)];
      console.log(JSON.stringify([before, after]));
    `;
    assert.deepEqual(runWithV8Natives(script), [
      [true, true, true],
      [true, true, true],
    ]);
  });

  it('decodes the sample columns exactly, stale-marker bits and negative timestamps included', () => {
    const r = decodeRecord(rawPayload().payload);
    const expected = SERIES.flatMap((s) => s.samples ?? []);
    assert.deepEqual(
      Array.from(r.timestamps),
      expected.map(([t]) => t),
    );
    for (let i = 0; i < expected.length; i++) {
      if (i === STALE_SAMPLE) continue;
      assert.ok(Object.is(r.values[i], expected[i][1]), `value ${i}: ${r.values[i]} != ${expected[i][1]}`);
    }
    assert.deepEqual(words(r.values, STALE_SAMPLE), [STALE_LO, STALE_HI]);
    assert.equal(r.timestamps[3], -5);
    assert.equal(r.timestamps[4], 0);
    assert.ok(Object.is(r.values[2], 0));
  });

  it('decodes the label strings into the string-table form', () => {
    const r = decodeRecord(rawPayload().payload);
    assert.equal(r.labelOffsets.length, SERIES.length + 1);
    for (let s = 0; s < SERIES.length; s++) {
      const pairs: [string, string][] = [];
      for (let k = r.labelOffsets[s]; k < r.labelOffsets[s + 1]; k++) {
        pairs.push([r.strings[r.labelRefs[2 * k]], r.strings[r.labelRefs[2 * k + 1]]]);
      }
      assert.deepEqual(pairs, sortedLabelPairs(SERIES[s].labels), `labels of series ${s}`);
    }
    // Strings are shared between series: 'http_requests_total', 'a:9100', 'api', 'GET' appear once.
    assert.equal(r.strings.filter((x) => x === 'http_requests_total').length, 1);
    assert.equal(r.strings.filter((x) => x === '__name__').length, 1);
  });

  it('decodes a payload that is not 4-aligned in its buffer', () => {
    const { payload } = rawPayload();
    const holder = new Uint8Array(payload.length + 3);
    holder.set(payload, 3);
    const r = decodeRecord(holder.subarray(3));
    assert.deepEqual(Array.from(r.sampleOffsets), [0, 3, 5, 6, 10]);
    assert.deepEqual(Array.from(r.seriesHash), Array.from(decodeRecord(payload).seriesHash));
    assert.equal(countRecordSignals(holder.subarray(3)), 10);
  });

  it('is told apart from a kind-1 record', () => {
    const { payload } = rawPayload();
    const kind1 = encodeRecord(decodeRecord(payload));
    assert.equal(isRawRecord(kind1), false);
    const r = decodeRecord(kind1);
    assert.equal(r.rawSeries, undefined);
    assert.deepEqual(Array.from(r.sampleOffsets), [0, 3, 5, 6, 10]);
    assert.deepEqual(words(r.values, STALE_SAMPLE), [STALE_LO, STALE_HI]);
  });

  it('writes the documented header', () => {
    const { payload, snappy } = rawPayload();
    const v = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    assert.deepEqual([...v.subarray(0, 8)], [0x50, 0x53, 0x52, 0xff, RAW_RECORD_VERSION, 0, 0, 0]);
    assert.equal(v.readUInt32LE(8), 4);
    assert.equal(v.readUInt32LE(12), 10);
    assert.equal(v.readDoubleLE(16), -5);
    assert.equal(v.readDoubleLE(24), 1_700_000_180_000);
    assert.equal(v.readUInt32LE(32), snappy.length);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => v.readUInt32LE(36 + 16 + 4 * i)),
      [3, 2, 1, 4],
    );
    assert.deepEqual(Buffer.from(v.subarray(36 + 32)), Buffer.from(snappy));
  });
});

describe('raw record (kind 2): damage', () => {
  const N = SERIES.length;
  const HEADER = 36 + 8 * N;

  function damaged(edit: (p: Buffer) => Uint8Array | undefined): Uint8Array {
    const p = Buffer.from(rawPayload().payload);
    return edit(p) ?? p;
  }

  it('throws ERR_CORRUPT_RECORD for every truncation of the payload', () => {
    const { payload } = rawPayload();
    for (let n = 0; n < payload.length; n++) {
      const cut = payload.slice(0, n);
      assertCorrupt(() => decodeFully(cut), `decode of ${n} of ${payload.length} bytes`);
      assertCorrupt(() => countRecordSignals(cut), `count of ${n} of ${payload.length} bytes`);
    }
  });

  it('throws ERR_CORRUPT_RECORD for an unknown format version', () => {
    for (const version of [0, 2, 0xff]) {
      const p = damaged((b) => {
        b[4] = version;
        return undefined;
      });
      assertCorrupt(() => decodeFully(p), `version ${version}`);
      assertCorrupt(() => countRecordSignals(p), `count, version ${version}`);
    }
  });

  it('throws ERR_CORRUPT_RECORD when the body length disagrees with the payload', () => {
    for (const delta of [-1, 1, 1000]) {
      const p = damaged((b) => {
        b.writeUInt32LE(b.readUInt32LE(32) + delta, 32);
        return undefined;
      });
      assertCorrupt(() => decodeFully(p), `body length ${delta}`);
      assertCorrupt(() => countRecordSignals(p), `count, body length ${delta}`);
    }
    const longer = damaged((b) => Buffer.concat([b, Buffer.from([0])]));
    assertCorrupt(() => decodeFully(longer), 'a byte more');
  });

  it('throws ERR_CORRUPT_RECORD for a series count of 0 or one that does not match the body', () => {
    const { snappy, scan } = rawPayload();
    for (const series of [0, N - 1, N + 1]) {
      const fake: RawWriteRequestScan = {
        ...scan,
        series,
        hashes: new Uint32Array(series),
        sampleCounts: Uint32Array.from({ length: series }, (_, i) => (i === 0 ? scan.samples : 0)),
      };
      const p = encodeRawRecord(snappy, fake);
      assertCorrupt(() => decodeFully(p), `${series} series`);
    }
  });

  it('throws ERR_CORRUPT_RECORD when the snappy block is damaged', () => {
    // The uncompressed length in the block's preamble, one more than there is.
    const longerClaim = damaged((b) => {
      assert.ok(b[HEADER] >= 0x80 && b[HEADER + 1] < 0x80, 'a two-byte preamble');
      b[HEADER] += 1;
      return undefined;
    });
    assertCorrupt(() => decodeFully(longerClaim), 'preamble + 1');
    // The block cut short (its length in the header fixed to match).
    const cut = damaged((b) => {
      const p = Buffer.from(b.subarray(0, b.length - 5));
      p.writeUInt32LE(p.readUInt32LE(32) - 5, 32);
      return p;
    });
    assertCorrupt(() => decodeFully(cut), 'block cut short');
    // A malformed preamble (a varint longer than 5 bytes).
    const badPreamble = damaged((b) => {
      b.fill(0xff, HEADER, HEADER + 6);
      return undefined;
    });
    assertCorrupt(() => decodeFully(badPreamble), 'bad preamble');
    // The first literal byte (the body's first 0x0a) changed: valid snappy, invalid framing.
    const firstByte = damaged((b) => {
      const tag = b[HEADER + 2];
      assert.equal(tag & 3, 0, 'the block starts with a literal');
      const extra = tag >> 2 >= 60 ? (tag >> 2) - 59 : 0;
      const at = HEADER + 3 + extra;
      assert.equal(b[at], 0x0a);
      b[at] = 0x12;
      return undefined;
    });
    assertCorrupt(() => decodeFully(firstByte), 'first body byte');
  });

  it('throws ERR_CORRUPT_RECORD when the per-series sample counts do not add up to the header', () => {
    for (const delta of [-1, 1]) {
      const p = damaged((b) => {
        const at = 36 + 4 * N + 4; // the second series' count
        b.writeUInt32LE(b.readUInt32LE(at) + delta, at);
        return undefined;
      });
      assertCorrupt(() => decodeFully(p), `series count ${delta}`);
    }
    const header = damaged((b) => {
      b.writeUInt32LE(11, 12);
      return undefined;
    });
    assertCorrupt(() => decodeFully(header), 'header sample count 11');
  });
});
