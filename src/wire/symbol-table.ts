import { type ScratchWriter, utf8Size, varint32Size } from './proto-writer.js';

/** Strings the table remembers across requests before it starts over (bounds its memory). */
const DEFAULT_MAX_REMEMBERED = 1 << 18;

/**
 * The symbol table of one remote-write 2.0 request: every string the request refers to, once,
 * `""` first (the spec's symbols[0]).
 *
 * Reused from request to request without being cleared: its Map remembers each string it has seen
 * under a stable slot, and a slot's symbol is valid only while its generation is the current
 * request's. A Map cleared per request re-grew (rehashing at every doubling) and re-inserted every
 * string each request: 32% of 2.0 encoding time (bench/wire-rw2.ts, 10,000 series x 10 labels, in
 * requests of 2,000); with remembered slots a string seen in an earlier request costs one lookup.
 * Once more than `maxRemembered` strings are remembered the Map is emptied between requests, so
 * churning label values cannot grow it without bound.
 */
export class SymbolTable {
  private readonly slots = new Map<string, number>();
  /** The string of each slot. */
  private slotString: string[] = [];
  private slotGen = new Uint32Array(1024);
  private slotSym = new Int32Array(1024);
  private gen = 0;
  private strings: string[] = [];
  private byteLengths = new Int32Array(1024);
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
    if (this.slots.size > this.maxRemembered) {
      this.slots.clear();
      this.slotString.length = 0;
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
    const sym = this.add(this.slotString[slot]);
    this.slotGen[slot] = this.gen;
    this.slotSym[slot] = sym;
    return sym;
  }

  private growSlots(): void {
    const gen = new Uint32Array(this.slotGen.length * 2);
    gen.set(this.slotGen);
    this.slotGen = gen;
    const sym = new Int32Array(this.slotSym.length * 2);
    sym.set(this.slotSym);
    this.slotSym = sym;
  }

  private add(s: string): number {
    const i = this.count++;
    if (i >= this.byteLengths.length) {
      const grown = new Int32Array(this.byteLengths.length * 2);
      grown.set(this.byteLengths);
      this.byteLengths = grown;
    }
    this.strings[i] = s;
    const len = utf8Size(s);
    this.byteLengths[i] = len;
    this.wireSize += 1 + varint32Size(len) + len;
    return i;
  }

  /** Writes the symbols as `Request.symbols` (field 4) fields; reserves the room itself. */
  write(w: ScratchWriter): void {
    w.ensure(this.wireSize);
    const strings = this.strings;
    const lens = this.byteLengths;
    for (let i = 0; i < this.count; i++) {
      w.byte(0x22); // Request.symbols = 4
      w.varint32(lens[i]);
      if (lens[i] > 0) w.utf8(strings[i], lens[i]);
    }
  }

  /** Drops the request's list of strings (the Map's remembered ones stay, bounded). */
  release(): void {
    this.strings.fill('', 0, this.count);
  }
}
