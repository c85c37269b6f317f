import { backoffDelay } from '@app/core';

/**
 * Retry schedule of webhook deliveries: exponential backoff with "full jitter" (a uniform random
 * delay up to the exponential cap), so many services retrying one receiver do not stampede it.
 */
export interface BackoffPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_WEBHOOK_BACKOFF: BackoffPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

/**
 * Delay before retry number `retry` (1 = the first retry). `random` returns [0, 1); the delay is
 * at least 1 ms and at most min(maxDelayMs, baseDelayMs * 2^(retry-1)).
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy, random: () => number): number {
  if (!Number.isInteger(retry) || retry < 1)
    throw new RangeError(`retry must be a positive integer, got ${retry}`);
  return backoffDelay({ ...policy, jitter: 'full', random }, retry - 1);
}

export type DeliveryResult = { kind: 'status'; status: number } | { kind: 'network_error'; error: string };

/**
 * Whether a delivery worked, may work if repeated, or never will. Retried: network errors and
 * timeouts, 408, 429 and 5xx; every event carries an X-Event-Id, so a receiver can drop a
 * duplicate after a retry of a request that did arrive. Other 4xx are the receiver refusing
 * the request (bad URL, bad signature): repeating it changes nothing.
 */
export function classifyDelivery(result: DeliveryResult): 'delivered' | 'retry' | 'permanent' {
  if (result.kind === 'network_error') return 'retry';
  const { status } = result;
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'permanent';
}
