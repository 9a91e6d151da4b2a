/*
 * The relay scan of rw1-raw-scan.ts in C, compiled to WebAssembly (scripts/build-wasm.mjs):
 * the same checks, the same label hash (hash version 2), the same outputs, bit for bit.
 * rw1-raw-scan.ts stays the reference: test/wire/rw1-raw-scan-wasm.test.ts runs both on the
 * same bodies and damaged variants of them and requires equal answers.
 *
 * Why C: the JavaScript walk was the relay's largest single cost (~1/3 of the daemon's CPU on
 * bench/relay), and the per-label work it does (bounds checks on every byte load, class table,
 * FNV steps) is what a compiled loop does several times faster.
 *
 * No libc: freestanding, no allocation. The caller lays out memory (see rw1-raw-scan-wasm.ts).
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

#define NAME_START 1
#define NAME_REST 2
#define METRIC_START 4
#define METRIC_REST 8

#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u

static u8 class_of[256];
static int classes_ready;

static void init_classes(void) {
  for (int c = 0; c < 256; c++) {
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    int digit = c >= '0' && c <= '9';
    u8 k = 0;
    if (alpha) k |= NAME_START | METRIC_START;
    if (alpha || digit) k |= NAME_REST | METRIC_REST;
    if (c == ':') k |= METRIC_START | METRIC_REST;
    class_of[c] = k;
  }
  classes_ready = 1;
}

static inline u32 load32(const u8 *p) {
  u32 w;
  __builtin_memcpy(&w, p, 4);
  return w;
}

/* A varint of at most 32 bits at p, before limit; *out = its end, or 0 if truncated or longer. */
static inline u32 read_length(const u8 *p, const u8 *limit, const u8 **out) {
  u32 value = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (p >= limit) break;
    u32 c = *p++;
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

/* A two's-complement int64 varint at p, before limit, as rw1-raw-scan.ts's readInt64 reads it. */
static inline int64_t read_int64(const u8 *p, const u8 *limit, const u8 **out) {
  u64 value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= limit) break;
    u64 c = *p++;
    value |= (c & 0x7f) << shift;
    if (c < 0x80) {
      *out = p;
      return (int64_t)value;
    }
  }
  *out = 0;
  return 0;
}

