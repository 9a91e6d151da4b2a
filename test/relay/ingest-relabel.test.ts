import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanRelayRequest } from '../../src/daemon/relay-scan.js';
import { WriteRelabeler } from '../../src/endpoint/write-relabel.js';
import { SHARD_PARTITIONS, STORED_GROUPS } from '../../src/network/partition.js';
import { compileRelabeling } from '../../src/relabel/index.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import {
  DEFAULT_INGEST_RELABEL_SLOTS,
  IngestRelabeler,
  ingestRelabelDigest,
  ingestRelabelerFor,
  keepsExternalLabelNames,
  MAX_MERGED_EXTERNAL_LABELS,
} from '../../src/relay/ingest-relabel.js';
import {
  decodeRawRecord,
  encodeGatheredRawRecord,
  encodeRawRecord,
  ingestRelabelOf,
} from '../../src/serialization/raw-record.js';
import { decodeRecord } from '../../src/serialization/record-codec.js';
import { hashLabelPairs } from '../../src/serialization/series.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { createWriteRequestEncoderV1 } from '../../src/wire/rw1-encoder.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { createWasmRelayScan, wasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';
import { createWriteRequestEncoderV2 } from '../../src/wire/rw2-encoder.js';
import { createRw2Transcoder } from '../../src/wire/rw2-transcode-wasm.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { decodeV1WithProtobufjs, decodeV2WithProtobufjs, seriesKey } from '../helpers/fake-receiver.js';
import type { SeriesInput } from '../helpers/remote-write-client.js';
import { wholeSlices } from '../wire/record-builder.js';
import { bodyOf, bothRoutes, lengthDelimited, planOf, rulesOf, seriesSet } from './ingest-relabel-helpers.js';

/** The rule sets of the table: every action the brief names, alone and together. */
const RULE_SETS: { name: string; yaml: unknown[] }[] = [
  { name: 'drop by name', yaml: [{ source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' }] },
  { name: 'keep', yaml: [{ source_labels: ['job'], regex: 'api', action: 'keep' }] },
  { name: 'labeldrop', yaml: [{ regex: 'tmp|long', action: 'labeldrop' }] },
  { name: 'labelkeep', yaml: [{ regex: '__name__|k|job', action: 'labelkeep' }] },
  { name: 'labelmap', yaml: [{ regex: 'resource\\.(.+)', replacement: 'res_$1', action: 'labelmap' }] },
  { name: 'replace adding a label', yaml: [{ target_label: 'relayed_by', replacement: 'agent' }] },
  {
    name: 'replace from a source',
    yaml: [{ source_labels: ['instance'], regex: '([^:]+):.*', target_label: 'host', replacement: '$1' }],
  },
  {
    name: 'hashmod then keep',
    yaml: [
      { source_labels: ['k'], modulus: 3, target_label: '__tmp_shard', action: 'hashmod' },
      { source_labels: ['__tmp_shard'], regex: '1', action: 'keep' },
      { regex: '__tmp_shard', action: 'labeldrop' },
    ],
  },
  { name: 'lowercase', yaml: [{ source_labels: ['job'], target_label: 'job', action: 'lowercase' }] },
  { name: 'uppercase', yaml: [{ source_labels: ['__name__'], target_label: 'upper', action: 'uppercase' }] },
  { name: 'changes nothing', yaml: [{ source_labels: ['absent'], regex: 'x', action: 'drop' }] },
  { name: 'drops everything', yaml: [{ regex: '.*', source_labels: ['__name__'], action: 'drop' }] },
  {
    name: 'the benchmark three',
    yaml: [
      { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
      { regex: 'tmp', action: 'labeldrop' },
      { target_label: 'relayed_by', replacement: 'agent' },
    ],
  },
];

/** Series `i`'s label field bytes and sample bytes in a decoded kind-2 record. */
function seriesBytes(rec: SignalRecord, i: number): { labels: Buffer; samples: Buffer } {
  const raw = rec.rawSeries;
  assert.ok(raw);
  const b = Buffer.from(raw.bytes);
  return {
    labels: b.subarray(raw.start[i], raw.labelsEnd[i]),
    samples: b.subarray(raw.labelsEnd[i], raw.end[i]),
  };
}

/**
 * What the send-time route sends for `body` under `rules`: per series in order, dropped or the
 * label field bytes it goes out with (the WriteRelabeler's new labels, else the received ones),
 * and its sample bytes.
 */
function sendTimeRoute(body: Uint8Array, rules: readonly RelabelRule[]) {
  const scan = scanWriteRequestV1(body);
  assert.ok(scan);
  const rec = decodeRawRecord(encodeRawRecord(compressBlock(body), scan));
  const hashes = Uint32Array.from(rec.seriesHash);
  const relabeler = new WriteRelabeler(compileRelabeling(rules, 'utf8'), {});
  const { dropped } = relabeler.apply(rec);
  const out: { dropped: boolean; hash: number; samples: number; labels: Buffer; sampleBytes: Buffer }[] = [];
  for (let i = 0; i < rec.seriesCount; i++) {
    const own = seriesBytes(rec, i);
    const r = rec.relabeled;
    const changed = r !== undefined && r.start[i] >= 0;
    out.push({
      dropped: dropped?.[i] === 1,
      hash: hashes[i],
      samples: rec.sampleOffsets[i + 1] - rec.sampleOffsets[i],
      labels: changed ? Buffer.from(r.bytes.subarray(r.start[i], r.start[i] + r.length[i])) : Buffer.from(own.labels),
      sampleBytes: Buffer.from(own.samples),
    });
  }
  relabeler.dispose();
  return out;
}

describe('write relabeling at ingest (relay scan)', () => {
  for (const set of RULE_SETS) {
    for (const groups of [1, STORED_GROUPS, SHARD_PARTITIONS]) {
      it(`stores the series the send-time route would send, byte for byte: ${set.name}, ${groups} group(s)`, () => {
        const plan = planOf(set.yaml);
        const body = bodyOf(seriesSet(1_700_000_000_000));
        const want = sendTimeRoute(body, plan.rules);
        const out = scanRelayRequest(compressBlock(body), 1 << 20, groups, 'utf8', undefined, ingestRelabelerFor(plan));
        assert.equal(out.kind, 'record');
        if (out.kind !== 'record') return;
        const rec = decodeRawRecord(out.payload);
        const mark = ingestRelabelOf(rec);
        assert.ok(mark, 'the record says it was relabeled');
        assert.equal(mark.digest, plan.digest);
        const kept = want.filter((w) => !w.dropped);
        const dropped = want.filter((w) => w.dropped);
        assert.equal(rec.seriesCount, kept.length);
        assert.equal(
          out.received,
          want.reduce((n, w) => n + w.samples, 0),
        );
        assert.equal(
          out.samples,
          kept.reduce((n, w) => n + w.samples, 0),
        );
        // Every drop listed, in order, with its received hash (its virtual shard) and samples.
        assert.deepEqual(
          [...mark.droppedHashes],
          dropped.map((w) => w.hash),
        );
        assert.deepEqual(
          [...mark.droppedSamples],
          dropped.map((w) => w.samples),
        );
        // The kept series: group by group by their new labels' hash, each group in order of arrival.
        const expected = kept.map((w) => ({ ...w, newHash: hashOfFields(w.labels) }));
        const order =
          groups === 1
            ? expected
            : [...Array(groups).keys()].flatMap((g) => expected.filter((w) => (w.newHash & 0xff) % groups === g));
        for (let i = 0; i < rec.seriesCount; i++) {
          const got = seriesBytes(rec, i);
          assert.deepEqual(got.labels, order[i].labels, `series ${i}: label bytes`);
          assert.deepEqual(got.samples, order[i].sampleBytes, `series ${i}: sample bytes as received`);
          assert.equal(rec.seriesHash[i], order[i].newHash, `series ${i}: the hash of its labels`);
          assert.equal(rec.sampleOffsets[i + 1] - rec.sampleOffsets[i], order[i].samples);
        }
      });
    }
  }

  it('stores new labels of more than 256 pieces whole, byte for byte', () => {
    // 600 labels, every other one dropped: 300 runs of the received labels, more than a series'
    // pieces take, so its new labels are stored as one literal.
    const labels: Record<string, string> = { __name__: 'wide' };
    for (let k = 0; k < 600; k++) labels[`l${String(k).padStart(3, '0')}`] = k % 2 === 0 ? 'keep' : 'drop';
    const plan = planOf([{ regex: 'l\\d\\d[13579]', action: 'labeldrop' }]);
    const body = bodyOf([{ labels, samples: [[1, 1]] }, ...seriesSet(3, 4)]);
    const want = sendTimeRoute(body, plan.rules);
    const out = scanRelayRequest(compressBlock(body), 1 << 20, 1, 'utf8', undefined, ingestRelabelerFor(plan));
    assert.equal(out.kind, 'record');
    if (out.kind !== 'record') return;
    const rec = decodeRawRecord(out.payload);
    assert.equal(rec.seriesCount, 5);
    for (let i = 0; i < 5; i++) assert.deepEqual(seriesBytes(rec, i).labels, want[i].labels, `series ${i}`);
    assert.equal(Object.keys(labelsOfRecord(rec, 0)).length, 301);
  });

  it('keeps the received block when the rules change and drop nothing (one group)', () => {
    const plan = planOf([{ source_labels: ['absent'], regex: 'x', action: 'drop' }]);
    const compressed = compressBlock(bodyOf(seriesSet(5)));
    const out = scanRelayRequest(compressed, 1 << 20, 1, 'utf8', undefined, ingestRelabelerFor(plan));
    assert.equal(out.kind, 'record');
    if (out.kind !== 'record') return;
    assert.ok(
      Buffer.from(out.payload)
        .subarray(out.payload.length - compressed.length)
        .equals(compressed),
    );
    assert.equal(ingestRelabelOf(decodeRawRecord(out.payload))?.droppedHashes.length, 0);
  });

  it('writes a record of no series when every series is dropped, carrying its drops', () => {
    const plan = planOf([{ regex: '.*', source_labels: ['__name__'], action: 'drop' }]);
    const set = seriesSet(5, 8);
    const out = scanRelayRequest(
      compressBlock(bodyOf(set)),
      1 << 20,
      SHARD_PARTITIONS,
      'utf8',
      undefined,
      ingestRelabelerFor(plan),
    );
    assert.equal(out.kind, 'record');
    if (out.kind !== 'record') return;
    assert.equal(out.samples, 0);
    const rec = decodeRawRecord(out.payload);
    assert.equal(rec.seriesCount, 0);
    assert.deepEqual(
      [...(ingestRelabelOf(rec)?.droppedSamples ?? [])],
      set.map((s) => s.samples?.length),
    );
  });

  it('decides each distinct series once; later bodies are cache hits', () => {
    const plan = planOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    const rl = new IngestRelabeler(plan, wasm, { slots: 1024, arenaBytes: 1 << 20 });
    for (let round = 0; round < 3; round++) {
      const body = bodyOf(seriesSet(1000 + round));
      const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
      assert.ok(out?.scan);
      const r = rl.relabel(out.scan, out.body.length, 4);
      assert.ok(r);
      assert.equal(r.scan.series, 60);
    }
    assert.equal(rl.stats.decisions, 60);
    assert.equal(rl.stats.bodies, 3);
    assert.equal(rl.stats.clears, 0);
    rl.dispose();
  });

  it('finds series in a small table, emptied between bodies when the next one might not fit', () => {
    // 16 slots: 8 entries at most, so a body of 6 series probes chains; 3 bodies of other series
    // in turn empty the cache between them.
    const plan = planOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    const rl = new IngestRelabeler(plan, wasm, { slots: 16, arenaBytes: 64 * 1024 });
    for (let round = 0; round < 4; round++) {
      const set = seriesSet(round, 6).map((s, k) => ({
        ...s,
        labels: { ...s.labels, k: String(k + 6 * (round % 2)) },
      }));
      const body = bodyOf(set);
      const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
      assert.ok(out?.scan);
      const r = rl.relabel(out.scan, body.length, 1);
      assert.ok(r, `round ${round}`);
      const rec = decodeRawRecord(encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark));
      for (let i = 0; i < 6; i++) {
        const labels = labelsOfRecord(rec, i);
        assert.equal(labels.k, set[i].labels.k, `round ${round} series ${i}: its own outcome`);
        assert.equal(labels.relayed_by, 'agent');
      }
    }
    // Rounds 0 and 2 (and 1 and 3) hold the same series: each round empties the 8-entry cache.
    assert.equal(rl.stats.clears, 3);
    assert.equal(rl.stats.decisions, 24);
    rl.dispose();
  });

  it('tells series on one probe sequence apart by their 128-bit keys', () => {
    // Every key starts probing at slot 0 (test hook): the 60 series of a body, inserted and then
    // looked up again in a second body, each walk the one sequence past the others' slots, so
    // each series finds its own outcome only by comparing keys.
    const plan = planOf([
      { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
      { regex: 'tmp', action: 'labeldrop' },
      { target_label: 'relayed_by', replacement: 'agent' },
    ]);
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    // 256 slots: 128 entries, room for both bodies without emptying the cache.
    const rl = new IngestRelabeler(plan, wasm, {
      slots: 256,
      arenaBytes: 64 * 1024,
      hooks: { oneProbeSequence: true },
    });
    const body = bodyOf(seriesSet(11));
    const want = sendTimeRoute(body, plan.rules);
    for (let round = 0; round < 2; round++) {
      const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
      assert.ok(out?.scan);
      const r = rl.relabel(out.scan, body.length, 1);
      assert.ok(r, `round ${round}`);
      const rec = decodeRawRecord(encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark));
      const kept = want.filter((w) => !w.dropped);
      assert.equal(rec.seriesCount, kept.length);
      for (let i = 0; i < kept.length; i++)
        assert.deepEqual(seriesBytes(rec, i).labels, kept[i].labels, `round ${round} series ${i}`);
      assert.deepEqual(
        [...r.mark.droppedHashes],
        want.filter((w) => w.dropped).map((w) => w.hash),
      );
    }
    assert.equal(rl.stats.decisions, 60, 'the second body is all hits');
    assert.equal(wasm.relabelCacheUsage().entries, 60);
    rl.dispose();
  });

  it("keeps a changed series' new labels in its slot when they fit, in the arena otherwise", () => {
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    // The benchmark's rules on its series: a labeldrop and a 21-byte added label, 4 ops in 35 bytes.
    const fits = planOf([
      { regex: 'team', action: 'labeldrop' },
      { target_label: 'relayed_by', replacement: 'agent' },
    ]);
    const labels = { __name__: 'm', env: 'prod', pod: 'pod-1', service: 's', team: 'team-1', zone: 'z' };
    const rl = new IngestRelabeler(fits, wasm, { slots: 64, arenaBytes: 64 * 1024 });
    const body = bodyOf([{ labels, samples: [[1, 1]] }]);
    relabelOnce(wasm, rl, body, sendTimeRoute(body, fits.rules));
    assert.equal(wasm.relabelCacheUsage().arenaUsed, 0, 'in the slot');
    rl.dispose();
    // A longer added value: 38 bytes of ops, more than the slot's 36.
    const other = createWasmRelayScan();
    assert.ok(other);
    const long = planOf([
      { regex: 'team', action: 'labeldrop' },
      { target_label: 'relayed_by', replacement: 'agent-xy' },
    ]);
    const rl2 = new IngestRelabeler(long, other, { slots: 64, arenaBytes: 64 * 1024 });
    relabelOnce(other, rl2, body, sendTimeRoute(body, long.rules));
    // 4 pieces of 8 bytes and the 24 literal bytes.
    assert.equal(other.relabelCacheUsage().arenaUsed, 4 * 8 + 24, 'in the arena');
    rl2.dispose();
  });

  it('relabels a first body of 1,000 series on a fresh instance (its arrays fit the memory it grew)', () => {
    const plan = planOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    const rl = new IngestRelabeler(plan, wasm);
    const body = bodyOf(seriesSet(9, 1000));
    const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
    assert.ok(out?.scan);
    const r = rl.relabel(out.scan, body.length, SHARD_PARTITIONS);
    assert.ok(r);
    assert.equal(decodeRawRecord(encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark)).seriesCount, 1000);
    rl.dispose();
  });

  it('leaves a body unmarked when its outcomes do not fit the cache (the endpoints relabel it at send time)', () => {
    const plan = planOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    // 16 slots: 8 entries, fewer than the body's 60 series.
    const rl = new IngestRelabeler(plan, wasm, { slots: 16, arenaBytes: 64 * 1024 });
    const body = bodyOf(seriesSet(7));
    const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
    assert.ok(out?.scan);
    assert.equal(rl.relabel(out.scan, body.length, 1), undefined);
    assert.equal(rl.stats.fallbacks, 1);
    rl.dispose();
  });

  it('names each rule set by a digest of the rules, the scheme and the external labels', () => {
    const a = rulesOf([{ target_label: 'x', replacement: 'y' }]);
    const b = rulesOf([{ target_label: 'x', replacement: 'z' }]);
    assert.equal(
      ingestRelabelDigest(a, 'utf8', {}),
      ingestRelabelDigest(rulesOf([{ target_label: 'x', replacement: 'y' }]), 'utf8', {}),
    );
    assert.match(ingestRelabelDigest(a, 'utf8', {}), /^[0-9a-f]{16}$/);
    const digests = new Set([
      ingestRelabelDigest(a, 'utf8', {}),
      ingestRelabelDigest(b, 'utf8', {}),
      ingestRelabelDigest(a, 'legacy', {}),
      ingestRelabelDigest(a, 'utf8', { cluster: 'c' }),
    ]);
    assert.equal(digests.size, 4);
  });
});

/** Relabels `body` (one series) in one group and checks its labels are the send-time route's. */
function relabelOnce(
  wasm: NonNullable<ReturnType<typeof createWasmRelayScan>>,
  rl: IngestRelabeler,
  body: Uint8Array,
  want: ReturnType<typeof sendTimeRoute>,
): void {
  const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8');
  assert.ok(out?.scan);
  const r = rl.relabel(out.scan, body.length, 1);
  assert.ok(r);
  const rec = decodeRawRecord(encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark));
  assert.equal(rec.seriesCount, 1);
  assert.deepEqual(seriesBytes(rec, 0).labels, want[0].labels);
  assert.deepEqual(seriesBytes(rec, 0).samples, want[0].sampleBytes);
}

/** The scan's label hash (hashLabelPairs) of RW1 label fields. */
function hashOfFields(fields: Buffer): number {
  const pairs: string[] = [];
  let p = 0;
  while (p < fields.length) {
    const [len, a] = varint(fields, p + 1);
    const [nl, n] = varint(fields, a + 1);
    const [vl, v] = varint(fields, n + nl + 1);
    pairs.push(fields.toString('utf8', n, n + nl), fields.toString('utf8', v, v + vl));
    p = a + len;
  }
  return hashLabelPairs(pairs);
}

function varint(b: Buffer, p: number): [number, number] {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const c = b[p++];
    value += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return [value, p];
  }
}

function labelsOfRecord(rec: SignalRecord, i: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = rec.labelOffsets[i]; k < rec.labelOffsets[i + 1]; k++) {
    out[rec.strings[rec.labelRefs[2 * k]]] = rec.strings[rec.labelRefs[2 * k + 1]];
  }
  return out;
}

