import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import {
  createParser,
  ExpositionParseError,
  type ExpositionParser,
  type ParsedExemplar,
  ProtobufParser,
  type ProtobufParserOptions,
} from '../../src/scrape/index.js';
import type { NativeHistogram } from '../../src/serialization/types.js';
import { encodeFamilies, type GoHistogram, L, type UpstreamEntry } from './protobuf-fixtures.js';
import { UPSTREAM_FAMILIES, UPSTREAM_SCENARIOS } from './protobuf-upstream-cases.js';

/** What one entry of the parser gives, in the shape of Prometheus' `parsedEntry` (without its series bytes). */
type Got = Omit<UpstreamEntry, 'm'> & { m?: string; h?: NativeHistogram; ex?: ParsedExemplar[] };

function collect(p: ExpositionParser): Got[] {
  const out: Got[] = [];
  for (let k = p.next(); k !== undefined; k = p.next()) {
    if (k === 'help') out.push({ m: p.metricFamily(), help: p.help() });
    else if (k === 'unit') out.push({ m: p.metricFamily(), unit: p.unit() });
    else if (k === 'type') out.push({ m: p.metricFamily(), typ: p.metricType });
    else {
      const e: Got = { lset: p.labels() };
      if (k === 'series') e.v = p.value;
      else e.h = p.histogram();
      if (p.timestamp !== undefined) e.t = p.timestamp;
      const st = p.startTimestamp?.() ?? 0;
      if (st !== 0) e.st = st;
      const ex = p.exemplars?.() ?? [];
      if (ex.length > 0) e.ex = ex;
      out.push(e);
    }
  }
  return out;
}

function nativeOf(g: GoHistogram, isFloat: boolean): NativeHistogram {
  const spans = (s: GoHistogram['PositiveSpans']) => (s ?? []).map((x) => ({ offset: x.Offset, length: x.Length }));
  const h: NativeHistogram = {
    isFloat,
    count: g.Count ?? 0,
    sum: g.Sum ?? 0,
    schema: g.Schema ?? 0,
    zeroThreshold: g.ZeroThreshold ?? 0,
    zeroCount: g.ZeroCount ?? 0,
    positiveSpans: spans(g.PositiveSpans),
    negativeSpans: spans(g.NegativeSpans),
    resetHint: (g.CounterResetHint ?? 0) as 0 | 3,
  };
  if (isFloat) {
    h.positiveCounts = g.PositiveBuckets ?? [];
    h.negativeCounts = g.NegativeBuckets ?? [];
  } else {
    h.positiveDeltas = g.PositiveBuckets ?? [];
    h.negativeDeltas = g.NegativeBuckets ?? [];
  }
  return h;
}

/** Prometheus' expected entry in the shape {@link collect} gives. */
function expectedOf(e: UpstreamEntry): Got {
  if (e.help !== undefined) return { m: e.m, help: e.help };
  if (e.unit !== undefined) return { m: e.m, unit: e.unit };
  if (e.typ !== undefined) return { m: e.m, typ: e.typ };
  const g: Got = { lset: e.lset };
  if (e.shs || e.fhs) g.h = nativeOf((e.shs ?? e.fhs) as GoHistogram, e.fhs !== undefined);
  else g.v = e.v ?? 0;
  if (e.t !== undefined) g.t = e.t;
  if (e.st !== undefined && e.st !== 0) g.st = e.st;
  if (e.es && e.es.length > 0)
    g.ex = e.es.map((x) => ({ labels: x.Labels, value: x.Value, timestamp: x.HasTs ? x.Ts : undefined }));
  return g;
}

function parse(body: Buffer, options: ProtobufParserOptions = {}): Got[] {
  return collect(createParser('protobuf', body, options));
}

function failure(run: () => unknown): ExpositionParseError {
  try {
    run();
  } catch (e) {
    if (e instanceof ExpositionParseError) return e;
    throw e;
  }
  throw new Error('did not fail');
}

