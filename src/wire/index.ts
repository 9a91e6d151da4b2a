/**
 * Remote-write wire formats: encoding what a SendLoop sends, decoding what the daemon's
 * receiver gets, snappy block compression and the protocol headers.
 *
 * An endpoint configured with `io.prometheus.write.v2.Request` encodes with
 * `createWriteRequestEncoderV2` and falls back to 1.0 as src/network/protocol-negotiation.ts decides.
 */
export { isReservedHeader, remoteWriteHeaders, validateUserHeaders } from './headers.js';
export { decodeWriteRequestV1 } from './rw1-decoder.js';
export { createWriteRequestEncoderV1, type WriteRequestEncoderV1Options } from './rw1-encoder.js';
export { decodeWriteRequestV2 } from './rw2-decoder.js';
export { createWriteRequestEncoderV2, type WriteRequestEncoderV2Options } from './rw2-encoder.js';
export { compressBlock, snappyUncompressedLength, uncompressBlock } from './snappy.js';
export type {
  DecodedCounts,
  ProtobufMessage,
  RemoteWriteVisitor,
  SeriesSlice,
  WriteRequestEncoder,
} from './types.js';
