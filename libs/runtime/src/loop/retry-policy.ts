import type { RetryPolicy } from '@app/core';
import type { AppConfig } from '@app/config';

export const RETRY_POLICY = Symbol('RETRY_POLICY');

/** Retries of transient retcodes with the same request id: MT5_MAX_RETRIES, exponential backoff with jitter. */
export function retryPolicyFromConfig(config: AppConfig): RetryPolicy {
  return {
    maxRetries: config.mt5.maxRetries,
    baseDelayMs: 50,
    maxDelayMs: 2000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: Math.random,
  };
}
