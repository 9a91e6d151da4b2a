/*
 * Prototype, measured and not built (issue 17; bench/relabel-name-key.ts compiles and drives it):
 * a write relabel cache keyed by what the rules read instead of by all of a series' label bytes.
 *
 * bench/relay's three rules (bench/lib/agents.ts BENCH_RELABEL_RULES: drop by a `__name__` regex,
 * labeldrop `team`, replace adding `relayed_by="agent"`) read the label names and the `__name__`
 * value only, so the key is SipHash-1-3-128 over those (~80 bytes on bench/relay's series instead
 * of ~221): 50 distinct keys for its 100,000 series, a table of 1,024 slots that stays in cache.
 * An outcome names the received fields by index, not byte offset (two series with the same names
 * have fields of different lengths): runs of field indices and literal fields. The new labels'
 * shard hash (hash version 2) is no longer the cache's: it is computed per series over the output.
 *
 * It includes rw1-raw-scan.c so that the scan, fnv_fields/fmix32 (the hash), order_groups and
 * copy_piece are the module's own, and the output can be compared byte for byte with
 * relabel_gather's. The miss path is bench/relay's three rules written in C (a real one would run
 * the engine in JavaScript and turn its answer into index ops).
 */
#include "../src/wire/rw1-raw-scan.c"

#define P_MAX_LABELS 32
#define P_SLOTS 1024
#define P_OPS_BYTES 46
#define P_KEY_BYTES 512

typedef struct {
  u64 key[2];
  u8 kind; /* RELABEL_* + 1; 0: empty */
  u8 ops_len;
  /* ops: a byte a < 0x80 and a byte b: the received fields [a, b); a byte 0x80 | l and l bytes: a
   * literal label field. */
  u8 ops[P_OPS_BYTES];
} p_slot;

_Static_assert(sizeof(p_slot) == 64, "a slot is one cache line");

static p_slot p_table[P_SLOTS] __attribute__((aligned(64)));
static u64 p_seed[2];
static u32 p_entries;
/* Ablation (bench/relabel-name-key.ts --mode): 1 skips the output's hash (the received one kept), 2
 * the SipHash (a key from the key bytes' length only), 4 the parse and copy of the key bytes, 8
 * the hash of the output's first run when it starts at field 0 (the time a scan that kept its FNV
 * state at each field boundary would save; the hash is then wrong). Not checked. */
static u32 p_mode;

__attribute__((export_name("proto_mode"))) void proto_mode(u32 mode) { p_mode = mode; }

__attribute__((export_name("proto_reset"))) void proto_reset(u32 s0, u32 s1, u32 s2, u32 s3) {
  __builtin_memset(p_table, 0, sizeof p_table);
  p_seed[0] = ((u64)s1 << 32) | s0;
  p_seed[1] = ((u64)s3 << 32) | s2;
  p_entries = 0;
}

__attribute__((export_name("proto_entries"))) u32 proto_entries(void) { return p_entries; }

/* Up to 16 bytes as two 8-byte moves (the key buffer has the slack), longer with memory.copy. */
static inline void copy_small(u8 *dst, const u8 *src, u32 len) {
  if (len > 16) {
    __builtin_memcpy(dst, src, len);
    return;
  }
  u64 a, b;
  __builtin_memcpy(&a, src, 8);
  __builtin_memcpy(&b, src + 8, 8);
  __builtin_memcpy(dst, &a, 8);
  __builtin_memcpy(dst + 8, &b, 8);
}

static const u8 RELAYED_BY[] = {0x0a, 19, 0x0a, 10, 'r', 'e', 'l', 'a', 'y', 'e', 'd', '_', 'b', 'y', 0x12, 5, 'a', 'g', 'e', 'n', 't'};
static const u8 DROP_PREFIX[13] = {'b', 'e', 'n', 'c', 'h', '_', 'm', 'e', 't', 'r', 'i', 'c', '_'};

/*
 * The miss path for bench/relay's rules, by label index: drop when `__name__` matches
 * bench_metric_[0-4]_total; else drop the field named `team`, and put `relayed_by="agent"` at its
 * sorted place (replacing a field of that name).
 */
