/**
 * Which remote-write protocol an endpoint configured with `io.prometheus.write.v2.Request` sends
 * right now. A receiver that does not speak 2.0 (it answers 415, or a 2xx without any
 * `X-Prometheus-Remote-Write-*-Written` header) makes the endpoint fall back to 1.0; the choice is
 * kept in a small file of the endpoint's queue directory, so a restart does not probe again at
 * once, and 2.0 is tried again after `protobuf_message_probe_interval`.
 *
 * One object per endpoint, shared by its send loops: the first loop that sees a refusal flips it,
 * the others find 1.0 when they next encode. Every change happens between two requests of a loop.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ProtobufMessage } from '../wire/types.js';

/** Why an endpoint fell back to 1.0: the `reason` label of the fallback counter. */
export type FallbackReason = 'unsupported_media_type' | 'no_written_headers';

export const FALLBACK_REASONS: readonly FallbackReason[] = ['unsupported_media_type', 'no_written_headers'];

/** The file in the endpoint's queue directory that remembers a fallback across restarts. */
export const PROTOCOL_STATE_FILE = 'remote-write-protocol.json';

const V1: ProtobufMessage = 'prometheus.WriteRequest';
const V2: ProtobufMessage = 'io.prometheus.write.v2.Request';

/** What {@link PROTOCOL_STATE_FILE} holds. */
interface PersistedState {
  protobufMessage: ProtobufMessage;
  /** When the endpoint fell back, ms since the epoch: the next probe is due an interval later. */
  fellBackAtMs: number;
  reason: FallbackReason;
}

export interface ProtocolNegotiationOptions {
  /** The endpoint's `protobuf_message`: with 1.0 nothing is ever negotiated. */
  configured: ProtobufMessage;
  /** `protobuf_message_probe_interval`: how long 1.0 is kept after a fallback before 2.0 is tried again. */
  probeIntervalMs: number;
  /** The endpoint's queue directory, where the fallback is persisted; undefined: kept in memory only. */
  stateDir?: string;
  clock: Clock;
  logger: Logger;
}

export interface ProtocolNegotiationStats {
  /** The message the endpoint sends now. */
  protobufMessage: ProtobufMessage;
  /** Fallbacks to 1.0 since the start, by reason. */
  fallbacks: Record<FallbackReason, number>;
  /** Times 2.0 was tried again after the probe interval. */
  probes: number;
}

/** The protocol state of one endpoint; see the module comment. */
export class ProtocolNegotiation {
  private readonly opts: ProtocolNegotiationOptions;
  private readonly log: Logger;
  private message: ProtobufMessage;
  /** Set while on 1.0 after a fallback: when it happened (ms). */
  private fellBackAtMs: number | undefined;
  /** True from a probe's start until a 2.0 answer confirms it (or it falls back again). */
  private probing = false;
  private readonly counts = { unsupported_media_type: 0, no_written_headers: 0, probes: 0 };

  constructor(opts: ProtocolNegotiationOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.message = opts.configured;
    if (opts.configured === V2) this.restore();
    else this.forget();
  }

  /** The file of the persisted state, if there is a directory for it. */
  get stateFile(): string | undefined {
    return this.opts.stateDir === undefined ? undefined : join(this.opts.stateDir, PROTOCOL_STATE_FILE);
  }

  /** The message sent now, without starting a probe (for those that only look: metadata, stats). */
  get protobufMessage(): ProtobufMessage {
    return this.message;
  }

  /**
   * The message to encode the next request as. On 1.0 after a fallback whose probe interval has
   * passed, this starts a probe: 2.0 again (logged once).
   */
  current(): ProtobufMessage {
    if (this.fellBackAtMs !== undefined && this.opts.clock.now() >= this.fellBackAtMs + this.opts.probeIntervalMs) {
      this.fellBackAtMs = undefined;
      this.message = V2;
      this.probing = true;
      this.counts.probes++;
      this.log.warn('remote write: trying protocol 2.0 again after the probe interval', {
        protobuf_message: V2,
        probe_interval_ms: this.opts.probeIntervalMs,
      });
    }
    return this.message;
  }

