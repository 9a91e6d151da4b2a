import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import { encodeRawRecord, isRawRecord, loadRawBody, RAW_RECORD_VERSION } from '../../src/serialization/raw-record.js';
import { countRecordSignals, decodeRecord, encodeRecord } from '../../src/serialization/record-codec.js';
import { hashLabelPairs, hashLabelPairsV1 } from '../../src/serialization/series.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { type RawWriteRequestScan, scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock, joinSnappyElements, uncompressBlock } from '../../src/wire/snappy.js';
import {
  encodeWriteRequestV1,
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
  return { ...s, hashes: s.hashes.slice(), sampleCounts: s.sampleCounts.slice(), fieldStarts: s.fieldStarts.slice() };
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

/** Bytes of the varint at the start of `b` (a snappy block's uncompressed-length header). */
function varintBytes(b: Uint8Array): number {
  let i = 0;
  while (b[i] >= 0x80) i++;
  return i + 1;
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
    const { body } = buildBody(SERIES);
    const { payload, snappy, scan } = rawPayload();
    const v = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    assert.equal(RAW_RECORD_VERSION, 2);
    assert.deepEqual([...v.subarray(0, 8)], [0x50, 0x53, 0x52, 0xff, 2, 0, 0, 0]);
    assert.equal(v.readUInt32LE(8), 4);
    assert.equal(v.readUInt32LE(12), 10);
    assert.equal(v.readDoubleLE(16), -5);
    assert.equal(v.readDoubleLE(24), 1_700_000_180_000);
    assert.equal(v.readUInt32LE(32), snappy.length);
    // One group (the default): all series, all the block's elements, the whole body uncompressed.
    assert.equal(v.readUInt32LE(36), 1);
    assert.equal(varintBytes(snappy), 2);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => v.readUInt32LE(40 + 4 * i)),
      [4, varintBytes(snappy), snappy.length, body.length],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => v.readUInt32LE(56 + 4 * i)),
      Array.from(scan.hashes),
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => v.readUInt32LE(56 + 16 + 4 * i)),
      [3, 2, 1, 4],
    );
    assert.equal(payload.length, 56 + 32 + snappy.length);
    assert.deepEqual(Buffer.from(v.subarray(56 + 32)), Buffer.from(snappy));
  });
});

describe('raw record (kind 2): written into a given buffer', () => {
  it("writes the same bytes into the allocator's buffer, over whatever it held, for 1 and 4 groups", () => {
    const { body } = buildBody(SERIES);
    const snappy = compressBlock(body);
    for (const groups of [1, 4]) {
      const scan = scanWriteRequestV1(body);
      assert.ok(scan);
      const want = Array.from(encodeRawRecord(snappy, copyScan(scan), { body, groups }));
      // A reused buffer: larger than the record, and full of an earlier record's bytes.
      const reused = new ArrayBuffer(want.length + 100);
      new Uint8Array(reused).fill(0xa5);
      const lengths: number[] = [];
      const got = encodeRawRecord(snappy, copyScan(scan), {
        body,
        groups,
        alloc: (length) => {
          lengths.push(length);
          return new Uint8Array(reused, 0, length);
        },
      });
      assert.deepEqual(lengths, [want.length], "one allocation, of the record's length");
      assert.equal(got.buffer, reused);
      assert.deepEqual(Array.from(got), want);
      assert.deepEqual(Array.from(new Uint8Array(reused, want.length)), new Array(100).fill(0xa5), 'nothing past it');
      assert.equal(decodeFully(got).seriesCount, SERIES.length);
    }
  });

  it('refuses an allocator that gives another length', () => {
    const { body } = buildBody(SERIES);
    const scan = scanWriteRequestV1(body);
    assert.ok(scan);
    assert.throws(
      () => encodeRawRecord(compressBlock(body), scan, { alloc: (length) => new Uint8Array(length - 1) }),
      /record allocator gave \d+ bytes for \d+/,
    );
  });
});

