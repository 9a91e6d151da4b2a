/**
 * What the 2.0 encoder keeps from one request to the next (per-series slots by id, strings by
 * bytes for relayed series) must never show on the wire: every request is exactly what a fresh
 * encoder writes for it, its symbol table holds only its own strings, stale markers keep their bits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { createWriteRequestEncoderV2, type WriteRequestEncoderV2Options } from '../../src/wire/rw2-encoder.js';
import { compressBlock } from '../../src/wire/snappy.js';
import type { SeriesSlice, WriteRequestEncoder } from '../../src/wire/types.js';
import { decodeV2WithProtobufjs } from '../helpers/fake-receiver.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../helpers/remote-write-client.js';
import { buildRecord, floatFromBits, STALE_NAN_BITS, wholeSlices } from './record-builder.js';

const EXT = { cluster: 'eu1', replica: 'a', job: 'ext' };

/** Series `i` of a request at time `t`; series 2 and 5 carry a stale marker at `t`. */
function seriesOf(count: number, t: number): SeriesInput[] {
  return Array.from({ length: count }, (_x, i) => ({
    labels: {
      __name__: `metric_${i % 3}`,
      pod: `pod-${i}`,
      ...(i % 2 === 0 ? { job: 'own' } : {}),
      ...(i % 4 === 1 ? { city: 'Zürich' } : {}),
    },
    samples: [
      [t, i + 0.5],
      [t + 1000, i === 2 || i === 5 ? 0 : -i],
    ] as [number, number][],
  }));
}

/** The record of {@link seriesOf} with ids (0..count-1 in `scope`) and the stale markers' bits. */
function idRecord(count: number, t: number, scope = 7): SignalRecord {
  const r = buildRecord(seriesOf(count, t));
  const bits = new BigUint64Array(r.values.buffer);
  for (const i of [2, 5]) if (i < count) bits[2 * i + 1] = STALE_NAN_BITS;
  return { ...r, seriesIds: Uint32Array.from({ length: count }, (_x, i) => i), seriesIdScope: scope };
}

/** The same series as a kind-2 (relayed) record: a 1.0 body, scanned, stored and read back. */
function relayedRecord(count: number, t: number): SignalRecord {
  const { WriteRequest } = remoteWriteProtos();
  const obj = writeRequestV1Object(seriesOf(count, t)) as { timeseries: { samples: { value?: number }[] }[] };
  for (const i of [2, 5]) if (i < count) obj.timeseries[i].samples[1].value = floatFromBits(STALE_NAN_BITS);
  const body = WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
  const scan = scanWriteRequestV1(body);
  assert.ok(scan, 'the scan accepts the body');
  const r = decodeRecord(encodeRawRecord(compressBlock(body), scan));
  assert.ok(r.rawSeries);
  return r;
}

/**
 * `r` with its decoded columns and strings forbidden: a whole relayed series is encoded from the
 * received bytes alone.
 */
function bytesOnly(r: SignalRecord): SignalRecord {
  const forbidden = new Set(['strings', 'labelRefs', 'labelOffsets', 'timestamps', 'values']);
  return new Proxy(r, {
    get(target, p) {
      if (typeof p === 'string' && forbidden.has(p)) throw new Error(`the encoder read record.${p}`);
      return Reflect.get(target, p, target);
    },
  });
}

function pick(r: SignalRecord, series: number[]): SeriesSlice[] {
  const all = wholeSlices(r);
  return series.map((i) => all[i]);
}

function encodeWith(enc: WriteRequestEncoder, slices: SeriesSlice[]): Buffer {
  return Buffer.from(enc.encode(slices, slices.length, []));
}

/** What a fresh encoder with nothing cached or remembered writes for `slices`. */
function fresh(slices: SeriesSlice[], opts: Partial<WriteRequestEncoderV2Options> = {}): Buffer {
  return encodeWith(
    createWriteRequestEncoderV2({ externalLabels: EXT, labelCacheSlots: 0, rememberedStrings: 0, ...opts }),
    slices,
  );
}

function symbolsOf(body: Uint8Array): string[] {
  const { RequestV2 } = remoteWriteProtos();
  return (RequestV2.toObject(RequestV2.decode(body), { arrays: true }) as { symbols: string[] }).symbols;
}