/** The external labels of the tests below: an empty one is no label, as the encoders read it. */
const EXTERNAL = { cluster: 'eu-west-1', region: 'eu', unset: '' };

/** seriesSet plus series that carry an external label's name themselves (their own value wins). */
function seriesWithOwnCluster(t0: number): SeriesInput[] {
  const own = Array.from({ length: 6 }, (_, k) => ({
    labels: {
      __name__: k % 2 === 0 ? 'http_requests_total' : 'drop_me',
      cluster: `own-${k}`,
      job: 'api',
      k: String(100 + k),
      ...(k % 3 === 0 ? { tmp: 'x', region: 'us' } : {}),
    },
    samples: [[t0, k]] as [number, number][],
  }));
  return [...seriesSet(t0), ...own];
}

/** Per series kept, in the record's order: the 1.0 request `encoder` writes for it alone. */
function sentV1(
  rec: SignalRecord,
  dropped: Uint8Array | undefined,
  externalLabels: Record<string, string> = EXTERNAL,
): Buffer[] {
  const encoder = createWriteRequestEncoderV1({ externalLabels });
  const out: Buffer[] = [];
  for (const s of wholeSlices(rec)) {
    if (dropped?.[s.series] === 1) continue;
    out.push(Buffer.from(encoder.encode([s], 1, [])));
  }
  return out;
}

