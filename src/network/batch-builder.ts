import { storedElementsOf } from '../relay/relay-route.js';
import type { SignalRecord } from '../serialization/types.js';
import type { SnappyElements } from '../wire/snappy.js';
import type { SeriesRun, SeriesSlice } from '../wire/types.js';
import type { SendWork } from './types.js';

/** Signals removed from a batch by an age cut, per kind. */
export interface AgeCut {
  samples: number;
  histograms: number;
  exemplars: number;
}

/**
 * The batching state of one SendLoop: the works it has taken (oldest first), a cursor into them,
 * and the slices of the batch being built. Slices are pooled objects reused from batch to batch,
 * so building a request allocates nothing per sample and, once warm, nothing per series.
 *
 * A work is "complete" once the cursor moved past its last series: its portion is done when the
 * batch that took its last slice is finished. One series may be split across batches (samples
 * first, then histograms, then exemplars, each in append order), so per-series order holds as long
 * as batches are sent one after another, which a SendLoop guarantees.
 */
export class BatchBuilder {
  /** Pooled slices; `[0, count)` are the batch's (before its runs). */
  private readonly pool: SeriesSlice[] = [];
  private count = 0;
  /**
   * With `wholeRuns`: series taken whole (samples only) go here as runs of their work's series,
   * after the slices, and become slices only when something asks for {@link slices} (an encoder
   * without `encodeRuns`, an age cut) or a series must be split. The relay's 2.0 transcoder reads
   * the runs directly: a slice per series was ~40 ns of `fill` and ~20 of the transcoder's
   * JavaScript per series in-process on bench/relay's shape.
   */
  private readonly runList: SeriesRun[] = [];
  private runsUsed = 0;
  /** Series in `runList[0, runsUsed)`. */
  private runSeries = 0;
  /**
   * Or the batch is `elements[0, elementCount)`: works sent whole as their snappy elements
   * ({@link SendWork.elements}). A batch holds one kind or the other, never both.
   */
  readonly elements: SnappyElements[] = [];
  elementCount = 0;
  /** Newest timestamp of the element works in the batch. */
  private elementsNewestMs = 0;
  /** Set when the next work cannot join the batch (other kind, or elements too many): it is full as it is. */
  private closed = false;
  /** Signals per kind in the current batch (after any age cut). */
  samples = 0;
  histograms = 0;
  exemplars = 0;
  /** Signals taken into the current batch before any age cut (what leaves "pending" when it finishes). */
  private taken = 0;
  /** Works taken and not yet complete + finished; `works[0..workIdx)` are fully sliced. */
  private readonly works: SendWork[] = [];
  private workIdx = 0;
  private seriesIdx = 0;
  private entered = false;
  private samplePos = 0;
  private histogramPos = 0;
  private exemplarPos = 0;
  private pending = 0;
  /** Whether the work at the cursor gave a slice to the current batch. */
  private touchedCurrent = false;
  /** Whether the work at the cursor gave a slice to any batch (then it is sliced to its end). */
  private workSliced = false;

  /**
   * `sendElements`: take works that carry their snappy elements whole, as elements. Which works
   * carry them is the relay route's decision (`src/relay/relay-route.ts`), which gives none to an
   * endpoint with a sample age limit; false (a loop that cuts its batches by age, where elements
   * could not be cut) keeps that guard here too. `wholeRuns`: take series whole as runs (see
   * {@link runs}), for a loop whose encoder reads them (`WriteRequestEncoder.encodeRuns`).
   */
  constructor(
    readonly maxSignals: number,
    private readonly sendElements = false,
    private readonly wholeRuns = false,
  ) {
    if (!Number.isInteger(maxSignals) || maxSignals < 1)
      throw new RangeError(`maxSignals must be >= 1, got ${maxSignals}`);
  }

  /**
   * Slices `[0, sliceCount)` form the current batch (any runs made slices first: see
   * {@link runs}).
   */
  get slices(): SeriesSlice[] {
    if (this.runsUsed > 0) this.materialize();
    return this.pool;
  }

  get sliceCount(): number {
    if (this.runsUsed > 0) this.materialize();
    return this.count;
  }

  /**
   * With `wholeRuns`, the batch as `runs[0, runCount)` when {@link onlyRuns}: read them before
   * anything reads {@link slices}, which turns them into slices.
   */
  get runs(): readonly SeriesRun[] {
    return this.runList;
  }

  get runCount(): number {
    return this.runsUsed;
  }

