/**
 * The scrape loop of one target, with the semantics of Prometheus' `scrapeLoop` (scrape/scrape.go):
 * scrapes at a stable offset within the interval (a hash of the target), appends what the target
 * exposed with its target labels (`honor_labels`, conflicts as `exported_*`), `honor_timestamps`,
 * `metric_relabel_configs` and the limits, then the report series (`up`, ...), stale markers for
 * series that disappeared, and commits it all as one appender batch per scrape. A failed scrape
 * (fetch, body, parse or a limit) appends nothing of the body: only stale markers for the previous
 * scrape's series and the report with `up` 0.
 *
 * Differences from Prometheus, on purpose:
 * - A failed scrape marks every series of the last successful scrape stale at once. Prometheus
 *   leaves out those its rolled-back partial append had already seen, and marks them one scrape
 *   later.
 * - Stop with stale markers writes them at once (at the stop time, after the last scrape), where
 *   Prometheus waits two intervals in case the target comes back; the pools stop a loop with stale
 *   markers only when its target is gone, and hand a loop over (no markers) on reloads.
 * - Out-of-order samples are what Prometheus' agent mode refuses: a timestamp at or before the
 *   series' last appended one (explicit timestamps repeated across scrapes are dropped, not sent twice).
 */
import { type Clock, systemClock } from '../clock.js';
import type { ScrapeConfig } from '../config/types.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Appender, SeriesRef } from '../queue-types.js';
import { compileRelabeling, type Relabeler } from '../relabel/engine.js';
import { compareUtf8 } from '../serialization/label-order.js';
import {
  formatLabelPairs,
  isValidLabelNameFor,
  isValidMetricNameFor,
  type NameValidationScheme,
} from '../serialization/name-validation.js';
import type { Labels, NativeHistogram } from '../serialization/types.js';
import { type ExpositionFormat, formatOfProtocol } from './content-type.js';
import { limitBuckets } from './histogram-resolution.js';
import { createParser, negotiateFormat } from './index.js';
import type { ScrapeLoop, ScrapeLoopHandoff, ScrapeSink, ScrapeStatus, ScrapeTarget } from './loop-types.js';
import { REPORT_SERIES, reportLabels, reportValues, type ScrapeReport, STALE_NAN } from './report-series.js';
import {
  type CacheEntry,
  detach,
  isSeriesPartOfFamily,
  labelsOf,
  type MetaEntry,
  ScrapeCache,
} from './scrape-cache.js';
import type { ScrapeClient } from './scrape-client.js';
import { ScrapeFailure, type ScrapeFailureReason } from './scrape-client.js';
import { ExpositionParseError, type ExpositionParser, type ParsedExemplar, type ParsedLabel } from './types.js';

/** Longest stretch of appending one body before the loop yields to the event loop. */
const APPEND_SLICE_MS = 10;

/** Resolves on the event loop's next check phase (after pending I/O and due timers). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Samples more than this far ahead of the scrape are refused (Prometheus' `maxAheadTime`). */
const MAX_AHEAD_MS = 10 * 60 * 1000;
/** A scrape starting this close after its tick gets the tick's timestamp (Prometheus' `ScrapeTimestampTolerance`). */
const TIMESTAMP_TOLERANCE_MS = 2;

export interface ScrapeLoopOptions {
  target: ScrapeTarget;
  config: ScrapeConfig;
  /** The job's client ({@link createScrapeClient}). */
  client: ScrapeClient;
  /** Where samples go. A sink that also has `series(labels)` (a Queue) gets cached series refs. */
  sink: ScrapeSink;
  clock?: Clock;
  logger?: Logger;
  /** The stopped loop this one replaces on a reload. */
  handoff?: ScrapeLoopHandoff;
  /**
   * Mixed into the offset hash (Prometheus' `offsetSeed`, from external labels and hostname) so
   * that several agents scraping the same targets do not all scrape at once. Default 0.
   */
  offsetSeed?: bigint;
  /** `metric_relabel_configs` compiled once per job and shared by its loops. Default: compiled here. */
  metricRelabeler?: Relabeler;
}

