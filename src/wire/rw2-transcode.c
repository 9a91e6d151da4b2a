/*
 * The relay's remote-write 2.0 send path in C, compiled to WebAssembly (scripts/build-wasm.mjs):
 * from the stored groups of kind-2 records (1.0 `TimeSeries` bytes, snappy-compressed) to the
 * bytes of an `io.prometheus.write.v2.Request`, byte for byte what rw2-encoder.ts writes for the
 * same slices (test/wire/rw2-transcode-wasm.test.ts compares them).
 *
 * Why C: with 2.0 out, the relay spent ~3x the CPU of 1.0 out, most of it per series in the JS
 * encoder (the relayed-label cache's hash, probe and native compare, the symbol lookups, the
 * refs' varints) and in finding each stored series' fields. Here a series seen before costs a
 * 128-bit hash of its label bytes (just uncompressed, in cache), one probe and one generation
 * check per label.
 *
 * Kept across requests (none of it visible on the wire, as in rw2-encoder.ts):
 * - a string dictionary: each string's `symbols` field encoded once, under a slot; symbols are
 *   numbered per request on first use (a slot's generation says whether it has one yet);
 * - a series cache: a series' received label bytes (by their 128-bit hash) -> its labels merged
 *   with the external ones: their names as a shape (a list of name slots shared by the series
 *   that have those names) and their values' slots, one cache line for up to 11 labels; the
 *   metadata entry a name picks is kept per name slot;
 * - record bodies, uncompressed once into memory the caller lays out (rw2-transcode-wasm.ts).
 *
 * No libc: freestanding. Memory is taken with a bump allocator over memory.grow; tables grow by
 * doubling and the old copy is not reused (at most as much again as the final size).
 */
#include <stdint.h>

#include "wasm-varint.h"

typedef uint8_t u8;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint64_t u64;

extern u8 __heap_base;

u32 snappy_uncompress(const u8 *src, u32 src_len, u8 *dst, u32 dst_len);

/* ---- memory ---- */

static u32 brk;

/*
 * `size` bytes, 8-aligned, never freed. Traps when memory cannot grow (past 4 GiB or the engine's
 * limit): the caller catches that and stops using the module, rather than every table here
 * checking for a failed allocation.
 */
__attribute__((export_name("tc_alloc"))) u8 *tc_alloc(u32 size) {
  if (brk == 0) brk = ((u32)(uintptr_t)&__heap_base + 7) & ~7u;
  u32 at = brk;
  u64 end64 = ((u64)at + size + 7) & ~(u64)7;
  if (end64 > 0xffff0000u) __builtin_trap();
  u32 end = (u32)end64;
  u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    u32 pages = (end - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (__SIZE_TYPE__)-1) __builtin_trap();
  }
  brk = end;
  return (u8 *)(uintptr_t)at;
}

static inline u64 load64(const u8 *p) {
  u64 w;
  __builtin_memcpy(&w, p, 8);
  return w;
}
static inline u32 load32(const u8 *p) {
  u32 w;
  __builtin_memcpy(&w, p, 4);
  return w;
}