function drain(p: ExpositionParser): number {
  let n = 0;
  for (let k = p.next(); k !== undefined; k = p.next()) {
    if (k === 'series' || k === 'histogram') {
      p.series();
      p.labels();
      p.exemplars?.();
      if (k === 'histogram') p.histogram();
      n++;
    } else if (k === 'help') p.help();
  }
  return n;
}

describe("protobuf parser: Prometheus' TestProtobufParse cases", () => {
  const body = encodeFamilies(UPSTREAM_FAMILIES);
  for (const s of UPSTREAM_SCENARIOS) {
    it(s.name, () => {
      const got = parse(body, {
        ignoreNativeHistograms: s.ignoreNativeHistograms,
        parseClassicHistograms: s.parseClassicHistograms,
      });
      const want = s.expected.map(expectedOf);
      for (let i = 0; i < Math.max(got.length, want.length); i++) assert.deepEqual(got[i], want[i], `entry ${i}`);
    });
  }
});

describe('protobuf parser: series keys', () => {
  const body = encodeFamilies(UPSTREAM_FAMILIES);
  it('gives one key per series, stable across parses, and the same labels for the same key', () => {
    const keys = (b: Buffer) => {
      const p = createParser('protobuf', b, { parseClassicHistograms: true });
      const out = new Map<string, string>();
      for (let k = p.next(); k !== undefined; k = p.next()) {
        if (k !== 'series' && k !== 'histogram') continue;
        const key = p.series();
        assert.equal(p.series(), key, 'built once per entry');
        const labels = JSON.stringify(p.labels());
        assert.ok(!out.has(key), `key of ${labels} repeated`);
        out.set(key, labels);
      }
      return out;
    };
    const first = keys(body);
    assert.equal(first.size, 83);
    assert.deepEqual(keys(Buffer.from(body)), first);
    // Distinct labels, distinct keys.
    assert.equal(new Set(first.values()).size, first.size);
  });
  it('keys never equal a text-format series (they start with a 0 byte, which no text series does)', () => {
    const p = createParser('protobuf', encodeFamilies(['name: "up" type: GAUGE metric: < gauge: < value: 1 > >']));
    while (p.next() !== 'series');
    // 0, the name's length and bytes, the suffix marker (none), no labels.
    assert.equal(p.series(), '\u0000\u0002upn');
  });
  it('keys do not depend on the value, timestamp or exemplar, only on the series', () => {
    const fam = (v: number, ts: number) => ({
      name: 'c',
      type: 'COUNTER',
      metric: [{ label: [{ name: 'a', value: 'x' }], counter: { value: v }, timestamp_ms: ts }],
    });
    const key = (b: Buffer) => {
      const p = createParser('protobuf', b);
      while (p.next() !== 'series');
      return p.series();
    };
    assert.equal(key(encodeFamilies([fam(1, 5)])), key(encodeFamilies([fam(2, 6)])));
  });
  it('reads labels interleaved with other fields, long and non-ASCII ones, as the usual layout', () => {
    const long = 'x'.repeat(300);
    // MetricFamily{name "g", type GAUGE, metric{label a=long, gauge{1}, label b=é}}, fields written by hand.
    const w = protobuf.Writer.create();
    w.uint32(0x0a).string('g').uint32(0x18).uint32(1);
    const m = protobuf.Writer.create();
    m.uint32(0x0a).fork().uint32(0x0a).string('a').uint32(0x12).string(long).ldelim();
    m.uint32(0x12).fork().uint32(0x09).double(1).ldelim();
    m.uint32(0x0a).fork().uint32(0x12).string('é').uint32(0x0a).string('b').ldelim();
    w.uint32(0x22).bytes(m.finish());
    const body = Buffer.from(protobuf.Writer.create().bytes(w.finish()).finish());
    const usual = encodeFamilies([
      {
        name: 'g',
        type: 'GAUGE',
        metric: [
          {
            label: [
              { name: 'a', value: long },
              { name: 'b', value: 'é' },
            ],
            gauge: { value: 1 },
          },
        ],
      },
    ]);
    const read = (b: Buffer) => {
      const p = createParser('protobuf', b);
      while (p.next() !== 'series');
      const key = p.series();
      return { labels: p.labels(), value: p.value, key };
    };
    const a = read(body);
    const b = read(usual);
    assert.deepEqual(a.labels, L('__name__', 'g', 'a', long, 'b', 'é'));
    assert.deepEqual(b.labels, a.labels);
    assert.equal(a.value, 1);
    // Keys are the raw bytes: equal for equal bytes, here two layouts of one series.
    assert.equal(read(body).key, a.key);
    assert.notEqual(a.key, b.key);
  });
  it('reports seriesStart/seriesEnd as the Metric message bytes and input as empty', () => {
    const b = encodeFamilies(['name: "g" type: GAUGE metric: < label: < name: "a" value: "b" > gauge: < value: 1 > >']);
    const p = createParser('protobuf', b);
    while (p.next() !== 'series');
    assert.equal(p.input, '');
    // label field (2 + 6 bytes) then gauge field (2 + 9 bytes).
    assert.equal(p.seriesEnd - p.seriesStart, 19);
    assert.equal(b[p.seriesStart], 0x0a);
  });
});