/** The label fields of a one-series 1.0 request whose sample bytes are `samples`. */
function labelFieldsOf(request: Buffer, samples: number): Buffer {
  const [len, at] = varint(request, 1);
  return request.subarray(at, at + len - samples);
}

/** What a 2.0 request carries, series sorted by their labels (groups reorder them). */
function sentV2(bytes: Uint8Array): { labels: Record<string, string>; samples: unknown }[] {
  return decodeV2WithProtobufjs(bytes)
    .series.map((s) => ({ labels: s.labels, samples: s.samples }))
    .sort((a, b) => (seriesKey(a.labels) < seriesKey(b.labels) ? -1 : 1));
}

describe('external labels merged at ingest (relay scan)', () => {
  const sets = [
    { name: 'no rules (merge only)', yaml: [] as unknown[] },
    ...RULE_SETS,
    { name: 'labeldrop cluster', yaml: [{ regex: 'cluster', action: 'labeldrop' }] },
    { name: 'replace cluster', yaml: [{ source_labels: ['job'], target_label: 'cluster' }] },
  ];
  for (const set of sets) {
    for (const groups of [1, STORED_GROUPS, SHARD_PARTITIONS]) {
      it(`sends what the send-time route sends, byte for byte (1.0) and label for label (2.0): ${set.name}, ${groups} group(s)`, () => {
        const plan = planOf(set.yaml, EXTERNAL);
        assert.deepEqual(plan.external, ['cluster', 'eu-west-1', 'region', 'eu']);
        const body = bodyOf(seriesWithOwnCluster(1_700_000_000_000));
        // Send time: the record as received, the endpoint's relabeler (external labels merged
        // first), the encoders merging the external labels into the series it left unchanged.
        const scan = scanWriteRequestV1(body);
        assert.ok(scan);
        const unmarked = decodeRawRecord(encodeRawRecord(compressBlock(body), scan));
        const relabeler =
          plan.rules.length === 0 ? undefined : new WriteRelabeler(compileRelabeling(plan.rules, 'utf8'), EXTERNAL);
        const dropped = relabeler?.apply(unmarked).dropped;
        const want = sentV1(unmarked, dropped);
        const wantSamples = wholeSlices(unmarked)
          .filter((s) => dropped?.[s.series] !== 1)
          .map((s) => seriesBytes(unmarked, s.series).samples.length);
        const wantV2 = sentV2(
          createWriteRequestEncoderV2({ externalLabels: EXTERNAL }).encode(
            wholeSlices(unmarked).filter((s) => dropped?.[s.series] !== 1),
            unmarked.seriesCount - (dropped?.reduce((n, d) => n + d, 0) ?? 0),
            [],
          ),
        );
        relabeler?.dispose();

        // At ingest: the scan merges and relabels; the record is marked, and the encoders of an
        // endpoint under the same digest merge nothing into it.
        const out = scanRelayRequest(compressBlock(body), 1 << 20, groups, 'utf8', undefined, ingestRelabelerFor(plan));
        assert.equal(out.kind, 'record');
        if (out.kind !== 'record') return;
        assert.equal(ingestRelabelOf(decodeRawRecord(out.payload))?.digest, plan.digest);
        const marked = decodeRawRecord(out.payload);
        marked.externalLabelsMerged = true;
        assert.equal(marked.seriesCount, want.length);
        // Per series as stored, its labels are those the send-time route sends.
        const expected = want.map((request, i) => ({
          request,
          newHash: hashOfFields(labelFieldsOf(request, wantSamples[i])),
        }));
        const order =
          groups === 1
            ? expected
            : [...Array(groups).keys()].flatMap((g) => expected.filter((w) => (w.newHash & 0xff) % groups === g));
        const got = sentV1(marked, undefined);
        for (let i = 0; i < got.length; i++) {
          assert.deepEqual(got[i], order[i].request, `series ${i}: the 1.0 request`);
          const own = seriesBytes(marked, i);
          assert.deepEqual(
            own.labels,
            labelFieldsOf(order[i].request, own.samples.length),
            `series ${i}: stored labels`,
          );
          assert.equal(marked.seriesHash[i], order[i].newHash, `series ${i}: the hash of its labels`);
        }
        // Stored bytes (the groups as they are) hold exactly those series: nothing is merged later.
        const stored = Buffer.concat(got);
        assert.deepEqual(stored, Buffer.concat(order.map((o) => o.request)));
        // 2.0: the encoder merges nothing into a marked record; the transcoder (which merges into
        // every record) is given one only when the rules keep every external name.
        const v2 = createWriteRequestEncoderV2({ externalLabels: EXTERNAL });
        assert.deepEqual(sentV2(v2.encode(wholeSlices(marked), marked.seriesCount, [])), wantV2, '2.0 encoder');
        if (keepsExternalLabelNames(plan.rules, plan.external) && marked.seriesCount > 0) {
          const tc = createRw2Transcoder({ externalLabels: EXTERNAL });
          assert.ok(tc);
          const held = decodeRecord(out.payload, { deferRawBody: true });
          held.externalLabelsMerged = true;
          assert.equal(tc.load(held), true);
          const bytes = tc.encode(wholeSlices(held), held.seriesCount, []);
          assert.ok(bytes, 'the transcoder encodes the request');
          assert.deepEqual(sentV2(bytes), wantV2, '2.0 transcoder');
        }
      });
    }
  }

  it('a marked record sent by an endpoint under other external labels keeps its own and gets the current ones where absent', () => {
    const plan = planOf([{ regex: 'cluster', action: 'labeldrop' }], { cluster: 'old', zone: 'z1' });
    const body = bodyOf([
      { labels: { __name__: 'm', k: '1' }, samples: [[1, 1]] },
      { labels: { __name__: 'm', k: '2', cluster: 'own' }, samples: [[1, 2]] },
    ]);
    const out = scanRelayRequest(compressBlock(body), 1 << 20, 1, 'utf8', undefined, ingestRelabelerFor(plan));
    assert.equal(out.kind, 'record');
    if (out.kind !== 'record') return;
    const rec = decodeRawRecord(out.payload);
    // Not marked as merged by the endpoint (another digest): its encoder merges the current labels.
    const encoder = createWriteRequestEncoderV1({ externalLabels: { cluster: 'new', zone: 'z2' } });
    const got = wholeSlices(rec).map((s) => decodeV1WithProtobufjs(encoder.encode([s], 1, [])).series[0].labels);
    assert.deepEqual(got, [
      { __name__: 'm', cluster: 'new', k: '1', zone: 'z1' },
      { __name__: 'm', cluster: 'new', k: '2', zone: 'z1' },
    ]);
  });
});

