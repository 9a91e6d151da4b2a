/**
 * Which send loop owns each partition of virtual shards (see partition.ts) for a given loop
 * count, moving as few partitions as possible from the current assignment: a moved partition must
 * be drained on its old loop before its new loop sends, so every move costs a pause of its series.
 *
 * Up to `groups` loops (the stored groups of relayed records, `STORED_GROUPS`) the assignment keeps
 * the partitions of each stored group together (partition `p` with every `p + k * groups`), so a
 * stored group goes out whole through one loop; beyond, partitions are assigned one by one.
 */

/**
 * The unit count each of `loops` loops owns in a balanced assignment of `units`:
 * `floor(units / loops)`, one more for the first `units % loops` loops.
 */
export function quotaOf(loop: number, loops: number, units: number): number {
  return Math.floor(units / loops) + (loop < units % loops ? 1 : 0);
}

/**
 * The initial assignment of `partitions` partitions to `loops` loops (balanced, and what a restart
 * starts from): partition p on loop `(p % groups) % loops` while `loops <= groups`, so the
 * partitions of a stored group share a loop, else on loop `p % loops`.
 */
export function initialAssignment(loops: number, partitions: number, groups = partitions): Uint16Array {
  const owner = new Uint16Array(partitions);
  for (let p = 0; p < partitions; p++) owner[p] = (loops <= groups ? p % groups : p) % loops;
  return owner;
}

/**
 * A balanced assignment over `loops` loops (1..partitions) that moves as few partitions as it can.
 * Up to `groups` loops, whole stored groups (partition `g` and every `g + k * groups`) are the
 * units: a group stays on the owner of its partition `g` when that owner exists and is within its
 * quota. Beyond, each partition whose owner exists and is within its quota stays. The rest go,
 * in order, to the lowest-numbered loops below their quota.
 */
export function rebalance(current: Uint16Array, loops: number, groups = current.length): Uint16Array {
  const partitions = current.length;
  if (!Number.isInteger(loops) || loops < 1 || loops > partitions) {
    throw new RangeError(`reshard: loop count must be an integer in 1..${partitions}, got ${loops}`);
  }
  if (partitions % groups !== 0)
    throw new RangeError(`reshard: ${groups} groups do not divide ${partitions} partitions`);
  if (loops > groups) return rebalanceUnits(current, loops);
  const byGroup = rebalanceUnits(current.subarray(0, groups), loops);
  const next = new Uint16Array(partitions);
  for (let p = 0; p < partitions; p++) next[p] = byGroup[p % groups];
  return next;
}

/** {@link rebalance} of `current.length` independent units. */
function rebalanceUnits(current: Uint16Array, loops: number): Uint16Array {
  const units = current.length;
  const next = new Uint16Array(units);
  const kept = new Uint32Array(loops);
  const free: number[] = [];
  for (let p = 0; p < units; p++) {
    const o = current[p];
    if (o < loops && kept[o] < quotaOf(o, loops, units)) {
      next[p] = o;
      kept[o]++;
    } else {
      free.push(p);
    }
  }
  let loop = 0;
  for (const p of free) {
    while (kept[loop] >= quotaOf(loop, loops, units)) loop++;
    next[p] = loop;
    kept[loop]++;
  }
  return next;
}
