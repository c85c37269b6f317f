/**
 * Consecutive failed equity reads. After `threshold` in a row (3 per risk.md) the loop is blind
 * and must stop opening positions until a read succeeds. `failure()` and `success()` return true
 * only on the transition, so the caller alerts once per outage, not once per read.
 */
export class EquityReadTracker {
  private failures = 0;
  private isBlocked = false;

  constructor(private readonly threshold = 3) {
    if (!Number.isInteger(threshold) || threshold < 1)
      throw new RangeError(`EquityReadTracker threshold must be an integer >= 1, got ${threshold}`);
  }

  /** Records a failed (or non-finite) read. True when this failure is the one that blocks. */
  failure(): boolean {
    this.failures++;
    if (this.isBlocked || this.failures < this.threshold) return false;
    this.isBlocked = true;
    return true;
  }

  /** Records a good read. True when this read ends a blocked spell. */
  success(): boolean {
    const wasBlocked = this.isBlocked;
    this.failures = 0;
    this.isBlocked = false;
    return wasBlocked;
  }

  /** Forget the history without signalling (e.g. after a resume). */
  reset(): void {
    this.failures = 0;
    this.isBlocked = false;
  }

  get blocked(): boolean {
    return this.isBlocked;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
