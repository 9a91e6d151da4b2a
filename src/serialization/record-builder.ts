import { randomBytes } from 'node:crypto';
import type { AppendBatch } from './append-batch.js';
import { nextRecordEpoch, type SeriesHandle } from './series.js';
import type { ExemplarEntry, HistogramEntry, MetadataEntry, SignalRecord } from './types.js';

/** Half-open ranges of one batch's columns that go into one record. */
export interface BatchSlice {
  batch: AppendBatch;
  sampleStart: number;
  sampleEnd: number;
  histogramStart: number;
  histogramEnd: number;
  exemplarStart: number;
  exemplarEnd: number;
  metadataStart: number;
  metadataEnd: number;
}

function growU32(a: Uint32Array<ArrayBuffer>, need: number): Uint32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growF64(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  return new Float64Array(Math.max(need, a.length * 2));
}

/**
 * Label columns kept per build: two, so a batch that comes back every interval and is cut into
 * two records (a 100,005-sample scrape: 100,000 + 5) finds both of its records' columns.
 */
const LABEL_MEMOS = 2;

/** The label columns of one build, and the series they were built for (`count` -1: not reusable). */
interface LabelMemo {
  count: number;
  series: SeriesHandle[];
  strings: string[];
  labelOffsets: Uint32Array<ArrayBuffer>;
  labelRefs: Uint32Array<ArrayBuffer>;
  seriesHash: Uint32Array<ArrayBuffer>;
}

/**
 * The `seriesIds` of the records this process writes: a handle gets the next id the first time it
 * goes into a record. The scope is random per process, so ids read back from an earlier run's
 * segments never match this run's (a reader compares scopes before trusting an id).
 */
class SeriesIdSpace {
  scope = 0;
  private next = 0;

  constructor() {
    this.roll();
  }

  /** Makes sure `n` more ids fit in u32 before a build hands any out, so one record has one scope. */
  reserve(n: number): void {
    if (this.next + n > 0xffffffff) this.roll();
  }

  /**
   * The id is stored on the handle with its scope: a field compare instead of a WeakMap lookup
   * per series per record (and no ephemeron table for the GC to trace).
   */
  idOf(h: SeriesHandle): number {
    if (h.idScope === this.scope) return h.seriesId;
    const id = this.next++;
    h.idScope = this.scope;
    h.seriesId = id;
    return id;
  }

  private roll(): void {
    // Never 0: a handle's idScope 0 means "no id yet".
    do this.scope = randomBytes(6).readUIntLE(0, 6);
    while (this.scope === 0);
    this.next = 0;
  }
}

const seriesIdSpace = new SeriesIdSpace();

/**
 * Turns batch slices into one series-major {@link SignalRecord}. Without a Map lookup per
 * sample: each series handle carries a scratch `slot` stamped with this build's epoch, so
 * grouping is a counting pass, prefix sums and a scatter that keeps append order within each
 * series; strings get record-local ids the same way. Scratch columns are reused: the returned
 * record views them and is valid only until the next `build`.
 */
export class RecordBuilder {
  private series: SeriesHandle[] = [];
  private sampleCounts = new Uint32Array(1024);
  private histogramCounts = new Uint32Array(1024);
  private exemplarCounts = new Uint32Array(1024);
  private seriesIds = new Uint32Array(1024);
  private sampleOffsets = new Uint32Array(1025);
  private histogramOffsets = new Uint32Array(1025);
  private exemplarOffsets = new Uint32Array(1025);
  private timestamps = new Float64Array(1024);
  private values = new Float64Array(1024);
  /** Label columns of the last builds, most recently used first (see `labels`). */
  private readonly memos: LabelMemo[] = [];

