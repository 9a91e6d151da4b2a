import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createParser,
  ExpositionParseError,
  type ExpositionParser,
  OpenMetricsParser,
  PromTextParser,
} from '../../src/scrape/index.js';

function firstSeries(p: ExpositionParser): ExpositionParser {
  for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') return p;
  throw new Error('no series');
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

function drain(p: ExpositionParser): void {
  for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') p.labels();
}

describe('series text and deferred labels', () => {
  it('exposes the raw series prefix as offsets into the input, labels only on request', () => {
    const input = '# TYPE x counter\nx_total{a="1",b="2"} 5 1700000000000\n';
    const p = firstSeries(new PromTextParser(input));
    assert.equal(input.slice(p.seriesStart, p.seriesEnd), 'x_total{a="1",b="2"}');
    assert.equal(p.series(), 'x_total{a="1",b="2"}');
    assert.equal(p.value, 5);
    assert.equal(p.timestamp, 1700000000000);
    assert.deepEqual(p.labels(), [
      { name: '__name__', value: 'x_total' },
      { name: 'a', value: '1' },
      { name: 'b', value: '2' },
    ]);
  });
  it('unescapes \\\\, \\" and \\n in label values and keeps other backslash pairs', () => {
    const p = firstSeries(new PromTextParser('a{b="x\\\\y\\"z\\nw\\tv"} 1\n'));
    assert.deepEqual(p.labels()[1], { name: 'b', value: 'x\\y"z\nw\\tv' });
  });
  it('reads Prometheus 3 quoted UTF-8 metric and label names', () => {
    for (const p of [
      new PromTextParser('{"my.metric", "a.b"="x"} 1\n'),
      new OpenMetricsParser('{"my.metric","a.b"="x"} 1\n# EOF\n'),
    ]) {
      firstSeries(p);
      assert.deepEqual(p.labels(), [
        { name: '__name__', value: 'my.metric' },
        { name: 'a.b', value: 'x' },
      ]);
    }
  });
  it('refuses duplicate label names, __name__ included', () => {
    const e = failure(() => drain(new PromTextParser('ok 1\na{b="1",b="2"} 1\n')));
    assert.equal(
      e.message,
      'text format line 2, column 1: duplicate label name "b" in series "a{b=\\"1\\",b=\\"2\\"}"',
    );
    assert.throws(
      () => firstSeries(new PromTextParser('a{__name__="c"} 1\n')).labels(),
      /duplicate label name "__name__"/,
    );
  });
  it('normalises le and quantile as Prometheus 3, only for histograms and summaries', () => {
    const p = new PromTextParser('# TYPE h histogram\nh_bucket{le="1"} 1\n# TYPE g gauge\ng{le="1"} 1\n');
    firstSeries(p);
    assert.equal(p.labels()[1].value, '1.0');
    firstSeries(p);
    assert.equal(p.labels()[1].value, '1');
  });
  it('reads every NaN as NaN whose bits are not the stale marker', () => {
    const p = firstSeries(new PromTextParser('a nan\n'));
    const bits = new Uint32Array(new Float64Array([p.value]).buffer);
    assert.ok(Number.isNaN(p.value));
    assert.notDeepEqual([bits[1], bits[0]], [0x7ff00000, 2]);
  });
});

describe('series hint (the scrape cache guessing each line)', () => {
  /** Parses `input` with hints `keys` (one per series line, in order); per series: matched, text, value, timestamp. */
  function hinted(input: string, keys: (string | undefined)[]) {
    const p = new PromTextParser(input);
    let i = 0;
    p.useSeriesHint({ expectedKey: () => keys[i] });
    const out: [boolean, string, number, number | undefined][] = [];
    for (let k = p.next(); k !== undefined; k = p.next()) {
      if (k !== 'series') continue;
      out.push([p.hintMatched, p.series(), p.value, p.timestamp]);
      i++;
    }
    return out;
  }
  it('reads only the value and timestamp of a line that begins with the expected series text', () => {
    assert.deepEqual(hinted('a{x="1"} 5 17\nb 2\n', ['a{x="1"}', 'b']), [
      [true, 'a{x="1"}', 5, 17],
      [true, 'b', 2, undefined],
    ]);
  });
  it('lexes as usual where the text is another series, even one that begins with the expected text', () => {
    assert.deepEqual(hinted('ab 1\na {x="1"} 2\na{x="1"}3\na{x="2"} 4\nc 5\n', ['a', 'a', 'a{x="1"}', 'a{x="1"}']), [
      [false, 'ab', 1, undefined],
      [false, 'a {x="1"}', 2, undefined],
      [false, 'a{x="1"}', 3, undefined],
      [false, 'a{x="2"}', 4, undefined],
      [false, 'c', 5, undefined],
    ]);
  });
  it('still gives the labels of a matched line on request', () => {
    const p = new PromTextParser('a{y="2",x="1"} 5\n');
    p.useSeriesHint({ expectedKey: () => 'a{y="2",x="1"}' });
    firstSeries(p);
    assert.equal(p.hintMatched, true);
    assert.deepEqual(p.labels(), [
      { name: '__name__', value: 'a' },
      { name: 'x', value: '1' },
      { name: 'y', value: '2' },
    ]);
  });
  it('still refuses a bad value on a matched line', () => {
    const p = new PromTextParser('a{x="1"} zz\n');
    p.useSeriesHint({ expectedKey: () => 'a{x="1"}' });
    assert.throws(() => p.next(), /invalid value "zz"/);
  });
});

describe('timestamps', () => {
  it('text format: integer milliseconds, no sign', () => {
    const p = firstSeries(new PromTextParser('a 1\nb 2 1700000000123\n'));
    assert.equal(p.timestamp, undefined);
    assert.equal(firstSeries(p).timestamp, 1700000000123);
  });
  it('OpenMetrics: float seconds to milliseconds truncated toward zero, as int64(ts*1000)', () => {
    const p = new OpenMetricsParser('a 1 1.5\nb 1 -1.0005\nc 1 123.123\n# EOF\n');
    assert.equal(firstSeries(p).timestamp, 1500);
    assert.equal(firstSeries(p).timestamp, -1000);
    assert.equal(firstSeries(p).timestamp, 123123);
  });
});

describe('errors name the line and column', () => {
  it('text format', () => {
    assert.equal(
      failure(() => drain(new PromTextParser("a 1\nb{c='d'} 1\n"))).message,
      'text format line 2, column 5: expected quoted label value, got "\'d\'} 1"',
    );
    assert.equal(
      failure(() => drain(new PromTextParser('a 1\n\n  b 0x10\n'))).message,
      'text format line 3, column 5: invalid value "0x10"',
    );
    assert.equal(
      failure(() => drain(new PromTextParser('a 1 -5\n'))).message,
      'text format line 1, column 5: expected timestamp or end of line, got "-5"',
    );
    assert.equal(
      failure(() => drain(new PromTextParser('a 1 99999999999999999999\n'))).message,
      'text format line 1, column 5: timestamp 99999999999999999999 out of int64 range',
    );
  });
  it('OpenMetrics', () => {
    const e = failure(() => drain(new OpenMetricsParser('a 1\na{b="c" } 1\n# EOF\n')));
    assert.deepEqual([e.line, e.column, e.reason], [2, 8, `expected ',' or '}' after label value, got " } 1"`]);
    assert.equal(
      failure(() => drain(new OpenMetricsParser('a 1\n'))).message,
      'OpenMetrics line 2, column 1: data does not end with # EOF',
    );
    assert.equal(
      failure(() => drain(new OpenMetricsParser('# TYPE a_seconds counter\n# UNIT a_seconds bytes\n# EOF\n'))).message,
      'OpenMetrics line 2, column 18: unit "bytes" not a suffix of metric "a_seconds"',
    );
  });
  it('reads a Buffer body with UTF-8 beyond ASCII as UTF-8 (an ASCII body is decoded as ASCII)', () => {
    const p = createParser('text-0.0.4', Buffer.from('a{b="é€😀"} 1\n', 'utf8'));
    firstSeries(p);
    assert.deepEqual(p.labels()[1], { name: 'b', value: 'é€😀' });
    const q = createParser('text-0.0.4', Buffer.from('a{b="x"} 1\n'));
    firstSeries(q);
    assert.deepEqual(q.labels()[1], { name: 'b', value: 'x' });
  });
  it('invalid UTF-8 in a Buffer body', () => {
    const body = Buffer.concat([Buffer.from('a 1\nb{c="'), Buffer.from([0xff]), Buffer.from('"} 1\n')]);
    assert.equal(
      failure(() => createParser('text-0.0.4', body)).message,
      'text format line 2, column 6: invalid UTF-8',
    );
  });
});

describe('OpenMetrics specifics', () => {
  it('returns _created lines as series by default and tells them apart', () => {
    const p = new OpenMetricsParser('# TYPE foo counter\nfoo_total 1\nfoo_created 1520872607.123\n# EOF\n');
    firstSeries(p);
    assert.equal(p.isCreatedSeries(), false);
    assert.equal(p.startTimestamp(), 1520872607123);
    firstSeries(p);
    assert.equal(p.series(), 'foo_created');
    assert.equal(p.isCreatedSeries(), true);
    assert.equal(p.next(), undefined);
  });
  it('reads exemplars with and without timestamps, and the info, stateset and gaugehistogram types', () => {
    const p = new OpenMetricsParser(
      '# TYPE i info\ni_info{v="1"} 1\n# TYPE s stateset\ns{s="a"} 1\n# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 3 # {trace_id="x"} 0.5 12.25\n# EOF\n',
    );
    const types: string[] = [];
    let ex: unknown;
    for (let k = p.next(); k !== undefined; k = p.next()) {
      if (k === 'type') types.push(p.metricType);
      if (k === 'series' && p.exemplar()) ex = p.exemplar();
    }
    assert.deepEqual(types, ['info', 'stateset', 'gaugehistogram']);
    assert.deepEqual(ex, { labels: [{ name: 'trace_id', value: 'x' }], value: 0.5, timestamp: 12250 });
  });
  it('unescapes help as a label value, units and # EOF', () => {
    const p = new OpenMetricsParser('# HELP a_bytes say \\"hi\\"\\n\n# UNIT a_bytes bytes\n# EOF');
    assert.equal(p.next(), 'help');
    assert.equal(p.help(), 'say "hi"\n');
    assert.equal(p.next(), 'unit');
    assert.equal(p.unit(), 'bytes');
    assert.equal(p.next(), undefined);
    assert.equal(p.next(), undefined);
  });
});
