/**
 * The decoders and Prometheus 3's names: UTF-8 metric and label names pass through; bytes that
 * are not valid UTF-8 are refused naming the series; 2.0 label refs in any order are sorted on
 * receipt (duplicates still refused). Which names a scheme allows is the series registry's
 * judgement (test/serialization/series.test.ts, test/daemon/receiver-names.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PromspoolError } from '../../src/errors.js';
import { decodeWriteRequestV1 } from '../../src/wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../../src/wire/rw2-decoder.js';
import type { RemoteWriteVisitor } from '../../src/wire/types.js';
import { rawRequestV2, rawWriteRequestV1 } from '../helpers/raw-remote-write.js';
import { encodeWriteRequestV1, encodeWriteRequestV2 } from '../helpers/remote-write-client.js';
import { nullVisitor } from './visitor-recorder.js';

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PromspoolError, `not a PromspoolError: ${err}`);
    assert.equal(err.code, 'ERR_BAD_REQUEST');
    assert.match(err.message, message);
    return true;
  });
}

/** Records each series' labels as the decoder hands them over (order kept), and the knownSeries keys. */
function orderVisitor(withKeys = false) {
  const series: string[][] = [];
  const keys: string[] = [];
  const exemplars: string[][] = [];
  const metadata: string[] = [];
  const visitor: RemoteWriteVisitor = {
    series: (labels) => void series.push([...labels]),
    sample() {},
    histogram() {},
    exemplar: (labels) => void exemplars.push([...labels]),
    metadata: (m) => void metadata.push(`${m.metricFamilyName} ${m.help} ${m.unit}`),
  };
  if (withKeys) {
    visitor.knownSeries = (key, start, end) => {
      keys.push(Buffer.from(key.subarray(start, end)).toString('hex'));
      return false;
    };
  }
  return { visitor, series, keys, exemplars, metadata };
}

/** Prometheus 3 names: OpenTelemetry-style dots, non-Latin scripts, emoji, a leading digit, `__` prefixes. */
const UTF8_SERIES: Record<string, string>[] = [
  { __name__: 'resource.cpu.usage', 'service.name': 'api', job: 'otel' },
  { __name__: 'http_requests_total', 'http.status_code': '200', 'http.method': 'GET' },
  { __name__: 'запросы_всего', 名前: '値', ünï: 'ç' },
  { __name__: '😀_total', '🔥': 'hot', '1st': 'x' },
  { __name__: 'up', __tenant__: 'a' },
];

/** Names and values interleaved, sorted by name bytes (as Go and the decoders order them). */
function sortedPairs(labels: Record<string, string>): string[] {
  return Object.entries(labels)
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .flat();
}

describe('decoders: UTF-8 names', () => {
  it('1.0 hands UTF-8 metric and label names over exactly', () => {
    const { visitor, series } = orderVisitor();
    decodeWriteRequestV1(encodeWriteRequestV1(UTF8_SERIES.map((labels) => ({ labels, samples: [[1, 1]] }))), visitor);
    assert.deepEqual(series, UTF8_SERIES.map(sortedPairs));
  });

  it('2.0 hands UTF-8 metric and label names over exactly, and names the metadata after a UTF-8 metric name', () => {
    const { visitor, series, metadata } = orderVisitor();
    const body = encodeWriteRequestV2(
      UTF8_SERIES.map((labels) => ({
        labels,
        samples: [[1, 1]],
        metadata: { type: 'gauge' as const, help: 'ヘルプ', unit: 'seconds' },
      })),
    );
    decodeWriteRequestV2(body, visitor);
    assert.deepEqual(series, UTF8_SERIES.map(sortedPairs));
    assert.equal(metadata[0], 'resource.cpu.usage ヘルプ seconds');
  });
});

