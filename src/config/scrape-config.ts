/**
 * `scrape_configs` (and the `global` defaults they inherit) in Prometheus' own syntax
 * (config/config.go `ScrapeConfig`, `GlobalConfig`), read into {@link ScrapeConfig}s with
 * Prometheus' defaults and checks, every problem on the path (and so the line) of its key.
 * The service discovery blocks are read by `discovery-config.ts`; the files of
 * `scrape_config_files` by `scrape-config-files.ts`.
 */
import { readRelabelConfigs } from '../relabel/config.js';
import {
  DEFAULT_NAME_VALIDATION_SCHEME,
  NAME_VALIDATION_SCHEMES,
  type NameValidationScheme,
} from '../serialization/name-validation.js';
import { DISCOVERY_KEYS, readDiscoveryConfigs, UNSUPPORTED_DISCOVERY_KEYS } from './discovery-config.js';
import { formatDuration } from './duration.js';
import {
  type CheckedMap,
  describe,
  type FieldReader,
  indexPath,
  isPlainObject,
  joinPath,
  type MapSpec,
} from './field-reader.js';
import { HTTP_CLIENT_KEYS, readHttpClientConfig } from './http-client-config.js';
import type { SchemaContext } from './schema.js';
import type { ScrapeConfig, ScrapeProtocol } from './types.js';

/** Prometheus' `DefaultGlobalConfig.ScrapeInterval`. */
export const DEFAULT_SCRAPE_INTERVAL_MS = 60_000;
/** Prometheus' `DefaultGlobalConfig.ScrapeTimeout` (never above the interval). */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

/** Every protocol Prometheus knows (`ScrapeProtocolsHeaders`). */
export const SCRAPE_PROTOCOLS: readonly ScrapeProtocol[] = [
  'PrometheusProto',
  'OpenMetricsText1.0.0',
  'OpenMetricsText0.0.1',
  'PrometheusText1.0.0',
  'PrometheusText0.0.4',
];
/** Prometheus' `DefaultScrapeProtocols`. */
export const DEFAULT_SCRAPE_PROTOCOLS: readonly ScrapeProtocol[] = [
  'OpenMetricsText1.0.0',
  'OpenMetricsText0.0.1',
  'PrometheusText1.0.0',
  'PrometheusText0.0.4',
];
/** Prometheus' `DefaultProtoFirstScrapeProtocols`, the default when native histograms are scraped. */
export const DEFAULT_PROTO_FIRST_SCRAPE_PROTOCOLS: readonly ScrapeProtocol[] = [
  'PrometheusProto',
  ...DEFAULT_SCRAPE_PROTOCOLS,
];

/** The scrape settings of `global`, each inherited by a job that leaves it unset (or 0). */
const LIMIT_KEYS = [
  ['sample_limit', 'sampleLimit'],
  ['target_limit', 'targetLimit'],
  ['label_limit', 'labelLimit'],
  ['label_name_length_limit', 'labelNameLengthLimit'],
  ['label_value_length_limit', 'labelValueLengthLimit'],
] as const;

/** `global` keys read by {@link readGlobalScrapeDefaults}. */
export const GLOBAL_SCRAPE_KEYS = [
  'scrape_interval',
  'scrape_timeout',
  'scrape_protocols',
  'body_size_limit',
  ...LIMIT_KEYS.map(([k]) => k),
  'scrape_native_histograms',
  'always_scrape_classic_histograms',
  'convert_classic_histograms_to_nhcb',
] as const;

/** What a job inherits from `global`. */
export interface GlobalScrapeDefaults {
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  /** Absent: the job's default depends on its own `scrape_native_histograms`, as in Prometheus. */
  scrapeProtocols?: ScrapeProtocol[];
  bodySizeLimitBytes: number;
  sampleLimit: number;
  targetLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  scrapeNativeHistograms: boolean;
  alwaysScrapeClassicHistograms: boolean;
  nameValidationScheme: NameValidationScheme;
}

