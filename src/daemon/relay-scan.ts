/**
 * The relay fast path's CPU work for one remote-write 1.0 body: scan the uncompressed body
 * (`scanWriteRequestV1`) and, when it can be stored as received, build its kind-2 record. Pure,
 * so the same code runs on the event loop or in a worker thread (see relay-scanner.ts).
 */
// Types only: the relabel code loads where rules are applied (a worker without rules never loads it).
import type { IngestRelabeler } from '../relay/ingest-relabel.js';
import { DEFAULT_NAME_VALIDATION_SCHEME, type NameValidationScheme } from '../serialization/name-validation.js';
import { encodeGatheredRawRecord, encodeRawRecord, type RecordAllocator } from '../serialization/raw-record.js';
import { type RawWriteRequestScan, scanWriteRequestV1 } from '../wire/rw1-raw-scan.js';
import { MAX_WASM_SCAN_BODY_BYTES, type WasmRelayScan, wasmRelayScan } from '../wire/rw1-raw-scan-wasm.js';
import { checkedUncompressedLength, uncompressBlock } from '../wire/snappy.js';

/** A body the scan accepted: its kind-2 record, ready to append. */
export interface RelayRecord {
  readonly kind: 'record';
  readonly payload: Uint8Array;
  /** Samples the record holds (those write relabeling at ingest kept). */
  readonly samples: number;
  /** Samples the body held as received. */
  readonly received: number;
}

/** A body the scan did not accept, uncompressed: the receiver decodes it in full. */
export interface RelayDecode {
  readonly kind: 'decode';
  readonly body: Uint8Array;
}

export type RelayScan = RelayRecord | RelayDecode;

/**
 * `body` is `compressed` uncompressed; `groups`: the record's group count, as the relay route
 * chose it (`relayGroupCount`, src/relay/relay-route.ts; layout in raw-record.ts);
 * `scheme`: the names the scan passes through (others are left to the decode path, which refuses them);
 * `alloc`: where the record is written (default: a new Buffer);
 * `relabel`: the relabeler of the write relabel rules to apply at ingest (`ingestRelabelerFor`), if any.
 */
export function scanRelayBody(
  compressed: Uint8Array,
  body: Uint8Array,
  groups = 1,
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
  alloc?: RecordAllocator,
  relabel?: IngestRelabeler,
): RelayScan {
  // Relabeling works on the WebAssembly instance's copy of the body.
  const wasm = relabel !== undefined && body.length <= MAX_WASM_SCAN_BODY_BYTES ? wasmRelayScan() : undefined;
  if (wasm !== undefined && relabel !== undefined) {
    const scan = wasm.scan(body, scheme, relabel.merge);
    if (scan === undefined) return { kind: 'decode', body };
    return recordOf(wasm, compressed, scan, groups, relabel, body.length, alloc);
  }
  const scan = scanWriteRequestV1(body, scheme);
  if (scan === undefined) return { kind: 'decode', body };
  const payload = encodeRawRecord(compressed, scan, { body, groups, alloc });
  return { kind: 'record', payload, samples: scan.samples, received: scan.samples };
}

/**
 * {@link scanRelayBody} from the compressed body: uncompress (throwing uncompressBlock's
 * PromspoolError for a bad or too large body), scan, record. In WebAssembly where it can, from
 * the compressed bytes to the gathered groups without a copy of the body in JavaScript; the
 * record is the same either way.
 */
export function scanRelayRequest(
  compressed: Uint8Array,
  maxBytes: number,
  groups = 1,
  scheme: NameValidationScheme = DEFAULT_NAME_VALIDATION_SCHEME,
  alloc?: RecordAllocator,
  relabel?: IngestRelabeler,
): RelayScan {
  const claimed = checkedUncompressedLength(compressed, maxBytes);
  const fits = claimed <= MAX_WASM_SCAN_BODY_BYTES && compressed.length <= MAX_WASM_SCAN_BODY_BYTES;
  const wasm = fits ? wasmRelayScan() : undefined;
  if (wasm !== undefined) {
    // With external labels and no rules, the scan plans their merge as it goes.
    const out = wasm.uncompressAndScan(compressed, claimed, scheme, relabel?.merge);
    // Undefined: a malformed block, which the native uncompress below rejects with its words.
    if (out !== undefined) {
      const { body, scan } = out;
      // The body lives in linear memory, which the next call reuses: the decode path gets a copy.
      if (scan === undefined) return { kind: 'decode', body: body.slice() };
      return recordOf(wasm, compressed, scan, groups, relabel, claimed, alloc);
    }
  }
  return scanRelayBody(compressed, uncompressBlock(compressed, maxBytes), groups, scheme, alloc);
}

/** The record of a body `wasm` scanned last (`scan`), relabeled first when `relabeler` is given. */
function recordOf(
  wasm: WasmRelayScan,
  compressed: Uint8Array,
  scan: RawWriteRequestScan,
  groups: number,
  relabeler: IngestRelabeler | undefined,
  bodyLength: number,
  alloc: RecordAllocator | undefined,
): RelayRecord {
  const received = scan.samples;
  if (relabeler !== undefined) {
    const relabeled = relabeler.relabel(scan, bodyLength, groups);
    if (relabeled !== undefined) {
      const { mark, gathered } = relabeled;
      // Nothing changed or dropped, in one group: the received block is the record's, as without rules.
      const payload =
        groups === 1 && relabeled.unchanged
          ? encodeRawRecord(compressed, relabeled.scan, { alloc, mark })
          : encodeGatheredRawRecord(relabeled.scan, gathered, alloc, mark);
      return { kind: 'record', payload, samples: relabeled.scan.samples, received };
    }
  }
  const payload =
    groups === 1
      ? encodeRawRecord(compressed, scan, { alloc })
      : encodeGatheredRawRecord(scan, wasm.gather(scan, groups), alloc);
  return { kind: 'record', payload, samples: received, received };
}
