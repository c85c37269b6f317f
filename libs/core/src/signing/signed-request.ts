import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed HTTP requests between services (docs/mt5-bridge.md, Signing): `X-Signature` = lowercase
 * hex HMAC-SHA256(secret, `<ts>\n<METHOD>\n<path with query>\n<raw body>`). The MT5 bridge
 * protocol defines it; the approvals platform uses the same scheme. Shared by the HTTP gateway,
 * the platform source and the fakes of the tests.
 */
export const SIGNED_REQUEST_HEADER = {
  apiKey: 'X-Api-Key',
  timestamp: 'X-Timestamp',
  signature: 'X-Signature',
  idempotencyKey: 'Idempotency-Key',
} as const;

/** A bridge refuses a timestamp further than this from its own clock. */
export const SIGNED_REQUEST_MAX_SKEW_MS = 30_000;

export interface SignedRequestParts {
  /** Epoch milliseconds, exactly as sent in X-Timestamp. */
  timestamp: string;
  method: string;
  /** The request target as sent on the wire: path plus `?query`, no scheme or host. */
  pathWithQuery: string;
  /** The exact bytes of the body; empty for GET. */
  body: string;
}

export function signingPayload(parts: SignedRequestParts): string {
  return `${parts.timestamp}\n${parts.method.toUpperCase()}\n${parts.pathWithQuery}\n${parts.body}`;
}

export function signRequest(secret: string, parts: SignedRequestParts): string {
  return createHmac('sha256', secret).update(signingPayload(parts), 'utf8').digest('hex');
}

/** Constant-time check of a received signature; false (never a throw) for a malformed one. */
export function verifyRequestSignature(
  secret: string,
  parts: SignedRequestParts,
  signature: string | undefined,
): boolean {
  if (signature === undefined || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signRequest(secret, parts), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
