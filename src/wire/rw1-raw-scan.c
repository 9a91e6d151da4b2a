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

#include "wasm-varint.h"

typedef uint8_t u8;
typedef uint16_t u16;
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

/* FNV's finish of the scan's label hash (murmur3's fmix32). */
static inline u32 fmix32(u32 h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/*
 * The scan's label hash (hash version 2), unfinished: h carried on over the label fields [p, end),
 * whatever their length varints. Sets *noncanonical when a length varint of a field is longer
 * than needed (ends in a 0x00 byte after a continuation byte): such a field is not what an encoder
 * writes for its label (the external-label merge leaves that series to the cache's route).
 */
static inline u32 fnv_fields(u32 h, const u8 *p, const u8 *end, u32 *noncanonical) {
  const u8 *next;
  while (p < end) {
    u32 ll = read_length(p + 1, end, &next);
    if (next[-1] == 0 && next - p > 2) *noncanonical = 1;
    const u8 *label_stop = next + ll;
    u32 nl = read_length(next + 1, label_stop, &next);
    for (u32 i = 0; i < nl; i++) h = (h ^ next[i]) * FNV_PRIME;
    h = (h ^ 0xff) * FNV_PRIME;
    const u8 *q = next + nl;
    u32 vl = read_length(q + 1, label_stop, &next);
    if (next[-1] == 0 && next - q > 2) *noncanonical = 1;
    q = next;
    const u8 *value_stop = q + vl;
    for (; q + 4 <= value_stop; q += 4) h = (h ^ load32(q)) * FNV_PRIME;
    for (; q < value_stop; q++) h = (h ^ *q) * FNV_PRIME;
    h = (h ^ 0xff) * FNV_PRIME;
    p = label_stop;
  }
  return h;
}

/* Names compared as bytes, the shorter first when one is a prefix of the other (Go's string order). */
static inline int compare_names(const u8 *a, u32 al, const u8 *b, u32 bl) {
  u32 m = al < bl ? al : bl;
  for (u32 i = 0; i < m; i++)
    if (a[i] != b[i]) return (int)a[i] - (int)b[i];
  return (int)al - (int)bl;
}

static inline u32 varint_size(u32 v) {
  u32 n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static const u8 METRIC_NAME_LABEL[8] = {'_', '_', 'n', 'a', 'm', 'e', '_', '_'};

/* The scan's label hash carried on over one label (name bytes, 0xff, value bytes, 0xff), as the
 * scan's own chain takes it. */
static inline u32 fnv_label(u32 h, const u8 *name, u32 name_len, const u8 *value, const u8 *value_stop) {
  for (u32 i = 0; i < name_len; i++) h = (h ^ name[i]) * FNV_PRIME;
  h = (h ^ 0xff) * FNV_PRIME;
  const u8 *q = value;
  for (; q + 4 <= value_stop; q += 4) h = (h ^ load32(q)) * FNV_PRIME;
  for (; q < value_stop; q++) h = (h ^ *q) * FNV_PRIME;
  return (h ^ 0xff) * FNV_PRIME;
}

/*
 * Scans body[0, len). Per accepted series i: hashes[i], counts[i], starts[i] (and starts[n] =
 * len), label_ends[i] (where its label fields end: the relabel lookup's key); ts[0], ts[1]: the
 * minimum and maximum timestamp; ts[2]: the samples. Returns the series,
 * or 0 when the body is not one the relay passes through (the JavaScript scan's undefined).
 * `capacity` entries must fit in hashes and counts, `capacity + 1` in starts; a body needs at
 * most len / 16 + 1 (an accepted series takes more than 16 bytes): more series answer 0.
 * `legacy`: names must match the legacy character sets; otherwise (the utf8 scheme) any
 * non-empty valid UTF-8 name is taken.
 */
/*
 * The external labels scan_merge merges (see merge_external_gather below): ext, their fields one
 * after another, sorted by name; table, per label k 4 u32: its field's offset in ext and length,
 * its name's offset in ext and length; e labels (0: the plain scan).
 */
typedef struct name_plan name_plan;

typedef struct {
  const u8 *ext;
  const u32 *table;
  u32 e;
  u32 max_label_bytes;
  /* scan_plan only (write relabel rules planned by label name, see plan_gather): per constant k
   * flags[k] (PLAN_OVERRIDE: it replaces a series' own label of its name, else it yields to it),
   * the decisions' tables, and the skipped label fields' stream (skips: from, to offsets from the
   * label fields' start; skip_start[i]: series i's first range, skip_start[n] their end). */
  const u32 *flags;
  name_plan *plan;
  u32 *skips;
  u32 *skip_start;
} merge_spec;

#define MERGE_NOT_INSERTED 0xffffffffu

/*
 * Write relabel rules planned by label name (src/relay/name-rule-plan.ts decides when; see
 * plan_gather): per label name a decision (kept, or skipped: dropped by a labeldrop/labelkeep or
 * replaced by a constant) and whether a keep/drop filter reads its value; per (filter, value)
 * whether the series passes. Both in small open-addressing tables of 64-byte entries, filled from
 * JavaScript on a miss (the imports below: the relabel engine's regexes decide), emptied when half
 * full (nothing points into them: an entry is only ever a cached answer).
 */
/* A name's decision: PLAN_SKIP, the filter reading its value + 1 at PLAN_FILTER_SHIFT (8 bits),
 * how many constants sort before it at PLAN_RANK_SHIFT (5 bits), PLAN_EQUAL when one has its name
 * (the next one: constant `rank`). The rank and PLAN_EQUAL stand in for comparing each label's
 * name with the constants' (a loop whose early exits the branch predictor missed: ~50 ns a
 * series in-process on bench/relay). */
#define PLAN_SKIP 1u
#define PLAN_FILTER_SHIFT 8
#define PLAN_RANK_SHIFT 16
#define PLAN_EQUAL (1u << 24)
#define PLAN_OVERRIDE 1u
#define PLAN_ENTRY_BYTES 48
#define PLAN_MEMO 64

typedef struct {
  u32 hash;
  u32 answer;   /* names: their decision (PLAN_SKIP, PLAN_FILTER_SHIFT...); values: 1 when the series passes */
  u16 len;      /* 0: an empty entry (names and values are never empty) */
  u8 filter;    /* the key's salt: 0 for names, the filter + 1 for values */
  u8 pad[5];
  u8 bytes[PLAN_ENTRY_BYTES]; /* the key, zero past len (compared a word at a time) */
} plan_entry;

_Static_assert(sizeof(plan_entry) == 64, "an entry is one cache line");

struct name_plan {
  plan_entry *names;
  u32 names_mask; /* entries - 1, a power of two */
  u32 names_used;
  plan_entry *values;
  u32 values_mask;
  u32 values_used;
  u32 absent_fail; /* bit f: a series without filter f's label (its value "" or the external one) is dropped */
  u32 unused;
  /* The last name seen at each label index (names of up to 16 bytes as two words, zero past their
   * length; length 0: none) and its decision: series of one metric family repeat their names, and
   * two compares cost less than the table's hash and probe. */
  u64 memo_words[2 * PLAN_MEMO];
  u32 memo_len[PLAN_MEMO];
  u32 memo_decision[PLAN_MEMO];
};

/* The JavaScript side of the tables' misses (rw1-raw-scan-wasm.ts): a name's decision (PLAN_SKIP...),
 * and whether a value passes filter f (1) or drops the series (0). */
__attribute__((import_module("env"), import_name("plan_name"))) u32 plan_name_miss(const u8 *name, u32 len);
__attribute__((import_module("env"), import_name("plan_value"))) u32 plan_value_miss(u32 filter, const u8 *value,
                                                                                      u32 len);

/* No libc memcmp: eight bytes at a time, then the rest. */
static inline int bytes_equal(const u8 *a, const u8 *b, u32 n) {
  u32 i = 0;
  for (; i + 8 <= n; i += 8) {
    u64 x, y;
    __builtin_memcpy(&x, a + i, 8);
    __builtin_memcpy(&y, b + i, 8);
    if (x != y) return 0;
  }
  for (; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* Bytes [i, i + 8) of p[0, len) as a word, those past len zero (reads up to 7 bytes past p + len:
 * the body's slack). */
static inline u64 plan_word(const u8 *p, u32 len, u32 i) {
  u64 w;
  __builtin_memcpy(&w, p + i, 8);
  u32 rest = len - i;
  return rest >= 8 ? w : w & (~0ull >> (64 - 8 * rest));
}

/*
 * The entry of key (salt, p[0, len)) (len <= PLAN_ENTRY_BYTES), or the empty entry where it goes
 * (len 0). Keys are compared and hashed a word at a time, an entry's bytes zero past its length
 * (fresh or emptied entries are zero): against a byte-by-byte compare and hash, bench/relay's 10
 * names and one value per series took ~120 ns per series in-process, ~40 this way.
 */
static inline plan_entry *plan_find(plan_entry *table, u32 mask, u32 salt, const u8 *p, u32 len, u32 *hash) {
  /* The words' products are independent (no chain through the hash: a bench/relay `__name__`
   * value is 3 words); one multiply mixes them. */
  u64 x = (u64)(len | (salt << 8));
  for (u32 i = 0; i < len; i += 8) {
    u64 w = plan_word(p, len, i);
    x += __builtin_rotateleft64(w, i) * 0xff51afd7ed558ccdull;
  }
  x ^= x >> 29;
  x *= 0x9e3779b97f4a7c15ull;
  u32 h = (u32)(x >> 32);
  *hash = h;
  u32 s = h & mask;
  for (;;) {
    plan_entry *e = &table[s];
    if (e->len == 0) return e;
    if (e->hash == h && e->len == len && e->filter == salt) {
      u32 i = 0;
      for (; i < len; i += 8) {
        u64 w;
        __builtin_memcpy(&w, e->bytes + i, 8);
        if (w != plan_word(p, len, i)) break;
      }
      if (i >= len) return e;
    }
    s = (s + 1) & mask;
  }
}

/* Remembers answer for key (salt, p[0, len)) at e (plan_find's empty entry), emptying a half-full
 * table first (nothing points into it). */
static inline void plan_remember(plan_entry *table, u32 mask, u32 *used, plan_entry *e, u32 h, u32 salt,
                                 const u8 *p, u32 len, u32 answer) {
  if (*used >= (mask + 1) / 2) {
    __builtin_memset(table, 0, (mask + 1) * sizeof(plan_entry));
    *used = 0;
    u32 s = h & mask;
    e = &table[s];
  }
  e->hash = h;
  e->answer = answer;
  e->filter = (u8)salt;
  __builtin_memcpy(e->bytes, p, len);
  e->len = (u16)len;
  (*used)++;
}

/* A label name's decision (PLAN_SKIP...). */
static inline u32 plan_name(name_plan *pl, const u8 *name, u32 len) {
  if (len > PLAN_ENTRY_BYTES) return plan_name_miss(name, len);
  u32 h;
  plan_entry *e = plan_find(pl->names, pl->names_mask, 0, name, len, &h);
  if (e->len != 0) return e->answer;
  u32 d = plan_name_miss(name, len);
  plan_remember(pl->names, pl->names_mask, &pl->names_used, e, h, 0, name, len, d);
  return d;
}

/* Whether a series whose filter f label (f + 1 = filter) has value[0, len) passes the filter. */
static inline u32 plan_value(name_plan *pl, u32 filter, const u8 *value, u32 len) {
  if (len > PLAN_ENTRY_BYTES) return plan_value_miss(filter - 1, value, len);
  u32 h;
  plan_entry *e = plan_find(pl->values, pl->values_mask, filter, value, len, &h);
  if (e->len != 0) return e->answer;
  u32 pass = plan_value_miss(filter - 1, value, len);
  plan_remember(pl->values, pl->values_mask, &pl->values_used, e, h, filter, value, len, pass);
  return pass;
}

typedef struct {
  u32 skip_n;   /* in and out: ranges in m->skips so far */
  u32 added;    /* bytes of constant fields inserted */
  u32 skipped;  /* bytes of label fields left out */
  u32 drop;
  u32 h2;       /* the output labels' hash, unfinished (h's when nothing changed) */
  u32 noncanonical;
} plan_out;

/*
 * scan_merge's and plan_series' constant k (an external label, or a rule's constant) goes in at
 * `at` (bytes from the series' first label field): its field's bytes are added and hashed into
 * the output labels' chain, forked from `fork` (the scan's chain at that place) when nothing
 * changed before it.
 */
static inline __attribute__((always_inline)) u32 insert_constant(const u8 *ext, const u32 *ext_table, u32 k, u32 at,
                                                            u32 fork, u32 *a, u32 *added, u32 h2, u32 *forked,
                                                            u32 *noncanonical) {
  u32 fl = ext_table[4 * k + 1];
  a[k] = at;
  *added += fl;
  if (!*forked) {
    h2 = fork;
    *forked = 1;
  }
  const u8 *f = ext + ext_table[4 * k];
  return fnv_fields(h2, f, f + fl, noncanonical);
}

/*
 * scan_plan's plan of one series, after the scan checked its label fields [ls, le): where each
 * constant goes (a), which labels are skipped (m->skips), whether a filter drops it, and the
 * output labels' hash, forked from the scan's chain at the first change (lab[4j..4j+3]: h before
 * label j and where its name, its value and its field end are, from ls; h_end: h after the last). A pass of its own over the labels (in cache): the same work inside
 * the scan's loop left it short of registers (~80 ns a series more in-process).
 */
static __attribute__((noinline)) void plan_series(const merge_spec *m, const u8 *ls, const u8 *le, u32 n,
                                                  const u32 *lab, u32 h_end, u32 *a, plan_out *o) {
  name_plan *pl = m->plan;
  const u8 *ext = m->ext;
  const u32 *ext_table = m->table;
  const u32 *flags = m->flags;
  const u32 e = m->e;
  u32 skip_n = o->skip_n;
  const u32 first_skip = skip_n;
  u32 k = 0;
  u32 added = 0, skipped = 0, kept = 0, seen = 0, drop = 0, forked = 0, noncanonical = 0;
  u32 h2 = h_end;
  u32 j = 0;
  for (; j < n; j++) {
    /* The scan's offsets of label j: h before it, its name, its value, its end. */
    const u32 *l = lab + 4 * j;
    const u32 from = j == 0 ? 0 : l[-1];
    const u8 *p = ls + from;
    const u8 *name = ls + l[1];
    const u32 name_len = name[-1];
    const u8 *value = ls + l[2];
    const u8 *label_stop = ls + l[3];
    const u32 value_len = (u32)(label_stop - value);
    u32 d;
    if (name_len <= 16) {
      u64 w0 = plan_word(name, name_len, 0);
      u64 w1 = name_len > 8 ? plan_word(name, name_len, 8) : 0;
      if (pl->memo_len[j] == name_len && pl->memo_words[2 * j] == w0 && pl->memo_words[2 * j + 1] == w1) {
        d = pl->memo_decision[j];
      } else {
        d = plan_name(pl, name, name_len);
        pl->memo_len[j] = name_len;
        pl->memo_words[2 * j] = w0;
        pl->memo_words[2 * j + 1] = w1;
        pl->memo_decision[j] = d;
      }
    } else {
      d = plan_name(pl, name, name_len);
    }
    /* The constants that sort before this label go in before it. */
    for (u32 rank = (d >> PLAN_RANK_SHIFT) & 0x1f; k < rank; k++)
      h2 = insert_constant(ext, ext_table, k, from, l[0], a, &added, h2, &forked, &noncanonical);
    u32 same_constant = 0;
    if (d & PLAN_EQUAL) {
      /* Constant k has this label's name: it yields to the series' own label (an external label),
       * or replaces it (a rule's constant; the label is skipped by its decision) unless equal. */
      u32 fl = ext_table[4 * k + 1];
      if ((flags[k] & PLAN_OVERRIDE) == 0) {
        a[k] = MERGE_NOT_INSERTED;
      } else if (fl == (u32)(label_stop - p) && bytes_equal(ext + ext_table[4 * k], p, fl)) {
        /* The series' label is the constant: it stays as received (unchanged). */
        a[k] = MERGE_NOT_INSERTED;
        same_constant = 1;
      } else {
        h2 = insert_constant(ext, ext_table, k, from, l[0], a, &added, h2, &forked, &noncanonical);
      }
      k++;
    }
    if ((d & PLAN_SKIP) != 0 && !same_constant) {
      /* Skipped: one range with the label before it when that was skipped too. */
      u32 to = (u32)(label_stop - ls);
      if (skip_n > first_skip && m->skips[2 * skip_n - 1] == from) {
        m->skips[2 * skip_n - 1] = to;
      } else {
        m->skips[2 * skip_n] = from;
        m->skips[2 * skip_n + 1] = to;
        skip_n++;
      }
      skipped += to - from;
      if (!forked) {
        h2 = l[0];
        forked = 1;
      }
    } else {
      if (forked) h2 = fnv_label(h2, name, name_len, value, label_stop);
      kept++;
    }
    u32 f = (d >> PLAN_FILTER_SHIFT) & 0xff;
    if (f != 0) {
      seen |= 1u << (f - 1);
      if (!plan_value(pl, f, value, value_len)) {
        /* Dropped: nothing else of its plan is read (10% of bench/relay's series). */
        drop = 1;
        break;
      }
    }
  }
  /* The constants that sort after every label of the series. */
  for (; k < e && !drop; k++)
    h2 = insert_constant(ext, ext_table, k, (u32)(le - ls), h_end, a, &added, h2, &forked, &noncanonical);
  /* Dropped by a filter on a label it lacks, or no label left (relabelSeries drops it). */
  if ((pl->absent_fail & ~seen) != 0 || (kept == 0 && added == 0)) drop = 1;
  o->skip_n = skip_n;
  o->added = added;
  o->skipped = skipped;
  o->drop = drop;
  o->h2 = h2;
  o->noncanonical = noncanonical;
}

/*
 * The scan, and with m (scan_merge) the merge's plan alongside (always inlined: the plain scan,
 * m = 0, compiles without any of it).
 */
static inline __attribute__((always_inline)) u32 scan_impl(const u8 *body, u32 len, u32 *hashes, u32 *counts,
                                                           u32 *starts, u32 *label_ends, u32 capacity, double *ts,
                                                           u32 legacy, const merge_spec *m, u32 *at,
                                                           u32 *new_hashes, u32 *sizes, u32 *merge_result,
                                                           const int planning) {
  if (!classes_ready) init_classes();
  const int merging = m != 0;
  u32 skip_n = 0;
  u32 dropped = 0;
  const u8 *ext = merging ? m->ext : 0;
  const u32 *ext_table = merging ? m->table : 0;
  const u32 e = merging ? m->e : 0;
  u32 changed = 0;
  u32 to_cache = 0;
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
    /* Merging: h2 is the hash of the merged label fields, which takes each external label's field
     * where it goes; a[k] (k < e: the external labels placed so far) where external label k goes.
     * Until the first change (forked) it is h itself: the second chain starts there, from h's
     * state (bench/relay's rules change a series from its 8th label of 10: hashing every label
     * twice, the first version of the plan, cost ~100 ns a series in-process). */
    u32 h2 = FNV_OFFSET;
    u32 forked = 0;
    u32 k = 0;
    u32 added = 0;
    u32 noncanonical = 0;
    u32 *a = merging ? at + series * e : 0;
    /* Planning: the series' label fields skipped (bytes), whether it is dropped, and h before
     * each of its labels (plan_series). */
    u32 skipped = 0;
    u32 drop = 0;
    u32 labels = 0;
    u32 lab[planning ? 4 * PLAN_MEMO : 1];
    if (planning) m->skip_start[series] = skip_n;
    const u8 *prev_name = 0;
    u32 prev_name_len = 0;
    int has_metric_name = 0;
    u32 high = 0;
    u32 name_high = 0;
    while (pos < stop && *pos == 0x0a) {
      const u8 *label_field = pos;
      u32 label_len;
      if (pos + 1 < stop && pos[1] < 0x80) {
        label_len = pos[1];
        pos += 2;
      } else {
        label_len = read_length(pos + 1, stop, &next);
        if (next == 0) return 0;
        if (merging && next[-1] == 0) noncanonical = 1;
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
        if (merging && next[-1] == 0) noncanonical = 1;
        value = next;
      }
      if (value_len == 0 || value > label_stop || value_len != (u32)(label_stop - value)) return 0;
      if ((class_of[name[0]] & start_mask) != start_mask) return 0;
      if (merging && !planning) {
        /* The external labels that go before this one (or that it has: its own value stays). */
        for (; k < e; k++) {
          int c = compare_names(ext + ext_table[4 * k + 2], ext_table[4 * k + 3], name, name_len);
          if (c > 0) break;
          if (c == 0) {
            a[k] = MERGE_NOT_INSERTED;
            continue;
          }
          h2 = insert_constant(ext, ext_table, k, (u32)(label_field - labels_start), h, a, &added, h2, &forked,
                               &noncanonical);
        }
      }
      const u32 h_start = h;
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
      if (planning) {
        /* The plan (plan_series, after the labels) forks its hash chain from h at a label. */
        if (labels < PLAN_MEMO) {
          u32 *l = lab + 4 * labels;
          l[0] = h_start;
          l[1] = (u32)(name - labels_start);
          l[2] = (u32)(value - labels_start);
          l[3] = (u32)(label_stop - labels_start);
        }
        labels++;
      }
      if (merging && !planning && forked) h2 = fnv_label(h2, name, name_len, value, label_stop);
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
    const u8 *labels_end = pos;
    if (planning) {
      /* h here is the chain after the last label, not yet finished. */
      if (labels > PLAN_MEMO) {
        /* More labels than the chain's states kept: the cache's route. */
        to_cache = 1;
      } else {
        plan_out o;
        o.skip_n = skip_n;
        plan_series(m, labels_start, labels_end, labels, lab, h, a, &o);
        skip_n = o.skip_n;
        added = o.added;
        skipped = o.skipped;
        drop = o.drop;
        h2 = o.h2;
        noncanonical |= o.noncanonical;
      }
    }
    if (merging && !planning) {
      /* The external labels that sort after every label of the series. */
      for (; k < e; k++)
        h2 = insert_constant(ext, ext_table, k, (u32)(labels_end - labels_start), h, a, &added, h2, &forked,
                             &noncanonical);
    }
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
          t = (int64_t)read_varint64(pos, sample_stop, &next);
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
    if (merging) {
      /* As relabel_lookup and relabel_resolve give them for the same outcome. */
      u32 size = (u32)(stop - field_start);
      u32 nh = h;
      if (planning && drop) {
        size = 0;
        dropped++;
      } else if (added != 0 || skipped != 0) {
        nh = fmix32(h2);
        u32 out_len = (u32)(labels_end - labels_start) + added - skipped;
        /* Fields the cache's route would write anew, or could not stage: the body goes there. */
        if (noncanonical || out_len > m->max_label_bytes) to_cache = 1;
        u32 inner = out_len + (u32)(stop - labels_end);
        size = 1 + varint_size(inner) + inner;
        changed++;
      }
      new_hashes[series] = nh;
      sizes[series] = size;
    }
    starts[series] = (u32)(field_start - body);
    label_ends[series] = (u32)(labels_end - body);
    counts[series] = series_samples;
    hashes[series++] = h;
    samples += series_samples;
  }
  if (series == 0) return 0;
  starts[series] = len;
  ts[0] = (double)min_ts;
  ts[1] = (double)max_ts;
  ts[2] = samples;
  if (merging) {
    merge_result[0] = changed;
    merge_result[1] = to_cache;
    if (planning) {
      m->skip_start[series] = skip_n;
      merge_result[2] = dropped;
    }
  }
  return series;
}

/*
 * Scans body[0, len). Per accepted series i: hashes[i], counts[i], starts[i] (and starts[n] =
 * len), label_ends[i] (where its label fields end: the relabel lookup's key); ts[0], ts[1]: the
 * minimum and maximum timestamp; ts[2]: the samples. Returns the series,
 * or 0 when the body is not one the relay passes through (the JavaScript scan's undefined).
 * `capacity` entries must fit in hashes and counts, `capacity + 1` in starts; a body needs at
 * most len / 16 + 1 (an accepted series takes more than 16 bytes): more series answer 0.
 * `legacy`: names must match the legacy character sets; otherwise (the utf8 scheme) any
 * non-empty valid UTF-8 name is taken.
 */
__attribute__((export_name("scan"))) u32 scan(const u8 *body, u32 len, u32 *hashes, u32 *counts, u32 *starts,
                                              u32 *label_ends, u32 capacity, double *ts, u32 legacy) {
  return scan_impl(body, len, hashes, counts, starts, label_ends, capacity, ts, legacy, 0, 0, 0, 0, 0, 0);
}

/*
 * scan, with the plan of merging the e external labels of ext/ext_table (see merge_spec) into
 * every series, without rules (merge_external_gather): per series i, at[i * e + k] where external
 * label k goes in its label fields (an offset from their start; MERGE_NOT_INSERTED when it has a
 * label of that name), new_hashes[i] (hash version 2 of its merged label fields) and sizes[i]
 * (its field's bytes once merged), as relabel_lookup and relabel_resolve give them. at needs
 * (capacity + 1) * e entries, new_hashes and sizes capacity. merge_result[0]: the series that
 * change; merge_result[1]: 1 when the body must take the cache's route instead (a changed series
 * has a length varint longer than needed, which the cache's route writes anew, or new label
 * fields of more than max_label_bytes, which it cannot stage and stores the body unrelabeled).
 */
__attribute__((export_name("scan_merge"))) u32 scan_merge(const u8 *body, u32 len, u32 *hashes, u32 *counts,
                                                          u32 *starts, u32 *label_ends, u32 capacity, double *ts,
                                                          u32 legacy, const u8 *ext, const u32 *ext_table, u32 e,
                                                          u32 max_label_bytes, u32 *at, u32 *new_hashes, u32 *sizes,
                                                          u32 *merge_result) {
  const merge_spec m = {ext, ext_table, e, max_label_bytes, 0, 0, 0, 0};
  return scan_impl(body, len, hashes, counts, starts, label_ends, capacity, ts, legacy, &m, at, new_hashes, sizes,
                   merge_result, 0);
}

/*
 * scan_merge with write relabel rules planned by label name (plan_gather): the e constants of
 * ext/ext_table go in where they sort, each yielding to a series' own label of its name (an
 * external label) or replacing it (flags[k] PLAN_OVERRIDE: a rule's constant; a series label equal
 * to it stays as received); each of the series' labels is kept or skipped by its name's decision
 * (plan), and a filter on a label's value may drop the series (sizes[i] 0). Besides scan_merge's
 * outputs: skips/skip_start (merge_spec), merge_result[2] the series dropped. skips needs 2 u32 per
 * skipped range (at most len / 3 entries: a range holds a label field of 6 bytes or more),
 * skip_start capacity + 1.
 */
__attribute__((export_name("scan_plan"))) u32 scan_plan(const u8 *body, u32 len, u32 *hashes, u32 *counts,
                                                        u32 *starts, u32 *label_ends, u32 capacity, double *ts,
                                                        u32 legacy, const u8 *ext, const u32 *ext_table, u32 e,
                                                        u32 max_label_bytes, u32 *at, u32 *new_hashes, u32 *sizes,
                                                        u32 *merge_result, const u32 *flags, name_plan *plan,
                                                        u32 *skips, u32 *skip_start) {
  const merge_spec m = {ext, ext_table, e, max_label_bytes, flags, plan, skips, skip_start};
  return scan_impl(body, len, hashes, counts, starts, label_ends, capacity, ts, legacy, &m, at, new_hashes, sizes,
                   merge_result, 1);
}

/* Empties the plan's tables (another rule set's answers). */
__attribute__((export_name("plan_clear"))) void plan_clear(name_plan *pl) {
  __builtin_memset(pl->names, 0, (pl->names_mask + 1) * sizeof(plan_entry));
  __builtin_memset(pl->values, 0, (pl->values_mask + 1) * sizeof(plan_entry));
  pl->names_used = 0;
  pl->values_used = 0;
  __builtin_memset(pl->memo_len, 0, sizeof(pl->memo_len));
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

/*
 * Write relabeling at ingest (src/relay/ingest-relabel.ts): a cache of per-series outcomes keyed
 * by a series' received label bytes, and the rewrite of a scanned body with those outcomes. The
 * relabel engine itself runs in JavaScript, once per distinct series (a cache miss).
 *
 * The cache is an open-addressing table (linear probing, at most half full) of 64-byte slots, one
 * cache line each, holding a series' key and its outcome: kept as received, dropped, or changed,
 * with the changed series' new label fields described by a few ops (runs of its received label
 * fields and added bytes) in the slot itself when they fit in 36 bytes (bench/relay's three rules:
 * 35), else in an arena. A hit reads its slot and nothing else of the cache.
 *
 * The key is 128 bits: SipHash-1-3 with 128-bit output (two 64-bit words) of the series' received
 * label bytes, under a 128-bit seed drawn at random when the cache is made (rw1-raw-scan-wasm.ts),
 * so which inputs collide differs from process to process and cannot be worked out in advance.
 * The previous cache kept every key's bytes (~190 for bench/relay's 10 labels) and compared them
 * on a hit: with 100,000 series that is a ~50 MB working set, each hit a miss of the CPU caches on
 * the slot, the entry, ~4 lines of key and the outcome (4.5 s of the scan worker's ~12.5 s active
 * on bench/relay). SipHash over the label bytes, which the scan has just read, costs less than
 * one of those misses.
 *
 * Collisions: two different series with the same 128-bit key would share an outcome (the later
 * one would be sent with the first one's relabeled labels). Taking SipHash as a pseudo-random
 * function of its seed (what it is designed and analysed to be), a series not in the cache
 * matches one of its n entries with probability at most n / 2^128: with n = 1,048,576 = 2^20
 * (the default maximum, src/relay/ingest-relabel.ts; 2^17 before it grows) 2^-108 (3.2e-33); any
 * two of a full cache's entries collide with probability at most n^2 / 2^129 = 2^-89 (1.6e-27).
 * At 10 million lookups per second for 100 years (3.2e16 < 2^55 lookups) the chance of one
 * wrong outcome stays below 2^55 * 2^-108 = 2^-53.
 *
 * The slots in use are the first slot_mask + 1 of the max_mask + 1 reserved: relabel_grow doubles
 * them (emptied) when the series outgrow the entries, and the slots past them are never written
 * before (pages untouched, out of the resident size).
 */

#define RELABEL_KEEP 0
#define RELABEL_DROP 1
#define RELABEL_CHANGED 2

/* A changed series' ops: in the slot (FORM_INLINE) or as 8-byte pieces in the arena. */
#define FORM_INLINE 0
#define FORM_ARENA 1
#define INLINE_BYTES 36

typedef struct {
  u64 key[2];    /* SipHash-1-3-128 of the received label fields under the cache's seed */
  u32 new_hash;  /* hash of the new label fields, as scan computes it (the received hash unless changed) */
  u32 out_len;   /* RELABEL_CHANGED: bytes of the new label fields */
  u8 kind;       /* RELABEL_* + 1; 0: an empty slot */
  u8 form;       /* RELABEL_CHANGED: FORM_* */
  u8 ops_len;    /* FORM_INLINE: bytes of ops in data */
  u8 unused;
  /* FORM_INLINE: ops, each a u16 `at` (< 0x8000) and u16 length: a run of the received label
   * fields, or a u16 0x8000 | length followed by that many literal bytes. FORM_ARENA: u32 offset
   * of the pieces in the arena and u32 pieces (see add_pieces). */
  u8 data[INLINE_BYTES];
} relabel_slot;

_Static_assert(sizeof(relabel_slot) == 64, "a slot is one cache line");

/* Laid out by the caller (rw1-raw-scan-wasm.ts, which mirrors these offsets); one per module instance. */
typedef struct {
  u32 slot_mask;  /* slots - 1, slots a power of two */
  u32 entries;
  u32 entry_cap;  /* at most half the slots */
  u32 arena_used;
  u32 arena_cap;
  relabel_slot *slots; /* 64-byte aligned */
  u8 *arena;
  u32 start_mask; /* ANDed with a key's first slot: all ones (0 in a test that puts every key on one probe sequence) */
  u64 seed[2];
  u32 sink;       /* where the lookup's early slot reads go, so they are not optimized away */
  u32 max_mask;   /* slots reserved - 1: slot_mask doubles up to it (relabel_grow) */
  u32 arena_max;  /* arena bytes reserved: arena_cap doubles up to it */
} relabel_cache;

_Static_assert(sizeof(relabel_cache) == 64, "rw1-raw-scan-wasm.ts reserves 64 bytes for the header");

/* Where series i's label fields start: after the TimeSeries tag and length. */
static inline u32 labels_start(const u8 *body, u32 start) {
  const u8 *p = body + start + 1;
  while (*p >= 0x80) p++;
  return (u32)(p + 1 - body);
}

/* The scan's label hash (hash version 2) of label fields, whatever their length varints. */
static u32 hash_label_fields(const u8 *p, const u8 *end) {
  u32 noncanonical = 0;
  return fmix32(fnv_fields(FNV_OFFSET, p, end, &noncanonical));
}


/* SipHash-1-3-128 of p[0, len) under seed[0..1] (siphash.c, shared with rw2-transcode.c). */
void siphash13_128(const u8 *p, u32 len, const u64 *seed, u64 *out);

/* The cache's key of p[0, len) under seed: exported for the tests (rw1-raw-scan-wasm.ts relabelKey). */
__attribute__((export_name("relabel_key"))) void relabel_key(const u8 *p, u32 len, const u64 *seed, u64 *out) {
  siphash13_128(p, len, seed, out);
}

static inline u32 first_slot(const relabel_cache *c, const u64 *key) {
  return (u32)key[0] & c->slot_mask & c->start_mask;
}

/* The slot of a key, or -1; *slot_out: its slot, or the empty slot where it would go. */
static inline int find_slot(const relabel_cache *c, const u64 *key, u32 *slot_out) {
  u32 s = first_slot(c, key);
  for (;;) {
    const relabel_slot *e = &c->slots[s];
    if (e->kind == 0) break;
    if (e->key[0] == key[0] && e->key[1] == key[1]) {
      *slot_out = s;
      return (int)s;
    }
    s = (s + 1) & c->slot_mask;
  }
  *slot_out = s;
  return -1;
}

static inline u8 *write_varint(u8 *p, u32 v) {
  while (v >= 0x80) {
    *p++ = (u8)(v | 0x80);
    v >>= 7;
  }
  *p++ = (u8)v;
  return p;
}

/*
 * What series i becomes under slot e: new_hashes[i] (its labels' hash after relabeling) and
 * sizes[i] (its field's bytes after relabeling, 0 when dropped); counts a change in *changed.
 * Done as the slot is found, while it is in cache.
 */
static inline void resolve(const relabel_slot *e, u32 i, const u32 *starts, const u32 *label_ends, u32 *new_hashes,
                           u32 *sizes, u32 *changed) {
  new_hashes[i] = e->new_hash;
  u32 kind = e->kind - 1u;
  if (kind == RELABEL_DROP) {
    sizes[i] = 0;
  } else if (kind == RELABEL_KEEP) {
    sizes[i] = starts[i + 1] - starts[i];
  } else {
    u32 inner = e->out_len + (starts[i + 1] - label_ends[i]);
    sizes[i] = 1 + varint_size(inner) + inner;
    (*changed)++;
  }
}

/*
 * Looks up the n scanned series of body (label_ends: the scan's): keys[2i..2i+1] = its key,
 * slot_of[i] = its slot, and its new_hashes[i], sizes[i] (see resolve); or slot_of[i] = -1, and i
 * is appended to misses (resolved by relabel_resolve once inserted). *changed counts the hits
 * whose labels change. Returns the misses.
 */
__attribute__((export_name("relabel_lookup"))) u32 relabel_lookup(relabel_cache *c, const u8 *body, const u32 *starts,
                                                                  const u32 *label_ends, u32 n, u64 *keys,
                                                                  int *slot_of, u32 *misses, u32 *new_hashes,
                                                                  u32 *sizes, u32 *changed) {
  /* Every key first, then a read of every first slot in a loop of a few instructions: the reads
   * do not depend on one another, so the CPU has many in flight at once (a read after each key
   * waited for its line alone: the hashing fills the reorder window), and the probes below find
   * their lines in cache. */
  for (u32 i = 0; i < n; i++) {
    u32 from = labels_start(body, starts[i]);
    relabel_key(body + from, label_ends[i] - from, c->seed, keys + 2 * i);
  }
  u32 sink = 0;
  for (u32 i = 0; i < n; i++) sink += c->slots[first_slot(c, keys + 2 * i)].kind;
  c->sink = sink;
  u32 missed = 0;
  *changed = 0;
  for (u32 i = 0; i < n; i++) {
    u32 slot;
    int s = find_slot(c, keys + 2 * i, &slot);
    slot_of[i] = s;
    if (s < 0)
      misses[missed++] = i;
    else
      resolve(&c->slots[s], i, starts, label_ends, new_hashes, sizes, changed);
  }
  return missed;
}

/* Bytes of the label field at p (tag, length varint, body). */
static inline u32 field_length(const u8 *p, const u8 *end) {
  const u8 *next;
  u32 l = read_length(p + 1, end, &next);
  return (u32)(next - p) + l;
}

static inline void put16(u8 *p, u32 v) {
  u16 w = (u16)v;
  __builtin_memcpy(p, &w, 2);
}

static inline u32 get16(const u8 *p) {
  u16 w;
  __builtin_memcpy(&w, p, 2);
  return w;
}

static inline void put32(u8 *p, u32 v) { __builtin_memcpy(p, &v, 4); }

/*
 * A piece of the relabel gather: up to 32 bytes (a label field, a sample) as four 8-byte moves,
 * longer ones with memory.copy (what gather_groups' loop compiles to). Against copy_words, a
 * gather of bench/relay's series (one body in cache, in-process): 67 -> 63-65 ns per series,
 * against ~30 for gather_groups; most of the difference is in following a changed series' pieces,
 * not in the copies (32 bytes for every piece, whatever its length: still ~57). May write up to
 * 31 bytes past dst + len and read as far past src: the caller leaves that room.
 */
static inline void copy_piece(u8 *dst, const u8 *src, u32 len) {
  if (len > 32) {
    __builtin_memcpy(dst, src, len);
    return;
  }
  u64 a, b, c, d;
  __builtin_memcpy(&a, src, 8);
  __builtin_memcpy(&b, src + 8, 8);
  __builtin_memcpy(&c, src + 16, 8);
  __builtin_memcpy(&d, src + 24, 8);
  __builtin_memcpy(dst, &a, 8);
  __builtin_memcpy(dst + 8, &b, 8);
  __builtin_memcpy(dst + 16, &c, 8);
  __builtin_memcpy(dst + 24, &d, 8);
}

#define MAX_PIECES 256
#define LITERAL_PIECE 0x80000000u
#define INLINE_LITERAL 0x8000u

/*
 * Stores a changed series' new label fields out[0, out_len) in slot e as pieces: runs of its
 * received label fields (the key: copied from the body at gather time, where they were just
 * hashed) and literal bytes. For a labeldrop and an added label that is 4 pieces: in the slot
 * when they fit (FORM_INLINE), else in the arena as 8-byte pieces (u32 offset, u32 length; the
 * length's top bit marks a literal, offset in the arena, against a run, offset in the key).
 * Fields are sorted by name in both, so a kept field is found forward of the last one found.
 * Returns 0 when the arena has no room.
 */
static int add_pieces(relabel_cache *c, relabel_slot *e, const u8 *key, u32 key_len, const u8 *out, u32 out_len) {
  /* off: in the key for a run, in out for a literal (moved to the arena below if need be). */
  u32 off[MAX_PIECES], len[MAX_PIECES];
  u32 n = 0;
  u32 literal_bytes = 0;
  const u8 *k = key;
  const u8 *kend = key + key_len;
  const u8 *o = out;
  const u8 *oend = out + out_len;
  int whole = 0;
  while (o < oend) {
    u32 fl = field_length(o, oend);
    const u8 *q = k;
    const u8 *match = 0;
    while (q < kend) {
      u32 ql = field_length(q, kend);
      if (ql == fl && bytes_equal(q, o, fl)) {
        match = q;
        break;
      }
      q += ql;
    }
    /* A run of the key where the field was kept, else a literal of out; either extends the last
     * piece when it is of the same kind and ends where this one starts. */
    u32 at, kind;
    if (match != 0) {
      at = (u32)(match - key);
      kind = 0;
      k = match + fl;
    } else {
      at = (u32)(o - out);
      kind = LITERAL_PIECE;
      literal_bytes += fl;
    }
    if (n > 0 && (len[n - 1] & LITERAL_PIECE) == kind && off[n - 1] + (len[n - 1] & ~LITERAL_PIECE) == at) {
      len[n - 1] += fl;
    } else {
      if (n == MAX_PIECES) {
        whole = 1;
        break;
      }
      off[n] = at;
      len[n++] = fl | kind;
    }
    o += fl;
  }
  if (!whole) {
    /* In the slot: 4 bytes a run, 2 plus its bytes a literal, offsets and lengths below 0x8000. */
    u32 size = 0;
    int fits = 1;
    for (u32 i = 0; i < n && fits; i++) {
      u32 l = len[i] & ~LITERAL_PIECE;
      if (l >= INLINE_LITERAL || off[i] >= INLINE_LITERAL) fits = 0;
      size += (len[i] & LITERAL_PIECE) ? 2 + l : 4;
    }
    if (fits && size <= INLINE_BYTES) {
      u8 *d = e->data;
      for (u32 i = 0; i < n; i++) {
        u32 l = len[i] & ~LITERAL_PIECE;
        if (len[i] & LITERAL_PIECE) {
          put16(d, INLINE_LITERAL | l);
          __builtin_memcpy(d + 2, out + off[i], l);
          d += 2 + l;
        } else {
          put16(d, off[i]);
          put16(d + 2, l);
          d += 4;
        }
      }
      e->form = FORM_INLINE;
      e->ops_len = (u8)size;
      return 1;
    }
    if (literal_bytes + 8 * n > c->arena_cap - c->arena_used) return 0;
    for (u32 i = 0; i < n; i++) {
      if ((len[i] & LITERAL_PIECE) == 0) continue;
      u32 l = len[i] & ~LITERAL_PIECE;
      __builtin_memcpy(c->arena + c->arena_used, out + off[i], l);
      off[i] = c->arena_used;
      c->arena_used += l;
    }
    e->form = FORM_ARENA;
    put32(e->data, c->arena_used);
    put32(e->data + 4, n);
    for (u32 i = 0; i < n; i++) {
      put32(c->arena + c->arena_used, off[i]);
      put32(c->arena + c->arena_used + 4, len[i]);
      c->arena_used += 8;
    }
    return 1;
  }
  /* More pieces than the scratch holds: one literal of every new byte. */
  if (8 + out_len > c->arena_cap - c->arena_used) return 0;
  e->form = FORM_ARENA;
  put32(e->data, c->arena_used);
  put32(e->data + 4, 1);
  put32(c->arena + c->arena_used, c->arena_used + 8);
  put32(c->arena + c->arena_used + 4, out_len | LITERAL_PIECE);
  __builtin_memcpy(c->arena + c->arena_used + 8, out, out_len);
  c->arena_used += 8 + out_len;
  return 1;
}

/*
 * Adds the outcome of the series whose key (relabel_lookup's) is key and whose received label
 * fields are labels[0, len) (scan hash `hash`): kind, and for RELABEL_CHANGED the new label fields
 * out[0, out_len). Returns its slot (an existing one when the key is there already: a body may
 * repeat a series), or -1 when the cache is full (the caller empties it between bodies, never
 * during one: slots of the body being rewritten must stay).
 */
__attribute__((export_name("relabel_insert"))) int relabel_insert(relabel_cache *c, const u64 *key, const u8 *labels,
                                                                  u32 len, u32 hash, u32 kind, const u8 *out,
                                                                  u32 out_len) {
  u32 slot;
  int found = find_slot(c, key, &slot);
  if (found >= 0) return found;
  if (c->entries >= c->entry_cap) return -1;
  relabel_slot *e = &c->slots[slot];
  e->new_hash = hash;
  e->out_len = 0;
  e->form = FORM_INLINE;
  e->ops_len = 0;
  if (kind == RELABEL_CHANGED) {
    if (!add_pieces(c, e, labels, len, out, out_len)) return -1;
    e->out_len = out_len;
    e->new_hash = hash_label_fields(out, out + out_len);
  }
  e->key[0] = key[0];
  e->key[1] = key[1];
  e->kind = (u8)(kind + 1);
  c->entries++;
  return (int)slot;
}

/*
 * Forgets every outcome. Writes the slots in use and no others: the slots reserved past
 * slot_mask were never written (fresh pages, zero), and writing them would make them resident.
 * Returns the bytes it wrote (for the tests).
 */
__attribute__((export_name("relabel_clear"))) u32 relabel_clear(relabel_cache *c) {
  u32 bytes = (c->slot_mask + 1) * (u32)sizeof(relabel_slot);
  __builtin_memset(c->slots, 0, bytes);
  c->entries = 0;
  c->arena_used = 0;
  return bytes;
}

/*
 * Forgets every outcome, then doubles the slots in use (slot_mask), the entries they may hold
 * (half of them) and the arena's usable part, within what was reserved (max_mask, arena_max):
 * for a working set of series the cache cannot hold, where clearing alone would miss on every
 * series forever (src/relay/ingest-relabel.ts decides when). The new slots are still zero, as
 * reserved. Returns 0 when the slots were at their maximum already (then it only clears).
 */
__attribute__((export_name("relabel_grow"))) u32 relabel_grow(relabel_cache *c) {
  relabel_clear(c);
  if (c->slot_mask >= c->max_mask) return 0;
  c->slot_mask = 2 * c->slot_mask + 1;
  c->entry_cap = (c->slot_mask + 1) >> 1;
  c->arena_cap = c->arena_cap > c->arena_max / 2 ? c->arena_max : 2 * c->arena_cap;
  return 1;
}

/* relabel_lookup's resolve for the m series it missed (misses), once each is inserted (slot_of). */
__attribute__((export_name("relabel_resolve"))) void relabel_resolve(const relabel_cache *c, const u32 *starts,
                                                                    const u32 *label_ends, const int *slot_of,
                                                                    const u32 *misses, u32 m, u32 *new_hashes,
                                                                    u32 *sizes, u32 *changed) {
  for (u32 j = 0; j < m; j++) {
    u32 i = misses[j];
    resolve(&c->slots[slot_of[i]], i, starts, label_ends, new_hashes, sizes, changed);
  }
}

/*
 * After every series was resolved (sizes[i] 0: dropped): per dropped series d, in order,
 * dropped_hashes[d] (its received labels' hash: its virtual shard) and dropped_counts[d].
 * result[0] = kept series, result[1] = dropped series, result[2] = kept samples; returns the
 * bytes the kept series take.
 */
__attribute__((export_name("relabel_plan"))) u32 relabel_plan(const u32 *hashes, const u32 *counts, const u32 *sizes,
                                                              u32 n, u32 *dropped_hashes, u32 *dropped_counts,
                                                              u32 *result) {
  u32 size = 0, kept = 0, dropped = 0, samples = 0;
  for (u32 i = 0; i < n; i++) {
    if (sizes[i] == 0) {
      dropped_hashes[dropped] = hashes[i];
      dropped_counts[dropped++] = counts[i];
      continue;
    }
    kept++;
    samples += counts[i];
    size += sizes[i];
  }
  result[0] = kept;
  result[1] = dropped;
  result[2] = samples;
  return size;
}

/*
 * The groups of a relabeled (or merged) body: the series whose sizes[i] is not 0 go to group
 * (new_hashes[i] & 0xff) % g in their order of arrival; order[j] is the series at position j,
 * series_end[k] and byte_end[k] where group k ends (series, bytes of sizes). cursor: g entries.
 */
static void order_groups(const u32 *new_hashes, const u32 *sizes, u32 n, u32 g, u32 *order, u32 *series_end,
                         u32 *byte_end, u32 *cursor) {
  for (u32 k = 0; k < g; k++) {
    series_end[k] = 0;
    byte_end[k] = 0;
  }
  for (u32 i = 0; i < n; i++) {
    if (sizes[i] == 0) continue;
    u32 k = (new_hashes[i] & 0xff) % g;
    series_end[k]++;
    byte_end[k] += sizes[i];
  }
  for (u32 k = 1; k < g; k++) {
    series_end[k] += series_end[k - 1];
    byte_end[k] += byte_end[k - 1];
  }
  cursor[0] = 0;
  for (u32 k = 1; k < g; k++) cursor[k] = series_end[k - 1];
  for (u32 i = 0; i < n; i++) {
    if (sizes[i] == 0) continue;
    order[cursor[(new_hashes[i] & 0xff) % g]++] = i;
  }
}

/*
 * gather_groups for a relabeled body: the series relabel_plan kept go to group
 * (new_hashes[i] & 0xff) % g, in their order of arrival, each as received or, when its labels
 * changed, as its new label fields followed by its sample bytes as received. Writes
 * order/series_end/byte_end as gather_groups does (order holds kept series only). Writes up to 7
 * bytes past the output's end (copy_words): the caller leaves that room.
 */
__attribute__((export_name("relabel_gather"))) void relabel_gather(const relabel_cache *c, const u8 *body,
                                                                  const u32 *starts, const u32 *label_ends,
                                                                  const int *slot_of, const u32 *new_hashes,
                                                                  const u32 *sizes, u32 n, u32 g, u32 *order,
                                                                  u32 *series_end, u32 *byte_end, u32 *cursor,
                                                                  u8 *out) {
  order_groups(new_hashes, sizes, n, g, order, series_end, byte_end, cursor);
  u8 *o = out;
  for (u32 j = 0; j < (g == 0 ? 0 : series_end[g - 1]); j++) {
    u32 i = order[j];
    const relabel_slot *e = &c->slots[slot_of[i]];
    if (e->kind - 1u == RELABEL_KEEP) {
      u32 len = starts[i + 1] - starts[i];
      copy_piece(o, body + starts[i], len);
      o += len;
      continue;
    }
    u32 samples_len = starts[i + 1] - label_ends[i];
    *o++ = 0x0a;
    o = write_varint(o, e->out_len + samples_len);
    /* The runs are of the series' own label fields: equal to the key's. */
    const u8 *key = body + labels_start(body, starts[i]);
    if (e->form == FORM_INLINE) {
      const u8 *d = e->data;
      const u8 *dend = d + e->ops_len;
      while (d < dend) {
        u32 x = get16(d);
        u32 l;
        if (x & INLINE_LITERAL) {
          l = x & ~INLINE_LITERAL;
          copy_piece(o, d + 2, l);
          d += 2 + l;
        } else {
          l = get16(d + 2);
          copy_piece(o, key + x, l);
          d += 4;
        }
        o += l;
      }
    } else {
      u32 pieces_at, pieces;
      __builtin_memcpy(&pieces_at, e->data, 4);
      __builtin_memcpy(&pieces, e->data + 4, 4);
      const u8 *piece = c->arena + pieces_at;
      for (u32 p = 0; p < pieces; p++, piece += 8) {
        u32 at, l;
        __builtin_memcpy(&at, piece, 4);
        __builtin_memcpy(&l, piece + 4, 4);
        if (l & LITERAL_PIECE) {
          l &= ~LITERAL_PIECE;
          copy_piece(o, c->arena + at, l);
        } else {
          copy_piece(o, key + at, l);
        }
        o += l;
      }
    }
    copy_piece(o, body + label_ends[i], samples_len);
    o += samples_len;
  }
}

/*
 * External labels merged without write relabel rules (src/relay/ingest-relabel.ts decides when):
 * no cache, no engine, no key. A series' outcome is then a pure function of its label names: each
 * external label goes in at its sorted place (names compared as bytes, the order the scan checked
 * the series' labels in), unless the series has a label of that name (its own value stays). So
 * the scan itself (scan_merge) finds, per series, where each external label goes, and hashes the
 * merged label fields as it hashes the received ones: a second FNV chain beside the first, which
 * takes the external label's field at its place. Hashing them again after the scan cost as much
 * as the cache's route saved (bench/relay's series, in-process, scan + record with 16 groups:
 * 0.67-0.68 CPU s/1M against 0.70 through the cache and 0.44 without external labels; the
 * second chain in the scan: 0.55). The gather then copies the series' label fields up to there,
 * the external label's field (encoded once, by ingest-relabel.ts, as writeLabelFields encodes
 * it), the rest and the sample bytes (merge_external_gather).
 *
 * The series' new length varint and its new hash (hash version 2 over the new label fields, as
 * relabel_insert computes a changed series' new_hash: its virtual shard) are what the cache's route
 * gives it, and so are its bytes: a series the merge leaves alone is copied as received (the
 * cache's RELABEL_KEEP), a changed one is its label fields as received, which an encoder writes
 * as writeLabelFields does unless a length varint is longer than needed (such a body goes to the
 * cache's route, which writes the fields anew; as does one whose new label fields the cache's
 * route could not stage, which it then stores unrelabeled).
 */

/*
 * relabel_gather for a body scan_merge planned (at, new_hashes, sizes; the same groups and order): a
 * series the merge leaves alone as received, a changed one as 0x0a, its new length, its label
 * fields with the external labels' fields in their places, and its sample bytes as received.
 * Writes up to 31 bytes past the output's end and reads as far past the body's and ext's
 * (copy_piece): the caller leaves that room. ext, ext_table, e: scan_merge's (merge_spec).
 */
__attribute__((export_name("merge_external_gather"))) void merge_external_gather(
    const u8 *body, const u32 *starts, const u8 *ext, const u32 *ext_table, u32 e, const u32 *at,
    const u32 *new_hashes, const u32 *sizes, u32 n, u32 g, u32 *order, u32 *series_end,
    u32 *byte_end, u32 *cursor, u8 *out) {
  order_groups(new_hashes, sizes, n, g, order, series_end, byte_end, cursor);
  u8 *o = out;
  for (u32 j = 0; j < (g == 0 ? 0 : series_end[g - 1]); j++) {
    u32 i = order[j];
    const u32 *a = at + i * e;
    u32 added = 0;
    for (u32 k = 0; k < e; k++)
      if (a[k] != MERGE_NOT_INSERTED) added += ext_table[4 * k + 1];
    if (added == 0) {
      u32 len = starts[i + 1] - starts[i];
      copy_piece(o, body + starts[i], len);
      o += len;
      continue;
    }
    const u8 *labels = body + labels_start(body, starts[i]);
    const u8 *series_end_at = body + starts[i + 1];
    *o++ = 0x0a;
    o = write_varint(o, (u32)(series_end_at - labels) + added);
    u32 prev = 0;
    for (u32 k = 0; k < e; k++) {
      if (a[k] == MERGE_NOT_INSERTED) continue;
      u32 l = a[k] - prev;
      copy_piece(o, labels + prev, l);
      o += l;
      l = ext_table[4 * k + 1];
      copy_piece(o, ext + ext_table[4 * k], l);
      o += l;
      prev = a[k];
    }
    /* The label fields after the last external label and the sample bytes: one run of the body. */
    u32 l = (u32)(series_end_at - labels) - prev;
    copy_piece(o, labels + prev, l);
    o += l;
  }
}

/*
 * Write relabel rules planned by label name, no cache (src/relay/name-rule-plan.ts decides when:
 * labeldrop, labelkeep, replace without source labels, keep/drop on one label). After the
 * external labels are merged, such rules decide each label by its name alone (kept, dropped, or
 * replaced by a constant), add constants, and drop a series by one label's value: so the scan
 * (scan_plan) plans each series as it reads it, as scan_merge does for external labels alone:
 * the constants go in at their sorted places (external labels yielding to a series' own label,
 * rules' constants replacing it), each label is kept or skipped by its name's decision (a table
 * by name bytes, filled from the relabel engine on a miss, and a memo per label index), a
 * filter's label value is looked up in a second table, and the output labels' hash (version 2)
 * is forked from the scan's chain at the first change (plan_series, a pass over the series'
 * labels right after the scan read them). No per-series key, no slot in a 16 MiB table (the
 * cache's route: SipHash of ~221 label bytes, a slot read that misses the CPU caches in the
 * daemon, the gather by pieces). Its record is the cache's route's, byte for byte
 * (test/relay/name-rule-plan.test.ts). In-process on bench/relay's bodies, CPU ns per series
 * over the plain scan + gather (bench/relabel-name-plan.ts, medians of 15 alternated rounds):
 * the plan +189, the cache +200; what is left is the pass (~30 for its loop, ~20 the `__name__`
 * value's lookup), hashing the output from the first change (~35: hash version 2 is a
 * byte-serial chain over names) and the gather of changed series (~20).
 *
 * plan_gather: merge_external_gather with skipped label fields: a changed series is 0x0a, its new
 * length, its label fields with the constants' fields in their places and the skipped ranges left
 * out, then its sample bytes as received. Reads and writes past the ends as
 * merge_external_gather does.
 */
__attribute__((export_name("plan_gather"))) void plan_gather(const u8 *body, const u32 *starts, const u8 *ext,
                                                            const u32 *ext_table, u32 e, const u32 *at,
                                                            const u32 *skips, const u32 *skip_start,
                                                            const u32 *new_hashes, const u32 *sizes, u32 n, u32 g,
                                                            u32 *order, u32 *series_end, u32 *byte_end, u32 *cursor,
                                                            u8 *out) {
  order_groups(new_hashes, sizes, n, g, order, series_end, byte_end, cursor);
  u8 *o = out;
  for (u32 j = 0; j < (g == 0 ? 0 : series_end[g - 1]); j++) {
    u32 i = order[j];
    const u32 *a = at + i * e;
    const u32 *r = skips + 2 * skip_start[i];
    const u32 *rend = skips + 2 * skip_start[i + 1];
    u32 added = 0;
    for (u32 k = 0; k < e; k++)
      if (a[k] != MERGE_NOT_INSERTED) added += ext_table[4 * k + 1];
    if (added == 0 && r == rend) {
      u32 len = starts[i + 1] - starts[i];
      copy_piece(o, body + starts[i], len);
      o += len;
      continue;
    }
    u32 skipped = 0;
    for (const u32 *x = r; x < rend; x += 2) skipped += x[1] - x[0];
    const u8 *labels = body + labels_start(body, starts[i]);
    const u8 *series_end_at = body + starts[i + 1];
    *o++ = 0x0a;
    o = write_varint(o, (u32)(series_end_at - labels) + added - skipped);
    u32 prev = 0;
    u32 k = 0;
    for (;;) {
      while (k < e && a[k] == MERGE_NOT_INSERTED) k++;
      u32 insert_at = k < e ? a[k] : MERGE_NOT_INSERTED;
      u32 skip_at = r < rend ? r[0] : MERGE_NOT_INSERTED;
      if (insert_at == MERGE_NOT_INSERTED && skip_at == MERGE_NOT_INSERTED) break;
      /* A constant goes before the label at its offset (it sorts first, or replaces that label);
       * at an offset within a skipped range (it replaces a label skipped with the ones before it),
       * after the labels before that range. */
      if (insert_at <= skip_at) {
        if (insert_at > prev) {
          u32 l = insert_at - prev;
          copy_piece(o, labels + prev, l);
          o += l;
          prev = insert_at;
        }
        u32 l = ext_table[4 * k + 1];
        copy_piece(o, ext + ext_table[4 * k], l);
        o += l;
        k++;
      } else {
        u32 l = skip_at - prev;
        copy_piece(o, labels + prev, l);
        o += l;
        prev = r[1];
        r += 2;
      }
    }
    /* The label fields after the last change and the sample bytes: one run of the body. */
    u32 l = (u32)(series_end_at - labels) - prev;
    copy_piece(o, labels + prev, l);
    o += l;
  }
}
