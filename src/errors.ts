/**
 * Errors with a stable `code`, so callers branch on the code, never on the message.
 * Retryability is carried by the type ({@link RetryableError}) together with the wait the
 * other side asked for, like Prometheus' `RecoverableError`.
 */
export class PromspoolError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PromspoolError';
    this.code = code;
  }
}

/** A failure that may succeed if tried again; `retryAfterMs` is the receiver's requested wait, if any. */
export class RetryableError extends PromspoolError {
  readonly retryAfterMs: number | undefined;
  constructor(code: string, message: string, retryAfterMs?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The queue will not take more data: `max_disk_bytes` reached with `on_disk_full: reject`, or the disk itself is full. */
export class DiskFullError extends PromspoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DISK_FULL', message, options);
    this.name = 'DiskFullError';
  }
}

/** A mailbox or actor was closed while a caller was waiting on it. */
export class ClosedError extends PromspoolError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }
}
