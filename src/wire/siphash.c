/*
 * SipHash-1-3 with 128-bit output, compiled into both WebAssembly modules (scripts/build-wasm.mjs):
 * the relay scan's write relabel cache (rw1-raw-scan.c) and the 2.0 transcoder's series cache
 * (rw2-transcode.c) name a series by this keyed hash of its label bytes instead of keeping and
 * comparing a copy. Keyed, with a seed each cache draws at random when it is made, so which
 * inputs collide differs from process to process and cannot be worked out in advance: a pusher
 * cannot craft a series that takes another series' cached outcome or labels (an unkeyed hash
 * such as MurmurHash3 has seed-independent collisions). The collision arithmetic for each cache
 * is beside it.
 *
 * Cost against MurmurHash3_x64_128, which the transcoder used before: see docs/performance.md.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

static inline u64 rotl64(u64 x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                                                                       \
  do {                                                                                                                 \
    v0 += v1;                                                                                                          \
    v1 = rotl64(v1, 13);                                                                                               \
    v1 ^= v0;                                                                                                          \
    v0 = rotl64(v0, 32);                                                                                               \
    v2 += v3;                                                                                                          \
    v3 = rotl64(v3, 16);                                                                                               \
    v3 ^= v2;                                                                                                          \
    v0 += v3;                                                                                                          \
    v3 = rotl64(v3, 21);                                                                                               \
    v3 ^= v0;                                                                                                          \
    v2 += v1;                                                                                                          \
    v1 = rotl64(v1, 17);                                                                                               \
    v1 ^= v2;                                                                                                          \
    v2 = rotl64(v2, 32);                                                                                               \
  } while (0)

/*
 * SipHash-1-3 with 128-bit output (Aumasson and Bernstein's reference, one compression and three
 * finalization rounds, as Rust's and Python's hash tables use) of p[0, len) under seed[0..1].
 */
void siphash13_128(const u8 *p, u32 len, const u64 *seed, u64 *out) {
  u64 v0 = 0x736f6d6570736575ull ^ seed[0];
  u64 v1 = 0x646f72616e646f6dull ^ seed[1] ^ 0xee;
  u64 v2 = 0x6c7967656e657261ull ^ seed[0];
  u64 v3 = 0x7465646279746573ull ^ seed[1];
  const u8 *blocks_end = p + (len & ~7u);
  for (; p < blocks_end; p += 8) {
    u64 m;
    __builtin_memcpy(&m, p, 8);
    v3 ^= m;
    SIPROUND;
    v0 ^= m;
  }
  u32 rest = len & 7;
  u64 b = (u64)len << 56;
  if (rest != 0) {
    if (len >= 8) {
      /* The last 8 bytes of the input, of which the top `rest` are the tail (little-endian). */
      u64 t;
      __builtin_memcpy(&t, p + rest - 8, 8);
      b |= t >> (8 * (8 - rest));
    } else {
      for (u32 i = 0; i < rest; i++) b |= (u64)p[i] << (8 * i);
    }
  }
  v3 ^= b;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xee;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  out[0] = v0 ^ v1 ^ v2 ^ v3;
  v1 ^= 0xdd;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  out[1] = v0 ^ v1 ^ v2 ^ v3;
}