/** Counters of one loop since it started, for self-metrics. */
export interface ScrapeLoopStats {
  scrapes: number;
  /** Failed scrapes by reason. */
  failures: Partial<Record<ScrapeFailureReason, number>>;
  /** Samples appended (committed or not), report series excluded. */
  samplesAppended: number;
  staleMarkers: number;
  /** Samples dropped as Prometheus drops them without failing the scrape. */
  duplicates: number;
  outOfOrder: number;
  outOfBounds: number;
  exemplarsAppended: number;
  /** Appender commits that failed (the scrape's data is lost, the loop goes on). */
  commitFailures: number;
  /** Raw series in the scrape cache now. */
  cachedSeries: number;
  /** Bytes of the last body (uncompressed); -1 when it exceeded body_size_limit. */
  lastBodyBytes: number;
}

/** Stats with every counter at zero: a new loop's, and the start of a sum over loops. */
export function emptyScrapeLoopStats(): ScrapeLoopStats {
  return {
    scrapes: 0,
    failures: {},
    samplesAppended: 0,
    staleMarkers: 0,
    duplicates: 0,
    outOfOrder: 0,
    outOfBounds: 0,
    exemplarsAppended: 0,
    commitFailures: 0,
    cachedSeries: 0,
    lastBodyBytes: 0,
  };
}

/** A running loop: the shared contract plus its counters. */
export interface RunningScrapeLoop extends ScrapeLoop {
  stats(): ScrapeLoopStats;
  /** Resolves once the scrape in progress (if any) is committed; for tests and shutdown. */
  idle(): Promise<void>;
}

/** What a loop hands to its replacement: its cache, if the outcome of a series cannot differ. */
interface Handoff extends ScrapeLoopHandoff {
  readonly cache: ScrapeCache;
  readonly fingerprint: string;
  readonly lastScrapeMs: number;
}

/** Hand-overs already taken by a loop. */
const handedOver = new WeakSet<ScrapeLoopHandoff>();

/** The settings that decide what a raw series becomes; a cache is reused only when they are equal. */
function cacheFingerprint(target: ScrapeTarget, config: ScrapeConfig): string {
  return JSON.stringify([
    target.labels,
    config.honorLabels,
    config.honorTimestamps,
    config.trackTimestampsStaleness,
    config.metricRelabelConfigs.map((r) => ({ ...r, modulus: String(r.modulus) })),
    config.labelLimit,
    config.labelNameLengthLimit,
    config.labelValueLengthLimit,
    config.nameValidationScheme,
  ]);
}