describe('decoders: bytes that are not valid UTF-8', () => {
  const ok: [string, string][] = [
    ['__name__', 'up'],
    ['job', 'a'],
  ];
  const cases: [string, [string | number[], string | number[]][], RegExp][] = [
    [
      'a label name with byte 0xff',
      [
        ['__name__', 'up'],
        [[0x61, 0xff], 'x'],
      ],
      /label name "a\uFFFD"/,
    ],
    [
      'a label value with an encoded lone surrogate',
      [
        ['__name__', 'up'],
        ['job', [0xed, 0xa0, 0x80]],
      ],
      /value of label "job"/,
    ],
    [
      'a metric name cut inside a character',
      [
        ['__name__', [0x75, 0x70, 0xc3]],
        ['job', 'a'],
      ],
      /value of label "__name__"/,
    ],
    [
      'an overlong encoding in a label name, with an empty value',
      [
        ['__name__', 'up'],
        [[0xc0, 0xaf], ''],
      ],
      /label name "\uFFFD\uFFFD"/,
    ],
  ];

  for (const [what, labels, which] of cases) {
    it(`1.0 refuses ${what}, naming the series and the label`, () => {
      const body = rawWriteRequestV1([
        { labels: ok, samples: [[1, 1]] },
        { labels, samples: [[1, 1]] },
      ]);
      badRequest(() => decodeWriteRequestV1(body, nullVisitor), /^bad remote-write request: timeseries\[1\]: /);
      badRequest(() => decodeWriteRequestV1(body, nullVisitor), which);
      badRequest(() => decodeWriteRequestV1(body, nullVisitor), /is not valid UTF-8, in series \{__name__="up/);
    });

    it(`2.0 refuses ${what} as a symbol, naming the series and the label`, () => {
      const symbols = [''];
      const refs: number[] = [];
      for (const pair of labels)
        for (const part of pair) {
          refs.push(symbols.length);
          symbols.push(part as string);
        }
      // Empty parts are the empty symbol 0, as senders write them.
      for (let i = 0; i < refs.length; i++) if (symbols[refs[i]] === '') refs[i] = 0;
      const body = rawRequestV2(symbols, [{ labelsRefs: refs, samples: [{ value: 1, timestamp: 1 }] }]);
      badRequest(() => decodeWriteRequestV2(body, nullVisitor), /^bad remote-write request: timeseries\[0\]: /);
      badRequest(() => decodeWriteRequestV2(body, nullVisitor), which);
      badRequest(() => decodeWriteRequestV2(body, nullVisitor), /\(symbol \d+\) is not valid UTF-8, in series \{/);
    });
  }

  it('1.0 names the series by every label, the bad bytes shown as U+FFFD', () => {
    const body = rawWriteRequestV1([
      {
        labels: [
          ['__name__', 'http.requests'],
          ['http.route', [0x2f, 0xfe]],
          ['job', 'api'],
        ],
        samples: [[1, 1]],
      },
    ]);
    badRequest(
      () => decodeWriteRequestV1(body, nullVisitor),
      /timeseries\[0\]: value of label "http.route" is not valid UTF-8, in series \{__name__="http.requests", "http.route"="\/\uFFFD", job="api"\}/,
    );
  });

  it('2.0 takes a symbol that is not valid UTF-8 when nothing uses it (Prometheus decodes any bytes)', () => {
    const { visitor, series } = orderVisitor();
    const body = rawRequestV2(['', '__name__', 'up', [0xff, 0xfe]], [{ labelsRefs: [1, 2], samples: [{ value: 1 }] }]);
    decodeWriteRequestV2(body, visitor);
    assert.deepEqual(series, [['__name__', 'up']]);
  });

  it('2.0 refuses such a symbol where metadata or an exemplar uses it', () => {
    const bad = [0x68, 0xff];
    badRequest(
      () =>
        decodeWriteRequestV2(
          rawRequestV2(
            ['', '__name__', 'up', bad],
            [{ labelsRefs: [1, 2], samples: [{ value: 1 }], metadata: { type: 2, helpRef: 3 } }],
          ),
          nullVisitor,
        ),
      /timeseries\[0\]: metadata help \(symbol 3\) is not valid UTF-8/,
    );
    badRequest(
      () =>
        decodeWriteRequestV2(
          rawRequestV2(
            ['', '__name__', 'up', bad, 'abc'],
            [{ labelsRefs: [1, 2], samples: [{ value: 1 }], exemplars: [{ labelsRefs: [3, 4], value: 1 }] }],
          ),
          nullVisitor,
        ),
      /timeseries\[0\]: exemplar label name \(symbol 3\) is not valid UTF-8/,
    );
  });
});

describe('decodeWriteRequestV2: label refs in any order', () => {
  const SYMBOLS = ['', '__name__', 'http.requests', 'job', 'api', 'é', '1', 'a.b', '2', 'ab', '3'];
  // Sorted by name bytes: __name__ (0x5f) < a.b < ab < job < é (0xc3).
  const SORTED = [1, 2, 7, 8, 9, 10, 3, 4, 5, 6];

  it('sorts refs not sorted by name on receipt: the series is the one a sorted request sends', () => {
    const unsortedOrders = [
      [5, 6, 3, 4, 1, 2, 9, 10, 7, 8],
      [3, 4, 1, 2, 7, 8, 9, 10, 5, 6],
      [1, 2, 9, 10, 7, 8, 3, 4, 5, 6],
    ];
    const sorted = orderVisitor(true);
    decodeWriteRequestV2(rawRequestV2(SYMBOLS, [{ labelsRefs: SORTED, samples: [{ value: 1 }] }]), sorted.visitor);
    const expected = ['__name__', 'http.requests', 'a.b', '2', 'ab', '3', 'job', 'api', 'é', '1'];
    assert.deepEqual(sorted.series, [expected]);
    for (const refs of unsortedOrders) {
      const got = orderVisitor(true);
      const counts = decodeWriteRequestV2(
        rawRequestV2(SYMBOLS, [{ labelsRefs: refs, samples: [{ value: 1 }, { value: 2, timestamp: 5 }] }]),
        got.visitor,
      );
      assert.equal(counts.samples, 2);
      assert.deepEqual(got.series, [expected], `refs ${refs}`);
      // The series cache key too: an unsorted request hits the series a sorted one created.
      assert.deepEqual(got.keys, sorted.keys, `refs ${refs}`);
    }
  });

  it('names metadata after __name__ wherever its ref was', () => {
    const got = orderVisitor();
    decodeWriteRequestV2(
      rawRequestV2(SYMBOLS, [
        { labelsRefs: [3, 4, 1, 2], samples: [{ value: 1 }], metadata: { type: 1, helpRef: 4, unitRef: 0 } },
      ]),
      got.visitor,
    );
    assert.deepEqual(got.metadata, ['http.requests api ']);
  });

  it('still refuses duplicate names, sorted next to each other or not, naming the label and the series', () => {
    for (const refs of [
      [3, 4, 1, 2, 3, 6],
      [1, 2, 3, 4, 3, 6],
      [3, 6, 5, 6, 1, 2, 3, 4],
    ]) {
      badRequest(
        () => decodeWriteRequestV2(rawRequestV2(SYMBOLS, [{ labelsRefs: refs, samples: [{ value: 1 }] }]), nullVisitor),
        /timeseries\[0\]: duplicate label name "job" in series \{__name__="http.requests", (job="api", job="1"|job="1", job="api")/,
      );
    }
  });
});
