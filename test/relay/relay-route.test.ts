import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointConfig, QueueConfig } from '../../src/config/types.js';
import { scanRelayRequest } from '../../src/daemon/relay-scan.js';
import { partitionOf, SHARD_PARTITIONS, STORED_GROUPS, storedGroupOf } from '../../src/network/partition.js';
import { initialAssignment } from '../../src/network/reshard-assignment.js';
import { type SendWork, VIRTUAL_SHARDS, virtualShardOf } from '../../src/network/types.js';
import { ingestRelabelerFor } from '../../src/relay/ingest-relabel.js';
import {
  createRelayRoute,
  ingestRelabelPlan,
  type LoopAssignment,
  RelayGrouping,
  type RelayRouteOptions,
  relayGroupCount,
  sendsStoredBytes,
  storedElementsOf,
  wideGroupsBacklog,
} from '../../src/relay/relay-route.js';
import { encodeRawRecord } from '../../src/serialization/raw-record.js';
import { decodeRecord, encodeRecord } from '../../src/serialization/record-codec.js';
import type { SignalRecord } from '../../src/serialization/types.js';
import { scanWriteRequestV1 } from '../../src/wire/rw1-raw-scan.js';
import { compressBlock } from '../../src/wire/snappy.js';
import { encodeWriteRequestV1 } from '../helpers/remote-write-client.js';
import { endpointConfig } from '../network/harness.js';
import { buildRecord } from '../network/record-builder.js';
import { planOf, rulesOf } from './ingest-relabel-helpers.js';

const SERIES = 600;
const NOW = 1_700_000_000_000;

/** A relayed record of `SERIES` series (2 samples each, at NOW and NOW + 1) stored in `groups` groups. */
function relayed(groups: number): SignalRecord {
  const body = encodeWriteRequestV1(
    Array.from({ length: SERIES }, (_, k) => ({
      labels: { __name__: 'm', k: String(k) },
      samples: [
        [NOW, k],
        [NOW + 1, k],
      ] as [number, number][],
    })),
  );
  const scan = scanWriteRequestV1(body);
  assert.ok(scan);
  return decodeRecord(encodeRawRecord(compressBlock(body), scan, { body, groups }), { deferRawBody: true });
}

/** Loops that own whole partitions, assigned as the network manager starts with `loops` loops. */
function byPartition(loops: number): LoopAssignment {
  const owner = initialAssignment(loops, SHARD_PARTITIONS, STORED_GROUPS);
  return { shards: loops, wholeLoopOf: (v: number) => owner[partitionOf(v)] };
}

/** Loops assigned `v % loops`: stored groups split over loops when `loops` does not divide STORED_GROUPS. */
function byModulo(loops: number): LoopAssignment {
  return { shards: loops, wholeLoopOf: (v: number) => v % loops };
}

/** A network in the middle of a reshard: no group may go out whole. */
function resharding(loops: number): LoopAssignment {
  return { shards: loops, wholeLoopOf: () => -1 };
}

function route(
  network: LoopAssignment,
  queue: Partial<QueueConfig> = {},
  rest: Partial<EndpointConfig> = {},
  more: Partial<RelayRouteOptions> = {},
) {
  return createRelayRoute({
    config: endpointConfig('http://127.0.0.1:1/', { maxSamplesPerSend: 2000, ...queue }, rest),
    externalLabels: {},
    customEncoder: false,
    network,
    ...more,
  });
}

const RULE = { action: 'drop', sourceLabels: ['k'], regex: '1' } as never;
const OTHER_RULE = { action: 'drop', sourceLabels: ['k'], regex: '2' } as never;

