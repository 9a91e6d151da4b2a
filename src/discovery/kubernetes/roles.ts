/**
 * Kubernetes objects to target groups, one function per role, ported from Prometheus'
 * discovery/kubernetes/{node,pod,service,endpoints,endpointslice,ingress}.go: the same sources,
 * targets, label names and values. Pure functions: the other objects a role joins (services,
 * pods, nodes, namespaces) come from a {@link RelatedObjects} lookup.
 */
import type { Logger } from '../../logger.js';
import type { TargetGroup } from '../types.js';
import {
  addObjectAnnotationsAndLabels,
  addObjectMetaLabels,
  joinHostPort,
  type LabelSet,
  META,
  sanitizeLabelName,
} from './labels.js';
import type {
  Container,
  ContainerPort,
  EndpointAddress,
  EndpointPort,
  EndpointSlice,
  Endpoints,
  Ingress,
  Node,
  ObjectReference,
  Pod,
  Service,
  SliceEndpoint,
  SlicePort,
} from './objects.js';

/** The objects a role's groups join, from the other watched resources. */
export interface RelatedObjects {
  service(namespace: string, name: string): Service | undefined;
  pod(namespace: string, name: string): Pod | undefined;
  /** Only consulted with `attach_metadata.node`. */
  node(name: string): Node | undefined;
  /** Only consulted with `attach_metadata.namespace`. */
  namespace(
    name: string,
  ): { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } } | undefined;
}

/** What a role builder needs besides the object. */
export interface BuildContext {
  related: RelatedObjects;
  attachNode: boolean;
  attachNamespace: boolean;
  logger: Logger;
}

const NAMESPACE = `${META}namespace`;

function group(source: string, labels: LabelSet = {}, targets: LabelSet[] = []): TargetGroup {
  return { source, labels, targets };
}

/** The group that says "this source has no targets now" (what Prometheus sends for a deleted object). */
export function emptyGroup(source: string): TargetGroup {
  return group(source);
}

// ---------------------------------------------------------------- node

/** `node/<name>`. */
export function nodeSource(name: string): string {
  return `node/${name}`;
}

const NODE_ADDRESS_PRIORITY = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'];

/** Role `node`: one target per node at its preferred address and the kubelet port; undefined when the node has no address (Prometheus logs and sends nothing). */
export function buildNode(node: Node, logger: Logger): TargetGroup | undefined {
  const name = node.metadata?.name ?? '';
  const labels: LabelSet = { [`${META}node_provider_id`]: node.spec?.providerID ?? '' };
  for (const c of node.status?.conditions ?? []) {
    labels[`${META}node_condition_${sanitizeLabelName((c.type ?? '').toLowerCase())}`] = (c.status ?? '').toLowerCase();
  }
  addObjectMetaLabels(labels, node.metadata, 'node');

  const byType = new Map<string, string[]>();
  for (const a of node.status?.addresses ?? []) {
    const list = byType.get(a.type ?? '') ?? [];
    list.push(a.address ?? '');
    byType.set(a.type ?? '', list);
  }
  const preferred = NODE_ADDRESS_PRIORITY.find((t) => byType.has(t));
  if (preferred === undefined) {
    logger.warn('kubernetes discovery: no node address found', { node: name });
    return undefined;
  }
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  const target: LabelSet = {
    __address__: joinHostPort((byType.get(preferred) ?? [''])[0], port),
    instance: name,
  };
  for (const [type, addresses] of byType) {
    target[sanitizeLabelName(`${META}node_address_${type}`)] = addresses[0];
  }
  return group(nodeSource(name), labels, [target]);
}

// ---------------------------------------------------------------- pod

/** `pod/<namespace>/<name>`. */
export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

function podReady(pod: Pod): string {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
  return ready === undefined ? 'unknown' : (ready.status ?? '').toLowerCase();
}

