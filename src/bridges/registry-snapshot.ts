/**
 * Turns one collection of a prom-client registry into what a Prometheus scrape of it would store,
 * appended to the queue and committed as one batch: every sample named as the text exposition
 * names it (`_bucket{le}`/`_sum`/`_count` for histograms, `{quantile}`/`_sum`/`_count` for
 * summaries), the target's labels merged in (see {@link mergeTargetLabels}), one timestamp for
 * the whole snapshot, metadata (type, help) per family, and a stale marker for each series of the
 * previous snapshot that is gone, as the scrape loop writes one.
 */
import { Registry, type RegistryContentType } from 'prom-client';
import { PromspoolError } from '../errors.js';
import type { Queue, SeriesRef } from '../queue-types.js';
import { STALE_NAN_HIGH, STALE_NAN_LOW } from '../serialization/stale-marker.js';
import type { Labels, Metadata, MetricType } from '../serialization/types.js';
import { mergeTargetLabels } from './target-labels.js';

/** What one snapshot appended. */
export interface SnapshotResult {
  /** The timestamp every sample of the snapshot carries, ms. */
  timestampMs: number;
  /** Samples appended (stale markers not included). */
  samples: number;
  /** Stale markers appended for series of the previous snapshot that are gone. */
  staleMarkers: number;
  /** Exemplars appended (OpenMetrics registries only, as a scrape would). */
  exemplars: number;
  /** Series left out, each with why (an invalid label set, a duplicate within the snapshot). */
  skipped: string[];
}

/** Prometheus' stale marker (a NaN with payload 2); the appender keeps its bits. */
export const STALE_NAN: number = (() => {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, STALE_NAN_HIGH);
  view.setUint32(4, STALE_NAN_LOW);
  return view.getFloat64(0);
})();

interface ExposedValue {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
  exemplar?: { labelSet?: Record<string, string | number>; value?: number; timestamp?: number } | null;
}

/**
 * Snapshots one registry for one target. Keeps the series handles and metadata of the previous
 * snapshot: after the first one no label set is validated again, metadata is appended only when
 * new or changed, and vanished series get their stale marker. Snapshots must not overlap (the
 * callers serialize them).
 */
export class RegistrySnapshotter {
  private refs = new Map<string, SeriesRef>();
  private readonly metadataSent = new Map<string, string>();

  constructor(
    private readonly queue: Pick<Queue, 'appender' | 'series'>,
    readonly registry: Registry<RegistryContentType>,
    /** The target's labels, from {@link targetLabels}. */
    private readonly target: Labels,
  ) {}

  /**
   * Collects the registry, appends everything at `timestampMs` and commits. Resolves once the
   * commit resolved (durable per the queue's fsync policy). Rejects with a PromspoolError
   * `ERR_REGISTRY_COLLECT` when the registry throws (nothing appended), or with the commit's own
   * error (ClosedError, DiskFullError).
   */
  async snapshot(timestampMs: number): Promise<SnapshotResult> {
    let families: Awaited<ReturnType<Registry<RegistryContentType>['getMetricsAsJSON']>>;
    try {
      families = await this.registry.getMetricsAsJSON();
    } catch (err) {
      throw new PromspoolError(
        'ERR_REGISTRY_COLLECT',
        `prom-client bridge (job "${this.target.job}"): collecting the registry failed: ${(err as Error)?.message ?? err}`,
        { cause: err },
      );
    }
    // An OpenMetrics registry exposes counter `x` as family `x`, sample `x_total` (see prom-client's
    // Registry.metrics()), and a scrape of it ingests its exemplars.
    const openMetrics = this.registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
    const result: SnapshotResult = { timestampMs, samples: 0, staleMarkers: 0, exemplars: 0, skipped: [] };
    const app = this.queue.appender();
    const seen = new Map<string, SeriesRef>();
    const metadata = new Map<string, string>();
    try {
      for (const family of families) {
        const type = metricType(String(family.type));
        const omCounter = openMetrics && type === 'counter';
        const familyName = omCounter ? family.name.replace(/_total$/, '') : family.name;
        const meta: Metadata = { type, help: family.help, unit: '' };
        const metaKey = `${meta.type}\n${meta.help}`;
        if (this.metadataSent.get(familyName) !== metaKey) app.updateMetadata(familyName, meta);
        metadata.set(familyName, metaKey);
        for (const v of family.values as ExposedValue[]) {
          const exposed: Labels = { __name__: omCounter ? `${familyName}_total` : (v.metricName ?? family.name) };
          for (const name in v.labels) {
            const lv = v.labels[name];
            // An empty label value means "no label" in Prometheus.
            if (lv !== undefined && lv !== '') exposed[name] = String(lv);
          }
          const labels = mergeTargetLabels(exposed, this.target);
          const key = labelKey(labels);
          if (seen.has(key)) {
            // Prometheus keeps the first and counts the rest as duplicate samples for the timestamp.
            result.skipped.push(`${describe(labels)}: duplicate series in one snapshot`);
            continue;
          }
          let ref = this.refs.get(key);
          if (ref === undefined) {
            try {
              ref = this.queue.series(labels);
            } catch (err) {
              result.skipped.push(`${describe(labels)}: ${(err as Error).message}`);
              continue;
            }
          }
          seen.set(key, ref);
          app.append(ref, timestampMs, Number(v.value));
          result.samples++;
          const ex = v.exemplar;
          if (openMetrics && ex?.labelSet !== undefined && Object.keys(ex.labelSet).length > 0) {
            const exLabels: Labels = {};
            for (const [n, lv] of Object.entries(ex.labelSet)) exLabels[n] = String(lv);
            const exTs = typeof ex.timestamp === 'number' ? Math.round(ex.timestamp * 1000) : timestampMs;
            app.appendExemplar(ref, { labels: exLabels, value: Number(ex.value ?? v.value), timestampMs: exTs });
            result.exemplars++;
          }
        }
      }
      for (const [key, ref] of this.refs) {
        if (seen.has(key)) continue;
        app.append(ref, timestampMs, STALE_NAN);
        result.staleMarkers++;
      }
    } catch (err) {
      app.rollback();
      throw err;
    }
    await app.commit();
    // Only what was committed counts as sent: a failed commit retries metadata and stale markers.
    this.refs = seen;
    for (const [name, key] of metadata) this.metadataSent.set(name, key);
    return result;
  }
}

function labelKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\xff${labels[n]}\xff`;
  return key;
}

function describe(labels: Labels): string {
  const { __name__, ...rest } = labels;
  return `${__name__ ?? ''}${JSON.stringify(rest)}`;
}

function metricType(t: string): MetricType {
  switch (t) {
    case 'counter':
    case 'gauge':
    case 'histogram':
    case 'summary':
      return t;
    default:
      return 'unknown';
  }
}
