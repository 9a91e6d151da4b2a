// Hostile remote-write bodies against what the daemon's receiver runs on every request:
// uncompressBlock (snappy with its length guard) then decodeWriteRequestV1 / V2. Whatever the
// bytes, the only thing allowed out is a PromspoolError with ERR_BAD_SNAPPY, ERR_BODY_TOO_LARGE or
// ERR_BAD_REQUEST; never another error, never a hang, never an allocation the size of a lie.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { compressSync } from 'snappy';
import { PromspoolError } from '../../src/errors.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import { snappyUncompressedLength, uncompressBlock } from '../../src/wire/snappy.js';
import type { SeriesInput } from '../helpers/remote-write-client.js';
import { encodeWriteRequestV1, encodeWriteRequestV2 } from '../helpers/remote-write-client.js';
import { recordingVisitor } from '../wire/visitor-recorder.js';
import { fuzzCases, fuzzSeed, Rng } from './fuzz-random.js';

/** The receiver's default `max_body_bytes` (32MiB). */
const MAX_BODY = 32 * 1024 * 1024;
const ALLOWED = new Set(['ERR_BAD_SNAPPY', 'ERR_BODY_TOO_LARGE', 'ERR_BAD_REQUEST']);
/** One case (decompress + two decodes of at most a few hundred KiB) far exceeding this is a hang. */
const CASE_BUDGET_MS = 2_000;

type Outcome = 'decoded' | 'ERR_BAD_SNAPPY' | 'ERR_BODY_TOO_LARGE' | 'ERR_BAD_REQUEST';

/**
 * What the receiver does with one body: uncompress, then decode as `version`. Returns the outcome;
 * anything thrown that is not an allowed PromspoolError fails the test with the case's bytes.
 */
function receive(body: Uint8Array, version: 1 | 2, what: string, maxBytes = MAX_BODY): Outcome {
  const t0 = performance.now();
  try {
    const raw = uncompressBlock(body, maxBytes);
    decodeRaw(raw, version);
    return 'decoded';
  } catch (err) {
    return classify(err, what, body);
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < CASE_BUDGET_MS, `${what}: took ${ms.toFixed(0)} ms`);
  }
}

/** Decodes an already uncompressed body. */
function decodeRaw(raw: Uint8Array, version: 1 | 2): void {
  const visitor = recordingVisitor();
  if (version === 1) decodeWriteRequestV1(raw, visitor);
  else decodeWriteRequestV2(raw, visitor);
}

function decodeOutcome(raw: Uint8Array, version: 1 | 2, what: string): Outcome {
  const t0 = performance.now();
  try {
    decodeRaw(raw, version);
    return 'decoded';
  } catch (err) {
    return classify(err, what, raw);
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < CASE_BUDGET_MS, `${what}: took ${ms.toFixed(0)} ms`);
  }
}

function classify(err: unknown, what: string, input: Uint8Array): Outcome {
  if (err instanceof PromspoolError && ALLOWED.has(err.code)) return err.code as Outcome;
  const head = Buffer.from(input.subarray(0, 64)).toString('hex');
  assert.fail(`${what}: threw ${String(err)} (${(err as Error)?.stack}) for ${input.length} bytes starting ${head}`);
}

function tally(): Record<Outcome, number> {
  return { decoded: 0, ERR_BAD_SNAPPY: 0, ERR_BODY_TOO_LARGE: 0, ERR_BAD_REQUEST: 0 };
}

const T0 = 1_700_000_000_000;

