/**
 * Consecutive failed equity reads. After `threshold` in a row (3 per docs/risk.md) the loop is blind
 * and must stop opening positions until a read succeeds. `failure()` and `success()` return true
 * only on the transition, so the caller alerts once per outage, not once per read.
 */
export class EquityReadTracker {
  private failures = 0;

  constructor(private readonly threshold = 3) {
    if (!Number.isInteger(threshold) || threshold < 1)
      throw new RangeError(`EquityReadTracker threshold must be an integer >= 1, got ${threshold}`);
  }

  /** Records a failed (or non-finite) read. True when this failure is the one that blocks. */
  failure(): boolean {
    this.failures++;
    return this.failures === this.threshold;
  }

  /** Records a good read. True when this read ends a blocked spell. */
  success(): boolean {
    const wasBlocked = this.blocked;
    this.failures = 0;
    return wasBlocked;
  }

  /** Forget the history without signalling (e.g. after a resume). */
  reset(): void {
    this.failures = 0;
  }

  get blocked(): boolean {
    return this.failures >= this.threshold;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