/** `global` with no scrape keys. */
export const DEFAULT_GLOBAL_SCRAPE: GlobalScrapeDefaults = {
  scrapeIntervalMs: DEFAULT_SCRAPE_INTERVAL_MS,
  scrapeTimeoutMs: DEFAULT_SCRAPE_TIMEOUT_MS,
  bodySizeLimitBytes: 0,
  sampleLimit: 0,
  targetLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
  scrapeNativeHistograms: false,
  alwaysScrapeClassicHistograms: false,
  nameValidationScheme: DEFAULT_NAME_VALIDATION_SCHEME,
};

/** Prometheus' `<scrape_config>` keys. */
export const SCRAPE_CONFIG_SPEC: MapSpec = {
  known: [
    'job_name',
    'scrape_interval',
    'scrape_timeout',
    'scrape_protocols',
    'fallback_scrape_protocol',
    'scrape_native_histograms',
    'always_scrape_classic_histograms',
    'convert_classic_histograms_to_nhcb',
    'metrics_path',
    'scheme',
    'params',
    'honor_labels',
    'honor_timestamps',
    'track_timestamps_staleness',
    'enable_compression',
    'body_size_limit',
    ...LIMIT_KEYS.map(([k]) => k),
    'native_histogram_bucket_limit',
    'metric_name_validation_scheme',
    'relabel_configs',
    'metric_relabel_configs',
    ...HTTP_CLIENT_KEYS,
    ...DISCOVERY_KEYS,
  ],
  unsupported: [...UNSUPPORTED_DISCOVERY_KEYS, 'native_histogram_min_bucket_factor'],
  ignored: ['scrape_failure_log_file', 'keep_dropped_targets', 'metric_name_escaping_scheme', 'extra_scrape_metrics'],
  ignoredReason:
    'promspool does not log scrape failures to a file, keep dropped targets, ask targets for escaped names or add the extra scrape metrics',
};

/** The keys of the file named by `scrape_config_files`: only `scrape_configs`, as in Prometheus. */
export const SCRAPE_CONFIG_FILE_SPEC: MapSpec = { known: ['scrape_configs'] };

/**
 * The scrape keys of `global` (`m` is the checked `global` mapping, undefined when it was not a
 * mapping). `scrape_timeout` above `scrape_interval` is refused; an unset (or 0) timeout is
 * min(10s, interval), as in Prometheus.
 */
export function readGlobalScrapeDefaults(
  r: FieldReader,
  m: CheckedMap | undefined,
  scheme: NameValidationScheme | undefined,
): GlobalScrapeDefaults | undefined {
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const d = DEFAULT_GLOBAL_SCRAPE;
  const interval = r.duration(m, 'scrape_interval', 0);
  const scrapeIntervalMs = interval === 0 ? d.scrapeIntervalMs : interval;
  const timeout = r.duration(m, 'scrape_timeout', 0);
  if (timeout !== undefined && scrapeIntervalMs !== undefined && timeout > scrapeIntervalMs) {
    r.error(
      r.at(m.path, 'scrape_timeout'),
      `must be <= ${r.name('scrape_interval')} (${formatDuration(scrapeIntervalMs)}), got ${formatDuration(timeout)}`,
    );
  }
  const scrapeTimeoutMs =
    timeout === 0 && scrapeIntervalMs !== undefined ? Math.min(d.scrapeTimeoutMs, scrapeIntervalMs) : timeout;
  const scrapeProtocols = r.has(m, 'scrape_protocols') ? readProtocols(r, m, 'scrape_protocols') : undefined;
  const bodySizeLimitBytes = readBodySizeLimit(r, m, d.bodySizeLimitBytes);
  const limits = readLimits(r, m, d);
  const scrapeNativeHistograms = r.boolean(m, 'scrape_native_histograms', d.scrapeNativeHistograms);
  const alwaysScrapeClassicHistograms = r.boolean(
    m,
    'always_scrape_classic_histograms',
    d.alwaysScrapeClassicHistograms,
  );
  refuseNhcbConversion(r, m);
  if (r.errors.length > before) return undefined;
  const out: GlobalScrapeDefaults = {
    scrapeIntervalMs: scrapeIntervalMs!,
    scrapeTimeoutMs: scrapeTimeoutMs!,
    bodySizeLimitBytes: bodySizeLimitBytes!,
    ...limits!,
    scrapeNativeHistograms: scrapeNativeHistograms!,
    alwaysScrapeClassicHistograms: alwaysScrapeClassicHistograms!,
    nameValidationScheme: scheme ?? DEFAULT_NAME_VALIDATION_SCHEME,
  };
  if (scrapeProtocols !== undefined) out.scrapeProtocols = scrapeProtocols;
  return out;
}