describe('protobuf parser: values and labels', () => {
  it('never returns the stale marker bits from the body (values, histogram sums)', () => {
    const stale = Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]).readDoubleLE(0);
    const body = encodeFamilies([
      { name: 'g', type: 'GAUGE', metric: [{ gauge: { value: stale } }] },
      {
        name: 'h',
        type: 'HISTOGRAM',
        metric: [
          {
            histogram: {
              sample_count: 1,
              sample_sum: stale,
              schema: 0,
              positive_span: [{ offset: 0, length: 1 }],
              positive_delta: [1],
            },
          },
        ],
      },
    ]);
    const bits = (v: number) => Buffer.from(new Float64Array([v]).buffer).toString('hex');
    const p = createParser('protobuf', body);
    while (p.next() !== 'series');
    assert.ok(Number.isNaN(p.value));
    assert.equal(bits(p.value), bits(Number.NaN));
    while (p.next() !== 'histogram');
    assert.equal(bits(p.histogram().sum), bits(Number.NaN));
  });
  it('sorts labels by UTF-8 bytes with __name__ added, and reads UTF-8 names', () => {
    const got = parse(
      encodeFamilies([
        {
          name: 'my.metric',
          type: 'UNTYPED',
          metric: [
            {
              label: [
                { name: 'z', value: '1' },
                { name: '\u{10000}', value: 'a' },
                { name: '\uE000', value: 'b' },
                { name: 'a.b', value: 'é' },
              ],
              untyped: { value: 3 },
            },
          ],
        },
      ]),
    );
    assert.deepEqual(got[2], {
      lset: [
        { name: '__name__', value: 'my.metric' },
        { name: 'a.b', value: 'é' },
        { name: 'z', value: '1' },
        { name: '\uE000', value: 'b' },
        { name: '\u{10000}', value: 'a' },
      ],
      v: 3,
    });
  });
  it('refuses duplicate label names (also __name__) when labels are asked for', () => {
    const p = createParser(
      'protobuf',
      encodeFamilies(['name: "g" type: GAUGE metric: < label: < name: "__name__" value: "x" > gauge: < value: 1 > >']),
    );
    while (p.next() !== 'series');
    const e = failure(() => p.labels());
    assert.match(e.reason, /duplicate label name "__name__"/);
    assert.equal(e.byteOffset, p.seriesStart);
  });
  it('gives every family a help entry (empty help too), unit only when set, and skips families without metrics', () => {
    const got = parse(
      encodeFamilies([
        'name: "empty" type: COUNTER',
        'name: "" type: COUNTER',
        'name: "g" type: GAUGE metric: < gauge: < value: 2 > timestamp_ms: -5 >',
        'name: "s_seconds" help: "h" unit: "seconds" type: SUMMARY metric: < summary: < sample_count: 3 sample_sum: 1 quantile: < quantile: 0.5 value: 7 > quantile: < quantile: 1 value: 9 > > >',
      ]),
    );
    assert.deepEqual(got, [
      { m: 'g', help: '' },
      { m: 'g', typ: 'gauge' },
      { lset: L('__name__', 'g'), v: 2, t: -5 },
      { m: 's_seconds', help: 'h' },
      { m: 's_seconds', unit: 'seconds' },
      { m: 's_seconds', typ: 'summary' },
      { lset: L('__name__', 's_seconds_count'), v: 3 },
      { lset: L('__name__', 's_seconds_sum'), v: 1 },
      { lset: L('__name__', 's_seconds', 'quantile', '0.5'), v: 7 },
      { lset: L('__name__', 's_seconds', 'quantile', '1.0'), v: 9 },
    ]);
  });
  it('stops a classic histogram at its first +Inf bucket and adds one when missing', () => {
    const got = parse(
      encodeFamilies([
        'name: "a" type: HISTOGRAM metric: < histogram: < sample_count: 4 sample_sum: 2 bucket: < cumulative_count: 1 upper_bound: 1 > bucket: < cumulative_count: 4 upper_bound: inf > bucket: < cumulative_count: 9 upper_bound: 5 > > >',
        'name: "b" type: GAUGE_HISTOGRAM metric: < histogram: < sample_count_float: 2.5 sample_sum: 1 > >',
      ]).subarray(0),
    ).filter((e) => e.lset);
    assert.deepEqual(got, [
      { lset: L('__name__', 'a_count'), v: 4 },
      { lset: L('__name__', 'a_sum'), v: 2 },
      { lset: L('__name__', 'a_bucket', 'le', '1.0'), v: 1 },
      { lset: L('__name__', 'a_bucket', 'le', '+Inf'), v: 4 },
      { lset: L('__name__', 'b_count'), v: 2.5 },
      { lset: L('__name__', 'b_sum'), v: 1 },
      { lset: L('__name__', 'b_bucket', 'le', '+Inf'), v: 2.5 },
    ]);
  });
  it('compacts native histograms as Prometheus (empty buckets cut, spans split and merged)', () => {
    const got = parse(
      encodeFamilies([
        {
          name: 'n',
          type: 'HISTOGRAM',
          metric: [
            {
              histogram: {
                sample_count: 6,
                schema: 1,
                positive_span: [
                  { offset: 0, length: 4 },
                  { offset: 0, length: 1 },
                  { offset: 3, length: 0 },
                  { offset: 1, length: 1 },
                ],
                // absolute 2, 0, 0, 3, 1, 0
                positive_delta: [2, -2, 0, 3, -2, -1],
              },
            },
          ],
        },
      ]),
    );
    assert.deepEqual(got[2].h?.positiveSpans, [
      { offset: 0, length: 1 },
      { offset: 2, length: 2 },
    ]);
    assert.deepEqual(got[2].h?.positiveDeltas, [2, 1, -2]);
  });
});

