/*
 * The protobuf varint readers both WebAssembly modules use (rw1-raw-scan.c, rw2-transcode.c),
 * included rather than compiled apart so they stay inline in the modules' hot loops.
 * scripts/build-wasm.mjs lists this header among each module's sources (its bytes are in their
 * digests) and compiles only the .c files.
 */
#ifndef PROMSPOOL_WASM_VARINT_H
#define PROMSPOOL_WASM_VARINT_H

#include <stdint.h>

/* A varint of at most 32 bits at p, before limit; *out = its end, or 0 if truncated or longer. */
static inline uint32_t read_length(const uint8_t *p, const uint8_t *limit, const uint8_t **out) {
  uint32_t value = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (p >= limit) break;
    uint32_t c = *p++;
    if (shift == 28 && c > 0x0f) break;
    value |= (c & 0x7f) << shift;
    if (c < 0x80) {
      *out = p;
      return value;
    }
  }
  *out = 0;
  return 0;
}

/*
 * A varint of up to 64 bits at p, before limit, as its two's-complement bits (an int64 field is
 * this cast to int64_t, as rw1-raw-scan.ts's readInt64 reads it); *out = its end, or 0 if
 * truncated or longer than 10 bytes.
 */
static inline uint64_t read_varint64(const uint8_t *p, const uint8_t *limit, const uint8_t **out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= limit) break;
    uint64_t c = *p++;
    value |= (c & 0x7f) << shift;
    if (c < 0x80) {
      *out = p;
      return value;
    }
  }
  *out = 0;
  return 0;
}

#endif