static void p_decide(p_slot *e, const u8 *L, const u16 *off, u32 k) {
  u32 team = 0xff, at = k, replace = 0;
  for (u32 j = 0; j < k; j++) {
    const u8 *f = L + off[j];
    const u8 *next;
    read_length(f + 1, L + off[j + 1], &next);
    u32 nl = next[1];
    const u8 *name = next + 2;
    if (nl == 8 && bytes_equal(name, (const u8 *)METRIC_NAME_LABEL, 8)) {
      const u8 *vn;
      u32 vl = read_length(name + 9, L + off[j + 1], &vn);
      if (vl == 20 && bytes_equal(vn, (const u8 *)DROP_PREFIX, 13) && vn[13] >= '0' && vn[13] <= '4' &&
          bytes_equal(vn + 14, (const u8 *)"_total", 6)) {
        e->kind = RELABEL_DROP + 1;
        return;
      }
    }
    if (nl == 4 && bytes_equal(name, (const u8 *)"team", 4)) team = j;
    int c = compare_names(name, nl, RELAYED_BY + 4, 10);
    if (c == 0) replace = 1;
    if (c >= 0 && at == k) at = j;
  }
  u8 *o = e->ops;
  u32 from = 0;
  /* Runs of the received fields, `team` (and a replaced `relayed_by`) left out, the literal at `at`. */
  for (u32 j = 0; j <= k; j++) {
    int skip = j < k && (j == team || (j == at && replace));
    if (j != at && !skip && j != k) continue;
    if (j > from) {
      *o++ = (u8)from;
      *o++ = (u8)j;
    }
    from = skip ? j + 1 : j;
    if (j == at) {
      *o++ = (u8)(0x80 | sizeof RELAYED_BY);
      __builtin_memcpy(o, RELAYED_BY, sizeof RELAYED_BY);
      o += sizeof RELAYED_BY;
    }
  }
  e->ops_len = (u8)(o - e->ops);
  e->kind = RELABEL_CHANGED + 1;
}

/*
 * Per series i of a scanned body: the key of its names and `__name__` value, the lookup (a miss
 * decided and inserted), its new_hashes[i] (hash version 2 of its output fields) and sizes[i]
 * (0: dropped); then the groups as relabel_gather writes them. off: (P_MAX_LABELS + 1) u16 per
 * series of scratch; slot_of: n u32. result[0]: misses, result[1]: dropped, result[2]: changed.
 * Returns 0, or 1 when a series has more labels or key bytes than the prototype takes.
 */
