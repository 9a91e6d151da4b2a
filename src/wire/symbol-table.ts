import { type ScratchWriter, utf8Size, varint32Size } from './proto-writer.js';

/**
 * The symbol table of one remote-write 2.0 request: every string the request refers to, once,
 * `""` first (the spec's symbols[0]). Reused from request to request: {@link reset} empties it
 * without freeing its Map or arrays, so a steady sender allocates nothing here.
 */
export class SymbolTable {
  private readonly index = new Map<string, number>();
  private strings: string[] = [];
  private byteLengths = new Int32Array(1024);
  private count = 0;
  /** Bytes the `symbols` fields will take on the wire (keys and length prefixes included). */
  wireSize = 0;

  constructor() {
    this.reset();
  }

  /** Empties the table down to the leading `""`. */
  reset(): void {
    this.index.clear();
    this.count = 0;
    this.wireSize = 0;
    this.add('');
  }

  /** Number of symbols, `""` included. */
  get size(): number {
    return this.count;
  }

  /** The symbol of `s`, added on first sight. */
  ref(s: string): number {
    const i = this.index.get(s);
    return i === undefined ? this.add(s) : i;
  }

  private add(s: string): number {
    const i = this.count++;
    if (i >= this.byteLengths.length) {
      const grown = new Int32Array(this.byteLengths.length * 2);
      grown.set(this.byteLengths);
      this.byteLengths = grown;
    }
    this.index.set(s, i);
    this.strings[i] = s;
    const len = utf8Size(s);
    this.byteLengths[i] = len;
    this.wireSize += 1 + varint32Size(len) + len;
    return i;
  }

  /**
   * Writes the symbols as `Request.symbols` (field 4) fields; reserves the room itself. Then drops
   * its references to the strings, so nothing the request named is kept alive until the next one.
   */
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

  /** Forgets the request's strings (keeps the arrays' capacity). */
  release(): void {
    this.strings.fill('', 0, this.count);
    this.index.clear();
  }
}
