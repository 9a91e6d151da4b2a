import { hashBytes } from './hash-bytes.js';
import { type ScratchWriter, utf8Size, varint32Size } from './proto-writer.js';

/** Strings the table remembers across requests before it starts over (bounds its memory). */
const DEFAULT_MAX_REMEMBERED = 1 << 18;
/** Bytes of encoded symbol fields remembered before it starts over. */
const MAX_ARENA_BYTES = 64 * 1024 * 1024;

/**
 * The symbol table of one remote-write 2.0 request: every string the request refers to, once,
 * `""` first (the spec's symbols[0]).
 *
 * Reused from request to request without being cleared: its Map remembers each string it has seen
 * under a stable slot, with the string's `symbols` field (key, length, UTF-8 bytes) encoded once,
 * and a slot's symbol is valid only while its generation is the current request's. A Map cleared
 * per request re-grew (rehashing at every doubling) and re-inserted every string each request: 32%
 * of 2.0 encoding time (bench/wire-rw2.ts, 10,000 series x 10 labels, in requests of 2,000); with
 * remembered slots a string seen in an earlier request costs one lookup and one copy of its bytes.
 * Once more than `maxRemembered` strings (or 64 MiB of their bytes) are remembered, everything is
 * forgotten between two requests and {@link epoch} moves on, so churning label values cannot grow
 * it without bound.
 */
export class SymbolTable {
  private readonly slots = new Map<string, number>();
  /** The string of each slot. */
  private slotString: string[] = [];
  /**
   * Per slot, interleaved: `[2 * slot]` the request generation its symbol belongs to,
   * `[2 * slot + 1]` that symbol. Side by side, a lookup touches one cache line, not two (slots are
   * read in series order, scattered over the table: the generation check was ~10% of 2.0 encoding).
   */
  private slotUse: Uint32Array = new Uint32Array(2048);
  /** Where each slot's encoded `symbols` field is in `arena`, and its length. */
  private slotStart: Int32Array = new Int32Array(1024);
  private slotWireLen: Int32Array = new Int32Array(1024);
  /**
   * Strings by their UTF-8 bytes (see {@link slotOfBytes}): open addressing, linear probing,
   * `slot + 1` per entry (0 = empty), at most half full. Each slot's bytes hash in `slotHash`.
   */
  private byBytes = new Int32Array(4096);
  private byBytesCount = 0;
  private slotHash: Uint32Array = new Uint32Array(1024);
  /** Set for slots entered in `byBytes` (a slot made by {@link slotOf} is entered on its first byte lookup). */
  private slotHashed: Uint8Array = new Uint8Array(1024);
  private arena = Buffer.allocUnsafe(64 * 1024);
  private arenaUsed = 0;
  private gen = 0;
  /** The slots of this request's symbols, in symbol order. */
  private symbolSlots = new Int32Array(1024);
  private count = 0;
  /** Bytes the `symbols` fields will take on the wire (keys and length prefixes included). */
  wireSize = 0;
  /**
   * Bumped when the remembered strings are forgotten: slots from {@link slotOf} are valid (name the
   * same string) for as long as this stays the same. It only changes in {@link reset}.
   */
  epoch = 0;

  constructor(private readonly maxRemembered = DEFAULT_MAX_REMEMBERED) {
    this.reset();
  }

  /** Starts a new request's table, holding only `""`. */
  reset(): void {
    if (this.slots.size > this.maxRemembered || this.arenaUsed > MAX_ARENA_BYTES) {
      this.slots.clear();
      this.byBytes.fill(0);
      this.byBytesCount = 0;
      this.slotString.length = 0;
      this.arenaUsed = 0;
      this.epoch++;
    }
    this.gen = (this.gen + 1) >>> 0;
    if (this.gen === 0) {
      // Wrapped: generations from 2^32 requests ago would read as current.
      for (let i = 0; i < this.slotUse.length; i += 2) this.slotUse[i] = 0;
      this.gen = 1;
    }
    this.count = 0;
    this.wireSize = 0;
    this.ref('');
  }

  /** Number of symbols, `""` included. */
  get size(): number {
    return this.count;
  }

  /** The symbol of `s`, added on first sight in this request. */
  ref(s: string): number {
    return this.refOfSlot(this.slotOf(s));
  }

