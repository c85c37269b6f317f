import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Request signing of the MT5 bridge protocol (docs/mt5-bridge.openapi.yaml):
 * `X-Signature` = lowercase hex HMAC-SHA256(secret, `<ts>\n<METHOD>\n<path with query>\n<raw body>`).
 * Shared by the HTTP gateway, the fake bridge of the tests and any other client of a bridge.
 */
export const BRIDGE_HEADER = {
  apiKey: 'X-Api-Key',
  timestamp: 'X-Timestamp',
  signature: 'X-Signature',
  idempotencyKey: 'Idempotency-Key',
} as const;

/** A bridge refuses a timestamp further than this from its own clock. */
export const BRIDGE_MAX_CLOCK_SKEW_MS = 30_000;

export interface BridgeSignedParts {
  /** Epoch milliseconds, exactly as sent in X-Timestamp. */
  timestamp: string;
  method: string;
  /** The request target as sent on the wire: path plus `?query`, no scheme or host. */
  pathWithQuery: string;
  /** The exact bytes of the body; empty for GET. */
  body: string;
}

export function bridgeSigningPayload(parts: BridgeSignedParts): string {
  return `${parts.timestamp}\n${parts.method.toUpperCase()}\n${parts.pathWithQuery}\n${parts.body}`;
}

export function signBridgeRequest(secret: string, parts: BridgeSignedParts): string {
  return createHmac('sha256', secret).update(bridgeSigningPayload(parts), 'utf8').digest('hex');
}

/** Constant-time check of a received signature; false (never a throw) for a malformed one. */
export function verifyBridgeSignature(
  secret: string,
  parts: BridgeSignedParts,
  signature: string | undefined,
): boolean {
  if (signature === undefined || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signBridgeRequest(secret, parts), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
