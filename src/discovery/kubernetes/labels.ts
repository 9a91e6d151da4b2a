/**
 * The `__meta_kubernetes_*` label helpers every role shares, spelled as Prometheus'
 * discovery/kubernetes/kubernetes.go spells them.
 */
import type { ObjectMeta } from './objects.js';

/** Prefix of every label Kubernetes discovery sets. */
export const META = '__meta_kubernetes_';

/** Labels are built in place: a plain mutable record. */
export type LabelSet = Record<string, string>;

/** Prometheus' `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_` (one per code point). */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_');
}

/** Go's `net.JoinHostPort`: an IPv6 literal is bracketed. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `<resource>_label_<name>`, `<resource>_labelpresent_<name>` and the same for annotations. */
export function addObjectAnnotationsAndLabels(ls: LabelSet, meta: ObjectMeta | undefined, resource: string): void {
  for (const [k, v] of Object.entries(meta?.labels ?? {})) {
    const ln = sanitizeLabelName(k);
    ls[`${META}${resource}_label_${ln}`] = v;
    ls[`${META}${resource}_labelpresent_${ln}`] = 'true';
  }
  for (const [k, v] of Object.entries(meta?.annotations ?? {})) {
    const ln = sanitizeLabelName(k);
    ls[`${META}${resource}_annotation_${ln}`] = v;
    ls[`${META}${resource}_annotationpresent_${ln}`] = 'true';
  }
}

/** `<role>_name` plus the object's labels and annotations. */
export function addObjectMetaLabels(ls: LabelSet, meta: ObjectMeta | undefined, role: string): void {
  ls[`${META}${role}_name`] = meta?.name ?? '';
  addObjectAnnotationsAndLabels(ls, meta, role);
}
