// Cases from github.com/prometheus/otlptranslator metric_namer_test.go and label_namer_test.go
// (v1.0, the library behind Prometheus 3's OTLP endpoint), without namespaces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  labelName,
  metadataUnit,
  metricName,
  type OtelMetricKind,
  type TranslationStrategy,
} from '../../src/otel/naming.js';

type Case = [name: string, unit: string, kind: OtelMetricKind, strategy: TranslationStrategy, want: string];

const ESC = 'UnderscoreEscapingWithSuffixes';
const ESC_NO_SUFFIX = 'UnderscoreEscapingWithoutSuffixes';
const UTF8 = 'NoUTF8EscapingWithSuffixes';

const cases: Case[] = [
  ['simple_metric', '', 'gauge', ESC_NO_SUFFIX, 'simple_metric'],
  ['metric@with#special$chars', '', 'gauge', ESC_NO_SUFFIX, 'metric_with_special_chars'],
  ['123metric', '', 'gauge', ESC_NO_SUFFIX, '_123metric'],
  ['metric@@##$$name', '', 'gauge', ESC_NO_SUFFIX, 'metric_name'],
  ['___', '', 'gauge', ESC_NO_SUFFIX, '___'],
  ['http.server.duration', 'ms', 'histogram', ESC_NO_SUFFIX, 'http_server_duration'],
  ['requests', '', 'monotonic-counter', ESC, 'requests_total'],
  ['cpu_usage', '1', 'gauge', ESC, 'cpu_usage_ratio'],
  ['items', '1', 'monotonic-counter', ESC, 'items_total'],
  ['response_time', 'ms', 'gauge', ESC, 'response_time_milliseconds'],
  ['memory_usage', 'By', 'gauge', ESC, 'memory_usage_bytes'],
  ['requests', '1/s', 'gauge', ESC, 'requests_per_second'],
  ['throughput', 'By/s', 'gauge', ESC, 'throughput_bytes_per_second'],
  ['custom_metric', 'custom_unit', 'gauge', ESC, 'custom_metric_custom_unit'],
  ['custom_metric', '{custom}', 'gauge', ESC, 'custom_metric'],
  ['custom_metric', 'By/{custom}', 'gauge', ESC, 'custom_metric_bytes'],
  ['requests_total', '', 'monotonic-counter', ESC, 'requests_total'],
  ['cpu_usage_ratio', '1', 'gauge', ESC, 'cpu_usage_ratio'],
  ['response_time_seconds', 's', 'gauge', ESC, 'response_time_seconds'],
  ['123_requests', '', 'monotonic-counter', ESC, '_123_requests_total'],
  [
    'metric__with__multiple__underscores',
    'unit__multiple__underscores',
    'gauge',
    ESC,
    'metric_with_multiple_underscores_unit_multiple_underscores',
  ],
  ['custom_metric', 'unit@with#special/chars', 'gauge', ESC, 'custom_metric_unit_with_special_per_chars'],
  ['request_duration', 's', 'histogram', ESC, 'request_duration_seconds'],
  ['request_size', 'By', 'exponential-histogram', ESC, 'request_size_bytes'],
  ['active_connections', '', 'non-monotonic-counter', ESC, 'active_connections'],
  ['uptime', 'd', 'gauge', ESC, 'uptime_days'],
  ['http.server.duration', 'ms', 'histogram', ESC, 'http_server_duration_milliseconds'],
  ['http.server.request.count', '{request}', 'monotonic-counter', ESC, 'http_server_request_count_total'],
  ['requests_total', '', 'monotonic-counter', UTF8, 'requests_total'],
  ['cpu_usage_ratio', '1', 'gauge', UTF8, 'cpu_usage_ratio'],
  ['cpu_seconds_total', 's', 'monotonic-counter', UTF8, 'cpu_seconds_total'],
  ['otelcol_process_cpu_seconds', 's', 'monotonic-counter', UTF8, 'otelcol_process_cpu_seconds_total'],
  ['requêsts', '', 'monotonic-counter', UTF8, 'requêsts_total'],
  ['respønse_time', 'ms', 'gauge', UTF8, 'respønse_time_milliseconds'],
  ['requêsts', '1/s', 'gauge', UTF8, 'requêsts_per_second'],
  ['requêsts', '1/s', 'monotonic-counter', UTF8, 'requêsts_per_second_total'],
  ['@#$%', '', 'monotonic-counter', UTF8, '@#$%_total'],
  ['http.server.duration', 'ms', 'histogram', UTF8, 'http.server.duration_milliseconds'],
  ['métric_with_ñ_chars', '', 'gauge', 'NoTranslation', 'métric_with_ñ_chars'],
  ['http.server.duration', 'ms', 'histogram', 'NoTranslation', 'http.server.duration'],
];

test('metricName: otlptranslator MetricNamer cases', () => {
  for (const [name, unit, kind, strategy, want] of cases) {
    assert.equal(metricName(name, unit, kind, strategy), want, `${name} ${unit} ${kind} ${strategy}`);
  }
});

test('metricName: names that escape to nothing are errors naming the metric', () => {
  assert.throws(() => metricName('', '', 'gauge', ESC_NO_SUFFIX), /OTel metric "": its Prometheus name is empty/);
  assert.throws(() => metricName('@#$%', '', 'gauge', ESC), /OTel metric "@#\$%": its Prometheus name is empty/);
  assert.throws(() => metricName('@_#_$_%', '', 'gauge', ESC_NO_SUFFIX), /name "_____" is invalid/);
});

test('metadataUnit: UnitNamer without UTF-8', () => {
  assert.equal(metadataUnit('ms'), 'milliseconds');
  assert.equal(metadataUnit('By/s'), 'bytes_per_second');
  assert.equal(metadataUnit('1/s'), 'per_second');
  assert.equal(metadataUnit('1'), '');
  assert.equal(metadataUnit('{request}'), '');
  assert.equal(metadataUnit('By/{custom}'), 'bytes');
  assert.equal(metadataUnit('unit__multiple__underscores'), 'unit_multiple_underscores');
  assert.equal(metadataUnit('%'), 'percent');
});

test('labelName: escaping replaces invalid characters, collapses underscores, prefixes digits', () => {
  assert.equal(labelName('label:with:colons', true), 'label_with_colons');
  assert.equal(labelName('http.request.method', true), 'http_request_method');
  assert.equal(labelName('LabelWithCapitalLetters', true), 'LabelWithCapitalLetters');
  assert.equal(labelName('label!with&special$chars)', true), 'label_with_special_chars_');
  assert.equal(labelName('label_with_foreign_characters_字符', true), 'label_with_foreign_characters_');
  assert.equal(labelName('label.with.dots', true), 'label_with_dots');
  assert.equal(labelName('123label', true), 'key_123label');
  assert.equal(labelName('_label_starting_with_underscore', true), '_label_starting_with_underscore');
  assert.equal(labelName('__label_starting_with_2underscores', true), '_label_starting_with_2underscores');
  assert.equal(labelName('__reserved__', true), '__reserved__');
  assert.equal(labelName('a__b', true), 'a_b');
  assert.throws(() => labelName('', true), /OTel attribute key is empty/);
  assert.throws(() => labelName('___', true), /OTel attribute key "___": its label name "_" is invalid/);
});

test('labelName: UTF-8 keeps keys as they are but refuses only-underscore ones', () => {
  assert.equal(labelName('http.request.method', false), 'http.request.method');
  assert.equal(labelName('字符', false), '字符');
  assert.throws(() => labelName('__', false), /contains only underscores/);
});
