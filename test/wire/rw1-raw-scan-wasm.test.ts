import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { scanRelayBody, scanRelayRequest } from '../../src/daemon/relay-scan.js';
import { IngestRelabeler } from '../../src/relay/ingest-relabel.js';
import type { NameValidationScheme } from '../../src/serialization/name-validation.js';
import { encodeGatheredRawRecord, encodeRawRecord } from '../../src/serialization/raw-record.js';
import { type RawWriteRequestScan, scanWriteRequestV1, scanWriteRequestV1Js } from '../../src/wire/rw1-raw-scan.js';
import { createWasmRelayScan, MAX_WASM_SCAN_BODY_BYTES } from '../../src/wire/rw1-raw-scan-wasm.js';
import { RW1_RAW_SCAN_SOURCES, RW1_RAW_SCAN_SOURCES_SHA256 } from '../../src/wire/rw1-raw-scan-wasm-binary.js';
import { compressBlock, snappyUncompressedLength, uncompressBlock } from '../../src/wire/snappy.js';
import { decodeV1WithProtobufjs } from '../helpers/fake-receiver.js';
import { planOf } from '../relay/ingest-relabel-helpers.js';
import { mulberry32 as prng } from '../reliability/fuzz-random.js';

const maybeWasm = createWasmRelayScan();
if (maybeWasm === undefined) throw new Error('WebAssembly is not available: these tests need it');
const wasm = maybeWasm;
const wasmScan = (body: Uint8Array, scheme: NameValidationScheme = 'utf8') => wasm.scan(body, scheme);

/** A plain copy of a scan's answer (its arrays view buffers the next scan reuses). */
function plain(s: RawWriteRequestScan | undefined) {
  if (s === undefined) return undefined;
  return {
    series: s.series,
    samples: s.samples,
    minTimestampMs: s.minTimestampMs,
    maxTimestampMs: s.maxTimestampMs,
    hashes: Array.from(s.hashes),
    sampleCounts: Array.from(s.sampleCounts),
    fieldStarts: Array.from(s.fieldStarts),
  };
}

function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
function delimited(field: number, payload: number[]): number[] {
  return [(field << 3) | 2, ...varint(BigInt(payload.length)), ...payload];
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
const VALUE_PIECES = ['a', 'Z', '9', '-', ' ', 'é', '€', '😀', 'ü', '/', ':', '\u{10ffff}'];
/** Pieces of UTF-8 names (Prometheus 3): OpenTelemetry dots, non-Latin letters, emoji, digits first. */
const UTF8_NAME_PIECES = ['.', 'resource', 'cpu', 'http', '_', '-', '9', 'é', 'ж', '名', '😀', ' ', ':'];

/** A random name of `pieces` from UTF8_NAME_PIECES (at most 127 bytes: the scan's name length). */
function utf8Name(rnd: () => number): string {
  let n = '';
  const pieces = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < pieces; i++) n += UTF8_NAME_PIECES[Math.floor(rnd() * UTF8_NAME_PIECES.length)];
  return n;
}

/**
 * A random valid series the relay passes through, as TimeSeries field bytes. `utf8Names`: some
 * label names and metric names are UTF-8 names only the utf8 scheme takes.
 */