/** The labels every target of a pod has (Prometheus' `podLabels`, without the deployment/job metadata promspool does not attach). */
export function podLabels(pod: Pod): LabelSet {
  const ls: LabelSet = {
    [`${META}pod_ip`]: pod.status?.podIP ?? '',
    [`${META}pod_ready`]: podReady(pod),
    [`${META}pod_phase`]: pod.status?.phase ?? '',
    [`${META}pod_node_name`]: pod.spec?.nodeName ?? '',
    [`${META}pod_host_ip`]: pod.status?.hostIP ?? '',
    [`${META}pod_uid`]: pod.metadata?.uid ?? '',
  };
  addObjectMetaLabels(ls, pod.metadata, 'pod');
  const controller = (pod.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (controller !== undefined) {
    if ((controller.kind ?? '') !== '') ls[`${META}pod_controller_kind`] = controller.kind ?? '';
    if ((controller.name ?? '') !== '') ls[`${META}pod_controller_name`] = controller.name ?? '';
  }
  return ls;
}

/** Containers then init containers, each with whether it is an init container. */
function allContainers(pod: Pod): { c: Container; isInit: boolean }[] {
  return [
    ...(pod.spec?.containers ?? []).map((c) => ({ c, isInit: false })),
    ...(pod.spec?.initContainers ?? []).map((c) => ({ c, isInit: true })),
  ];
}

function nodeLabels(ctx: BuildContext, nodeName: string | undefined): LabelSet {
  if (nodeName === undefined) return {};
  const node = ctx.related.node(nodeName);
  if (node === undefined) return {};
  const ls: LabelSet = {};
  addObjectMetaLabels(ls, node.metadata, 'node');
  return ls;
}

function namespaceLabels(ctx: BuildContext, namespace: string): LabelSet {
  const ns = ctx.related.namespace(namespace);
  if (ns === undefined) return {};
  const ls: LabelSet = {};
  addObjectAnnotationsAndLabels(ls, ns.metadata, 'namespace');
  return ls;
}

/** Role `pod`: one target per declared container port, or per container without ports (address without port). */
export function buildPod(pod: Pod, ctx: BuildContext): TargetGroup {
  const ns = pod.metadata?.namespace ?? '';
  const source = podSource(ns, pod.metadata?.name ?? '');
  const podIP = pod.status?.podIP ?? '';
  // A starting or evicted pod has no IP yet.
  if (podIP === '') return group(source);
  // With node metadata, pods on nodes the node selectors filtered out are left out.
  if (ctx.attachNode && ctx.related.node(pod.spec?.nodeName ?? '') === undefined) return group(source);

  let labels: LabelSet = { ...podLabels(pod), [NAMESPACE]: ns };
  if (ctx.attachNode) labels = { ...labels, ...nodeLabels(ctx, pod.spec?.nodeName ?? '') };
  if (ctx.attachNamespace) labels = { ...labels, ...namespaceLabels(ctx, ns) };

  const targets: LabelSet[] = [];
  for (const { c, isInit } of allContainers(pod)) {
    const statuses = isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
    const containerID = (statuses ?? []).find((s) => s.name === c.name)?.containerID ?? '';
    const base: LabelSet = {
      [`${META}pod_container_name`]: c.name ?? '',
      [`${META}pod_container_id`]: containerID,
      [`${META}pod_container_image`]: c.image ?? '',
      [`${META}pod_container_init`]: String(isInit),
    };
    if ((c.ports ?? []).length === 0) {
      // No port: the address is the pod IP and the user adds a port by relabeling.
      targets.push({ __address__: podIP, ...base });
      continue;
    }
    for (const p of c.ports ?? []) {
      const port = String(p.containerPort ?? 0);
      targets.push({
        __address__: joinHostPort(podIP, port),
        ...base,
        [`${META}pod_container_port_number`]: port,
        [`${META}pod_container_port_name`]: p.name ?? '',
        [`${META}pod_container_port_protocol`]: p.protocol ?? '',
      });
    }
  }
  return group(source, labels, targets);
}

// ---------------------------------------------------------------- service

/** `svc/<namespace>/<name>`. */
export function serviceSource(namespace: string, name: string): string {
  return `svc/${namespace}/${name}`;
}

/** Namespace, name, labels and annotations of a service (shared with the endpoints roles). */
export function serviceLabels(svc: Service): LabelSet {
  const ls: LabelSet = { [NAMESPACE]: svc.metadata?.namespace ?? '' };
  addObjectMetaLabels(ls, svc.metadata, 'service');
  return ls;
}

function loadBalancerIPs(svc: Service): string {
  const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== '');
  return ips.length > 0 ? ips.join(',') : (svc.spec?.loadBalancerIP ?? '');
}

