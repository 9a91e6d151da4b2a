/**
 * A discovered target's labels -> the target to scrape, as Prometheus' `PopulateLabels`
 * (scrape/target.go) does it: the group's labels under the target's own, the job's settings as
 * `job`, `__address__`-less defaults (`__scheme__`, `__metrics_path__`, `__scrape_interval__`,
 * `__scrape_timeout__`, `__param_<name>`), then `relabel_configs`; a target without an address,
 * with a URL for an address, with bad durations or invalid label values is refused with the
 * reason Prometheus gives. As Prometheus 3, no default port is added to the address.
 */
import { DurationSyntaxError, formatDuration, parseDuration } from '../config/duration.js';
import type { ScrapeConfig } from '../config/types.js';
import type { TargetGroup } from '../discovery/types.js';
import type { Relabeler } from '../relabel/engine.js';
import { compareUtf8 } from '../serialization/label-order.js';
import { isWellFormedString } from '../serialization/name-validation.js';
import type { Labels } from '../serialization/types.js';
import type { ScrapeTarget } from './loop-types.js';

export const ADDRESS_LABEL = '__address__';
export const SCHEME_LABEL = '__scheme__';
export const METRICS_PATH_LABEL = '__metrics_path__';
export const SCRAPE_INTERVAL_LABEL = '__scrape_interval__';
export const SCRAPE_TIMEOUT_LABEL = '__scrape_timeout__';
export const PARAM_LABEL_PREFIX = '__param_';
export const META_LABEL_PREFIX = '__meta_';

/** What became of one discovered target. */
export type TargetLabelsResult =
  | { readonly kind: 'target'; readonly target: ScrapeTarget }
  /** `relabel_configs` dropped it (Prometheus keeps these as "dropped targets" on /targets). */
  | { readonly kind: 'dropped'; readonly discoveredLabels: Readonly<Labels> }
  /** Refused, with Prometheus' reason ("no address", "scrape interval cannot be 0", ...). */
  | { readonly kind: 'invalid'; readonly discoveredLabels: Readonly<Labels>; readonly reason: string };

/** The parts of a {@link ScrapeConfig} that target labels depend on. */
export type TargetLabelsConfig = Pick<
  ScrapeConfig,
  'jobName' | 'scheme' | 'metricsPath' | 'scrapeIntervalMs' | 'scrapeTimeoutMs' | 'params'
>;

/**
 * The labels before relabeling (Prometheus' `PopulateDiscoveredLabels`): the target's labels, the
 * group's where the target has none of that name, then the job's settings where still unset or
 * empty, and the first value of each `params` entry as `__param_<name>`.
 */
export function discoveredLabels(
  config: TargetLabelsConfig,
  target: Readonly<Record<string, string>>,
  groupLabels: Readonly<Record<string, string>>,
): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(target)) if (value !== '') out[name] = value;
  for (const [name, value] of Object.entries(groupLabels)) {
    if (!(name in target) && value !== '') out[name] = value;
  }
  const defaults: [string, string][] = [
    ['job', config.jobName],
    [SCRAPE_INTERVAL_LABEL, formatDuration(config.scrapeIntervalMs)],
    [SCRAPE_TIMEOUT_LABEL, formatDuration(config.scrapeTimeoutMs)],
    [METRICS_PATH_LABEL, config.metricsPath],
    [SCHEME_LABEL, config.scheme],
  ];
  for (const [name, value] of defaults) if (!out[name] && value !== '') out[name] = value;
  for (const [name, values] of Object.entries(config.params)) {
    const label = PARAM_LABEL_PREFIX + name;
    if (values.length > 0 && !out[label] && values[0] !== '') out[label] = values[0];
  }
  return out;
}

/**
 * Populates one target. `relabeler` is the job's compiled `relabel_configs` (compile them once
 * per job with `compileRelabeling(config.relabelConfigs, config.nameValidationScheme)`).
 */
export function populateTargetLabels(
  config: TargetLabelsConfig,
  relabeler: Relabeler,
  target: Readonly<Record<string, string>>,
  groupLabels: Readonly<Record<string, string>>,
): TargetLabelsResult {
  const discovered = discoveredLabels(config, target, groupLabels);
  const relabeled = relabeler.process(toFlat(discovered));
  if (relabeled === null) return { kind: 'dropped', discoveredLabels: discovered };
  const labels = fromFlat(relabeled);
  const invalid = (reason: string): TargetLabelsResult => ({ kind: 'invalid', discoveredLabels: discovered, reason });

  const address = labels[ADDRESS_LABEL] ?? '';
  if (address === '') return invalid('no address');
  // Prometheus' CheckTargetAddress: a URL is not an address (scheme and path have their own labels).
  if (address.includes('/')) return invalid(`${goQuote(address)} is not a valid hostname`);

  const interval = labels[SCRAPE_INTERVAL_LABEL] ?? '';
  const intervalMs = parseLabelDuration(interval);
  if (typeof intervalMs === 'string') return invalid(`error parsing scrape interval: ${intervalMs}`);
  if (intervalMs === 0) return invalid('scrape interval cannot be 0');
  const timeout = labels[SCRAPE_TIMEOUT_LABEL] ?? '';
  const timeoutMs = parseLabelDuration(timeout);
  if (typeof timeoutMs === 'string') return invalid(`error parsing scrape timeout: ${timeoutMs}`);
  if (timeoutMs === 0) return invalid('scrape timeout cannot be 0');
  if (timeoutMs > intervalMs) {
    return invalid(
      `scrape timeout cannot be greater than scrape interval (${goQuote(timeout)} > ${goQuote(interval)})`,
    );
  }

  // Meta labels are gone after relabeling; the instance defaults to the address.
  for (const name of Object.keys(labels)) if (name.startsWith(META_LABEL_PREFIX)) delete labels[name];
  if (!labels.instance) labels.instance = address;

  for (const name of Object.keys(labels).sort(compareUtf8)) {
    if (!isWellFormedString(labels[name])) {
      return invalid(`invalid label value for ${goQuote(name)}: ${goQuote(labels[name])}`);
    }
  }

  const url = targetUrl(config.params, labels);
  const seriesLabels: Labels = {};
  for (const name of Object.keys(labels).sort(compareUtf8)) {
    if (!name.startsWith('__')) seriesLabels[name] = labels[name];
  }
  return {
    kind: 'target',
    target: { labels: seriesLabels, discoveredLabels: discovered, url, intervalMs, timeoutMs },
  };
}

