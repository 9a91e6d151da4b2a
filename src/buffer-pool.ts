/**
 * A small pool of large ArrayBuffers reused instead of allocated per use: the relay's request
 * bodies and records, which travel between the event loop and the relay scan worker
 * (daemon/relay-scanner.ts), and the segment mirrors' buffers (filequeue/queue.ts).
 *
 * Why: an ArrayBuffer that outlives a young-generation collection is freed only by a full one, and
 * V8 starts that on its own only once ~64 MB more array-buffer memory is held than after the last
 * one. A stream of such buffers (a mirror per segment, a record per request held across an fsync)
 * keeps ~64 MB of dead buffers in RSS at the peaks; a buffer that is reused is never garbage
 * (docs/performance.md, "Where the relay's memory goes").
 *
 * A buffer is handed out at most once until it is given back: the pool keeps no reference to a
 * buffer it handed out, and {@link ArrayBufferPool.give} refuses one that is still listed as free,
 * so a buffer given back twice is not handed to two holders at once.
 */
export class ArrayBufferPool {
  private readonly free: ArrayBuffer[] = [];

  /**
   * @param maxKept buffers kept at most: about as many as are in flight at once.
   * @param maxKeptBytes larger buffers are not kept, so a rare large request does not pin its size.
   * @param minBytes smallest buffer made; sizes are powers of two from here, so a buffer fits the
   *   next ones of about the same size.
   * @param step when set, sizes are rounded up to a multiple of it instead (for buffers of a
   *   steady size, where doubling would leave up to half unused).
   */
  constructor(
    readonly maxKept = 8,
    readonly maxKeptBytes = 1024 * 1024,
    readonly minBytes = 64 * 1024,
    readonly step = 0,
  ) {}

  /** Buffers kept now. */
  get kept(): number {
    return this.free.length;
  }

  /** A view of `length` bytes at the start of a buffer of its own (kept, else new); its contents are undefined. */
  take(length: number): Uint8Array {
    // The smallest kept buffer that fits: a large one stays for a large request.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.byteLength >= length && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    }
    if (best >= 0) {
      const b = this.free[best];
      this.free[best] = this.free[this.free.length - 1];
      this.free.pop();
      return new Uint8Array(b, 0, length);
    }
    let size = this.minBytes;
    if (this.step > 0) size = Math.max(size, Math.ceil(length / this.step) * this.step);
    else while (size < length) size *= 2;
    return new Uint8Array(new ArrayBuffer(size > this.maxKeptBytes ? length : size), 0, length);
  }

  /**
   * Takes `buffer` back for a later {@link take}; false when it is not kept (the pool is full, the
   * buffer is too large, detached, or already kept). The caller must hold no view of it any more.
   */
  give(buffer: ArrayBuffer): boolean {
    const size = buffer.byteLength;
    if (size === 0 || size > this.maxKeptBytes || this.free.length >= this.maxKept) return false;
    if (this.free.includes(buffer)) return false;
    this.free.push(buffer);
    return true;
  }
}
