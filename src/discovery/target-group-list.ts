/**
 * The target group list file and HTTP discovery read (Prometheus' `[]*targetgroup.Group` JSON/YAML
 * form): `[{ "targets": ["host:port", ...], "labels": { "name": "value" } }, ...]`. Problems are
 * reported with the path of the element at fault (`[2].labels.env`), which the callers turn into
 * a line.
 */
import { indexPath, isPlainObject, joinPath } from '../config/field-reader.js';
import { isWellFormedString } from '../serialization/name-validation.js';

/** One group as written: its targets and labels. */
export interface TargetGroupItem {
  targets: string[];
  labels: Record<string, string>;
}

/** A problem in the list: `path` is `''`, `[i]`, `[i].targets[j]` or `[i].labels.<name>`. */
export interface TargetGroupListError {
  path: string;
  message: string;
}

/** The list `value` decodes to, or the first problem in it. */
export function readTargetGroupList(value: unknown): { groups: TargetGroupItem[] } | { error: TargetGroupListError } {
  // An empty file (YAML null) is an empty list, as in Prometheus.
  if (value === null || value === undefined) return { groups: [] };
  if (!Array.isArray(value)) return { error: { path: '', message: 'expected a list of target groups' } };
  const groups: TargetGroupItem[] = [];
  for (let i = 0; i < value.length; i++) {
    const at = indexPath('', i);
    const item = value[i];
    if (!isPlainObject(item)) return { error: { path: at, message: 'expected a target group { targets, labels }' } };
    for (const key of Object.keys(item)) {
      if (key !== 'targets' && key !== 'labels') {
        return { error: { path: joinPath(at, key), message: 'unknown key (a group has targets and labels)' } };
      }
    }
    const targets: string[] = [];
    const rawTargets = item.targets ?? [];
    if (!Array.isArray(rawTargets)) {
      return { error: { path: joinPath(at, 'targets'), message: 'expected a list of "host:port" strings' } };
    }
    for (let j = 0; j < rawTargets.length; j++) {
      const t = rawTargets[j];
      if (typeof t !== 'string') {
        return { error: { path: indexPath(joinPath(at, 'targets'), j), message: 'expected a "host:port" string' } };
      }
      targets.push(t);
    }
    const labels: Record<string, string> = {};
    const rawLabels = item.labels ?? {};
    if (!isPlainObject(rawLabels)) {
      return { error: { path: joinPath(at, 'labels'), message: 'expected a mapping of label names to values' } };
    }
    for (const [name, v] of Object.entries(rawLabels)) {
      const labelAt = joinPath(joinPath(at, 'labels'), name);
      if (name === '') return { error: { path: labelAt, message: 'label names must not be empty' } };
      if (typeof v !== 'string') return { error: { path: labelAt, message: 'label values must be strings' } };
      if (!isWellFormedString(v)) return { error: { path: labelAt, message: 'label value is not valid UTF-8' } };
      labels[name] = v;
    }
    groups.push({ targets, labels });
  }
  return { groups };
}
