import type { Clock } from '@app/core';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive transport failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before it lets one probe through. */
  coolDownMs: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: CircuitBreakerOptions = { failureThreshold: 5, coolDownMs: 5_000 };

/**
 * A small circuit breaker, pure and driven by an injected clock.
 *
 * closed --(N consecutive failures)--> open --(cool-down elapsed)--> half_open
 * half_open: exactly one probe may run; its success closes the circuit, its failure reopens it
 * for another cool-down. Any success recorded (e.g. a call already in flight) closes it too:
 * the transport evidently works again.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probeInFlight = false;
  private readonly options: CircuitBreakerOptions;

  constructor(
    private readonly clock: Clock,
    options: Partial<CircuitBreakerOptions> = {},
  ) {
    this.options = { ...DEFAULT_CIRCUIT_OPTIONS, ...options };
    const { failureThreshold, coolDownMs } = this.options;
    if (!Number.isInteger(failureThreshold) || failureThreshold < 1)
      throw new RangeError(`circuit failureThreshold must be a positive integer, got ${failureThreshold}`);
    if (!Number.isFinite(coolDownMs) || coolDownMs < 0)
      throw new RangeError(`circuit coolDownMs must be >= 0, got ${coolDownMs}`);
  }

  state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.clock.now() - this.openedAt >= this.options.coolDownMs ? 'half_open' : 'open';
  }

  /** Whether a normal call may go through now (only when closed). */
  canPass(): boolean {
    return this.state() === 'closed';
  }

  /**
   * Claims the single probe of a half-open circuit. True at most once until the probe's
   * outcome is recorded with `recordSuccess` or `recordFailure`.
   */
  tryAcquireProbe(): boolean {
    if (this.state() !== 'half_open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** Milliseconds until an open circuit turns half-open; 0 when not open. */
  retryInMs(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(0, this.openedAt + this.options.coolDownMs - this.clock.now());
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.probeInFlight = false;
  }

  recordFailure(): void {
    this.consecutiveFailures += 1;
    // A failed probe, or a failure while already open, restarts the cool-down.
    if (this.openedAt !== undefined || this.consecutiveFailures >= this.options.failureThreshold) {
      this.openedAt = this.clock.now();
    }
    this.probeInFlight = false;
  }
}