/**
 * A `scrape_configs` list. `seen` holds the job names read so far and where (`where` is '' for the
 * main file, `<file>: ` for a file of `scrape_config_files`), for duplicates across files; the
 * names read here are added to it.
 */
export function readScrapeConfigList(
  r: FieldReader,
  value: unknown,
  path: string,
  ctx: SchemaContext,
  global: GlobalScrapeDefaults,
  seen: Map<string, { where: string; path: string }>,
  where: string,
): ScrapeConfig[] | undefined {
  if (value === undefined || value === null) return [];
  const items = r.list(value, path);
  if (items === undefined) return undefined;
  const before = r.errors.length;
  const out: ScrapeConfig[] = [];
  items.forEach((item, i) => {
    const itemPath = indexPath(path, i);
    if (item === null || item === undefined) {
      r.error(itemPath, 'empty or null scrape config section');
      return;
    }
    const job = readScrapeConfig(r, item, itemPath, ctx, global, (name) => {
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, { where, path: itemPath });
        return;
      }
      const firstAt =
        first.where === where
          ? first.path
          : first.where === ''
            ? `${first.path} of the main file`
            : `${first.where}${first.path}`;
      r.error(
        r.at(itemPath, 'job_name'),
        `found multiple scrape configs with job name ${JSON.stringify(name)} (first in ${firstAt})`,
      );
    });
    if (job !== undefined) out.push(job);
  });
  return r.errors.length > before ? undefined : out;
}

