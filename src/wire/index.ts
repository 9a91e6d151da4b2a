/**
 * Remote-write wire formats: encoding what a SendLoop sends, decoding what the daemon's
 * receiver gets, snappy block compression and the protocol headers.
 *
 * TODO(rw2-encoder): RW 2.0 ENCODING (`io.prometheus.write.v2.Request` with a per-request
 * symbol table, inline metadata, created timestamps) is a later issue. Only 2.0 decoding exists
 * here; an endpoint configured for 2.0 needs `createWriteRequestEncoderV2` first.
 */
export { isReservedHeader, remoteWriteHeaders, validateUserHeaders } from './headers.js';
export { decodeWriteRequestV1 } from './rw1-decoder.js';
export { createWriteRequestEncoderV1, type WriteRequestEncoderV1Options } from './rw1-encoder.js';
export { decodeWriteRequestV2 } from './rw2-decoder.js';
export { compressBlock, snappyUncompressedLength, uncompressBlock } from './snappy.js';
export type {
  DecodedCounts,
  ProtobufMessage,
  RemoteWriteVisitor,
  SeriesSlice,
  WriteRequestEncoder,
} from './types.js';
