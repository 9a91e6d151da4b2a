import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { SHARD_PARTITIONS, STORED_GROUPS } from '../../src/network/partition.js';
import { createManagedQueue } from '../../src/queue.js';
import { wideGroupsBacklog } from '../../src/relay/relay-route.js';
import { encodeRecord } from '../../src/serialization/record-codec.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { buildRecord } from '../network/record-builder.js';
import { tempDataDir } from './queue-helpers.js';

/** A daemon config with one endpoint per entry of `shards` (min = max; an entry `[n, ageLimit]` sets sample_age_limit too). */
function config(
  dir: string,
  shards: (number | [number, string])[],
  extra = '',
): ReturnType<typeof parseConfig>['config'] {
  const endpoints = shards
    .map((s, i) => {
      const [n, age] = Array.isArray(s) ? s : [s, '0s'];
      return `  - name: ep${i}
    url: http://127.0.0.1:1/api/v1/write
    queue_config: { min_shards: ${n}, max_shards: ${n}, sample_age_limit: ${age} }
`;
    })
    .join('');
  const { config: c, errors } = parseConfig(
    `storage:\n  path: ${dir}\n  fsync: never\n${extra}remote_write:\n${endpoints}`,
  );
  assert.ok(c, JSON.stringify(errors));
  return c;
}

describe('ManagedQueue.rawRecordGroups', () => {
  it('is one group per partition while an endpoint that may run more than 16 loops has a backlog beyond wideGroupsBacklog', async () => {
    const dir = await tempDataDir('groups-wide');
    const { config: c, errors } = parseConfig(
      `storage:\n  path: ${dir.path}\n  fsync: never\nremote_write:\n  - name: ep\n    url: http://127.0.0.1:1/api/v1/write\n`,
    );
    assert.ok(c, JSON.stringify(errors));
    const clock = new SimulatedClock(Date.now());
    const q = await createManagedQueue(c, { clock });
    try {
      assert.equal(q.rawRecordGroups, STORED_GROUPS, 'max_shards 50 by default, nothing pending');
      const limit = wideGroupsBacklog(c.remoteWrite[0]!.queue.maxSamplesPerSend);
      // One record counted as more samples than the limit: pending, as nothing listens at port 1.
      const rec = buildRecord([{ labels: { __name__: 'm' }, hash: 1, samples: [[clock.now(), 1]] }]);
      await q.appendRecord(encodeRecord(rec), limit + 1);
      assert.equal(q.stats().endpoints[0]?.pendingSamples, limit + 1);
      clock.advance(999);
      assert.equal(q.rawRecordGroups, STORED_GROUPS, 'backlogs are read at most once a second');
      clock.advance(1);
      assert.equal(q.rawRecordGroups, SHARD_PARTITIONS, 'behind');
    } finally {
      await q.stop();
      await dir.remove();
    }
  });

  it('is one group per stored group when an endpoint that sends stored bytes may run several loops, else 1', async () => {
    const cases: { shards: (number | [number, string])[]; extra?: string; groups: number; why: string }[] = [
      { shards: [1], groups: 1, why: 'one loop that cannot grow: the body as received' },
      { shards: [4], groups: STORED_GROUPS, why: 'one endpoint of 4 loops' },
      { shards: [1, 3], groups: STORED_GROUPS, why: 'one endpoint of several loops is enough' },
      { shards: [[3, '10m'], 1], groups: 1, why: 'an age-cut endpoint re-encodes anyway' },
      {
        shards: [4],
        extra: 'global:\n  external_labels: { cluster: c1 }\n',
        groups: STORED_GROUPS,
        why: 'external labels are merged at ingest: the groups go out as stored',
      },
    ];
    for (const c of cases) {
      const dir = await tempDataDir('groups');
      const q = await createManagedQueue(
        config(dir.path, c.shards, c.extra ?? '') as NonNullable<ReturnType<typeof parseConfig>['config']>,
      );
      try {
        assert.equal(q.rawRecordGroups, c.groups, c.why);
      } finally {
        await q.stop();
        await dir.remove();
      }
    }
  });
});