__attribute__((export_name("proto_relabel"))) u32 proto_relabel(const u8 *body, const u32 *starts,
                                                                const u32 *label_ends, const u32 *hashes, u32 n,
                                                                u32 g, u16 *off, u32 *slot_of, u32 *inner_of, u32 *new_hashes,
                                                                u32 *sizes, u32 *order, u32 *series_end,
                                                                u32 *byte_end, u32 *cursor, u8 *out, u32 *result) {
  u8 kb[P_KEY_BYTES + 32];
  u32 misses = 0, dropped = 0, changed = 0;
  for (u32 i = 0; i < n; i++) {
    const u8 *L = body + labels_start(body, starts[i]);
    const u8 *end = body + label_ends[i];
    u16 *o = off + i * (P_MAX_LABELS + 1);
    u32 k = 0, kl = 0;
    const u8 *p = L;
    while (p < end && !(p_mode & 4)) {
      if (k == P_MAX_LABELS || kl > P_KEY_BYTES - 160) return 1;
      o[k++] = (u16)(p - L);
      const u8 *next;
      u32 ll = read_length(p + 1, end, &next);
      const u8 *stop = next + ll;
      u32 nl = next[1];
      const u8 *name = next + 2;
      if (nl == 8 && bytes_equal(name, (const u8 *)METRIC_NAME_LABEL, 8)) {
        /* The name, its value's length varint and the value: the field's body from the name length. */
        u32 l = (u32)(stop - (next + 1));
        if (l > 150) return 1;
        copy_small(kb + kl, next + 1, 16);
        if (l > 16) __builtin_memcpy(kb + kl + 16, next + 17, l - 16);
        kl += l;
      } else {
        /* The name with its length byte (< 0x80): prefix-free, so the key bytes parse one way. */
        copy_small(kb + kl, next + 1, nl + 1);
        kl += nl + 1;
      }
      p = stop;
    }
    o[k] = (u16)(p - L);
    u64 key[2];
    if (p_mode & 2) {
      key[0] = kl;
      key[1] = 0;
    } else {
      siphash13_128(kb, kl, p_seed, key);
    }
    u32 s = (u32)key[0] & (P_SLOTS - 1);
    p_slot *e;
    for (;;) {
      e = &p_table[s];
      if (e->kind == 0) {
        if (2 * (p_entries + 1) > P_SLOTS) return 1;
        e->key[0] = key[0];
        e->key[1] = key[1];
        p_decide(e, L, o, k);
        p_entries++;
        misses++;
        break;
      }
      if (e->key[0] == key[0] && e->key[1] == key[1]) break;
      s = (s + 1) & (P_SLOTS - 1);
    }
    slot_of[i] = s;
    u32 kind = e->kind - 1u;
    if (kind == RELABEL_DROP) {
      sizes[i] = 0;
      new_hashes[i] = hashes[i];
      dropped++;
    } else if (kind == RELABEL_KEEP) {
      sizes[i] = starts[i + 1] - starts[i];
      new_hashes[i] = hashes[i];
    } else {
      u32 h = FNV_OFFSET, out_len = 0, noncanonical = 0;
      const u32 hash = !(p_mode & 1);
      const u8 *d = e->ops, *dend = e->ops + e->ops_len;
      while (d < dend) {
        u32 a = *d;
        if (a & 0x80) {
          u32 l = a & 0x7f;
          if (hash) h = fnv_fields(h, d + 1, d + 1 + l, &noncanonical);
          out_len += l;
          d += 1 + l;
        } else {
          const u8 *f = L + o[a], *t = L + o[d[1]];
          if (hash && !(a == 0 && (p_mode & 8))) h = fnv_fields(h, f, t, &noncanonical);
          out_len += (u32)(t - f);
          d += 2;
        }
      }
      new_hashes[i] = hash ? fmix32(h) : hashes[i];
      u32 inner = out_len + (starts[i + 1] - label_ends[i]);
      sizes[i] = 1 + varint_size(inner) + inner;
      inner_of[i] = inner;
      changed++;
    }
  }
  order_groups(new_hashes, sizes, n, g, order, series_end, byte_end, cursor);
  u8 *w = out;
  for (u32 j = 0; j < (g == 0 ? 0 : series_end[g - 1]); j++) {
    u32 i = order[j];
    const p_slot *e = &p_table[slot_of[i]];
    if (e->kind - 1u == RELABEL_KEEP) {
      u32 len = starts[i + 1] - starts[i];
      copy_piece(w, body + starts[i], len);
      w += len;
      continue;
    }
    const u8 *L = body + labels_start(body, starts[i]);
    const u16 *o = off + i * (P_MAX_LABELS + 1);
    u32 samples_len = starts[i + 1] - label_ends[i];
    *w++ = 0x0a;
    w = write_varint(w, inner_of[i]);
    const u8 *d = e->ops, *dend = e->ops + e->ops_len;
    while (d < dend) {
      u32 a = *d;
      if (a & 0x80) {
        u32 l = a & 0x7f;
        copy_piece(w, d + 1, l);
        w += l;
        d += 1 + l;
      } else {
        u32 l = (u32)(o[d[1]] - o[a]);
        copy_piece(w, L + o[a], l);
        w += l;
        d += 2;
      }
    }
    copy_piece(w, body + label_ends[i], samples_len);
    w += samples_len;
  }
  result[0] = misses;
  result[1] = dropped;
  result[2] = changed;
  return 0;
}
