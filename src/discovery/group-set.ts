/**
 * The groups a refreshing discoverer (file, HTTP) reported last, so each refresh reports only what
 * changed: groups whose targets or labels differ, and an empty group for each source that is gone
 * (Prometheus' "a group with no targets means its targets are gone").
 */
import type { TargetGroup } from './types.js';

export class GroupSet {
  private readonly bySource = new Map<string, { group: TargetGroup; key: string }>();

  /** Targets in all current groups. */
  get targets(): number {
    let n = 0;
    for (const { group } of this.bySource.values()) n += group.targets.length;
    return n;
  }

  /**
   * Replaces the groups whose source `owns` (every group when absent) by `groups`; returns what
   * changed, in the order of `groups`, then the empty groups of sources that disappeared.
   */
  replace(groups: readonly TargetGroup[], owns: (source: string) => boolean = () => true): TargetGroup[] {
    const changed: TargetGroup[] = [];
    const present = new Set<string>();
    for (const group of groups) {
      present.add(group.source);
      const key = JSON.stringify([group.targets, group.labels]);
      const last = this.bySource.get(group.source);
      if (last?.key === key) continue;
      this.bySource.set(group.source, { group, key });
      changed.push(group);
    }
    for (const source of [...this.bySource.keys()]) {
      if (present.has(source) || !owns(source)) continue;
      this.bySource.delete(source);
      changed.push({ source, targets: [], labels: {} });
    }
    return changed;
  }

  /** Every current group. */
  all(): TargetGroup[] {
    return [...this.bySource.values()].map((v) => v.group);
  }
}