/** Every string the decoded series use, "" first: what a per-request symbol table must hold, no more. */
function stringsUsed(body: Uint8Array): Set<string> {
  const used = new Set<string>(['']);
  for (const s of decodeV2WithProtobufjs(body).series) {
    for (const [n, v] of Object.entries(s.labels)) used.add(n).add(v);
  }
  return used;
}

/** Requests over the series 0..7 in this order: series repeat across requests, in other company. */
const REQUESTS = [[0, 1, 2, 3], [3, 0, 5], [6, 7, 1], [2], [0, 1, 2, 3, 4, 5, 6, 7]];

describe('createWriteRequestEncoderV2 across requests', () => {
  for (const [name, opts] of [
    ['default sizes', {}],
    ['a cache and remembered strings that start over all the time', { labelCacheSlots: 12, rememberedStrings: 6 }],
  ] as [string, Partial<WriteRequestEncoderV2Options>][]) {
    it(`series with ids whose labels repeat across requests: each request as a fresh encoder writes it (${name})`, () => {
      const enc = createWriteRequestEncoderV2({ externalLabels: EXT, ...opts });
      REQUESTS.forEach((ids, k) => {
        const slices = pick(idRecord(8, 1000 * k), ids);
        const body = encodeWith(enc, slices);
        assert.deepEqual(body, fresh(slices), `request ${k}`);
        // The symbol table is per request: exactly this request's strings, each once.
        const symbols = symbolsOf(body);
        assert.equal(symbols[0], '');
        assert.deepEqual(new Set(symbols), stringsUsed(body));
        assert.equal(new Set(symbols).size, symbols.length);
        const got = decodeV2WithProtobufjs(body).series;
        assert.deepEqual(
          got.map((s) => s.labels.pod),
          ids.map((i) => `pod-${i}`),
        );
        assert.deepEqual(got[0].labels.cluster, 'eu1');
        assert.equal(got[0].labels.job, ids[0] % 2 === 0 ? 'own' : 'ext');
      });
    });

    it(`relayed series repeat across requests: each request as a fresh encoder writes it, from the received bytes only (${name})`, () => {
      const enc = createWriteRequestEncoderV2({ externalLabels: EXT, ...opts });
      REQUESTS.forEach((ids, k) => {
        const record = relayedRecord(8, 1000 * k);
        const slices = pick(bytesOnly(record), ids);
        const body = encodeWith(enc, slices);
        assert.deepEqual(body, fresh(slices), `request ${k}`);
        // And the same request as the decoded record with ids would be.
        assert.deepEqual(body, fresh(pick(idRecord(8, 1000 * k), ids)), `request ${k} vs decoded`);
        assert.deepEqual(new Set(symbolsOf(body)), stringsUsed(body));
      });
    });
  }

  it('stale markers keep their exact bits on the cached path and the relayed path, request after request', () => {
    const enc = createWriteRequestEncoderV2({ externalLabels: EXT });
    for (let k = 0; k < 3; k++) {
      for (const record of [idRecord(8, k), relayedRecord(8, k)]) {
        const got = decodeV2WithProtobufjs(encodeWith(enc, wholeSlices(record))).series;
        assert.deepEqual(
          got.map((s) => s.samples[1].bits),
          got.map((_s, i) => (i === 2 || i === 5 ? STALE_NAN_BITS : new BigUint64Array(Float64Array.of(-i).buffer)[0])),
        );
      }
    }
  });

  it('a relayed record and an id record in one request share the symbols, each string once', () => {
    const enc = createWriteRequestEncoderV2({ externalLabels: EXT });
    encodeWith(enc, wholeSlices(idRecord(8, 1)));
    const slices = [...pick(relayedRecord(8, 2), [1, 2]), ...pick(idRecord(8, 2), [2, 1, 3])];
    const body = encodeWith(enc, slices);
    assert.deepEqual(body, fresh(slices));
    const symbols = symbolsOf(body);
    assert.equal(new Set(symbols).size, symbols.length);
    assert.deepEqual(
      decodeV2WithProtobufjs(body).series.map((s) => s.labels.pod),
      ['pod-1', 'pod-2', 'pod-2', 'pod-1', 'pod-3'],
    );
  });
});
