/**
 * Which role objects a changed joined object affects, so a change rebuilds those groups only
 * (Prometheus enqueues the same ones through its informer indexes): a service its endpoints
 * (same name) or endpoint slices (label `kubernetes.io/service-name`); a pod the endpoints and
 * slices whose addresses point at it; a node the pods on it and the addresses naming it; a
 * namespace everything in it.
 */
import type { KubernetesRole } from '../../config/types.js';
import type { EndpointSlice, Endpoints, KubeObject, Pod } from './objects.js';

/** A joined resource a role reads. */
export type JoinedResource = 'services' | 'pods' | 'nodes' | 'namespaces';

/** Whether `object` (of `role`) joins the `resource` object named `key` (`namespace/name`, or `name` for nodes and namespaces). */
export function references(role: KubernetesRole, object: KubeObject, resource: JoinedResource, key: string): boolean {
  const ns = object.metadata?.namespace ?? '';
  if (resource === 'namespaces') return ns === key;
  if (role === 'pod') return resource === 'nodes' && (object as Pod).spec?.nodeName === key;
  if (role === 'endpoints') {
    const eps = object as Endpoints;
    if (resource === 'services') return `${ns}/${object.metadata?.name ?? ''}` === key;
    return (eps.subsets ?? []).some((s) =>
      [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].some((a) =>
        resource === 'pods'
          ? a.targetRef?.kind === 'Pod' && `${a.targetRef.namespace ?? ''}/${a.targetRef.name ?? ''}` === key
          : a.nodeName === key || (a.targetRef?.kind === 'Node' && a.targetRef.name === key),
      ),
    );
  }
  if (role === 'endpointslice') {
    const slice = object as EndpointSlice;
    if (resource === 'services')
      return `${ns}/${object.metadata?.labels?.['kubernetes.io/service-name'] ?? ''}` === key;
    return (slice.endpoints ?? []).some((e) =>
      resource === 'pods'
        ? e.targetRef?.kind === 'Pod' && `${e.targetRef.namespace ?? ''}/${e.targetRef.name ?? ''}` === key
        : e.nodeName === key || (e.targetRef?.kind === 'Node' && e.targetRef.name === key),
    );
  }
  return false;
}
