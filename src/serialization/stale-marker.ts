/**
 * Prometheus' stale marker is the NaN with bits 0x7ff0000000000002, compared bit for bit by
 * receivers. It is a signalling NaN, and V8 sets the quiet bit (giving 0x7ff8000000000002) when
 * such a value passes through a double array (`[1.5, x]`), which user code does all the time.
 * No other source produces a quiet NaN with payload 2, so that pattern is restored to the marker.
 */
export const STALE_NAN_HIGH = 0x7ff00000;
export const STALE_NAN_LOW = 0x00000002;
const QUIETED_STALE_NAN_HIGH = 0x7ff80000;

/** Restores the stale marker in the f64 at index `i` of the little-endian u32 view `bits`, if V8 quieted it. */
export function restoreStaleMarker(bits: Uint32Array, i: number): void {
  if (bits[2 * i] === STALE_NAN_LOW && bits[2 * i + 1] === QUIETED_STALE_NAN_HIGH) bits[2 * i + 1] = STALE_NAN_HIGH;
}