describe('raw record (kind 2): damage', () => {
  const N = SERIES.length;
  /** Where the block starts in a one-group record: 40-byte header, one 16-byte group entry, hashes, counts. */
  const HEADER = 40 + 16 + 8 * N;

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
    for (const version of [0, 3, 0xff]) {
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
        const at = 56 + 4 * N + 4; // the second series' count
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

/**
 * The same request as `rawPayload()`, written by hand in the version-1 layout (no group table,
 * hashes at 36), with label hash version 1 as version-1 writers stored it.
 */
function v1Payload(): { payload: Uint8Array; snappy: Uint8Array; scan: RawWriteRequestScan } {
  const { snappy, scan } = rawPayload();
  const n = scan.series;
  const p = Buffer.alloc(36 + 8 * n + snappy.length);
  p.set([0x50, 0x53, 0x52, 0xff, 1, 0, 0, 0], 0);
  p.writeUInt32LE(n, 8);
  p.writeUInt32LE(scan.samples, 12);
  p.writeDoubleLE(scan.minTimestampMs, 16);
  p.writeDoubleLE(scan.maxTimestampMs, 24);
  p.writeUInt32LE(snappy.length, 32);
  for (let i = 0; i < n; i++) {
    p.writeUInt32LE(hashLabelPairsV1(sortedLabelPairs(SERIES[i].labels).flat()), 36 + 4 * i);
    p.writeUInt32LE(scan.sampleCounts[i], 36 + 4 * n + 4 * i);
  }
  p.set(snappy, 36 + 8 * n);
  return { payload: p, snappy, scan };
}

/** `count` series with distinct labels and 1 to 3 samples each; every timestamp is unique, so the columns show the order. */
function generatedSeries(count: number): SeriesInput[] {
  return Array.from({ length: count }, (_, i) => ({
    labels: { __name__: `gen_metric_${i % 7}`, instance: `host-${i}:9100`, job: 'gen' },
    samples: Array.from({ length: 1 + (i % 3) }, (_, k): [number, number] => [
      1_700_000_000_000 + i * 1000 + k,
      i + k / 8,
    ]),
  }));
}

const GENERATED = generatedSeries(40);

interface Grouped {
  payload: Uint8Array;
  /** Each series' `0x0a len TimeSeries` field, in arrival order; concatenated they are the body. */
  parts: Uint8Array[];
  /** Each series' label hash, in arrival order, computed here (not by the scan). */
  hashes: number[];
  /** Arrival indexes of the series of each group, in arrival order. */
  members: number[][];
}

function groupedPayload(series: SeriesInput[], groups: number): Grouped {
  const parts = series.map((s) => encodeWriteRequestV1([s]));
  const body = Buffer.concat(parts);
  assert.deepEqual(body, Buffer.from(encodeWriteRequestV1(series)), 'repeated fields encode one after the other');
  const scan = scanWriteRequestV1(body);
  assert.ok(scan, 'the scan accepts the body');
  const payload = encodeRawRecord(compressBlock(body), scan, { body, groups });
  const hashes = series.map((s) => hashLabelPairs(sortedLabelPairs(s.labels).flat()));
  const members: number[][] = Array.from({ length: groups }, () => []);
  hashes.forEach((h, i) => {
    members[(h & 0xff) % groups].push(i);
  });
  return { payload, parts, hashes, members };
}

describe('raw record (kind 2): version 1 and groups', () => {
  it('reads the version-2 golden record of 2 groups (hashes from an independent implementation)', () => {
    const payload = readFileSync(new URL('../../../test/fixtures/segments/raw-record-v2-g2.bin', import.meta.url));
    const r = decodeFully(payload);
    // Series k has instance host-k; group 0 holds the even low hash bytes, in arrival order.
    const order = [0, 2, 5, 7, 1, 3, 4, 6];
    const hashes = [0xede12206, 0x47682993, 0xf81ab6e4, 0x8ec2c89f, 0xfcbc8c3b, 0x4dbf04a8, 0xe39f9b8f, 0xe223377c];
    assert.deepEqual(
      Array.from(r.seriesHash),
      order.map((k) => hashes[k]),
    );
    assert.deepEqual(
      Array.from(r.timestamps),
      order.map((k) => 1_700_000_000_000 + k),
    );
    assert.equal(r.rawGroups?.count, 2);
    assert.deepEqual(Array.from(r.rawGroups?.seriesEnd ?? []), [4, 8]);
    assert.deepEqual(Array.from(r.rawGroups?.samples ?? []), [4, 4]);
    for (let g = 0; g < 2; g++) {
      const part = r.rawGroups?.elements[g];
      assert.ok(part);
      const bytes = uncompressBlock(joinSnappyElements([part]), 1 << 20);
      const instances = [...bytes.toString('latin1').matchAll(/host-(\d)/g)].map((m) => Number(m[1]));
      assert.deepEqual(instances, order.slice(4 * g, 4 * g + 4), `group ${g}`);
    }
  });

  it('still decodes a version-1 payload, like the same request written now', () => {
    const v1 = v1Payload();
    const v2 = decodeFully(rawPayload().payload);
    const r = decodeFully(v1.payload);
    assert.equal(r.rawGroups, undefined);
    assert.ok(v2.rawGroups, 'a version-2 record has groups');
    assert.equal(r.seriesCount, 4);
    assert.equal(countRecordSignals(v1.payload), 10);
    // Its stored hashes are version 1; read, they are today's, like a record written now.
    assert.notDeepEqual(
      SERIES.map((s) => hashLabelPairsV1(sortedLabelPairs(s.labels).flat())),
      SERIES.map((s) => hashLabelPairs(sortedLabelPairs(s.labels).flat())),
    );
    assert.deepEqual(Array.from(r.seriesHash), Array.from(v2.seriesHash));
    assert.deepEqual(
      Array.from(r.seriesHash),
      SERIES.map((s) => hashLabelPairs(sortedLabelPairs(s.labels).flat())),
    );
    assert.deepEqual(Array.from(r.sampleOffsets), [0, 3, 5, 6, 10]);
    const raw = r.rawSeries;
    assert.ok(raw && v2.rawSeries);
    assert.deepEqual(Buffer.from(raw.bytes), Buffer.from(buildBody(SERIES).body));
    assert.deepEqual(Buffer.from(raw.bytes), Buffer.from(v2.rawSeries.bytes));
    assert.deepEqual(Array.from(raw.start), Array.from(v2.rawSeries.start));
    assert.deepEqual(Array.from(raw.end), Array.from(v2.rawSeries.end));
    assert.equal(raw.minTimestampMs, -5);
    assert.equal(raw.maxTimestampMs, 1_700_000_180_000);
    assert.deepEqual(Array.from(r.timestamps), Array.from(v2.timestamps));
    assert.deepEqual(words(r.values, STALE_SAMPLE), [STALE_LO, STALE_HI]);
    // Deferred, the same.
    const d = decodeRecord(v1.payload, { deferRawBody: true });
    assert.equal(d.rawGroups, undefined);
    assert.deepEqual(Array.from(d.seriesHash), Array.from(v2.seriesHash));
    loadRawBody(d);
    assert.deepEqual(Buffer.from(d.rawSeries?.bytes ?? []), Buffer.from(raw.bytes));
  });

  it('throws ERR_CORRUPT_RECORD when the version byte does not match the layout', () => {
    const v2as1 = Buffer.from(rawPayload().payload);
    v2as1[4] = 1;
    assertCorrupt(() => decodeFully(v2as1), 'a version-2 payload marked 1');
    assertCorrupt(() => countRecordSignals(v2as1), 'count, a version-2 payload marked 1');
    const v1as2 = Buffer.from(v1Payload().payload);
    v1as2[4] = 2;
    assertCorrupt(() => decodeFully(v1as2), 'a version-1 payload marked 2');
  });

  it('spreads the generated series over every group of 4', () => {
    const { members } = groupedPayload(GENERATED, 4);
    assert.deepEqual(
      members.map((m) => m.length > 0),
      [true, true, true, true],
    );
    assert.equal(members.flat().length, GENERATED.length);
  });

  for (const groups of [1, 3, 4, 256]) {
    it(`writes ${groups} group(s): series grouped by hash, arrival order kept, each group its own snappy elements`, () => {
      const { payload, parts, hashes, members } = groupedPayload(GENERATED, groups);
      const order = members.flat();
      const n = GENERATED.length;
      const r = decodeFully(payload);
      assert.equal(r.seriesCount, n);
      const totalSamples = GENERATED.reduce((a, s) => a + (s.samples?.length ?? 0), 0);
      assert.equal(countRecordSignals(payload), totalSamples);

      // Series in group order, arrival order inside a group.
      assert.deepEqual(
        Array.from(r.seriesHash),
        order.map((i) => hashes[i]),
      );
      const counts = order.map((i) => GENERATED[i].samples?.length ?? 0);
      const offsets = [0];
      for (const c of counts) offsets.push(offsets[offsets.length - 1] + c);
      assert.deepEqual(Array.from(r.sampleOffsets), offsets);

      const g = r.rawGroups;
      assert.ok(g, 'a version-2 record has groups');
      assert.equal(g.count, groups);
      assert.equal(g.seriesEnd.length, groups);
      assert.equal(g.samples.length, groups);
      assert.equal(g.elements.length, groups);
      let end = 0;
      const seriesEnd: number[] = [];
      for (const m of members) seriesEnd.push((end += m.length));
      assert.deepEqual(Array.from(g.seriesEnd), seriesEnd);
      assert.deepEqual(
        Array.from(g.samples),
        members.map((m) => m.reduce((a, i) => a + (GENERATED[i].samples?.length ?? 0), 0)),
      );
      for (let k = 0, first = 0; k < groups; first = g.seriesEnd[k++]) {
        for (let j = first; j < g.seriesEnd[k]; j++) {
          assert.equal((r.seriesHash[j] & 0xff) % groups, k, `series ${j} sits in group ${k}`);
        }
        // Each group alone is a snappy block once given a header: its series' fields, in arrival order.
        const alone = uncompressBlock(joinSnappyElements([g.elements[k]]), 1 << 24);
        assert.deepEqual(alone, Buffer.concat(members[k].map((i) => parts[i])), `group ${k} uncompresses alone`);
        assert.equal(g.elements[k].rawLength, alone.length, `raw length of group ${k}`);
      }

      // All groups joined: the whole body, regrouped, which is also what rawSeries holds.
      const reordered = Buffer.concat(order.map((i) => parts[i]));
      const whole = uncompressBlock(joinSnappyElements(g.elements), 1 << 24);
      assert.deepEqual(whole, reordered);
      const raw = r.rawSeries;
      assert.ok(raw);
      assert.deepEqual(Buffer.from(raw.bytes), reordered);
      for (let j = 0; j < n; j++) {
        const part = parts[order[j]];
        assert.deepEqual(
          Buffer.from(raw.bytes.subarray(raw.start[j], raw.end[j])),
          Buffer.from(part.subarray(fieldHeaderLength(part))),
          `bytes of series ${j}`,
        );
      }

      // The columns and labels follow the grouped order.
      assert.deepEqual(
        Array.from(r.timestamps),
        order.flatMap((i) => (GENERATED[i].samples ?? []).map(([t]) => t)),
      );
      assert.deepEqual(
        Array.from(r.values),
        order.flatMap((i) => (GENERATED[i].samples ?? []).map(([, v]) => v)),
      );
      for (let j = 0; j < n; j++) {
        const pairs: [string, string][] = [];
        for (let k = r.labelOffsets[j]; k < r.labelOffsets[j + 1]; k++) {
          pairs.push([r.strings[r.labelRefs[2 * k]], r.strings[r.labelRefs[2 * k + 1]]]);
        }
        assert.deepEqual(pairs, sortedLabelPairs(GENERATED[order[j]].labels), `labels of series ${j}`);
      }
      const allTimestamps = GENERATED.flatMap((s) => (s.samples ?? []).map(([t]) => t));
      assert.equal(raw.minTimestampMs, Math.min(...allTimestamps));
      assert.equal(raw.maxTimestampMs, Math.max(...allTimestamps));
    });
  }

  it('refuses a group count out of 1..256, and grouping without the uncompressed body', () => {
    const body = Buffer.concat(GENERATED.map((s) => encodeWriteRequestV1([s])));
    const scan = scanWriteRequestV1(body);
    assert.ok(scan);
    const snappy = compressBlock(body);
    for (const groups of [0, 257, 1.5, Number.NaN]) {
      assert.throws(() => encodeRawRecord(snappy, scan, { body, groups }), RangeError, `groups ${groups}`);
    }
    assert.throws(() => encodeRawRecord(snappy, scan, { groups: 4 }), RangeError, 'no body');
  });
});

describe('raw record (kind 2): damage of the group table', () => {
  const G = 4;
  const N = GENERATED.length;
  const TABLE = 40;
  const HASHES = TABLE + 16 * G;
  const BLOCK = HASHES + 8 * N;
  /** Byte offset of field `f` (0 series end, 1 element start, 2 element end, 3 raw length) of group `k`. */
  const at = (k: number, f: number): number => TABLE + 16 * k + 4 * f;

  function damaged(edit: (p: Buffer) => void): Buffer {
    const p = Buffer.from(groupedPayload(GENERATED, G).payload);
    edit(p);
    return p;
  }

  /** Corrupt however it is read: eagerly, with the body deferred (the table is still checked), and counted where the header alone tells. */
  function assertTableCorrupt(p: Uint8Array, what: string): void {
    assertCorrupt(() => decodeFully(p), what);
    assertCorrupt(() => decodeRecord(p, { deferRawBody: true }), `${what}, deferred`);
  }

  it('decodes the undamaged payload (the edits below are what breaks it)', () => {
    const p = damaged(() => {});
    const r = decodeFully(p);
    assert.equal(r.rawGroups?.count, G);
    assert.equal(p.readUInt32LE(36), G);
    assert.equal(p.readUInt32LE(32), p.length - BLOCK);
    assert.ok(p.readUInt32LE(at(0, 0)) >= 2, 'group 0 holds at least two series');
  });

  it('throws ERR_CORRUPT_RECORD for a group count of 0, above 256, or not the one written', () => {
    for (const count of [0, 257, 0xffffffff, 1, 3, 5]) {
      const p = damaged((b) => b.writeUInt32LE(count, 36));
      assertTableCorrupt(p, `group count ${count}`);
      assertCorrupt(() => countRecordSignals(p), `count, group count ${count}`);
    }
  });

  it('throws ERR_CORRUPT_RECORD when a series end decreases, passes N or falls short of it', () => {
    const decreasing = damaged((b) => b.writeUInt32LE(b.readUInt32LE(at(0, 0)) - 1, at(1, 0)));
    assertTableCorrupt(decreasing, 'group 1 ends before group 0');
    const zero = damaged((b) => b.writeUInt32LE(0, at(2, 0)));
    assertTableCorrupt(zero, 'group 2 ends at 0');
    for (const k of [0, 1, 3]) {
      assertTableCorrupt(
        damaged((b) => b.writeUInt32LE(N + 1, at(k, 0))),
        `group ${k} ends past N`,
      );
    }
    assertTableCorrupt(
      damaged((b) => b.writeUInt32LE(N - 1, at(G - 1, 0))),
      'the last group ends before N',
    );
  });

  it('throws ERR_CORRUPT_RECORD when the element ranges are not contiguous or leave the block', () => {
    const blockLength = (b: Buffer): number => b.readUInt32LE(32);
    const edits: [string, (b: Buffer) => void][] = [
      ['group 0 starts in the snappy header', (b) => b.writeUInt32LE(0, at(0, 1))],
      ['group 0 starts a byte late', (b) => b.writeUInt32LE(b.readUInt32LE(at(0, 1)) + 1, at(0, 1))],
      ['group 1 starts a byte late (a gap)', (b) => b.writeUInt32LE(b.readUInt32LE(at(1, 1)) + 1, at(1, 1))],
      ['group 1 starts a byte early (an overlap)', (b) => b.writeUInt32LE(b.readUInt32LE(at(1, 1)) - 1, at(1, 1))],
      ['group 2 ends a byte early', (b) => b.writeUInt32LE(b.readUInt32LE(at(2, 2)) - 1, at(2, 2))],
      ['group 2 ends before it starts', (b) => b.writeUInt32LE(b.readUInt32LE(at(2, 1)) - 1, at(2, 2))],
      ['the last group ends past the block', (b) => b.writeUInt32LE(blockLength(b) + 1, at(G - 1, 2))],
      ['the last group ends far past the block', (b) => b.writeUInt32LE(0xffffffff, at(G - 1, 2))],
      ['the last group ends before the block does', (b) => b.writeUInt32LE(blockLength(b) - 1, at(G - 1, 2))],
      ['the last group starts past the block', (b) => b.writeUInt32LE(blockLength(b) + 1, at(G - 1, 1))],
    ];
    for (const [what, edit] of edits) assertTableCorrupt(damaged(edit), what);
  });

  it('throws ERR_CORRUPT_RECORD for a wrong uncompressed length', () => {
    for (const k of [0, 2, G - 1]) {
      for (const delta of [-1, 1, 1000]) {
        assertTableCorrupt(
          damaged((b) => b.writeUInt32LE(b.readUInt32LE(at(k, 3)) + delta, at(k, 3))),
          `group ${k} length ${delta}`,
        );
      }
      assertTableCorrupt(
        damaged((b) => b.writeUInt32LE(0, at(k, 3))),
        `group ${k} length 0`,
      );
    }
  });

  it('throws ERR_CORRUPT_RECORD when loading a body whose group lengths were swapped (their sum still right)', () => {
    const p = damaged((b) => {
      const a = b.readUInt32LE(at(0, 3));
      b.writeUInt32LE(b.readUInt32LE(at(1, 3)), at(0, 3));
      b.writeUInt32LE(a, at(1, 3));
    });
    assert.notEqual(p.readUInt32LE(at(0, 3)), p.readUInt32LE(at(1, 3)));
    assertCorrupt(() => decodeFully(p), 'lengths of groups 0 and 1 swapped');
    const deferred = decodeRecord(p, { deferRawBody: true });
    assertCorrupt(() => loadRawBody(deferred), 'lengths swapped, loaded later');
  });

  it('throws ERR_CORRUPT_RECORD when a series sits in a group its hash does not map to', () => {
    const p = damaged((b) => {
      // Swap the hash of group 0's first series with that of group 1's first: both now sit in the wrong group.
      const first1 = b.readUInt32LE(at(0, 0));
      const h0 = b.readUInt32LE(HASHES);
      const h1 = b.readUInt32LE(HASHES + 4 * first1);
      assert.notEqual((h0 & 0xff) % G, (h1 & 0xff) % G);
      b.writeUInt32LE(h1, HASHES);
      b.writeUInt32LE(h0, HASHES + 4 * first1);
    });
    assertTableCorrupt(p, 'hashes swapped across groups');
    // One hash changed by one (its virtual shard moves to the next group).
    const bumped = damaged((b) => {
      const last = HASHES + 4 * (N - 1);
      const h = b.readUInt32LE(last);
      b.writeUInt32LE(((h & ~0xff) | (((h & 0xff) + 1) & 0xff)) >>> 0, last);
    });
    assertTableCorrupt(bumped, 'last hash in the next group');
  });
});

describe('raw record (kind 2): deferred body', () => {
  it('decodes an intact payload deferred, and loads the same bytes on demand', () => {
    const { payload } = groupedPayload(GENERATED, 4);
    const eager = decodeFully(payload);
    const d = decodeRecord(payload, { deferRawBody: true });
    assert.deepEqual(Array.from(d.seriesHash), Array.from(eager.seriesHash));
    assert.deepEqual(Array.from(d.sampleOffsets), Array.from(eager.sampleOffsets));
    assert.deepEqual(Array.from(d.rawGroups?.seriesEnd ?? []), Array.from(eager.rawGroups?.seriesEnd ?? []));
    loadRawBody(d);
    loadRawBody(d);
    assert.deepEqual(Buffer.from(d.rawSeries?.bytes ?? []), Buffer.from(eager.rawSeries?.bytes ?? []));
    assert.deepEqual(Array.from(d.timestamps), Array.from(eager.timestamps));
  });

  for (const groups of [1, 4]) {
    it(`with ${groups} group(s), a damaged block decodes deferred and throws ERR_CORRUPT_RECORD when loaded`, () => {
      const { payload, hashes, members } = groupedPayload(GENERATED, groups);
      const p = Buffer.from(payload);
      const block = 40 + 16 * groups + 8 * GENERATED.length;
      // From the middle of the elements on, every byte 0xff: a copy reaching 4 GiB back, or a literal running off the end.
      p.fill(0xff, block + Math.floor((p.length - block) / 2));
      const bodyFailure = (err: unknown): boolean => {
        assert.ok(err instanceof PromspoolError, `not a PromspoolError: ${err}`);
        assert.equal(err.code, 'ERR_CORRUPT_RECORD', err.message);
        assert.ok(err.cause instanceof PromspoolError && err.cause.code === 'ERR_BAD_SNAPPY', `cause: ${err.cause}`);
        return true;
      };

      assert.throws(() => decodeRecord(p), bodyFailure, 'eager decode');

      const d = decodeRecord(p, { deferRawBody: true });
      assert.deepEqual(
        Array.from(d.seriesHash),
        members.flat().map((i) => hashes[i]),
      );
      assert.equal(d.sampleOffsets[GENERATED.length], countRecordSignals(p));
      assert.equal(d.rawGroups?.count, groups);
      assert.throws(() => loadRawBody(d), bodyFailure, 'loadRawBody');
      assert.throws(() => loadRawBody(d), bodyFailure, 'loadRawBody again');
      const d2 = decodeRecord(p, { deferRawBody: true });
      assert.throws(() => d2.rawSeries?.bytes, bodyFailure, 'rawSeries.bytes');
      const d3 = decodeRecord(p, { deferRawBody: true });
      assert.throws(() => d3.timestamps, bodyFailure, 'timestamps');
    });
  }
});
