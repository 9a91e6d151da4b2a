import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHARD_PARTITIONS, STORED_GROUPS } from '../../src/network/partition.js';
import { planNameRules } from '../../src/relay/name-rule-plan.js';
import { decodeRawRecord, ingestRelabelOf } from '../../src/serialization/raw-record.js';
import type { SeriesInput } from '../helpers/remote-write-client.js';
import { bodyOf, bothRoutes, lengthDelimited, planOf, seriesSet } from './ingest-relabel-helpers.js';

const T0 = 1_700_000_000_000;

/** bench/lib/agents.ts's BENCH_RELABEL_RULES, as bench/relay sets them. */
const BENCH_RULES = [
  { source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' },
  { regex: 'team', action: 'labeldrop' },
  { target_label: 'relayed_by', replacement: 'agent' },
];

/** A small deterministic generator (xorshift32), so a failing case can be replayed by its seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}

/** Label names that are prefixes of each other, the bench's, and ones the rules target. */
const NAMES = ['a', 'ab', 'abc', 'cluster', 'job', 'relayed_by', 'team', 'zone', 'zz'];
const METRICS = ['http_requests_total', 'drop_me', 'keep_me', 'x'];
const VALUES = ['1', 'agent', 'api', 'eu', 'v-long-value-of-some-bytes', 'zöne'];

function randomSeries(r: ReturnType<typeof rng>, count: number): SeriesInput[] {
  return Array.from({ length: count }, (_, k) => {
    const labels: Record<string, string> = { __name__: r.pick(METRICS) };
    // One series in 8 has only __name__.
    if (!r.chance(0.125)) for (const n of NAMES) if (r.chance(0.4)) labels[n] = r.pick(VALUES);
    return { labels, samples: [[T0 + k, k]] };
  });
}

const NAME_REGEXES = ['team', 'a.*', 'ab|zone', 'zz', '__name__', 'relayed_by', 'cluster', 'nothing', '.*b.*'];
const FILTER_REGEXES = ['drop_.*', 'x', '', 'agent|api', '.*e.*', '1'];

/** A random rule set of the planned class (labeldrop/labelkeep, replace without sources, keep/drop on one label). */
function randomPlannedRules(r: ReturnType<typeof rng>): unknown[] {
  const rules: unknown[] = [];
  const n = 1 + r.int(5);
  for (let i = 0; i < n; i++) {
    switch (r.int(6)) {
      case 0:
        rules.push({ regex: r.pick(NAME_REGEXES), action: 'labeldrop' });
        break;
      case 1:
        rules.push({ regex: `__name__|${r.pick(NAME_REGEXES)}|${r.pick(NAME_REGEXES)}`, action: 'labelkeep' });
        break;
      case 2:
        // A constant (an empty replacement deletes the target; a target of __name__ replaces the name).
        rules.push({ target_label: r.pick([...NAMES, '__name__']), replacement: r.pick(['agent', '', 'x', 'eu']) });
        break;
      case 3:
        // Replaces with a regex: '' matching it or not, the target and value expanded from the match.
        rules.push(
          r.pick([
            { regex: 'x', target_label: 'zone', replacement: 'never' },
            { regex: '(.*)', target_label: '$1', replacement: 'invalid target' },
            { regex: '(?P<e>)', target_label: 'zz$e', replacement: 'named-$e-group' },
            { regex: '()', target_label: 'job', replacement: '$1' },
          ]),
        );
        break;
      default:
        rules.push({
          source_labels: [r.pick(['__name__', ...NAMES])],
          regex: r.pick(FILTER_REGEXES),
          action: r.pick(['keep', 'drop']),
        });
        break;
    }
  }
  return rules;
}

function randomExternal(r: ReturnType<typeof rng>): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.chance(0.5)) return out;
  for (const n of ['ab', 'cluster', 'team', 'zone']) if (r.chance(0.4)) out[n] = r.pick(['eu-west-1', 'ext', 'api']);
  return out;
}

