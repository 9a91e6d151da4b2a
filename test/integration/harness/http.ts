import { type IncomingHttpHeaders, request } from 'node:http';

/** A fully read HTTP response. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Whole-request deadline; default 10 s. */
  timeoutMs?: number;
}

/**
 * One HTTP request with its own connection (`agent: false`), so no keep-alive socket outlives a
 * stopped server or keeps the test process alive. Test-only: the harness talks to loopback servers.
 */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const { method = 'GET', headers = {}, body, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** GET (or POST a form) and parse a JSON body; throws with the body text on a non-2xx status. */
export async function httpJson<T>(url: string, form?: URLSearchParams): Promise<T> {
  const res = form
    ? await httpRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      })
    : await httpRequest(url);
  const text = res.body.toString('utf8');
  if (res.status < 200 || res.status > 299) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}
