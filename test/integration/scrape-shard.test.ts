// Two promspool processes sharing the targets of one config by --scrape.shard-count, the way the
// StatefulSet in docs/deploy/kubernetes runs them: one given --scrape.shard-index, the other
// taking its index from the hostname (a pod named promspool-1). Every target is active on exactly
// one of them, as /api/v1/targets of each shows. The targets need not answer: what is checked is
// which process owns which target, and the shard label never reaches a target's labels.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { TargetsJson } from '../../src/daemon/targets-api.js';
import { hashMod } from '../../src/relabel/hashmod.js';
import { type CliProcess, makeTempDir, spawnCli, type TempDir } from './daemon-helpers.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';

const TARGETS = Array.from({ length: 20 }, (_, i) => `127.0.0.1:${30001 + i}`);

function configYaml(port: number, dataDir: string): string {
  return `server:
  listen_address: 127.0.0.1:${port}
  shutdown_timeout: 2s
storage:
  path: ${JSON.stringify(dataDir)}
self_monitoring:
  enabled: false
global:
  scrape_interval: 1m
scrape_configs:
  - job_name: nodes
    static_configs:
      - targets: ${JSON.stringify(TARGETS)}
remote_write:
  - url: http://127.0.0.1:1/api/v1/write
`;
}

/** Starts the CLI with `args` and `env` overrides; resolves once it logged `listening`. */
async function startShard(dir: string, name: string, args: string[], env: Record<string, string>) {
  const port = await freePort();
  const configPath = join(dir, `${name}.yaml`);
  writeFileSync(configPath, configYaml(port, join(dir, name)));
  // spawnCli passes this process' environment on: set the pod's HOSTNAME only around the spawn.
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let p: CliProcess;
  try {
    p = spawnCli(['--config', configPath, '--log.format', 'json', ...args], dir);
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  await p.waitForLog('listening', 20_000);
  return { p, url: `http://127.0.0.1:${port}` };
}

async function activeAddresses(url: string): Promise<string[]> {
  const body = JSON.parse((await httpRequest(`${url}/api/v1/targets`)).body.toString()) as TargetsJson;
  for (const t of body.data.activeTargets) {
    assert.equal(
      Object.keys(t.labels).some((k) => k.startsWith('__')),
      false,
    );
  }
  return body.data.activeTargets.map((t) => t.labels.instance).sort();
}

describe('two replicas splitting the targets with --scrape.shard-count', () => {
  let dir: TempDir;
  const procs: CliProcess[] = [];

  after(async () => {
    for (const p of procs) {
      p.signal('SIGTERM');
      await p.exited;
    }
    dir?.remove();
  });

  it('each target is scraped by exactly one replica: the one whose index is hashmod(address, 2)', async () => {
    dir = makeTempDir('scrape-shard');
    const zero = await startShard(dir.path, 'zero', ['--scrape.shard-count', '2', '--scrape.shard-index', '0'], {});
    procs.push(zero.p);
    const one = await startShard(dir.path, 'one', ['--scrape.shard-count=2'], { HOSTNAME: 'promspool-1' });
    procs.push(one.p);
    const a = await activeAddresses(zero.url);
    const b = await activeAddresses(one.url);
    assert.deepEqual([...a, ...b].sort(), [...TARGETS].sort(), 'every target on one replica');
    assert.deepEqual(
      a.filter((x) => b.includes(x)),
      [],
      'no target on both',
    );
    assert.ok(a.length > 0 && b.length > 0, `split ${a.length}/${b.length}`);
    for (const x of a) assert.equal(hashMod(x, 2n), '0');
    for (const x of b) assert.equal(hashMod(x, 2n), '1');
    const dropped = JSON.parse(
      (await httpRequest(`${zero.url}/api/v1/targets?state=dropped`)).body.toString(),
    ) as TargetsJson;
    assert.equal(dropped.data.droppedTargetCounts.nodes, b.length, "the other replica's targets are dropped here");
  });
});
