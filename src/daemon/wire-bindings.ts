/** The receiver's default decompressor and decoders, from src/wire. */
import { decodeWriteRequestV1 } from '../wire/rw1-decoder.js';
import { decodeWriteRequestV2 } from '../wire/rw2-decoder.js';
import { uncompressBlock } from '../wire/snappy.js';
import type { RemoteWriteVersion } from './content-negotiation.js';
import type { RemoteWriteDecode } from './ingest.js';
import type { Uncompress } from './receiver.js';

/** Checks the declared length against the cap before decompressing (ERR_BODY_TOO_LARGE / ERR_BAD_SNAPPY). */
export const defaultUncompress: Uncompress = uncompressBlock;

export const defaultDecoders: Record<RemoteWriteVersion, RemoteWriteDecode> = {
  '1.0': decodeWriteRequestV1,
  '2.0': decodeWriteRequestV2,
};
