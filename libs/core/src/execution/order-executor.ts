import type { BrokerError, BrokerResult } from '../broker/broker-error';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { ClosePositionRequest, OpenOrderRequest, Position, TradeResult } from '../broker/broker-types';
import { MAX_COMMENT_LENGTH } from './request-ids';
import { classifyRetcode, retcodeName } from '../broker/retcodes';
import { backoffDelay } from '../time/backoff';

/** How a single broker request ended after retries. */
export type OrderOutcome =
  | { kind: 'filled'; result: TradeResult; attempts: number }
  | { kind: 'already_closed'; result: TradeResult; attempts: number }
  | { kind: 'rejected'; retcode: number; reason: string; attempts: number }
  | { kind: 'error'; error: BrokerError; reason: string; attempts: number };

export interface RetryPolicy {
  /** Retries after the first attempt (MT5_MAX_RETRIES). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Waits between attempts; injected so tests do not sleep. */
  sleep(ms: number): Promise<void>;
  /** [0, 1) jitter source; injected for determinism in tests. */
  random(): number;
}

type Attempt = () => Promise<BrokerResult<TradeResult>>;

/**
 * Asked before every retry: a reason to give up instead of sending again (the service halted or
 * is stopping while the order waited out a REQUOTE or a timeout), `HOLD_RETRY` to wait and ask
 * again (a shared account's lease lapsed for a moment), or undefined to go on.
 */
export type RetryVeto = () => string | typeof HOLD_RETRY | undefined;
export const HOLD_RETRY = Symbol('hold the retry');

/**
 * Send one order request, retrying transient outcomes (transient retcodes, transport failures,
 * unknown outcomes) with the SAME request id: the bridge deduplicates by it, so a retry can never
 * trade twice. Final retcodes and final errors end it at once.
 */
async function sendWithRetry(attempt: Attempt, policy: RetryPolicy, veto?: RetryVeto): Promise<OrderOutcome> {
  let attempts = 0;
  for (;;) {
    attempts++;
    const answer = await attempt();
    const retriesLeft = attempts <= policy.maxRetries;
    if (answer.ok) {
      const result = answer.value;
      switch (classifyRetcode(result.retcode)) {
        case 'filled':
        case 'placed':
        case 'partial':
          return { kind: 'filled', result, attempts };
        case 'already_closed':
          return { kind: 'already_closed', result, attempts };
        case 'transient':
          if (!retriesLeft)
            return {
              kind: 'rejected',
              retcode: result.retcode,
              reason: `${retcodeName(result.retcode)} after ${attempts} attempts`,
              attempts,
            };
          break;
        case 'final':
          return { kind: 'rejected', retcode: result.retcode, reason: retcodeName(result.retcode), attempts };
      }
    } else {
      const { error } = answer;
      const retryable = error.kind === 'transient' || error.kind === 'unknown_outcome';
      if (!retryable || !retriesLeft)
        return { kind: 'error', error, reason: `${error.kind}: ${error.code}`, attempts };
    }
    await policy.sleep(backoffDelay(policy, attempts - 1));
    let stop = veto?.();
    for (let held = 0; stop === HOLD_RETRY; held++) {
      await policy.sleep(backoffDelay(policy, held));
      stop = veto?.();
    }
    if (stop !== undefined) {
      return {
        kind: 'error',
        error: { kind: 'transient', code: 'retry_abandoned', message: `not retried: ${stop}`, attempts },
        reason: `retry abandoned: ${stop}`,
        attempts,
      };
    }
  }
}

/**
 * Opening is vetoed between retries (halt, stop); closing never is: closing is always allowed.
 * `onAnswer` sees every attempt's answer: the outcome holds only the last one, and an earlier one
 * may say the order may have executed (a reset, a timeout).
 */
export function executeOpenOrder(
  gateway: BrokerGateway,
  request: OpenOrderRequest,
  policy: RetryPolicy,
  veto?: RetryVeto,
  onAnswer?: (answer: BrokerResult<TradeResult>) => void,
): Promise<OrderOutcome> {
  return sendWithRetry(
    async () => {
      const answer = await gateway.openPosition(request);
      onAnswer?.(answer);
      return answer;
    },
    policy,
    veto,
  );
}

export function executeClose(
  gateway: BrokerGateway,
  request: ClosePositionRequest,
  policy: RetryPolicy,
): Promise<OrderOutcome> {
  return sendWithRetry(() => gateway.closePosition(request), policy);
}

/** The position an order opened, found by the request id the service writes into its comment (cut to 26 characters). */
export function positionWithRequestId(
  positions: readonly Position[],
  requestId: string,
): Position | undefined {
  const comment = requestId.slice(0, MAX_COMMENT_LENGTH);
  return positions.find((p) => p.comment === comment);
}