/**
 * One 1.0 TimeSeries field with one sample; `padded`: the label names whose field length is
 * padded; `paddedValues`: those whose value length is.
 */
function timeSeriesField(
  labels: [string, string][],
  ts: number,
  value: number,
  padded: string[] = [],
  paddedValues: string[] = [],
): Buffer {
  const fields = labels.map(([n, v]) =>
    lengthDelimited(
      0x0a,
      Buffer.concat([
        lengthDelimited(0x0a, Buffer.from(n)),
        lengthDelimited(0x12, Buffer.from(v), paddedValues.includes(n)),
      ]),
      padded.includes(n),
    ),
  );
  const sample = Buffer.alloc(9);
  sample[0] = 0x09;
  sample.writeDoubleLE(value, 1);
  const t: number[] = [0x10];
  for (let x = ts; ; x = Math.floor(x / 128)) {
    if (x < 0x80) {
      t.push(x);
      break;
    }
    t.push((x % 128) | 0x80);
  }
  return lengthDelimited(
    0x0a,
    Buffer.concat([...fields, lengthDelimited(0x12, Buffer.concat([sample, Buffer.from(t)]))]),
  );
}

/** The record each route writes for `body` under `plan` (no rules): the merge in the scan, and the cache's. */
function bothRecords(body: Uint8Array, plan: ReturnType<typeof planOf>, groups: number) {
  const { planned: merged, cached, plannedStats: mergedStats, cachedStats } = bothRoutes(body, plan, groups);
  assert.equal(merged.kind, 'record');
  assert.equal(cached.kind, 'record');
  if (merged.kind !== 'record' || cached.kind !== 'record') throw new Error('unreachable');
  return { merged, cached, mergedStats, cachedStats };
}

