/**
 * The service discovery blocks of a scrape config (Prometheus' `*_sd_configs` and
 * `static_configs`), read into {@link DiscoveryConfig}s with Prometheus' defaults and checks:
 * `static_configs`, `file_sd_configs`, `http_sd_configs` and `kubernetes_sd_configs`. The other
 * discovery kinds are refused by name ("not supported yet"), each on its own line.
 */
import { resolve } from 'node:path';
import type { NameValidationScheme } from '../serialization/name-validation.js';
import { type CheckedMap, describe, type FieldReader, indexPath, type MapSpec } from './field-reader.js';
import { HTTP_CLIENT_KEYS, hasHttpClientKeys, readHttpClientConfig, readHttpUrl } from './http-client-config.js';
import { fieldSelectorProblem, labelSelectorProblem } from './kubernetes-selectors.js';
import { readLabelSet, type SchemaContext } from './schema.js';
import type { DiscoveryConfig, KubernetesRole, KubernetesSdConfig, StaticTargetGroup } from './types.js';

/** Prometheus' `file_sd_configs.refresh_interval` default. */
export const DEFAULT_FILE_SD_REFRESH_INTERVAL_MS = 5 * 60_000;
/** Prometheus' `http_sd_configs.refresh_interval` default. */
export const DEFAULT_HTTP_SD_REFRESH_INTERVAL_MS = 60_000;

/** The discovery keys promspool reads. */
export const DISCOVERY_KEYS = [
  'static_configs',
  'file_sd_configs',
  'http_sd_configs',
  'kubernetes_sd_configs',
] as const;

/** Prometheus' other discovery kinds: refused with "not supported yet" rather than "unknown key". */
export const UNSUPPORTED_DISCOVERY_KEYS = [
  'azure_sd_configs',
  'consul_sd_configs',
  'digitalocean_sd_configs',
  'docker_sd_configs',
  'dockerswarm_sd_configs',
  'dns_sd_configs',
  'ec2_sd_configs',
  'eureka_sd_configs',
  'gce_sd_configs',
  'hetzner_sd_configs',
  'ionos_sd_configs',
  'kuma_sd_configs',
  'lightsail_sd_configs',
  'linode_sd_configs',
  'marathon_sd_configs',
  'nerve_sd_configs',
  'nomad_sd_configs',
  'oci_sd_configs',
  'openstack_sd_configs',
  'outscale_sd_configs',
  'ovhcloud_sd_configs',
  'puppetdb_sd_configs',
  'scaleway_sd_configs',
  'serverset_sd_configs',
  'stackit_sd_configs',
  'triton_sd_configs',
  'uyuni_sd_configs',
  'vultr_sd_configs',
] as const;

export const STATIC_CONFIG_SPEC: MapSpec = { known: ['targets', 'labels'] };
export const FILE_SD_SPEC: MapSpec = { known: ['files', 'refresh_interval'] };
export const HTTP_SD_SPEC: MapSpec = { known: ['url', 'refresh_interval', ...HTTP_CLIENT_KEYS] };
export const KUBERNETES_SD_SPEC: MapSpec = {
  known: ['role', 'api_server', 'kubeconfig_file', 'namespaces', 'selectors', 'attach_metadata', ...HTTP_CLIENT_KEYS],
};
export const KUBERNETES_NAMESPACES_SPEC: MapSpec = { known: ['own_namespace', 'names'] };
export const KUBERNETES_SELECTOR_SPEC: MapSpec = { known: ['role', 'label', 'field'] };
export const KUBERNETES_ATTACH_METADATA_SPEC: MapSpec = {
  known: ['node', 'namespace'],
  unsupported: ['deployment', 'job', 'cronjob'],
};

export const KUBERNETES_ROLES: readonly KubernetesRole[] = [
  'pod',
  'service',
  'endpoints',
  'endpointslice',
  'node',
  'ingress',
];

