/**
 * Suppresses an alert identical to one admitted less than `windowMs` ago, so a flapping
 * condition does not flood the chat (and Telegram's rate limit). Time is passed in by the
 * caller (the injected clock), so this is deterministic.
 */
export class AlertCoalescer {
  private readonly admittedAt = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** True when the alert should be sent; false when an identical one went out within the window. */
  admit(key: string, now: number): boolean {
    this.forgetOlderThan(now - this.windowMs);
    const last = this.admittedAt.get(key);
    if (last !== undefined && now - last < this.windowMs) return false;
    this.admittedAt.set(key, now);
    return true;
  }

  private forgetOlderThan(cutoff: number): void {
    // Map iteration is insertion order; a key is only re-admitted after it expired and was
    // deleted here, so entries stay sorted by time: stop at the first one inside the window.
    for (const [key, at] of this.admittedAt) {
      if (at > cutoff) break;
      this.admittedAt.delete(key);
    }
  }
}
