/** A ManagedQueue that records what the daemon hands it, for the daemon's unit tests. */
import { Registry } from 'prom-client';
import type { PromspoolConfig } from '../../src/config/types.js';
import type { Appender, ManagedQueue, QueueStats, SeriesRef } from '../../src/queue-types.js';
import { validateHistogram } from '../../src/serialization/histogram-validation.js';
import type { Labels, Metadata, NativeHistogram } from '../../src/serialization/types.js';

export interface RecordedSample {
  labels: Labels;
  timestampMs: number;
  value: number;
}

export class FakeQueue implements ManagedQueue {
  readonly registry: Registry;
  ready = true;
  /** Committed signals, in commit order. */
  readonly samples: RecordedSample[] = [];
  readonly histograms: { labels: Labels; timestampMs: number; histogram: NativeHistogram }[] = [];
  readonly exemplars: { labels: Labels; exemplar: { labels: Labels; value: number; timestampMs: number } }[] = [];
  readonly metadata: { name: string; metadata: Metadata }[] = [];
  readonly appliedConfigs: PromspoolConfig[] = [];
  commits = 0;
  rollbacks = 0;
  seriesCalls = 0;
  stopCalls = 0;
  /** When set, the next commits reject with it. */
  commitError: Error | undefined;
  /** When set, commits wait for it before resolving. */
  commitGate: Promise<void> | undefined;
  statsValue: QueueStats = { endpoints: [] };
  /** Called when a commit starts, before it waits on `commitGate`. */
  onCommit: (() => void) | undefined;
  commitsStarted = 0;

  /** Whether the receiver may store 1.0 requests as received (the relay fast path); off by default. */
  storesRawRequests = false;
  rawRecordGroups = 1;
  /** Records appended through {@link appendRecord}, in order. */
  readonly records: { payload: Uint8Array; signals: number }[] = [];

  constructor(registry?: Registry) {
    this.registry = registry ?? new Registry();
  }

  series(labels: Labels): SeriesRef {
    this.seriesCalls++;
    if (!('__name__' in labels)) throw new TypeError('labels must include __name__');
    for (const [k, v] of Object.entries(labels)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new TypeError(`invalid label name ${JSON.stringify(k)}`);
      if (v === '') throw new TypeError(`empty value for label ${k}`);
    }
    return { labels: { ...labels } };
  }

  async appendRecord(payload: Uint8Array, signals: number): Promise<void> {
    this.commitsStarted++;
    this.onCommit?.();
    if (this.commitGate) await this.commitGate;
    if (this.commitError) throw this.commitError;
    // A copy, as a queue keeps one: the receiver hands the buffer back to the scan worker.
    this.records.push({ payload: payload.slice(), signals });
    this.commits++;
  }

  appender(): Appender {
    let pending: (() => void)[] = [];
    const labelsOf = (l: Labels | SeriesRef): Labels =>
      (l as SeriesRef).labels !== undefined && typeof (l as SeriesRef).labels === 'object'
        ? (l as SeriesRef).labels
        : (l as Labels);
    return {
      append: (l, timestampMs, value) => {
        pending.push(() => this.samples.push({ labels: labelsOf(l), timestampMs, value }));
      },
      appendHistogram: (l, timestampMs, histogram) => {
        // As the real appender: validated (Prometheus' rules, the series named) and copied at append time.
        const valid = validateHistogram(histogram, labelsOf(l));
        pending.push(() => this.histograms.push({ labels: labelsOf(l), timestampMs, histogram: valid }));
      },
      appendExemplar: (l, exemplar) => {
        pending.push(() => this.exemplars.push({ labels: labelsOf(l), exemplar }));
      },
      updateMetadata: (name, metadata) => {
        pending.push(() => this.metadata.push({ name, metadata }));
      },
      commit: async () => {
        const batch = pending;
        pending = [];
        this.commitsStarted++;
        this.onCommit?.();
        if (this.commitGate) await this.commitGate;
        if (this.commitError) throw this.commitError;
        for (const f of batch) f();
        this.commits++;
      },
      rollback: () => {
        pending = [];
        this.rollbacks++;
      },
    };
  }

  async flush(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopCalls++;
  }

  stats(): QueueStats {
    return this.statsValue;
  }

  async applyConfig(config: PromspoolConfig): Promise<void> {
    this.appliedConfigs.push(config);
  }
}
