/**
 * A fake remote-write receiver for fault-injection tests: a node:http server on 127.0.0.1 that
 * decodes 1.0 and 2.0 requests with protobufjs and the test protos (an independent check of
 * src/wire), records what it accepted, and answers with scripted behaviours.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompressSync } from 'snappy';
import type { MetadataEntry, MetricType, NativeHistogram } from '../../src/serialization/types.js';
import { remoteWriteProtos } from './remote-write-client.js';

/** One answer. `reset` destroys the connection without answering (after `delayMs`, if any). */
export interface Behaviour {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  reset?: true;
}

/** What a script sees of a request, decoded. */
export interface RequestInfo {
  index: number;
  version: '1.0' | '2.0';
  headers: IncomingHttpHeaders;
  series: DecodedSeries[];
  metadata: MetadataEntry[];
}

export interface ReceivedSample {
  ts: number;
  value: number;
  /** The value's exact IEEE-754 bits, e.g. 0x7ff0000000000002n for a stale marker. */
  bits: bigint;
}

export interface DecodedSeries {
  key: string;
  labels: Record<string, string>;
  samples: ReceivedSample[];
  histograms: { ts: number; histogram: NativeHistogram }[];
  exemplars: { labels: Record<string, string>; value: number; ts: number }[];
  createdTimestampMs: number;
}

export interface FakeReceiverOptions {
  /** Answer when no behaviour is queued and no script is set. Default 204. */
  defaultStatus?: number;
  /** Whether 2xx answers to 2.0 requests carry X-Prometheus-Remote-Write-*-Written. Default true. */
  writtenHeaders?: boolean;
  /** Port on 127.0.0.1 to listen on; default a free one. */
  port?: number;
}

export interface FakeReceiver {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Accepted samples per series, keyed by {@link seriesKey}. */
  received: Map<string, ReceivedSample[]>;
  /** Accepted histograms per series key. */
  receivedHistograms: Map<string, { ts: number; histogram: NativeHistogram }[]>;
  /** Requests received, whatever the answer. */
  readonly requests: number;
  /** Requests answered 2xx. */
  readonly acceptedRequests: number;
  /** Accepted samples/histograms whose timestamp is <= the previous accepted one of their series. */
  readonly orderViolations: number;
  readonly totalSamples: number;
  readonly totalHistograms: number;
  readonly totalExemplars: number;
  /** Requests whose body could not be decoded (answered 400). */
  readonly decodeErrors: number;
  /** Accepted metadata (2.0 per-series metadata is named after `__name__`). */
  metadata: MetadataEntry[];
  /** Headers of the last request. */
  readonly headersSeen: IncomingHttpHeaders;
  /** Answers for the next requests, in order; consumed before the script. */
  respondWith(behaviours: Behaviour[]): void;
  /** Decides the answer of each request once the queue is empty; `undefined` removes it. */
  script(fn: ((req: RequestInfo) => Behaviour) | undefined): void;
  /** Resolves when `predicate` holds (checked now and after each request); rejects after `timeoutMs`. */
  waitFor(predicate: (r: FakeReceiver) => boolean, timeoutMs: number): Promise<void>;
}

