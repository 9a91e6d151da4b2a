/**
 * The 2.0 encoder's cache for relayed series, which carry no series id: a series' received label
 * fields (1.0 `Label` bytes, as the receiver validated them) -> its labels merged with the external
 * ones, as symbol-table slots. A series seen again then costs one hash of its label bytes, one probe
 * and one byte compare, where reading each label and looking up each name and value by bytes cost
 * about ten times that (bench/wire-rw2.ts, relayed case).
 *
 * Entries are verified by their bytes (a copy is kept), never trusted by hash alone. Slots are
 * valid within one symbol-table epoch: the owner empties the cache when the epoch moves on. When
 * full (entries or bytes), the cache is emptied and refilled: live series come back on their next
 * request.
 */
import { hashBytes } from './hash-bytes.js';

/** Int32 header slots of an entry in `entries`: hash, byte offset, byte length, name slot, pairs. */
const HEADER = 5;

export class LabelBlockCache {
  /** Open addressing, linear probing: entry offset + 1 per bucket (0 = empty), at most half full. */
  private table: Int32Array;
  private count = 0;
  /** Entries: HEADER ints, then `2 * pairs` slots. */
  private entries = new Int32Array(4096);
  private entriesUsed = 0;
  /** Copies of the cached label bytes. */
  private bytes = Buffer.allocUnsafe(16384);
  private bytesUsed = 0;
  /** Where the entry found by {@link find} keeps its slots (index into {@link slots}). */
  slotsAt = 0;

  /**
   * @param maxBytes Bound on the copied label bytes plus 4 bytes per int of the entries.
   */
  constructor(private readonly maxBytes: number) {
    this.table = new Int32Array(1024);
  }

  /** The slot array {@link slotsAt} indexes (valid until the next {@link add} or {@link clear}). */
  get slots(): Int32Array {
    return this.entries;
  }

  clear(): void {
    this.table.fill(0);
    this.count = 0;
    this.entriesUsed = 0;
    this.bytesUsed = 0;
  }

  /**
   * Looks up the label bytes `b[start, start + len)` hashed to `h` (see {@link hashOf}). On a hit,
   * returns the number of label pairs and sets {@link slotsAt} and {@link nameSlot}; else -1.
   */
  find(b: Uint8Array, start: number, len: number, h: number): number {
    const table = this.table;
    const mask = table.length - 1;
    const entries = this.entries;
    const copy = this.bytes;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[i];
      if (e === 0) return -1;
      const at = e - 1;
      if (entries[at] !== h || entries[at + 2] !== len) continue;
      const p = entries[at + 1];
      // One native compare: a byte loop over the ~150 label bytes of a series was 20% of encoding it.
      if (copy.compare(b, start, start + len, p, p + len) !== 0) continue;
      this.nameSlot = entries[at + 3];
      this.slotsAt = at + HEADER;
      return entries[at + 4];
    }
  }

  /** The `__name__` value slot of the entry {@link find} found (-1: none). */
  nameSlot = -1;

  /** The hash {@link find} and {@link add} take for `b[start, start + len)`. */
  hashOf(b: Uint8Array, start: number, len: number): number {
    return hashBytes(b, start, len) | 0;
  }

  /** Remembers the label bytes `b[start, start + len)` (hash `h`) as `pairs` slot pairs `slots[0, 2 * pairs)`. */
  add(b: Uint8Array, start: number, len: number, h: number, nameSlot: number, slots: Int32Array, pairs: number): void {
    const ints = HEADER + 2 * pairs;
    if (len + 4 * ints > this.maxBytes) return;
    if (this.bytesUsed + len + 4 * (this.entriesUsed + ints) > this.maxBytes) this.clear();
    if (2 * (this.count + 1) > this.table.length) this.growTable();
    if (this.entriesUsed + ints > this.entries.length) {
      const grown = new Int32Array(Math.max(this.entries.length * 2, this.entriesUsed + ints));
      grown.set(this.entries.subarray(0, this.entriesUsed));
      this.entries = grown;
    }
    if (this.bytesUsed + len > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.bytesUsed + len));
      this.bytes.copy(grown, 0, 0, this.bytesUsed);
      this.bytes = grown;
    }
    const at = this.entriesUsed;
    const entries = this.entries;
    entries[at] = h;
    entries[at + 1] = this.bytesUsed;
    entries[at + 2] = len;
    entries[at + 3] = nameSlot;
    entries[at + 4] = pairs;
    for (let i = 0; i < 2 * pairs; i++) entries[at + HEADER + i] = slots[i];
    this.entriesUsed += ints;
    this.bytes.set(b.subarray(start, start + len), this.bytesUsed);
    this.bytesUsed += len;
    const table = this.table;
    const mask = table.length - 1;
    let i = h & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = at + 1;
    this.count++;
  }

  private growTable(): void {
    const grown = new Int32Array(this.table.length * 2);
    const mask = grown.length - 1;
    for (let i = 0; i < this.table.length; i++) {
      const e = this.table[i];
      if (e === 0) continue;
      let j = this.entries[e - 1] & mask;
      while (grown[j] !== 0) j = (j + 1) & mask;
      grown[j] = e;
    }
    this.table = grown;
  }
}
