/**
 * Turns a decoded remote-write body into appends. The wire decoders call a visitor per series and
 * per sample; this visitor looks the series up in a cache of {@link SeriesRef}s keyed by its label
 * string, so a steady stream of pushes validates and hashes each series once, and appends
 * allocate nothing per sample.
 */

import type { Appender, Queue, SeriesRef } from '../queue-types.js';
import type { Labels, MetadataEntry, NativeHistogram } from '../serialization/types.js';
import type { RemoteWriteVisitor } from '../wire/types.js';
import type { RemoteWriteVersion } from './content-negotiation.js';

/** Signals handed to the appender for one request. */
export interface IngestCounts {
  samples: number;
  histograms: number;
  exemplars: number;
  metadata: number;
}

/** Decodes one uncompressed body, calling `visitor` in wire order; throws PromspoolError('ERR_BAD_REQUEST'). */
export type RemoteWriteDecode = (body: Uint8Array, visitor: RemoteWriteVisitor) => unknown;

export interface Ingester {
  /**
   * Decodes `body` into `appender`. Throws on a malformed body or invalid labels; the appender
   * then holds a prefix of the request and must be rolled back by the caller.
   */
  ingest(version: RemoteWriteVersion, body: Uint8Array, appender: Appender): IngestCounts;
  /** Series handles cached now. */
  readonly cachedSeries: number;
}

export interface IngesterOptions {
  decoders: Record<RemoteWriteVersion, RemoteWriteDecode>;
  /**
   * The cache keeps two generations of this many series each: when the young one is full it
   * becomes the old one, and series still pushed move back. Default 100k.
   */
  maxCachedSeries?: number;
}

export function createIngester(queue: Pick<Queue, 'series'>, options: IngesterOptions): Ingester {
  const max = options.maxCachedSeries ?? 100_000;
  let young = new Map<string, SeriesRef>();
  let old = new Map<string, SeriesRef>();

  const lookup = (labels: readonly string[]): SeriesRef => {
    let key = '';
    for (let i = 0; i < labels.length; i++) key += `${labels[i]}\xff`;
    let ref = young.get(key);
    if (ref) return ref;
    ref = old.get(key);
    if (!ref) {
      const obj: Labels = {};
      for (let i = 0; i + 1 < labels.length; i += 2) obj[labels[i]] = labels[i + 1];
      ref = queue.series(obj);
    }
    if (young.size >= max) {
      old = young;
      young = new Map();
    }
    young.set(key, ref);
    return ref;
  };

  // One visitor, re-targeted per request: requests never interleave inside `ingest` (it is synchronous).
  let appender: Appender | undefined;
  let current: SeriesRef | undefined;
  const counts: IngestCounts = { samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
  const visitor: RemoteWriteVisitor = {
    series(labels) {
      current = lookup(labels);
    },
    sample(timestampMs, value) {
      appender!.append(current!, timestampMs, value);
      counts.samples++;
    },
    histogram(timestampMs, histogram: NativeHistogram) {
      appender!.appendHistogram(current!, timestampMs, histogram);
      counts.histograms++;
    },
    exemplar(labels, value, timestampMs) {
      const exemplarLabels: Labels = {};
      for (let i = 0; i + 1 < labels.length; i += 2) exemplarLabels[labels[i]] = labels[i + 1];
      appender!.appendExemplar(current!, { labels: exemplarLabels, value, timestampMs });
      counts.exemplars++;
    },
    metadata(entry: MetadataEntry) {
      appender!.updateMetadata(entry.metricFamilyName, { type: entry.type, help: entry.help, unit: entry.unit });
      counts.metadata++;
    },
  };

  return {
    ingest(version, body, target) {
      appender = target;
      current = undefined;
      counts.samples = 0;
      counts.histograms = 0;
      counts.exemplars = 0;
      counts.metadata = 0;
      try {
        options.decoders[version](body, visitor);
      } finally {
        appender = undefined;
        current = undefined;
      }
      return { ...counts };
    },
    get cachedSeries() {
      return young.size + old.size;
    },
  };
}