/** One `scrape_configs` entry; `onJobName` sees its name as soon as it is known. */
export function readScrapeConfig(
  r: FieldReader,
  value: unknown,
  path: string,
  ctx: SchemaContext,
  global: GlobalScrapeDefaults,
  onJobName: (name: string) => void = () => {},
): ScrapeConfig | undefined {
  const m = r.map(value, path, SCRAPE_CONFIG_SPEC);
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const jobName = r.required(m, 'job_name') ? r.string(m, 'job_name') : undefined;
  if (jobName === '') r.error(r.at(path, 'job_name'), 'must not be empty');
  else if (jobName !== undefined) onJobName(jobName);

  const interval = r.duration(m, 'scrape_interval', 0);
  const scrapeIntervalMs = interval === 0 ? global.scrapeIntervalMs : interval;
  const timeout = r.duration(m, 'scrape_timeout', 0);
  if (timeout !== undefined && scrapeIntervalMs !== undefined && timeout > scrapeIntervalMs) {
    r.error(
      r.at(path, 'scrape_timeout'),
      `must be <= the scrape interval (${formatDuration(scrapeIntervalMs)}), got ${formatDuration(timeout)}`,
    );
  }
  const scrapeTimeoutMs =
    timeout === 0 && scrapeIntervalMs !== undefined ? Math.min(global.scrapeTimeoutMs, scrapeIntervalMs) : timeout;

  const scrapeNativeHistograms = r.boolean(m, 'scrape_native_histograms', global.scrapeNativeHistograms);
  const alwaysScrapeClassicHistograms = r.boolean(
    m,
    'always_scrape_classic_histograms',
    global.alwaysScrapeClassicHistograms,
  );
  refuseNhcbConversion(r, m);
  const scrapeProtocols = r.has(m, 'scrape_protocols')
    ? readProtocols(r, m, 'scrape_protocols')
    : (global.scrapeProtocols ??
      (scrapeNativeHistograms ? [...DEFAULT_PROTO_FIRST_SCRAPE_PROTOCOLS] : [...DEFAULT_SCRAPE_PROTOCOLS]));
  const fallbackProtocol = r.has(m, 'fallback_scrape_protocol')
    ? r.oneOf(m, 'fallback_scrape_protocol', SCRAPE_PROTOCOLS, 'PrometheusText0.0.4')
    : undefined;

  const metricsPath = r.string(m, 'metrics_path', '/metrics');
  const scheme = r.oneOf(m, 'scheme', ['http', 'https'] as const, 'http');
  const params = readParams(r, m);
  const honorLabels = r.boolean(m, 'honor_labels', false);
  const honorTimestamps = r.boolean(m, 'honor_timestamps', true);
  const trackTimestampsStaleness = r.boolean(m, 'track_timestamps_staleness', false);
  const enableCompression = r.boolean(m, 'enable_compression', true);
  const bodySizeLimit = readBodySizeLimit(r, m, 0);
  const bodySizeLimitBytes = bodySizeLimit === 0 ? global.bodySizeLimitBytes : bodySizeLimit;
  const limits = readLimits(r, m, global);
  const nativeHistogramBucketLimit = r.integer(m, 'native_histogram_bucket_limit', 0, { min: 0 });

  const nameValidationScheme = r.oneOf(
    m,
    'metric_name_validation_scheme',
    NAME_VALIDATION_SCHEMES,
    global.nameValidationScheme,
  );
  const ruleScheme = nameValidationScheme ?? global.nameValidationScheme;
  const relabelConfigs = readRelabelConfigs(
    r,
    m.values.get('relabel_configs'),
    r.at(path, 'relabel_configs'),
    ruleScheme,
  );
  const metricRelabelConfigs = readRelabelConfigs(
    r,
    m.values.get('metric_relabel_configs'),
    r.at(path, 'metric_relabel_configs'),
    ruleScheme,
  );
  const client = readHttpClientConfig(r, m, ctx);
  const serviceDiscovery = readDiscoveryConfigs(r, m, ctx, {
    // Prometheus refuses URLs as static targets unless relabeling may still rewrite them.
    checkStaticAddresses: (relabelConfigs?.length ?? 0) === 0,
    scheme: ruleScheme,
  });
  if (r.errors.length > before) return undefined;
  const out: ScrapeConfig = {
    jobName: jobName!,
    scrapeIntervalMs: scrapeIntervalMs!,
    scrapeTimeoutMs: scrapeTimeoutMs!,
    metricsPath: metricsPath!,
    scheme: scheme!,
    params: params!,
    honorLabels: honorLabels!,
    honorTimestamps: honorTimestamps!,
    trackTimestampsStaleness: trackTimestampsStaleness!,
    scrapeProtocols: scrapeProtocols!,
    enableCompression: enableCompression!,
    bodySizeLimitBytes: bodySizeLimitBytes!,
    ...limits!,
    nativeHistogramBucketLimit: nativeHistogramBucketLimit!,
    scrapeNativeHistograms: scrapeNativeHistograms!,
    alwaysScrapeClassicHistograms: alwaysScrapeClassicHistograms!,
    relabelConfigs: relabelConfigs!,
    metricRelabelConfigs: metricRelabelConfigs!,
    nameValidationScheme: nameValidationScheme!,
    serviceDiscovery: serviceDiscovery!,
    ...client!,
  };
  if (fallbackProtocol !== undefined) out.fallbackProtocol = fallbackProtocol;
  return out;
}

