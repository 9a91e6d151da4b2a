import type { Labels } from '../../src/serialization/types.js';

/** The 10 labels of series `i` in the in-process scenarios (library, read-side): same workload in both. */
export function benchSeriesLabels(i: number): Labels {
  return {
    __name__: 'bench_metric_total',
    instance: `host-${i % 500}:9100`,
    job: 'node',
    series: String(i),
    region: 'eu-west-1',
    zone: `eu-west-1${'abc'[i % 3]}`,
    env: 'prod',
    team: `team-${i % 20}`,
    service: `svc-${i % 100}`,
    pod: `pod-${i}`,
  };
}