/** Role `service`: one target per service port at `<name>.<namespace>.svc:<port>`. */
export function buildService(svc: Service, ctx: BuildContext): TargetGroup {
  const ns = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  let labels = serviceLabels(svc);
  if (ctx.attachNamespace) labels = { ...labels, ...namespaceLabels(ctx, ns) };
  const type = svc.spec?.type ?? '';
  const targets = (svc.spec?.ports ?? []).map((p) => {
    const port = String(p.port ?? 0);
    const t: LabelSet = {
      __address__: joinHostPort(`${name}.${ns}.svc`, port),
      [`${META}service_port_name`]: p.name ?? '',
      [`${META}service_port_number`]: port,
      [`${META}service_port_protocol`]: p.protocol ?? '',
      [`${META}service_type`]: type,
    };
    if (type === 'ExternalName') t[`${META}service_external_name`] = svc.spec?.externalName ?? '';
    else t[`${META}service_cluster_ip`] = svc.spec?.clusterIP ?? '';
    if (type === 'LoadBalancer') t[`${META}service_loadbalancer_ip`] = loadBalancerIPs(svc);
    return t;
  });
  return group(serviceSource(ns, name), labels, targets);
}

// ---------------------------------------------------------------- endpoints and endpointslice (shared pod logic)

/** Pods seen behind an endpoints object, with the ports that already made targets (insertion order). */
class SeenPods {
  private readonly pods = new Map<string, { pod: Pod; ports: number[] }>();

  add(pod: Pod, port: number | undefined): void {
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    let entry = this.pods.get(key);
    if (entry === undefined) {
      entry = { pod, ports: [] };
      this.pods.set(key, entry);
    }
    if (port !== undefined) entry.ports.push(port);
  }

  /** Targets for every container port of a seen pod that no endpoint port covered. */
  uncoveredTargets(): LabelSet[] {
    const out: LabelSet[] = [];
    for (const { pod, ports } of this.pods.values()) {
      const podIP = pod.status?.podIP ?? '';
      if (podIP === '') continue;
      for (const { c, isInit } of allContainers(pod)) {
        for (const cp of c.ports ?? []) {
          const n = cp.containerPort ?? 0;
          if (ports.includes(n)) continue;
          out.push({
            __address__: joinHostPort(podIP, n),
            [`${META}pod_container_name`]: c.name ?? '',
            [`${META}pod_container_image`]: c.image ?? '',
            [`${META}pod_container_port_name`]: cp.name ?? '',
            [`${META}pod_container_port_number`]: String(n),
            [`${META}pod_container_port_protocol`]: cp.protocol ?? '',
            [`${META}pod_container_init`]: String(isInit),
            ...podLabels(pod),
          });
        }
      }
    }
    return out;
  }
}

function resolvePod(ctx: BuildContext, ref: ObjectReference | undefined): Pod | undefined {
  if (ref === undefined || ref.kind !== 'Pod') return undefined;
  return ctx.related.pod(ref.namespace ?? '', ref.name ?? '');
}

/** The container labels of the pod container whose port is the endpoint's port. */
function containerPortLabels(pod: Pod, port: number, protocolOf: (cp: ContainerPort) => string): LabelSet {
  for (const { c, isInit } of allContainers(pod)) {
    const cp = (c.ports ?? []).find((p) => p.containerPort === port);
    if (cp === undefined) continue;
    return {
      [`${META}pod_container_name`]: c.name ?? '',
      [`${META}pod_container_image`]: c.image ?? '',
      [`${META}pod_container_port_name`]: cp.name ?? '',
      [`${META}pod_container_port_number`]: String(port),
      [`${META}pod_container_port_protocol`]: protocolOf(cp),
      [`${META}pod_container_init`]: String(isInit),
    };
  }
  return {};
}

// ---------------------------------------------------------------- endpoints

/** `endpoints/<namespace>/<name>`. */
export function endpointsSource(namespace: string, name: string): string {
  return `endpoints/${namespace}/${name}`;
}

