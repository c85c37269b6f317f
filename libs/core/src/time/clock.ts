/**
 * Time comes from here, never from Date.now() inside logic, so tests drive it.
 * `now()` is wall-clock epoch milliseconds.
 */
export interface Clock {
  now(): number;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

/** A clock that only moves when told to: the test clock. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 10, 24, 10, 0, 0)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    this.current += ms;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }
}
