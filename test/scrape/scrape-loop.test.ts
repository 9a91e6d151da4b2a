import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ScrapeConfig } from '../../src/config/types.js';
import type { ScrapeTarget } from '../../src/scrape/loop-types.js';
import { createScrapeClient } from '../../src/scrape/scrape-client.js';
import { type RunningScrapeLoop, scrapeOffsetMs, startScrapeLoop, targetHash } from '../../src/scrape/scrape-loop.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { loopConfig, loopTarget, RecordingSink, TestTarget } from './loop-helpers.js';
import { encodeFamilies } from './protobuf-fixtures.js';

const T0 = 1_700_000_000_000;

interface Harness {
  clock: SimulatedClock;
  sink: RecordingSink;
  loop: RunningScrapeLoop;
  target: ScrapeTarget;
  /** Fires the next scrape and waits for its commit; returns its timestamp. */
  scrape(): Promise<number>;
  stop(staleMarkers?: boolean): Promise<void>;
}

function harness(
  server: TestTarget,
  over: Partial<ScrapeConfig> = {},
  targetOver: Partial<ScrapeTarget> = {},
): Harness {
  const clock = new SimulatedClock(T0);
  const config = loopConfig(over);
  const target = loopTarget(server.url, targetOver);
  const sink = new RecordingSink();
  const client = createScrapeClient(config, { clock });
  const loop = startScrapeLoop({ target, config, client, sink, clock });
  return {
    clock,
    sink,
    loop,
    target,
    async scrape() {
      const at = clock.nextDeadline();
      assert.ok(at !== undefined, 'a scrape is scheduled');
      clock.advance(at - clock.now());
      await loop.idle();
      return at;
    },
    async stop(staleMarkers = false) {
      await loop.stop({ staleMarkers });
      await client.close();
    },
  };
}

const up = (v: number, t: number, scraped: number, post = scraped, added = 0) => [
  `up{instance="t1",job="job1"} ${t} ${v}`,
  `scrape_duration_seconds{instance="t1",job="job1"} ${t} 0`,
  `scrape_samples_scraped{instance="t1",job="job1"} ${t} ${scraped}`,
  `scrape_samples_post_metric_relabeling{instance="t1",job="job1"} ${t} ${post}`,
  `scrape_series_added{instance="t1",job="job1"} ${t} ${added}`,
];