/** Role `endpoints`: one target per address and port, joined with the service and the pod behind each address. */
export function buildEndpoints(eps: Endpoints, ctx: BuildContext): TargetGroup {
  const ns = eps.metadata?.namespace ?? '';
  const name = eps.metadata?.name ?? '';
  let labels: LabelSet = { [NAMESPACE]: ns };
  const svc = ctx.related.service(ns, name);
  if (svc !== undefined) labels = { ...labels, ...serviceLabels(svc) };
  addObjectMetaLabels(labels, eps.metadata, 'endpoints');
  if (ctx.attachNamespace) labels = { ...labels, ...namespaceLabels(ctx, ns) };

  const targets: LabelSet[] = [];
  const seen = new SeenPods();
  const add = (addr: EndpointAddress, port: EndpointPort, ready: string) => {
    let target: LabelSet = {
      __address__: joinHostPort(addr.ip ?? '', port.port ?? 0),
      [`${META}endpoint_port_name`]: port.name ?? '',
      [`${META}endpoint_port_protocol`]: port.protocol ?? '',
      [`${META}endpoint_ready`]: ready,
    };
    if (addr.targetRef !== undefined) {
      target[`${META}endpoint_address_target_kind`] = addr.targetRef.kind ?? '';
      target[`${META}endpoint_address_target_name`] = addr.targetRef.name ?? '';
    }
    if (addr.nodeName !== undefined) target[`${META}endpoint_node_name`] = addr.nodeName;
    if ((addr.hostname ?? '') !== '') target[`${META}endpoint_hostname`] = addr.hostname ?? '';
    if (ctx.attachNode) {
      if (addr.nodeName !== undefined) target = { ...target, ...nodeLabels(ctx, addr.nodeName) };
      else if (addr.targetRef?.kind === 'Node') target = { ...target, ...nodeLabels(ctx, addr.targetRef.name ?? '') };
    }
    const pod = resolvePod(ctx, addr.targetRef);
    if (pod === undefined) {
      targets.push(target);
      return;
    }
    seen.add(pod, port.port ?? 0);
    target = { ...target, ...podLabels(pod), ...containerPortLabels(pod, port.port ?? 0, () => port.protocol ?? '') };
    targets.push(target);
  };
  for (const ss of eps.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      for (const addr of ss.addresses ?? []) add(addr, port, 'true');
      for (const addr of ss.notReadyAddresses ?? []) add(addr, port, 'false');
    }
  }
  const capacity = eps.metadata?.labels?.['endpoints.kubernetes.io/over-capacity'];
  if (capacity === 'truncated' || capacity === 'warning') {
    ctx.logger.warn('kubernetes discovery: an Endpoints object has over 1000 endpoints; use "role: endpointslice"', {
      endpoints: name,
      overCapacity: capacity,
    });
  }
  targets.push(...seen.uncoveredTargets());
  return group(endpointsSource(ns, name), labels, targets);
}

// ---------------------------------------------------------------- endpointslice

/** `endpointslice/<namespace>/<name>`. */
export function endpointSliceSource(namespace: string, name: string): string {
  return `endpointslice/${namespace}/${name}`;
}

/** The secondary slice of a dual-stack service: its targets would repeat the primary slice's. */
function nonPrimaryIPFamilySlice(svc: Service | undefined, eps: EndpointSlice): boolean {
  const policy = svc?.spec?.ipFamilyPolicy;
  if (policy !== 'PreferDualStack' && policy !== 'RequireDualStack') return false;
  const families = svc?.spec?.ipFamilies ?? [];
  if (families.length === 0) return false;
  return (eps.addressType ?? '') !== families[0];
}

