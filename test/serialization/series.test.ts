import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createSeriesRegistry,
  hashLabelPairs,
  hashLabelPairsV1,
  validateLabels,
} from '../../src/serialization/series.js';

describe('validateLabels', () => {
  it('sorts names and interleaves values', () => {
    assert.deepEqual(validateLabels({ job: 'a', __name__: 'up', instance: 'h:1' }, true), [
      '__name__',
      'up',
      'instance',
      'h:1',
      'job',
      'a',
    ]);
  });

  // Refused under both schemes.
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['empty value', { __name__: 'up', job: '' }, /label job has an empty value/],
    ['missing __name__', { job: 'a' }, /must include __name__/],
    ['non-string value', { __name__: 'up', job: 5 }, /label job must be a string, got 5/],
    ['lone surrogate', { __name__: 'up', job: 'a\ud800' }, /label job value .* not well-formed/],
    ['empty metric name', { __name__: '' }, /label __name__ has an empty value/],
    ['empty label name', { __name__: 'up', '': 'x' }, /invalid label name "":/],
    [
      'label name with a lone surrogate',
      { __name__: 'up', 'a\udc00': 'x' },
      /invalid label name "a\\udc00": (must be non-empty valid UTF-8|must match)/,
    ],
  ];
  for (const scheme of ['utf8', 'legacy'] as const) {
    for (const [what, labels, message] of cases) {
      it(`rejects ${what} with a TypeError naming it (${scheme})`, () => {
        assert.throws(
          () => validateLabels(labels as Record<string, string>, true, 'label', scheme),
          (err: unknown) => {
            assert.ok(err instanceof TypeError);
            assert.match(err.message, message);
            return true;
          },
        );
      });
    }
  }

  // Prometheus 3's names (utf8, the default): any non-empty valid UTF-8, `__` prefix included
  // (Prometheus' receiver takes `__`-prefixed names too). Legacy refuses them, saying the rule.
  const utf8Only: [string, Record<string, string>, RegExp][] = [
    ['a dotted metric name', { __name__: 'resource.cpu.usage' }, /invalid metric name __name__="resource.cpu.usage"/],
    ['a dotted label name', { __name__: 'up', 'http.status_code': '200' }, /invalid label name "http.status_code"/],
    ['a dashed label name', { __name__: 'up', 'bad-name': 'x' }, /invalid label name "bad-name"/],
    ['a label name starting with a digit', { __name__: 'up', '1x': 'x' }, /invalid label name "1x"/],
    ['a dashed metric name', { __name__: 'up-time' }, /invalid metric name __name__="up-time"/],
    ['a colon in a label name', { __name__: 'x', 'a:b': 'c' }, /invalid label name "a:b"/],
    ['non-Latin names', { __name__: 'запросы_всего', 名前: 'x' }, /invalid (metric|label) name/],
    ['emoji names', { __name__: 'up', '🔥': 'x' }, /invalid label name "🔥"/],
  ];
  for (const [what, labels, message] of utf8Only) {
    it(`accepts ${what} under utf8 (the default), refuses it under legacy with the rule`, () => {
      const pairs = validateLabels(labels, true);
      assert.deepEqual(pairs, validateLabels(labels, true, 'label', 'utf8'));
      assert.deepEqual(
        Object.fromEntries(pairs.flatMap((_, k) => (k % 2 === 0 ? [[pairs[k], pairs[k + 1]]] : []))),
        labels,
      );
      assert.throws(
        () => validateLabels(labels, true, 'label', 'legacy'),
        (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.match(err.message, message);
          assert.match(err.message, /: must match \[a-zA-Z_:?\]\[a-zA-Z0-9_:?\]\*$/);
          return true;
        },
      );
    });
  }

  it('accepts colons in the metric name only, under legacy', () => {
    assert.doesNotThrow(() => validateLabels({ __name__: 'job:rate5m' }, true, 'label', 'legacy'));
    assert.throws(
      () => validateLabels({ __name__: 'x', 'a:b': 'c' }, true, 'label', 'legacy'),
      /invalid label name "a:b": must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*/,
    );
  });

  it('accepts __-prefixed label names under both schemes, as Prometheus 3 receives them', () => {
    for (const scheme of ['utf8', 'legacy'] as const)
      assert.doesNotThrow(() => validateLabels({ __name__: 'up', __tenant__: 'a' }, true, 'label', scheme));
  });
});