describe('RelayRoute.decide', () => {
  it('sends a partitioned record as its stored bytes with any number of loops that own whole partitions', () => {
    for (const loops of [1, 2, 3, 4, 7, STORED_GROUPS]) {
      assert.equal(route(byPartition(loops)).decide(relayed(STORED_GROUPS), undefined, -Infinity), 'stored-bytes');
    }
  });

  it('sends a record as its stored bytes only where each group goes through one loop now', () => {
    const cases: { groups: number; network: LoopAssignment; way: string; why: string }[] = [
      { groups: 1, network: byPartition(1), way: 'stored-bytes', why: 'the body as received, one loop' },
      { groups: 1, network: byPartition(2), way: 'stored-labels', why: 'the body as received, two loops' },
      { groups: STORED_GROUPS, network: byModulo(3), way: 'stored-labels', why: 'groups split over loops' },
      { groups: STORED_GROUPS, network: byModulo(4), way: 'stored-bytes', why: 'v % 4 keeps groups whole' },
      { groups: STORED_GROUPS, network: byPartition(17), way: 'stored-labels', why: 'more loops than groups' },
      { groups: STORED_GROUPS, network: byPartition(50), way: 'stored-labels', why: 'more loops than groups' },
      { groups: STORED_GROUPS, network: resharding(4), way: 'stored-labels', why: 'the assignment is changing' },
      { groups: 1, network: resharding(1), way: 'stored-labels', why: 'the assignment is changing' },
      {
        groups: SHARD_PARTITIONS,
        network: byPartition(50),
        way: 'stored-bytes',
        why: 'a group per partition, 50 loops',
      },
      { groups: SHARD_PARTITIONS, network: byModulo(3), way: 'stored-bytes', why: 'a group per partition' },
      { groups: SHARD_PARTITIONS, network: resharding(24), way: 'stored-bytes', why: 'moving partitions are held' },
      { groups: 4, network: byModulo(4), way: 'stored-bytes', why: 'an older build, 4 groups over 4 loops' },
      { groups: 4, network: byModulo(2), way: 'stored-bytes', why: 'an older build, 4 groups over 2 loops' },
      { groups: 4, network: byModulo(3), way: 'stored-labels', why: 'an older build, 4 groups over 3 loops' },
      { groups: 4, network: byPartition(3), way: 'stored-labels', why: 'an older build, partitions over 3 loops' },
      { groups: 6, network: byPartition(2), way: 'stored-bytes', why: 'an older build, 6 groups over 2 loops' },
    ];
    for (const c of cases) assert.equal(route(c.network).decide(relayed(c.groups), undefined, -Infinity), c.way, c.why);
  });

  it('copies the stored series one by one when something of the record changes', () => {
    const rec = () => relayed(STORED_GROUPS);
    const net = byPartition(4);
    assert.equal(route(net).decide(rec(), new Set([3]), -Infinity), 'stored-labels', 'a portion acked before');
    assert.equal(route(net).decide(rec(), new Set(), -Infinity), 'stored-bytes', 'an empty ack set');
    assert.equal(route(net).decide(rec(), undefined, NOW + 1), 'stored-labels', 'the ttl cuts its oldest sample');
    assert.equal(route(net).decide(rec(), undefined, NOW), 'stored-bytes', 'the ttl cuts nothing');
    assert.equal(
      route(net, { maxSamplesPerSend: 10 }).decide(rec(), undefined, -Infinity),
      'stored-labels',
      'a group larger than a request',
    );
    assert.equal(
      route(net, { sampleAgeLimitMs: 60_000 }).decide(rec(), undefined, -Infinity),
      'stored-labels',
      'a sample age limit cuts at send time',
    );
    assert.equal(
      route(net, {}, {}, { externalLabels: { cluster: 'c' } }).decide(rec(), undefined, -Infinity),
      'stored-labels',
      'external labels are merged',
    );
    assert.equal(
      route(net, {}, {}, { customEncoder: true }).decide(rec(), undefined, -Infinity),
      'stored-labels',
      "the caller's encoder",
    );
  });

  it('decodes where the labels are read: write relabel rules, a 2.0 endpoint, a record not stored as received', () => {
    const net = byPartition(4);
    const rec = relayed(STORED_GROUPS);
    assert.equal(route(net, {}, { writeRelabelConfigs: [RULE] }).decide(rec, undefined, -Infinity), 'decoded');
    assert.equal(
      route(net, {}, { protobufMessage: 'io.prometheus.write.v2.Request' }).decide(rec, undefined, -Infinity),
      'decoded',
    );
    const kind1 = decodeRecord(
      encodeRecord(buildRecord([{ labels: { __name__: 'x' }, hash: 1, samples: [[NOW, 1]] }])),
    );
    const r = route(net);
    assert.equal(r.decide(kind1, undefined, -Infinity), 'decoded');
    assert.deepEqual(
      r.stats,
      { storedBytes: 0, storedLabels: 0, transcoded: 0, decoded: 0 },
      'kind-1 records are not counted',
    );
  });

  it("transcodes a 2.0 endpoint's records that go out with their stored labels, when it has a transcoder", () => {
    const net = byPartition(4);
    const v2 = { protobufMessage: 'io.prometheus.write.v2.Request' } as const;
    const r = route(net, {}, v2, { transcodes: true });
    assert.equal(r.decide(relayed(1), undefined, -Infinity), 'transcoded', 'the body as received');
    assert.equal(r.decide(relayed(STORED_GROUPS), undefined, -Infinity), 'transcoded', 'grouped');
    assert.equal(r.decide(relayed(STORED_GROUPS), new Set([3]), -Infinity), 'transcoded', 'a portion acked before');
    assert.equal(r.decide(relayed(1), undefined, NOW), 'transcoded', 'the ttl cuts nothing');
    assert.equal(r.decide(relayed(1), undefined, NOW + 1), 'decoded', 'the ttl cuts its oldest sample');
    assert.equal(
      route(net, { sampleAgeLimitMs: 60_000 }, v2, { transcodes: true }).decide(relayed(1), undefined, -Infinity),
      'transcoded',
      'a sample age limit (a batch it cuts goes to the 2.0 encoder)',
    );
    assert.equal(
      route(net, {}, v2, { transcodes: true, externalLabels: { cluster: 'c' } }).decide(
        relayed(1),
        undefined,
        -Infinity,
      ),
      'transcoded',
      'external labels are merged by the transcoder',
    );
    assert.equal(
      route(net, {}, { ...v2, writeRelabelConfigs: [RULE] }, { transcodes: true }).decide(
        relayed(1),
        undefined,
        -Infinity,
      ),
      'decoded',
      'rules at send time',
    );
    assert.equal(route(net, {}, v2).decide(relayed(1), undefined, -Infinity), 'decoded', 'no transcoder');
    const fellBack = { ...net, sendingMessage: () => 'prometheus.WriteRequest' as const };
    assert.equal(
      route(fellBack, {}, v2, { transcodes: true }).decide(relayed(1), undefined, -Infinity),
      'decoded',
      'sending 1.0 after a fallback: nothing for the transcoder to load',
    );
    const onV2 = { ...net, sendingMessage: () => 'io.prometheus.write.v2.Request' as const };
    assert.equal(route(onV2, {}, v2, { transcodes: true }).decide(relayed(1), undefined, -Infinity), 'transcoded');
    assert.equal(
      route(net, {}, {}, { transcodes: true }).decide(relayed(STORED_GROUPS), undefined, -Infinity),
      'stored-bytes',
      'a 1.0 endpoint',
    );
    assert.deepEqual(r.stats, { storedBytes: 0, storedLabels: 0, transcoded: 4, decoded: 1 });
  });

  it('counts the relayed records each way', () => {
    const r = route(byPartition(2));
    r.decide(relayed(STORED_GROUPS), undefined, -Infinity);
    r.decide(relayed(STORED_GROUPS), undefined, -Infinity);
    r.decide(relayed(1), undefined, -Infinity);
    assert.deepEqual(r.stats, { storedBytes: 2, storedLabels: 1, transcoded: 0, decoded: 0 });
  });
});

