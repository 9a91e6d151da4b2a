import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptHeader,
  formatOfProtocol,
  negotiateFormat,
  SCRAPE_ACCEPT_HEADER,
} from '../../src/scrape/content-type.js';

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
  it('chooses the protobuf format for application/vnd.google.protobuf (parameters not checked, as Prometheus)', () => {
    assert.deepEqual(
      negotiateFormat('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'),
      { ok: true, format: 'protobuf' },
    );
    assert.deepEqual(negotiateFormat('application/vnd.google.protobuf'), { ok: true, format: 'protobuf' });
    assert.deepEqual(negotiateFormat('', 'protobuf'), {
      ok: true,
      format: 'protobuf',
      warning: 'non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol protobuf',
    });
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

describe("acceptHeader (Prometheus' scrape acceptHeader)", () => {
  it('gives Prometheus 3 default protocols with escaping the header Prometheus 3 sends', () => {
    assert.equal(
      acceptHeader(
        ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'],
        'allow-utf-8',
      ),
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    );
  });
  it('puts PrometheusProto first when native histograms are scraped', () => {
    assert.equal(
      acceptHeader(['PrometheusProto', 'OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText0.0.4']),
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    );
  });
  it('differs from the fixed Prometheus 2 header only in its weights', () => {
    const h = acceptHeader(['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText0.0.4']);
    assert.equal(
      h.replace(/q=0\.(\d)/g, (_, d) => `q=0.${Number(d) - 1}`),
      SCRAPE_ACCEPT_HEADER,
    );
  });
  it('maps protocols to parsers', () => {
    assert.equal(formatOfProtocol('PrometheusProto'), 'protobuf');
    assert.equal(formatOfProtocol('OpenMetricsText0.0.1'), 'openmetrics-1.0.0');
    assert.equal(formatOfProtocol('PrometheusText1.0.0'), 'text-0.0.4');
  });
});