function randomSeries(rnd: () => number, utf8Names = false): number[] {
  const names = new Set<string>(['__name__']);
  const labelCount = Math.floor(rnd() * 12);
  while (names.size < labelCount + 1) {
    if (utf8Names && rnd() < 0.3) {
      names.add(utf8Name(rnd));
      continue;
    }
    const len = 1 + Math.floor(rnd() * (rnd() < 0.1 ? 120 : 12));
    let n = NAME_CHARS[Math.floor(rnd() * 53)]; // letters or '_' first
    for (let i = 1; i < len; i++) n += NAME_CHARS[Math.floor(rnd() * NAME_CHARS.length)];
    names.add(n);
  }
  const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const fields: number[] = [];
  for (const name of sorted) {
    let value = '';
    if (name === '__name__') {
      value =
        utf8Names && rnd() < 0.3
          ? utf8Name(rnd)
          : `m${Math.floor(rnd() * 1000)}:x_${'y'.repeat(Math.floor(rnd() * 5))}`;
    } else {
      const pieces = 1 + Math.floor(rnd() * (rnd() < 0.1 ? 200 : 20));
      for (let i = 0; i < pieces; i++) value += VALUE_PIECES[Math.floor(rnd() * VALUE_PIECES.length)];
    }
    fields.push(...delimited(1, [...delimited(1, [...Buffer.from(name)]), ...delimited(2, [...Buffer.from(value)])]));
  }
  const samples = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < samples; i++) {
    const sample: number[] = [];
    if (rnd() < 0.9) sample.push(0x09, ...Array.from({ length: 8 }, () => Math.floor(rnd() * 256)));
    if (rnd() < 0.9) {
      const r = rnd();
      const ts =
        r < 0.6
          ? BigInt(1_700_000_000_000 + Math.floor(rnd() * 1e6))
          : r < 0.8
            ? -BigInt(Math.floor(rnd() * 1e15))
            : BigInt.asIntN(64, BigInt(Math.floor(rnd() * 2 ** 32)) * BigInt(Math.floor(rnd() * 2 ** 32)));
      sample.push(0x10, ...varint(ts));
    }
    fields.push(...delimited(2, sample));
  }
  return fields;
}

function randomBody(rnd: () => number, maxSeries: number, utf8Names = false): Uint8Array {
  const out: number[] = [];
  const n = 1 + Math.floor(rnd() * maxSeries);
  for (let i = 0; i < n; i++) out.push(...delimited(1, randomSeries(rnd, utf8Names)));
  return Uint8Array.from(out);
}

function assertSameAnswer(body: Uint8Array, what: string, scheme: NameValidationScheme = 'utf8'): boolean {
  const expected = plain(scanWriteRequestV1Js(body, scheme));
  const actual = plain(wasmScan(body, scheme));
  assert.deepEqual(actual, expected, `${what} (${scheme})`);
  return expected !== undefined;
}