/** `{a="1",b="2"}` with names sorted: the key of `received`. */
export function seriesKey(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(',')}}`;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function bitsOf(v: number): bigint {
  f64[0] = v;
  return u64[0];
}

const TYPES: MetricType[] = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

/** int64 fields decode as `Long` objects (protobufjs has the long package here). */
function num(v: number | { toNumber(): number } | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs toObject() output is untyped by nature
type Msg = Record<string, any>;

function toHistogram(h: Msg): { ts: number; histogram: NativeHistogram } {
  const isFloat = h.count === 'countFloat';
  const histogram: NativeHistogram = {
    isFloat,
    count: isFloat ? h.countFloat : num(h.countInt),
    sum: h.sum ?? 0,
    schema: h.schema ?? 0,
    zeroThreshold: h.zeroThreshold ?? 0,
    zeroCount: h.zeroCount === 'zeroCountFloat' ? h.zeroCountFloat : num(h.zeroCountInt),
    positiveSpans: (h.positiveSpans ?? []).map((s: Msg) => ({ offset: s.offset ?? 0, length: s.length ?? 0 })),
    negativeSpans: (h.negativeSpans ?? []).map((s: Msg) => ({ offset: s.offset ?? 0, length: s.length ?? 0 })),
    resetHint: h.resetHint ?? 0,
  };
  if (isFloat) {
    histogram.positiveCounts = h.positiveCounts ?? [];
    histogram.negativeCounts = h.negativeCounts ?? [];
  } else {
    histogram.positiveDeltas = (h.positiveDeltas ?? []).map(num);
    histogram.negativeDeltas = (h.negativeDeltas ?? []).map(num);
  }
  // `arrays: true` makes an absent field an empty array; promspool's model leaves it out.
  if (h.customValues?.length) histogram.customValues = h.customValues;
  return { ts: num(h.timestamp), histogram };
}

const TO_OBJECT = { oneofs: true, arrays: true } as const;

/** Decodes a 1.0 WriteRequest body (uncompressed) with protobufjs. */
export function decodeV1WithProtobufjs(buf: Uint8Array): { series: DecodedSeries[]; metadata: MetadataEntry[] } {
  const { WriteRequest } = remoteWriteProtos();
  const msg = WriteRequest.toObject(WriteRequest.decode(buf), TO_OBJECT) as Msg;
  const labelsOf = (ls: Msg[]) => Object.fromEntries(ls.map((l) => [l.name ?? '', l.value ?? '']));
  const series = (msg.timeseries as Msg[]).map((ts): DecodedSeries => {
    const labels = labelsOf(ts.labels);
    return {
      key: seriesKey(labels),
      labels,
      samples: (ts.samples as Msg[]).map((s) => ({
        ts: num(s.timestamp),
        value: s.value ?? 0,
        bits: bitsOf(s.value ?? 0),
      })),
      histograms: (ts.histograms as Msg[]).map(toHistogram),
      exemplars: (ts.exemplars as Msg[]).map((e) => ({
        labels: labelsOf(e.labels),
        value: e.value ?? 0,
        ts: num(e.timestamp),
      })),
      createdTimestampMs: 0,
    };
  });
  const metadata = (msg.metadata as Msg[]).map(
    (m): MetadataEntry => ({
      metricFamilyName: m.metricFamilyName ?? '',
      type: TYPES[m.type ?? 0] ?? 'unknown',
      help: m.help ?? '',
      unit: m.unit ?? '',
    }),
  );
  return { series, metadata };
}

/** Decodes a 2.0 Request body (uncompressed) with protobufjs, resolving symbol refs. */
export function decodeV2WithProtobufjs(buf: Uint8Array): { series: DecodedSeries[]; metadata: MetadataEntry[] } {
  const { RequestV2 } = remoteWriteProtos();
  const msg = RequestV2.toObject(RequestV2.decode(buf), TO_OBJECT) as Msg;
  const symbols = msg.symbols as string[];
  const sym = (i: number) => {
    if (i >= symbols.length) throw new Error(`symbol ref ${i} out of range`);
    return symbols[i];
  };
  const labelsOf = (refs: number[]) => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < refs.length; i += 2) out[sym(refs[i])] = sym(refs[i + 1]);
    return out;
  };
  const metadata: MetadataEntry[] = [];
  const series = (msg.timeseries as Msg[]).map((ts): DecodedSeries => {
    const labels = labelsOf(ts.labelsRefs);
    if (ts.metadata && (ts.metadata.type || ts.metadata.helpRef || ts.metadata.unitRef)) {
      metadata.push({
        metricFamilyName: labels.__name__ ?? '',
        type: TYPES[ts.metadata.type ?? 0] ?? 'unknown',
        help: sym(ts.metadata.helpRef ?? 0),
        unit: sym(ts.metadata.unitRef ?? 0),
      });
    }
    return {
      key: seriesKey(labels),
      labels,
      samples: (ts.samples as Msg[]).map((s) => ({
        ts: num(s.timestamp),
        value: s.value ?? 0,
        bits: bitsOf(s.value ?? 0),
      })),
      histograms: (ts.histograms as Msg[]).map(toHistogram),
      exemplars: (ts.exemplars as Msg[]).map((e) => ({
        labels: labelsOf(e.labelsRefs),
        value: e.value ?? 0,
        ts: num(e.timestamp),
      })),
      createdTimestampMs: num(ts.createdTimestamp),
    };
  });
  return { series, metadata };
}

/** Starts a fake receiver on 127.0.0.1 and an ephemeral port. */
export async function startFakeReceiver(opts: FakeReceiverOptions = {}): Promise<FakeReceiver> {
  const defaultStatus = opts.defaultStatus ?? 204;
  const writtenHeaders = opts.writtenHeaders ?? true;
  const queue: Behaviour[] = [];
  let scriptFn: ((req: RequestInfo) => Behaviour) | undefined;
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const lastTs = new Map<string, number>();
  let closed = false;

  const state = {
    requests: 0,
    acceptedRequests: 0,
    orderViolations: 0,
    totalSamples: 0,
    totalHistograms: 0,
    totalExemplars: 0,
    decodeErrors: 0,
    headersSeen: {} as IncomingHttpHeaders,
  };
  const received = new Map<string, ReceivedSample[]>();
  const receivedHistograms = new Map<string, { ts: number; histogram: NativeHistogram }[]>();
  const metadata: MetadataEntry[] = [];

  const notify = () => {
    for (const w of [...waiters]) w();
  };

  const checkOrder = (key: string, ts: number) => {
    const prev = lastTs.get(key);
    if (prev !== undefined && ts <= prev) state.orderViolations++;
    lastTs.set(key, ts);
  };

  const accept = (info: RequestInfo) => {
    state.acceptedRequests++;
    for (const s of info.series) {
      let list = received.get(s.key);
      if (!list) received.set(s.key, (list = []));
      for (const x of s.samples) {
        checkOrder(s.key, x.ts);
        list.push(x);
      }
      if (s.histograms.length) {
        let hl = receivedHistograms.get(s.key);
        if (!hl) receivedHistograms.set(s.key, (hl = []));
        for (const h of s.histograms) {
          checkOrder(`${s.key}#histogram`, h.ts);
          hl.push(h);
        }
      }
      state.totalSamples += s.samples.length;
      state.totalHistograms += s.histograms.length;
      state.totalExemplars += s.exemplars.length;
    }
    metadata.push(...info.metadata);
  };

  const answer = (res: ServerResponse, b: Behaviour, info: RequestInfo | undefined) => {
    if (b.reset) {
      res.socket?.destroy();
      notify();
      return;
    }
    const status = b.status ?? defaultStatus;
    const headers: Record<string, string> = { ...b.headers };
    if (status >= 200 && status < 300 && info) {
      accept(info);
      if (info.version === '2.0' && writtenHeaders) {
        let samples = 0;
        let histograms = 0;
        let exemplars = 0;
        for (const s of info.series) {
          samples += s.samples.length;
          histograms += s.histograms.length;
          exemplars += s.exemplars.length;
        }
        headers['X-Prometheus-Remote-Write-Samples-Written'] ??= String(samples);
        headers['X-Prometheus-Remote-Write-Histograms-Written'] ??= String(histograms);
        headers['X-Prometheus-Remote-Write-Exemplars-Written'] ??= String(exemplars);
      }
    }
    res.writeHead(status, headers);
    res.end(b.body ?? '');
    notify();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const index = state.requests++;
    state.headersSeen = req.headers;
    const v2 = (req.headers['content-type'] ?? '').includes('io.prometheus.write.v2.Request');
    let info: RequestInfo;
    try {
      const raw = uncompressSync(body, { asBuffer: true }) as Buffer;
      const decoded = v2 ? decodeV2WithProtobufjs(raw) : decodeV1WithProtobufjs(raw);
      info = { index, version: v2 ? '2.0' : '1.0', headers: req.headers, ...decoded };
    } catch (err) {
      state.decodeErrors++;
      answer(res, { status: 400, body: `fake receiver: cannot decode: ${(err as Error).message}` }, undefined);
      return;
    }
    const b = queue.shift() ?? scriptFn?.(info) ?? { status: defaultStatus };
    if (b.delayMs && b.delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!closed) answer(res, b, info);
      }, b.delayMs);
      timers.add(t);
    } else {
      answer(res, b, info);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
    req.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const receiver: FakeReceiver = {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    port,
    received,
    receivedHistograms,
    metadata,
    get requests() {
      return state.requests;
    },
    get acceptedRequests() {
      return state.acceptedRequests;
    },
    get orderViolations() {
      return state.orderViolations;
    },
    get totalSamples() {
      return state.totalSamples;
    },
    get totalHistograms() {
      return state.totalHistograms;
    },
    get totalExemplars() {
      return state.totalExemplars;
    },
    get decodeErrors() {
      return state.decodeErrors;
    },
    get headersSeen() {
      return state.headersSeen;
    },
    respondWith(behaviours) {
      queue.push(...behaviours);
    },
    script(fn) {
      scriptFn = fn;
    },
    waitFor(predicate, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        if (predicate(receiver)) {
          resolve();
          return;
        }
        const check = () => {
          if (predicate(receiver)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake receiver: condition not met within ${timeoutMs} ms (${state.requests} requests)`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