static int same_bytes(const u8 *a, const u8 *b, u32 n) {
  u32 i = 0;
  for (; i + 8 <= n; i += 8)
    if (load64(a + i) != load64(b + i)) return 0;
  for (; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/*
 * Copies n bytes of short runs (symbols, a series' samples): a word loop. __builtin_memcpy of a
 * variable length becomes memory.copy, which V8 runs as a call out of the module: ~3 per series.
 * no_builtin keeps clang from turning this loop back into one.
 */
__attribute__((no_builtin("memcpy"), always_inline)) static inline void copy_short(u8 *d, const u8 *s, u32 n) {
  if (n > 64) {
    __builtin_memcpy(d, s, n);
    return;
  }
  u32 i = 0;
  for (; i + 8 <= n; i += 8) {
    u64 w = load64(s + i);
    __builtin_memcpy(d + i, &w, 8);
  }
  for (; i < n; i++) d[i] = s[i];
}

/* Grows an array of `*cap` elements of `size` bytes to at least `need` (doubling). 0 on failure. */
static void *grow(void *old, u32 used_bytes, u32 *cap, u32 need, u32 size) {
  u32 n = *cap == 0 ? 16 : *cap;
  while (n < need) n *= 2;
  u8 *p = tc_alloc(n * size);
  if (p == 0) return 0;
  if (old != 0 && used_bytes > 0) __builtin_memcpy(p, old, used_bytes);
  *cap = n;
  return p;
}

static inline u32 varint_size(u32 v) { return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5; }

static inline u8 *put_varint(u8 *p, u32 v) {
  while (v > 0x7f) {
    *p++ = (u8)(v | 0x80);
    v >>= 7;
  }
  *p++ = (u8)v;
  return p;
}

static inline u8 *put_varint64(u8 *p, u64 v) {
  while (v > 0x7f) {
    *p++ = (u8)(v | 0x80);
    v >>= 7;
  }
  *p++ = (u8)v;
  return p;
}

static inline u32 varint64_size(u64 v) {
  u32 n = 1;
  while (v > 0x7f) {
    v >>= 7;
    n++;
  }
  return n;
}



/* Hash of a string's bytes for the dictionary (any spread will do: entries are compared). */
static u32 hash_bytes(const u8 *p, u32 n) {
  u32 h = 0x9747b28cu ^ n;
  u32 i = 0;
  for (; i + 4 <= n; i += 4) {
    u32 k = load32(p + i) * 0xcc9e2d51u;
    k = (k << 15) | (k >> 17);
    h ^= k * 0x1b873593u;
    h = ((h << 13) | (h >> 19)) * 5 + 0xe6546b64u;
  }
  u32 k = 0;
  for (u32 s = 0; i < n; i++, s += 8) k |= (u32)p[i] << s;
  h ^= k * 0xcc9e2d51u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

/* ---- the string dictionary (symbol-table.ts) ---- */

typedef struct {
  u32 gen; /* request generation its symbol belongs to */
  u32 sym;
} slot_use;

typedef struct {
  u32 hash;
  u32 at;   /* its encoded `symbols` field in the arena */
  u32 wire; /* that field's length */
  u32 len;  /* the string's bytes */
} slot_info;

static slot_use *use;
static slot_info *info;
/* Per slot, as a series' `__name__` value: its metadata entry (-1: none) as of generation `gen`. */
typedef struct {
  u32 gen;
  i32 meta;
} slot_meta;
static slot_meta *name_meta;
static u32 slots, slot_cap;
static u32 *dict; /* open addressing: slot + 1, 0 = empty; at most half full */
static u32 dict_mask;
static u8 *arena;
static u32 arena_used, arena_cap;
static u32 gen, epoch;
static u32 max_slots = 1u << 18;
static u32 max_arena = 64u << 20;
/* The request's symbols: their slots in symbol order, and their fields' bytes. */
static u32 *sym_slots;
static u32 sym_count, sym_cap, sym_wire;

static u32 dict_insert_new(const u8 *p, u32 n, u32 h);

/* slot_of's answer when the dictionary is full (see dict_reserve). */
#define NO_SLOT 0xffffffffu
static int dict_full;

/*
 * Takes the slot arrays and the arena once, for the bounds plus room for one request past them
 * (the dictionary is forgotten only between requests): pages are touched only as they fill, and
 * nothing is copied as it grows.
 */
static void dict_reserve(void) {
  u32 more_slots = max_slots / 2 > (1u << 16) ? max_slots / 2 : (1u << 16);
  u32 more_bytes = max_arena / 2 > (16u << 20) ? max_arena / 2 : (16u << 20);
  slot_cap = max_slots + more_slots;
  arena_cap = max_arena + more_bytes;
  info = (slot_info *)tc_alloc(slot_cap * sizeof(slot_info));
  use = (slot_use *)tc_alloc(slot_cap * sizeof(slot_use));
  name_meta = (slot_meta *)tc_alloc(slot_cap * sizeof(slot_meta));
  arena = tc_alloc(arena_cap);
  dict = (u32 *)tc_alloc(4096 * 4);
  __builtin_memset(dict, 0, 4096 * 4);
  dict_mask = 4095;
}

static void dict_forget(void) {
  __builtin_memset(dict, 0, (dict_mask + 1) * 4);
  slots = 0;
  arena_used = 0;
  dict_full = 0;
  epoch++;
}

/* The slot of the string p[0, n), entered on first sight. */
static u32 slot_of(const u8 *p, u32 n) {
  u32 h = hash_bytes(p, n);
  for (u32 i = h & dict_mask;; i = (i + 1) & dict_mask) {
    u32 e = dict[i];
    if (e == 0) break;
    slot_info *s = &info[e - 1];
    if (s->hash != h || s->len != n) continue;
    if (same_bytes(arena + s->at + s->wire - n, p, n)) return e - 1;
  }
  return dict_insert_new(p, n, h);
}

static u32 dict_insert_new(const u8 *p, u32 n, u32 h) {
  if (2 * (slots + 1) > dict_mask + 1) {
    u32 cap = (dict_mask + 1) * 2;
    u32 *grown = (u32 *)tc_alloc(cap * 4);
    __builtin_memset(grown, 0, cap * 4);
    u32 mask = cap - 1;
    for (u32 s = 0; s < slots; s++) {
      u32 j = info[s].hash & mask;
      while (grown[j] != 0) j = (j + 1) & mask;
      grown[j] = s + 1;
    }
    dict = grown;
    dict_mask = mask;
  }
  if (slots + 1 > slot_cap || arena_used + 1 + varint_size(n) + n > arena_cap) {
    /* Past the room taken for them: this request goes to the 2.0 encoder, and the next starts over. */
    dict_full = 1;
    return NO_SLOT;
  }
  u32 wire = 1 + varint_size(n) + n;
  u32 slot = slots++;
  slot_info *s = &info[slot];
  s->hash = h;
  s->at = arena_used;
  s->wire = wire;
  s->len = n;
  use[slot].gen = 0;
  name_meta[slot].gen = 0;
  u8 *q = arena + arena_used;
  *q++ = 0x22; /* Request.symbols = 4 */
  q = put_varint(q, n);
  __builtin_memcpy(q, p, n);
  arena_used += wire;
  u32 mask = dict_mask;
  u32 i = h & mask;
  while (dict[i] != 0) i = (i + 1) & mask;
  dict[i] = slot + 1;
  return slot;
}

/* The request's symbol of `slot`, added on first use in this request. */
static inline u32 sym_of(u32 slot) {
  slot_use *u = &use[slot];
  if (u->gen == gen) return u->sym;
  if (sym_count + 1 > sym_cap) sym_slots = (u32 *)grow(sym_slots, sym_count * 4, &sym_cap, sym_count + 1, 4);
  u32 sym = sym_count++;
  sym_slots[sym] = slot;
  sym_wire += info[slot].wire;
  u->gen = gen;
  u->sym = sym;
  return sym;
}

/* ---- external labels, sorted by name bytes ---- */

static u32 ext_count;
static u8 *ext_bytes;  /* names and values, as given */
static u32 *ext_desc;  /* per label: name offset, name length, value offset, value length */
static u32 *ext_slot;  /* per label: name slot, value slot (valid in epoch ext_epoch) */
static u32 ext_epoch = 0xffffffffu;

/*
 * Sets the external labels: `count` labels described by `desc` (name offset, name length, value
 * offset, value length into `bytes`), sorted by name bytes, none empty. Copied.
 */
__attribute__((export_name("tc_set_external"))) u32 tc_set_external(const u8 *bytes, u32 bytes_len, const u32 *desc,
                                                                    u32 count) {
  ext_bytes = tc_alloc(bytes_len + 1);
  ext_desc = (u32 *)tc_alloc(16 * count + 4);
  ext_slot = (u32 *)tc_alloc(8 * count + 4);
  if (ext_bytes == 0 || ext_desc == 0 || ext_slot == 0) return 0;
  __builtin_memcpy(ext_bytes, bytes, bytes_len);
  __builtin_memcpy(ext_desc, desc, 16 * count);
  ext_count = count;
  ext_epoch = 0xffffffffu;
  return 1;
}

static int compare_bytes(const u8 *a, u32 an, const u8 *b, u32 bn) {
  u32 n = an < bn ? an : bn;
  for (u32 i = 0; i < n; i++)
    if (a[i] != b[i]) return (int)a[i] - (int)b[i];
  return (int)an - (int)bn;
}

/* ---- metadata by family name ---- */

typedef struct {
  u32 name_at, name_len, name_hash;
  u32 type;   /* protobuf number, 0 = unknown */
  u32 family; /* histogram, gaugehistogram or summary: matches names with _bucket, _sum, _count */
  u32 help_at, help_len, unit_at, unit_len;
  u32 help_slot, unit_slot, slot_epoch;
} meta_entry;

static meta_entry *metas;
static u32 meta_count, meta_cap;
static u8 *meta_bytes;
static u32 meta_bytes_used, meta_bytes_cap;
static u32 *meta_table;
static u32 meta_mask;
/* Bumped when the entries change: cached series pick their entry again. */
static u32 meta_gen = 1;

/* Forgets the metadata entries. */
__attribute__((export_name("tc_meta_reset"))) void tc_meta_reset(void) {
  meta_count = 0;
  meta_bytes_used = 0;
  if (meta_table != 0) __builtin_memset(meta_table, 0, (meta_mask + 1) * 4);
  meta_gen++;
}

static i32 meta_find(const u8 *p, u32 n) {
  if (meta_count == 0) return -1;
  u32 h = hash_bytes(p, n);
  for (u32 i = h & meta_mask;; i = (i + 1) & meta_mask) {
    u32 e = meta_table[i];
    if (e == 0) return -1;
    meta_entry *m = &metas[e - 1];
    if (m->name_hash == h && m->name_len == n && same_bytes(meta_bytes + m->name_at, p, n)) return (i32)(e - 1);
  }
}

/*
 * Adds an entry: the strings are `bytes[0, name_len)`, then help, then unit. An entry for a name
 * already added is ignored (the first of a name wins, as rw2-encoder.ts keeps it). 0 on failure.
 */
__attribute__((export_name("tc_meta_add"))) u32 tc_meta_add(const u8 *bytes, u32 name_len, u32 help_len, u32 unit_len,
                                                            u32 type, u32 family) {
  if (meta_find(bytes, name_len) >= 0) return 1;
  u32 total = name_len + help_len + unit_len;
  if (meta_bytes_used + total > meta_bytes_cap)
    meta_bytes = (u8 *)grow(meta_bytes, meta_bytes_used, &meta_bytes_cap, meta_bytes_used + total, 1);
  if (meta_count + 1 > meta_cap) metas = (meta_entry *)grow(metas, meta_count * sizeof(meta_entry), &meta_cap, meta_count + 1, sizeof(meta_entry));
  if (meta_bytes == 0 || metas == 0) return 0;
  if (2 * (meta_count + 1) > meta_mask + 1) {
    u32 cap = meta_mask == 0 ? 64 : (meta_mask + 1) * 2;
    while (2 * (meta_count + 1) > cap) cap *= 2;
    u32 *t = (u32 *)tc_alloc(cap * 4);
    if (t == 0) return 0;
    __builtin_memset(t, 0, cap * 4);
    for (u32 k = 0; k < meta_count; k++) {
      u32 j = metas[k].name_hash & (cap - 1);
      while (t[j] != 0) j = (j + 1) & (cap - 1);
      t[j] = k + 1;
    }
    meta_table = t;
    meta_mask = cap - 1;
  }
  __builtin_memcpy(meta_bytes + meta_bytes_used, bytes, total);
  meta_entry *m = &metas[meta_count];
  m->name_at = meta_bytes_used;
  m->name_len = name_len;
  m->name_hash = hash_bytes(bytes, name_len);
  m->type = type;
  m->family = family;
  m->help_at = meta_bytes_used + name_len;
  m->help_len = help_len;
  m->unit_at = m->help_at + help_len;
  m->unit_len = unit_len;
  m->slot_epoch = epoch - 1;
  meta_bytes_used += total;
  u32 j = m->name_hash & meta_mask;
  while (meta_table[j] != 0) j = (j + 1) & meta_mask;
  meta_table[j] = ++meta_count;
  return 1;
}

/* The entry for a series named p[0, n) (rw2-encoder.ts's metadataOf), or -1. */
static i32 meta_of_name(const u8 *p, u32 n) {
  if (meta_count == 0 || n == 0) return -1;
  i32 exact = meta_find(p, n);
  if (exact >= 0) return exact;
  static const char *const suffixes[3] = {"_bucket", "_sum", "_count"};
  static const u32 lens[3] = {7, 4, 6};
  for (int k = 0; k < 3; k++) {
    u32 sl = lens[k];
    if (n < sl || !same_bytes(p + n - sl, (const u8 *)suffixes[k], sl)) continue;
    i32 f = meta_find(p, n - sl);
    if (f >= 0 && metas[f].family) return f;
  }
  return -1;
}

/*
 * The metadata entry of a series named by `slot`'s string (meta_of_name), kept per slot: metric
 * names are few and shared, so this is a read of a line in cache, where a copy in every series'
 * entry took 8 of its bytes.
 */
static i32 meta_of_slot(u32 slot) {
  slot_meta *m = &name_meta[slot];
  if (m->gen != meta_gen) {
    slot_info *s = &info[slot];
    m->meta = meta_of_name(arena + s->at + s->wire - s->len, s->len);
    m->gen = meta_gen;
  }
  return m->meta;
}

/* ---- the series cache (label-block-cache.ts) ---- */

/* SipHash-1-3-128 of p[0, len) under seed[0..1] (siphash.c, shared with rw1-raw-scan.c). */
void siphash13_128(const u8 *p, u32 len, const u64 *seed, u64 *out);

/*
 * The cache key's seed, drawn at random by rw2-transcode-wasm.ts when the transcoder is made
 * (tc_seed). A series' label bytes name its cache entry by their SipHash-1-3-128 under it, not by
 * a copy of them: keyed, so a pusher cannot craft a series whose key equals another's and have
 * it sent with that series' labels (MurmurHash3, used before, has seed-independent collisions).
 * Taking SipHash as a pseudo-random function of its seed, a series not in the cache matches one
 * of its n <= 2^20 entries with probability at most n / 2^128 = 2^-108; any two of them collide
 * with probability at most n^2 / 2^129 = 2^-89. The key is hashed from the body just uncompressed
 * (in cache) where comparing a kept copy read ~250 cold bytes per series.
 */
static u64 key_seed[2];

__attribute__((export_name("tc_seed"))) void tc_seed(u32 a, u32 b, u32 c, u32 d) {
  key_seed[0] = (u64)a | (u64)b << 32;
  key_seed[1] = (u64)c | (u64)d << 32;
}

/*
 * Entry words: the key's 128-bit hash (4 words; the first also places it in the table), its
 * shape (word offset), then per label its value's slot. An entry of at most 16 words does not
 * cross a 64-byte line.
 *
 * A shape is a list of label names (as slots) that series share: bench/relay's 100,000 series
 * have one, a real target's series a few (a series whose names no other has pays a shape of its
 * own, 16 + 8 bytes per label). Shape words, in the same region as the entries: hash,
 * labels, request generation of the symbols below, the `__name__` label's index + 1 (0: none),
 * the names' slots, their symbols in that request. The names are numbered once per request per
 * shape instead of once per series, and an entry keeps 4 bytes per label instead of 8 (and no
 * name slot or metadata: meta_of_slot): bench/relay's entry 112 -> 60 bytes, one cache line
 * instead of 2-3, each a miss of its own in the daemon (its loadgen and sink evict the 1 MiB L2;
 * a series' strings, made in the record's order, share dictionary lines with their neighbours).
 * In-process (bench/relay-rw2-path.ts, medians of 11, alternated with the entry of slot pairs):
 * tc_encode 382 -> 341 ns per sample with the caches evicted before each request, 237 -> 224 hot.
 * Tried first and dropped: a series' strings no other series used kept in its entry (numbered
 * per request through a stamp in it), to spare their dictionary lines: 112 -> 140-byte entries,
 * encode 385 -> 440 cold, 336 -> 325 hot.
 */
#define ENTRY_HEADER 5
#define E_SHAPE 4
#define SHAPE_HEADER 4

static u32 *cache_table; /* entry offset (in words) + 1 */
static u32 cache_mask, cache_count;
/* One region of cache_max bytes, taken once: pages are touched (resident) only as it fills. */
static u32 *entries;
static u32 entries_used;
static u32 cache_max = 32u << 20;
static u32 cache_epoch = 0xffffffffu;
static u32 *shape_table; /* shape offset (in words) + 1 */
static u32 shape_mask, shape_count;

/* Times the cache was emptied: entries found before are invalid once it moves. */
static u32 cache_clears;
/* Sum of bytes read only to have their lines in cache (volatile: the reads stay). */
static volatile u32 ring_touch;
/* tc_encode's entry per slice, looked up ahead. */
static u32 **found;
static u32 found_cap;

static void cache_clear(void) {
  if (cache_table != 0) __builtin_memset(cache_table, 0, (cache_mask + 1) * 4);
  if (shape_table != 0) __builtin_memset(shape_table, 0, (shape_mask + 1) * 4);
  cache_count = 0;
  shape_count = 0;
  entries_used = 0;
  cache_clears++;
}

static u32 *cache_find(const u64 key[2]) {
  if (cache_table == 0) return 0;
  u32 h = (u32)key[0];
  for (u32 i = h & cache_mask;; i = (i + 1) & cache_mask) {
    u32 e = cache_table[i];
    if (e == 0) return 0;
    u32 *ent = entries + e - 1;
    if (ent[0] != h) continue;
    u64 a, b;
    __builtin_memcpy(&a, ent, 8);
    __builtin_memcpy(&b, ent + 2, 8);
    if (a == key[0] && b == key[1]) return ent;
  }
}

/* An open-addressing table of `*mask + 1` offsets + 1, at most half full after one more. */
static u32 *table_for_one_more(u32 *t, u32 *mask, u32 count, u32 (*hash_at)(u32)) {
  if (t != 0 && 2 * (count + 1) <= *mask + 1) return t;
  u32 cap = t == 0 ? 4096 : (*mask + 1) * 2;
  u32 *g = (u32 *)tc_alloc(cap * 4);
  __builtin_memset(g, 0, cap * 4);
  if (t != 0) {
    for (u32 i = 0; i <= *mask; i++) {
      u32 e = t[i];
      if (e == 0) continue;
      u32 j = hash_at(e - 1) & (cap - 1);
      while (g[j] != 0) j = (j + 1) & (cap - 1);
      g[j] = e;
    }
  }
  *mask = cap - 1;
  return g;
}

static u32 first_word(u32 at) { return entries[at]; }

/* The shape of the names pair_slots[0, 2, ...], added when new (room checked by the caller). */
static u32 shape_of(const u32 *pair_slots, u32 pairs, u32 name_pair) {
  u32 h = 0x9747b28cu ^ pairs;
  for (u32 j = 0; j < pairs; j++) h = (((h ^ pair_slots[2 * j]) * 0xcc9e2d51u) << 13 | (h >> 19)) * 5 + 0xe6546b64u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  if (shape_table != 0) {
    for (u32 i = h & shape_mask;; i = (i + 1) & shape_mask) {
      u32 e = shape_table[i];
      if (e == 0) break;
      const u32 *sh = entries + e - 1;
      if (sh[0] != h || sh[1] != pairs) continue;
      u32 j = 0;
      while (j < pairs && sh[SHAPE_HEADER + j] == pair_slots[2 * j]) j++;
      if (j == pairs) return e - 1;
    }
  }
  shape_table = table_for_one_more(shape_table, &shape_mask, shape_count, first_word);
  u32 at = entries_used;
  u32 *sh = entries + at;
  sh[0] = h;
  sh[1] = pairs;
  sh[2] = gen - 1;
  sh[3] = name_pair;
  for (u32 j = 0; j < pairs; j++) sh[SHAPE_HEADER + j] = pair_slots[2 * j];
  entries_used += SHAPE_HEADER + 2 * pairs;
  u32 i = h & shape_mask;
  while (shape_table[i] != 0) i = (i + 1) & shape_mask;
  shape_table[i] = at + 1;
  shape_count++;
  return at;
}

/*
 * Adds a series' entry (`name_pair`: its `__name__` label's index + 1, or 0); returns it, or 0
 * when it is larger than the whole cache.
 */
static u32 *cache_add(const u64 key[2], const u32 *pair_slots, u32 pairs, u32 name_pair) {
  u32 words = ENTRY_HEADER + pairs;
  u32 most = words + 15 + SHAPE_HEADER + 2 * pairs; /* with a new shape and a line's padding */
  if (4 * most > cache_max) return 0;
  if (entries == 0) entries = (u32 *)(((uintptr_t)tc_alloc(cache_max + 64) + 63) & ~(uintptr_t)63);
  if (4 * (entries_used + most) > cache_max) cache_clear();
  u32 shape = shape_of(pair_slots, pairs, name_pair);
  cache_table = table_for_one_more(cache_table, &cache_mask, cache_count, first_word);
  u32 line_left = 16 - (entries_used & 15);
  if (words <= 16 && words > line_left) entries_used += line_left;
  u32 at = entries_used;
  u32 *ent = entries + at;
  __builtin_memcpy(ent, key, 16);
  ent[E_SHAPE] = shape;
  for (u32 j = 0; j < pairs; j++) ent[ENTRY_HEADER + j] = pair_slots[2 * j + 1];
  entries_used += words;
  u32 h = (u32)key[0];
  u32 i = h & cache_mask;
  while (cache_table[i] != 0) i = (i + 1) & cache_mask;
  cache_table[i] = at + 1;
  cache_count++;
  return ent;
}

/* ---- record bodies ---- */

/* Words of a series' index entry (see tc_load). */
#define INDEX_WORDS 8

/*
 * Uncompresses a record's groups into `dst` (room for `raw_len` + 16 bytes) and indexes its
 * `n` series into `index` (INDEX_WORDS each: start of its fields, end of its label fields, end,
 * zero, then the 128-bit hash of its label bytes: its series cache key). `src` holds `groups` snappy blocks one after the
 * other, `desc` per group: block length, uncompressed length, series end (cumulative). Returns
 * 1, or 0 when anything does not add up (the caller reports the record as corrupt).
 */
__attribute__((export_name("tc_load"))) u32 tc_load(const u8 *src, const u32 *desc, u32 groups, u8 *dst, u32 raw_len,
                                                  u32 *index, u32 n) {
  u32 in = 0, out = 0;
  for (u32 g = 0; g < groups; g++) {
    u32 blen = desc[3 * g], rlen = desc[3 * g + 1];
    if (rlen > raw_len - out) return 0;
    if (rlen > 0 && snappy_uncompress(src + in, blen, dst + out, rlen) != 1) return 0;
    in += blen;
    out += rlen;
  }
  if (out != raw_len) return 0;
  const u8 *b = dst;
  const u8 *end = dst + raw_len;
  const u8 *p = b;
  u32 g = 0, group_end = 0;
  for (u32 s = 0;; s++) {
    /* Each group's series take exactly its uncompressed length (raw-record.ts's load). */
    while (g < groups && desc[3 * g + 2] <= s) {
      group_end += desc[3 * g + 1];
      if ((u32)(p - b) != group_end) return 0;
      g++;
    }
    if (s == n) break;
    if (p >= end || *p != 0x0a) return 0;
    const u8 *q;
    u32 len = read_length(p + 1, end, &q);
    if (q == 0 || len > (u32)(end - q)) return 0;
    const u8 *stop = q + len;
    const u8 *l = q;
    while (l < stop && *l == 0x0a) {
      const u8 *r;
      u32 ll = read_length(l + 1, stop, &r);
      if (r == 0 || ll > (u32)(stop - r)) return 0;
      l = r + ll;
    }
    u32 *e = index + INDEX_WORDS * s;
    e[0] = (u32)(q - b);
    e[1] = (u32)(l - b);
    e[2] = (u32)(stop - b);
    e[3] = 0;
    /* The cache key, while the bytes just uncompressed are in cache (tc_encode runs later, per loop). */
    u64 kh[2];
    siphash13_128(q, (u32)(l - q), key_seed, kh);
    __builtin_memcpy(e + 4, kh, 16);
    p = stop;
  }
  return p == end && g == groups ? 1 : 0;
}

/* ---- encoding ---- */

static u8 *series_buf;
static u32 series_used, series_cap;
static u8 *out_buf;
static u32 out_cap, out_len;
static u32 *label_slots; /* the series' (name, value) slot pairs */
static u32 label_cap;
static u32 *label_syms;
static u32 label_syms_cap;

static int ensure_series(u32 more) {
  if (series_used + more <= series_cap) return 1;
  series_buf = (u8 *)grow(series_buf, series_used, &series_cap, series_used + more, 1);
  return series_buf != 0;
}

static int push_label(u32 *pairs, u32 name_slot, u32 value_slot) {
  if (2 * (*pairs + 1) > label_cap) {
    label_slots = (u32 *)grow(label_slots, 8 * *pairs, &label_cap, 2 * (*pairs + 1), 4);
    if (label_slots == 0) return 0;
  }
  label_slots[2 * *pairs] = name_slot;
  label_slots[2 * *pairs + 1] = value_slot;
  (*pairs)++;
  return 1;
}

static const u8 NAME_LABEL[8] = {'_', '_', 'n', 'a', 'm', 'e', '_', '_'};

/*
 * Reads a stored series' label fields `[p, stop)` (checked by the receiver's scan: sorted,
 * non-empty, valid UTF-8) into slot pairs merged with the external labels (the series' own label
 * wins); *name_pair = the `__name__` label's index + 1, or 0. Returns the pairs, or -1.
 */
static i32 read_labels(const u8 *p, const u8 *stop, u32 *name_pair) {
  u32 pairs = 0;
  u32 k = 0;
  *name_pair = 0;
  while (p < stop) {
    const u8 *q;
    u32 ll = read_length(p + 1, stop, &q);
    if (q == 0) return -1;
    const u8 *lstop = q + ll;
    const u8 *ns = q, *vs = q;
    u32 nl = 0, vl = 0;
    while (q < lstop) {
      u8 key = *q;
      const u8 *r;
      u32 fl = read_length(q + 1, lstop, &r);
      if (r == 0 || fl > (u32)(lstop - r)) return -1;
      if (key == 0x0a) {
        ns = r;
        nl = fl;
      } else if (key == 0x12) {
        vs = r;
        vl = fl;
      }
      q = r + fl;
    }
    p = lstop;
    int cmp = 1;
    while (k < ext_count &&
           (cmp = compare_bytes(ext_bytes + ext_desc[4 * k], ext_desc[4 * k + 1], ns, nl)) < 0) {
      if (ext_desc[4 * k + 1] == 8 && same_bytes(ext_bytes + ext_desc[4 * k], NAME_LABEL, 8))
        *name_pair = pairs + 1;
      if (!push_label(&pairs, ext_slot[2 * k], ext_slot[2 * k + 1])) return -1;
      k++;
    }
    if (k < ext_count && cmp == 0) k++;
    u32 name_slot = slot_of(ns, nl);
    u32 value_slot = slot_of(vs, vl);
    if (name_slot == NO_SLOT || value_slot == NO_SLOT) return -1;
    if (nl == 8 && same_bytes(ns, NAME_LABEL, 8)) *name_pair = pairs + 1;
    if (!push_label(&pairs, name_slot, value_slot)) return -1;
  }
  while (k < ext_count) {
    if (ext_desc[4 * k + 1] == 8 && same_bytes(ext_bytes + ext_desc[4 * k], NAME_LABEL, 8))
      *name_pair = pairs + 1;
    if (!push_label(&pairs, ext_slot[2 * k], ext_slot[2 * k + 1])) return -1;
    k++;
  }
  return (i32)pairs;
}

/*
 * Starts a request: forgets the dictionary when it grew past its bounds (or filled), then `""` is
 * symbol 0. 0 when even that does not fit (external labels larger than the room).
 */
static int begin_request(void) {
  if (dict == 0) dict_reserve();
  if (slots > max_slots || arena_used > max_arena || dict_full) dict_forget();
  gen++;
  if (gen == 0) {
    /* Shapes' symbols are stamped with generations too: they go with the cache. */
    for (u32 s = 0; s < slots; s++) use[s].gen = 0;
    cache_clear();
    gen = 1;
  }
  sym_count = 0;
  sym_wire = 0;
  u32 empty = slot_of((const u8 *)"", 0);
  if (empty == NO_SLOT) return 0;
  sym_of(empty);
  if (ext_epoch != epoch) {
    for (u32 k = 0; k < ext_count; k++) {
      ext_slot[2 * k] = slot_of(ext_bytes + ext_desc[4 * k], ext_desc[4 * k + 1]);
      ext_slot[2 * k + 1] = slot_of(ext_bytes + ext_desc[4 * k + 2], ext_desc[4 * k + 3]);
      if (ext_slot[2 * k] == NO_SLOT || ext_slot[2 * k + 1] == NO_SLOT) return 0;
    }
    ext_epoch = epoch;
  }
  if (cache_epoch != epoch) {
    cache_clear();
    cache_epoch = epoch;
  }
  series_used = 0;
  return 1;
}

/* Size of a Sample's body as sample-writer.ts writes it: zero fields left out. */
static inline u32 sample_body_size(u64 value_bits, u64 ts) {
  return (value_bits != 0 ? 9 : 0) + (ts != 0 ? 1 + varint64_size(ts) : 0);
}

/*
 * Reads the Sample field at *pp (before stop): its value bits and timestamp, as raw-record.ts's
 * decodeSamples reads them (later fields win). Returns 0 when it is not a Sample field.
 */
static int read_sample(const u8 **pp, const u8 *stop, u64 *value, u64 *ts) {
  const u8 *p = *pp;
  if (p >= stop || *p != 0x12) return 0;
  const u8 *q;
  u32 len = read_length(p + 1, stop, &q);
  if (q == 0 || len > (u32)(stop - q)) return 0;
  const u8 *end = q + len;
  u64 v = 0, t = 0;
  while (q < end) {
    u8 tag = *q++;
    if (tag == 0x09 && end - q >= 8) {
      v = load64(q);
      q += 8;
    } else if (tag == 0x10) {
      const u8 *r;
      t = read_varint64(q, end, &r);
      if (r == 0) break;
      q = r;
    } else {
      break;
    }
  }
  *value = v;
  *ts = t;
  *pp = end;
  return 1;
}

/*
 * Encodes `count` slices, 4 words each: the series' index entry (see tc_load), the record's
 * body, the samples to skip and the samples to take (0xffffffff: the whole series, its sample
 * fields copied as stored). Returns where the request starts (tc_out_len() bytes), or 0 when
 * memory ran out (the caller encodes the request in JavaScript).
 */
__attribute__((export_name("tc_encode"), no_builtin("memcpy"))) u8 *tc_encode(const u32 *slices, u32 count) {
  if (!begin_request()) return 0;
  /*
   * Every series' cache entry first, in a loop of lookups only: each is a read of the table and of
   * the entry far apart in memory, and independent of the others, so the processor overlaps them;
   * inside the loop below each waited behind the series before (in the daemon, where the loadgen
   * and the sink evict the 1 MiB L2, each is an L3 or DRAM read). An entry found here stays valid
   * unless an insert below empties the cache (`cache_clears` moves): then it is looked up again.
   */
  if (count > found_cap) {
    found = (u32 **)grow(found, 0, &found_cap, count, sizeof(u32 *));
    if (found == 0) return 0;
  }
  u32 touch = 0;
  for (u32 i = 0; i < count; i++) {
    const u32 *e = (const u32 *)(uintptr_t)slices[4 * i];
    u64 kh[2];
    __builtin_memcpy(kh, e + 4, 16);
    found[i] = cache_find(kh);
    /*
     * And the line of the series' samples in the ring (read once here: the load overlaps with the
     * other lookups, where below it waited; in-process, encode -8% cold, -11% hot).
     */
    touch += ((const u8 *)(uintptr_t)slices[4 * i + 1])[e[1]];
  }
  ring_touch = touch;
  u32 clears = cache_clears;
  for (u32 i = 0; i < count; i++) {
    const u32 *sl = slices + 4 * i;
    const u32 *e = (const u32 *)(uintptr_t)sl[0];
    const u8 *b = (const u8 *)(uintptr_t)sl[1];
    u32 skip = sl[2], take = sl[3];
    const u8 *key = b + e[0];
    u64 kh[2];
    __builtin_memcpy(kh, e + 4, 16);
    const u32 *pair_slots = 0;
    u32 *shape = 0;
    const u32 *values = 0;
    u32 pairs;
    i32 meta = -1;
    /* Not found above: inserted since by an earlier slice of the same series? */
    u32 *ent = found[i] != 0 && clears == cache_clears ? found[i] : cache_find(kh);
    if (ent != 0) {
      shape = entries + ent[E_SHAPE];
      pairs = shape[1];
      values = ent + ENTRY_HEADER;
      if (shape[3] != 0) meta = meta_of_slot(values[shape[3] - 1]);
    } else {
      u32 name_pair;
      i32 n = read_labels(key, b + e[1], &name_pair);
      if (n < 0) return 0;
      pairs = (u32)n;
      pair_slots = label_slots;
      if (name_pair != 0) meta = meta_of_slot(label_slots[2 * name_pair - 1]);
      ent = cache_add(kh, label_slots, pairs, name_pair);
      if (ent != 0) {
        shape = entries + ent[E_SHAPE];
        values = ent + ENTRY_HEADER;
      }
    }
    /* Symbols of the labels, then of the metadata's help and unit, in that order (as rw2-encoder.ts). */
    if (2 * pairs > label_syms_cap) {
      label_syms = (u32 *)grow(label_syms, 0, &label_syms_cap, 2 * pairs, 4);
      if (label_syms == 0) return 0;
    }
    u32 payload = 0;
    if (shape == 0) {
      for (u32 j = 0; j < 2 * pairs; j++) {
        u32 sym = sym_of(pair_slots[j]);
        label_syms[j] = sym;
        payload += varint_size(sym);
      }
    } else if (shape[2] == gen) {
      const u32 *name_syms = shape + SHAPE_HEADER + pairs;
      for (u32 j = 0; j < pairs; j++) {
        u32 ns = name_syms[j];
        u32 vs = sym_of(values[j]);
        label_syms[2 * j] = ns;
        label_syms[2 * j + 1] = vs;
        payload += varint_size(ns) + varint_size(vs);
      }
    } else {
      /* The shape's first series in this request: names and values numbered in label order. */
      const u32 *names = shape + SHAPE_HEADER;
      u32 *name_syms = shape + SHAPE_HEADER + pairs;
      for (u32 j = 0; j < pairs; j++) {
        u32 ns = sym_of(names[j]);
        u32 vs = sym_of(values[j]);
        name_syms[j] = ns;
        label_syms[2 * j] = ns;
        label_syms[2 * j + 1] = vs;
        payload += varint_size(ns) + varint_size(vs);
      }
      shape[2] = gen;
    }
    u32 meta_body = 0, meta_type = 0, help_sym = 0, unit_sym = 0;
    if (meta >= 0) {
      meta_entry *m = &metas[meta];
      if (m->slot_epoch != epoch) {
        m->help_slot = slot_of(meta_bytes + m->help_at, m->help_len);
        m->unit_slot = slot_of(meta_bytes + m->unit_at, m->unit_len);
        if (m->help_slot == NO_SLOT || m->unit_slot == NO_SLOT) return 0;
        m->slot_epoch = epoch;
      }
      meta_type = m->type;
      if (m->help_len > 0) help_sym = sym_of(m->help_slot);
      if (m->unit_len > 0) unit_sym = sym_of(m->unit_slot);
      if (meta_type != 0) meta_body += 1 + varint_size(meta_type);
      if (help_sym != 0) meta_body += 1 + varint_size(help_sym);
      if (unit_sym != 0) meta_body += 1 + varint_size(unit_sym);
    }
    u32 body = payload > 0 ? 1 + varint_size(payload) + payload : 0;
    const u8 *samples = b + e[1];
    const u8 *samples_end = b + e[2];
    if (take == 0xffffffffu) {
      body += (u32)(samples_end - samples);
    } else {
      const u8 *p = samples;
      u64 v, t;
      for (u32 k = 0; k < skip; k++)
        if (!read_sample(&p, samples_end, &v, &t)) return 0;
      samples = p;
      for (u32 k = 0; k < take; k++) {
        if (!read_sample(&p, samples_end, &v, &t)) return 0;
        u32 sb = sample_body_size(v, t);
        body += 1 + varint_size(sb) + sb;
      }
    }
    if (meta_body > 0) body += 1 + varint_size(meta_body) + meta_body;
    if (!ensure_series(1 + 5 + body)) return 0;
    u8 *w = series_buf + series_used;
    *w++ = 0x2a; /* Request.timeseries = 5 */
    w = put_varint(w, body);
    if (payload > 0) {
      *w++ = 0x0a; /* TimeSeries.labels_refs = 1, packed */
      w = put_varint(w, payload);
      for (u32 j = 0; j < 2 * pairs; j++) w = put_varint(w, label_syms[j]);
    }
    if (take == 0xffffffffu) {
      u32 n = (u32)(samples_end - samples);
      copy_short(w, samples, n);
      w += n;
    } else {
      const u8 *p = samples;
      u64 v, t;
      for (u32 k = 0; k < take; k++) {
        read_sample(&p, samples_end, &v, &t);
        *w++ = 0x12; /* TimeSeries.samples = 2 */
        w = put_varint(w, sample_body_size(v, t));
        if (v != 0) {
          *w++ = 0x09; /* Sample.value = 1, fixed64: the stored bits, NaN payloads included */
          __builtin_memcpy(w, &v, 8);
          w += 8;
        }
        if (t != 0) {
          *w++ = 0x10; /* Sample.timestamp = 2 */
          w = put_varint64(w, t);
        }
      }
    }
    if (meta_body > 0) {
      *w++ = 0x2a; /* TimeSeries.metadata = 5 */
      w = put_varint(w, meta_body);
      if (meta_type != 0) {
        *w++ = 0x08; /* Metadata.type = 1 */
        w = put_varint(w, meta_type);
      }
      if (help_sym != 0) {
        *w++ = 0x18; /* Metadata.help_ref = 3 */
        w = put_varint(w, help_sym);
      }
      if (unit_sym != 0) {
        *w++ = 0x20; /* Metadata.unit_ref = 4 */
        w = put_varint(w, unit_sym);
      }
    }
    series_used = (u32)(w - series_buf);
  }
  u32 total = sym_wire + series_used;
  if (total > out_cap) {
    out_buf = (u8 *)grow(out_buf, 0, &out_cap, total, 1);
    if (out_buf == 0) return 0;
  }
  u8 *o = out_buf;
  for (u32 s = 0; s < sym_count; s++) {
    slot_info *si = &info[sym_slots[s]];
    copy_short(o, arena + si->at, si->wire);
    o += si->wire;
  }
  __builtin_memcpy(o, series_buf, series_used);
  out_len = total;
  return out_buf;
}

/* Bytes of the last request tc_encode returned. */
__attribute__((export_name("tc_out_len"))) u32 tc_out_len(void) { return out_len; }

/*
 * Bounds: strings remembered (and their fields' bytes) before the dictionary is forgotten between
 * two requests, and bytes of the series cache (keys plus 4 per entry word) before it is emptied.
 */
__attribute__((export_name("tc_configure"))) void tc_configure(u32 strings, u32 string_bytes, u32 cache_bytes) {
  max_slots = strings;
  max_arena = string_bytes;
  cache_max = cache_bytes;
}

/* Counters for tests and stats: 0 strings remembered, 1 epoch, 2 cached series, 3 cache bytes. */
__attribute__((export_name("tc_stat"))) u32 tc_stat(u32 which) {
  switch (which) {
    case 0:
      return slots;
    case 1:
      return epoch;
    case 2:
      return cache_count;
    case 3:
      return 4 * entries_used;
    default:
      return 0;
  }
}
