// The exposition parsers on real targets: a real Prometheus' and a real VictoriaMetrics' own
// /metrics, fetched as Prometheus' scraper fetches them (text and OpenMetrics Accept headers), the
// parser chosen from the response's Content-Type, every entry parsed and every series' labels built.
// Measured: Debian's Prometheus 2.42 and VictoriaMetrics answer the OpenMetrics Accept header with
// the text format (2.42's own handler does not enable OpenMetrics), so real OpenMetrics comes from
// prom-client 15 (a real exporter library, served over loopback here) with exemplars and _created.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Counter, collectDefaultMetrics, Histogram, type OpenMetricsContentType, Registry } from 'prom-client';
import {
  createParser,
  type ExpositionParser,
  negotiateFormat,
  OpenMetricsParser,
  type ParsedExemplar,
  type ParsedLabel,
  SCRAPE_ACCEPT_HEADER,
} from '../../src/scrape/index.js';
import { receiversSkipReason } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';
import { startVictoriaMetrics, type VictoriaMetricsInstance } from './harness/victoria-metrics.js';

const TEXT_ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

interface Scraped {
  format: string;
  series: Map<string, { labels: ParsedLabel[]; value: number }>;
  types: Map<string, string>;
  exemplars: Map<string, ParsedExemplar>;
  lines: number;
  created: number;
}

/** Fetches and parses a whole body; throws on any unparseable line. */
async function scrape(url: string, accept: string): Promise<Scraped> {
  const res = await httpRequest(url, { headers: { Accept: accept } });
  assert.equal(res.status, 200);
  const choice = negotiateFormat(res.headers['content-type']);
  assert.ok(choice.ok, `Content-Type ${res.headers['content-type']}: ${choice.ok ? '' : choice.reason}`);
  const p: ExpositionParser = createParser(choice.format, res.body);
  const out: Scraped = {
    format: choice.format,
    series: new Map(),
    types: new Map(),
    exemplars: new Map(),
    lines: 0,
    created: 0,
  };
  for (let k = p.next(); k !== undefined; k = p.next()) {
    out.lines++;
    if (k === 'type') out.types.set(p.metricFamily(), p.metricType);
    if (k === 'series') {
      if (p instanceof OpenMetricsParser && p.isCreatedSeries()) out.created++;
      out.series.set(p.series(), { labels: p.labels(), value: p.value });
      const ex = p.exemplar();
      if (ex) out.exemplars.set(p.series(), ex);
    }
  }
  // Every non-empty line of the body became an entry (# EOF excepted), so nothing was skipped.
  const bodyLines = res.body
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '' && l !== '# EOF').length;
  assert.equal(out.lines, bodyLines);
  return out;
}

function one(s: Scraped, name: string): { labels: ParsedLabel[]; value: number } {
  const found = [...s.series.values()].filter((x) => x.labels.some((l) => l.name === '__name__' && l.value === name));
  assert.equal(found.length, 1, `${name} in ${s.format}`);
  return found[0];
}

describe("a real Prometheus' own /metrics", { skip: receiversSkipReason('prometheus') }, () => {
  let prom: PrometheusInstance;
  before(async () => {
    prom = await startPrometheus();
  });
  after(async () => {
    await prom?.stop();
  });

  it('parses completely in the text format', async () => {
    const s = await scrape(`${prom.url}/metrics`, TEXT_ACCEPT);
    assert.equal(s.format, 'text-0.0.4');
    assert.ok(s.series.size > 100, `${s.series.size} series`);
    const build = one(s, 'prometheus_build_info');
    assert.equal(build.value, 1);
    assert.match(build.labels.find((l) => l.name === 'version')?.value ?? '', /^\d+\.\d+\.\d+/);
    assert.match(build.labels.find((l) => l.name === 'goversion')?.value ?? '', /^go1\./);
    assert.ok(one(s, 'go_goroutines').value > 0);
    assert.equal(s.types.get('prometheus_http_requests_total'), 'counter');
    // Histogram buckets come out with le in OpenMetrics spelling, as Prometheus 3 stores them.
    const les = [...s.series.values()]
      .filter((x) => x.labels.some((l) => l.value === 'prometheus_http_request_duration_seconds_bucket'))
      .map((x) => x.labels.find((l) => l.name === 'le')?.value);
    assert.ok(les.includes('1.0') && les.includes('+Inf'), les.join(','));
  });

  it("parses completely when asked for OpenMetrics first (Prometheus' own Accept header)", async () => {
    const s = await scrape(`${prom.url}/metrics`, SCRAPE_ACCEPT_HEADER);
    assert.equal(one(s, 'prometheus_build_info').value, 1);
    assert.ok(one(s, 'go_goroutines').value > 0);
  });
});

describe('a real OpenMetrics exporter (prom-client 15)', () => {
  let server: Server;
  let url: string;
  before(async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    collectDefaultMetrics({ register: registry });
    const requests = new Counter({
      name: 'app_requests',
      help: 'Requests "handled".\nSecond line.',
      labelNames: ['route'],
      registers: [registry],
      enableExemplars: true,
    });
    const latency = new Histogram({
      name: 'app_latency_seconds',
      help: 'Latency.',
      buckets: [0.1, 1],
      registers: [registry],
      enableExemplars: true,
    });
    requests.inc({ labels: { route: '/a' }, value: 3, exemplarLabels: { trace_id: 'abc' } as Record<string, string> });
    latency.observe({ value: 0.5, exemplarLabels: { trace_id: 'def' } as Record<string, string> });
    server = createServer((_req, res) => {
      void registry.metrics().then((body) => {
        res.setHeader('Content-Type', registry.contentType);
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('parses completely as OpenMetrics: types, exemplars, # EOF', async () => {
    const res = await httpRequest(url, { headers: { Accept: SCRAPE_ACCEPT_HEADER } });
    const choice = negotiateFormat(res.headers['content-type']);
    assert.deepEqual(choice, { ok: true, format: 'openmetrics-1.0.0' });
    const s = await scrape(url, SCRAPE_ACCEPT_HEADER);
    assert.equal(s.types.get('app_requests'), 'counter');
    assert.equal(s.types.get('app_latency_seconds'), 'histogram');
    const total = s.series.get('app_requests_total{route="/a"}');
    assert.deepEqual(total, {
      labels: [
        { name: '__name__', value: 'app_requests_total' },
        { name: 'route', value: '/a' },
      ],
      value: 3,
    });
    assert.equal(s.exemplars.get('app_requests_total{route="/a"}')?.labels[0].value, 'abc');
    assert.equal(s.exemplars.get('app_latency_seconds_bucket{le="1"}')?.value, 0.5);
    assert.equal(one(s, 'app_latency_seconds_count').value, 1);
    assert.ok(s.series.size > 20, `${s.series.size} series`);
  });
});

describe("a real VictoriaMetrics' own /metrics", { skip: receiversSkipReason('victoria-metrics') }, () => {
  let vm: VictoriaMetricsInstance;
  before(async () => {
    vm = await startVictoriaMetrics();
  });
  after(async () => {
    await vm?.stop();
  });

  for (const accept of [TEXT_ACCEPT, SCRAPE_ACCEPT_HEADER]) {
    it(`parses completely when asked with Accept: ${accept.slice(0, 40)}...`, async () => {
      const s = await scrape(`${vm.url}/metrics`, accept);
      assert.ok(s.series.size > 100, `${s.series.size} series`);
      assert.ok(one(s, 'go_goroutines').value > 0);
      assert.equal(one(s, 'vm_app_version').value, 1);
    });
  }
});
