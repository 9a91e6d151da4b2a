import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompressSync } from 'snappy';
import type { JsonRequest } from './json-encoder.js';

/** How the receiver answers one request. `hang`: never answers (until `close`); `reset`: destroys the socket. */
export type Reply =
  | { status: number; headers?: Record<string, string>; body?: string; after?: Promise<void> }
  | 'hang'
  | 'reset';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: JsonRequest;
  /** Requests being handled (arrived, not answered) when this one arrived, itself included. */
  concurrent: number;
}

export interface TestReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Answers of requests in arrival order; past the end, 204. */
  replies: Reply[];
  /** Resolves once at least `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>;
  maxConcurrent: number;
  close(): Promise<void>;
}

/** A minimal remote-write receiver for unit tests of the network: snappy + JSON bodies (see json-encoder.ts). */
export async function startTestReceiver(): Promise<TestReceiver> {
  const waiters: { n: number; resolve: () => void }[] = [];
  let active = 0;
  const state: TestReceiver = {
    url: '',
    requests: [],
    replies: [],
    maxConcurrent: 0,
    waitForRequests(n) {
      if (state.requests.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      active++;
      state.maxConcurrent = Math.max(state.maxConcurrent, active);
      const index = state.requests.length;
      const body = JSON.parse(String(uncompressSync(Buffer.concat(chunks)))) as JsonRequest;
      state.requests.push({ headers: req.headers, body, concurrent: active });
      const reply = state.replies[index] ?? { status: 204 };
      const finish = () => {
        active--;
      };
      if (reply === 'hang') {
        res.on('close', finish);
      } else if (reply === 'reset') {
        finish();
        req.socket.destroy();
      } else {
        void (reply.after ?? Promise.resolve()).then(() => {
          res.writeHead(reply.status, reply.headers ?? {});
          finish();
          res.end(reply.body ?? '');
        });
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (state.requests.length >= waiters[i].n) {
          waiters[i].resolve();
          waiters.splice(i, 1);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/api/v1/write`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