describe('scanWriteRequestV1 in WebAssembly', () => {
  it('was built from the C sources in this tree (else run node scripts/build-wasm.mjs)', () => {
    const hash = createHash('sha256');
    for (const f of RW1_RAW_SCAN_SOURCES)
      hash.update(`${f}\n`).update(readFileSync(new URL(`../../../${f}`, import.meta.url)));
    assert.equal(hash.digest('hex'), RW1_RAW_SCAN_SOURCES_SHA256);
  });

  it('answers exactly as the JavaScript scan on 400 random valid bodies, under both name schemes', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const body = randomBody(prng(seed), 20);
      assert.ok(assertSameAnswer(body, `seed ${seed}`), `seed ${seed}: the generator makes valid bodies`);
      assert.ok(assertSameAnswer(body, `seed ${seed}`, 'legacy'), `seed ${seed}: legacy names pass either scheme`);
    }
  });

  it('passes bodies with UTF-8 names through under utf8 and leaves them to the decoder under legacy, as the JavaScript scan', () => {
    let legacyRefused = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const body = randomBody(prng(seed), 20, true);
      assert.ok(assertSameAnswer(body, `seed ${seed}`), `seed ${seed}: UTF-8 names pass under utf8`);
      if (!assertSameAnswer(body, `seed ${seed}`, 'legacy')) legacyRefused++;
    }
    // Nearly every body holds a UTF-8 name (30% of names): legacy must have refused most.
    assert.ok(legacyRefused > 250, `legacy refused ${legacyRefused} of 300`);
  });

  it('answers exactly as the JavaScript scan on damaged bodies: changed, inserted and removed bytes, prefixes', () => {
    let accepted = 0;
    let rejected = 0;
    for (let seed = 1000; seed < 1150; seed++) {
      const rnd = prng(seed);
      // Every other body with UTF-8 names: damage inside a name must be judged alike too.
      const body = randomBody(rnd, 4, seed % 2 === 0);
      const tally = (ok: boolean) => (ok ? accepted++ : rejected++);
      for (let k = 0; k < 40; k++) {
        const at = Math.floor(rnd() * body.length);
        const b = Math.floor(rnd() * 256);
        const scheme: NameValidationScheme = k % 4 === 3 ? 'legacy' : 'utf8';
        const changed = Uint8Array.from(body);
        changed[at] = rnd() < 0.5 ? b : changed[at] ^ (1 << Math.floor(rnd() * 8));
        tally(assertSameAnswer(changed, `seed ${seed}: byte ${at} changed to ${changed[at]}`, scheme));
        const inserted = Uint8Array.from([...body.subarray(0, at), b, ...body.subarray(at)]);
        tally(assertSameAnswer(inserted, `seed ${seed}: byte ${b} inserted at ${at}`, scheme));
        const removed = Uint8Array.from([...body.subarray(0, at), ...body.subarray(at + 1)]);
        tally(assertSameAnswer(removed, `seed ${seed}: byte ${at} removed`, scheme));
        tally(assertSameAnswer(body.subarray(0, at), `seed ${seed}: first ${at} bytes`, scheme));
      }
    }
    // Both outcomes were exercised, so the comparison covered accepting and refusing.
    assert.ok(accepted > 1000, `accepted ${accepted}`);
    assert.ok(rejected > 10_000, `rejected ${rejected}`);
  });

  it('scans a smaller body correctly after a larger one grew its memory, and results of the earlier scan were copied', () => {
    const big = randomBody(prng(7), 2000);
    const small = randomBody(prng(8), 3);
    const bigAnswer = plain(wasmScan(big));
    assert.deepEqual(plain(wasmScan(small)), plain(scanWriteRequestV1Js(small)));
    assert.deepEqual(bigAnswer, plain(scanWriteRequestV1Js(big)));
  });

  it(`leaves bodies over ${MAX_WASM_SCAN_BODY_BYTES} bytes to the JavaScript scan, with the same answer`, () => {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (let seed = 1; bytes <= MAX_WASM_SCAN_BODY_BYTES; seed++) {
      const b = randomBody(prng(seed), 200);
      parts.push(b);
      bytes += b.length;
    }
    const body = Buffer.concat(parts);
    const answer = plain(scanWriteRequestV1(body));
    assert.ok(answer !== undefined);
    assert.deepEqual(answer, plain(scanWriteRequestV1Js(body)));
    // The dispatcher used the JavaScript scan: its arrays are the JavaScript scan's scratch.
    const viaDispatcher = scanWriteRequestV1(body)?.hashes.buffer;
    assert.equal(viaDispatcher, scanWriteRequestV1Js(parts[0])?.hashes.buffer);
  });
});

/** What the native uncompress makes of a block: its bytes, or the error code it throws. */
function nativeUncompress(block: Uint8Array): Buffer | string {
  try {
    return uncompressBlock(block, 1 << 30);
  } catch (err) {
    return (err as { code: string }).code;
  }
}

/** A record or body as bytes, or an error's code and message, for comparing the two relay paths. */
function relayOutcome(run: () => ReturnType<typeof scanRelayBody>) {
  try {
    const r = run();
    return r.kind === 'record'
      ? { kind: r.kind, bytes: Buffer.from(r.payload).toString('hex'), samples: r.samples }
      : { kind: r.kind, bytes: Buffer.from(r.body).toString('hex') };
  } catch (err) {
    return { error: (err as { code?: string }).code, message: (err as Error).message };
  }
}