/** Which selector roles each role accepts (Prometheus' `allowedSelectors`). */
const ALLOWED_SELECTORS: Readonly<Record<KubernetesRole, readonly KubernetesRole[]>> = {
  pod: ['pod', 'node'],
  service: ['service'],
  endpointslice: ['pod', 'service', 'endpointslice'],
  endpoints: ['pod', 'service', 'endpoints'],
  node: ['node'],
  ingress: ['ingress'],
};

/** Prometheus' `patFileSDName`: at most one `*`, in the last path element, and a JSON or YAML extension. */
const FILE_SD_NAME_RE = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;

export interface DiscoveryReadOptions {
  /** No `relabel_configs`: a static target that looks like a URL is refused (Prometheus' `checkStaticTargets`). */
  checkStaticAddresses: boolean;
  /** The job's name validation scheme, for static label names. */
  scheme: NameValidationScheme;
}

/** Every discovery block of the scrape config `m`, in key order (static first), each item in list order. */
export function readDiscoveryConfigs(
  r: FieldReader,
  m: CheckedMap,
  ctx: SchemaContext,
  opts: DiscoveryReadOptions,
): DiscoveryConfig[] | undefined {
  const before = r.errors.length;
  const out: DiscoveryConfig[] = [];
  const each = (key: string, read: (item: unknown, path: string) => DiscoveryConfig | undefined): void => {
    if (!r.has(m, key)) return;
    const path = r.at(m.path, key);
    const items = r.list(m.values.get(key), path);
    items?.forEach((item, i) => {
      const itemPath = indexPath(path, i);
      if (item === null || item === undefined) {
        r.error(itemPath, `empty or null section in ${r.name(key)}`);
        return;
      }
      const config = read(item, itemPath);
      if (config !== undefined) out.push(config);
    });
  };
  const groups: StaticTargetGroup[] = [];
  each('static_configs', (item, path) => {
    const group = readStaticGroup(r, item, path, opts);
    if (group !== undefined) groups.push(group);
    return undefined;
  });
  if (groups.length > 0) out.push({ kind: 'static', groups });
  each('file_sd_configs', (item, path) => readFileSd(r, item, path, ctx));
  each('http_sd_configs', (item, path) => readHttpSd(r, item, path, ctx));
  each('kubernetes_sd_configs', (item, path) => readKubernetesSd(r, item, path, ctx));
  return r.errors.length > before ? undefined : out;
}

/** One `static_configs` entry: `targets` (each becomes `__address__`) and `labels`. */
function readStaticGroup(
  r: FieldReader,
  value: unknown,
  path: string,
  opts: DiscoveryReadOptions,
): StaticTargetGroup | undefined {
  const m = r.map(value, path, STATIC_CONFIG_SPEC);
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const targets: string[] = [];
  if (r.has(m, 'targets')) {
    const at = r.at(path, 'targets');
    r.list(m.values.get('targets'), at)?.forEach((t, i) => {
      const itemAt = indexPath(at, i);
      if (typeof t !== 'string') {
        r.error(itemAt, `expected a "host:port" string, got ${describe(t)}`);
      } else if (opts.checkStaticAddresses && t.includes('/')) {
        r.error(
          itemAt,
          `${JSON.stringify(t)} is not a valid hostname: give host:port, and the scheme and path with ${r.name('scheme')} and ${r.name('metrics_path')}`,
        );
      } else {
        targets.push(t);
      }
    });
  }
  const labels = readLabelSet(r, m, 'labels', opts.scheme, { external: false });
  if (r.errors.length > before) return undefined;
  return { targets, labels: labels! };
}