  /** Whether the batch is runs alone (no slices, no elements). */
  get onlyRuns(): boolean {
    return this.runsUsed > 0 && this.count === 0 && this.elementCount === 0;
  }

  /** Series (slices or series of runs) or element runs in the batch being built. */
  get units(): number {
    return this.count + this.runSeries + this.elementCount;
  }

  /** Signals of the batch being built. */
  get signals(): number {
    return this.samples + this.histograms + this.exemplars;
  }

  get full(): boolean {
    return this.taken >= this.maxSignals || this.closed;
  }

  /** True when the batch has neither slices nor works completing in it. */
  get empty(): boolean {
    return this.count === 0 && this.runsUsed === 0 && this.workIdx === 0;
  }

  /** True when some taken work still has signals not in any batch. */
  get hasUnsliced(): boolean {
    return this.workIdx < this.works.length;
  }

  /** Signals taken from the mailbox and not yet finished (sent or dropped). */
  get pendingSignals(): number {
    return this.pending;
  }

  /** Whether `pred` holds for some taken work not yet finished (in the batch being built or after it). */
  someWork(pred: (work: SendWork) => boolean): boolean {
    const works = this.works;
    for (let i = 0; i < works.length; i++) if (pred(works[i])) return true;
    return false;
  }

  /** Appends a work taken from the mailbox. */
  push(work: SendWork): void {
    this.works.push(work);
    this.pending += work.signals;
  }

  /** Adds slices from the taken works until the batch holds `maxSignals` signals or the works run out. */
  fill(): void {
    const works = this.works;
    while (!this.closed && this.taken < this.maxSignals && this.workIdx < works.length) {
      const w = works[this.workIdx];
      if (this.seriesIdx === w.series.length) {
        this.nextWork();
        continue;
      }
      if (!this.workSliced && this.takeWhole(w)) continue;
      if (this.closed) break;
      if (!this.entered && (this.wholeRuns ? this.takeWholeRuns(w) : this.takeWholeSeries(w))) continue;
      const rec = w.record;
      const s = w.series[this.seriesIdx];
      if (!this.entered) this.enterSeries(w);
      const sampleEnd = rec.sampleOffsets[s + 1];
      const histogramEnd = rec.histogramOffsets[s + 1];
      const exemplarEnd = rec.exemplarOffsets[s + 1];
      let room = this.maxSignals - this.taken;
      const ns = Math.min(room, sampleEnd - this.samplePos);
      room -= ns;
      const nh = Math.min(room, histogramEnd - this.histogramPos);
      room -= nh;
      const ne = Math.min(room, exemplarEnd - this.exemplarPos);
      if (ns + nh + ne > 0) {
        const slice = this.nextSlice();
        slice.record = rec;
        slice.series = s;
        slice.sampleStart = this.samplePos;
        slice.sampleEnd = this.samplePos + ns;
        slice.histogramStart = this.histogramPos;
        slice.histogramEnd = this.histogramPos + nh;
        slice.exemplarStart = this.exemplarPos;
        slice.exemplarEnd = this.exemplarPos + ne;
        this.samplePos += ns;
        this.histogramPos += nh;
        this.exemplarPos += ne;
        this.samples += ns;
        this.histograms += nh;
        this.exemplars += ne;
        this.taken += ns + nh + ne;
        this.touchedCurrent = true;
        this.workSliced = true;
      }
      if (this.samplePos === sampleEnd && this.histogramPos === histogramEnd && this.exemplarPos === exemplarEnd) {
        this.seriesIdx++;
        this.entered = false;
      }
    }
    this.skipExhausted();
  }