/* Well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), as Node's isUtf8. */
static int valid_utf8(const u8 *p, const u8 *end) {
  while (p < end) {
    u32 c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      if (end - p < 2 || (p[1] & 0xc0) != 0x80) return 0;
      p += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (end - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return 0;
      if (c == 0xe0 && p[1] < 0xa0) return 0; /* overlong */
      if (c == 0xed && p[1] >= 0xa0) return 0; /* surrogate */
      p += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (end - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
      if (c == 0xf0 && p[1] < 0x90) return 0; /* overlong */
      if (c == 0xf4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
      p += 4;
    } else {
      return 0;
    }
  }
  return 1;
}

static const u8 METRIC_NAME_LABEL[8] = {'_', '_', 'n', 'a', 'm', 'e', '_', '_'};

/*
 * Scans body[0, len). Per accepted series i: hashes[i], counts[i], starts[i] (and starts[n] =
 * len); ts[0], ts[1]: the minimum and maximum timestamp; ts[2]: the samples. Returns the series,
 * or 0 when the body is not one the relay passes through (the JavaScript scan's undefined).
 * `capacity` entries must fit in hashes and counts, `capacity + 1` in starts; a body needs at
 * most len / 16 + 1 (an accepted series takes more than 16 bytes): more series answer 0.
 * `legacy`: names must match the legacy character sets; otherwise (the utf8 scheme) any
 * non-empty valid UTF-8 name is taken.
 */
__attribute__((export_name("scan"))) u32 scan(const u8 *body, u32 len, u32 *hashes, u32 *counts, u32 *starts,
                                              u32 capacity, double *ts, u32 legacy) {
  if (!classes_ready) init_classes();
  /* Class bits a name's bytes must have: none under utf8 (any byte; UTF-8 checked after). */
  const u32 start_mask = legacy ? NAME_START : 0;
  const u32 rest_mask = legacy ? NAME_REST : 0;
  const u8 *end = body + len;
  const u8 *pos = body;
  u32 series = 0;
  double samples = 0;
  int64_t min_ts = 0, max_ts = 0;
  int any_ts = 0;
  while (pos < end) {
    if (*pos != 0x0a) return 0;
    const u8 *field_start = pos;
    const u8 *next;
    u32 len_ = read_length(pos + 1, end, &next);
    if (next == 0) return 0;
    pos = next;
    if (len_ > (u32)(end - pos)) return 0;
    const u8 *stop = pos + len_;

    const u8 *labels_start = pos;
    u32 h = FNV_OFFSET;
    const u8 *prev_name = 0;
    u32 prev_name_len = 0;
    int has_metric_name = 0;
    u32 high = 0;
    u32 name_high = 0;
    while (pos < stop && *pos == 0x0a) {
      u32 label_len;
      if (pos + 1 < stop && pos[1] < 0x80) {
        label_len = pos[1];
        pos += 2;
      } else {
        label_len = read_length(pos + 1, stop, &next);
        if (next == 0) return 0;
        pos = next;
      }
      if (label_len > (u32)(stop - pos)) return 0;
      const u8 *label_stop = pos + label_len;
      if (label_len < 2 || pos[0] != 0x0a) return 0;
      u32 name_len = pos[1];
      const u8 *name = pos + 2;
      if (name_len == 0 || name_len >= 0x80) return 0;
      if (name_len + 4 > label_len) return 0; /* name, value tag and length, one value byte */
      const u8 *p = name + name_len;
      if (p[0] != 0x12) return 0;
      u32 value_len = p[1];
      const u8 *value = p + 2;
      if (value_len >= 0x80) {
        value_len = read_length(p + 1, label_stop, &next);
        if (next == 0) return 0;
        value = next;
      }
      if (value_len == 0 || value > label_stop || value_len != (u32)(label_stop - value)) return 0;
      if ((class_of[name[0]] & start_mask) != start_mask) return 0;
      for (u32 i = 0; i < name_len; i++) {
        u32 b = name[i];
        if ((class_of[b] & rest_mask) != rest_mask) return 0;
        name_high |= b;
        h = (h ^ b) * FNV_PRIME;
      }
      h = (h ^ 0xff) * FNV_PRIME;
      const u8 *q = value;
      for (; q + 4 <= label_stop; q += 4) {
        u32 w = load32(q);
        high |= w;
        h = (h ^ w) * FNV_PRIME;
      }
      for (; q < label_stop; q++) {
        u32 b = *q;
        high |= b;
        h = (h ^ b) * FNV_PRIME;
      }
      h = (h ^ 0xff) * FNV_PRIME;
      if (prev_name != 0) {
        u32 n = prev_name_len < name_len ? prev_name_len : name_len;
        int d = 0;
        for (u32 i = 0; i < n && d == 0; i++) d = (int)prev_name[i] - (int)name[i];
        if (d == 0) d = (int)prev_name_len - (int)name_len;
        if (d >= 0) return 0;
      }
      if (name_len == 8 && __builtin_memcmp(name, METRIC_NAME_LABEL, 8) == 0) {
        /* Under utf8 any non-empty UTF-8 value is a metric name (UTF-8 is checked with the values). */
        if (legacy) {
          if ((class_of[value[0]] & METRIC_START) == 0) return 0;
          for (u32 i = 1; i < value_len; i++)
            if ((class_of[value[i]] & METRIC_REST) == 0) return 0;
        }
        has_metric_name = 1;
      }
      prev_name = name;
      prev_name_len = name_len;
      pos = label_stop;
    }
    if (!has_metric_name) return 0;
    if (((high & 0x80808080u) | (name_high & 0x80u)) != 0) {
      /* Names or values with non-ASCII bytes: each must be well-formed UTF-8. */
      const u8 *l = labels_start;
      while (l < pos) {
        u32 ll = read_length(l + 1, pos, &next);
        const u8 *ls = next + ll;
        const u8 *np = next + 2;
        u32 nl = next[1];
        if (!valid_utf8(np, np + nl)) return 0;
        const u8 *vp = np + nl + 1;
        u32 vl = read_length(vp, ls, &next);
        if (!valid_utf8(next, next + vl)) return 0;
        l = ls;
      }
    }

    u32 series_samples = 0;
    while (pos < stop) {
      if (*pos != 0x12) return 0;
      pos++;
      if (pos >= stop) return 0;
      u32 sample_len = *pos++;
      if (sample_len >= 0x80) return 0;
      if (sample_len > (u32)(stop - pos)) return 0;
      const u8 *sample_stop = pos + sample_len;
      int64_t t = 0;
      while (pos < sample_stop) {
        u32 tag = *pos++;
        if (tag == 0x09) {
          if (sample_stop - pos < 8) return 0;
          pos += 8;
        } else if (tag == 0x10) {
          t = read_int64(pos, sample_stop, &next);
          if (next == 0) return 0;
          pos = next;
        } else {
          return 0;
        }
      }
      if (!any_ts || t < min_ts) min_ts = t;
      if (!any_ts || t > max_ts) max_ts = t;
      any_ts = 1;
      series_samples++;
    }
    if (series_samples == 0) return 0;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    if (series == capacity) return 0;
    starts[series] = (u32)(field_start - body);
    counts[series] = series_samples;
    hashes[series++] = h;
    samples += series_samples;
  }
  if (series == 0) return 0;
  starts[series] = len;
  ts[0] = (double)min_ts;
  ts[1] = (double)max_ts;
  ts[2] = samples;
  return series;
}

static inline void copy_words(u8 *dst, const u8 *src, u32 len) {
  /* May write up to 7 bytes past dst + len: the caller leaves that room. Regions do not overlap. */
  for (u32 i = 0; i < len; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, src + i, 8);
    __builtin_memcpy(dst + i, &w, 8);
  }
}

/*
 * Gathers the n series a scan accepted into g groups, as raw-record.ts's encodeRawRecord does:
 * series i goes to group (hashes[i] & 0xff) % g, each group keeps the order of arrival, and the
 * groups' bytes are written one after another to out (which needs the body's length + 8 bytes).
 * order[j]: the series at position j; series_end[k], byte_end[k]: where group k ends, in series
 * and in bytes of out; cursor: g entries of scratch.
 */
__attribute__((export_name("gather_groups"))) void gather_groups(const u8 *body, const u32 *starts, const u32 *hashes,
                                                                u32 n, u32 g, u32 *order, u32 *series_end,
                                                                u32 *byte_end, u32 *cursor, u8 *out) {
  for (u32 k = 0; k < g; k++) series_end[k] = 0;
  for (u32 i = 0; i < n; i++) series_end[(hashes[i] & 0xff) % g]++;
  for (u32 k = 1; k < g; k++) series_end[k] += series_end[k - 1];
  cursor[0] = 0;
  for (u32 k = 1; k < g; k++) cursor[k] = series_end[k - 1];
  for (u32 i = 0; i < n; i++) order[cursor[(hashes[i] & 0xff) % g]++] = i;
  u32 o = 0;
  u32 j = 0;
  for (u32 k = 0; k < g; k++) {
    while (j < series_end[k]) {
      /* Series that arrived one after another in the same group are copied as one run. */
      u32 i = order[j++];
      u32 next = i + 1;
      while (j < series_end[k] && order[j] == next) {
        next++;
        j++;
      }
      u32 len = starts[next] - starts[i];
      copy_words(out + o, body + starts[i], len);
      o += len;
    }
    byte_end[k] = o;
  }
}