  /**
   * The slot remembering `s`: a number that names `s` in this table until {@link epoch} changes,
   * so callers can keep slots across requests (e.g. per series) instead of looking strings up again.
   */
  slotOf(s: string): number {
    let slot = this.slots.get(s);
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot >= this.slotStart.length) this.growSlots();
      this.slots.set(s, slot);
      this.slotString[slot] = s;
      this.slotUse[2 * slot] = 0;
      this.slotHashed[slot] = 0;
      this.encodeSlot(slot, s);
    }
    return slot;
  }

  /**
   * {@link slotOf} for the string whose UTF-8 bytes are `b[start, start + len)`, without decoding
   * it when it was seen before (by bytes): a relayed series' labels are looked up straight from
   * the received body. The bytes must be valid UTF-8 (the receiver checked them).
   */
  slotOfBytes(b: Uint8Array, start: number, len: number): number {
    const h = hashBytes(b, start, len);
    const table = this.byBytes;
    const mask = table.length - 1;
    const arena = this.arena;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[i];
      if (e === 0) break;
      const slot = e - 1;
      if (this.slotHash[slot] !== h) continue;
      // The slot's bytes follow its field key and length varint in the arena.
      const wireLen = this.slotWireLen[slot];
      if (wireLen !== 1 + varint32Size(len) + len) continue;
      let p = this.slotStart[slot] + wireLen - len;
      let same = true;
      for (let j = start, end = start + len; j < end; j++, p++) {
        if (arena[p] !== b[j]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
    }
    const slot = this.slotOf(Buffer.from(b.buffer, b.byteOffset + start, len).toString('utf8'));
    if (this.slotHashed[slot] === 0) this.enterBytes(slot, h);
    return slot;
  }

  private enterBytes(slot: number, h: number): void {
    if (2 * (this.byBytesCount + 1) > this.byBytes.length) {
      // Grow and re-enter every hashed slot (their hashes are kept).
      const grown = new Int32Array(this.byBytes.length * 2);
      const mask = grown.length - 1;
      for (let i = 0; i < this.byBytes.length; i++) {
        const e = this.byBytes[i];
        if (e === 0) continue;
        let j = this.slotHash[e - 1] & mask;
        while (grown[j] !== 0) j = (j + 1) & mask;
        grown[j] = e;
      }
      this.byBytes = grown;
    }
    const table = this.byBytes;
    const mask = table.length - 1;
    let i = h & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
    this.byBytesCount++;
    this.slotHash[slot] = h;
    this.slotHashed[slot] = 1;
  }

  /**
   * Whether `slot` holds the string whose UTF-8 bytes are `b[start, start + len)`: a cheap check of
   * a guessed slot (the same label of the series before) before a hash lookup.
   */
  slotHasBytes(slot: number, b: Uint8Array, start: number, len: number): boolean {
    if (slot < 0 || slot >= this.slots.size) return false;
    const wireLen = this.slotWireLen[slot];
    if (wireLen !== 1 + varint32Size(len) + len) return false;
    const arena = this.arena;
    let p = this.slotStart[slot] + wireLen - len;
    for (let j = start, end = start + len; j < end; j++, p++) if (arena[p] !== b[j]) return false;
    return true;
  }

  /** The string of a slot. */
  stringOfSlot(slot: number): string {
    return this.slotString[slot];
  }

  /** The symbol of the string in `slot`, added on first use in this request. */
  refOfSlot(slot: number): number {
    if (this.slotUse[2 * slot] === this.gen) return this.slotUse[2 * slot + 1];
    const sym = this.count++;
    if (sym >= this.symbolSlots.length) {
      const grown = new Int32Array(this.symbolSlots.length * 2);
      grown.set(this.symbolSlots);
      this.symbolSlots = grown;
    }
    this.symbolSlots[sym] = slot;
    this.wireSize += this.slotWireLen[slot];
    this.slotUse[2 * slot] = this.gen;
    this.slotUse[2 * slot + 1] = sym;
    return sym;
  }

  /**
   * {@link refOfSlot} for `n` slots `src[from, from + n)`, into `out[0, n)`; returns the bytes their
   * varints take. One call per series instead of one per label, with the table's arrays in locals:
   * the per-label calls and field loads were a quarter of 2.0 encoding (bench/wire-rw2.ts profile).
   */
  refsOfSlots(src: Int32Array, from: number, n: number, out: Uint32Array): number {
    const gen = this.gen;
    const use = this.slotUse;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const slot = src[from + i];
      const sym = use[2 * slot] === gen ? use[2 * slot + 1] : this.refOfSlot(slot);
      out[i] = sym;
      size += sym < 0x80 ? 1 : sym < 0x4000 ? 2 : varint32Size(sym);
    }
    return size;
  }

  /** Writes the symbols as `Request.symbols` (field 4) fields; reserves the room itself. */
  write(w: ScratchWriter): void {
    w.ensure(this.wireSize);
    const slots = this.symbolSlots;
    const start = this.slotStart;
    const len = this.slotWireLen;
    const arena = this.arena;
    const buf = w.buf;
    let pos = w.pos;
    for (let i = 0; i < this.count; i++) {
      const slot = slots[i];
      const from = start[slot];
      const n = len[slot];
      if (n > 64) {
        // Long strings (help texts): one native copy beats the byte loop.
        buf.set(arena.subarray(from, from + n), pos);
        pos += n;
        continue;
      }
      // Label names and values are short: a byte loop beats a native call per symbol.
      const end = from + n;
      for (let j = from; j < end; j++) buf[pos++] = arena[j];
    }
    w.pos = pos;
  }

  /** Encodes the `symbols` field of a new slot's string into the arena. */
  private encodeSlot(slot: number, s: string): void {
    const len = utf8Size(s);
    const wireLen = 1 + varint32Size(len) + len;
    if (this.arenaUsed + wireLen > this.arena.length) {
      let size = this.arena.length * 2;
      while (size < this.arenaUsed + wireLen) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.arena.copy(grown, 0, 0, this.arenaUsed);
      this.arena = grown;
    }
    const a = this.arena;
    let pos = this.arenaUsed;
    this.slotStart[slot] = pos;
    this.slotWireLen[slot] = wireLen;
    a[pos++] = 0x22; // Request.symbols = 4
    let v = len;
    while (v > 0x7f) {
      a[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    a[pos++] = v;
    if (len === s.length) {
      for (let i = 0; i < len; i++) a[pos++] = s.charCodeAt(i);
    } else {
      pos += a.write(s, pos, len, 'utf8');
    }
    this.arenaUsed = pos;
  }

  private growSlots(): void {
    const n = this.slotStart.length * 2;
    this.slotUse = grownU32(this.slotUse, 2 * n);
    this.slotHash = grownU32(this.slotHash, n);
    const hashed = new Uint8Array(n);
    hashed.set(this.slotHashed);
    this.slotHashed = hashed;
    this.slotStart = grownI32(this.slotStart, n);
    this.slotWireLen = grownI32(this.slotWireLen, n);
  }
}

function grownU32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

function grownI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
