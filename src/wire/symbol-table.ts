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
  private slotGen: Uint32Array = new Uint32Array(1024);
  private slotSym: Int32Array = new Int32Array(1024);
  /** Where each slot's encoded `symbols` field is in `arena`, and its length. */
  private slotStart: Int32Array = new Int32Array(1024);
  private slotWireLen: Int32Array = new Int32Array(1024);
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
      this.slotString.length = 0;
      this.arenaUsed = 0;
      this.epoch++;
    }
    this.gen = (this.gen + 1) >>> 0;
    if (this.gen === 0) {
      // Wrapped: generations from 2^32 requests ago would read as current.
      this.slotGen.fill(0);
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
      if (slot >= this.slotGen.length) this.growSlots();
      this.slots.set(s, slot);
      this.slotString[slot] = s;
      this.slotGen[slot] = 0;
      this.encodeSlot(slot, s);
    }
    return slot;
  }

  /** The string of a slot. */
  stringOfSlot(slot: number): string {
    return this.slotString[slot];
  }

  /** The symbol of the string in `slot`, added on first use in this request. */
  refOfSlot(slot: number): number {
    if (this.slotGen[slot] === this.gen) return this.slotSym[slot];
    const sym = this.count++;
    if (sym >= this.symbolSlots.length) {
      const grown = new Int32Array(this.symbolSlots.length * 2);
      grown.set(this.symbolSlots);
      this.symbolSlots = grown;
    }
    this.symbolSlots[sym] = slot;
    this.wireSize += this.slotWireLen[slot];
    this.slotGen[slot] = this.gen;
    this.slotSym[slot] = sym;
    return sym;
  }

  /** Writes the symbols as `Request.symbols` (field 4) fields; reserves the room itself. */
  write(w: ScratchWriter): void {
    w.ensure(this.wireSize);
    const slots = this.symbolSlots;
    const start = this.slotStart;
    const len = this.slotWireLen;
    const arena = this.arena;
    for (let i = 0; i < this.count; i++) {
      const slot = slots[i];
      w.bytes(arena, start[slot], len[slot]);
    }
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
    const n = this.slotGen.length * 2;
    this.slotGen = grownU32(this.slotGen, n);
    this.slotSym = grownI32(this.slotSym, n);
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
