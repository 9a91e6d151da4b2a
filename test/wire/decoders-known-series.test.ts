import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Labels } from '../../src/serialization/types.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import type { RemoteWriteVisitor } from '../../src/wire/types.js';
import { encodeWriteRequestV1, encodeWriteRequestV2, type SeriesInput } from '../helpers/remote-write-client.js';

/** Records the calls in order; `knownSeries` answers `known`. */
function visitor(known: boolean) {
  const calls: string[] = [];
  const v: RemoteWriteVisitor = {
    knownSeries(key, start, end, ct) {
      calls.push(`known ${Buffer.from(key.subarray(start, end)).toString('hex')} ${ct}`);
      return known;
    },
    series(labels, ct) {
      calls.push(`series ${labels.join(',')} ${ct}`);
    },
    sample(ts, value) {
      calls.push(`sample ${ts} ${value}`);
    },
    histogram() {},
    exemplar(labels) {
      calls.push(`exemplar ${labels.join(',')}`);
    },
    metadata(e) {
      calls.push(`metadata ${e.metricFamilyName} ${e.type}`);
    },
  };
  return { v, calls };
}

const enc = new TextEncoder();
function field(tag: number, body: number[]): number[] {
  return [tag, body.length, ...body];
}
const label = (n: string, v: string): number[] =>
  field(0x0a, [...field(0x0a, [...enc.encode(n)]), ...field(0x12, [...enc.encode(v)])]);
const hex = (bytes: number[]): string => Buffer.from(bytes).toString('hex');
const labels: Labels = { __name__: 'up', job: 'a' };
const labelBytes = [...label('__name__', 'up'), ...label('job', 'a')];
const series: SeriesInput[] = [{ labels, samples: [[5, 2]] }];

describe('decoders offer label bytes to knownSeries', () => {
  it('1.0: the contiguous Label fields as on the wire; a miss then gets series()', () => {
    const { v, calls } = visitor(false);
    decodeWriteRequestV1(encodeWriteRequestV1(series), v);
    assert.deepEqual(calls, [`known ${hex(labelBytes)} 0`, 'series __name__,up,job,a 0', 'sample 5 2']);
  });

  it('1.0: a hit skips series() and the labels are not even decoded', () => {
    const { v, calls } = visitor(true);
    // Label bytes that would fail validation (names unsorted): never looked at on a hit.
    const unsorted = [...label('job', 'a'), ...label('__name__', 'up')];
    const sampleBytes = field(0x12, [0x10, 7]);
    const body = new Uint8Array(field(0x0a, [...unsorted, ...sampleBytes]));
    decodeWriteRequestV1(body, v);
    assert.deepEqual(calls, [`known ${hex(unsorted)} 0`, 'sample 7 0']);
  });

  it('1.0: scattered labels are not offered', () => {
    const { v, calls } = visitor(true);
    const sampleBytes = field(0x12, [0x10, 7]);
    const body = new Uint8Array(field(0x0a, [...label('__name__', 'up'), ...sampleBytes, ...label('job', 'a')]));
    decodeWriteRequestV1(body, v);
    assert.deepEqual(calls, ['series __name__,up,job,a 0', 'sample 7 0']);
  });

  it('1.0: a series without labels fails whatever knownSeries would say', () => {
    const { v, calls } = visitor(true);
    assert.throws(() => decodeWriteRequestV1(new Uint8Array(field(0x0a, field(0x12, [0x10, 7]))), v), /no labels/);
    assert.deepEqual(calls, []);
  });

  it('2.0: the resolved labels encoded exactly as 1.0 Label fields, with the created timestamp', () => {
    const { v, calls } = visitor(false);
    decodeWriteRequestV2(
      encodeWriteRequestV2([{ ...series[0], createdTimestampMs: 3, metadata: { type: 'gauge', help: '', unit: '' } }]),
      v,
    );
    assert.deepEqual(calls, [
      `known ${hex(labelBytes)} 3`,
      'series __name__,up,job,a 3',
      'metadata up gauge',
      'sample 5 2',
    ]);
  });

  it('2.0: a hit skips series() and still names the metadata and decodes exemplars', () => {
    const { v, calls } = visitor(true);
    decodeWriteRequestV2(
      encodeWriteRequestV2([
        {
          ...series[0],
          metadata: { type: 'counter', help: 'h', unit: '' },
          exemplars: [{ labels: { trace_id: 'x' }, value: 1, timestampMs: 5 }],
        },
      ]),
      v,
    );
    assert.deepEqual(calls, [`known ${hex(labelBytes)} 0`, 'metadata up counter', 'sample 5 2', 'exemplar trace_id,x']);
  });

  it('2.0: invalid labels fail before knownSeries is asked', () => {
    const { v, calls } = visitor(true);
    assert.throws(
      () => decodeWriteRequestV2(encodeWriteRequestV2([{ labels: { __name__: 'up', job: '' }, samples: [[1, 1]] }]), v),
      /empty value for label "job"/,
    );
    assert.deepEqual(calls, []);
  });
});
