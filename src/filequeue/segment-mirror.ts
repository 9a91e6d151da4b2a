import type { ArrayBufferPool } from '../buffer-pool.js';

/**
 * A copy in memory of the records this process wrote to one segment, so that a reader that is
 * caught up gets them without reading the file back and checking every CRC a second time: for
 * the relay that was ~50 MB read and checksummed per million samples on the event loop. The file
 * is written and synced exactly as without it; only the way back changes.
 *
 * All records lie in one ArrayBuffer of the mirror's own (never a pooled slab), so a segment
 * handed to a delivery worker moves there instead of being copied. With a `pool`, that buffer
 * comes from it, and a buffer outgrown goes back to it (no view of it was handed out yet).
 */
export class SegmentMirror {
  private buf: Uint8Array;
  private size = 0;
  private readonly ends: number[] = [];

  constructor(
    initialBytes: number,
    private readonly maxBytes: number,
    private readonly pool?: ArrayBufferPool,
  ) {
    this.buf = this.allocate(Math.min(initialBytes, maxBytes));
  }

  /** The buffer the records lie in (detached once moved to a delivery worker). */
  get buffer(): ArrayBuffer {
    return this.buf.buffer as ArrayBuffer;
  }

  /** Bytes of records held. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Copies one record in (callers may reuse or move their payload afterwards). False when it
   * would take the mirror past its bound: the mirror is then incomplete and must be dropped.
   */
  add(payload: Uint8Array): boolean {
    const need = this.size + payload.length;
    if (need > this.maxBytes) return false;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const grown = this.allocate(Math.min(cap, this.maxBytes));
      grown.set(this.buf.subarray(0, this.size));
      this.pool?.give(this.buffer);
      this.buf = grown;
    }
    this.buf.set(payload, this.size);
    this.size = need;
    this.ends.push(need);
    return true;
  }

  /** A whole buffer of at least `bytes` (a pooled one may be larger: all of it is room). */
  private allocate(bytes: number): Uint8Array {
    if (this.pool === undefined) return new Uint8Array(new ArrayBuffer(bytes));
    return new Uint8Array(this.pool.take(bytes).buffer);
  }

  /** The records in write order, each a view of the mirror's buffer. */
  records(): Uint8Array[] {
    const out = new Array<Uint8Array>(this.ends.length);
    let start = 0;
    for (let i = 0; i < this.ends.length; i++) {
      out[i] = this.buf.subarray(start, this.ends[i]);
      start = this.ends[i];
    }
    return out;
  }
}