describe('RelayRoute.storedWorks', () => {
  it('gives one work per non-empty group, carrying that group portions and its elements', () => {
    const rec = relayed(STORED_GROUPS);
    const before = new Uint32Array(VIRTUAL_SHARDS);
    for (let i = 0; i < rec.seriesCount; i++) before[virtualShardOf(rec.seriesHash[i])] += 2;
    const works = route(byPartition(3)).storedWorks(rec, 7, 5, before);
    const groups = rec.rawGroups;
    assert.ok(groups);
    let series = 0;
    let signals = 0;
    const portions = new Set<number>();
    for (const w of works) {
      const all = [w.portion, ...(w.morePortions ?? [])];
      const p = storedGroupOf(w.portion.vshard);
      for (const x of all) {
        assert.equal(x.segmentId, 7);
        assert.equal(x.record, 5);
        assert.equal(storedGroupOf(x.vshard), p, 'one stored group per work');
        assert.ok(before[x.vshard] > 0);
        portions.add(x.vshard);
      }
      assert.equal(w.elements, groups.elements[p]);
      assert.equal(w.signals, groups.samples[p]);
      for (const s of w.series) {
        assert.equal(s, series++, 'the groups cover the series in order');
        assert.equal(storedGroupOf(virtualShardOf(rec.seriesHash[s])), p);
      }
      signals += w.signals;
    }
    assert.equal(series, SERIES);
    assert.equal(signals, 2 * SERIES);
    assert.equal(portions.size, before.filter((n) => n > 0).length, 'every portion once');
  });
});

