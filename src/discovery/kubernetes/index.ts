/**
 * `kubernetes_sd_configs`: discovers targets from the Kubernetes API as Prometheus does. The role's
 * own resource is listed and watched in each configured namespace, plus the resources its groups
 * join (services and pods for the endpoints roles, nodes and namespaces with `attach_metadata`).
 * The full set of groups is reported once every store has its first list; after that a change
 * of a role object rebuilds its group, and a change of a joined object rebuilds every group (only
 * groups whose content changed are reported).
 */
import { type Clock, systemClock } from '../../clock.js';
import type { KubernetesRole, KubernetesSdConfig } from '../../config/types.js';
import { type Logger, silentLogger } from '../../logger.js';
import type { Discoverer, DiscoveryStats, TargetGroup } from '../types.js';
import {
  type ApiClient,
  createApiClient,
  type FetchFunction,
  type InClusterEnvironment,
  readOwnNamespace,
} from './api-client.js';
import { Informer, type ObjectChange } from './informer.js';
import type { KubeObject } from './objects.js';
import { type JoinedResource, references } from './references.js';
import {
  type BuildContext,
  buildEndpointSlice,
  buildEndpoints,
  buildIngress,
  buildNode,
  buildPod,
  buildService,
  emptyGroup,
  endpointSliceSource,
  endpointsSource,
  ingressSource,
  nodeSource,
  podSource,
  serviceSource,
} from './roles.js';

export type { FetchFunction, InClusterEnvironment } from './api-client.js';

/** What {@link createKubernetesDiscoverer} takes besides the config. */
export interface KubernetesDiscovererDeps {
  clock?: Clock;
  logger?: Logger;
  /** undici's `fetch` or a stand-in. */
  fetch?: FetchFunction;
  /** Environment and service account directory for in-cluster configuration. */
  inCluster?: InClusterEnvironment;
  /** Seconds a watch request asks the server to keep the stream open (default random 300..600). */
  watchTimeoutSeconds?: number;
}

/** A Kubernetes discoverer and its counters. */
export interface KubernetesDiscoverer extends Discoverer {
  readonly stats: DiscoveryStats;
}

/** Above this many joined-object changes at once, every group is rebuilt instead of the referencing ones. */
const MAX_TARGETED_CHANGES = 64;

/** The resources discovery reads: collection path by namespace (empty: all namespaces). */
type Resource = 'nodes' | 'namespaces' | 'pods' | 'services' | 'endpoints' | 'endpointslices' | 'ingresses';

function collectionPath(resource: Resource, namespace: string): string {
  const ns = namespace === '' ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  switch (resource) {
    case 'nodes':
      return '/api/v1/nodes';
    case 'namespaces':
      return '/api/v1/namespaces';
    case 'endpointslices':
      return `/apis/discovery.k8s.io/v1${ns}/endpointslices`;
    case 'ingresses':
      return `/apis/networking.k8s.io/v1${ns}/ingresses`;
    default:
      return `/api/v1${ns}/${resource}`;
  }
}

/** The role's own resource, and which role's selectors apply to each resource. */
const PRIMARY: Record<KubernetesRole, Resource> = {
  node: 'nodes',
  pod: 'pods',
  service: 'services',
  endpoints: 'endpoints',
  endpointslice: 'endpointslices',
  ingress: 'ingresses',
};
const SELECTOR_ROLE: Record<Resource, KubernetesRole | undefined> = {
  nodes: 'node',
  pods: 'pod',
  services: 'service',
  endpoints: 'endpoints',
  endpointslices: 'endpointslice',
  ingresses: 'ingress',
  namespaces: undefined,
};

/** Namespaced resources a role joins (watched in the same namespaces as the role's own). */
function joinedResources(config: KubernetesSdConfig): { namespaced: Resource[]; cluster: Resource[] } {
  const namespaced: Resource[] = [];
  const cluster: Resource[] = [];
  const { role, attachMetadata } = config;
  if (role === 'endpoints' || role === 'endpointslice') namespaced.push('services', 'pods');
  if (attachMetadata.node && (role === 'pod' || role === 'endpoints' || role === 'endpointslice'))
    cluster.push('nodes');
  if (attachMetadata.namespace && role !== 'node') cluster.push('namespaces');
  return { namespaced, cluster };
}

function sourceOfKey(role: KubernetesRole, key: string): string {
  const slash = key.indexOf('/');
  const ns = key.slice(0, slash);
  const name = key.slice(slash + 1);
  switch (role) {
    case 'node':
      return nodeSource(key);
    case 'pod':
      return podSource(ns, name);
    case 'service':
      return serviceSource(ns, name);
    case 'endpoints':
      return endpointsSource(ns, name);
    case 'endpointslice':
      return endpointSliceSource(ns, name);
    case 'ingress':
      return ingressSource(ns, name);
  }
}

function buildGroup(role: KubernetesRole, o: KubeObject, ctx: BuildContext): TargetGroup | undefined {
  switch (role) {
    case 'node':
      return buildNode(o, ctx.logger);
    case 'pod':
      return buildPod(o, ctx);
    case 'service':
      return buildService(o, ctx);
    case 'endpoints':
      return buildEndpoints(o, ctx);
    case 'endpointslice':
      return buildEndpointSlice(o, ctx);
    case 'ingress':
      return buildIngress(o, ctx);
  }
}

/** Namespaces to watch; `['']` means all. */
function namespacesOf(config: KubernetesSdConfig, deps: KubernetesDiscovererDeps): string[] {
  const { names, ownNamespace } = config.namespaces;
  if (names.length === 0 && !ownNamespace) return [''];
  // A namespace named twice (also as the own one) is watched once.
  return [...new Set(ownNamespace ? [...names, readOwnNamespace(deps.inCluster)] : names)];
}