  /**
   * The common case of {@link fill} in one tight loop: from the cursor, each series of `w` that has
   * only samples and fits the batch whole becomes one slice, with the cursor state kept in locals
   * (through `this`, building a slice cost ~115 ns per series in the library benchmark). Stops at
   * the first series that must be split or has histograms or exemplars, for the general path.
   * True when it took at least one series.
   */
  private takeWholeSeries(w: SendWork): boolean {
    const rec = w.record;
    const series = w.series;
    const so = rec.sampleOffsets;
    const ho = rec.histogramOffsets;
    const eo = rec.exemplarOffsets;
    const slices = this.pool;
    const max = this.maxSignals;
    const first = this.seriesIdx;
    let idx = first;
    let taken = this.taken;
    let count = this.count;
    let sliced = false;
    while (idx < series.length) {
      const s = series[idx];
      const h = ho[s];
      const e = eo[s];
      if (ho[s + 1] !== h || eo[s + 1] !== e) break;
      const start = so[s];
      const n = so[s + 1] - start;
      if (taken + n > max) break;
      if (n > 0) {
        if (count === slices.length) slices.push(emptySlice());
        const slice = slices[count++];
        slice.record = rec;
        slice.series = s;
        slice.sampleStart = start;
        slice.sampleEnd = start + n;
        slice.histogramStart = h;
        slice.histogramEnd = h;
        slice.exemplarStart = e;
        slice.exemplarEnd = e;
        taken += n;
        sliced = true;
      }
      idx++;
    }
    if (idx === first) return false;
    this.samples += taken - this.taken;
    this.taken = taken;
    this.count = count;
    this.seriesIdx = idx;
    if (sliced) {
      this.touchedCurrent = true;
      this.workSliced = true;
    }
    return true;
  }

  /**
   * {@link takeWholeSeries} with `wholeRuns`: the same series taken, as runs of `w.series` (a
   * series with nothing left is left out of them, as it gets no slice).
   */
  private takeWholeRuns(w: SendWork): boolean {
    const rec = w.record;
    const series = w.series;
    const so = rec.sampleOffsets;
    const ho = rec.histogramOffsets;
    const eo = rec.exemplarOffsets;
    const max = this.maxSignals;
    const first = this.seriesIdx;
    let idx = first;
    let runStart = first;
    let taken = this.taken;
    const before = this.runSeries;
    while (idx < series.length) {
      const s = series[idx];
      if (ho[s + 1] !== ho[s] || eo[s + 1] !== eo[s]) break;
      const n = so[s + 1] - so[s];
      if (taken + n > max) break;
      if (n === 0) {
        if (idx > runStart) this.addRun(rec, series, runStart, idx);
        runStart = idx + 1;
      }
      taken += n;
      idx++;
    }
    if (idx > runStart) this.addRun(rec, series, runStart, idx);
    if (idx === first) return false;
    this.samples += taken - this.taken;
    this.taken = taken;
    this.seriesIdx = idx;
    if (this.runSeries > before) {
      this.touchedCurrent = true;
      this.workSliced = true;
    }
    return true;
  }

  /** Appends `series[start, end)` of `rec` as a run (extending the last one when it continues it). */
  private addRun(rec: SendWork['record'], series: Uint32Array, start: number, end: number): void {
    this.runSeries += end - start;
    const last = this.runsUsed > 0 ? this.runList[this.runsUsed - 1] : undefined;
    if (last !== undefined && last.series === series && last.end === start) {
      last.end = end;
      return;
    }
    if (this.runsUsed === this.runList.length) this.runList.push({ record: rec, series, start, end });
    else {
      const run = this.runList[this.runsUsed];
      run.record = rec;
      run.series = series;
      run.start = start;
      run.end = end;
    }
    this.runsUsed++;
  }

  /** Turns the runs into slices after the batch's slices (each series whole: its samples only). */
  private materialize(): void {
    const runs = this.runList;
    const pool = this.pool;
    let count = this.count;
    for (let r = 0; r < this.runsUsed; r++) {
      const run = runs[r];
      const rec = run.record;
      const so = rec.sampleOffsets;
      const ho = rec.histogramOffsets;
      const eo = rec.exemplarOffsets;
      for (let i = run.start; i < run.end; i++) {
        const s = run.series[i];
        if (count === pool.length) pool.push(emptySlice());
        const slice = pool[count++];
        slice.record = rec;
        slice.series = s;
        slice.sampleStart = so[s];
        slice.sampleEnd = so[s + 1];
        slice.histogramStart = ho[s];
        slice.histogramEnd = ho[s];
        slice.exemplarStart = eo[s];
        slice.exemplarEnd = eo[s];
      }
    }
    this.count = count;
    this.clearRuns();
  }

  /** Drops the runs (their records too, so a finished segment is not kept alive by them). */
  private clearRuns(): void {
    for (let r = 0; r < this.runsUsed; r++) {
      const run = this.runList[r];
      run.record = undefined as never;
      run.series = EMPTY_SERIES;
    }
    this.runsUsed = 0;
    this.runSeries = 0;
  }

