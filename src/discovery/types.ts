/**
 * Service discovery as Prometheus models it (discovery.Discoverer and targetgroup.Group): each
 * discoverer keeps a set of target groups, each named by a `source` unique within the discoverer,
 * and reports groups that changed. A group reported with no targets means "this source has none
 * now" (its targets are gone).
 */

/** One group of targets sharing labels (Prometheus' `targetgroup.Group`). */
export interface TargetGroup {
  /** Unique within its discoverer: a later group with the same source replaces the earlier one. */
  readonly source: string;
  /** Each target's own labels; `__address__` is always set. `__meta_*` labels included. */
  readonly targets: readonly Readonly<Record<string, string>>[];
  /** Labels every target of the group has unless it sets them itself. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A running discovery. `run` reports the full set of its groups first (possibly empty), then
 * every group that changed, until `signal` aborts; it resolves once stopped and never rejects
 * (a failure is logged, counted and retried; the last good groups stay in effect, as Prometheus
 * keeps them).
 */
export interface Discoverer {
  run(onUpdate: (changed: readonly TargetGroup[]) => void, signal: AbortSignal): Promise<void>;
}

/** Counters every discoverer keeps (the self-metrics `prometheus_sd_*` read them). */
export interface DiscoveryStats {
  /** Refreshes or watch events that failed. */
  failures: number;
  /** Refreshes or watch events applied. */
  updates: number;
  /** Targets currently discovered. */
  targets: number;
}