describe('hashLabelPairs', () => {
  it('is FNV-1a over UTF-8 name 0xff value 0xff ..., values as 32-bit LE words then their last bytes, then fmix32 (values pinned: part of the disk format)', () => {
    // Computed with an independent implementation (Python, over str.encode('utf-8')).
    assert.equal(hashLabelPairs([]), 0xab3e7c0b);
    assert.equal(hashLabelPairs(['__name__', 'up']), 0x08c2b9cf);
    assert.equal(hashLabelPairs(['__name__', 'up', 'job', 'node', 'instance', 'h:9100']), 0xda5133ae);
    assert.equal(hashLabelPairs(['__name__', 'x', 'city', 'Zürich', 'emoji', '😀', 'cjk', '日本']), 0x51899b47);
    assert.equal(hashLabelPairs(['__name__', 'abcdefgh', 'v', 'abcdefghi']), 0x5c1ab1c0);
  });

  it('keeps version 1 (every byte alone) for records written before, pinned the same way', () => {
    assert.equal(hashLabelPairsV1([]), 0xab3e7c0b);
    assert.equal(hashLabelPairsV1(['__name__', 'up']), 0x08c2b9cf);
    assert.equal(hashLabelPairsV1(['__name__', 'up', 'job', 'node', 'instance', 'h:9100']), 0x833b4393);
    assert.equal(hashLabelPairsV1(['__name__', 'x', 'city', 'Zürich', 'emoji', '😀', 'cjk', '日本']), 0x62cf1025);
    assert.equal(hashLabelPairsV1(['__name__', 'abcdefgh', 'v', 'abcdefghi']), 0xa28ad7ca);
  });

  it('separates name and value boundaries', () => {
    assert.notEqual(hashLabelPairs(['a', 'bc']), hashLabelPairs(['ab', 'c']));
    assert.notEqual(hashLabelPairs(['a', 'bcdef']), hashLabelPairs(['ab', 'cdef']));
  });
});

