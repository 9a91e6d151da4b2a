/**
 * Messages between an endpoint's delivery worker (`delivery-worker.ts`) and the event loop
 * (`threaded-endpoint.ts`). The event loop keeps the FileQueue (files, acks, disk accounting,
 * metrics registry); the worker runs the endpoint's read side and network on segments it asks for.
 */
import type { EndpointConfig } from '../config/types.js';
import type { EndpointDeliveryStats, EndpointStopResult } from './endpoint.js';

/** `workerData` of a delivery worker. */
export interface DeliveryWorkerInit {
  config: EndpointConfig;
  ttlMs: number;
  externalLabels: Record<string, string>;
  version?: string;
  /** The endpoint's queue directory (see `EndpointOptions.stateDir`). */
  stateDir?: string;
}

/** A segment as it crosses to the worker; its records' buffer is moved rather than copied when it can be. */
export interface SegmentMessage {
  id: number;
  records: (Uint8Array | null)[];
  acked: Map<number, Set<number>>;
  corruptRecords: number;
  compression?: number;
}

export type ToWorker =
  /** The answer to `next` number `req`. */
  | { t: 'segment'; req: number; segment: SegmentMessage | null }
  /** `next` number `req` found no sealed segment and waits (the FileQueue's `onWait`). */
  | { t: 'waiting'; req: number }
  | { t: 'stop'; timeoutMs: number };

export type FromWorker =
  | { t: 'next'; req: number }
  /** The endpoint stopped waiting for `next` number `req`; a segment already read still comes back. */
  | { t: 'abortNext'; req: number }
  /**
   * FileQueue calls to make, in this order: every ack (flat `segment, record, portion` triples),
   * then every release; a segment is only released after its last ack, so the order holds.
   */
  | {
      t: 'progress';
      acks: number[];
      releases: number[];
      batchDurations: number[];
      stats: EndpointDeliveryStats | undefined;
    }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> | undefined }
  | { t: 'stopped'; result: EndpointStopResult; stats: EndpointDeliveryStats };
