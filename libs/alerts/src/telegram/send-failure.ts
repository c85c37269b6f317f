import { backoffDelay } from '@app/core';

/**
 * Why one Bot API call failed, in terms the retry policy understands. The adapter translates
 * telegraf's errors into this at the boundary (classify-telegram-error.ts).
 */
export type SendFailure =
  /** Telegram answered with an error: 429 (with retry_after), 5xx, or a 4xx that will not change. */
  | { kind: 'api'; code: number; description: string; retryAfterSeconds?: number }
  /** No answer: connection refused or reset, DNS, or the per-request timeout. */
  | { kind: 'network'; message: string };

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/**
 * 429 waits what Telegram asks (`retry_after`), 5xx and network errors back off exponentially
 * up to `maxDelayMs` and keep trying (an alert is never given up while the process lives);
 * any other 4xx (bad chat id, bot blocked, message too long) will not succeed by repetition.
 * `attempt` is 1 for the first failure.
 */
export function retryDecision(failure: SendFailure, attempt: number, policy: RetryPolicy): RetryDecision {
  const backoff = backoffDelay({ ...policy, jitter: 'none' }, Math.max(0, attempt - 1));
  if (failure.kind === 'network') return { retry: true, delayMs: backoff };
  if (failure.code === 429) {
    const asked = failure.retryAfterSeconds === undefined ? backoff : failure.retryAfterSeconds * 1000;
    return { retry: true, delayMs: Math.max(policy.baseDelayMs, asked) };
  }
  if (failure.code >= 500) return { retry: true, delayMs: backoff };
  return { retry: false, reason: `Telegram refused it for good (${failure.code} ${failure.description})` };
}
