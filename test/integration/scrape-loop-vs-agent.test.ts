// Where the semantics could be in doubt, promspool's scrape loop and Debian's Prometheus in agent
// mode scrape the same target (exposed labels conflicting with the target's, `exported_` chains,
// empty label values, a duplicate series, an OpenMetrics-free text body) and each remote-writes to
// its own real Prometheus: both must store the same series with the same values, report series
// included (scrape_duration_seconds aside, whose value is a measurement), and the same staleness
// when a series disappears and when the target starts failing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createQueue } from '../../src/queue.js';
import { createScrapeClient } from '../../src/scrape/scrape-client.js';
import { startScrapeLoop } from '../../src/scrape/scrape-loop.js';
import { fastOptions, tempDataDir } from '../queue/queue-helpers.js';
import { loopConfig, loopTarget, TestTarget } from '../scrape/loop-helpers.js';
import { receiversSkipReason } from './harness/binaries.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { waitUntil } from './harness/wait.js';

const skip = receiversSkipReason('prometheus');

const BODY = [
  '# HELP cmp_a A gauge.',
  '# TYPE cmp_a gauge',
  'cmp_a{job="exposed",exported_job="taken"} 1',
  'cmp_a{instance="exposed-instance"} 2',
  'cmp_b{empty=""} 3',
  'cmp_dup{x="1"} 4',
  'cmp_dup{x="1"} 5',
  'cmp_c{b="2",a="1"} 6',
  '',
].join('\n');

describe('promspool scrape loop vs Prometheus agent on the same target', { skip }, () => {
  let viaAgent: PrometheusInstance;
  let viaLoop: PrometheusInstance;
  let agent: PrometheusInstance;
  let server: TestTarget;

  before(async () => {
    server = await TestTarget.start();
    server.serve(BODY);
    viaAgent = await startPrometheus();
    viaLoop = await startPrometheus();
    const host = new URL(server.url).host;
    agent = await startPrometheus({
      agent: true,
      scrapeInterval: '1s',
      remoteWriteUrl: viaAgent.writeUrl,
      scrapeConfigs: [{ job_name: 'cmp', static_configs: [{ targets: [host] }] }],
    });
  });

  after(async () => {
    await agent?.stop();
    await viaAgent?.stop();
    await viaLoop?.stop();
    await server?.close();
  });

  it('stores the same series and values', async () => {
    const dir = await tempDataDir('scrape-vs-agent');
    const queue = await createQueue(fastOptions(dir.path, viaLoop.writeUrl, { name: 'prom' }));
    const host = new URL(server.url).host;
    const config = loopConfig({ jobName: 'cmp', scrapeIntervalMs: 1000, scrapeTimeoutMs: 1000 });
    const target = loopTarget(server.url, {
      labels: { job: 'cmp', instance: host },
      intervalMs: 1000,
      timeoutMs: 1000,
    });
    const client = createScrapeClient(config);
    const loop = startScrapeLoop({ target, config, client, sink: queue });
    const stored = async (prom: PrometheusInstance) =>
      (await prom.query('{job="cmp", __name__!="scrape_duration_seconds"}'))
        .map((s) => `${JSON.stringify(Object.entries(s.metric).sort())} ${s.samples[0]?.value}`)
        .sort();
    try {
      // Past the first scrape (scrape_series_added 0 then), so both show a steady scrape.
      const steady = (lines: string[]) =>
        lines.length === 9 && lines.some((l) => l.includes('"scrape_series_added"') && l.endsWith(' 0'));
      const fromAgent = await waitUntil(() => stored(viaAgent), {
        until: steady,
        timeoutMs: 60_000,
        intervalMs: 500,
        description: 'the agent scraped twice and delivered',
      });
      const fromLoop = await waitUntil(() => stored(viaLoop), {
        until: steady,
        timeoutMs: 60_000,
        intervalMs: 500,
        description: 'the loop scraped twice and delivered',
      });
      assert.deepEqual(fromLoop, fromAgent);
      // What both agreed on, spelled out.
      assert.ok(
        fromLoop.includes(
          `${JSON.stringify(
            Object.entries({
              __name__: 'cmp_a',
              exported_exported_job: 'exposed',
              exported_job: 'taken',
              instance: host,
              job: 'cmp',
            }).sort(),
          )} 1`,
        ),
        fromLoop.join('\n'),
      );

      // A series that disappears is marked stale by both (gone from an instant query at once).
      server.serve(BODY.replace('cmp_c{b="2",a="1"} 6\n', ''));
      const withoutC = (lines: string[]) =>
        lines.length === 8 &&
        !lines.some((l) => l.includes('"cmp_c"')) &&
        lines.some((l) => l.endsWith(`"scrape_samples_scraped"],["instance","${host}"],["job","cmp"]] 5`));
      const agentAfter = await waitUntil(() => stored(viaAgent), {
        until: withoutC,
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      assert.deepEqual(
        await waitUntil(() => stored(viaLoop), { until: withoutC, timeoutMs: 60_000, intervalMs: 500 }),
        agentAfter,
      );

      // A failing target: up 0, and every series it had is stale, in both.
      server.handler = (_req, res) => {
        res.statusCode = 500;
        res.end();
      };
      const failed = (lines: string[]) =>
        lines.length === 4 && lines.some((l) => l.includes('"up"') && l.endsWith(' 0'));
      const agentFailed = await waitUntil(() => stored(viaAgent), {
        until: failed,
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      assert.deepEqual(
        await waitUntil(() => stored(viaLoop), { until: failed, timeoutMs: 60_000, intervalMs: 500 }),
        agentFailed,
      );
    } finally {
      await loop.stop({ staleMarkers: false });
      await client.close();
      await queue.stop();
      await dir.remove();
    }
  });
});