/** `file_sd_configs` entry: `files` (at least one, JSON or YAML names, relative to the config's directory). */
function readFileSd(r: FieldReader, value: unknown, path: string, ctx: SchemaContext): DiscoveryConfig | undefined {
  const m = r.map(value, path, FILE_SD_SPEC);
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const files: string[] = [];
  const at = r.at(path, 'files');
  const list = r.has(m, 'files') ? r.list(m.values.get('files'), at) : [];
  if (list !== undefined && list.length === 0) {
    r.error(at, 'must list at least one file (a JSON or YAML file name; the last path element may hold one "*")');
  }
  list?.forEach((f, i) => {
    const itemAt = indexPath(at, i);
    if (typeof f !== 'string') r.error(itemAt, `expected a file name, got ${describe(f)}`);
    else if (!FILE_SD_NAME_RE.test(f)) {
      r.error(
        itemAt,
        `${JSON.stringify(f)} is not valid for file discovery: it must end in .json, .yml or .yaml, with at most one "*", in the last path element`,
      );
    } else files.push(resolve(ctx.baseDir, f));
  });
  const refreshIntervalMs = r.duration(m, 'refresh_interval', DEFAULT_FILE_SD_REFRESH_INTERVAL_MS, { positive: true });
  if (r.errors.length > before) return undefined;
  return { kind: 'file', files, refreshIntervalMs: refreshIntervalMs! };
}

/** `http_sd_configs` entry: `url` (http or https, with a host), `refresh_interval`, the HTTP client keys. */
function readHttpSd(r: FieldReader, value: unknown, path: string, ctx: SchemaContext): DiscoveryConfig | undefined {
  const m = r.map(value, path, HTTP_SD_SPEC);
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const url = r.required(m, 'url') ? readHttpUrl(r, m, 'url') : undefined;
  const refreshIntervalMs = r.duration(m, 'refresh_interval', DEFAULT_HTTP_SD_REFRESH_INTERVAL_MS, { positive: true });
  const client = readHttpClientConfig(r, m, ctx);
  if (r.errors.length > before) return undefined;
  return { kind: 'http', url: url!, refreshIntervalMs: refreshIntervalMs!, ...client! };
}

/**
 * `kubernetes_sd_configs` entry with Prometheus' checks (kubernetes.go `SDConfig.UnmarshalYAML`):
 * `role` required; `api_server` and `kubeconfig_file` exclusive; HTTP client keys only with
 * `api_server`; `namespaces.own_namespace` only in-cluster; each selector role once and allowed
 * for the role.
 */
function readKubernetesSd(
  r: FieldReader,
  value: unknown,
  path: string,
  ctx: SchemaContext,
): DiscoveryConfig | undefined {
  const m = r.map(value, path, KUBERNETES_SD_SPEC);
  if (m === undefined) return undefined;
  const before = r.errors.length;
  const role = r.required(m, 'role') ? r.oneOf(m, 'role', KUBERNETES_ROLES, 'pod') : undefined;
  const apiServer = r.has(m, 'api_server') ? readApiServer(r, m) : undefined;
  const kubeconfig = r.string(m, 'kubeconfig_file');
  if (kubeconfig === '') r.error(r.at(path, 'kubeconfig_file'), 'must not be empty');
  const hasApiServer = r.has(m, 'api_server');
  const hasKubeconfig = r.has(m, 'kubeconfig_file');
  if (hasApiServer && hasKubeconfig) {
    r.error(r.at(path, 'kubeconfig_file'), `cannot be used with ${r.name('api_server')}: give one of them`);
  }
  const customClient = hasHttpClientKeys(r, m);
  if (customClient && hasKubeconfig) {
    r.error(path, `HTTP client settings cannot be used with ${r.name('kubeconfig_file')} (the kubeconfig holds them)`);
  } else if (customClient && !hasApiServer) {
    r.error(
      path,
      `HTTP client settings need ${r.name('api_server')}: give the API server's URL explicitly to use them`,
    );
  }
  const client = readHttpClientConfig(r, m, ctx);

  const ns = r.map(m.values.get('namespaces'), r.at(path, 'namespaces'), KUBERNETES_NAMESPACES_SPEC);
  let namespaces: KubernetesSdConfig['namespaces'] | undefined;
  if (ns !== undefined) {
    const ownNamespace = r.boolean(ns, 'own_namespace', false);
    const names = readNames(r, ns);
    if (ownNamespace === true && hasApiServer) {
      r.error(
        r.at(ns.path, 'own_namespace'),
        `cannot be used with ${r.name('api_server')}: the own namespace is only known in-cluster`,
      );
    }
    if (ownNamespace === true && hasKubeconfig) {
      r.error(
        r.at(ns.path, 'own_namespace'),
        `cannot be used with ${r.name('kubeconfig_file')}: the own namespace is only known in-cluster`,
      );
    }
    if (ownNamespace !== undefined && names !== undefined) namespaces = { ownNamespace, names };
  }
  const selectors = readSelectors(r, m, role);
  const am = r.map(m.values.get('attach_metadata'), r.at(path, 'attach_metadata'), KUBERNETES_ATTACH_METADATA_SPEC);
  const attachNode = am && r.boolean(am, 'node', false);
  const attachNamespace = am && r.boolean(am, 'namespace', false);
  if (r.errors.length > before) return undefined;
  const out: DiscoveryConfig = {
    kind: 'kubernetes',
    role: role!,
    namespaces: namespaces!,
    selectors: selectors!,
    attachMetadata: { node: attachNode!, namespace: attachNamespace! },
    ...client!,
  };
  if (apiServer !== undefined) out.apiServer = apiServer;
  if (kubeconfig !== undefined) out.kubeconfigFile = resolve(ctx.baseDir, kubeconfig);
  return out;
}