/** FNV-1a 64 of the target's labels and URL: the stable offset of its scrapes in the interval. */
export function targetHash(target: ScrapeTarget): bigint {
  const names = Object.keys(target.labels).sort(compareUtf8);
  let text = '';
  for (const n of names) text += `${n}\xff${target.labels[n]}\xff`;
  text += target.url;
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/**
 * Milliseconds from `nowMs` to the target's first scrape, as Prometheus' `Target.offset`: scrapes
 * happen at `hash % interval` past every multiple of the interval since the epoch, so they are
 * spread over the interval and stay at the same phase across restarts and reloads.
 */
export function scrapeOffsetMs(hash: bigint, seed: bigint, intervalMs: number, nowMs: number): number {
  const base = intervalMs - (nowMs % intervalMs);
  const offset = Number((hash ^ seed) % BigInt(intervalMs));
  let next = base + offset;
  if (next > intervalMs) next -= intervalMs;
  return next;
}

function asFailure(err: unknown, fallbackReason: ScrapeFailureReason): ScrapeFailure {
  if (err instanceof ScrapeFailure) return err;
  if (err instanceof ExpositionParseError) return new ScrapeFailure('parse', err.message, { cause: err });
  return new ScrapeFailure(fallbackReason, err instanceof Error ? err.message : String(err), { cause: err });
}

/** Counts of one scrape's append (Prometheus' `total, added, seriesAdded`). */
interface AppendCounts {
  total: number;
  added: number;
  seriesAdded: number;
}

/** Starts scraping `target` every interval, from its offset, until stopped. */
export function startScrapeLoop(opts: ScrapeLoopOptions): RunningScrapeLoop {
  return new Loop(opts);
}

class Loop implements RunningScrapeLoop {
  readonly target: ScrapeTarget;
  private readonly config: ScrapeConfig;
  private readonly client: ScrapeClient;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly app: Appender;
  private readonly resolve: ((labels: Labels) => SeriesRef) | undefined;
  private readonly relabeler: Relabeler;
  private readonly ownsRelabeler: boolean;
  private readonly fingerprint: string;
  private readonly cache: ScrapeCache;
  /** Old-spelling entries handed over from a loop whose settings differed: stale unless seen again. */
  private orphans: CacheEntry[] = [];
  private readonly targetPairs: [string, string][];
  private readonly reportRefs: (SeriesRef | Labels)[];
  private reportMetadataSent = false;
  private readonly scheme: NameValidationScheme;
  private readonly fallback: ExpositionFormat | undefined;
  private readonly counters: ScrapeLoopStats = emptyScrapeLoopStats();
  private statusNow: ScrapeStatus = {
    health: 'unknown',
    lastError: '',
    lastScrapeMs: 0,
    lastScrapeDurationMs: 0,
    lastSamples: 0,
  };
  private timer: ReturnType<Clock['setTimeout']> | undefined;
  private nextTickMs = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private stopping: Promise<ScrapeLoopHandoff> | undefined;
  private lastScrapeMs = 0;

  constructor(opts: ScrapeLoopOptions) {
    this.target = opts.target;
    this.config = opts.config;
    this.client = opts.client;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({
      component: 'scrape',
      job: opts.config.jobName,
      url: opts.target.url,
    });
    this.app = opts.sink.appender();
    const withSeries = opts.sink as ScrapeSink & { series?: (labels: Labels) => SeriesRef };
    this.resolve = typeof withSeries.series === 'function' ? (l) => withSeries.series!(l) : undefined;
    this.ownsRelabeler = opts.metricRelabeler === undefined;
    this.relabeler =
      opts.metricRelabeler ?? compileRelabeling(opts.config.metricRelabelConfigs, opts.config.nameValidationScheme);
    this.scheme = opts.config.nameValidationScheme;
    this.fallback =
      opts.config.fallbackProtocol === undefined ? undefined : formatOfProtocol(opts.config.fallbackProtocol);
    this.targetPairs = Object.entries(opts.target.labels)
      .filter(([, v]) => v !== '')
      .sort((a, b) => compareUtf8(a[0], b[0]));
    this.fingerprint = cacheFingerprint(opts.target, opts.config);
    const handoff = opts.handoff as Handoff | undefined;
    // A hand-over is taken once: two loops sharing one cache would corrupt each other's staleness.
    const taken = handoff !== undefined && handedOver.has(handoff);
    if (handoff !== undefined) handedOver.add(handoff);
    if (handoff?.cache !== undefined && !taken && handoff.fingerprint === this.fingerprint) this.cache = handoff.cache;
    else {
      this.cache = new ScrapeCache();
      if (handoff?.cache !== undefined && !taken) this.orphans = [...handoff.cache.lastScraped()];
    }
    this.lastScrapeMs = handoff?.lastScrapeMs ?? 0;
    this.reportRefs = REPORT_SERIES.map((r) => this.ref(reportLabels(r.name, opts.target.labels)));
    const interval = opts.target.intervalMs;
    const now = this.clock.now();
    const delay = scrapeOffsetMs(targetHash(opts.target), opts.offsetSeed ?? 0n, interval, now);
    this.schedule(now + delay);
  }

  status(): ScrapeStatus {
    return this.statusNow;
  }

  stats(): ScrapeLoopStats {
    return { ...this.counters, failures: { ...this.counters.failures }, cachedSeries: this.cache.size };
  }

  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  stop(opts: { staleMarkers: boolean }): Promise<ScrapeLoopHandoff> {
    this.stopping ??= this.doStop(opts.staleMarkers);
    return this.stopping;
  }

  private async doStop(staleMarkers: boolean): Promise<ScrapeLoopHandoff> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
    if (staleMarkers && this.lastScrapeMs > 0) await this.endOfRunStaleness();
    if (this.ownsRelabeler) this.relabeler.dispose();
    const handoff: Handoff = {
      kind: 'scrape-loop-handoff',
      cache: this.cache,
      fingerprint: this.fingerprint,
      lastScrapeMs: this.lastScrapeMs,
    };
    return handoff;
  }

  private schedule(atMs: number): void {
    if (this.stopped) return;
    this.nextTickMs = atMs;
    this.timer = this.clock.setTimeout(() => this.tick(), atMs - this.clock.now());
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const tickMs = this.nextTickMs;
    const run = this.scrapeAndReport(tickMs).catch((err: unknown) => {
      // Every failure is handled inside; this is a bug, logged rather than crashing the process,
      // and whatever the scrape appended is dropped so that the next commit does not carry it.
      this.app.rollback();
      this.cache.discardCurrent();
      this.log.error('scrape loop failed unexpectedly', { err });
    });
    this.running = run.finally(() => {
      this.running = undefined;
      // Go's ticker drops ticks a slow scrape missed; the next scrape keeps the phase.
      const interval = this.target.intervalMs;
      let next = tickMs + interval;
      const now = this.clock.now();
      if (next <= now) next += Math.ceil((now - next + 1) / interval) * interval;
      this.schedule(next);
    });
  }

  /**
   * A monotonic time for `scrape_duration_seconds`: sub-millisecond on the system clock (as
   * Prometheus reports it), the injected clock's own time otherwise, so tests see exact durations.
   */
  private elapsedMs(): number {
    return this.clock === systemClock ? performance.now() : this.clock.now();
  }

  private ref(labels: Labels): SeriesRef | Labels {
    return this.resolve === undefined ? labels : this.resolve(labels);
  }

  private countFailure(reason: ScrapeFailureReason): void {
    this.counters.failures[reason] = (this.counters.failures[reason] ?? 0) + 1;
  }

  private async scrapeAndReport(tickMs: number): Promise<void> {
    const start = this.clock.now();
    const startMono = this.elapsedMs();
    const tolerance = Math.min(this.target.intervalMs / 100, TIMESTAMP_TOLERANCE_MS);
    const appendTime = start - tickMs <= tolerance ? tickMs : start;
    this.counters.scrapes++;
    const app = this.app;
    let failure: ScrapeFailure | undefined;
    let counts: AppendCounts = { total: 0, added: 0, seriesAdded: 0 };
    let body: Buffer | undefined;
    let contentType: string | undefined;
    try {
      // Not aborted on stop: a scrape in progress finishes (within its timeout) and is committed.
      const res = await this.client.scrape(this.target.url, this.target.timeoutMs);
      body = res.body;
      contentType = res.contentType;
      this.counters.lastBodyBytes = body.length;
    } catch (err) {
      failure = asFailure(err, 'network');
      this.counters.lastBodyBytes = failure.reason === 'body_size_limit' ? -1 : 0;
    }
    if (failure === undefined && body !== undefined && body.length > 0) {
      const partial: AppendCounts = { total: 0, added: 0, seriesAdded: 0 };
      try {
        await this.appendBody(app, body, contentType, appendTime, partial);
      } catch (err) {
        failure = asFailure(err, 'invalid_series');
      }
      counts = partial;
    }
    if (failure !== undefined || body === undefined || body.length === 0) {
      // Nothing of a failed scrape is kept; an empty one is a success with no series. Both mark the
      // last scrape's series stale, as Prometheus' empty append does.
      if (failure !== undefined) {
        app.rollback();
        this.cache.discardCurrent();
      }
      this.appendStaleMarkers(app, appendTime);
      this.cache.iterDone(false);
    }
    const durationMs = this.elapsedMs() - startMono;
    const report: ScrapeReport = {
      up: failure === undefined,
      durationSeconds: durationMs / 1000,
      scraped: counts.total,
      postRelabeling: counts.added,
      seriesAdded: counts.seriesAdded,
    };
    this.appendReport(app, appendTime, reportValues(report));
    if (failure !== undefined) {
      this.countFailure(failure.reason);
      this.log.debug('scrape failed', { reason: failure.reason, err: failure.message });
    }
    this.lastScrapeMs = appendTime;
    this.statusNow = {
      health: failure === undefined ? 'up' : 'down',
      lastError: failure?.message ?? '',
      lastScrapeMs: start,
      lastScrapeDurationMs: durationMs,
      lastSamples: counts.added,
    };
    await this.commit(app);
  }

  private async commit(app: Appender): Promise<void> {
    try {
      await app.commit();
    } catch (err) {
      this.counters.commitFailures++;
      this.cache.markMetadataDirty();
      this.reportMetadataSent = false;
      this.log.warn('scrape commit failed', { err });
    }
  }

  private appendReport(app: Appender, ts: number, values: readonly number[]): void {
    for (let i = 0; i < REPORT_SERIES.length; i++) app.append(this.reportRefs[i], ts, values[i]);
    if (!this.reportMetadataSent) {
      for (const r of REPORT_SERIES) app.updateMetadata(r.name, r.metadata);
      this.reportMetadataSent = true;
    }
  }

  /** Stale markers for every series the previous scrape appended and this one did not. */
  private appendStaleMarkers(app: Appender, ts: number): void {
    let n = 0;
    this.cache.forEachStale((e) => {
      if (ts <= e.lastTs) return;
      app.append(e.ref!, ts, STALE_NAN);
      this.cache.appended(e, ts);
      n++;
    });
    if (this.orphans.length > 0) {
      const seen = new Set<string>();
      this.cache.forEachCurrent((e) => seen.add(labelsKey(labelsOf(e))));
      for (const e of this.orphans) {
        if (e.ref === undefined || seen.has(labelsKey(labelsOf(e))) || ts <= e.lastTs) continue;
        app.append(e.ref, ts, STALE_NAN);
        n++;
      }
      this.orphans = [];
    }
    this.counters.staleMarkers += n;
  }

  /** The target went away: stale markers for the last scrape's series and the report series. */
  private async endOfRunStaleness(): Promise<void> {
    const ts = Math.max(this.clock.now(), this.lastScrapeMs + 1);
    const app = this.app;
    // An empty scrape: everything the last one appended becomes stale.
    this.appendStaleMarkers(app, ts);
    this.cache.iterDone(false);
    for (const ref of this.reportRefs) app.append(ref, ts, STALE_NAN);
    this.counters.staleMarkers += this.reportRefs.length;
    await this.commit(app);
  }

  /**
   * Appends one body (Prometheus' `scrapeLoopAppender.append`). Throws a {@link ScrapeFailure}
   * (or a parse error) to fail the scrape; `counts` holds what was counted until then.
   */
  private async appendBody(
    app: Appender,
    body: Buffer,
    contentType: string | undefined,
    defTime: number,
    counts: AppendCounts,
  ): Promise<void> {
    const choice = negotiateFormat(contentType, this.fallback);
    if (!choice.ok) throw new ScrapeFailure('content_type', choice.reason);
    if (choice.warning !== undefined) this.log.debug('scrape content type', { warning: choice.warning });
    const p: ExpositionParser = createParser(choice.format, body, {
      ignoreNativeHistograms: !this.config.scrapeNativeHistograms,
      parseClassicHistograms: this.config.alwaysScrapeClassicHistograms,
    });
    const withExemplars = choice.format !== 'text-0.0.4';
    // The text formats' series text is a range of `input`, compared in place on a cache hit.
    const inPlace = choice.format !== 'protobuf';
    // The text parser compares the cache's guess for each line in place and skips lexing its labels.
    p.useSeriesHint?.(this.cache);
    const input = p.input;
    const cache = this.cache;
    const cfg = this.config;
    const honorTimestamps = cfg.honorTimestamps;
    const trackTsStaleness = cfg.trackTimestampsStaleness;
    const sampleLimit = cfg.sampleLimit;
    const maxTime = defTime + MAX_AHEAD_MS;
    let limited = 0;
    let sampleLimitHit = false;
    let bucketLimitHit = false;
    const bucketLimit = cfg.nativeHistogramBucketLimit;
    let total = 0;
    let added = 0;
    let seriesAdded = 0;
    let appended = 0;
    let lastMeta: MetaEntry | undefined;
    // Past the sample limit the scrape fails and only the counts are left to get right. Without
    // metric relabeling, label limits or names that could be invalid (UTF-8 validation), a new
    // series counts as one sample whatever its labels: they need not be built (2 million series:
    // about 12 s of CPU per scrape with them, 3 s without, on this loaded machine).
    const countOnlyPastLimit =
      sampleLimit > 0 &&
      cfg.metricRelabelConfigs.length === 0 &&
      cfg.labelLimit === 0 &&
      cfg.labelNameLengthLimit === 0 &&
      cfg.labelValueLengthLimit === 0 &&
      this.scheme === 'utf8';
    let entries = 0;
    let sliceStart = performance.now();
    try {
      for (let kind = p.next(); kind !== undefined; kind = p.next()) {
        // A body of millions of series takes seconds: other loops, the API and delivery get the
        // event loop back every APPEND_SLICE_MS (checked every 1024 entries, so a small body never
        // waits here).
        if ((++entries & 1023) === 0 && performance.now() - sliceStart >= APPEND_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
        if (kind !== 'series' && kind !== 'histogram') {
          if (kind === 'type') lastMeta = cache.setType(p.metricFamily(), p.metricType);
          else if (kind === 'help') lastMeta = cache.setHelp(p.metricFamily(), p.help());
          else if (kind === 'unit') lastMeta = cache.setUnit(p.metricFamily(), p.unit());
          continue;
        }
        total++;
        let t = defTime;
        let explicit = false;
        if (honorTimestamps) {
          const pt = p.timestamp;
          if (pt !== undefined) {
            t = pt;
            explicit = true;
          }
        }
        let e = p.hintMatched
          ? cache.hitExpected()
          : inPlace
            ? cache.lookup(input, p.seriesStart, p.seriesEnd)
            : cache.get(p.series());
        let ref: SeriesRef | Labels | undefined;
        let labels: Labels | undefined;
        if (e !== undefined) {
          if (e.ref === undefined) continue;
          // Seen earlier in this very scrape (get() stamped it with this iteration already).
          if (cache.wasDuplicate && !explicit) {
            this.counters.duplicates++;
            added++;
            continue;
          }
          ref = e.ref;
        } else if (sampleLimitHit && countOnlyPastLimit) {
          limited++;
          added++;
          continue;
        } else {
          labels = this.finalLabels(p.labels());
          if (labels === undefined) {
            cache.add(p.series(), undefined);
            continue;
          }
          // Resolved in the queue only once appended: past the sample limit, millions of new series
          // would otherwise each become a queue series for nothing.
        }
        let histogram: NativeHistogram | undefined;
        if (kind === 'histogram') {
          histogram = p.histogram();
          if (bucketLimit > 0) {
            // Over the limit, the resolution is lowered until it fits; when it cannot, the scrape fails.
            histogram = limitBuckets(histogram, bucketLimit);
            if (histogram === undefined) {
              bucketLimitHit = true;
              added++;
              continue;
            }
          }
        }
        // The sample limit counts samples kept after relabeling; past it, parsing goes on for the counts.
        if (sampleLimit > 0 && ++limited > sampleLimit) {
          sampleLimitHit = true;
          added++;
          continue;
        }
        if (t > maxTime) {
          this.counters.outOfBounds++;
          added++;
          continue;
        }
        if (e !== undefined && t <= e.lastTs) {
          this.counters.outOfOrder++;
          added++;
          continue;
        }
        ref ??= this.ref(labels!);
        if (histogram !== undefined) app.appendHistogram(ref, t, histogram);
        else app.append(ref, t, p.value);
        appended++;
        if (e === undefined) {
          e = cache.add(p.series(), ref);
          if (!sampleLimitHit && !bucketLimitHit) seriesAdded++;
        }
        cache.appended(e, t);
        if (!explicit || trackTsStaleness) cache.trackStaleness(e);
        added++;
        if (withExemplars) this.appendExemplars(app, p, ref, t, kind === 'histogram');
        if (lastMeta?.dirty) {
          const name = labelsOf(e)?.__name__;
          if (name !== undefined && isSeriesPartOfFamily(name, lastMeta.family, lastMeta.type)) {
            app.updateMetadata(lastMeta.family, { type: lastMeta.type, help: lastMeta.help, unit: lastMeta.unit });
            lastMeta.dirty = false;
          }
        }
      }
    } finally {
      counts.total = total;
      counts.added = added;
      counts.seriesAdded = seriesAdded;
    }
    if (sampleLimitHit) {
      throw new ScrapeFailure('sample_limit', `sample limit exceeded (limit: ${sampleLimit}, samples: ${limited})`);
    }
    if (bucketLimitHit) throw new ScrapeFailure('bucket_limit', 'histogram bucket limit exceeded');
    this.counters.samplesAppended += appended;
    this.appendStaleMarkers(app, defTime);
    cache.iterDone(true);
  }

  /**
   * The current entry's exemplars, sorted as Prometheus appends them; one without a timestamp gets
   * the sample's, except on a native histogram (Prometheus drops those).
   */
  private appendExemplars(
    app: Appender,
    p: ExpositionParser,
    ref: SeriesRef | Labels,
    t: number,
    nativeHistogram: boolean,
  ): void {
    const many = (p as ExpositionParser & { exemplars?: () => ParsedExemplar[] }).exemplars;
    const list = many === undefined ? [p.exemplar()] : many.call(p);
    if (list.length > 1) list.sort((a, b) => (a?.timestamp ?? t) - (b?.timestamp ?? t));
    for (const ex of list) {
      if (ex === undefined || (ex.timestamp === undefined && nativeHistogram)) continue;
      app.appendExemplar(ref, { labels: pairsToLabels(ex.labels), value: ex.value, timestampMs: ex.timestamp ?? t });
      this.counters.exemplarsAppended++;
    }
  }

  /**
   * The labels a new raw series ends up with (Prometheus' `mutateSampleLabels`, then the checks of
   * its append): target labels merged per `honor_labels`, metric relabeling, empty values removed.
   * Undefined when relabeling drops it; throws a {@link ScrapeFailure} for a missing or invalid
   * name and for the label limits.
   */
  private finalLabels(parsed: ParsedLabel[]): Labels | undefined {
    const out = this.relabeler.process(this.withTargetLabels(parsed));
    if (out === null) return undefined;
    const labels: Labels = {};
    let count = 0;
    for (let i = 0; i < out.length; i += 2) {
      if (out[i + 1] === '') continue;
      // Names and values may be slices of the body; the labels live as long as the series.
      labels[detach(out[i])] = detach(out[i + 1]);
      count++;
    }
    if (count === 0) return undefined;
    const name = labels.__name__;
    if (name === undefined) throw new ScrapeFailure('invalid_series', 'missing metric name (__name__ label)');
    let valid = isValidMetricNameFor(name, this.scheme);
    for (const n in labels) if (!isValidLabelNameFor(n, this.scheme)) valid = false;
    if (!valid) {
      throw new ScrapeFailure(
        'invalid_series',
        `invalid metric name or label names: ${formatLabelPairs(Object.entries(labels).flat())}`,
      );
    }
    this.checkLabelLimits(labels, count, name);
    return labels;
  }

  /**
   * The exposed labels (sorted, `__name__` included) merged with the target's as a flat sorted
   * list: one merge of two sorted lists, and Prometheus' builder semantics only when an exposed
   * label conflicts with a target label and `honor_labels` is false.
   */
  private withTargetLabels(parsed: ParsedLabel[]): string[] {
    const tp = this.targetPairs;
    const honor = this.config.honorLabels;
    const flat: string[] = [];
    let conflicts = false;
    let i = 0;
    let j = 0;
    while (i < parsed.length || j < tp.length) {
      const c =
        i === parsed.length
          ? 1
          : j === tp.length
            ? -1
            : parsed[i].name === tp[j][0]
              ? 0
              : compareUtf8(parsed[i].name, tp[j][0]);
      if (c < 0) {
        flat.push(parsed[i].name, parsed[i].value);
        i++;
      } else if (c > 0) {
        flat.push(tp[j][0], tp[j][1]);
        j++;
      } else {
        if (honor) flat.push(parsed[i].name, parsed[i].value);
        else {
          if (parsed[i].value !== '') conflicts = true;
          flat.push(tp[j][0], tp[j][1]);
        }
        i++;
        j++;
      }
    }
    return conflicts ? this.resolveConflicts(parsed) : flat;
  }

  /** Prometheus' `mutateSampleLabels` without honor_labels when exposed labels conflict. */
  private resolveConflicts(parsed: ParsedLabel[]): string[] {
    const m = new Map<string, string>();
    for (const l of parsed) m.set(l.name, l.value);
    const conflicts: [string, string][] = [];
    for (const [n, v] of this.targetPairs) {
      const existing = m.get(n);
      if (existing !== undefined && existing !== '') conflicts.push([n, existing]);
      m.set(n, v);
    }
    // Shortest names first, as Prometheus' resolveConflictingExposedLabels (a stable sort).
    conflicts.sort((a, b) => a[0].length - b[0].length);
    for (const [n, v] of conflicts) {
      let name = n;
      do name = `exported_${name}`;
      while ((m.get(name) ?? '') !== '');
      m.set(name, v);
    }
    const names = [...m.keys()].sort(compareUtf8);
    const flat: string[] = [];
    for (const n of names) flat.push(n, m.get(n)!);
    return flat;
  }

  /** Prometheus' `verifyLabelLimits` (lengths in bytes, as Go's len). */
  private checkLabelLimits(labels: Labels, count: number, name: string): void {
    const { labelLimit, labelNameLengthLimit: nameLimit, labelValueLengthLimit: valueLimit } = this.config;
    const met = name.slice(0, 50);
    if (labelLimit > 0 && count > labelLimit) {
      throw new ScrapeFailure(
        'label_limit',
        `label_limit exceeded (metric: ${met}, number of labels: ${count}, limit: ${labelLimit})`,
      );
    }
    if (nameLimit === 0 && valueLimit === 0) return;
    for (const n in labels) {
      const v = labels[n];
      if (nameLimit > 0 && n.length > 0 && Buffer.byteLength(n) > nameLimit) {
        throw new ScrapeFailure(
          'label_name_length_limit',
          `label_name_length_limit exceeded (metric: ${met}, label name: ${n.slice(0, 50)}, length: ${Buffer.byteLength(n)}, limit: ${nameLimit})`,
        );
      }
      if (valueLimit > 0 && Buffer.byteLength(v) > valueLimit) {
        throw new ScrapeFailure(
          'label_value_length_limit',
          `label_value_length_limit exceeded (metric: ${met}, label name: ${n.slice(0, 50)}, value: ${JSON.stringify(v.slice(0, 50))}, length: ${Buffer.byteLength(v)}, limit: ${valueLimit})`,
        );
      }
    }
  }
}

function pairsToLabels(pairs: readonly ParsedLabel[]): Labels {
  const out: Labels = {};
  for (const l of pairs) out[l.name] = l.value;
  return out;
}

/** A canonical string of a label set (sorted), to match series across a hand-over. */
function labelsKey(labels: Readonly<Labels> | undefined): string {
  if (labels === undefined) return '';
  const names = Object.keys(labels).sort(compareUtf8);
  let s = '';
  for (const n of names) s += `${n}\xff${labels[n]}\xff`;
  return s;
}
