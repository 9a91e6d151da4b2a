/**
 * The labels a Prometheus scrape gives every sample: the target's (`job`, `instance`, static
 * labels) merged over the exposed ones with `honor_labels: false` semantics.
 */
import type { Labels } from '../serialization/types.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Validates and builds a target's label set. Throws a TypeError naming the bad option: an empty
 * `job` or `instance`, an extra label that is reserved (`__*`), is `job`/`instance` (they have
 * their own options), has an invalid name or an empty value.
 */
export function targetLabels(job: string, instance: string, extraLabels: Labels = {}): Labels {
  if (typeof job !== 'string' || job === '')
    throw new TypeError('prom-client bridge: `job` must be a non-empty string');
  if (typeof instance !== 'string' || instance === '') {
    throw new TypeError('prom-client bridge: `instance` must be a non-empty string');
  }
  const labels: Labels = { job, instance };
  for (const [name, value] of Object.entries(extraLabels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new TypeError(`prom-client bridge: extraLabels: ${JSON.stringify(name)} is not a usable label name`);
    }
    if (name === 'job' || name === 'instance') {
      throw new TypeError(`prom-client bridge: extraLabels: set ${name} with the \`${name}\` option`);
    }
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`prom-client bridge: extraLabels: ${name} must be a non-empty string`);
    }
    labels[name] = value;
  }
  return labels;
}

/**
 * Merges `target` over `exposed` as Prometheus' scrape loop does with `honor_labels: false`
 * (scrape.go mutateSampleLabels / resolveConflictingExposedLabels): the target's values win, and
 * an exposed label they replace is kept as `exported_<name>` (`exported_exported_<name>` if
 * that is taken too, shortest names first). Empty exposed values count as absent.
 */
export function mergeTargetLabels(exposed: Labels, target: Labels): Labels {
  const out: Labels = { ...exposed };
  let conflicts: [string, string][] | undefined;
  for (const name in target) {
    const v = exposed[name];
    if (v !== undefined && v !== '') (conflicts ??= []).push([name, v]);
    out[name] = target[name]!;
  }
  if (conflicts !== undefined) {
    conflicts.sort((a, b) => a[0].length - b[0].length);
    for (const [name, value] of conflicts) {
      let renamed = name;
      do renamed = `exported_${renamed}`;
      while (out[renamed] !== undefined && out[renamed] !== '');
      out[renamed] = value;
    }
  }
  return out;
}
