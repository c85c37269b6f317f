/**
 * Events per minute over a sliding window kept as a ring of time buckets (default: 60 buckets of
 * one second). Memory is fixed; each slot remembers which bucket of time it holds, so a slot left
 * over from an earlier lap of the ring is recognised as stale instead of being cleared eagerly.
 *
 * The window is the current bucket plus the (buckets - 1) before it, so it spans between
 * windowMs - bucketMs and windowMs of time.
 *
 * Time: the newest time seen is kept. A small step back (less than a window, e.g. an NTP slew)
 * is treated as "no time passed"; a jump back by a whole window or more means the clock was
 * reset, so the counter starts over at the new time rather than freezing until time catches up.
 */
export interface SlidingWindowOptions {
  windowMs?: number;
  bucketMs?: number;
}

export class SlidingWindowCounter {
  readonly windowMs: number;
  readonly bucketMs: number;
  private readonly buckets: number;
  private readonly counts: Float64Array;
  /** The absolute bucket number (floor(time / bucketMs)) each slot currently holds. */
  private readonly stamps: Float64Array;
  private latest = Number.NEGATIVE_INFINITY;

  constructor(options: SlidingWindowOptions = {}) {
    const windowMs = options.windowMs ?? 60_000;
    const bucketMs = options.bucketMs ?? 1_000;
    if (!Number.isFinite(bucketMs) || bucketMs <= 0)
      throw new RangeError(`bucketMs must be > 0, got ${bucketMs}`);
    if (!Number.isFinite(windowMs) || windowMs < bucketMs || !Number.isInteger(windowMs / bucketMs)) {
      throw new RangeError(`windowMs must be a positive multiple of bucketMs, got ${windowMs}`);
    }
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.buckets = windowMs / bucketMs;
    this.counts = new Float64Array(this.buckets);
    this.stamps = new Float64Array(this.buckets).fill(Number.NEGATIVE_INFINITY);
  }

  /** Counts n events at `now` (epoch ms). False, and nothing counted, for invalid input. */
  add(now: number, n = 1): boolean {
    if (!Number.isFinite(now) || !Number.isFinite(n) || n < 0) return false;
    const bucket = this.advance(now);
    const slot = this.slotOf(bucket);
    if (this.stamps[slot] !== bucket) {
      this.stamps[slot] = bucket;
      this.counts[slot] = 0;
    }
    this.counts[slot] += n;
    return true;
  }

  /** Events inside the window ending at `now`. */
  total(now: number): number {
    if (!Number.isFinite(now)) throw new RangeError(`now must be finite, got ${now}`);
    const bucket = this.advance(now);
    const oldest = bucket - this.buckets + 1;
    let sum = 0;
    for (let i = 0; i < this.buckets; i += 1) {
      const stamp = this.stamps[i];
      if (stamp >= oldest && stamp <= bucket) sum += this.counts[i];
    }
    return sum;
  }

  /** The window's count scaled to one minute (equal to total() for the default 60 s window). */
  ratePerMinute(now: number): number {
    return (this.total(now) * 60_000) / this.windowMs;
  }

  reset(): void {
    this.counts.fill(0);
    this.stamps.fill(Number.NEGATIVE_INFINITY);
    this.latest = Number.NEGATIVE_INFINITY;
  }

  /** The bucket number to use for `now`, applying the time rules in the class comment. */
  private advance(now: number): number {
    const bucket = Math.floor(now / this.bucketMs);
    if (bucket >= this.latest) {
      this.latest = bucket;
    } else if (this.latest - bucket >= this.buckets) {
      this.reset();
      this.latest = bucket;
    }
    return this.latest;
  }

  private slotOf(bucket: number): number {
    const slot = bucket % this.buckets;
    return slot < 0 ? slot + this.buckets : slot; // times before the epoch in tests
  }
}
