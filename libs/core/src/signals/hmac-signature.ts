import { createHmac, timingSafeEqual } from 'node:crypto';

/** Lowercase hex HMAC-SHA256 of `<timestamp>.<raw body>`: the inbox signature (docs/service.md). */
export function signInboxRequest(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'stale_timestamp' | 'bad_signature' };

/**
 * Check an inbox request: a timestamp inside the replay window and a matching signature,
 * compared in constant time.
 */
export function verifyInboxRequest(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: Buffer,
  now: number,
  maxAgeMs: number,
): SignatureCheck {
  if (timestamp === undefined || signature === undefined) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  if (Math.abs(now - Number(timestamp)) > maxAgeMs) return { ok: false, reason: 'stale_timestamp' };
  if (!/^[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'bad_signature' };
  const expected = Buffer.from(signInboxRequest(secret, timestamp, rawBody), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'))
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}
