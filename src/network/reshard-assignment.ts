/**
 * Which send loop owns each partition of virtual shards (see partition.ts) for a given loop
 * count, moving as few partitions as possible from the current assignment: a moved partition must
 * be drained on its old loop before its new loop sends, so every move costs a pause of its series.
 */

/**
 * The partition count each of `loops` loops owns in a balanced assignment of `partitions`:
 * `floor(partitions / loops)`, one more for the first `partitions % loops` loops.
 */
export function quotaOf(loop: number, loops: number, partitions: number): number {
  return Math.floor(partitions / loops) + (loop < partitions % loops ? 1 : 0);
}

/** The initial assignment: partition p on loop p % loops (balanced, and what a restart starts from). */
export function initialAssignment(loops: number, partitions: number): Uint16Array {
  const owner = new Uint16Array(partitions);
  for (let p = 0; p < partitions; p++) owner[p] = p % loops;
  return owner;
}

/**
 * A balanced assignment over `loops` loops (1..partitions) that keeps every partition whose
 * owner still exists and is within its quota where it is; the rest go, in partition order, to the
 * lowest-numbered loops below their quota.
 */
export function rebalance(current: Uint16Array, loops: number): Uint16Array {
  const partitions = current.length;
  if (!Number.isInteger(loops) || loops < 1 || loops > partitions) {
    throw new RangeError(`reshard: loop count must be an integer in 1..${partitions}, got ${loops}`);
  }
  const next = new Uint16Array(partitions);
  const kept = new Uint32Array(loops);
  const free: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const o = current[p];
    if (o < loops && kept[o] < quotaOf(o, loops, partitions)) {
      next[p] = o;
      kept[o]++;
    } else {
      free.push(p);
    }
  }
  let loop = 0;
  for (const p of free) {
    while (kept[loop] >= quotaOf(loop, loops, partitions)) loop++;
    next[p] = loop;
    kept[loop]++;
  }
  return next;
}
