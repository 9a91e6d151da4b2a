/**
 * A remote-write 1.0 receiver that records every request as it came: its headers, the answer it
 * got, and its series with their labels as a list in wire order (duplicates and order kept, which
 * the compliance cases on sorted and repeated labels need and a name->value map would hide). It
 * decodes with protobufjs and the test protos, independently of src/wire. An optional `respond`
 * decides each answer (a status and a delay before the request is handled, as the upstream
 * sender cases' "Writes" middleware does).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompressSync } from 'snappy';
import { remoteWriteProtos } from './remote-write-client.js';

/** One sample as received, with the exact IEEE-754 bits of its value. */
export interface RecordedSample {
  ts: number;
  value: number;
  bits: bigint;
}

/** One time series of a request; `labels` in wire order, duplicates kept. */
export interface RecordedSeries {
  labels: [name: string, value: string][];
  samples: RecordedSample[];
  histogramCount: number;
}

/** One request: what came in and how it was answered. */
export interface RecordedRequest {
  index: number;
  headers: IncomingHttpHeaders;
  status: number;
  /** Undefined when the body could not be decoded (answered 400). */
  series?: RecordedSeries[];
  decodeError?: string;
}

/** The answer to one request: `delayMs` passes before the request is handled and recorded. */
export interface RecordingAnswer {
  status: number;
  delayMs?: number;
}

export interface RecordingReceiver {
  readonly url: string;
  /** Every request handled so far, in the order they were handled (after any delay). */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The bits of a float64. */
export function float64Bits(v: number): bigint {
  f64[0] = v;
  return u64[0];
}

/** int64 fields decode as numbers or `Long`s depending on protobufjs' long support. */
function toNumber(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  return (v as { toNumber(): number }).toNumber();
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs decode output is untyped by nature
type Msg = Record<string, any>;

/** Decodes a snappy-compressed 1.0 WriteRequest into series with their labels in wire order. */
export function decodeRecordedV1(body: Buffer): RecordedSeries[] {
  const { WriteRequest } = remoteWriteProtos();
  const raw = uncompressSync(body, { asBuffer: true }) as Buffer;
  const msg = WriteRequest.decode(raw) as unknown as Msg;
  return ((msg.timeseries ?? []) as Msg[]).map((ts) => ({
    labels: ((ts.labels ?? []) as Msg[]).map((l): [string, string] => [l.name ?? '', l.value ?? '']),
    samples: ((ts.samples ?? []) as Msg[]).map((s) => {
      const value = (s.value ?? 0) as number;
      return { ts: toNumber(s.timestamp), value, bits: float64Bits(value) };
    }),
    histogramCount: (ts.histograms ?? []).length,
  }));
}

/** Starts a recording receiver on 127.0.0.1 on a free port; answers 204 unless `respond` says otherwise. */
export async function startRecordingReceiver(
  respond?: (index: number, series: RecordedSeries[]) => RecordingAnswer,
): Promise<RecordingReceiver> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let arrived = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const index = arrived++;
      let series: RecordedSeries[];
      try {
        series = decodeRecordedV1(Buffer.concat(chunks));
      } catch (err) {
        const decodeError = (err as Error).message;
        requests.push({ index, headers: req.headers, status: 400, decodeError });
        res.writeHead(400).end(`recording receiver: cannot decode: ${decodeError}`);
        return;
      }
      const answer = respond?.(index, series) ?? { status: 204 };
      const finish = () => {
        requests.push({ index, headers: req.headers, status: answer.status, series });
        res.writeHead(answer.status).end(answer.status >= 300 ? `recording receiver: answered ${answer.status}` : '');
      };
      if (answer.delayMs && answer.delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          finish();
        }, answer.delayMs);
        timers.add(t);
      } else {
        finish();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
