/**
 * Turns a decoded remote-write body into appends. The wire decoders call a visitor per series and
 * per sample. Before each series they offer its label bytes (see RemoteWriteVisitor.knownSeries):
 * this visitor looks those bytes up in a {@link SeriesCache} of SeriesRefs, so a series pushed
 * again (every scrape interval, typically) costs a hash and a byte compare, with no label string
 * decoded, validated or hashed again; appends allocate nothing per sample.
 */

import type { Appender, Queue, SeriesRef } from '../queue-types.js';
import { formatLabelPairs } from '../serialization/name-validation.js';
import type { Labels, MetadataEntry, NativeHistogram } from '../serialization/types.js';
import type { RemoteWriteVisitor } from '../wire/types.js';
import type { RemoteWriteVersion } from './content-negotiation.js';
import { type ByteHash, createSeriesCache, type SeriesCacheStats } from './series-cache.js';

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
  /** Size and hit counts of the series cache. */
  cacheStats(): SeriesCacheStats;
}

export interface IngesterOptions {
  decoders: Record<RemoteWriteVersion, RemoteWriteDecode>;
  /**
   * Series whose label bytes are remembered, over the cache's two generations (see
   * {@link createSeriesCache}): a working set of up to half of it always hits. Default
   * 1,000,000, well above what one agent usually relays. Each costs its label bytes
   * (~150-300 B) plus ~100 B of index, and keeps its SeriesRef alive.
   */
  maxCachedSeries?: number;
  /** Bound on the label bytes held by the cache (both generations). Default 256 MiB. */
  maxCachedBytes?: number;
  /** For tests: the hash of label bytes (e.g. a constant one, to force collisions). */
  hash?: ByteHash;
}

export function createIngester(queue: Pick<Queue, 'series'>, options: IngesterOptions): Ingester {
  const cache = createSeriesCache({
    maxSeries: options.maxCachedSeries,
    maxBytes: options.maxCachedBytes,
    hash: options.hash,
  });
  /** The bytes of the last knownSeries() that missed, stored once series() has its ref. */
  let missKey: Uint8Array | undefined;
  let missStart = 0;
  let missEnd = 0;

  // One visitor, re-targeted per request: requests never interleave inside `ingest` (it is synchronous).
  let appender: Appender | undefined;
  let current: SeriesRef | undefined;
  const counts: IngestCounts = { samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
  const visitor: RemoteWriteVisitor = {
    knownSeries(key, start, end) {
      const ref = cache.get(key, start, end);
      if (ref !== undefined) {
        current = ref;
        return true;
      }
      missKey = key;
      missStart = start;
      missEnd = end;
      return false;
    },
    series(labels) {
      const obj: Labels = {};
      for (let i = 0; i + 1 < labels.length; i += 2) obj[labels[i]] = labels[i + 1];
      // Throws TypeError for labels the decoder cannot judge (names under the scheme, __name__):
      // nothing is cached then, and the answer names the series.
      try {
        current = queue.series(obj);
      } catch (err) {
        if (err instanceof TypeError) throw new TypeError(`${err.message}, in series ${formatLabelPairs(labels)}`);
        throw err;
      }
      if (missKey !== undefined) {
        cache.setAfterMiss(missKey, missStart, missEnd, current);
        missKey = undefined;
      }
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
        missKey = undefined;
      }
      return { ...counts };
    },
    get cachedSeries() {
      return cache.stats().series;
    },
    cacheStats() {
      return cache.stats();
    },
  };
}