/** Role `endpointslice`: one target per endpoint address and port, joined with the service (label `kubernetes.io/service-name`) and pods. */
export function buildEndpointSlice(eps: EndpointSlice, ctx: BuildContext): TargetGroup {
  const ns = eps.metadata?.namespace ?? '';
  const name = eps.metadata?.name ?? '';
  let labels: LabelSet = { [NAMESPACE]: ns, [`${META}endpointslice_address_type`]: eps.addressType ?? '' };
  addObjectMetaLabels(labels, eps.metadata, 'endpointslice');
  const serviceName = eps.metadata?.labels?.['kubernetes.io/service-name'];
  const svc = serviceName === undefined ? undefined : ctx.related.service(ns, serviceName);
  if (svc !== undefined) labels = { ...labels, ...serviceLabels(svc) };
  if (ctx.attachNamespace) labels = { ...labels, ...namespaceLabels(ctx, ns) };
  const source = endpointSliceSource(ns, name);
  if (nonPrimaryIPFamilySlice(svc, eps)) return group(source, labels);

  const targets: LabelSet[] = [];
  const seen = new SeenPods();
  const add = (addr: string, ep: SliceEndpoint, port: SlicePort) => {
    let target: LabelSet = { __address__: port.port === undefined ? addr : joinHostPort(addr, port.port) };
    if (port.name !== undefined) target[`${META}endpointslice_port_name`] = port.name;
    if (port.protocol !== undefined) target[`${META}endpointslice_port_protocol`] = port.protocol;
    if (port.port !== undefined) target[`${META}endpointslice_port`] = String(port.port);
    if (port.appProtocol !== undefined) target[`${META}endpointslice_port_app_protocol`] = port.appProtocol;
    const cond = ep.conditions ?? {};
    if (cond.ready !== undefined) target[`${META}endpointslice_endpoint_conditions_ready`] = String(cond.ready);
    if (cond.serving !== undefined) target[`${META}endpointslice_endpoint_conditions_serving`] = String(cond.serving);
    if (cond.terminating !== undefined) {
      target[`${META}endpointslice_endpoint_conditions_terminating`] = String(cond.terminating);
    }
    if (ep.hostname !== undefined) target[`${META}endpointslice_endpoint_hostname`] = ep.hostname;
    if (ep.targetRef !== undefined) {
      target[`${META}endpointslice_address_target_kind`] = ep.targetRef.kind ?? '';
      target[`${META}endpointslice_address_target_name`] = ep.targetRef.name ?? '';
    }
    if (ep.nodeName !== undefined) target[`${META}endpointslice_endpoint_node_name`] = ep.nodeName;
    if (ep.zone !== undefined) target[`${META}endpointslice_endpoint_zone`] = ep.zone;
    for (const [k, v] of Object.entries(ep.deprecatedTopology ?? {})) {
      const ln = sanitizeLabelName(k);
      target[`${META}endpointslice_endpoint_topology_${ln}`] = v;
      target[`${META}endpointslice_endpoint_topology_present_${ln}`] = 'true';
    }
    if (ctx.attachNode) {
      const nodeName = ep.targetRef?.kind === 'Node' ? ep.targetRef.name : ep.nodeName;
      target = { ...target, ...nodeLabels(ctx, nodeName) };
    }
    const pod = resolvePod(ctx, ep.targetRef);
    if (pod === undefined) {
      targets.push(target);
      return;
    }
    seen.add(pod, port.port);
    target = { ...target, ...podLabels(pod) };
    // Prometheus takes the protocol from the container port here (from the endpoint port in role endpoints).
    if (port.port !== undefined)
      target = { ...target, ...containerPortLabels(pod, port.port, (cp) => cp.protocol ?? '') };
    targets.push(target);
  };
  for (const ep of eps.endpoints ?? []) {
    for (const port of eps.ports ?? []) {
      for (const addr of ep.addresses ?? []) add(addr, ep, port);
    }
  }
  targets.push(...seen.uncoveredTargets());
  return group(source, labels, targets);
}

// ---------------------------------------------------------------- ingress

/** `ingress/<namespace>/<name>`. */
export function ingressSource(namespace: string, name: string): string {
  return `ingress/${namespace}/${name}`;
}

function matchesHostnamePattern(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  const p = pattern.split('.');
  const h = host.split('.');
  if (p[0] !== '*' || p.length !== h.length) return false;
  return p.every((part, i) => i === 0 || part === h[i]);
}

/** Role `ingress`: one target per rule host and path; `https` when a TLS entry covers the host. */
export function buildIngress(ing: Ingress, ctx: BuildContext): TargetGroup {
  const ns = ing.metadata?.namespace ?? '';
  let labels: LabelSet = { [NAMESPACE]: ns };
  if (ing.spec?.ingressClassName !== undefined) labels[`${META}ingress_class_name`] = ing.spec.ingressClassName;
  addObjectMetaLabels(labels, ing.metadata, 'ingress');
  if (ctx.attachNamespace) labels = { ...labels, ...namespaceLabels(ctx, ns) };
  const tlsHosts = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  const targets: LabelSet[] = [];
  for (const rule of ing.spec?.rules ?? []) {
    const host = rule.host ?? '';
    const scheme = tlsHosts.some((p) => matchesHostnamePattern(p, host)) ? 'https' : 'http';
    const paths = rule.http === undefined ? ['/'] : (rule.http.paths ?? []).map((p) => (p.path ?? '') || '/');
    for (const path of paths) {
      targets.push({
        __address__: host,
        [`${META}ingress_scheme`]: scheme,
        [`${META}ingress_host`]: host,
        [`${META}ingress_path`]: path,
      });
    }
  }
  return group(ingressSource(ns, ing.metadata?.name ?? ''), labels, targets);
}