describe('write relabel rules planned by label name in the relay scan', () => {
  for (const groups of [1, STORED_GROUPS, SHARD_PARTITIONS]) {
    it(`writes the cache route's record byte for byte under bench/relay's three rules, ${groups} group(s)`, () => {
      const series: SeriesInput[] = seriesSet(T0).map((s, k) => ({
        ...s,
        labels: {
          ...s.labels,
          ...(k % 2 === 0 ? { team: `t${k % 3}` } : {}),
          ...(k % 7 === 0 ? { relayed_by: k % 2 === 0 ? 'agent' : 'other' } : {}),
        },
      }));
      for (const external of [{}, { cluster: 'eu-west-1' }] as Record<string, string>[]) {
        const plan = planOf(BENCH_RULES, external);
        const { planned, cached, namePlanned, plannedStats, cachedStats } = bothRoutes(bodyOf(series), plan, groups);
        assert.equal(namePlanned, true);
        assert.equal(plannedStats.merged, 1, 'the scan planned the body');
        assert.equal(plannedStats.decisions, 0, 'no engine per series');
        assert.equal(cachedStats.merged, 0);
        assert.equal(cachedStats.decisions, series.length);
        assert.equal(planned.kind, 'record');
        assert.equal(cached.kind, 'record');
        if (planned.kind !== 'record' || cached.kind !== 'record') return;
        assert.deepEqual(planned.payload, cached.payload);
        assert.equal(planned.samples, cached.samples);
        const rec = decodeRawRecord(planned.payload);
        // drop_me is every 4th series (k % 4 === 1).
        assert.equal(ingestRelabelOf(rec)?.droppedHashes.length, 15);
        assert.equal(rec.seriesCount, 45);
      }
    });
  }

  it('writes the cache route record byte for byte for 300 random planned rule sets (1, 16, 64 groups)', () => {
    const r = rng(17);
    let planned = 0;
    for (let c = 0; c < 300; c++) {
      const yaml = randomPlannedRules(r);
      const external = randomExternal(r);
      const plan = planOf(yaml, external);
      const body = bodyOf(randomSeries(r, 40));
      const groups = [1, STORED_GROUPS, SHARD_PARTITIONS][c % 3];
      const got = bothRoutes(body, plan, groups);
      const what = `case ${c}: ${JSON.stringify({ yaml, external })}`;
      assert.equal(got.planned.kind, got.cached.kind, what);
      if (got.planned.kind === 'record' && got.cached.kind === 'record')
        assert.deepEqual(got.planned.payload, got.cached.payload, what);
      if (got.namePlanned) {
        planned++;
        assert.equal(got.plannedStats.decisions, 0, what);
        assert.equal(got.plannedStats.merged, got.plannedStats.bodies, what);
      }
    }
    // A planned rule set is left to the cache only when a filter drops every series.
    assert.ok(planned >= 250, `${planned} of 300 planned`);
  });

  it('plans the edge cases the brief names, each against the cache route', () => {
    const series: SeriesInput[] = [
      { labels: { __name__: 'm' }, samples: [[T0, 1]] },
      { labels: { __name__: 'drop_me', team: 'x' }, samples: [[T0, 2]] },
      { labels: { __name__: 'm', a: '1', ab: '2', abc: '3', relayed_by: 'agent' }, samples: [[T0, 3]] },
      { labels: { __name__: 'm', cluster: 'own', relayed_by: 'other', team: 't' }, samples: [[T0, 4]] },
      { labels: { __name__: 'n', team: 'api', zz: 'z' }, samples: [[T0, 5]] },
    ];
    const cases: { name: string; yaml: unknown[]; external?: Record<string, string> }[] = [
      {
        name: 'a constant then a labeldrop of it',
        yaml: [
          { target_label: 'team', replacement: 'c' },
          { regex: 'team', action: 'labeldrop' },
        ],
      },
      {
        name: 'a labeldrop then a constant of the same name',
        yaml: [
          { regex: 'team', action: 'labeldrop' },
          { target_label: 'team', replacement: 'c' },
        ],
      },
      { name: 'an empty constant deletes', yaml: [{ target_label: 'team', replacement: '' }] },
      { name: 'a constant __name__', yaml: [{ target_label: '__name__', replacement: 'renamed' }] },
      { name: 'an invalid target', yaml: [{ regex: '(.*)', target_label: '$1', replacement: 'v' }] },
      {
        name: 'keep on a label an earlier rule dropped',
        yaml: [
          { regex: 'team', action: 'labeldrop' },
          { source_labels: ['team'], regex: '', action: 'keep' },
        ],
      },
      {
        name: 'drop on a label an earlier rule set',
        yaml: [
          { target_label: 'team', replacement: 'c' },
          { source_labels: ['team'], regex: 'x', action: 'drop' },
        ],
      },
      {
        name: 'keep on a label absent from some series',
        yaml: [{ source_labels: ['team'], regex: 'api|x', action: 'keep' }],
      },
      {
        name: 'keep on an external label',
        yaml: [{ source_labels: ['cluster'], regex: 'eu', action: 'keep' }],
        external: { cluster: 'eu' },
      },
      {
        name: 'labelkeep of everything but __name__ (series with only __name__ stay)',
        yaml: [{ regex: '__name__', action: 'labelkeep' }],
      },
      {
        name: 'labeldrop of __name__ (a series with only __name__ has no label left: dropped)',
        yaml: [{ regex: '__name__', action: 'labeldrop' }],
      },
      {
        name: 'a series carrying the external and the target label',
        yaml: BENCH_RULES,
        external: { cluster: 'eu-west-1', relayed_by: 'ext' },
      },
      {
        name: 'external names that are prefixes',
        yaml: [{ regex: 'ab', action: 'labeldrop' }],
        external: { a: 'x', abc: 'y', ab: 'z' },
      },
    ];
    for (const c of cases) {
      const plan = planOf(c.yaml, c.external ?? {});
      for (const groups of [1, STORED_GROUPS]) {
        const got = bothRoutes(bodyOf(series), plan, groups);
        assert.equal(got.namePlanned, true, c.name);
        assert.equal(got.plannedStats.merged, 1, c.name);
        assert.equal(got.planned.kind, 'record', c.name);
        if (got.planned.kind !== 'record' || got.cached.kind !== 'record') throw new Error(c.name);
        assert.deepEqual(got.planned.payload, got.cached.payload, c.name);
      }
    }
  });

  it('leaves every rule set outside the class to the cache route', () => {
    const outside: unknown[][] = [
      [{ source_labels: ['job', 'k'], regex: 'api;1', action: 'keep' }],
      [{ source_labels: ['instance'], regex: '([^:]+):.*', target_label: 'host', replacement: '$1' }],
      [{ regex: 'resource\\.(.+)', replacement: 'res_$1', action: 'labelmap' }],
      [{ source_labels: ['k'], modulus: 3, target_label: 's', action: 'hashmod' }],
      [{ source_labels: ['job'], target_label: 'job', action: 'lowercase' }],
      [{ source_labels: ['job'], target_label: 'j', action: 'uppercase' }],
      [{ source_labels: ['job'], target_label: 'k', action: 'keepequal' }],
      [{ source_labels: ['job'], target_label: 'k', action: 'dropequal' }],
      // A filter on a constant that drops every series.
      [
        { target_label: 'team', replacement: 'c' },
        { source_labels: ['team'], regex: 'c', action: 'drop' },
      ],
      [{ regex: '.*', action: 'drop' }],
      [...BENCH_RULES, { source_labels: ['__name__', 'job'], regex: 'x;y', action: 'drop' }],
    ];
    const body = bodyOf(seriesSet(T0));
    for (const yaml of outside) {
      const plan = planOf(yaml);
      assert.equal(planNameRules(plan.rules, plan.scheme, plan.external), undefined, JSON.stringify(yaml));
      const got = bothRoutes(body, plan, STORED_GROUPS);
      assert.equal(got.namePlanned, false);
      assert.equal(got.plannedStats.merged, 0, JSON.stringify(yaml));
      assert.equal(got.plannedStats.decisions, 60, JSON.stringify(yaml));
      assert.equal(got.planned.kind, got.cached.kind);
      if (got.planned.kind === 'record' && got.cached.kind === 'record')
        assert.deepEqual(got.planned.payload, got.cached.payload);
    }
  });

  it('leaves to the cache route a body with a padded length varint in a changed series, more than 64 labels, or new labels over 64 KiB', () => {
    const plan = planOf(BENCH_RULES);
    const field = (n: string, v: string, pad: boolean) =>
      lengthDelimited(
        0x0a,
        Buffer.concat([lengthDelimited(0x0a, Buffer.from(n)), lengthDelimited(0x12, Buffer.from(v))]),
        pad,
      );
    const series = (fields: Buffer[], k: number) => {
      const sample = Buffer.alloc(9);
      sample[0] = 0x09;
      sample.writeDoubleLE(k, 1);
      return lengthDelimited(0x0a, Buffer.concat([...fields, lengthDelimited(0x12, sample)]));
    };
    const padded = Buffer.concat([
      series([field('__name__', 'm', false), field('job', 'a', false)], 1),
      series([field('__name__', 'm', false), field('job', 'b', true)], 2),
    ]);
    const manyLabels = bodyOf([
      {
        labels: Object.fromEntries([
          ['__name__', 'm'],
          ...Array.from({ length: 70 }, (_, i) => [`l${String(i).padStart(2, '0')}`, 'v']),
        ]),
        samples: [[T0, 1]],
      },
    ]);
    const big = bodyOf([{ labels: { __name__: 'm', big: 'x'.repeat(65_520) }, samples: [[T0, 1]] }]);
    for (const [name, body, marked] of [
      ['padded', padded, true],
      ['more than 64 labels', manyLabels, true],
      ['over 64 KiB', big, false],
    ] as const) {
      const got = bothRoutes(body, plan, STORED_GROUPS);
      assert.equal(got.namePlanned, true, name);
      assert.equal(got.plannedStats.merged, 0, `${name}: left to the cache route`);
      assert.ok(got.plannedStats.decisions > 0, name);
      assert.equal(got.planned.kind, 'record', name);
      if (got.planned.kind !== 'record' || got.cached.kind !== 'record') throw new Error(name);
      assert.deepEqual(got.planned.payload, got.cached.payload, name);
      assert.equal(ingestRelabelOf(decodeRawRecord(got.planned.payload)) !== undefined, marked, name);
    }
  });
});
