/*
 * Snappy block format uncompress, for the relay scan's WebAssembly module (rw1-raw-scan-wasm.ts):
 * the body is uncompressed straight into the linear memory the scan reads, instead of into a
 * new JavaScript buffer that is then copied there. Every read and write is bounds-checked; any
 * malformed block answers 0 and the caller takes the native path, which words the error.
 *
 * Format: https://github.com/google/snappy/blob/main/format_description.txt
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

/* Writes may run up to this many bytes past the output's end: the caller leaves that much room. */
#define SLACK 16

static inline u64 load64(const u8 *p) {
  u64 w;
  __builtin_memcpy(&w, p, 8);
  return w;
}
static inline void store64(u8 *p, u64 w) { __builtin_memcpy(p, &w, 8); }

/*
 * Uncompresses src[0, src_len) into dst, which must hold dst_len + SLACK bytes. Returns 1 when
 * the block's header says dst_len and its elements produce exactly that, 0 otherwise.
 */
__attribute__((export_name("snappy_uncompress"))) u32 snappy_uncompress(const u8 *src, u32 src_len, u8 *dst,
                                                                        u32 dst_len) {
  const u8 *ip = src;
  const u8 *end = src + src_len;
  u64 claimed = 0;
  for (int shift = 0;; shift += 7) {
    if (ip >= end || shift > 28) return 0;
    u32 c = *ip++;
    claimed |= (u64)(c & 0x7f) << shift;
    if (c < 0x80) break;
  }
  if (claimed != dst_len) return 0;
  u8 *op = dst;
  u8 *const oend = dst + dst_len;
  while (ip < end) {
    u32 tag = *ip++;
    u32 kind = tag & 3;
    if (kind == 0) {
      u64 len = tag >> 2;
      if (len >= 60) {
        u32 n = (u32)len - 59;
        if ((u32)(end - ip) < n) return 0;
        len = 0;
        for (u32 i = 0; i < n; i++) len |= (u64)ip[i] << (8 * i);
        ip += n;
      }
      len += 1;
      if (len > (u64)(end - ip) || len > (u64)(oend - op)) return 0;
      if (len <= 16 && end - ip >= 16) {
        /* Short literals, most of them: two word moves, the extra bytes overwritten later. */
        store64(op, load64(ip));
        store64(op + 8, load64(ip + 8));
      } else {
        __builtin_memcpy(op, ip, (u32)len);
      }
      ip += len;
      op += len;
      continue;
    }
    u32 len;
    u32 offset;
    if (kind == 1) {
      if (ip >= end) return 0;
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | *ip++;
    } else if (kind == 2) {
      if (end - ip < 2) return 0;
      len = (tag >> 2) + 1;
      offset = (u32)ip[0] | ((u32)ip[1] << 8);
      ip += 2;
    } else {
      if (end - ip < 4) return 0;
      len = (tag >> 2) + 1;
      offset = (u32)ip[0] | ((u32)ip[1] << 8) | ((u32)ip[2] << 16) | ((u32)ip[3] << 24);
      ip += 4;
    }
    if (offset == 0 || offset > (u32)(op - dst) || len > (u32)(oend - op)) return 0;
    const u8 *from = op - offset;
    if (offset >= 8) {
      /* Forward in words: each word read lies wholly in output written before it. */
      for (u32 i = 0; i < len; i += 8) store64(op + i, load64(from + i));
    } else {
      for (u32 i = 0; i < len; i++) op[i] = from[i];
    }
    op += len;
  }
  return op == oend;
}