describe('protobuf parser: bad input', () => {
  const good = encodeFamilies(UPSTREAM_FAMILIES);
  it('fails every truncation of a valid body with a byte offset, never another error', () => {
    let failures = 0;
    for (let n = 1; n < good.length; n++) {
      try {
        drain(createParser('protobuf', good.subarray(0, n)));
      } catch (e) {
        assert.ok(e instanceof ExpositionParseError, `prefix ${n}: ${e}`);
        assert.ok(e.byteOffset !== undefined && e.byteOffset >= 0 && e.byteOffset <= n, `prefix ${n}: ${e.message}`);
        failures++;
      }
    }
    // A cut exactly between two families is a valid body.
    assert.equal(failures, good.length - 1 - (UPSTREAM_FAMILIES.length - 1));
  });
  it('names bad varints, wrong wire types and unknown types', () => {
    assert.equal(
      failure(() => drain(createParser('protobuf', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])))).message,
      'protobuf format at byte 0: varint does not fit 32 bits',
    );
    // MetricFamily.name (field 1) as a varint.
    assert.equal(
      failure(() => drain(createParser('protobuf', Buffer.from([2, 0x08, 0x01])))).message,
      'protobuf format at byte 2: MetricFamily.name has wire type 0, expected 2',
    );
    // A group start (wire type 3).
    assert.match(
      failure(() => drain(createParser('protobuf', Buffer.from([1, 0x0b])))).reason,
      /unsupported wire type 3/,
    );
    const badType = encodeFamilies([{ name: 'x', metric: [{ gauge: { value: 1 } }] }]);
    const withType = Buffer.concat([Buffer.from([badType[0] + 2]), badType.subarray(1), Buffer.from([0x18, 9])]);
    assert.equal(
      failure(() => drain(createParser('protobuf', withType))).reason,
      'unknown metric type for metric "x": 9',
    );
  });
  it('refuses invalid UTF-8 in metric names, help, label names and values at its byte', () => {
    const body = encodeFamilies([
      'name: "g" help: "hh" type: GAUGE metric: < label: < name: "aa" value: "vv" > gauge: < value: 1 > >',
    ]);
    const corrupt = (s: string) => {
      const b = Buffer.from(body);
      const at = b.indexOf(s);
      b[at] = 0xff;
      return { b, at };
    };
    for (const [s, reason] of [
      ['g', 'invalid metric name: "\uFFFD"'],
      ['hh', 'invalid help for metric "g": not valid UTF-8'],
      ['aa', 'invalid label name: not valid UTF-8'],
      ['vv', 'invalid label value: not valid UTF-8'],
    ]) {
      const { b, at } = corrupt(s);
      const e = failure(() => drain(createParser('protobuf', b)));
      assert.equal(e.reason, reason);
      assert.equal(e.byteOffset, at);
    }
  });
  it('refuses an empty label name and spans that do not match the buckets', () => {
    assert.match(
      failure(() =>
        drain(
          createParser(
            'protobuf',
            encodeFamilies(['name: "g" type: GAUGE metric: < label: < value: "v" > gauge: < value: 1 > >']),
          ),
        ),
      ).reason,
      /invalid label name: ""/,
    );
    // Prometheus' TestProtobufParseHistogramSpanBucketMismatch.
    for (const spans of [
      'positive_span: < offset: 0 length: 0 > positive_span: < offset: 2 length: 0 > positive_delta: 1 positive_delta: 3',
      'positive_span: < offset: 0 length: 1 > positive_span: < offset: 2 length: 1 > positive_delta: 1 positive_delta: 2 positive_delta: 3 positive_delta: 4',
    ]) {
      const e = failure(() =>
        drain(
          createParser(
            'protobuf',
            encodeFamilies([
              `name: "test_histogram" type: HISTOGRAM metric: < histogram: < sample_count: 2 schema: 1 ${spans} > >`,
            ]),
          ),
        ),
      );
      assert.match(e.reason, /^histogram "test_histogram": positive side: spans require \d buckets, have [24]$/);
    }
  });
  it('survives random corruption: every outcome is entries or an ExpositionParseError (bounded fuzz)', () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    let errors = 0;
    const started = Date.now();
    for (let iter = 0; iter < 3000; iter++) {
      const b = Buffer.from(good);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.3 ? Math.floor(rand() * b.length) : b.length;
      try {
        drain(createParser('protobuf', b.subarray(0, cut), { parseClassicHistograms: rand() < 0.5 }));
      } catch (e) {
        if (!(e instanceof ExpositionParseError)) throw new Error(`iteration ${iter}: ${e}`);
        errors++;
      }
    }
    assert.ok(errors > 0 && errors < 3000, `${errors} errors`);
    assert.ok(Date.now() - started < 60_000);
  });
});

describe('createParser("protobuf")', () => {
  it('returns a ProtobufParser over a Buffer or Uint8Array and refuses a string', () => {
    const b = encodeFamilies(['name: "g" type: GAUGE metric: < gauge: < value: 1 > >']);
    assert.ok(createParser('protobuf', b) instanceof ProtobufParser);
    assert.equal(drain(createParser('protobuf', new Uint8Array(b))), 1);
    assert.throws(() => createParser('protobuf', 'x' as unknown as Buffer), TypeError);
  });
});
