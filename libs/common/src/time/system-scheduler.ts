import { setMaxListeners } from 'node:events';
import type { Cancel, Scheduler } from '@app/core';

/** What a registry of intervals must offer (SchedulerRegistry of @nestjs/schedule). */
export interface IntervalRegistry {
  addInterval(name: string, intervalId: NodeJS.Timeout): void;
  deleteInterval(name: string): void;
  doesExist(type: 'interval', name: string): boolean;
}

/**
 * The Scheduler on real timers: the ONLY place outside tests that calls setTimeout and
 * setInterval (eslint.config.mjs enforces it). Repeating timers are registered with the Nest
 * schedule registry when one is given, so they show there and end with the application.
 */
export class SystemScheduler implements Scheduler {
  private nextName = 1;
  private readonly live = new Set<NodeJS.Timeout>();

  constructor(private readonly registry?: IntervalRegistry) {}

  after(ms: number, run: () => void): Cancel {
    const timer = setTimeout(() => {
      this.live.delete(timer);
      run();
    }, ms);
    this.live.add(timer);
    return () => {
      clearTimeout(timer);
      this.live.delete(timer);
    };
  }

  every(ms: number, run: () => void): Cancel {
    const timer = setInterval(run, ms);
    const name = `scheduler-every-${this.nextName++}`;
    if (this.registry === undefined) this.live.add(timer);
    else this.registry.addInterval(name, timer);
    return () => {
      clearInterval(timer);
      this.live.delete(timer);
      if (this.registry?.doesExist('interval', name)) this.registry.deleteInterval(name);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const timer = setTimeout(() => {
        this.live.delete(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      // A sleep never keeps the process alive by itself.
      timer.unref();
      this.live.add(timer);
      const onAbort = () => {
        clearTimeout(timer);
        this.live.delete(timer);
        resolve();
      };
      // Many sleeps share one signal (every retry of a busy account waits on its executor's stop):
      // each removes its listener when it ends, so a count above node's default of 10 is no leak.
      if (signal !== undefined) setMaxListeners(0, signal);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops every timer this scheduler started and has not finished (application shutdown). */
  dispose(): void {
    for (const timer of this.live) clearTimeout(timer);
    this.live.clear();
  }
}