/** `scrape_protocols`: a non-empty list of known protocols, none twice (ignoring case), as Prometheus checks. */
function readProtocols(r: FieldReader, m: CheckedMap, key: string): ScrapeProtocol[] | undefined {
  const path = r.at(m.path, key);
  const list = r.list(m.values.get(key), path);
  if (list === undefined) return undefined;
  if (list.length === 0) {
    r.error(path, 'cannot be empty');
    return undefined;
  }
  const out: ScrapeProtocol[] = [];
  const seen = new Set<string>();
  let ok = true;
  list.forEach((item, i) => {
    const at = indexPath(path, i);
    // Duplicates first, as Prometheus checks them: "prometheustext0.0.4" after "PrometheusText0.0.4" is a duplicate.
    if (typeof item === 'string' && seen.has(item.toLowerCase())) {
      r.error(at, `duplicated protocol ${JSON.stringify(item)}`);
      ok = false;
      return;
    }
    if (typeof item === 'string') seen.add(item.toLowerCase());
    if (typeof item !== 'string' || !(SCRAPE_PROTOCOLS as readonly string[]).includes(item)) {
      const got = typeof item === 'string' ? JSON.stringify(item) : describe(item);
      r.error(at, `unknown scrape protocol ${got}, supported: ${[...SCRAPE_PROTOCOLS].sort().join(', ')}`);
      ok = false;
      return;
    }
    out.push(item as ScrapeProtocol);
  });
  return ok ? out : undefined;
}

/**
 * `body_size_limit`: a size with a unit (`100MB`, `1GiB`); a bare number is refused as Prometheus
 * (units.Base2Bytes) refuses it, since "100" would silently mean 100 bytes.
 */
function readBodySizeLimit(r: FieldReader, m: CheckedMap, fallback: number): number | undefined {
  const v = m.values.get('body_size_limit');
  if (typeof v === 'number' && v !== 0) {
    r.error(r.at(m.path, 'body_size_limit'), `needs a unit, e.g. "${v}MB" or "${v}B", got a number (${v})`);
    return undefined;
  }
  return r.size(m, 'body_size_limit', fallback);
}

type Limits = Pick<ScrapeConfig, (typeof LIMIT_KEYS)[number][1]>;

/** The count limits; 0 (or unset) takes `fallback`'s, as a job takes the global ones. */
function readLimits(r: FieldReader, m: CheckedMap, fallback: Limits): Limits | undefined {
  const out = {} as Record<keyof Limits, number>;
  let ok = true;
  for (const [key, field] of LIMIT_KEYS) {
    const v = r.integer(m, key, 0, { min: 0 });
    if (v === undefined) ok = false;
    else out[field] = v === 0 ? fallback[field] : v;
  }
  return ok ? out : undefined;
}

/** NHCB conversion changes what is stored; promspool does not do it, so `true` is refused, not ignored. */
function refuseNhcbConversion(r: FieldReader, m: CheckedMap): void {
  const v = r.boolean(m, 'convert_classic_histograms_to_nhcb', false);
  if (v === true) {
    r.error(
      r.at(m.path, 'convert_classic_histograms_to_nhcb'),
      'true is not supported yet: promspool sends classic histograms as they are scraped',
    );
  }
}

/** `params`: URL parameter name -> list of values (Go's url.Values). */
function readParams(r: FieldReader, m: CheckedMap): Record<string, string[]> | undefined {
  if (!r.has(m, 'params')) return {};
  const path = r.at(m.path, 'params');
  const v = m.values.get('params');
  if (!isPlainObject(v)) {
    r.error(path, `expected a mapping of parameter names to lists of values, got ${describe(v)}`);
    return undefined;
  }
  const out: Record<string, string[]> = {};
  let ok = true;
  for (const [name, values] of Object.entries(v)) {
    const at = joinPath(path, name);
    if (!Array.isArray(values)) {
      r.error(at, `expected a list of values, got ${describe(values)}`);
      ok = false;
      continue;
    }
    const list: string[] = [];
    values.forEach((item, i) => {
      if (typeof item === 'string') list.push(item);
      else if (typeof item === 'number' || typeof item === 'boolean') list.push(String(item));
      else {
        r.error(indexPath(at, i), `expected a string, got ${describe(item)}`);
        ok = false;
      }
    });
    out[name] = list;
  }
  return ok ? out : undefined;
}