/**
 * Creates the discoverer of one `kubernetes_sd_configs` entry. Nothing is read or connected until
 * `run`; configuration problems found then (no cluster, unreadable kubeconfig) are logged, counted
 * and retried like API failures.
 */
export function createKubernetesDiscoverer(
  config: KubernetesSdConfig,
  deps: KubernetesDiscovererDeps = {},
): KubernetesDiscoverer {
  const clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? silentLogger).child({ discovery: 'kubernetes', role: config.role });
  const stats: DiscoveryStats = { failures: 0, updates: 0, targets: 0 };

  return {
    stats,
    async run(onUpdate, signal) {
      let client: ApiClient | undefined;
      const getClient = (): ApiClient => {
        client ??= createApiClient(config, {
          clock,
          ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
          ...(deps.inCluster === undefined ? {} : { inCluster: deps.inCluster }),
        });
        return client;
      };
      let namespaces: string[];
      try {
        namespaces = config.role === 'node' ? [''] : namespacesOf(config, deps);
      } catch (err) {
        // Without the namespace there is nothing to watch; Prometheus refuses to start the discoverer.
        stats.failures++;
        logger.error('kubernetes discovery cannot start', { err: (err as Error).message });
        onUpdate([]);
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return;
      }

      const informers = new Map<Resource, Informer[]>();
      let synced = false;
      const emitted = new Map<string, string>();
      const groupsBySource = new Map<string, TargetGroup>();
      const primary = PRIMARY[config.role];

      const lookup = (resource: Resource, key: string): KubeObject | undefined => {
        for (const inf of informers.get(resource) ?? []) {
          const o = inf.store.get(key);
          if (o !== undefined) return o;
        }
        return undefined;
      };
      const ctx: BuildContext = {
        related: {
          service: (ns, name) => lookup('services', `${ns}/${name}`),
          pod: (ns, name) => lookup('pods', `${ns}/${name}`),
          node: (name) => lookup('nodes', name),
          namespace: (name) => lookup('namespaces', name),
        },
        attachNode:
          config.attachMetadata.node &&
          config.role !== 'node' &&
          config.role !== 'service' &&
          config.role !== 'ingress',
        attachNamespace: config.attachMetadata.namespace && config.role !== 'node',
        logger,
      };

      /** Keeps `g` if it differs from what was last reported for its source. */
      const collect = (g: TargetGroup | undefined, out: TargetGroup[]) => {
        if (g === undefined) return;
        const text = JSON.stringify(g);
        if (emitted.get(g.source) === text) return;
        emitted.set(g.source, text);
        groupsBySource.set(g.source, g);
        out.push(g);
      };
      const rebuildAll = (out: TargetGroup[]) => {
        for (const inf of informers.get(primary) ?? []) {
          for (const o of inf.store.values()) collect(buildGroup(config.role, o, ctx), out);
        }
      };
      const report = (out: TargetGroup[], initial: boolean) => {
        stats.updates++;
        stats.targets = 0;
        for (const g of groupsBySource.values()) stats.targets += g.targets.length;
        if (out.length > 0 || initial) onUpdate(out);
      };
      const onChange = (resource: Resource) => (changes: ObjectChange[]) => {
        if (!synced || changes.length === 0) return;
        const out: TargetGroup[] = [];
        if (resource === primary) {
          for (const c of changes) {
            if (c.object === undefined) {
              const source = sourceOfKey(config.role, c.key);
              collect(emptyGroup(source), out);
            } else {
              collect(buildGroup(config.role, c.object, ctx), out);
            }
          }
        } else {
          // Only the groups that join a changed object: a pod's status change in a large cluster
          // must not rebuild every endpoints group.
          const keys = changes.map((c) => c.key);
          // A relist of a joined resource can change thousands of objects: then one full rebuild
          // is cheaper than matching every change against every group.
          if (keys.length > MAX_TARGETED_CHANGES) {
            rebuildAll(out);
            report(out, false);
            return;
          }
          for (const inf of informers.get(primary) ?? []) {
            for (const o of inf.store.values()) {
              if (keys.some((k) => references(config.role, o, resource as JoinedResource, k))) {
                collect(buildGroup(config.role, o, ctx), out);
              }
            }
          }
        }
        report(out, false);
      };

      const add = (resource: Resource, namespace: string) => {
        const selectorRole = SELECTOR_ROLE[resource];
        const selector = config.selectors.find((s) => s.role === selectorRole);
        const inf = new Informer({
          path: collectionPath(resource, namespace),
          ...(selector?.label === undefined ? {} : { labelSelector: selector.label }),
          ...(selector?.field === undefined ? {} : { fieldSelector: selector.field }),
          client: getClient,
          clock,
          logger,
          onChange: onChange(resource),
          onFailure: () => {
            stats.failures++;
          },
          ...(deps.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: deps.watchTimeoutSeconds }),
        });
        informers.set(resource, [...(informers.get(resource) ?? []), inf]);
      };
      const joined = joinedResources(config);
      for (const ns of namespaces) {
        add(primary, ns);
        for (const r of joined.namespaced) add(r, ns);
      }
      for (const r of joined.cluster) add(r, '');

      const all = [...informers.values()].flat();
      const running = all.map((inf) => inf.run(signal));
      const aborted = new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await Promise.race([Promise.all(all.map((inf) => inf.synced)), aborted]);
      if (!signal.aborted) {
        synced = true;
        const out: TargetGroup[] = [];
        rebuildAll(out);
        report(out, true);
      }
      await Promise.all(running);
      await client?.close().catch(() => undefined);
    },
  };
}
