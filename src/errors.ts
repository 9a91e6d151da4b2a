/**
 * The one error catalogue. Every error promspool makes carries a stable `code` from
 * {@link PromspoolErrorCode}, so callers branch on the code, never on the message. Retryability is
 * carried by the type ({@link RetryableError}) together with the wait the other side asked for,
 * like Prometheus' `RecoverableError`. docs/errors.md holds the same catalogue as a table; a unit
 * test (test/errors.test.ts) fails when a code is thrown in src/ without being listed here and there.
 */

/** What the catalogue says about one code. */
export interface ErrorCodeEntry {
  /** The class it is thrown as; every one is exported from the package. */
  readonly class: 'PromspoolError' | 'RetryableError' | 'ClosedError' | 'DiskFullError' | 'InvalidConfigError';
  /** Whether it is a {@link RetryableError}: promspool keeps the data and tries again by itself. */
  readonly retryable: boolean;
}

/**
 * Every code promspool throws, with its class. Internal: the package exports only the
 * {@link PromspoolErrorCode} union; docs/errors.md says when each is thrown.
 */
export const ERROR_CODES = {
  // The library API: createQueue, appenders, stop.
  ERR_INVALID_CONFIG: { class: 'InvalidConfigError', retryable: false },
  ERR_LOCKED: { class: 'PromspoolError', retryable: false },
  ERR_CLOSED: { class: 'ClosedError', retryable: false },
  ERR_DISK_FULL: { class: 'DiskFullError', retryable: false },
  ERR_REGISTRY_COLLECT: { class: 'PromspoolError', retryable: false },
  // Thrown as PartialExportError (a PromspoolError) from the `promspool/otel` entry point.
  ERR_OTEL_PARTIAL_EXPORT: { class: 'PromspoolError', retryable: false },
  // Delivery to a receiver: shown in `lastError` and logs; the data stays on disk and is retried.
  ERR_TIMEOUT: { class: 'RetryableError', retryable: true },
  ERR_TLS: { class: 'RetryableError', retryable: true },
  ERR_REDIRECT: { class: 'RetryableError', retryable: true },
  ERR_OAUTH2: { class: 'RetryableError', retryable: true },
  ERR_SIGV4: { class: 'RetryableError', retryable: true },
  ERR_SIGV4_REGION: { class: 'PromspoolError', retryable: false },
  ERR_SIGV4_CREDENTIALS: { class: 'RetryableError', retryable: true },
  ERR_SIGV4_ASSUME_ROLE: { class: 'RetryableError', retryable: true },
  ERR_SIGV4_SIGN: { class: 'RetryableError', retryable: true },
  ERR_RESERVED_HEADER: { class: 'PromspoolError', retryable: false },
  ERR_INVALID_HEADER: { class: 'PromspoolError', retryable: false },
  // Reading the queue back.
  ERR_CORRUPT_RECORD: { class: 'PromspoolError', retryable: false },
  // The daemon's remote-write receiver: answered to the client as an HTTP status.
  ERR_BAD_REQUEST: { class: 'PromspoolError', retryable: false },
  ERR_BAD_SNAPPY: { class: 'PromspoolError', retryable: false },
  ERR_BODY_TOO_LARGE: { class: 'PromspoolError', retryable: false },
  ERR_CLIENT_ABORTED: { class: 'PromspoolError', retryable: false },
} as const satisfies Record<string, ErrorCodeEntry>;

/** The stable code of every {@link PromspoolError}; docs/errors.md says when each is thrown. */
export type PromspoolErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error promspool throws on purpose; branch on {@link PromspoolError.code}. */
export class PromspoolError extends Error {
  /** Stable across releases; the message is for people and may change. */
  readonly code: PromspoolErrorCode;
  constructor(code: PromspoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PromspoolError';
    this.code = code;
  }
}

/**
 * A failure that may succeed if tried again (a receiver, token or credentials endpoint that failed
 * or did not answer). promspool retries these by itself with backoff and keeps the data on disk;
 * a caller sees them in `EndpointStats.lastError` and the logs. `retryAfterMs` is the wait the
 * other side asked for, if any.
 */
export class RetryableError extends PromspoolError {
  readonly retryAfterMs: number | undefined;
  constructor(code: PromspoolErrorCode, message: string, retryAfterMs?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * `ERR_DISK_FULL`: the queue will not take more data: `max_disk_bytes` reached with
 * `on_disk_full: reject`, a record larger than `max_disk_bytes`, or the disk itself is full
 * (ENOSPC). Nothing of the refused commit is stored; the same commit can succeed once delivery
 * has freed space, without a restart.
 */
export class DiskFullError extends PromspoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DISK_FULL', message, options);
    this.name = 'DiskFullError';
  }
}

/**
 * `ERR_CLOSED`: the queue (or one of its internal parts) is stopping or stopped, and the call
 * came too late: a commit or append after `stop()` began, or a sender waiting on a closed mailbox.
 */
export class ClosedError extends PromspoolError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }
}
