/**
 * `static_configs`: the groups written in the config, reported once (Prometheus' StaticConfig
 * discoverer). Sources are the group's index, as in Prometheus.
 */
import type { StaticTargetGroup } from '../config/types.js';
import type { Discoverer, DiscoveryStats, TargetGroup } from './types.js';
import { untilAborted } from './until-aborted.js';

/** The target groups of `static_configs`: each target becomes `{ __address__: target }`. */
export function staticTargetGroups(groups: readonly StaticTargetGroup[]): TargetGroup[] {
  return groups.map((g, i) => ({
    source: String(i),
    targets: g.targets.map((t) => ({ __address__: t })),
    labels: { ...g.labels },
  }));
}

/** A discoverer of fixed groups, with its counters. */
export interface StaticDiscoverer extends Discoverer {
  readonly stats: DiscoveryStats;
}

/** Reports `groups` once, then waits for the abort. */
export function createStaticDiscoverer(groups: readonly StaticTargetGroup[]): StaticDiscoverer {
  const tgs = staticTargetGroups(groups);
  const stats: DiscoveryStats = { failures: 0, updates: 0, targets: 0 };
  return {
    stats,
    async run(onUpdate, signal) {
      if (signal.aborted) return;
      stats.updates++;
      stats.targets = tgs.reduce((n, g) => n + g.targets.length, 0);
      onUpdate(tgs);
      await untilAborted(signal);
    },
  };
}