describe('relay bodies uncompressed and gathered in WebAssembly', () => {
  it('uncompresses 300 random bodies to the bytes the native uncompress gives, and scans them as the JavaScript scan', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const body = randomBody(prng(seed), 30);
      const block = compressBlock(body);
      const out = wasm.uncompressAndScan(block, body.length, 'utf8');
      assert.ok(out !== undefined, `seed ${seed}`);
      assert.ok(Buffer.from(out.body).equals(body), `seed ${seed}`);
      assert.deepEqual(plain(out.scan), plain(scanWriteRequestV1Js(body)), `seed ${seed}`);
    }
  });

  it('rejects exactly the damaged blocks the native uncompress rejects, and agrees on the others byte for byte', () => {
    let rejected = 0;
    let accepted = 0;
    for (let seed = 500; seed < 560; seed++) {
      const rnd = prng(seed);
      const block = compressBlock(randomBody(rnd, 6));
      for (let k = 0; k < 60; k++) {
        const damaged = Uint8Array.from(block);
        const at = Math.floor(rnd() * block.length);
        damaged[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : damaged[at] ^ (1 << Math.floor(rnd() * 8));
        const cut = rnd() < 0.2 ? damaged.subarray(0, Math.floor(rnd() * damaged.length)) : damaged;
        const native = nativeUncompress(cut);
        // The header's claim is checked before either uncompress runs (checkedUncompressedLength).
        if (native === 'ERR_BODY_TOO_LARGE') continue;
        const claim = typeof native === 'string' ? snappyUncompressedLength(cut) : native.length;
        if (claim < 0 || claim > 1 << 20) continue;
        const out = wasm.uncompressAndScan(cut, claim, 'utf8');
        if (typeof native === 'string') {
          assert.equal(out, undefined, `seed ${seed}, byte ${at}: native says ${native}`);
          rejected++;
        } else {
          assert.ok(out !== undefined && Buffer.from(out.body).equals(native), `seed ${seed}, byte ${at}`);
          accepted++;
        }
      }
    }
    assert.ok(rejected > 300 && accepted > 300, `rejected ${rejected}, accepted ${accepted}`);
  });

  it('gathers groups into the very record encodeRawRecord builds, for 1 to 8, 16 and 256 groups', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const body = randomBody(prng(seed), 40);
      const block = compressBlock(body);
      for (const groups of [1, 2, 3, 4, 5, 6, 7, 8, 16, 256]) {
        const expected = relayOutcome(() => scanRelayBody(block, body, groups));
        assert.equal(expected.kind, 'record');
        assert.deepEqual(
          relayOutcome(() => scanRelayRequest(block, 1 << 30, groups)),
          expected,
          `seed ${seed}, ${groups} groups`,
        );
      }
    }
    // And encodeRawRecord through the dispatcher's scan, as the event loop's path does.
    const body = randomBody(prng(99), 50);
    const scan = scanWriteRequestV1(body);
    assert.ok(scan !== undefined);
    const viaJs = encodeRawRecord(compressBlock(body), scan, { body, groups: 4 });
    assert.deepEqual(
      relayOutcome(() => scanRelayRequest(compressBlock(body), 1 << 30, 4)),
      {
        kind: 'record',
        bytes: Buffer.from(viaJs).toString('hex'),
        samples: scan.samples,
      },
    );
  });

  it('answers as the native path for bodies to decode in full and for bad blocks: same body, same error code and message', () => {
    const valid = randomBody(prng(5), 10);
    const block = compressBlock(valid);
    const unsorted = Uint8Array.from(valid);
    unsorted[4] = 0xff; // somewhere in the first label: no longer a body the relay passes through
    const cases: [string, Uint8Array, number][] = [
      ['a body to decode in full', compressBlock(unsorted), 1 << 30],
      ['a truncated block', block.subarray(0, block.length - 3), 1 << 30],
      ['a block over the limit', block, valid.length - 1],
      ['a lying header', Uint8Array.from([0xff, 0xff, 0xff, 0x0f, 0x00]), 1 << 30],
      ['a copy reaching before the start', Uint8Array.from([0x08, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x05]), 1 << 30],
      // 4 literal bytes then a copy of 4 at offset 0, which would repeat whatever lies there.
      ['a copy at offset 0', Uint8Array.from([0x08, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x00]), 1 << 30],
    ];
    for (const [name, compressed, maxBytes] of cases) {
      const expected = relayOutcome(() => {
        return scanRelayBody(compressed, uncompressBlock(compressed, maxBytes), 4);
      });
      const actual = relayOutcome(() => scanRelayRequest(compressed, maxBytes, 4));
      assert.deepEqual(actual, expected, name);
      if (name !== 'a body to decode in full') assert.ok('error' in actual, `${name}: ${JSON.stringify(actual)}`);
    }
    // The decode path's body is a copy: the next call reuses linear memory.
    const first = scanRelayRequest(compressBlock(unsorted), 1 << 30, 4);
    scanRelayRequest(block, 1 << 30, 4);
    assert.ok(first.kind === 'decode' && Buffer.from(first.body).equals(unsorted));
  });
});

