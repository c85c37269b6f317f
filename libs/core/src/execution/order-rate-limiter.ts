/**
 * At most `maxPerSecond` orders in any sliding one-second window: a guard against a runaway
 * signal source. A ring of the last `maxPerSecond` send times: fixed memory, O(1) per call.
 */
export class OrderRateLimiter {
  private readonly times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(private readonly maxPerSecond: number) {
    if (!Number.isInteger(maxPerSecond) || maxPerSecond < 1)
      throw new RangeError(`maxPerSecond must be a positive integer, got ${maxPerSecond}`);
    this.times = new Float64Array(maxPerSecond);
  }

  /** Take a slot at `now` if one is free. */
  tryAcquire(now: number): boolean {
    while (this.count > 0 && now - this.times[this.head] >= 1000) {
      this.head = (this.head + 1) % this.maxPerSecond;
      this.count--;
    }
    if (this.count >= this.maxPerSecond) return false;
    this.times[(this.head + this.count) % this.maxPerSecond] = now;
    this.count++;
    return true;
  }
}
