/**
 * What the heartbeat proves: the trading loop completes ticks. A timer firing is not enough; a
 * heartbeat is due only when at least one tick completed since the previous heartbeat, so a
 * wedged tick or a frozen main thread stops heartbeats.
 */
export class LoopProgress {
  private completed = 0;
  private completedAtLastHeartbeat = 0;
  private lastDurationMs = 0;
  private lastHeartbeat: number | null = null;
  private tickStartedAt: number | null = null;

  constructor(private readonly startedAt: number) {}

  tickStarted(now: number): void {
    this.tickStartedAt = now;
  }

  tickCompleted(now: number): void {
    this.lastDurationMs = this.tickStartedAt === null ? 0 : Math.max(0, now - this.tickStartedAt);
    this.tickStartedAt = null;
    this.completed++;
  }

  get ticksCompleted(): number {
    return this.completed;
  }

  get lastTickDurationMs(): number {
    return this.lastDurationMs;
  }

  /** Whether a tick is running and since when (a stuck tick shows here). */
  get tickInFlightSince(): number | null {
    return this.tickStartedAt;
  }

  heartbeatDue(): boolean {
    return this.completed > this.completedAtLastHeartbeat;
  }

  heartbeatEmitted(now: number): void {
    this.completedAtLastHeartbeat = this.completed;
    this.lastHeartbeat = now;
  }

  get lastHeartbeatAt(): number | null {
    return this.lastHeartbeat;
  }

  /** Milliseconds since the last heartbeat (or since start, before the first one). */
  heartbeatAgeMs(now: number): number {
    return Math.max(0, now - (this.lastHeartbeat ?? this.startedAt));
  }
}