describe('external labels merged by the scan (scan_merge) on random bodies', () => {
  it("scans as the JavaScript scan and writes the cache route's record byte for byte: 300 bodies, 1-4 external labels", () => {
    const merging = createWasmRelayScan() ?? assert.fail('WebAssembly is not available');
    const caching = createWasmRelayScan() ?? assert.fail('WebAssembly is not available');
    let changed = 0;
    let kept = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(seed);
      const body = randomBody(rnd, 20, seed % 2 === 0);
      // External names: some the body's series have (their own values stay), some they do not.
      const own = decodeV1WithProtobufjs(body).series.flatMap((s) => Object.keys(s.labels));
      const external: Record<string, string> = {};
      const count = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < count; k++) {
        const r = rnd();
        const name =
          r < 0.4
            ? own[Math.floor(rnd() * own.length)]
            : r < 0.6
              ? utf8Name(rnd)
              : NAME_CHARS[Math.floor(rnd() * 53)].repeat(1 + Math.floor(rnd() * 3));
        external[name] = VALUE_PIECES[Math.floor(rnd() * VALUE_PIECES.length)].repeat(1 + Math.floor(rnd() * 80));
      }
      const plan = planOf([], external);
      const groups = [1, 16, 64][seed % 3];
      const compressed = compressBlock(body);

      const rl = new IngestRelabeler(plan, merging, { slots: 1024, arenaBytes: 1 << 20 });
      assert.ok(rl.merge);
      const out = merging.uncompressAndScan(compressed, body.length, 'utf8', rl.merge);
      assert.deepEqual(plain(out?.scan), plain(scanWriteRequestV1Js(body, 'utf8')), `seed ${seed}: the scan's answer`);
      assert.ok(out?.scan);
      const r = rl.relabel(out.scan, body.length, groups);
      assert.ok(r, `seed ${seed}`);
      assert.equal(rl.stats.merged, 1, `seed ${seed}: merged in the scan`);
      const got = encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark);
      rl.dispose();

      const cl = new IngestRelabeler(plan, caching, {
        slots: 1024,
        arenaBytes: 1 << 20,
        cacheOnly: true,
      });
      const ref = caching.uncompressAndScan(compressed, body.length, 'utf8');
      assert.ok(ref?.scan);
      const w = cl.relabel(ref.scan, body.length, groups);
      assert.ok(w, `seed ${seed}: the cache route`);
      assert.equal(cl.stats.merged, 0);
      assert.deepEqual(got, encodeGatheredRawRecord(w.scan, w.gathered, undefined, w.mark), `seed ${seed}: the record`);
      cl.dispose();
      if (r.unchanged) kept++;
      else changed++;
    }
    // Both outcomes were exercised: bodies whose series all had the external names, and others.
    assert.ok(changed > 200, `changed ${changed}`);
    assert.ok(kept > 5, `kept ${kept}`);
  });
});
