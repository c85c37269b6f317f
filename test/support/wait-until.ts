export interface WaitUntilOptions {
  /** What is awaited, for the failure message ("the bridge to list no position"). */
  what: string;
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** Pause between two checks. Default 10 ms; more for a condition that makes a request. */
  intervalMs?: number;
  /** Appended to the failure message: what the test saw instead. */
  detail?: () => string;
}

/**
 * Resolves with what `condition` returns once that is something (not `false`, `undefined` or
 * `null`), checking now and again every `intervalMs`; rejects after `timeoutMs` naming `what`.
 *
 * For conditions nothing announces (a fake's state, a counter, an HTTP answer). Where an event or
 * a log line says it, wait on that instead (`TestApp.waitForEvent`, `ServiceProcess.waitForLine`).
 * An error thrown by `condition` ends the wait with that error: catch it in the condition when
 * it means "not yet" (a server not listening yet).
 */
export async function waitUntil<T>(
  condition: () => T | Promise<T>,
  options: WaitUntilOptions,
): Promise<Exclude<T, false | undefined | null>> {
  const { what, timeoutMs = 10_000, intervalMs = 10, detail } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined && value !== null)
      return value as Exclude<T, false | undefined | null>;
    if (Date.now() >= deadline) {
      const seen = detail === undefined ? '' : `; ${detail()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