describe('external labels without rules: merged in the scan module, no cache', () => {
  const t0 = 1_700_000_000_000;
  const own = (labels: Record<string, string>, k: number): SeriesInput => ({ labels, samples: [[t0 + k, k]] });
  const cases: { name: string; external: Record<string, string>; series: SeriesInput[] }[] = [
    {
      name: 'several external labels, sorting first, between and last',
      external: { A_first: 'a', cluster: 'eu-west-1', job2: 'j', zzz: 'last', unset: '' },
      series: [
        ...seriesWithOwnCluster(t0),
        own({ __name__: 'm', zzz: 'own-last', A_first: 'own-first' }, 1),
        own({ __name__: 'm', job: 'x', job2: 'own', job3: 'y' }, 2),
      ],
    },
    {
      name: 'names that are prefixes of each other (a, ab, abc)',
      external: { a: 'ext-a', abc: 'ext-abc' },
      series: [
        own({ __name__: 'm', ab: '1' }, 1),
        own({ __name__: 'm', a: 'own-a' }, 2),
        own({ __name__: 'm', abc: 'own-abc', abd: '2' }, 3),
        own({ __name__: 'm', ab: '1', abcd: '3' }, 4),
        own({ __name__: 'm', a: 'own', ab: '1', abc: 'own' }, 5),
        own({ __name__: 'm', b: '1' }, 6),
      ],
    },
    {
      name: 'series with no label but __name__',
      external: { A: 'first', cluster: 'c' },
      series: [own({ __name__: 'm' }, 1), own({ __name__: 'n' }, 2), own({ __name__: 'zz' }, 3)],
    },
    {
      name: 'long values and names (two-byte lengths; the arena on the cache route)',
      external: { cluster: 'v'.repeat(300), ['n'.repeat(140)]: 'a long name', region: 'ü'.repeat(70) },
      series: [...seriesSet(t0), own({ __name__: 'm', cluster: 'w'.repeat(200) }, 1)],
    },
    {
      name: 'every series has every external label (nothing changes)',
      external: { cluster: 'c', job: 'j' },
      series: [own({ __name__: 'm', cluster: '1', job: '2' }, 1), own({ __name__: 'n', cluster: '3', job: '4' }, 2)],
    },
  ];
  for (const c of cases) {
    for (const groups of [1, STORED_GROUPS, SHARD_PARTITIONS]) {
      it(`writes the cache route's record byte for byte, the series the send-time route sends: ${c.name}, ${groups} group(s)`, () => {
        const plan = planOf([], c.external);
        const body = bodyOf(c.series);
        const { merged, cached, mergedStats, cachedStats } = bothRecords(body, plan, groups);
        assert.equal(mergedStats.merged, 1, 'the merge took the body');
        assert.equal(mergedStats.decisions, 0, 'no engine');
        assert.equal(cachedStats.merged, 0);
        assert.equal(cachedStats.decisions, c.series.length);
        assert.deepEqual(merged.payload, cached.payload);
        assert.equal(merged.samples, cached.samples);

        // What the send-time route sends: per series its 1.0 request with the external labels merged.
        const scan = scanWriteRequestV1(body);
        assert.ok(scan);
        const unmarked = decodeRawRecord(encodeRawRecord(compressBlock(body), scan));
        const want = sentV1(unmarked, undefined, c.external).map((request, i) => {
          const samples = seriesBytes(unmarked, i).samples.length;
          return { request, newHash: hashOfFields(labelFieldsOf(request, samples)) };
        });
        const order =
          groups === 1
            ? want
            : [...Array(groups).keys()].flatMap((g) => want.filter((w) => (w.newHash & 0xff) % groups === g));
        const marked = decodeRawRecord(merged.payload);
        assert.equal(ingestRelabelOf(marked)?.digest, plan.digest);
        marked.externalLabelsMerged = true;
        const got = sentV1(marked, undefined, c.external);
        assert.equal(got.length, c.series.length);
        for (let i = 0; i < got.length; i++) {
          assert.deepEqual(got[i], order[i].request, `series ${i}: the 1.0 request`);
          assert.equal(marked.seriesHash[i], order[i].newHash, `series ${i}: the hash of its new labels`);
        }
      });
    }
  }

  it('keeps the received block as the record when no series changes, in one group', () => {
    const plan = planOf([], { cluster: 'c' });
    const body = bodyOf([own({ __name__: 'm', cluster: 'own' }, 1)]);
    const { merged } = bothRecords(body, plan, 1);
    const rec = decodeRawRecord(merged.payload);
    assert.equal(rec.seriesCount, 1);
    assert.deepEqual(Buffer.from(rec.rawSeries?.bytes ?? []), Buffer.from(body));
  });

  it('leaves a body with a padded length varint in a changed series to the cache route (which writes the field anew)', () => {
    const plan = planOf([], { cluster: 'c' });
    const ab = (pad: string[], padValue: string[]) =>
      Buffer.concat([
        timeSeriesField(
          [
            ['__name__', 'm'],
            ['job', 'a'],
          ],
          t0,
          1,
        ),
        timeSeriesField(
          [
            ['__name__', 'm'],
            ['job', 'b'],
          ],
          t0,
          2,
          pad,
          padValue,
        ),
      ]);
    // The label field's length padded, then its value's.
    for (const [body, groups] of [
      [ab(['job'], []), 1],
      [ab(['job'], []), STORED_GROUPS],
      [ab([], ['job']), 1],
      [ab([], ['job']), STORED_GROUPS],
    ] as const) {
      const { merged, cached, mergedStats, cachedStats } = bothRecords(body, plan, groups);
      assert.equal(mergedStats.merged, 0, 'the merge gave the body to the cache');
      assert.equal(mergedStats.decisions, 2);
      assert.equal(cachedStats.decisions, 2);
      assert.deepEqual(merged.payload, cached.payload);
      const rec = decodeRawRecord(merged.payload);
      // Both series go out canonical: cluster in its place, the padded field written anew.
      const fields = wholeSlices(rec).map((s) => seriesBytes(rec, s.series).labels);
      const field = (n: string, v: string) =>
        lengthDelimited(
          0x0a,
          Buffer.concat([lengthDelimited(0x0a, Buffer.from(n)), lengthDelimited(0x12, Buffer.from(v))]),
        );
      const want = (job: string) => Buffer.concat([field('__name__', 'm'), field('cluster', 'c'), field('job', job)]);
      assert.deepEqual(fields.sort(Buffer.compare), [want('a'), want('b')]);
    }
  });

  it('merges a padded series that it leaves alone (it has every external label: stored as received)', () => {
    const plan = planOf([], { cluster: 'c' });
    const body = timeSeriesField(
      [
        ['__name__', 'm'],
        ['cluster', 'own'],
      ],
      t0,
      1,
      ['cluster'],
    );
    const { merged, cached, mergedStats } = bothRecords(body, plan, STORED_GROUPS);
    assert.equal(mergedStats.merged, 1);
    assert.deepEqual(merged.payload, cached.payload);
    const rec = decodeRawRecord(merged.payload);
    assert.deepEqual(Buffer.from(rec.rawSeries?.bytes ?? []).subarray(0, body.length), body);
  });

  it('leaves new label fields over 64 KiB to the cache route, which stores the body unmarked', () => {
    const plan = planOf([], { cluster: 'c' });
    const body = bodyOf([own({ __name__: 'm', big: 'x'.repeat(65_520) }, 1)]);
    const { merged, cached, mergedStats, cachedStats } = bothRecords(body, plan, STORED_GROUPS);
    assert.equal(mergedStats.merged, 0);
    assert.equal(mergedStats.fallbacks, 1);
    assert.equal(cachedStats.fallbacks, 1);
    assert.deepEqual(merged.payload, cached.payload);
    assert.equal(ingestRelabelOf(decodeRawRecord(merged.payload)), undefined);
  });

  it('takes the cache route for a body scanned without the merge (the same record)', () => {
    const plan = planOf([], { cluster: 'c', zone: 'z' });
    const body = bodyOf(seriesSet(t0));
    const wasm = createWasmRelayScan();
    assert.ok(wasm);
    const rl = new IngestRelabeler(plan, wasm, { slots: 1024, arenaBytes: 1 << 20 });
    const records: Uint8Array[] = [];
    for (const merge of [rl.merge, undefined]) {
      const out = wasm.uncompressAndScan(compressBlock(body), body.length, 'utf8', merge);
      assert.ok(out?.scan);
      const r = rl.relabel(out.scan, body.length, STORED_GROUPS);
      assert.ok(r);
      records.push(encodeGatheredRawRecord(r.scan, r.gathered, undefined, r.mark));
    }
    assert.deepEqual(records[0], records[1]);
    assert.deepEqual(rl.stats, {
      bodies: 2,
      decisions: 60,
      clears: 0,
      growths: 0,
      slots: 1024,
      fallbacks: 0,
      merged: 1,
    });
    rl.dispose();
  });

  it(`merges up to ${MAX_MERGED_EXTERNAL_LABELS} external labels in the scan, more through the cache`, () => {
    const body = bodyOf(seriesSet(t0));
    for (const count of [MAX_MERGED_EXTERNAL_LABELS, MAX_MERGED_EXTERNAL_LABELS + 1]) {
      const external = Object.fromEntries(Array.from({ length: count }, (_, k) => [`ext_${k}`, `v${k}`]));
      const plan = planOf([], external);
      const { merged, cached, mergedStats } = bothRecords(body, plan, STORED_GROUPS);
      assert.equal(mergedStats.merged, count <= MAX_MERGED_EXTERNAL_LABELS ? 1 : 0, `${count} labels`);
      assert.deepEqual(merged.payload, cached.payload, `${count} labels`);
      const rec = decodeRawRecord(merged.payload);
      assert.equal(Object.keys(labelsOfRecord(rec, 0)).filter((n) => n.startsWith('ext_')).length, count);
    }
  });

  it('merges a later body again after one left to the cache route', () => {
    const plan = planOf([], { cluster: 'c' });
    const wasm = wasmRelayScan();
    assert.ok(wasm);
    const rl = new IngestRelabeler(plan, wasm);
    const padded = timeSeriesField(
      [
        ['__name__', 'm'],
        ['job', 'b'],
      ],
      t0,
      2,
      ['job'],
    );
    const plain = bodyOf([own({ __name__: 'm', job: 'b' }, 1)]);
    for (const body of [plain, padded, plain]) {
      const out = scanRelayRequest(compressBlock(body), 1 << 20, 1, 'utf8', undefined, rl);
      assert.equal(out.kind, 'record');
      if (out.kind !== 'record') return;
      const rec = decodeRawRecord(out.payload);
      assert.deepEqual(labelsOfRecord(rec, 0), { __name__: 'm', cluster: 'c', job: 'b' });
    }
    assert.deepEqual(rl.stats, {
      bodies: 3,
      decisions: 1,
      clears: 0,
      growths: 0,
      slots: DEFAULT_INGEST_RELABEL_SLOTS,
      fallbacks: 0,
      merged: 2,
    });
    rl.dispose();
  });
});
