/**
 * Label sets of OTel data points as Prometheus' OTLP endpoint builds them
 * (prometheusremotewrite/helper.go createAttributes and metrics_to_prw.go setResourceContext).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { Labels } from '../serialization/types.js';
import { labelName } from './naming.js';

/** The resource attributes that make `job` and `instance` (OTel semantic conventions). */
export const SERVICE_NAME = 'service.name';
export const SERVICE_NAMESPACE = 'service.namespace';
export const SERVICE_INSTANCE_ID = 'service.instance.id';
export const IDENTIFYING_ATTRIBUTES: readonly string[] = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];

/**
 * An attribute value as pdata's `Value.AsString` spells it: strings as they are, numbers as
 * ECMAScript prints them (pdata converts "as if by ES6 number to string"), arrays as JSON.
 */
export function attributeString(value: AttributeValue): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

/** What every label set of one resource shares, computed once per resource. */
export interface ResourceLabels {
  /** `service.namespace/service.name`, or `service.name`; absent without `service.name`. */
  job?: string;
  /** `service.instance.id`. */
  instance?: string;
  /** Resource attributes promoted to labels on every series (sanitized names). */
  promoted: Labels;
}

/** The `job`/`instance` and promoted labels of a resource. */
export function resourceLabels(attributes: Attributes, escaping: boolean, promote: readonly string[]): ResourceLabels {
  const out: ResourceLabels = { promoted: {} };
  const name = attributes[SERVICE_NAME];
  if (name !== undefined && name !== null) {
    const namespace = attributes[SERVICE_NAMESPACE];
    out.job =
      namespace !== undefined && namespace !== null
        ? `${attributeString(namespace)}/${attributeString(name)}`
        : attributeString(name);
  }
  const instance = attributes[SERVICE_INSTANCE_ID];
  if (instance !== undefined && instance !== null) out.instance = attributeString(instance);
  for (const key of promote) {
    const v = attributes[key];
    if (v === undefined || v === null) continue;
    const s = attributeString(v);
    if (s !== '') out.promoted[labelName(key, escaping)] = s;
  }
  return out;
}

/**
 * The labels of one data point: its attributes (sorted by key; under escaping, keys that collide
 * after sanitization get their values joined with `;` in key order; `__name__` dropped), the
 * promoted resource labels where the point has none of that name, then `job` and `instance`
 * (always winning), then `extras` (`__name__`, `le`). Empty values mean "no label".
 * Throws an Error naming an attribute key that cannot be a label name.
 */
export function pointLabels(
  attributes: Attributes,
  resource: ResourceLabels,
  escaping: boolean,
  extras: Labels,
  ignore: readonly string[] = [],
): Labels {
  const labels: Labels = {};
  const keys = Object.keys(attributes).sort();
  for (const key of keys) {
    if (key === '__name__' || ignore.includes(key)) continue;
    const raw = attributes[key];
    if (raw === undefined || raw === null) continue;
    const value = attributeString(raw);
    if (value === '') continue;
    if (!escaping) {
      labels[key] = value;
      continue;
    }
    const name = labelName(key, true);
    const existing = labels[name];
    labels[name] = existing !== undefined ? `${existing};${value}` : value;
  }
  for (const [name, value] of Object.entries(resource.promoted)) {
    if (labels[name] === undefined) labels[name] = value;
  }
  if (resource.job !== undefined && resource.job !== '') labels.job = resource.job;
  if (resource.instance !== undefined && resource.instance !== '') labels.instance = resource.instance;
  for (const [name, value] of Object.entries(extras)) {
    if (value === '') delete labels[name];
    else labels[name] = value;
  }
  return labels;
}