  /**
   * A 2.0 request was refused as not understood (`reason`). Falls back to 1.0 if the endpoint is
   * still on 2.0 (logged and counted once, persisted); a no-op when another loop already did.
   * Returns true if this call changed the protocol.
   */
  fallBack(reason: FallbackReason, detail: Record<string, unknown>): boolean {
    if (this.message !== V2) return false;
    const now = this.opts.clock.now();
    this.message = V1;
    this.fellBackAtMs = now;
    this.probing = false;
    this.counts[reason]++;
    this.log.warn(
      'remote write: the receiver does not take protocol 2.0; sending 1.0 (the refused batch is sent again)',
      {
        reason,
        ...detail,
        probe_again_in_ms: this.opts.probeIntervalMs,
      },
    );
    this.persist({ protobufMessage: V1, fellBackAtMs: now, reason });
    return true;
  }

  /** A 2.0 request was answered with written counts: the receiver speaks 2.0 (ends a probe). */
  confirmed(): void {
    if (!this.probing) return;
    this.probing = false;
    this.log.warn('remote write: the receiver takes protocol 2.0 again; sending 2.0', { protobuf_message: V2 });
    this.forget();
  }

  stats(): ProtocolNegotiationStats {
    const c = this.counts;
    return {
      protobufMessage: this.message,
      fallbacks: { unsupported_media_type: c.unsupported_media_type, no_written_headers: c.no_written_headers },
      probes: c.probes,
    };
  }

  /** Takes a persisted fallback: 1.0 until its probe is due. A file that cannot be read means 2.0 (a probe). */
  private restore(): void {
    const file = this.stateFile;
    if (file === undefined) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn('remote write: cannot read the persisted protocol; trying 2.0', { file, err: String(err) });
      }
      return;
    }
    const state = parseState(text);
    if (state === undefined) {
      this.log.warn('remote write: the persisted protocol is not valid; trying 2.0', { file });
      return;
    }
    if (state.protobufMessage !== V1) return;
    this.message = V1;
    this.fellBackAtMs = state.fellBackAtMs;
    this.log.info('remote write: sending 1.0 as after an earlier fallback (persisted)', {
      reason: state.reason,
      fell_back_at: new Date(state.fellBackAtMs).toISOString(),
      probe_interval_ms: this.opts.probeIntervalMs,
    });
  }

  /** Writes the state atomically (a temporary file renamed over it); a failure only costs an early probe. */
  private persist(state: PersistedState): void {
    const file = this.stateFile;
    if (file === undefined) return;
    const tmp = `${file}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(state)}\n`);
      renameSync(tmp, file);
    } catch (err) {
      this.log.warn('remote write: cannot persist the protocol fallback; a restart will try 2.0 at once', {
        file,
        err: String(err),
      });
    }
  }

  private forget(): void {
    const file = this.stateFile;
    if (file === undefined) return;
    try {
      rmSync(file, { force: true });
    } catch (err) {
      this.log.warn('remote write: cannot remove the persisted protocol', { file, err: String(err) });
    }
  }
}

function parseState(text: string): PersistedState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const message = o.protobufMessage === V1 ? V1 : o.protobufMessage === V2 ? V2 : undefined;
  if (message === undefined) return undefined;
  if (typeof o.fellBackAtMs !== 'number' || !Number.isFinite(o.fellBackAtMs)) return undefined;
  const reason = FALLBACK_REASONS.includes(o.reason as FallbackReason)
    ? (o.reason as FallbackReason)
    : 'unsupported_media_type';
  return { protobufMessage: message, fellBackAtMs: o.fellBackAtMs, reason };
}

/** The counts of a 2.0 answer's `X-Prometheus-Remote-Write-*-Written` headers. */
export interface WrittenCounts {
  samples: number;
  histograms: number;
  exemplars: number;
}

/**
 * Reads the written headers of a 2.0 answer: undefined when none is there (the receiver did not
 * understand 2.0). As Prometheus does, a header missing beside the others, or not a non-negative
 * integer, counts 0.
 */
export function parseWrittenCounts(headers: Record<string, string | string[] | undefined>): WrittenCounts | undefined {
  const s = headers['x-prometheus-remote-write-samples-written'];
  const h = headers['x-prometheus-remote-write-histograms-written'];
  const e = headers['x-prometheus-remote-write-exemplars-written'];
  if (s === undefined && h === undefined && e === undefined) return undefined;
  return { samples: count(s), histograms: count(h), exemplars: count(e) };
}

function count(v: string | string[] | undefined): number {
  const text = Array.isArray(v) ? v[0] : v;
  if (text === undefined || !/^\d+$/.test(text.trim())) return 0;
  return Number(text.trim());
}
