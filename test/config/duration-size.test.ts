import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurationSyntaxError, formatDuration, parseDuration } from '../../src/config/duration.js';
import { formatSize, parseSize, SizeSyntaxError } from '../../src/config/size.js';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['0h0m', 0],
    ['1ms', 1],
    ['30s', 30_000],
    ['1m', 60_000],
    ['90m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    // 31536000000 + 2*604800000 + 3*86400000 + 4*3600000 + 5*60000 + 6*1000 + 7
    ['1y2w3d4h5m6s7ms', 33_019_506_007],
    ['5m500ms', 300_500],
  ];
  for (const [text, ms] of valid) {
    it(`parses ${JSON.stringify(text)} as ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  const invalid: [string, string][] = [
    ['', 'empty duration'],
    ['-1s', 'invalid duration "-1s": durations cannot be negative'],
    ['+5s', 'invalid duration "+5s": a sign is not allowed'],
    ['1.5h', 'invalid duration "1.5h": fractions are not allowed, use a smaller unit (e.g. "1h30m", "1500ms")'],
    ['30', 'invalid duration "30": missing unit (did you mean "30s"?)'],
    ['5 s', 'invalid duration "5 s": spaces are not allowed'],
    [' 5s', 'invalid duration " 5s": spaces are not allowed'],
    ['5x', 'invalid duration "5x": unknown unit "x" (units are y, w, d, h, m, s, ms)'],
    ['1S', 'invalid duration "1S": unknown unit "S" (units are y, w, d, h, m, s, ms)'],
    [
      '1m1h',
      'invalid duration "1m1h": expected whole numbers with units y, w, d, h, m, s, ms in that order, e.g. "30s" or "1h30m"',
    ],
    [
      '1h1h',
      'invalid duration "1h1h": expected whole numbers with units y, w, d, h, m, s, ms in that order, e.g. "30s" or "1h30m"',
    ],
    [
      'ms',
      'invalid duration "ms": expected whole numbers with units y, w, d, h, m, s, ms in that order, e.g. "30s" or "1h30m"',
    ],
    ['99999999999y', 'invalid duration "99999999999y": too large'],
  ];
  for (const [text, message] of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseDuration(text),
        (e: unknown) => e instanceof DurationSyntaxError && e.message === message,
      );
    });
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [1, '1ms'],
    [1_500, '1s500ms'],
    [5_400_000, '1h30m'],
    [604_800_000, '1w'],
    // 90 days: weeks are not exact, so days (Prometheus prints 90d, not 12w6d).
    [90 * 86_400_000, '90d'],
    [8 * 86_400_000, '8d'],
    [31_536_000_000, '1y'],
    // Years and weeks only when exact: 365d + 14d + 3d = 382d.
    [33_019_506_007, '382d4h5m6s7ms'],
  ];
  for (const [ms, text] of cases) {
    it(`formats ${ms} as ${text} and parses back`, () => {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    });
  }
  it('refuses negative and fractional values', () => {
    assert.throws(() => formatDuration(-1), RangeError);
    assert.throws(() => formatDuration(1.5), RangeError);
  });
});

describe('parseSize', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['123', 123],
    ['7B', 7],
    ['10KiB', 10_240],
    ['32MiB', 33_554_432],
    ['10GiB', 10_737_418_240],
    ['1TiB', 1_099_511_627_776],
    ['1KB', 1_000],
    ['1kB', 1_000],
    ['500MB', 500_000_000],
    ['2GB', 2_000_000_000],
    ['1TB', 1_000_000_000_000],
  ];
  for (const [text, bytes] of valid) {
    it(`parses ${JSON.stringify(text)} as ${bytes} bytes`, () => {
      assert.equal(parseSize(text), bytes);
    });
  }

  const units = 'B, KB, MB, GB, TB, KiB, MiB, GiB, TiB';
  const invalid: [string, string][] = [
    ['', 'empty size'],
    ['-1', 'invalid size "-1": sizes cannot be negative'],
    ['1.5GiB', 'invalid size "1.5GiB": fractions are not allowed, use a smaller unit (e.g. "1536MiB")'],
    ['10 MiB', 'invalid size "10 MiB": spaces are not allowed'],
    ['10XB', `invalid size "10XB": unknown unit "XB" (${units})`],
    ['10mib', `invalid size "10mib": unknown unit "mib" (${units})`],
    ['MiB', `invalid size "MiB": expected a whole number of bytes, optionally with a unit (${units}), e.g. "32MiB"`],
    ['99999999TiB', 'invalid size "99999999TiB": too large'],
  ];
  for (const [text, message] of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseSize(text),
        (e: unknown) => e instanceof SizeSyntaxError && e.message === message,
      );
    });
  }
});

describe('formatSize', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [1_000, '1000B'],
    [1_536, '1536B'],
    [1_024, '1KiB'],
    [33_554_432, '32MiB'],
    [10_737_418_240, '10GiB'],
    [1_099_511_627_776, '1TiB'],
  ];
  for (const [bytes, text] of cases) {
    it(`formats ${bytes} as ${text}`, () => {
      assert.equal(formatSize(bytes), text);
      assert.equal(parseSize(text), bytes);
    });
  }
});
