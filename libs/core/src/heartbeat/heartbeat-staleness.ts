/** What a look at the heartbeat found: it just went stale, it just came back, or nothing new. */
export type StalenessChange =
  { kind: 'stale'; secondsSinceHeartbeat: number } | { kind: 'recovered'; staleForSeconds: number } | null;

/**
 * The watchdog's decision (docs/service.md, Heartbeat), apart from its thread: a heartbeat older
 * than `staleAfterMs` is stale, once per episode; the next new heartbeat ends the episode.
 */
export class HeartbeatStaleness {
  private stale: { lastStamp: number } | null = null;

  constructor(private readonly staleAfterMs: number) {}

  /** `lastStamp`: epoch ms of the last heartbeat (0 before the loop started its staleness clock). */
  observe(lastStamp: number, now: number): StalenessChange {
    if (lastStamp <= 0) return null;
    if (this.stale === null) {
      const ageMs = now - lastStamp;
      if (ageMs <= this.staleAfterMs) return null;
      this.stale = { lastStamp };
      return { kind: 'stale', secondsSinceHeartbeat: Math.floor(ageMs / 1000) };
    }
    if (lastStamp === this.stale.lastStamp) return null;
    const staleForSeconds = Math.round((lastStamp - this.stale.lastStamp) / 1000);
    this.stale = null;
    return { kind: 'recovered', staleForSeconds };
  }

  get isStale(): boolean {
    return this.stale !== null;
  }
}
