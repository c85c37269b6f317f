import type { OpenOrderRequest } from '../broker/broker-types';
import { PaperAccount, type PaperAccountOptions } from './paper-account';

/** 2026-11-24T10:00:00Z, on a whole walk step. The first call anchors every walk at its start price. */
export const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

export function newAccount(overrides: Partial<PaperAccountOptions> = {}): PaperAccount {
  return new PaperAccount({
    balance: 10_000,
    symbols: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'],
    seed: 42,
    ...overrides,
  });
}

let counter = 0;
export function order(
  fields: Partial<OpenOrderRequest> & Pick<OpenOrderRequest, 'symbol' | 'type' | 'volume'>,
): OpenOrderRequest {
  counter += 1;
  return { request_id: `req-${counter}`, ...fields };
}
