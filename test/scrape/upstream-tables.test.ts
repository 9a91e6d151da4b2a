/**
 * Prometheus' own parser test tables (model/textparse/*_test.go), extracted as data into
 * test/fixtures/scrape/upstream-*.json by extract-upstream.py, run through promspool's parsers.
 * Every expected entry must match exactly; every error case must fail (promspool's messages name a
 * line and column instead of quoting Prometheus' lexer tokens, so the upstream message is shown in
 * the assertion text, not compared).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createParser,
  ExpositionParseError,
  type ExpositionParser,
  OpenMetricsParser,
} from '../../src/scrape/index.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/scrape/', import.meta.url));

type Text = string | { base64: string };

interface ExpectedEntry {
  kind: string;
  series?: string;
  value?: number | string;
  timestamp?: number;
  labels?: [string, string][];
  exemplars?: { labels: [string, string][]; value: number; timestamp?: number }[];
  startTimestamp?: number;
  metricFamily?: string;
  help?: string;
  type?: string;
  unit?: string;
  comment?: string;
}

function body(t: Text): string | Buffer {
  return typeof t === 'string' ? t : Buffer.from(t.base64, 'base64');
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

/** Collects entries in the fixtures' shape. */
function collect(p: ExpositionParser): ExpectedEntry[] {
  const out: ExpectedEntry[] = [];
  for (let kind = p.next(); kind !== undefined; kind = p.next()) {
    switch (kind) {
      case 'series': {
        const e: ExpectedEntry = {
          kind,
          series: p.series(),
          value: Number.isNaN(p.value) ? 'NaN' : p.value,
          labels: p.labels().map((l) => [l.name, l.value]),
        };
        if (p.timestamp !== undefined) e.timestamp = p.timestamp;
        if (p instanceof OpenMetricsParser) {
          const st = p.startTimestamp();
          if (st !== 0) e.startTimestamp = st;
        }
        const ex = p.exemplar();
        if (ex) {
          e.exemplars = [
            {
              labels: ex.labels.map((l) => [l.name, l.value]),
              value: ex.value,
              ...(ex.timestamp !== undefined ? { timestamp: ex.timestamp } : {}),
            },
          ];
        }
        out.push(e);
        break;
      }
      case 'help':
        out.push({ kind, metricFamily: p.metricFamily(), help: p.help() });
        break;
      case 'type':
        out.push({ kind, metricFamily: p.metricFamily(), type: p.metricType });
        break;
      case 'unit':
        out.push({ kind, metricFamily: p.metricFamily(), unit: p.unit() });
        break;
      case 'comment':
        out.push({ kind, comment: p.comment() });
        break;
    }
  }
  return out;
}

/** Upstream expectations with labels in promspool's order (UTF-8 byte order, as Prometheus sorts). */
function comparable(e: ExpectedEntry): ExpectedEntry {
  const rest = { ...e };
  if (rest.labels) rest.labels = [...rest.labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return rest;
}

for (const [file, format] of [
  ['upstream-prom-parse.json', 'text-0.0.4'],
  ['upstream-om-parse.json', 'openmetrics-1.0.0'],
] as const) {
  const fixture = load<{ tests: { name: string; input: Text; entries: ExpectedEntry[] }[] }>(file);
  describe(`${file} (${format})`, () => {
    for (const t of fixture.tests) {
      it(t.name, () => {
        // As upstream's tests: OpenMetrics with _created lines skipped and read as start timestamps.
        const got = collect(createParser(format, body(t.input), { skipCreatedSeries: true }));
        const want = t.entries.map(comparable);
        for (let i = 0; i < Math.max(got.length, want.length); i++) {
          assert.deepEqual(got[i], want[i], `entry ${i}`);
        }
      });
    }
  });
}

for (const [file, format] of [
  ['upstream-prom-errors.json', 'text-0.0.4'],
  ['upstream-om-errors.json', 'openmetrics-1.0.0'],
] as const) {
  const fixture = load<{ tests: { name: string; cases: { input: Text; err: string }[] }[] }>(file);
  describe(`${file} (${format})`, () => {
    for (const t of fixture.tests) {
      t.cases.forEach((c, i) => {
        const shown = JSON.stringify(c.input);
        it(`${t.name}[${i}] ${shown.slice(0, 60)}`, () => {
          const run = () => {
            const p = createParser(format, body(c.input), { skipCreatedSeries: true });
            for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') p.labels();
          };
          if (c.err === '' || c.err === 'EOF') run();
          else assert.throws(run, ExpositionParseError, `upstream fails with: ${c.err}`);
        });
      });
    }
  });
}