  build(slices: readonly BatchSlice[]): SignalRecord {
    const epoch = nextRecordEpoch();
    let n = 0;
    let samples = 0;
    let histogramTotal = 0;
    let exemplarTotal = 0;

    // Counting pass: first sight of a series (in any column) gives it the next slot.
    for (const s of slices) {
      const b = s.batch;
      samples += s.sampleEnd - s.sampleStart;
      histogramTotal += s.histogramEnd - s.histogramStart;
      exemplarTotal += s.exemplarEnd - s.exemplarStart;
      for (let i = s.sampleStart; i < s.sampleEnd; i++) {
        const h = b.sampleSeries[i];
        if (h.epoch !== epoch) n = this.addSeries(h, epoch, n);
        this.sampleCounts[h.slot]++;
      }
      for (let i = s.histogramStart; i < s.histogramEnd; i++) {
        const h = b.histogramSeries[i];
        if (h.epoch !== epoch) n = this.addSeries(h, epoch, n);
        this.histogramCounts[h.slot]++;
      }
      for (let i = s.exemplarStart; i < s.exemplarEnd; i++) {
        const h = b.exemplarSeries[i];
        if (h.epoch !== epoch) n = this.addSeries(h, epoch, n);
        this.exemplarCounts[h.slot]++;
      }
    }

    // Prefix sums; the count arrays then serve as scatter cursors.
    this.sampleOffsets = growU32(this.sampleOffsets, n + 1);
    this.histogramOffsets = growU32(this.histogramOffsets, n + 1);
    this.exemplarOffsets = growU32(this.exemplarOffsets, n + 1);
    const so = this.sampleOffsets;
    const ho = this.histogramOffsets;
    const eo = this.exemplarOffsets;
    const sc = this.sampleCounts;
    const hc = this.histogramCounts;
    const ec = this.exemplarCounts;
    so[0] = 0;
    ho[0] = 0;
    eo[0] = 0;
    for (let k = 0; k < n; k++) {
      so[k + 1] = so[k] + sc[k];
      sc[k] = so[k];
      ho[k + 1] = ho[k] + hc[k];
      hc[k] = ho[k];
      eo[k + 1] = eo[k] + ec[k];
      ec[k] = eo[k];
    }

    // Labels, hashes and the string table, in series order.
    const strings = this.labels(n, epoch, exemplarTotal === 0);
    const memo = this.memos[0];
    const lo = memo.labelOffsets;
    const sh = memo.seriesHash;
    const ids = this.seriesIds;
    const refs = memo.labelRefs;
    const r = 2 * lo[n];

    // Scatter samples. Values move as raw 32-bit halves so NaN payloads (the stale marker)
    // cannot be canonicalized on the way.
    this.timestamps = growF64(this.timestamps, samples);
    this.values = growF64(this.values, samples);
    const ts = this.timestamps;
    const vbits = new Uint32Array(this.values.buffer, 0, samples * 2);
    for (const s of slices) {
      const b = s.batch;
      const bts = b.timestamps;
      const bbits = new Uint32Array(b.values.buffer, 0, s.sampleEnd * 2);
      const handles = b.sampleSeries;
      for (let i = s.sampleStart; i < s.sampleEnd; i++) {
        const pos = sc[handles[i].slot]++;
        ts[pos] = bts[i];
        vbits[2 * pos] = bbits[2 * i];
        vbits[2 * pos + 1] = bbits[2 * i + 1];
      }
    }

    const histograms = new Array<HistogramEntry>(histogramTotal);
    const exemplars = new Array<ExemplarEntry>(exemplarTotal);
    const metadata: MetadataEntry[] = [];
    for (const s of slices) {
      const b = s.batch;
      for (let i = s.histogramStart; i < s.histogramEnd; i++) {
        histograms[hc[b.histogramSeries[i].slot]++] = {
          timestampMs: b.histogramTimestamps[i],
          histogram: b.histograms[i],
        };
      }
      for (let i = s.exemplarStart; i < s.exemplarEnd; i++) {
        const e = b.exemplars[i];
        const labelRefs = new Uint32Array(e.pairs.length);
        for (let j = 0; j < e.pairs.length; j++) {
          const p = e.pairs[j];
          if (p.epoch !== epoch) {
            p.epoch = epoch;
            p.id = strings.length;
            strings.push(p.str);
          }
          labelRefs[j] = p.id;
        }
        exemplars[ec[b.exemplarSeries[i].slot]++] = { labelRefs, value: e.value, timestampMs: e.timestampMs };
      }
      for (let i = s.metadataStart; i < s.metadataEnd; i++) metadata.push(b.metadata[i]);
    }

    return {
      strings,
      seriesCount: n,
      labelOffsets: lo.subarray(0, n + 1),
      labelRefs: refs.subarray(0, r),
      seriesHash: sh.subarray(0, n),
      sampleOffsets: so.subarray(0, n + 1),
      timestamps: ts.subarray(0, samples),
      values: this.values.subarray(0, samples),
      histogramOffsets: ho.subarray(0, n + 1),
      histograms,
      exemplarOffsets: eo.subarray(0, n + 1),
      exemplars,
      metadata,
      seriesIds: ids.subarray(0, n),
      seriesIdScope: seriesIdSpace.scope,
    };
  }

