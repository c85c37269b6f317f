import type { Scheduler } from './scheduler';

/**
 * Waits for `work`, but never longer than `ms`: resolves `done` or `timed_out`. The work is not
 * cancelled (a stop that must finish on time gives each step its share and goes on).
 */
export async function withDeadline(
  scheduler: Scheduler,
  work: Promise<unknown>,
  ms: number,
): Promise<'done' | 'timed_out'> {
  const stop = new AbortController();
  const result = await Promise.race([
    work.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    scheduler.sleep(Math.max(0, ms), stop.signal).then(() => 'timed_out' as const),
  ]);
  stop.abort();
  return result;
}
