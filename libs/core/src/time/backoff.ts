/**
 * The one exponential backoff of the service: orders, closes, position lookups, webhooks,
 * Telegram sends and polls, the approvals platform. The step doubles per retry up to a cap;
 * jitter spreads retries of many callers so they do not stampede one peer.
 */
export interface Backoff {
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * `equal` (the default): between half the step and the step, never zero;
   * `full`: between 1 ms and the step; `none`: the step itself.
   */
  jitter?: 'equal' | 'full' | 'none';
  /** [0, 1); injected for determinism in tests. */
  random?: () => number;
}

/** Delay before retry number `retry` (0: the first retry): min(maxDelayMs, baseDelayMs * 2^retry), jittered. */
export function backoffDelay(policy: Backoff, retry: number): number {
  if (!Number.isInteger(retry) || retry < 0)
    throw new RangeError(`retry must be an integer >= 0, got ${retry}`);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 60));
  const random = policy.random ?? Math.random;
  switch (policy.jitter ?? 'equal') {
    case 'none':
      return step;
    case 'full':
      return Math.max(1, Math.floor(random() * step));
    case 'equal':
      return Math.round(step / 2 + (random() * step) / 2);
  }
}
