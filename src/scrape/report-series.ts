/**
 * The series Prometheus writes for every scrape of a target besides what the target exposed
 * (`up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
 * `scrape_samples_post_metric_relabeling`, `scrape_series_added`), with Prometheus' metadata, and
 * the stale marker value.
 */
import { STALE_NAN_HIGH, STALE_NAN_LOW } from '../serialization/stale-marker.js';
import type { Labels, Metadata } from '../serialization/types.js';

/** Prometheus' stale marker (bits 0x7ff0000000000002) as a number; see stale-marker.ts. */
export const STALE_NAN: number = (() => {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, STALE_NAN_HIGH);
  view.setUint32(4, STALE_NAN_LOW);
  return view.getFloat64(0);
})();

/** One report series: its name and metadata. */
export interface ReportSeries {
  readonly name: string;
  readonly metadata: Metadata;
}

/** In the order Prometheus appends them (`scrapeLoop.report`). */
export const REPORT_SERIES: readonly ReportSeries[] = [
  {
    name: 'up',
    metadata: {
      type: 'gauge',
      help: 'Health of the scrape target. 1 means the target is healthy, 0 if the scrape failed.',
      unit: 'targets',
    },
  },
  {
    name: 'scrape_duration_seconds',
    metadata: { type: 'gauge', help: 'Duration of the last scrape in seconds.', unit: 'seconds' },
  },
  {
    name: 'scrape_samples_scraped',
    metadata: { type: 'gauge', help: 'Number of samples last scraped.', unit: 'samples' },
  },
  {
    name: 'scrape_samples_post_metric_relabeling',
    metadata: {
      type: 'gauge',
      help: 'Number of samples remaining after metric relabeling was applied.',
      unit: 'samples',
    },
  },
  {
    name: 'scrape_series_added',
    metadata: { type: 'gauge', help: 'Number of series in the last scrape.', unit: 'series' },
  },
];

/** What one scrape reports, in {@link REPORT_SERIES} order after `up`. */
export interface ScrapeReport {
  readonly up: boolean;
  readonly durationSeconds: number;
  readonly scraped: number;
  readonly postRelabeling: number;
  readonly seriesAdded: number;
}

/** The report values of {@link REPORT_SERIES}, in order. */
export function reportValues(r: ScrapeReport): number[] {
  return [r.up ? 1 : 0, r.durationSeconds, r.scraped, r.postRelabeling, r.seriesAdded];
}

/**
 * A report series' labels, as Prometheus' `mutateReportSampleLabels`: the target's labels always
 * win (`honor_labels` does not apply; the report has no label of its own to conflict with).
 */
export function reportLabels(name: string, targetLabels: Readonly<Labels>): Labels {
  return { ...targetLabels, __name__: name };
}