  /**
   * At the start of work `w`: takes it whole as elements when it can (true), or closes the batch
   * when `w` cannot join it (a kind switch, or elements past `maxSignals`). A work whose elements
   * alone pass `maxSignals` is sliced like any other.
   */
  private takeWhole(w: SendWork): boolean {
    const elements = this.sendElements ? storedElementsOf(w, this.maxSignals) : undefined;
    const asElements = elements !== undefined;
    if (asElements ? this.count + this.runSeries > 0 : this.elementCount > 0) {
      this.closed = true;
      return false;
    }
    if (!asElements) return false;
    if (this.taken + w.signals > this.maxSignals) {
      this.closed = true;
      return false;
    }
    this.elements[this.elementCount++] = elements;
    const raw = w.record.rawSeries;
    if (raw !== undefined) this.elementsNewestMs = Math.max(this.elementsNewestMs, raw.maxTimestampMs);
    this.samples += w.signals;
    this.taken += w.signals;
    this.nextWork();
    return true;
  }

  /**
   * Removes from the batch every sample, histogram and exemplar with a timestamp before `cutoffMs`,
   * compacting each slice's range of the record's columns in place (the range belongs to this batch
   * alone, so nothing else sees the move) and dropping slices left empty.
   */
  cutOlderThan(cutoffMs: number): AgeCut {
    if (this.runsUsed > 0) this.materialize();
    const cut: AgeCut = { samples: 0, histograms: 0, exemplars: 0 };
    const slices = this.pool;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const sl = slices[i];
      const rec = sl.record;
      const raw = rec.rawSeries;
      let w = sl.sampleEnd;
      // A record stored as received knows its oldest sample: its columns are decoded only to cut.
      if (raw === undefined || raw.minTimestampMs < cutoffMs) {
        const ts = rec.timestamps;
        const vs = rec.values;
        w = sl.sampleStart;
        for (let j = sl.sampleStart; j < sl.sampleEnd; j++) {
          if (ts[j] >= cutoffMs) {
            ts[w] = ts[j];
            vs[w] = vs[j];
            w++;
          }
        }
        if (raw !== undefined && w < sl.sampleEnd) raw.intact = false;
      }
      cut.samples += sl.sampleEnd - w;
      sl.sampleEnd = w;
      const hs = rec.histograms;
      w = sl.histogramStart;
      for (let j = sl.histogramStart; j < sl.histogramEnd; j++) {
        if (hs[j].timestampMs >= cutoffMs) hs[w++] = hs[j];
      }
      cut.histograms += sl.histogramEnd - w;
      sl.histogramEnd = w;
      const es = rec.exemplars;
      w = sl.exemplarStart;
      for (let j = sl.exemplarStart; j < sl.exemplarEnd; j++) {
        if (es[j].timestampMs >= cutoffMs) es[w++] = es[j];
      }
      cut.exemplars += sl.exemplarEnd - w;
      sl.exemplarEnd = w;
      if (sl.sampleEnd > sl.sampleStart || sl.histogramEnd > sl.histogramStart || sl.exemplarEnd > sl.exemplarStart) {
        // Swap rather than overwrite so the pool keeps one distinct object per slot.
        if (kept !== i) {
          slices[i] = slices[kept];
          slices[kept] = sl;
        }
        kept++;
      } else {
        sl.record = undefined as never;
      }
    }
    this.count = kept;
    this.samples -= cut.samples;
    this.histograms -= cut.histograms;
    this.exemplars -= cut.exemplars;
    return cut;
  }

  /** Newest timestamp in the batch, read from the last sample/histogram of each slice (append order). */
  highestTimestampMs(): number {
    let max = this.elementsNewestMs;
    let lastRaw: SignalRecord | undefined;
    for (let i = 0; i < this.count; i++) {
      const sl = this.pool[i];
      const rec = sl.record;
      const raw = rec.rawSeries;
      // Records stored as received: their newest timestamp, rather than decoding the columns; once
      // per run of the record's slices (a relayed batch is runs of a few records' series).
      if (raw !== undefined) {
        if (rec === lastRaw && sl.histogramEnd === sl.histogramStart) continue;
        lastRaw = rec;
        max = Math.max(max, raw.maxTimestampMs);
      } else if (sl.sampleEnd > sl.sampleStart) max = Math.max(max, sl.record.timestamps[sl.sampleEnd - 1]);
      if (sl.histogramEnd > sl.histogramStart)
        max = Math.max(max, sl.record.histograms[sl.histogramEnd - 1].timestampMs);
    }
    for (let r = 0; r < this.runsUsed; r++) {
      const run = this.runList[r];
      const rec = run.record;
      const raw = rec.rawSeries;
      if (raw !== undefined) {
        if (rec === lastRaw) continue;
        lastRaw = rec;
        max = Math.max(max, raw.maxTimestampMs);
        continue;
      }
      // Each series whole: its last sample (none is empty: runs leave those out).
      const so = rec.sampleOffsets;
      for (let k = run.start; k < run.end; k++) max = Math.max(max, rec.timestamps[so[run.series[k] + 1] - 1]);
    }
    return max;
  }

  /**
   * Ends the current batch (delivered or dropped): calls `onComplete` for every work whose last
   * slice was in it, oldest first, and starts an empty batch. `partial` receives the work still
   * being sliced if part of it was in this batch (so a caller can remember a refusal).
   */
  finish(onComplete: (work: SendWork) => void, partial?: (work: SendWork) => void): void {
    const done = this.workIdx;
    for (let i = 0; i < done; i++) onComplete(this.works[i]);
    if (partial !== undefined && this.touchedCurrent && this.workIdx < this.works.length) {
      partial(this.works[this.workIdx]);
    }
    this.works.splice(0, done);
    this.workIdx = 0;
    this.pending -= this.taken;
    this.releaseSlices();
    this.samples = 0;
    this.histograms = 0;
    this.exemplars = 0;
    this.taken = 0;
  }

  /** Empties the builder, returning every work not complete (including those in the current batch). */
  takeAll(): SendWork[] {
    const all = this.works.splice(0, this.works.length);
    this.workIdx = 0;
    this.workSliced = false;
    this.seriesIdx = 0;
    this.entered = false;
    this.pending = 0;
    this.releaseSlices();
    return all;
  }

  /** Empties the batch; pooled slices drop their record so a finished segment is not kept alive by them. */
  private releaseSlices(): void {
    for (let i = 0; i < this.count; i++) this.pool[i].record = undefined as never;
    this.count = 0;
    this.clearRuns();
    for (let i = 0; i < this.elementCount; i++) this.elements[i] = undefined as never;
    this.elementCount = 0;
    this.elementsNewestMs = 0;
    this.closed = false;
    this.samples = 0;
    this.histograms = 0;
    this.exemplars = 0;
    this.taken = 0;
    this.touchedCurrent = false;
  }

  private enterSeries(w: SendWork): void {
    const s = w.series[this.seriesIdx];
    this.samplePos = w.record.sampleOffsets[s];
    this.histogramPos = w.record.histogramOffsets[s];
    this.exemplarPos = w.record.exemplarOffsets[s];
    this.entered = true;
  }

  private nextWork(): void {
    this.workIdx++;
    this.workSliced = false;
    this.seriesIdx = 0;
    this.entered = false;
    this.touchedCurrent = false;
  }

  /** Moves the cursor past series with nothing left, so a work ending exactly at a full batch completes in it. */
  private skipExhausted(): void {
    while (this.workIdx < this.works.length) {
      const w = this.works[this.workIdx];
      if (this.seriesIdx === w.series.length) {
        this.nextWork();
        continue;
      }
      const rec = w.record;
      const s = w.series[this.seriesIdx];
      if (!this.entered) {
        // Not entered: all its signals are left. Entering it here would send the next batch's
        // first series down fill's general path (a slice, never a run: the batch not runs alone).
        const so = rec.sampleOffsets;
        const ho = rec.histogramOffsets;
        const eo = rec.exemplarOffsets;
        if (so[s + 1] > so[s] || ho[s + 1] > ho[s] || eo[s + 1] > eo[s]) return;
        this.seriesIdx++;
        continue;
      }
      if (
        this.samplePos < rec.sampleOffsets[s + 1] ||
        this.histogramPos < rec.histogramOffsets[s + 1] ||
        this.exemplarPos < rec.exemplarOffsets[s + 1]
      ) {
        return;
      }
      this.seriesIdx++;
      this.entered = false;
    }
  }

  private nextSlice(): SeriesSlice {
    // A slice goes after the runs taken before it: they become slices first (per-series order).
    if (this.runsUsed > 0) this.materialize();
    if (this.count === this.pool.length) this.pool.push(emptySlice());
    return this.pool[this.count++];
  }
}

function emptySlice(): SeriesSlice {
  return {
    record: undefined as never,
    series: 0,
    sampleStart: 0,
    sampleEnd: 0,
    histogramStart: 0,
    histogramEnd: 0,
    exemplarStart: 0,
    exemplarEnd: 0,
  };
}

const EMPTY_SERIES = new Uint32Array(0);