  /**
   * Fills the label offsets, refs, hashes and ids of series[0, n) and returns the string table.
   * A build with the same series in the same order as one of the last {@link LABEL_MEMOS} builds
   * reuses that build's table, offsets, refs and hashes (each memo owns its columns); only the ids
   * are redone (their scope may have rolled). Not with exemplars (`reusable` false): their strings
   * join the table later.
   */
  private labels(n: number, epoch: number, reusable: boolean): string[] {
    this.seriesIds = growU32(this.seriesIds, n);
    const series = this.series;
    const ids = this.seriesIds;
    seriesIdSpace.reserve(n);
    const memos = this.memos;
    if (reusable) {
      for (let m = 0; m < memos.length; m++) {
        const memo = memos[m];
        if (!this.sameSeries(memo, n)) continue;
        for (let k = 0; k < n; k++) ids[k] = seriesIdSpace.idOf(series[k]);
        this.use(m);
        return memo.strings;
      }
    }
    // The least recently used memo's columns are rebuilt (a new memo while there are fewer).
    const memo: LabelMemo =
      memos.length < LABEL_MEMOS
        ? {
            count: -1,
            series: [],
            strings: [],
            labelOffsets: new Uint32Array(1025),
            labelRefs: new Uint32Array(16384),
            seriesHash: new Uint32Array(1024),
          }
        : memos[memos.length - 1];
    if (memos.length < LABEL_MEMOS) memos.push(memo);
    this.use(memos.indexOf(memo));
    memo.labelOffsets = growU32(memo.labelOffsets, n + 1);
    memo.seriesHash = growU32(memo.seriesHash, n);
    const lo = memo.labelOffsets;
    const sh = memo.seriesHash;
    const strings: string[] = [];
    let refs = memo.labelRefs;
    let r = 0;
    lo[0] = 0;
    for (let k = 0; k < n; k++) {
      const h = series[k];
      const pairs = h.pairs;
      if (r + pairs.length > refs.length) {
        refs = growU32(refs, r + pairs.length);
        memo.labelRefs = refs;
      }
      for (let j = 0; j < pairs.length; j++) {
        const p = pairs[j];
        if (p.epoch !== epoch) {
          p.epoch = epoch;
          p.id = strings.length;
          strings.push(p.str);
        }
        refs[r++] = p.id;
      }
      lo[k + 1] = r >>> 1;
      sh[k] = h.hash;
      ids[k] = seriesIdSpace.idOf(h);
    }
    memo.strings = strings;
    memo.count = reusable ? n : -1;
    const last = memo.series;
    if (reusable) {
      if (last.length < n) last.length = n;
      for (let k = 0; k < n; k++) last[k] = series[k];
    }
    // Handles of a larger earlier build are not kept alive past their use.
    last.length = reusable ? n : 0;
    return strings;
  }

  /** True when series[0, n) are `memo`'s series, in the same slots. */
  private sameSeries(memo: LabelMemo, n: number): boolean {
    if (n !== memo.count) return false;
    const series = this.series;
    const last = memo.series;
    for (let k = 0; k < n; k++) if (series[k] !== last[k]) return false;
    return true;
  }

  /** Moves memo `m` to the front (most recently used). */
  private use(m: number): void {
    const memos = this.memos;
    const memo = memos[m];
    for (let i = m; i > 0; i--) memos[i] = memos[i - 1];
    memos[0] = memo;
  }

  private addSeries(h: SeriesHandle, epoch: number, n: number): number {
    h.epoch = epoch;
    h.slot = n;
    this.series[n] = h;
    if (n >= this.sampleCounts.length) {
      this.sampleCounts = growU32(this.sampleCounts, n + 1);
      this.histogramCounts = growU32(this.histogramCounts, n + 1);
      this.exemplarCounts = growU32(this.exemplarCounts, n + 1);
    }
    this.sampleCounts[n] = 0;
    this.histogramCounts[n] = 0;
    this.exemplarCounts[n] = 0;
    return n + 1;
  }
}
