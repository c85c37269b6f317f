import type { Clock } from '@app/core';

/**
 * Milliseconds that never step back (NTP, a changed wall clock) and keep counting while the
 * process is paused (SIGSTOP): what a lease's local validity must be measured on
 * (docs/scale-out.md, Ownership). Not wall-clock time: compare its readings only with each other.
 */
export class MonotonicClock implements Clock {
  now(): number {
    return performance.now();
  }
}
