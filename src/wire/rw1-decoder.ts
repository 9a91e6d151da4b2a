import { formatLabelPairs } from '../serialization/name-validation.js';
import { METRIC_TYPES } from '../serialization/types.js';
import { readHistogram } from './histogram-reader.js';
import { compareRanges, ProtoReader, WT_I64, WT_LEN, WT_VARINT } from './proto-reader.js';
import type { DecodedCounts, RemoteWriteVisitor } from './types.js';

/**
 * Decodes a remote-write 1.0 `prometheus.WriteRequest` (uncompressed) straight into `visitor`,
 * without building message objects. Validates strictly and throws PromspoolError
 * ('ERR_BAD_REQUEST') saying what and where; the visitor may have seen a prefix by then.
 * Each TimeSeries is read twice (labels first, then signals) because protobuf fields may come in
 * any order, and `series()` must precede its samples.
 */
export function decodeWriteRequestV1(body: Uint8Array, visitor: RemoteWriteVisitor): DecodedCounts {
  const r = new ProtoReader(body);
  const counts: DecodedCounts = { series: 0, samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
  const labels: string[] = [];
  const exemplarLabels: string[] = [];
  while (r.pos < r.end) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1: {
        r.expect(key, WT_LEN, 'timeseries');
        const stop = r.delimited();
        r.series = counts.series;
        readTimeSeries(r, stop, visitor, labels, exemplarLabels, counts);
        r.series = -1;
        counts.series++;
        break;
      }
      case 3: {
        r.expect(key, WT_LEN, 'metadata');
        readMetadata(r, r.delimited(), visitor);
        counts.metadata++;
        break;
      }
      default:
        r.skip(key & 7);
    }
  }
  return counts;
}

function readTimeSeries(
  r: ProtoReader,
  stop: number,
  visitor: RemoteWriteVisitor,
  labels: string[],
  exemplarLabels: string[],
  counts: DecodedCounts,
): void {
  const outerEnd = r.end;
  const start = r.pos;
  r.end = stop;
  // Pass 1: where the labels are. Label fields normally come first and together; then their
  // bytes name the series, and a visitor that knows them skips decoding them (see knownSeries).
  let labelsStart = -1;
  let labelsEnd = -1;
  let contiguous = true;
  while (r.pos < stop) {
    const fieldStart = r.pos;
    const key = r.tag();
    if (key >>> 3 === 1) {
      r.expect(key, WT_LEN, 'label');
      if (labelsStart < 0) labelsStart = fieldStart;
      else if (labelsEnd !== fieldStart) contiguous = false;
      r.pos = r.delimited();
      labelsEnd = r.pos;
    } else {
      r.skip(key & 7);
    }
  }
  const known =
    contiguous && labelsStart >= 0 && visitor.knownSeries !== undefined
      ? visitor.knownSeries(r.buf, labelsStart, labelsEnd, 0)
      : false;
  if (!known) {
    // Contiguous labels are read from their own range only; scattered ones from the whole series.
    if (contiguous && labelsStart >= 0) {
      r.pos = labelsStart;
      r.end = labelsEnd;
    } else {
      r.pos = start;
    }
    readLabels(r, labels);
    r.end = stop;
    visitor.series(labels, 0);
  }

  // Pass 2: signals.
  r.pos = start;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 2:
        r.expect(key, WT_LEN, 'sample');
        readSample(r, r.delimited(), visitor);
        counts.samples++;
        break;
      case 3:
        r.expect(key, WT_LEN, 'exemplar');
        readExemplar(r, r.delimited(), visitor, exemplarLabels);
        counts.exemplars++;
        break;
      case 4: {
        r.expect(key, WT_LEN, 'histogram');
        const h = readHistogram(r, r.delimited());
        visitor.histogram(h.timestampMs, h.histogram);
        counts.histograms++;
        break;
      }
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
}

/**
 * Reads and validates every Label field from `r.pos` to `r.end` into `labels` (other fields
 * skipped). A name or value that is not valid UTF-8 is refused once all labels are read, naming
 * the series (its bad bytes shown as U+FFFD) and the label.
 */