describe('RelayGrouping', () => {
  const ep = (queue: Partial<QueueConfig>, rest: Partial<EndpointConfig> = {}) =>
    endpointConfig('http://127.0.0.1:1/', { maxSamplesPerSend: 2000, ...queue }, rest);

  it('widens to one group per partition while an endpoint that may run more than 16 loops is behind, with hysteresis', () => {
    let pending = 0;
    let loops = 1;
    const g = new RelayGrouping(
      [{ config: ep({ minShards: 1, maxShards: 50 }), pendingSignals: () => pending, loops: () => loops }],
      {},
    );
    const limit = wideGroupsBacklog(2000);
    assert.equal(limit, 1_600_000);
    assert.equal(g.groups(0), STORED_GROUPS);
    pending = limit + 1;
    assert.equal(g.groups(500), STORED_GROUPS, 'read at most once a second');
    assert.equal(g.groups(1000), SHARD_PARTITIONS, 'behind');
    pending = limit / 2 + 1;
    assert.equal(g.groups(2000), SHARD_PARTITIONS, 'still more than half the limit behind');
    pending = limit / 2;
    assert.equal(g.groups(2999), SHARD_PARTITIONS);
    assert.equal(g.groups(3000), STORED_GROUPS, 'caught up');
    loops = 17;
    assert.equal(g.groups(4000), SHARD_PARTITIONS, 'more than 16 loops, nothing behind');
    pending = 0;
    assert.equal(g.groups(5000), SHARD_PARTITIONS, 'still more than 16 loops');
    loops = 16;
    assert.equal(g.groups(6000), STORED_GROUPS, '16 loops, nothing behind');
  });

  it('does not widen for endpoints that cannot use it', () => {
    const behind = () => 10_000_000;
    const cases: { eps: EndpointConfig[]; ext?: Record<string, string>; groups: number; why: string }[] = [
      { eps: [ep({ minShards: 1, maxShards: 16 })], groups: STORED_GROUPS, why: 'at most 16 loops' },
      { eps: [ep({ minShards: 1, maxShards: 1 })], groups: 1, why: 'one loop' },
      {
        eps: [ep({ minShards: 1, maxShards: 50 }, { writeRelabelConfigs: [RULE] })],
        groups: SHARD_PARTITIONS,
        why: 'rules applied at ingest: stored bytes too',
      },
      {
        eps: [ep({ minShards: 1, maxShards: 50 })],
        ext: { c: '1' },
        groups: SHARD_PARTITIONS,
        why: 'external labels merged at ingest: stored bytes too',
      },
      {
        eps: [
          ep({ minShards: 1, maxShards: 50 }, { writeRelabelConfigs: [RULE] }),
          ep({ minShards: 1, maxShards: 50 }),
        ],
        ext: { c: '1' },
        groups: 1,
        why: 'external labels with different rules: merged at send time',
      },
    ];
    for (const c of cases) {
      const g = new RelayGrouping(
        c.eps.map((config) => ({ config, pendingSignals: behind, loops: () => 50 })),
        c.ext ?? {},
      );
      assert.equal(g.groups(0), c.groups, c.why);
      assert.equal(g.groups(5000), c.groups, c.why);
    }
  });
});

