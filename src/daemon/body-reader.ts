/**
 * Reads a request body into one buffer with a hard size cap: Content-Length is checked before a
 * byte is read, and the running total while streaming, so a client that lies or sends chunked
 * data cannot make the daemon buffer more than `maxBytes`.
 */
import type { IncomingMessage } from 'node:http';
import { PromspoolError } from '../errors.js';

/** Thrown when the body is (or announces it is) larger than the cap; maps to HTTP 413. */
export const ERR_BODY_TOO_LARGE = 'ERR_BODY_TOO_LARGE';

export function readCappedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (err: Error | undefined) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        chunks.length = 0;
        // Stop reading; the caller answers 413 and closes the connection.
        req.pause();
        finish(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const onError = (err: Error) => finish(err);
    const onAborted = () => finish(new PromspoolError('ERR_CLIENT_ABORTED', 'client closed the connection'));
    // Node's requestTimeout destroys the socket of a client that is too slow: 'close' without 'end'.
    const onClose = () => {
      if (!req.complete) onAborted();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
  });
}

function tooLarge(maxBytes: number): PromspoolError {
  return new PromspoolError(ERR_BODY_TOO_LARGE, `request body larger than receiver.max_body_bytes (${maxBytes})`);
}