describe('SeriesRegistry', () => {
  it('returns the same handle for the same object, and for a handle passed back', () => {
    const reg = createSeriesRegistry();
    const labels = { __name__: 'up', job: 'a' };
    const h = reg.resolve(labels);
    assert.equal(reg.resolve(labels), h);
    assert.equal(reg.resolve(h), h);
    assert.deepEqual(h.labels, { __name__: 'up', job: 'a' });
    assert.equal(h.hash, hashLabelPairs(['__name__', 'up', 'job', 'a']));
    assert.equal(reg.stats().created, 1);
  });

  it('returns the same handle for a fresh object with equal content, in any key order', () => {
    const reg = createSeriesRegistry();
    const h = reg.resolve({ job: 'a', __name__: 'up' });
    assert.equal(reg.resolve({ __name__: 'up', job: 'a' }), h);
    assert.equal(reg.resolve({ job: 'a', __name__: 'up' }), h);
    assert.equal(reg.stats().created, 1);
    assert.deepEqual(Object.keys(h.labels), ['__name__', 'job']);
  });

  it('builds labels on first read: frozen, sorted, and the same object on every read', () => {
    const reg = createSeriesRegistry();
    const h = reg.resolve({ job: 'a', __name__: 'up' });
    const first = h.labels;
    assert.equal(Object.isFrozen(first), true);
    assert.deepEqual(Object.entries(first), [
      ['__name__', 'up'],
      ['job', 'a'],
    ]);
    assert.equal(h.labels, first);
  });

  it('matches content in any key order without confusing inherited names with labels', () => {
    const reg = createSeriesRegistry();
    const h = reg.resolve({ __name__: 'm', b: 'y', a: 'x' });
    assert.equal(reg.resolve({ a: 'x', b: 'y', __name__: 'm' }), h);
    assert.equal(reg.resolve({ b: 'y', __name__: 'm', a: 'x' }), h);
    const odd = reg.resolve(JSON.parse('{"__name__":"m","__proto__":"x"}') as Record<string, string>);
    // Same size, but `__proto__` here is the inherited accessor, not a label.
    const other = reg.resolve({ __name__: 'm', a: 'x' });
    assert.notEqual(other, odd);
    assert.equal(reg.resolve(JSON.parse('{"__proto__":"x","__name__":"m"}') as Record<string, string>), odd);
    assert.equal(reg.stats().created, 3);
  });

  it('keeps a label named __proto__ as data and tells near-equal sets apart', () => {
    const reg = createSeriesRegistry();
    const odd = JSON.parse('{"__name__":"m","__proto__":"x"}') as Record<string, string>;
    const h = reg.resolve(odd);
    assert.deepEqual(Object.keys(h.labels), ['__name__', '__proto__']);
    assert.equal(Object.getOwnPropertyDescriptor(h.labels, '__proto__')?.value, 'x');
    const a = reg.resolve({ __name__: 'm', a: 'xy', b: 'z' });
    const b = reg.resolve({ __name__: 'm', a: 'x', b: 'yz' });
    const c = reg.resolve({ __name__: 'm', a: 'xy' });
    assert.notEqual(a, b);
    assert.notEqual(a, c);
    assert.equal(reg.stats().created, 4);
  });

  it('does not re-validate a cached object: it is frozen, so mutation throws instead of going unnoticed', () => {
    const reg = createSeriesRegistry();
    const labels: Record<string, string> = { __name__: 'up' };
    reg.resolve(labels);
    assert.throws(() => {
      labels.job = 'x';
    }, TypeError);
  });

  it('stops remembering (and freezing) new objects of a series built afresh on every append', () => {
    const reg = createSeriesRegistry();
    const objects = Array.from({ length: 5 }, () => ({ __name__: 'up', job: 'a' }));
    const handles = objects.map((o) => reg.resolve(o));
    for (const h of handles) assert.equal(h, handles[0]);
    assert.deepEqual(
      objects.map((o) => Object.isFrozen(o)),
      [true, true, true, false, false],
    );
    assert.equal(reg.stats().created, 1);
  });

  it('shares interned strings between series', () => {
    const reg = createSeriesRegistry();
    const a = reg.resolve({ __name__: 'up', job: 'a' });
    const b = reg.resolve({ __name__: 'up', job: 'b' });
    assert.equal(a.pairs[0], b.pairs[0]);
    assert.equal(a.pairs[1], b.pairs[1]);
    assert.notEqual(a.pairs[3], b.pairs[3]);
  });

  it('finds a handle the caller still holds after it left the retention ring', () => {
    const reg = createSeriesRegistry({ maxCachedSeries: 4 });
    const first = reg.resolve({ __name__: 'm', i: '0' });
    for (let i = 1; i < 10; i++) reg.resolve({ __name__: 'm', i: String(i) });
    // `first` is still held here, so content lookup must find it (one handle per label set).
    assert.equal(reg.resolve({ __name__: 'm', i: '0' }), first);
    assert.equal(reg.stats().created, 10);
  });

  it('drops index entries of collected handles (bounded under churn)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const reg = createSeriesRegistry({ maxCachedSeries: 8 });
    for (let i = 0; i < 2000; i++) reg.resolve({ __name__: 'm', i: String(i) });
    assert.equal(reg.stats().indexed, 2000);
    for (let round = 0; round < 20 && reg.stats().indexed > 8; round++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(reg.stats().indexed <= 8, `indexed ${reg.stats().indexed}`);
  });

  it('rejects invalid labels with a TypeError before caching anything', () => {
    const reg = createSeriesRegistry();
    const bad = { __name__: 'up', job: '' };
    assert.throws(() => reg.resolve(bad), /label job has an empty value/);
    assert.throws(() => reg.resolve(bad), /label job has an empty value/);
    assert.equal(Object.isFrozen(bad), false);
    assert.throws(() => reg.resolve(null as unknown as Record<string, string>), TypeError);
  });

  it('validates exemplar labels without requiring __name__', () => {
    const reg = createSeriesRegistry();
    const pairs = reg.exemplarPairs({ trace_id: 'abc', span_id: 'def' });
    assert.deepEqual(
      pairs.map((p) => p.str),
      ['span_id', 'def', 'trace_id', 'abc'],
    );
    assert.throws(() => reg.exemplarPairs({ '': 'x' }), /invalid exemplar label name ""/);
    assert.equal(reg.exemplarPairs({ 'trace.id': 'x' })[0].str, 'trace.id');
    const legacy = createSeriesRegistry({ nameValidationScheme: 'legacy' });
    assert.throws(() => legacy.exemplarPairs({ 'trace-id': 'x' }), /invalid exemplar label name "trace-id"/);
  });

  it('validates series by its nameValidationScheme: utf8 by default, legacy when asked', () => {
    const labels = { __name__: 'resource.cpu.usage', 'service.name': 'api' };
    const reg = createSeriesRegistry();
    assert.equal(reg.nameValidationScheme, 'utf8');
    assert.deepEqual(reg.resolve({ ...labels }).labels, labels);
    const legacy = createSeriesRegistry({ nameValidationScheme: 'legacy' });
    assert.equal(legacy.nameValidationScheme, 'legacy');
    assert.throws(
      () => legacy.resolve({ ...labels }),
      /invalid label name "service.name": must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*/,
    );
    assert.throws(
      () => legacy.resolve({ __name__: 'resource.cpu.usage' }),
      /invalid metric name __name__="resource.cpu.usage": must match \[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*/,
    );
  });
});