describe('relayGroupCount', () => {
  const ep = (queue: Partial<QueueConfig>, rest: Partial<EndpointConfig> = {}) =>
    endpointConfig('http://127.0.0.1:1/', queue, rest);
  it('partitions the record when an endpoint sending stored bytes may run several loops', () => {
    const cases: { eps: EndpointConfig[]; ext?: Record<string, string>; groups: number; why: string }[] = [
      { eps: [ep({ minShards: 1, maxShards: 1 })], groups: 1, why: 'a single loop for good' },
      { eps: [ep({ minShards: 1, maxShards: 50 })], groups: STORED_GROUPS, why: 'loops may grow (the default)' },
      { eps: [ep({ minShards: 4, maxShards: 4 })], groups: STORED_GROUPS, why: 'four loops' },
      {
        eps: [ep({ minShards: 1, maxShards: 1 }), ep({ minShards: 1, maxShards: 8, sampleAgeLimitMs: 1000 })],
        groups: 1,
        why: 'the endpoint of several loops re-encodes anyway',
      },
      {
        eps: [ep({ maxShards: 8 }, { writeRelabelConfigs: [RULE] })],
        groups: STORED_GROUPS,
        why: 'the rules are applied at ingest: the groups go out as stored',
      },
      {
        eps: [ep({ maxShards: 8 }, { writeRelabelConfigs: [RULE] })],
        ext: { cluster: 'c' },
        groups: STORED_GROUPS,
        why: 'rules with external labels: both applied at ingest',
      },
      {
        eps: [ep({ maxShards: 8 }, { writeRelabelConfigs: [RULE] }), ep({ maxShards: 8 })],
        ext: { cluster: 'c' },
        groups: 1,
        why: 'external labels and different rules are applied at send time, which re-encodes',
      },
      {
        eps: [
          ep({ maxShards: 8 }, { writeRelabelConfigs: [RULE] }),
          ep({ maxShards: 8 }, { writeRelabelConfigs: [OTHER_RULE] }),
        ],
        groups: 1,
        why: 'endpoints with different rules relabel at send time, which decodes',
      },
      {
        eps: [ep({ maxShards: 8 }, { protobufMessage: 'io.prometheus.write.v2.Request' })],
        groups: 1,
        why: 'a 2.0 endpoint decodes',
      },
      {
        eps: [ep({ maxShards: 8 })],
        ext: { cluster: 'c' },
        groups: STORED_GROUPS,
        why: 'external labels are merged at ingest',
      },
      { eps: [], groups: 1, why: 'no endpoint' },
    ];
    for (const c of cases) assert.equal(relayGroupCount(c.eps, c.ext ?? {}), c.groups, c.why);
  });

  it('sendsStoredBytes is what the writer and the route both read', () => {
    assert.equal(sendsStoredBytes(ep({}), {}), true);
    assert.equal(sendsStoredBytes(ep({}), { a: 'b' }), false, 'external labels merged at send time');
    assert.equal(sendsStoredBytes(ep({}), { a: 'b' }, true), true, 'external labels merged at ingest');
    assert.equal(sendsStoredBytes(ep({}), { a: '' }), true, 'an empty value is no label');
    assert.equal(
      sendsStoredBytes(ep({}, { protobufMessage: 'io.prometheus.write.v2.Request' }), { a: 'b' }, true),
      false,
      'a 2.0 endpoint',
    );
  });
});

describe('storedElementsOf', () => {
  it('gives the elements of a work that carries them and fits a request', () => {
    const rec = relayed(1);
    const elements = rec.rawGroups?.elements[0];
    assert.ok(elements);
    const work = (withElements: boolean): SendWork => ({
      record: rec,
      series: new Uint32Array(0),
      portion: { segmentId: 1, record: 0, vshard: 0 },
      signals: 2 * SERIES,
      ...(withElements ? { elements } : {}),
    });
    assert.equal(storedElementsOf(work(true), 2 * SERIES), elements);
    assert.equal(storedElementsOf(work(true), 2 * SERIES - 1), undefined);
    assert.equal(storedElementsOf(work(false), 10_000), undefined);
  });
});

