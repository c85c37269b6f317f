/**
 * Expected broker failures are values, not exceptions.
 * - `transient`: worth retrying with the same request id (timeout before sending, a 5xx to a read,
 *   429, reset).
 * - `final`: the request was refused for good (other 4xx, bad signature).
 * - `unknown_outcome`: the request may or may not have reached the terminal (timeout after
 *   sending, dropped connection, a 5xx to an order or close). Resolve it before sending anything
 *   else for that order.
 * - `invalid_response`: the bridge answered something we cannot trust; never guess a fill.
 */
export type BrokerErrorKind = 'transient' | 'final' | 'unknown_outcome' | 'invalid_response';

export interface BrokerError {
  kind: BrokerErrorKind;
  /** Stable machine code, e.g. `timeout`, `http_503`, `connection_reset`, `bad_body`. */
  code: string;
  message: string;
  /** How many HTTP attempts the adapter made before giving up. */
  attempts?: number;
}

export type BrokerResult<T> = { ok: true; value: T } | { ok: false; error: BrokerError };

export const ok = <T>(value: T): BrokerResult<T> => ({ ok: true, value });
export const fail = <T = never>(
  kind: BrokerErrorKind,
  code: string,
  message: string,
  attempts?: number,
): BrokerResult<T> => ({
  ok: false,
  error: attempts === undefined ? { kind, code, message } : { kind, code, message, attempts },
});
