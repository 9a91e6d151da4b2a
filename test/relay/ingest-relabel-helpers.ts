/** Bodies and rule sets for the tests of write relabeling at ingest. */
import assert from 'node:assert/strict';
import { FieldReader } from '../../src/config/field-reader.js';
import { scanRelayRequest } from '../../src/daemon/relay-scan.js';
import { externalLabelList } from '../../src/endpoint/write-relabel.js';
import { readRelabelConfigs } from '../../src/relabel/config.js';
import type { RelabelRule } from '../../src/relabel/types.js';
import {
  DEFAULT_INGEST_RELABEL_ARENA_BYTES,
  DEFAULT_INGEST_RELABEL_SLOTS,
  IngestRelabeler,
  type IngestRelabelPlan,
  ingestRelabelDigest,
} from '../../src/relay/ingest-relabel.js';
import { wasmRelayScan } from '../../src/wire/rw1-raw-scan-wasm.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { remoteWriteProtos, type SeriesInput, writeRequestV1Object } from '../helpers/remote-write-client.js';

export function rulesOf(yaml: unknown[]): RelabelRule[] {
  const r = new FieldReader('snake');
  const out = readRelabelConfigs(r, yaml, 'write_relabel_configs', 'utf8');
  assert.deepEqual(r.errors, []);
  return out as RelabelRule[];
}

/** The plan of `yaml`'s rules with `externalLabels` merged before them. */
export function planOf(yaml: unknown[], externalLabels: Record<string, string> = {}): IngestRelabelPlan {
  const rules = rulesOf(yaml);
  return {
    digest: ingestRelabelDigest(rules, 'utf8', externalLabels),
    rules,
    scheme: 'utf8',
    external: externalLabelList(externalLabels),
  };
}

/** 60 series of varied labels (non-ASCII values, a long one, a label with a dot), 1-3 samples each. */
export function seriesSet(t0: number, count = 60): SeriesInput[] {
  return Array.from({ length: count }, (_, k) => {
    const labels: Record<string, string> = {
      __name__: ['http_requests_total', 'drop_me', 'Node_CPU', 'keep_me'][k % 4],
      instance: `host-${k % 7}:9100`,
      job: k % 2 === 0 ? 'api' : 'Worker',
      k: String(k),
    };
    if (k % 3 === 0) labels.tmp = 'x';
    if (k % 5 === 0) labels['resource.zone'] = `zöne-${k % 2}`;
    if (k % 11 === 0) labels.long = 'v'.repeat(150 + k);
    if (k % 4 === 1) labels.mode = `Idle-${k}`;
    const samples: [number, number][] = [];
    for (let i = 0; i <= k % 3; i++) samples.push([t0 + i, k * 10 + i]);
    return { labels, samples };
  });
}

export function bodyOf(series: SeriesInput[]): Uint8Array {
  const { WriteRequest } = remoteWriteProtos();
  return WriteRequest.encode(WriteRequest.fromObject(writeRequestV1Object(series))).finish();
}

/** A length-delimited field: tag, length (one byte longer than needed when `padded`), bytes. */
export function lengthDelimited(tag: number, bytes: Uint8Array, padded = false): Buffer {
  const len: number[] = [];
  let v = bytes.length;
  while (v >= 0x80) {
    len.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  len.push(v);
  if (padded) {
    len[len.length - 1] |= 0x80;
    len.push(0);
  }
  return Buffer.concat([Buffer.from([tag, ...len]), bytes]);
}

/**
 * What each route writes for `body` under `plan`: the relabeler as the daemon makes it (the scan's
 * plan, by label name or for external labels alone, where the rules allow one) and one held to
 * the outcome cache (`cacheOnly`), with both relabelers' counters.
 */
export function bothRoutes(body: Uint8Array, plan: IngestRelabelPlan, groups: number) {
  const wasm = wasmRelayScan();
  assert.ok(wasm);
  const planning = new IngestRelabeler(plan, wasm);
  const planned = scanRelayRequest(compressBlock(body), 1 << 20, groups, 'utf8', undefined, planning);
  const namePlanned = planning.namePlan !== undefined;
  planning.dispose();
  const caching = new IngestRelabeler(plan, wasm, {
    slots: DEFAULT_INGEST_RELABEL_SLOTS,
    arenaBytes: DEFAULT_INGEST_RELABEL_ARENA_BYTES,
    cacheOnly: true,
  });
  const cached = scanRelayRequest(compressBlock(body), 1 << 20, groups, 'utf8', undefined, caching);
  caching.dispose();
  return { planned, cached, namePlanned, plannedStats: planning.stats, cachedStats: caching.stats };
}
