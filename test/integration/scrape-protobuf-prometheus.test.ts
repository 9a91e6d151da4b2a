// The protobuf exposition parser on a real target: Debian's Prometheus' own /metrics, fetched
// with the Accept header Prometheus sends when `scrape_protocols` puts PrometheusProto first.
// client_golang's handler answers it with delimited MetricFamily messages; the text format of
// the same registry fetched just before and after must give the same series names and labels
// and the same metric types.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { acceptHeader, createParser, type MetricType, negotiateFormat } from '../../src/scrape/index.js';
import { receiversSkipReason } from './harness/binaries.js';
import { httpRequest } from './harness/http.js';
import { type PrometheusInstance, startPrometheus } from './harness/prometheus.js';

interface Parsed {
  format: string;
  /** JSON of each series' labels. */
  series: Set<string>;
  types: Map<string, MetricType>;
  help: Map<string, string>;
}

async function scrape(url: string, accept: string): Promise<Parsed> {
  const res = await httpRequest(url, { headers: { Accept: accept } });
  assert.equal(res.status, 200);
  const choice = negotiateFormat(res.headers['content-type']);
  assert.ok(choice.ok, `Content-Type ${res.headers['content-type']}`);
  const p = createParser(choice.format, res.body);
  const out: Parsed = { format: choice.format, series: new Set(), types: new Map(), help: new Map() };
  for (let k = p.next(); k !== undefined; k = p.next()) {
    if (k === 'type') out.types.set(p.metricFamily(), p.metricType);
    else if (k === 'help') out.help.set(p.metricFamily(), p.help());
    else if (k === 'series' || k === 'histogram') out.series.add(JSON.stringify(p.labels()));
  }
  return out;
}

describe("the protobuf format from a real Prometheus' own /metrics", {
  skip: receiversSkipReason('prometheus'),
}, () => {
  let prom: PrometheusInstance;
  before(async () => {
    prom = await startPrometheus();
  });
  after(async () => {
    await prom?.stop();
  });

  it('is served for the PrometheusProto Accept header and agrees with the text format on names, labels and types', async () => {
    const url = `${prom.url}/metrics`;
    const textAccept = acceptHeader(['PrometheusText0.0.4']);
    const before = await scrape(url, textAccept);
    const proto = await scrape(url, acceptHeader(['PrometheusProto', 'OpenMetricsText1.0.0', 'PrometheusText0.0.4']));
    const afterwards = await scrape(url, textAccept);
    assert.equal(before.format, 'text-0.0.4');
    assert.equal(proto.format, 'protobuf');
    assert.ok(proto.series.size > 100, `${proto.series.size} series`);
    // Series only appear in this registry (never disappear), so the protobuf scrape in between
    // holds every series of the first text scrape and none beyond the second.
    for (const s of before.series) assert.ok(proto.series.has(s), `missing from protobuf: ${s}`);
    for (const s of proto.series) assert.ok(afterwards.series.has(s), `only in protobuf: ${s}`);
    for (const [family, type] of afterwards.types) {
      if (proto.types.has(family)) assert.equal(proto.types.get(family), type, family);
    }
    for (const [family, help] of proto.help) assert.equal(afterwards.help.get(family), help, family);
    const build = [...proto.series].find((s) => s.includes('"prometheus_build_info"'));
    assert.match(build ?? '', /"name":"goversion","value":"go1\./);
  });
});