function readLabels(r: ProtoReader, labels: string[]): void {
  labels.length = 0;
  let prevStart = -1;
  let prevLen = 0;
  let badUtf8 = '';
  while (r.pos < r.end) {
    const key = r.tag();
    if (key >>> 3 !== 1) {
      r.skip(key & 7);
      continue;
    }
    r.expect(key, WT_LEN, 'label');
    readLabel(r, r.delimited(), labels, true);
    if (badUtf8 === '' && (labelName.badUtf8 || labelName.badValueUtf8)) {
      const name = JSON.stringify(labels[labels.length - 2]);
      badUtf8 = labelName.badUtf8 ? `label name ${name}` : `value of label ${name}`;
    }
    const nameStart = labelName.start;
    const nameLen = labelName.len;
    if (prevStart >= 0) {
      const cmp = compareRanges(r.buf, prevStart, prevLen, nameStart, nameLen);
      if (cmp === 0) r.fail(`duplicate label name "${labels[labels.length - 2]}"`);
      if (cmp > 0)
        r.fail(`label names not sorted: "${labels[labels.length - 4]}" before "${labels[labels.length - 2]}"`);
    }
    prevStart = nameStart;
    prevLen = nameLen;
  }
  if (badUtf8 !== '') r.fail(`${badUtf8} is not valid UTF-8, in series ${formatLabelPairs(labels)}`);
  if (labels.length === 0) r.fail('series has no labels');
}

/**
 * Where the name bytes of the last {@link readLabel} are, for ordering checks on bytes, not JS
 * strings; and whether its name or value was not valid UTF-8 (series labels are read leniently).
 */
const labelName = { start: 0, len: 0, badUtf8: false, badValueUtf8: false };

/** Reads a Label message and appends its name and value to `out`. */
function readLabel(r: ProtoReader, stop: number, out: string[], series: boolean): void {
  const outerEnd = r.end;
  r.end = stop;
  let name = '';
  let value = '';
  labelName.len = 0;
  labelName.badUtf8 = false;
  labelName.badValueUtf8 = false;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WT_LEN, 'label name');
        // Series labels leniently: readLabels names the series when one is not valid UTF-8.
        r.badUtf8 = false;
        name = r.string(series);
        labelName.start = r.strStart;
        labelName.len = r.strLen;
        labelName.badUtf8 = r.badUtf8;
        break;
      case 2:
        r.expect(key, WT_LEN, 'label value');
        r.badUtf8 = false;
        value = r.string(series);
        labelName.badValueUtf8 = r.badUtf8;
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
  if (name === '') r.fail('empty label name');
  // Bad UTF-8 is reported first, naming the series (readLabels).
  if (series && value === '' && !labelName.badUtf8) r.fail(`empty value for label "${name}"`);
  out.push(name, value);
}

/** A `Sample` message (same fields in 1.0 and 2.0: value = 1, timestamp = 2). */
export function readSample(r: ProtoReader, stop: number, visitor: RemoteWriteVisitor): void {
  const outerEnd = r.end;
  r.end = stop;
  let value = 0;
  let ts = 0;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WT_I64, 'sample value');
        value = r.double();
        break;
      case 2:
        r.expect(key, WT_VARINT, 'sample timestamp');
        ts = r.int64();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
  visitor.sample(ts, value);
}

function readExemplar(r: ProtoReader, stop: number, visitor: RemoteWriteVisitor, labels: string[]): void {
  const outerEnd = r.end;
  r.end = stop;
  labels.length = 0;
  let value = 0;
  let ts = 0;
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WT_LEN, 'exemplar label');
        readLabel(r, r.delimited(), labels, false);
        break;
      case 2:
        r.expect(key, WT_I64, 'exemplar value');
        value = r.double();
        break;
      case 3:
        r.expect(key, WT_VARINT, 'exemplar timestamp');
        ts = r.int64();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
  visitor.exemplar(labels, value, ts);
}

function readMetadata(r: ProtoReader, stop: number, visitor: RemoteWriteVisitor): void {
  const outerEnd = r.end;
  r.end = stop;
  let type = 0;
  let metricFamilyName = '';
  let help = '';
  let unit = '';
  while (r.pos < stop) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WT_VARINT, 'metadata type');
        type = r.int64();
        break;
      case 2:
        r.expect(key, WT_LEN, 'metadata metric_family_name');
        metricFamilyName = r.string();
        break;
      case 4:
        r.expect(key, WT_LEN, 'metadata help');
        help = r.string();
        break;
      case 5:
        r.expect(key, WT_LEN, 'metadata unit');
        unit = r.string();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.end = outerEnd;
  visitor.metadata({ metricFamilyName, type: METRIC_TYPES[type] ?? 'unknown', help, unit });
}
