/**
 * At most `maxPerSecond` orders in any sliding one-second window: a guard against a runaway
 * signal source. It keeps the send times of the last second only, oldest first, so its memory
 * follows the orders actually sent, not the limit (thousands of accounts may each allow 100,000/s),
 * and each call is amortised O(1).
 */
export class OrderRateLimiter {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly maxPerSecond: number) {
    if (!Number.isInteger(maxPerSecond) || maxPerSecond < 1)
      throw new RangeError(`maxPerSecond must be a positive integer, got ${maxPerSecond}`);
  }

  /** Take a slot at `now` if one is free. */
  tryAcquire(now: number): boolean {
    while (this.head < this.times.length && now - this.times[this.head] >= 1000) this.head++;
    // Drop the expired prefix once it is most of the array: amortised O(1), no unbounded growth.
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    if (this.times.length - this.head >= this.maxPerSecond) return false;
    this.times.push(now);
    return true;
  }
}