/** A valid request with every kind of signal, so mutations reach every decoder branch. */
function validSeries(): SeriesInput[] {
  return [
    {
      labels: { __name__: 'http_requests_total', code: '200', job: 'api', instance: 'a:9100' },
      samples: [
        [T0, 1],
        [T0 + 15_000, 2.5],
        [T0 + 30_000, -0],
      ],
      exemplars: [{ labels: { trace_id: 'abc123' }, value: 1, timestampMs: T0 }],
      metadata: { type: 'counter', help: 'Requests.', unit: 'requests' },
      createdTimestampMs: T0 - 60_000,
    },
    {
      labels: { __name__: 'latency_seconds', job: 'api' },
      histograms: [
        {
          timestampMs: T0,
          histogram: {
            isFloat: false,
            count: 9,
            sum: 12.5,
            schema: 3,
            zeroThreshold: 1e-128,
            zeroCount: 1,
            positiveSpans: [
              { offset: -2, length: 2 },
              { offset: 3, length: 1 },
            ],
            negativeSpans: [],
            positiveDeltas: [3, -1, 4],
            negativeDeltas: [],
            resetHint: 1,
          },
        },
        {
          timestampMs: T0 + 15_000,
          histogram: {
            isFloat: true,
            count: 4.5,
            sum: 1,
            schema: 0,
            zeroThreshold: 0,
            zeroCount: 0,
            positiveSpans: [],
            negativeSpans: [{ offset: 1, length: 2 }],
            positiveCounts: [],
            negativeCounts: [2, 2.5],
            resetHint: 0,
          },
        },
      ],
    },
    { labels: { __name__: 'up', job: 'node', zone: 'é✓' }, samples: [[T0, 1]] },
  ];
}

/** One random damage to a copy of `input`: flips, overwrites, cuts, inserts, duplicates. */
function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let out = Uint8Array.from(input);
  const edits = rng.range(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = out.length === 0 ? 0 : rng.int(out.length);
    switch (rng.int(7)) {
      case 0: // flip one bit
        if (out.length > 0) out[at] ^= 1 << rng.int(8);
        break;
      case 1: // overwrite with a random byte
        if (out.length > 0) out[at] = rng.int(256);
        break;
      case 2: // overwrite with a protobuf-interesting byte (varint continuation, wire types, 0)
        if (out.length > 0) out[at] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x0f, 0x10]);
        break;
      case 3: // truncate
        out = out.subarray(0, at);
        break;
      case 4: {
        // insert random bytes
        const ins = rng.bytes(rng.range(1, 8));
        out = Buffer.concat([out.subarray(0, at), ins, out.subarray(at)]);
        break;
      }
      case 5: {
        // duplicate a range
        const len = Math.min(rng.range(1, 32), out.length - at);
        out = Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)]);
        break;
      }
      default: {
        // delete a range
        const len = rng.range(1, 16);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + len)]);
      }
    }
  }
  return out;
}

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Field `field` with wire type 2 (length-delimited) holding `body`. */
function lenField(field: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(body.length)]), body]);
}

/** The varint header of a snappy block claiming `n` uncompressed bytes. */
function snappyHeader(n: number): Buffer {
  return Buffer.from(varint(n));
}