describe('write relabeling at ingest: the route', () => {
  const ep = (rest: Partial<EndpointConfig> = {}) => endpointConfig('http://127.0.0.1:1/', { maxShards: 4 }, rest);
  const A = rulesOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
  const A2 = rulesOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
  const B = rulesOf([{ source_labels: ['k'], regex: '1.*', action: 'drop' }]);

  it('merges and relabels at ingest only when every endpoint has the same rules (or none) and there is something to do', () => {
    const cases: { eps: EndpointConfig[]; ext?: Record<string, string>; atIngest: boolean; why: string }[] = [
      { eps: [ep({ writeRelabelConfigs: A })], atIngest: true, why: 'one endpoint with rules' },
      {
        eps: [ep({ writeRelabelConfigs: A }), ep({ writeRelabelConfigs: A2, name: 'b' })],
        atIngest: true,
        why: 'the same rules, written twice',
      },
      {
        eps: [
          ep({ writeRelabelConfigs: A }),
          ep({ writeRelabelConfigs: A, protobufMessage: 'io.prometheus.write.v2.Request' }),
        ],
        atIngest: true,
        why: 'a 2.0 endpoint reads the relabeled labels too',
      },
      {
        eps: [ep({ writeRelabelConfigs: A }), ep({ writeRelabelConfigs: B, name: 'b' })],
        atIngest: false,
        why: 'different rules: each endpoint relabels at send time',
      },
      { eps: [ep({ writeRelabelConfigs: A }), ep({ name: 'b' })], atIngest: false, why: 'an endpoint without rules' },
      { eps: [ep({ writeRelabelConfigs: A })], ext: { cluster: 'c' }, atIngest: true, why: 'rules, external labels' },
      { eps: [ep()], ext: { cluster: 'c' }, atIngest: true, why: 'no rules, external labels: merge only' },
      {
        eps: [ep(), ep({ name: 'b', protobufMessage: 'io.prometheus.write.v2.Request' })],
        ext: { cluster: 'c' },
        atIngest: true,
        why: 'no endpoint has rules',
      },
      {
        eps: [ep({ writeRelabelConfigs: A }), ep({ name: 'b' })],
        ext: { cluster: 'c' },
        atIngest: false,
        why: 'external labels, an endpoint with rules and one without',
      },
      { eps: [ep()], ext: { cluster: '' }, atIngest: false, why: 'an empty external label is none' },
      {
        eps: [ep({ protobufMessage: 'io.prometheus.write.v2.Request' })],
        ext: { cluster: 'c' },
        atIngest: false,
        why: 'merge only, for a 2.0 endpoint alone: it re-encodes anyway',
      },
      {
        eps: [ep({ queue: { ...ep().queue, sampleAgeLimitMs: 60_000 } })],
        ext: { cluster: 'c' },
        atIngest: false,
        why: 'merge only, for an endpoint with a sample age limit: it re-encodes anyway',
      },
      {
        eps: [ep({ protobufMessage: 'io.prometheus.write.v2.Request', writeRelabelConfigs: A })],
        ext: { cluster: 'c' },
        atIngest: true,
        why: 'rules and external labels for a 2.0 endpoint: relabeled once',
      },
      {
        eps: [ep({ writeRelabelConfigs: A }), ep({ writeRelabelConfigs: A, nameValidationScheme: 'legacy' })],
        atIngest: false,
        why: 'rules read under another name scheme',
      },
      { eps: [ep()], atIngest: false, why: 'no rules' },
      { eps: [], atIngest: false, why: 'no endpoint' },
    ];
    for (const c of cases) {
      const plan = ingestRelabelPlan(c.eps, c.ext ?? {});
      assert.equal(plan !== undefined, c.atIngest, c.why);
      if (plan !== undefined) assert.equal(plan.rules, c.eps[0].writeRelabelConfigs);
    }
  });

  it('sends a record relabeled under its own rules as stored bytes, one under other rules decoded (reporting it once)', () => {
    const net = byPartition(4);
    const plan = planOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
    const body = encodeWriteRequestV1(
      Array.from({ length: 50 }, (_, k) => ({
        labels: { __name__: 'm', k: String(k) },
        samples: [[NOW, k]] as [number, number][],
      })),
    );
    const marked = () => markedRecord(body, plan);
    const own = route(net, {}, { writeRelabelConfigs: plan.rules as EndpointConfig['writeRelabelConfigs'] });
    assert.equal(own.decide(marked(), undefined, -Infinity), 'stored-bytes');
    assert.equal(own.relabeledHere(marked()), true);
    const foreign: [string, string | undefined][] = [];
    const other = route(
      net,
      {},
      { writeRelabelConfigs: B },
      { onForeignRules: (rec, mine) => foreign.push([rec, mine]) },
    );
    assert.equal(other.decide(marked(), undefined, -Infinity), 'decoded');
    assert.equal(other.relabeledHere(marked()), false);
    assert.equal(other.relabeledHere(marked()), false);
    assert.deepEqual(foreign, [[plan.digest, planOf([{ source_labels: ['k'], regex: '1.*', action: 'drop' }]).digest]]);
    // Without rules a marked record is sent as it is.
    const none = route(net);
    assert.equal(none.decide(marked(), undefined, -Infinity), 'stored-bytes');
    // An unmarked record under rules is relabeled at send time, as before.
    assert.equal(own.decide(relayed(SHARD_PARTITIONS), undefined, -Infinity), 'decoded');
    // A 2.0 endpoint with a transcoder transcodes a record relabeled under its rules, decodes one under others.
    const v2 = { protobufMessage: 'io.prometheus.write.v2.Request' } as const;
    const rules = plan.rules as EndpointConfig['writeRelabelConfigs'];
    const own2 = route(net, {}, { ...v2, writeRelabelConfigs: rules }, { transcodes: true });
    assert.equal(own2.decide(marked(), undefined, -Infinity), 'transcoded');
    assert.equal(own2.decide(relayed(SHARD_PARTITIONS), undefined, -Infinity), 'decoded');
    const other2 = route(net, {}, { ...v2, writeRelabelConfigs: B }, { transcodes: true });
    assert.equal(other2.decide(marked(), undefined, -Infinity), 'decoded');
    // A sample age limit still cuts: the stored labels, relabeled already, are copied.
    assert.equal(
      route(
        net,
        { sampleAgeLimitMs: 1000 },
        { writeRelabelConfigs: plan.rules as EndpointConfig['writeRelabelConfigs'] },
      ).decide(marked(), undefined, -Infinity),
      'stored-labels',
    );
  });

  it('sends a record merged at ingest under its external labels as stored bytes (1.0) or transcoded (2.0)', () => {
    const net = byPartition(4);
    const ext = { cluster: 'eu-1' };
    const body = encodeWriteRequestV1(
      Array.from({ length: 50 }, (_, k) => ({
        labels: { __name__: 'm', k: String(k) },
        samples: [[NOW, k]] as [number, number][],
      })),
    );
    const marked = (plan: ReturnType<typeof planOf>) => markedRecord(body, plan);
    const mergeOnly = planOf([], ext);
    assert.deepEqual(mergeOnly.external, ['cluster', 'eu-1']);
    assert.deepEqual(ingestRelabelPlan([endpointConfig('http://127.0.0.1:1/')], ext), mergeOnly);
    const v1 = route(net, {}, {}, { externalLabels: ext });
    assert.equal(v1.decide(marked(mergeOnly), undefined, -Infinity), 'stored-bytes');
    assert.equal(v1.relabeledHere(marked(mergeOnly)), true);
    assert.equal(
      v1.decide(relayed(STORED_GROUPS), undefined, -Infinity),
      'stored-labels',
      'unmarked: merged at send time',
    );
    assert.equal(v1.decide(marked(mergeOnly), new Set([3]), -Infinity), 'stored-labels', 'a portion acked before');
    assert.deepEqual(v1.stats, { storedBytes: 1, storedLabels: 2, transcoded: 0, decoded: 0 });
    // Stamped under other external labels: merged with the current ones at send time.
    const foreign: [string, string | undefined][] = [];
    const moved = route(
      net,
      {},
      {},
      { externalLabels: { cluster: 'eu-2' }, onForeignRules: (r, m) => foreign.push([r, m]) },
    );
    assert.equal(moved.decide(marked(mergeOnly), undefined, -Infinity), 'stored-labels');
    assert.equal(moved.relabeledHere(marked(mergeOnly)), false);
    assert.deepEqual(foreign, [[mergeOnly.digest, planOf([], { cluster: 'eu-2' }).digest]]);
    // 2.0: transcoded when the rules cannot take an external label's name away (the transcoder
    // merges again, which then adds nothing), else decoded by the 2.0 encoder, which merges nothing.
    const v2 = { protobufMessage: 'io.prometheus.write.v2.Request' } as const;
    const t = route(net, {}, v2, { transcodes: true, externalLabels: ext });
    assert.equal(t.decide(marked(mergeOnly), undefined, -Infinity), 'transcoded');
    assert.equal(t.decide(marked(mergeOnly), undefined, NOW + 1), 'decoded', 'the ttl cuts its oldest sample');
    assert.deepEqual(t.stats, { storedBytes: 0, storedLabels: 0, transcoded: 1, decoded: 1 });
    const cases: { yaml: unknown[]; way: string; why: string }[] = [
      { yaml: [{ target_label: 'relayed_by', replacement: 'agent' }], way: 'transcoded', why: 'adds a label' },
      { yaml: [{ regex: 'tmp', action: 'labeldrop' }], way: 'transcoded', why: 'a labeldrop of other names' },
      { yaml: [{ regex: 'clu.*', action: 'labeldrop' }], way: 'decoded', why: 'a labeldrop of cluster' },
      { yaml: [{ regex: '__name__|k', action: 'labelkeep' }], way: 'decoded', why: 'a labelkeep without cluster' },
      {
        yaml: [{ regex: '__name__|k|cluster', action: 'labelkeep' }],
        way: 'transcoded',
        why: 'a labelkeep of cluster',
      },
      { yaml: [{ target_label: 'cluster', replacement: '' }], way: 'decoded', why: 'a replace of cluster' },
      {
        yaml: [{ source_labels: ['k'], target_label: '$1', replacement: 'x' }],
        way: 'decoded',
        why: 'a template target',
      },
      {
        yaml: [{ source_labels: ['k'], target_label: 'cluster', action: 'lowercase' }],
        way: 'decoded',
        why: 'lowercase',
      },
      { yaml: [{ source_labels: ['k'], regex: '1.*', action: 'drop' }], way: 'transcoded', why: 'a drop' },
    ];
    for (const c of cases) {
      const plan = planOf(c.yaml, ext);
      const rules = plan.rules as EndpointConfig['writeRelabelConfigs'];
      const r = route(net, {}, { ...v2, writeRelabelConfigs: rules }, { transcodes: true, externalLabels: ext });
      assert.equal(r.decide(marked(plan), undefined, -Infinity), c.way, c.why);
      const r1 = route(net, {}, { writeRelabelConfigs: rules }, { externalLabels: ext });
      assert.equal(r1.decide(marked(plan), undefined, -Infinity), 'stored-bytes', `1.0: ${c.why}`);
    }
  });
});

/** `body` scanned as the relay stores it, relabeled at ingest under `plan`: the record an endpoint reads. */
function markedRecord(body: Uint8Array, plan: ReturnType<typeof planOf>): SignalRecord {
  const out = scanRelayRequest(
    compressBlock(body),
    1 << 20,
    STORED_GROUPS,
    'utf8',
    undefined,
    ingestRelabelerFor(plan),
  );
  assert.equal(out.kind, 'record');
  return decodeRecord((out as { payload: Uint8Array }).payload, { deferRawBody: true });
}
