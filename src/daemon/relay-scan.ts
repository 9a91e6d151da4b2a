/**
 * The relay fast path's CPU work for one remote-write 1.0 body: scan the uncompressed body
 * (`scanWriteRequestV1`) and, when it can be stored as received, build its kind-2 record. Pure,
 * so the same code runs on the event loop or in a worker thread (see relay-scanner.ts).
 */
import { encodeRawRecord } from '../serialization/raw-record.js';
import { scanWriteRequestV1 } from '../wire/rw1-raw-scan.js';

/** A body the scan accepted: its kind-2 record, ready to append. */
export interface RelayRecord {
  readonly kind: 'record';
  readonly payload: Uint8Array;
  readonly samples: number;
}

/** A body the scan did not accept, uncompressed: the receiver decodes it in full. */
export interface RelayDecode {
  readonly kind: 'decode';
  readonly body: Uint8Array;
}

export type RelayScan = RelayRecord | RelayDecode;

/** `body` is `compressed` uncompressed; `groups`: the record's send-loop groups (see raw-record.ts). */
export function scanRelayBody(compressed: Uint8Array, body: Uint8Array, groups = 1): RelayScan {
  const scan = scanWriteRequestV1(body);
  if (scan === undefined) return { kind: 'decode', body };
  return { kind: 'record', payload: encodeRawRecord(compressed, scan, { body, groups }), samples: scan.samples };
}
