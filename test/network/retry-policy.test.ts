import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, classifyStatus, parseRetryAfterMs, retryDelayMs } from '../../src/network/retry-policy.js';

describe('retry policy', () => {
  it('classifies statuses', () => {
    assert.deepEqual(
      [200, 204, 400, 404, 413, 429, 500, 503, 302].map((s) => classifyStatus(s, true)),
      ['success', 'success', 'drop', 'drop', 'drop', 'retry', 'retry', 'retry', 'drop'],
    );
    assert.equal(classifyStatus(429, false), 'drop');
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs('2', now), 2000);
    assert.equal(parseRetryAfterMs(' 0 ', now), 0);
    assert.equal(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfterMs('soon', now), undefined);
    assert.equal(parseRetryAfterMs('-3', now), undefined);
    assert.equal(parseRetryAfterMs(undefined, now), undefined);
  });

  it('backs off exponentially with full jitter between min and max', () => {
    assert.equal(
      backoffDelayMs(1, 30, 5000, () => 0),
      30,
    );
    assert.equal(
      backoffDelayMs(1, 30, 5000, () => 1),
      60,
    );
    assert.equal(
      backoffDelayMs(3, 30, 5000, () => 1),
      240,
    );
    assert.equal(
      backoffDelayMs(20, 30, 5000, () => 1),
      5000,
    );
    assert.equal(
      backoffDelayMs(2000, 30, 5000, () => 0.5),
      2515,
    );
  });

  it('prefers Retry-After, capped', () => {
    const opts = { minBackoffMs: 30, maxBackoffMs: 5000, maxRetryAfterMs: 10_000 };
    assert.equal(
      retryDelayMs(1, 2000, opts, () => 0),
      2000,
    );
    assert.equal(
      retryDelayMs(1, 3_600_000, opts, () => 0),
      10_000,
    );
    assert.equal(
      retryDelayMs(1, undefined, opts, () => 0),
      30,
    );
  });
});