/** `api_server`: a URL; like Prometheus (config.URL), `host:port` without a scheme is refused. */
function readApiServer(r: FieldReader, m: CheckedMap): string | undefined {
  const text = r.string(m, 'api_server');
  if (text === undefined) return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    r.error(
      r.at(m.path, 'api_server'),
      `must be a URL with a scheme, e.g. "https://${text}", got ${JSON.stringify(text)}`,
    );
    return undefined;
  }
  return readHttpUrl(r, m, 'api_server');
}

function readNames(r: FieldReader, ns: CheckedMap): string[] | undefined {
  if (!r.has(ns, 'names')) return [];
  const at = r.at(ns.path, 'names');
  const list = r.list(ns.values.get('names'), at);
  if (list === undefined) return undefined;
  const out: string[] = [];
  let ok = true;
  list.forEach((n, i) => {
    if (typeof n === 'string' && n !== '') out.push(n);
    else {
      r.error(indexPath(at, i), `expected a namespace name, got ${describe(n)}`);
      ok = false;
    }
  });
  return ok ? out : undefined;
}

function readSelectors(
  r: FieldReader,
  m: CheckedMap,
  role: KubernetesRole | undefined,
): KubernetesSdConfig['selectors'] | undefined {
  if (!r.has(m, 'selectors')) return [];
  const at = r.at(m.path, 'selectors');
  const list = r.list(m.values.get('selectors'), at);
  if (list === undefined) return undefined;
  const before = r.errors.length;
  const out: KubernetesSdConfig['selectors'] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const s = r.map(item, indexPath(at, i), KUBERNETES_SELECTOR_SPEC);
    if (s === undefined) return;
    const selectorRole = r.required(s, 'role') ? r.oneOf(s, 'role', KUBERNETES_ROLES, 'pod') : undefined;
    const label = r.string(s, 'label');
    const field = r.string(s, 'field');
    const labelProblem = label === undefined ? undefined : labelSelectorProblem(label);
    if (labelProblem !== undefined) r.error(r.at(s.path, 'label'), labelProblem);
    const fieldProblem = field === undefined ? undefined : fieldSelectorProblem(field);
    if (fieldProblem !== undefined) r.error(r.at(s.path, 'field'), fieldProblem);
    if (selectorRole === undefined) return;
    if (seen.has(selectorRole)) {
      r.error(r.at(s.path, 'role'), `duplicated selector role: ${selectorRole}`);
      return;
    }
    seen.add(selectorRole);
    if (role !== undefined && !ALLOWED_SELECTORS[role].includes(selectorRole)) {
      r.error(r.at(s.path, 'role'), `${role} role supports only ${ALLOWED_SELECTORS[role].join(', ')} selectors`);
      return;
    }
    const selector: KubernetesSdConfig['selectors'][number] = { role: selectorRole };
    if (label !== undefined && label !== '') selector.label = label;
    if (field !== undefined && field !== '') selector.field = field;
    out.push(selector);
  });
  return r.errors.length > before ? undefined : out;
}