describe('remote-write bodies from a hostile sender', () => {
  const seed = fuzzSeed(0x5eed_0001);
  const cases = fuzzCases(3_000);

  it(`${cases} random byte strings: only allowed PromspoolErrors`, () => {
    const rng = new Rng(seed);
    const got = tally();
    for (let c = 0; c < cases; c++) {
      const body = rng.bytes(rng.range(0, 300));
      const version = rng.chance(0.5) ? 1 : 2;
      got[receive(body, version, `random body #${c} (seed ${seed})`)]++;
      // The same bytes as an already-uncompressed body: straight into the decoders.
      got[decodeOutcome(body, version, `random raw #${c} (seed ${seed})`)]++;
    }
    console.log(`# random bodies: ${JSON.stringify(got)}`);
    assert.equal(
      Object.values(got).reduce((a, b) => a + b, 0),
      2 * cases,
    );
    assert.ok(got.ERR_BAD_SNAPPY > 0 && got.ERR_BAD_REQUEST > 0);
  });

  it(`${cases} mutated valid protobuf bodies (v1 and v2), raw and snappy-compressed`, () => {
    const rng = new Rng(seed + 1);
    const bodies: Record<1 | 2, Uint8Array> = {
      1: encodeWriteRequestV1(validSeries(), [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]),
      2: encodeWriteRequestV2(validSeries()),
    };
    // The unmutated bodies decode: the mutations start from something the decoders accept.
    assert.equal(decodeOutcome(bodies[1], 1, 'valid v1'), 'decoded');
    assert.equal(decodeOutcome(bodies[2], 2, 'valid v2'), 'decoded');
    const got = tally();
    for (let c = 0; c < cases; c++) {
      const version = c % 2 === 0 ? 1 : 2;
      const raw = mutate(rng, bodies[version]);
      got[decodeOutcome(raw, version, `mutated v${version} raw #${c} (seed ${seed + 1})`)]++;
      // Mutated protobuf, validly compressed: exercises the decoder behind the snappy layer.
      got[receive(compressSync(raw), version, `mutated v${version} compressed #${c}`)]++;
      // Valid protobuf, damaged snappy stream.
      const snappy = mutate(rng, compressSync(bodies[version]));
      got[receive(snappy, version, `v${version} with damaged snappy #${c} (seed ${seed + 1})`)]++;
    }
    console.log(`# mutated bodies: ${JSON.stringify(got)}`);
    assert.equal(
      Object.values(got).reduce((a, b) => a + b, 0),
      3 * cases,
    );
    assert.ok(got.decoded > 0 && got.ERR_BAD_REQUEST > 0 && got.ERR_BAD_SNAPPY > 0);
  });

  it('truncated and lying snappy length headers are refused with the right code', () => {
    const rng = new Rng(seed + 2);
    const valid = compressSync(encodeWriteRequestV1(validSeries()));
    const claimed = snappyUncompressedLength(valid);
    const payload = valid.subarray(varint(claimed).length);
    const got = tally();
    for (let cut = 0; cut < valid.length; cut++) {
      const outcome = receive(valid.subarray(0, cut), 1, `snappy cut at ${cut}`);
      assert.equal(outcome, 'ERR_BAD_SNAPPY', `cut at ${cut}`);
      got[outcome]++;
    }
    const lies = [0, 1, claimed - 1, claimed + 1, claimed * 2, MAX_BODY, MAX_BODY + 1, 0xffffffff];
    for (let i = 0; i < 200; i++) lies.push(rng.int(0x100000000));
    for (const lie of lies) {
      if (lie === claimed) continue;
      const body = Buffer.concat([snappyHeader(lie), payload]);
      const outcome = receive(body, 1, `header claims ${lie} (really ${claimed})`);
      assert.equal(outcome, lie > MAX_BODY ? 'ERR_BODY_TOO_LARGE' : 'ERR_BAD_SNAPPY', `claim ${lie}`);
      got[outcome]++;
    }
    // Varint headers that are themselves malformed: over 32 bits (then the payload), or cut short
    // (the body ends inside the varint).
    const malformed = [
      Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), payload]),
      Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]), payload]),
      Buffer.from([0x80]),
      Buffer.from([0x80, 0x80, 0x80]),
    ];
    for (const body of malformed) {
      const header = body.subarray(0, 5).toString('hex');
      assert.equal(receive(body, 1, `header ${header}`), 'ERR_BAD_SNAPPY');
      got.ERR_BAD_SNAPPY++;
    }
    console.log(`# snappy headers: ${JSON.stringify(got)}`);
  });

  it('decompression bomb: a 10-byte body claiming 4 GiB is refused before any allocation', () => {
    const bomb = Buffer.concat([snappyHeader(0xffffffff), Buffer.from([0x00, 0x01, 0x02, 0x03, 0x04])]);
    assert.equal(bomb.length, 10);
    global.gc?.();
    const before = process.memoryUsage();
    const t0 = performance.now();
    for (let i = 0; i < 1_000; i++) {
      assert.throws(
        () => uncompressBlock(bomb, MAX_BODY),
        (err: unknown) => err instanceof PromspoolError && err.code === 'ERR_BODY_TOO_LARGE',
      );
    }
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    const grew = after.rss - before.rss + (after.arrayBuffers - before.arrayBuffers);
    console.log(`# bomb x1000: ${ms.toFixed(1)} ms, rss+arrayBuffers grew ${(grew / 1024).toFixed(0)} KiB`);
    // 1000 refusals in well under a second, and far less memory than ONE claimed buffer (4 GiB),
    // or even the 32 MiB limit: the check runs on the header, before snappy sees the body.
    assert.ok(ms < 500, `1000 refusals took ${ms} ms`);
    assert.ok(grew < 16 * 1024 * 1024, `memory grew by ${grew} bytes`);
  });

  it('a tiny body claiming just under the limit fails as bad snappy, without a lasting allocation', () => {
    // Allowed by the length guard (32 MiB - 1 <= max_body_bytes), impossible for 8 bytes of data.
    const body = Buffer.concat([snappyHeader(MAX_BODY - 1), Buffer.from([0x00, 0x61, 0xfe, 0xff, 0xff])]);
    const before = process.memoryUsage();
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) {
      assert.equal(receive(body, 1, 'near-limit claim'), 'ERR_BAD_SNAPPY');
    }
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    const grew = after.rss - before.rss + (after.arrayBuffers - before.arrayBuffers);
    console.log(`# near-limit claim x50: ${ms.toFixed(1)} ms, rss+arrayBuffers grew ${(grew / 1024).toFixed(0)} KiB`);
    // 50 x 32 MiB would be 1.6 GiB if each attempt kept its output buffer.
    assert.ok(grew < 64 * 1024 * 1024, `memory grew by ${grew} bytes`);
  });

  it('huge label counts and lengths: decoded or refused, never another error', () => {
    // v1: one series with 100k sorted labels (sorted: name n0000000 < n0000001 ...), one sample.
    const labelCount = 100_000;
    const labels: Buffer[] = [lenField(1, labelPair('__name__', 'm'))];
    for (let i = 0; i < labelCount; i++) labels.push(lenField(1, labelPair(`n${String(i).padStart(7, '0')}`, 'v')));
    const sample = lenField(2, Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, ...varint(T0)]));
    const manyLabels = lenField(1, Buffer.concat([...labels, sample]));
    const got = tally();
    got[receive(compressSync(manyLabels), 1, '100k labels (v1)')]++;
    assert.equal(decodeOutcome(manyLabels, 1, '100k labels (v1, raw)'), 'decoded');

    // v1: a 4 MiB label value and a 4 MiB label name.
    const big = 'x'.repeat(4 * 1024 * 1024);
    for (const [n, v] of [
      ['__name__', big],
      [big, 'v'],
    ] as const) {
      const pairs = n === big ? [labelPair('__name__', 'm'), labelPair(n, v)] : [labelPair(n, v)];
      const ts = lenField(1, Buffer.concat([...pairs.map((p) => lenField(1, p)), sample]));
      got[receive(compressSync(ts), 1, 'huge label (v1)')]++;
    }

    // v2: 100k symbols and one series referencing all of them as labels.
    const symbols: Buffer[] = [
      lenField(4, Buffer.alloc(0)),
      lenField(4, Buffer.from('__name__')),
      lenField(4, Buffer.from('m')),
    ];
    const refs: number[] = [1, 2];
    for (let i = 0; i < labelCount; i++) {
      symbols.push(lenField(4, Buffer.from(`n${String(i).padStart(7, '0')}`)));
      refs.push(3 + i, 2);
    }
    const packedRefs = lenField(1, Buffer.from(refs.flatMap(varint)));
    const v2Sample = lenField(2, Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, ...varint(T0)]));
    const v2 = Buffer.concat([...symbols, lenField(5, Buffer.concat([packedRefs, v2Sample]))]);
    got[receive(compressSync(v2), 2, '100k labels (v2)')]++;
    assert.equal(decodeOutcome(v2, 2, '100k labels (v2, raw)'), 'decoded');
    // v2: a reference past the symbol table, and a label count claiming 2^32-1 refs in 5 bytes.
    const badRef = Buffer.concat([...symbols.slice(0, 3), lenField(5, lenField(1, Buffer.from([1, 200])))]);
    assert.equal(decodeOutcome(badRef, 2, 'ref past symbols'), 'ERR_BAD_REQUEST');
    const lyingLen = Buffer.concat([Buffer.from([0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from('abc')]);
    assert.equal(decodeOutcome(lyingLen, 2, 'length 2^32-1'), 'ERR_BAD_REQUEST');
    assert.equal(decodeOutcome(lyingLen, 1, 'length 2^32-1 (v1)'), 'ERR_BAD_REQUEST');
    console.log(`# huge labels: ${JSON.stringify(got)}`);
  });
});

/** A 1.0 `Label` message body. */
function labelPair(name: string, value: string): Buffer {
  return Buffer.concat([lenField(1, Buffer.from(name)), lenField(2, Buffer.from(value))]);
}
