import type { Clock } from './clock';

/** Cancels a scheduled call; calling it twice, or after the call ran, does nothing. */
export type Cancel = () => void;

/**
 * Timers come from here, never from setTimeout inside logic, so tests run in virtual time
 * (ManualScheduler) and production on real timers (the system scheduler adapter, libs/common).
 * Beside the Clock: the clock says what time it is, the scheduler when something runs.
 */
export interface Scheduler {
  /** Runs `run` once, `ms` from now. */
  after(ms: number, run: () => void): Cancel;
  /** Runs `run` every `ms`, first `ms` from now, until cancelled. */
  every(ms: number, run: () => void): Cancel;
  /** Resolves `ms` from now; at once when `signal` aborts (then it resolves, it does not reject). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const SCHEDULER = Symbol('SCHEDULER');

interface Timer {
  id: number;
  due: number;
  period: number | undefined;
  run: () => void;
}

/**
 * A scheduler on virtual time, after NautilusTrader's TestClock: nothing runs until the test
 * advances the time, and then every due timer runs in time order (ties in the order they were
 * scheduled), the clock standing at each timer's due time while it runs.
 *
 * `advance` runs synchronous timers only; `advanceAsync` also lets the promises a timer starts
 * settle (in memory: a few hundred microtask turns) before the next timer runs, which is what
 * async code driven by timers needs.
 */
export class ManualScheduler implements Scheduler, Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = Date.UTC(2026, 10, 24, 10, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  after(ms: number, run: () => void): Cancel {
    return this.add(ms, undefined, run);
  }

  every(ms: number, run: () => void): Cancel {
    if (!(ms > 0)) throw new RangeError(`a repeating timer needs a period > 0, got ${ms}`);
    return this.add(ms, ms, run);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const cancel = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        cancel();
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, synchronously. */
  advance(ms: number): void {
    const until = this.target(ms);
    for (let timer = this.nextDue(until); timer !== undefined; timer = this.nextDue(until)) this.fire(timer);
    this.current = until;
  }

  /**
   * Moves time forward by `ms`, letting the promises each timer starts settle (a few turns of the
   * microtask and I/O queues) before the next timer runs and before it returns.
   */
  async advanceAsync(ms: number): Promise<void> {
    const until = this.target(ms);
    await settle();
    for (let timer = this.nextDue(until); timer !== undefined; timer = this.nextDue(until)) {
      this.fire(timer);
      await settle();
    }
    this.current = until;
    await settle();
  }

  /** Runs whatever is due now (ms = 0) and lets it settle. */
  flush(): Promise<void> {
    return this.advanceAsync(0);
  }

  private target(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance time by ${ms} ms`);
    return this.current + ms;
  }

  private add(ms: number, period: number | undefined, run: () => void): Cancel {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.current + Math.max(0, ms), period, run });
    return () => void this.timers.delete(id);
  }

  private nextDue(until: number): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.timers.values())
      if (timer.due <= until && (next === undefined || timer.due < next.due)) next = timer;
    return next;
  }

  private fire(timer: Timer): void {
    this.current = Math.max(this.current, timer.due);
    if (timer.period === undefined) this.timers.delete(timer.id);
    else timer.due += timer.period;
    timer.run();
  }
}

/**
 * Many turns of the microtask queue: enough for the chained awaits of code whose ports answer in
 * memory (virtual-time tests use in-memory ports; real I/O has no place in them).
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}
