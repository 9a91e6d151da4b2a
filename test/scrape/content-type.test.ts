import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiateFormat } from '../../src/scrape/content-type.js';

describe("negotiateFormat (Prometheus' textparse.New media-type choice)", () => {
  it('chooses by media type alone, as Prometheus (the version parameter is not checked)', () => {
    assert.deepEqual(negotiateFormat('text/plain; version=0.0.4; charset=utf-8'), { ok: true, format: 'text-0.0.4' });
    assert.deepEqual(negotiateFormat('text/plain'), { ok: true, format: 'text-0.0.4' });
    assert.deepEqual(negotiateFormat('TEXT/PLAIN;charset=utf-8'), { ok: true, format: 'text-0.0.4' });
    assert.deepEqual(negotiateFormat('application/openmetrics-text; version=1.0.0; charset=utf-8'), {
      ok: true,
      format: 'openmetrics-1.0.0',
    });
    assert.deepEqual(negotiateFormat('application/openmetrics-text; version=0.0.1'), {
      ok: true,
      format: 'openmetrics-1.0.0',
    });
  });
  it('refuses protobuf for now, naming why', () => {
    assert.deepEqual(
      negotiateFormat('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'),
      { ok: false, reason: 'the protobuf exposition format (native histograms) is not supported yet' },
    );
  });
  it('refuses a blank, unparseable or unknown type without a fallback', () => {
    assert.deepEqual(negotiateFormat(undefined), {
      ok: false,
      reason: 'non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol',
    });
    assert.deepEqual(negotiateFormat('text/html'), {
      ok: false,
      reason: 'received unsupported Content-Type "text/html" and no fallback_scrape_protocol',
    });
    assert.deepEqual(negotiateFormat('nonsense'), {
      ok: false,
      reason: 'cannot parse Content-Type "nonsense" and no fallback_scrape_protocol',
    });
  });
  it('uses the fallback with a warning', () => {
    assert.deepEqual(negotiateFormat('', 'text-0.0.4'), {
      ok: true,
      format: 'text-0.0.4',
      warning: 'non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol text-0.0.4',
    });
    assert.deepEqual(negotiateFormat('application/json', 'openmetrics-1.0.0'), {
      ok: true,
      format: 'openmetrics-1.0.0',
      warning: 'received unsupported Content-Type "application/json", using fallback_scrape_protocol openmetrics-1.0.0',
    });
  });
});
