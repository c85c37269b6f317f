/**
 * Whether one account's work gets done (docs/accounts.md, Heartbeat): it progresses when a pass
 * of its work completes: an equity check that read the equity, or a signal that reached an
 * outcome. An account none of whose passes completed for HEARTBEAT_STALE_AFTER_MS (its broker
 * calls hang, say) is stale. Idle loop ticks do not count: they prove the process runs, not that
 * the account's broker answers.
 */
export class AccountProgress {
  private lastPass: number;
  private hasPassed = false;

  constructor(
    startedAt: number,
    private readonly staleAfterMs: number,
  ) {
    this.lastPass = startedAt;
  }

  passCompleted(now: number): void {
    if (now > this.lastPass || !this.hasPassed) this.lastPass = now;
    this.hasPassed = true;
  }

  /** When the last pass completed; null before the first. */
  get lastPassAt(): number | null {
    return this.hasPassed ? this.lastPass : null;
  }

  isStale(now: number): boolean {
    return now - this.lastPass > this.staleAfterMs;
  }

  /** Milliseconds since the last pass (or since start, before the first). */
  sincePassMs(now: number): number {
    return Math.max(0, now - this.lastPass);
  }
}
