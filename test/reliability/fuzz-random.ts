/**
 * Seeded randomness for the fuzz tests: the same seed gives the same cases on every machine, so a
 * failure found in CI reproduces locally. `PROMSPOOL_FUZZ_CASES` multiplies nothing and guesses
 * nothing: it replaces the case count (a longer local run), `PROMSPOOL_FUZZ_SEED` the seed.
 */

/** mulberry32: a 32-bit state PRNG, good enough to pick mutations, tiny and deterministic. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded source of the choices the fuzzers make. */
export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** [0, 1) */
  float(): number {
    return this.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi] (both included). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The case count: `PROMSPOOL_FUZZ_CASES` when set to a positive integer, else `ciDefault`. */
export function fuzzCases(ciDefault: number): number {
  const env = Number(process.env.PROMSPOOL_FUZZ_CASES);
  return Number.isInteger(env) && env > 0 ? env : ciDefault;
}

/** The base seed: `PROMSPOOL_FUZZ_SEED` when set to an integer, else `fixed`. */
export function fuzzSeed(fixed: number): number {
  const env = Number(process.env.PROMSPOOL_FUZZ_SEED);
  return process.env.PROMSPOOL_FUZZ_SEED !== undefined && Number.isInteger(env) ? env >>> 0 : fixed;
}