describe('scrape loop', () => {
  let server: TestTarget;
  before(async () => {
    server = await TestTarget.start();
  });
  after(async () => {
    await server.close();
  });

  it('scrapes at the stable offset of the target within the interval', async () => {
    server.serve('a 1\n');
    const h = harness(server);
    const expected = T0 + scrapeOffsetMs(targetHash(h.target), 0n, 15_000, T0);
    assert.equal(h.clock.nextDeadline(), expected);
    assert.equal(await h.scrape(), expected);
    assert.equal(await h.scrape(), expected + 15_000);
    await h.stop();
  });

  it('appends the series with target labels, metadata and the report series; stale markers when a series goes', async () => {
    server.serve('# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1"} 5\na_total{x="2"} 6\nb 7\n');
    const h = harness(server);
    const t1 = await h.scrape();
    assert.deepEqual(h.sink.lines(0), [
      `a_total{instance="t1",job="job1",x="1"} ${t1} 5`,
      `a_total{instance="t1",job="job1",x="2"} ${t1} 6`,
      `b{instance="t1",job="job1"} ${t1} 7`,
      ...up(1, t1, 3, 3, 3),
    ]);
    assert.deepEqual(h.sink.commits[0].metadata[0], {
      family: 'a_total',
      meta: { type: 'counter', help: 'Things.', unit: '' },
    });
    assert.deepEqual(
      h.sink.commits[0].metadata.slice(1).map((m) => m.family),
      [
        'up',
        'scrape_duration_seconds',
        'scrape_samples_scraped',
        'scrape_samples_post_metric_relabeling',
        'scrape_series_added',
      ],
    );
    server.serve('# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1"} 8\n');
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1), [
      `a_total{instance="t1",job="job1",x="1"} ${t2} 8`,
      `a_total{instance="t1",job="job1",x="2"} ${t2} stale`,
      `b{instance="t1",job="job1"} ${t2} stale`,
      ...up(1, t2, 1, 1, 0),
    ]);
    assert.deepEqual(h.sink.commits[1].metadata, [], 'unchanged metadata is not passed again');
    assert.equal(h.sink.seriesCalls, 3 + 5, 'cached series are not resolved again');
    assert.deepEqual(h.loop.status(), {
      health: 'up',
      lastError: '',
      lastScrapeMs: t2,
      lastScrapeDurationMs: 0,
      lastSamples: 1,
    });
    await h.stop();
  });

  it('honor_labels: false renames conflicting exposed labels to exported_*, true keeps them', async () => {
    server.serve('a{job="x",exported_job="y",instance=""} 1\n');
    let h = harness(server);
    let t = await h.scrape();
    assert.equal(h.sink.lines(0)[0], `a{exported_exported_job="x",exported_job="y",instance="t1",job="job1"} ${t} 1`);
    await h.stop();
    h = harness(server, { honorLabels: true });
    t = await h.scrape();
    // An exposed empty label counts as present with honor_labels (Prometheus' lset.Has), then is removed.
    assert.equal(h.sink.lines(0)[0], `a{exported_job="y",job="x"} ${t} 1`);
    await h.stop();
  });

  it('honor_timestamps uses the exposed timestamp and does not mark such series stale', async () => {
    server.serve('a 1 1000\nb 2\n');
    let h = harness(server);
    await h.scrape();
    assert.deepEqual(h.sink.lines(0).slice(0, 2), [
      'a{instance="t1",job="job1"} 1000 1',
      `b{instance="t1",job="job1"} ${h.clock.now()} 2`,
    ]);
    server.serve('c 3\n');
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1).slice(0, 2), [
      `c{instance="t1",job="job1"} ${t2} 3`,
      `b{instance="t1",job="job1"} ${t2} stale`,
    ]);
    await h.stop();
    server.serve('a 1 1000\n');
    h = harness(server, { honorTimestamps: false });
    const t = await h.scrape();
    assert.equal(h.sink.lines(0)[0], `a{instance="t1",job="job1"} ${t} 1`);
    await h.stop();
  });

  it('track_timestamps_staleness marks series with explicit timestamps stale too', async () => {
    server.serve('a 1 1000\n');
    const h = harness(server, { trackTimestampsStaleness: true });
    await h.scrape();
    server.serve('b 1\n');
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1).slice(0, 2), [
      `b{instance="t1",job="job1"} ${t2} 1`,
      `a{instance="t1",job="job1"} ${t2} stale`,
    ]);
    await h.stop();
  });

  it('a repeated explicit timestamp is out of order and not sent again', async () => {
    server.serve('a 1 1000\n');
    const h = harness(server);
    await h.scrape();
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1), up(1, t2, 1, 1, 0));
    assert.equal(h.loop.stats().outOfOrder, 1);
    await h.stop();
  });

  it('a duplicate series within a scrape keeps the first sample', async () => {
    server.serve('a 1\na 2\nb{x="1"} 3\nb{x="1"} 4\n');
    const h = harness(server);
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), [
      `a{instance="t1",job="job1"} ${t} 1`,
      `b{instance="t1",job="job1",x="1"} ${t} 3`,
      ...up(1, t, 4, 4, 2),
    ]);
    assert.equal(h.loop.stats().duplicates, 2);
    await h.stop();
  });

  it('a failed scrape appends up 0 and stale markers for the last series; the next success starts over', async () => {
    server.serve('a 1\n');
    const h = harness(server);
    await h.scrape();
    server.handler = (_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    };
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1), [`a{instance="t1",job="job1"} ${t2} stale`, ...up(0, t2, 0)]);
    assert.equal(h.loop.status().health, 'down');
    assert.equal(h.loop.status().lastError, 'server returned HTTP status 500 Internal Server Error');
    const t3 = await h.scrape();
    assert.deepEqual(h.sink.lines(2), up(0, t3, 0), 'no second stale marker');
    server.serve('a 2\n');
    const t4 = await h.scrape();
    assert.deepEqual(h.sink.lines(3), [`a{instance="t1",job="job1"} ${t4} 2`, ...up(1, t4, 1, 1, 0)]);
    assert.deepEqual(h.loop.stats().failures, { http_status: 2 });
    await h.stop();
  });

  it('an unparseable body: up 0 and nothing of the body', async () => {
    server.serve('a 1\n');
    const h = harness(server);
    await h.scrape();
    server.serve('a 1\nb{ 2\n');
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1), [`a{instance="t1",job="job1"} ${t2} stale`, ...up(0, t2, 1, 1, 0)]);
    assert.match(h.loop.status().lastError, /^text format line 2, column \d+: /);
    assert.deepEqual(h.loop.stats().failures, { parse: 1 });
    await h.stop();
  });

  it("invalid UTF-8 and a NaN timestamp fail the scrape with the parser's position", async () => {
    server.handler = (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(Buffer.concat([Buffer.from('a 1\nb{x="'), Buffer.from([0xff, 0xfe]), Buffer.from('"} 2\n')]));
    };
    let h = harness(server);
    let t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 0));
    assert.equal(h.loop.status().lastError, 'text format line 2, column 6: invalid UTF-8');
    await h.stop();
    server.serve('a 1 NaN\n');
    h = harness(server);
    t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 0));
    assert.match(h.loop.status().lastError, /^text format line 1, column \d+: /);
    await h.stop();
  });

  it('an empty body is a successful scrape without series', async () => {
    server.serve('a 1\n');
    const h = harness(server);
    await h.scrape();
    server.serve('');
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1), [`a{instance="t1",job="job1"} ${t2} stale`, ...up(1, t2, 0)]);
    await h.stop();
  });

  it('sample_limit fails the scrape after counting every sample', async () => {
    server.serve('a 1\nb 2\nc 3\n');
    const h = harness(server, { sampleLimit: 2 });
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 3, 3, 2));
    assert.equal(h.loop.status().lastError, 'sample limit exceeded (limit: 2, samples: 3)');
    server.serve('a 1\nb 2\n');
    const t2 = await h.scrape();
    assert.deepEqual(h.sink.lines(1).slice(0, 2), [
      `a{instance="t1",job="job1"} ${t2} 1`,
      `b{instance="t1",job="job1"} ${t2} 2`,
    ]);
    await h.stop();
  });

  it('a body of many series gives the event loop back while it is appended', async () => {
    const n = 200_000;
    let body = '';
    for (let i = 0; i < n; i++) body += `s{i="${i}"} 1\n`;
    server.serve(body);
    const h = harness(server);
    // Counts turns of the event loop; each new series records the count it was resolved at.
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    spin();
    const seen: number[] = [];
    const resolve = h.sink.series.bind(h.sink);
    h.sink.series = (labels) => {
      seen.push(turns);
      return resolve(labels);
    };
    await h.scrape();
    spinning = false;
    assert.equal(seen.length, n);
    assert.ok(seen[n - 1] > seen[0], `the event loop turned while appending (${seen[n - 1] - seen[0]} turns)`);
    await h.stop();
  });

  it('past sample_limit, new series are counted without being resolved in the queue', async () => {
    server.serve('a 1\nb 2\nc 3\nd{x="1"} 4\nd{x="2"} 5\n');
    const h = harness(server, { sampleLimit: 2 });
    const before = h.sink.seriesCalls;
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 5, 5, 2));
    assert.equal(h.loop.status().lastError, 'sample limit exceeded (limit: 2, samples: 5)');
    assert.equal(h.sink.seriesCalls - before, 2, 'only the two appended series were resolved');
    await h.stop();
  });

  it('past sample_limit, a label limit is still checked on every new series (as Prometheus does)', async () => {
    server.serve('a 1\nb 2\nc{x="1",y="2",z="3"} 3\n');
    const h = harness(server, { sampleLimit: 2, labelLimit: 3 });
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 3, 2, 2));
    assert.equal(h.loop.status().lastError, 'label_limit exceeded (metric: c, number of labels: 6, limit: 3)');
    await h.stop();
  });

  it('metric relabeling drops series before the sample limit counts them', async () => {
    server.serve('a 1\nb 2\nc 3\n');
    const h = harness(server, {
      sampleLimit: 2,
      metricRelabelConfigs: [
        {
          sourceLabels: ['__name__'],
          separator: ';',
          regex: 'b',
          modulus: 0n,
          targetLabel: '',
          replacement: '$1',
          action: 'drop',
        },
      ],
    });
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), [
      `a{instance="t1",job="job1"} ${t} 1`,
      `c{instance="t1",job="job1"} ${t} 3`,
      ...up(1, t, 3, 2, 2),
    ]);
    await h.stop();
  });

  for (const [name, over, body, message] of [
    [
      'label_limit',
      { labelLimit: 3 },
      'a{x="1",y="2"} 1\n',
      'label_limit exceeded (metric: a, number of labels: 5, limit: 3)',
    ],
    [
      'label_name_length_limit',
      { labelNameLengthLimit: 8 },
      'a{longname1="1"} 1\n',
      'label_name_length_limit exceeded (metric: a, label name: longname1, length: 9, limit: 8)',
    ],
    [
      'label_value_length_limit',
      // Target labels count too (job="job1" is 4 bytes); lengths are in bytes.
      { labelValueLengthLimit: 4 },
      'a{x="é123"} 1\n',
      'label_value_length_limit exceeded (metric: a, label name: x, value: "é123", length: 5, limit: 4)',
    ],
  ] as const) {
    it(`${name} fails the scrape with Prometheus' message`, async () => {
      server.serve(body);
      const h = harness(server, over);
      const t = await h.scrape();
      assert.deepEqual(h.sink.lines(0), up(0, t, 1, 0, 0));
      assert.equal(h.loop.status().lastError, message);
      assert.deepEqual(h.loop.stats().failures, { [name]: 1 });
      await h.stop();
    });
  }

  it('OpenMetrics: exemplars and units', async () => {
    server.serve(
      '# TYPE foo_seconds counter\n# UNIT foo_seconds seconds\nfoo_seconds_total 17 # {trace_id="abc"} 1.5 1.25\n# EOF\n',
      'application/openmetrics-text; version=1.0.0',
    );
    const h = harness(server);
    const t = await h.scrape();
    assert.equal(h.sink.lines(0)[0], `foo_seconds_total{instance="t1",job="job1"} ${t} 17`);
    assert.deepEqual(h.sink.commits[0].exemplars, [
      { series: 'foo_seconds_total{instance="t1",job="job1"}', labels: { trace_id: 'abc' }, value: 1.5, t: 1250 },
    ]);
    assert.deepEqual(h.sink.commits[0].metadata[0], {
      family: 'foo_seconds',
      meta: { type: 'counter', help: '', unit: 'seconds' },
    });
    await h.stop();
  });

  it('stop with stale markers marks the last series and the report series stale', async () => {
    server.serve('a 1\n');
    const h = harness(server);
    const t = await h.scrape();
    h.clock.advance(1000);
    await h.stop(true);
    assert.deepEqual(h.sink.lines(1), [
      `a{instance="t1",job="job1"} ${t + 1000} stale`,
      `up{instance="t1",job="job1"} ${t + 1000} stale`,
      `scrape_duration_seconds{instance="t1",job="job1"} ${t + 1000} stale`,
      `scrape_samples_scraped{instance="t1",job="job1"} ${t + 1000} stale`,
      `scrape_samples_post_metric_relabeling{instance="t1",job="job1"} ${t + 1000} stale`,
      `scrape_series_added{instance="t1",job="job1"} ${t + 1000} stale`,
    ]);
    assert.equal(h.clock.pending, 0, 'no timer left');
  });

  it('a replacement loop takes the hand-over: no stale markers, no new series, no label parse', async () => {
    server.serve('a 1\nb 2\n');
    const h = harness(server);
    await h.scrape();
    const handoff = await h.loop.stop({ staleMarkers: false });
    assert.equal(h.sink.commits.length, 1);
    const config = loopConfig();
    const client = createScrapeClient(config, { clock: h.clock });
    const loop = startScrapeLoop({ target: h.target, config, client, sink: h.sink, clock: h.clock, handoff });
    server.serve('a 3\n');
    const at = h.clock.nextDeadline()!;
    h.clock.advance(at - h.clock.now());
    await loop.idle();
    assert.deepEqual(h.sink.lines(1), [
      `a{instance="t1",job="job1"} ${at} 3`,
      `b{instance="t1",job="job1"} ${at} stale`,
      ...up(1, at, 1, 1, 0),
    ]);
    await loop.stop({ staleMarkers: false });
    await client.close();
  });

  it('a hand-over with other metric relabeling marks only series that are gone stale', async () => {
    server.serve('a 1\nb 2\n');
    const h = harness(server);
    await h.scrape();
    const handoff = await h.loop.stop({ staleMarkers: false });
    const config = loopConfig({
      metricRelabelConfigs: [
        {
          sourceLabels: ['__name__'],
          separator: ';',
          regex: 'b',
          modulus: 0n,
          targetLabel: '',
          replacement: '$1',
          action: 'drop',
        },
      ],
    });
    const client = createScrapeClient(config, { clock: h.clock });
    const loop = startScrapeLoop({ target: h.target, config, client, sink: h.sink, clock: h.clock, handoff });
    const at = h.clock.nextDeadline()!;
    h.clock.advance(at - h.clock.now());
    await loop.idle();
    assert.deepEqual(h.sink.lines(1), [
      `a{instance="t1",job="job1"} ${at} 1`,
      `b{instance="t1",job="job1"} ${at} stale`,
      ...up(1, at, 2, 1, 1),
    ]);
    await loop.stop({ staleMarkers: false });
    await client.close();
  });

  it('a failed commit loses that scrape only; metadata is passed again', async () => {
    server.serve('# TYPE a gauge\na 1\n');
    const h = harness(server);
    h.sink.failCommits = true;
    await h.scrape();
    assert.equal(h.loop.stats().commitFailures, 1);
    h.sink.failCommits = false;
    await h.scrape();
    assert.deepEqual(
      h.sink.commits[0].metadata.map((m) => m.family),
      [
        'a',
        'up',
        'scrape_duration_seconds',
        'scrape_samples_scraped',
        'scrape_samples_post_metric_relabeling',
        'scrape_series_added',
      ],
    );
    await h.stop();
  });

  it('a target that hangs fails the scrape at the timeout, with the duration reported', async () => {
    server.serve('a 1\n');
    const h = harness(server, {}, { timeoutMs: 10_000 });
    await h.scrape();
    server.handler = () => {};
    const at = h.clock.nextDeadline()!;
    h.clock.advance(at - h.clock.now());
    await h.clock.settle(10);
    assert.equal(h.sink.commits.length, 1, 'nothing before the timeout');
    h.clock.advance(10_000);
    await h.loop.idle();
    const ui = 't1';
    assert.deepEqual(h.sink.lines(1), [
      `a{instance="${ui}",job="job1"} ${at} stale`,
      `up{instance="${ui}",job="job1"} ${at} 0`,
      `scrape_duration_seconds{instance="${ui}",job="job1"} ${at} 10`,
      `scrape_samples_scraped{instance="${ui}",job="job1"} ${at} 0`,
      `scrape_samples_post_metric_relabeling{instance="${ui}",job="job1"} ${at} 0`,
      `scrape_series_added{instance="${ui}",job="job1"} ${at} 0`,
    ]);
    assert.equal(h.loop.status().lastError, `Get "${server.url}": context deadline exceeded (timeout 10000ms)`);
    assert.equal(h.clock.nextDeadline(), at + 15_000, 'the next scrape keeps the phase');
    await h.stop();
  });

  it('a body over body_size_limit fails the scrape', async () => {
    server.serve('a 1\nb 2\n');
    const h = harness(server, { bodySizeLimitBytes: 5 });
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 0));
    assert.equal(h.loop.status().lastError, 'body size limit exceeded (limit: 5 bytes)');
    assert.equal(h.loop.stats().lastBodyBytes, -1);
    await h.stop();
  });

  it('a missing metric name after relabeling fails the scrape', async () => {
    server.serve('a 1\n');
    const h = harness(server, {
      metricRelabelConfigs: [
        {
          sourceLabels: [],
          separator: ';',
          regex: '__name__',
          modulus: 0n,
          targetLabel: '',
          replacement: '$1',
          action: 'labeldrop',
        },
      ],
    });
    const t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 1, 0, 0));
    assert.equal(h.loop.status().lastError, 'missing metric name (__name__ label)');
    await h.stop();
  });

  it('an unknown Content-Type fails without fallback_scrape_protocol and parses with it', async () => {
    server.serve('a 1\n', 'application/json');
    let h = harness(server);
    let t = await h.scrape();
    assert.deepEqual(h.sink.lines(0), up(0, t, 0));
    assert.equal(h.loop.stats().failures.content_type, 1);
    await h.stop();
    h = harness(server, { fallbackProtocol: 'PrometheusText0.0.4' });
    t = await h.scrape();
    assert.equal(h.sink.lines(0)[0], `a{instance="t1",job="job1"} ${t} 1`);
    await h.stop();
  });

  it('the protobuf format: a native histogram goes to appendHistogram; native_histogram_bucket_limit lowers the resolution or fails the scrape', async () => {
    const body = encodeFamilies([
      'name: "h" help: "H." type: HISTOGRAM metric: < histogram: < sample_count: 3 sample_sum: 1.5 schema: 0 zero_threshold: 0.001 zero_count: 0 positive_span: < offset: 0 length: 2 > positive_delta: 1 positive_delta: 1 > >',
    ]);
    const proto = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
    server.handler = (_req, res) => {
      res.setHeader('content-type', proto);
      res.end(body);
    };
    let h = harness(server, { scrapeNativeHistograms: true, scrapeProtocols: ['PrometheusProto'] });
    let t = await h.scrape();
    assert.deepEqual(
      h.sink.commits[0].histograms.map((x) => [x.series, x.t, x.h.count, x.h.sum, x.h.positiveDeltas]),
      [['h{instance="t1",job="job1"}', t, 3, 1.5, [1, 1]]],
    );
    assert.deepEqual(h.sink.lines(0), up(1, t, 1, 1, 1));
    assert.deepEqual(h.sink.commits[0].metadata[0], { family: 'h', meta: { type: 'histogram', help: 'H.', unit: '' } });
    await h.stop();
    h = harness(server, {
      scrapeNativeHistograms: true,
      scrapeProtocols: ['PrometheusProto'],
      nativeHistogramBucketLimit: 1,
    });
    t = await h.scrape();
    assert.deepEqual(h.sink.commits[0].histograms, []);
    assert.deepEqual(h.sink.lines(0), up(0, t, 1, 1, 0));
    assert.equal(h.loop.status().lastError, 'histogram bucket limit exceeded');
    await h.stop();
    // Buckets 1 and 2 merge at schema -1: within a limit of 1 bucket, appended at the lower resolution.
    const mergeable = encodeFamilies([
      'name: "h" type: HISTOGRAM metric: < histogram: < sample_count: 3 sample_sum: 1.5 schema: 0 zero_threshold: 0.001 zero_count: 1 positive_span: < offset: 1 length: 2 > positive_delta: 1 positive_delta: 0 > >',
    ]);
    server.handler = (_req, res) => {
      res.setHeader('content-type', proto);
      res.end(mergeable);
    };
    h = harness(server, {
      scrapeNativeHistograms: true,
      scrapeProtocols: ['PrometheusProto'],
      nativeHistogramBucketLimit: 1,
    });
    t = await h.scrape();
    assert.deepEqual(
      h.sink.commits[0].histograms.map((x) => [x.h.schema, x.h.positiveSpans, x.h.positiveDeltas]),
      [[-1, [{ offset: 1, length: 1 }], [2]]],
    );
    assert.equal(h.loop.status().health, 'up');
    await h.stop();
  });

  it('a gzip body is inflated', async () => {
    const gz = gzipSync('a 1\n');
    server.handler = (req, res) => {
      assert.equal(req.headers['accept-encoding'], 'gzip');
      res.setHeader('content-type', 'text/plain');
      res.setHeader('content-encoding', 'gzip');
      res.end(gz);
    };
    const h = harness(server);
    const t = await h.scrape();
    assert.equal(h.sink.lines(0)[0], `a{instance="t1",job="job1"} ${t} 1`);
    await h.stop();
  });
});