/**
 * Every target of `group` (Prometheus' `TargetsFromGroup`), in the group's order. Invalid ones
 * carry Prometheus' reason prefixed with which target of which group.
 */
export function targetsFromGroup(
  config: TargetLabelsConfig,
  relabeler: Relabeler,
  group: TargetGroup,
): TargetLabelsResult[] {
  return group.targets.map((t, i) => {
    const result = populateTargetLabels(config, relabeler, t, group.labels);
    if (result.kind !== 'invalid') return result;
    return { ...result, reason: `instance ${i} in group ${group.source}: ${result.reason}` };
  });
}

/**
 * The URL to scrape (Prometheus' `Target.URL`): `__scheme__://__address____metrics_path__?query`,
 * where the query holds the job's `params` with the first value of each replaced by its
 * `__param_<name>` label, plus parameters only labels name, encoded and sorted as Go's
 * `url.Values.Encode`.
 */
export function targetUrl(params: Readonly<Record<string, readonly string[]>>, labels: Readonly<Labels>): string {
  const values = new Map<string, string[]>();
  for (const [name, list] of Object.entries(params)) values.set(name, [...list]);
  for (const [name, value] of Object.entries(labels)) {
    if (!name.startsWith(PARAM_LABEL_PREFIX)) continue;
    const key = name.slice(PARAM_LABEL_PREFIX.length);
    const list = values.get(key);
    if (list !== undefined && list.length > 0) list[0] = value;
    else values.set(key, [value]);
  }
  const query: string[] = [];
  for (const key of [...values.keys()].sort()) {
    const k = goQueryEscape(key);
    for (const v of values.get(key)!) query.push(`${k}=${goQueryEscape(v)}`);
  }
  const path = labels[METRICS_PATH_LABEL] ?? '';
  const slash = path === '' || path.startsWith('/') ? '' : '/';
  const q = query.length > 0 ? `?${query.join('&')}` : '';
  return `${labels[SCHEME_LABEL] ?? ''}://${labels[ADDRESS_LABEL] ?? ''}${slash}${goPathEscape(path)}${q}`;
}

/** A relabeled duration label: ms, or Prometheus' parse error text. */
function parseLabelDuration(text: string): number | string {
  try {
    return parseDuration(text);
  } catch (e) {
    if (!(e instanceof DurationSyntaxError)) throw e;
    return goDurationError(text);
  }
}

/** Prometheus' `model.ParseDuration` messages for the cases a relabel rule can produce. */
function goDurationError(text: string): string {
  if (text === '') return 'empty duration string';
  const unit = /^\d+([a-zA-Z]+)$/.exec(text);
  if (unit !== null && !['y', 'w', 'd', 'h', 'm', 's', 'ms'].includes(unit[1])) {
    return `unknown unit ${goQuote(unit[1])} in duration ${goQuote(text)}`;
  }
  if (/^\d+$/.test(text)) return `missing unit in duration ${goQuote(text)}`;
  return `not a valid duration string: ${goQuote(text)}`;
}

/** Go's `%q` for the strings here (valid UTF-8 printed as is; lone surrogates as \ufffd escapes). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** Go's `url.QueryEscape`: unreserved characters kept, space as `+`, the rest as %XX of UTF-8. */
function goQueryEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    if (UNRESERVED.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += percentEncode(ch);
  }
  return out;
}

/** Go's path escaping (`escape(s, encodePath)`): also keeps `$&+,/:;=@`. */
function goPathEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    if (UNRESERVED.test(ch) || '$&+,/:;=@'.includes(ch)) out += ch;
    else out += percentEncode(ch);
  }
  return out;
}

function percentEncode(ch: string): string {
  let out = '';
  for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function toFlat(labels: Readonly<Labels>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(labels).sort(compareUtf8)) out.push(name, labels[name]);
  return out;
}

function fromFlat(flat: readonly string[]): Labels {
  const out: Labels = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}
